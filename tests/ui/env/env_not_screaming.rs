use llm_runtime::Provider;

#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    env = "groq-api-key",
    base_url_env = "Groq Base Url",
    dialect = openai,
)]
pub struct Groq;

fn main() {}
