use llm_runtime::Provider;

#[derive(Provider)]
#[provider(crate = "my sdk", name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(crate = "not_a_crate::llm", name = "other", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai)]
pub struct Other;

fn main() {}
