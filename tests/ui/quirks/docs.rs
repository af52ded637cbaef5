use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "host", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           docs = "http://docs.example.com")]
pub struct Host;

fn main() {}
