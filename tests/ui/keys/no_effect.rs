use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer", dialect = openai, allow_http = true)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "local", base_url = "http://127.0.0.1:8080/v1", auth = "bearer", dialect = openai, allow_http = true, models())]
pub struct Local;

fn main() {}
