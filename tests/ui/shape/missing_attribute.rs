use llm_runtime::Provider;

#[derive(Provider)]
pub struct Groq;

fn main() {}
