//! Delegation is structural: a provider calls every `Transform` method through
//! its wire type, so an override a dialect adds is picked up without any list
//! of methods to keep in sync.

use std::any::TypeId;

use llm_runtime::dialects::openai::OpenAiDialect;
use llm_runtime::providers::{AzureOpenAi, Groq, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, Provider, ProviderConfig, Result, StreamEvent,
    provider::{HttpParts, RequestContext, Transform},
    spec::ProviderSpec,
    stream::{Control, Frame},
    types::ModelInfo,
};
use serde_json::json;

/// A dialect-like transform: OpenAI's wire, plus an override of a method with
/// a default (`models_request`, `parse_models`).
#[derive(Debug, Default)]
struct CatalogWire;

impl Transform for CatalogWire {
    type StreamState = <OpenAiDialect as Transform>::StreamState;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        OpenAiDialect.build_request(request, ctx)
    }

    fn parse_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ChatResponse> {
        OpenAiDialect.parse_response(body, ctx)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        state: &mut Self::StreamState,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Control> {
        OpenAiDialect.parse_stream_event(frame, state, out)
    }

    fn models_request(&self, _ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get("/catalog"))
    }

    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        let v: serde_json::Value = serde_json::from_slice(body)?;
        Ok(v["names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str())
            .map(|id| ModelInfo::new(id.to_owned()))
            .collect())
    }
}

/// A provider whose wire is that transform: exactly the impl
/// `#[derive(Provider)]` writes for `dialect = x`.
#[derive(Debug, Default)]
struct Catalogued;

const CATALOGUED: ProviderSpec = ProviderSpec::new("catalogued", "https://catalogued.example/v1");

impl Provider for Catalogued {
    const SPEC: ProviderSpec = CATALOGUED;
    type Wire = CatalogWire;
    fn wire(&self) -> &CatalogWire {
        &CatalogWire
    }
}

#[tokio::test]
async fn a_dialect_override_reaches_the_provider() {
    let mock = MockServer::start().await;
    mock.on(
        "GET",
        "/v1/catalog",
        MockResponse::json(200, json!({"names": ["alpha", "beta"]})),
    );
    let client = ProviderConfig::new(Catalogued)
        .api_key("k-test")
        .base_url(format!("{}/v1", mock.url()))
        .connect()
        .expect("valid config");
    let models = client
        .list_models()
        .await
        .expect("the override's path and parser");
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["alpha", "beta"]);
}

#[test]
fn dialect_providers_use_the_dialect_as_their_wire() {
    assert_eq!(
        TypeId::of::<<Groq as Provider>::Wire>(),
        TypeId::of::<OpenAiDialect>()
    );
    assert_eq!(
        TypeId::of::<<OpenAi as Provider>::Wire>(),
        TypeId::of::<OpenAiDialect>()
    );
    // Azure is the OpenAI wire plus one request rewrite.
    assert_eq!(
        TypeId::of::<<AzureOpenAi as Provider>::Wire>(),
        TypeId::of::<OpenAiDialect>()
    );
}

#[test]
fn azure_is_a_declaration_plus_one_rewrite() {
    let source = include_str!("../../llm-runtime/src/providers/azure_openai.rs");
    let lines = source.lines().count();
    assert!(lines <= 40, "azure_openai.rs has {lines} lines");
}
