use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "groq", base_url = "https://api.groq.com/openai/v1?key=abc", auth = "bearer", dialect = openai)]
pub struct Groq;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1#chat", auth = "bearer", dialect = openai)]
pub struct Other;

fn main() {}
