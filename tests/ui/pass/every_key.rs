use llm_runtime::{Provider, provider::{SupportsEmbeddings, SupportsTools}, spec::{AuthScheme, Capability, HealthProbe}};

mod errors {
    pub fn map(status: u16, _headers: &llm_runtime::__private::HeaderMap, _body: &[u8]) -> llm_runtime::Error {
        llm_runtime::Error::config(format!("mapped {status}"))
    }
}

#[derive(Provider)]
#[provider(
    crate = "::llm_runtime",
    name = "lan-llm",
    base_url = "http://10.0.0.2:8080/v1/",
    allow_http = true,
    auth(header = "X-Api-Key"),
    env = "LAN_LLM_API_KEY",
    base_url_env = "LAN_LLM_BASE_URL",
    headers("X-Title" = "demo", "anthropic-version" = "2023-06-01"),
    timeout_secs = 120,
    models("small", "large"),
    default_model = "large",
    capabilities(chat, stream, tools, vision, reasoning, embeddings, json_mode),
    dialect = openai,
    health = "GET /models",
    error = errors::map,
)]
pub struct LanLlm;

fn assert_markers<P: SupportsEmbeddings + SupportsTools>() {}

fn main() {
    let spec = LanLlm::SPEC;
    assert_eq!(spec.name, "lan-llm");
    assert_eq!(spec.base_url, "http://10.0.0.2:8080/v1");
    assert!(spec.allow_http);
    assert_eq!(spec.auth, AuthScheme::Header("x-api-key"));
    assert_eq!(spec.api_key_env, Some("LAN_LLM_API_KEY"));
    assert_eq!(spec.base_url_env, Some("LAN_LLM_BASE_URL"));
    assert_eq!(spec.headers, &[("x-title", "demo"), ("anthropic-version", "2023-06-01")]);
    assert_eq!(spec.timeout_secs, Some(120));
    assert_eq!(spec.models, &["small", "large"]);
    assert_eq!(spec.default_model, Some("large"));
    assert_eq!(spec.capabilities.iter().count(), 7);
    assert!(spec.supports(Capability::JsonMode));
    assert_eq!(spec.health, Some(HealthProbe { method: "GET", path: "/models" }));
    assert_markers::<LanLlm>();
    let error = LanLlm.map_error(418, &Default::default(), b"");
    assert!(error.to_string().contains("mapped 418"), "{error}");
}
