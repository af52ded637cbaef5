use llm_runtime::Provider;

/// Words an author may write for a capability get the capability's name.
#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    dialect = openai,
    capabilities(chat, streaming, function_calling, thinking),
)]
pub struct Groq;

fn main() {}
