use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "host", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           max_tokens_field = "max_token")]
pub struct Host;

#[derive(Provider)]
#[provider(name = "native", base_url = "https://api.example.com/v1", auth = "bearer", dialect = anthropic,
           max_tokens_field = "max_tokens")]
pub struct Native;

fn main() {}
