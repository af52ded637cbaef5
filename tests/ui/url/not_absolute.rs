use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "api.groq.com/openai/v1", auth = "bearer", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "ftp://api.example.com/v1", auth = "bearer", dialect = openai)]
pub struct Other;

fn main() {}
