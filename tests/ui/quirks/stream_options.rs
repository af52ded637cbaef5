use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "host", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           stream_options = true)]
pub struct Host;

#[derive(Provider)]
#[provider(name = "batch", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           capabilities(chat), stream_options = false)]
pub struct Batch;

#[derive(Provider)]
#[provider(name = "native", base_url = "https://api.example.com/v1", auth = "bearer", dialect = gemini,
           stream_options = false)]
pub struct Native;

fn main() {}
