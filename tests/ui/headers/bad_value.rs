use llm_runtime::Provider;

#[derive(Provider)]
#[provider(
    name = "anthropic",
    base_url = "https://api.anthropic.com/v1",
    auth(header = "x-api-key"),
    headers("anthropic-version" = "2023-06-01\r\nx-injected: 1", "x-title" = " demo app "),
    dialect = openai,
)]
pub struct Anthropic;

fn main() {}
