use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", health = "/models", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "bearer", health = "get /models", dialect = openai)]
pub struct Other;

fn main() {}
