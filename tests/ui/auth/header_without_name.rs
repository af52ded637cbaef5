use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "anthropic", base_url = "https://api.anthropic.com/v1", auth(header), dialect = openai)]
pub struct Anthropic;

#[derive(Provider)]
#[provider(name = "gemini", base_url = "https://generativelanguage.googleapis.com/v1beta", auth(query = ""), dialect = openai)]
pub struct Gemini;

#[derive(Provider)]
#[provider(name = "other", base_url = "https://api.example.com/v1", auth = "header", dialect = openai)]
pub struct Other;

fn main() {}
