use llm_runtime::Provider;

#[derive(Provider)]
#[provider(name = "host", base_url = "https://api.example.com/v1", auth = "bearer", dialect = openai,
           models_path = "models")]
pub struct Host;

#[derive(Provider)]
#[provider(name = "native", base_url = "https://api.example.com/v1", auth = "bearer", dialect = gemini,
           models_path = "/v1/models")]
pub struct Native;

fn main() {}
