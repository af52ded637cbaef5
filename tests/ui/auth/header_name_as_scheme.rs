use llm_runtime::Provider;

/// A header's name written as the scheme: the header form is suggested.
#[derive(Provider)]
#[provider(name = "azure", base_url = "https://example.openai.azure.com/openai", auth = "api-key", dialect = openai)]
pub struct Azure;

/// A key's name: both named forms are suggested.
#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "apikey", dialect = openai)]
pub struct Other;

fn main() {}
