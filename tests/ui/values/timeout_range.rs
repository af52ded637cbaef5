use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", timeout_secs = 0, dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "bearer", timeout_secs = 86400, dialect = openai)]
pub struct Other;

fn main() {}
