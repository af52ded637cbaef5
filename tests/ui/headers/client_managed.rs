use llm_runtime::Provider;

#[derive(Provider)]
#[provider(
    name = "groq",
    base_url = "https://api.groq.com/openai/v1",
    auth = "bearer",
    headers(
        "Host" = "api.groq.com",
        "content-length" = "0",
        "transfer-encoding" = "chunked",
        "connection" = "close",
        "content-type" = "text/plain",
    ),
    dialect = openai,
)]
pub struct Groq;

fn main() {}
