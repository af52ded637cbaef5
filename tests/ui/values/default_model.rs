use llm_runtime::Provider;

#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    models("llama-3.3-70b-versatile", "llama-3.1-8b-instant"),
    default_model = "llama-3.3-70b-versatil",
    dialect = openai,
)]
pub struct Groq;

fn main() {}
