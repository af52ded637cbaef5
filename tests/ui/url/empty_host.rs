use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https:///openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

fn main() {}
