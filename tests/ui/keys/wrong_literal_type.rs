use llm_runtime::Provider;

#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    dialect = "openai",
    timeout_secs = "30",
    allow_http = 1,
    models = "llama-3.3-70b",
    capabilities("tools"),
)]
pub struct Groq;

fn main() {}
