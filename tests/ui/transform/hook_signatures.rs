use llm_runtime::provider::Operation;
use llm_runtime::{Provider, Result, provider::{HttpParts, RequestContext}};

/// Hooks of the wrong shape: each error is on the path and names the
/// signature the key expects.
#[derive(Provider)]
#[provider(name = "proxy", base_url = "https://proxy.example/v1", auth = "bearer", dialect = openai,
           rewrite = Self::too_few, rewrite_json = Self::bytes_not_json, error = map)]
pub struct Proxy;

impl Proxy {
    fn too_few(&self, parts: HttpParts) -> Result<HttpParts> {
        Ok(parts)
    }

    fn bytes_not_json(&self, parts: HttpParts, _: Operation, _: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(parts)
    }
}

fn map(status: u16) -> llm_runtime::Error {
    llm_runtime::Error::config(format!("{status}"))
}

fn main() {}
