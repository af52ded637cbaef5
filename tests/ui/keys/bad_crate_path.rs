use llm_runtime::Provider;

#[derive(Provider)]
#[provider(crate = "my sdk", name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

fn main() {}
