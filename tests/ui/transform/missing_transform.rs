use llm_runtime::Provider;

/// No `dialect`, and no `impl Transform for Anthropic`.
#[derive(Provider)]
#[provider(name = "anthropic", base_url = "https://api.anthropic.com/v1", auth(header = "x-api-key"))]
pub struct Anthropic;

fn main() {}
