//! `Client` routing over loopback: providers declared in this package register
//! exactly like built-ins, `provider/model` is split at the first `/`, and
//! registration and routing mistakes are `Config` errors found before any request.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, ChatStream, Client, EmbeddingRequest, EmbeddingResponse, Error,
    ErrorKind, LlmProvider, Result, StreamEvent,
    client::Route,
    provider::{HealthStatus, ProviderInfo},
    spec::{Capabilities, Capability},
    types::ModelInfo,
};
use serde_json::json;

use common::clients::{
    Acme, Backup, CHAT_PATH, acme_client, chat_ok, connect, hello, models_sent, stream_ok,
};

#[tokio::test]
async fn a_provider_declared_in_this_package_routes_like_a_built_in() {
    let acme_server = MockServer::start().await;
    let openai_server = MockServer::start().await;
    acme_server.on("POST", CHAT_PATH, chat_ok("acme-large", "from acme"));
    openai_server.on("POST", CHAT_PATH, chat_ok("gpt-4o-mini", "from openai"));
    let openai = OpenAi::config()
        .api_key("sk-test")
        .base_url(format!("{}/v1", openai_server.url()))
        .connect()
        .expect("valid");
    let client = Client::builder()
        .register(connect::<Acme>(&acme_server))
        .expect("first acme")
        .register(openai)
        .expect("first openai")
        .build()
        .expect("valid");
    assert_eq!(client.providers().collect::<Vec<_>>(), ["acme", "openai"]);

    let reply = client
        .chat("acme/acme-large", hello())
        .await
        .expect("acme answers");
    assert_eq!(
        (
            reply.provider.as_str(),
            reply.model.as_str(),
            reply.text().as_str()
        ),
        ("acme", "acme-large", "from acme")
    );
    let reply = client
        .chat("openai/gpt-4o-mini", hello())
        .await
        .expect("openai answers");
    assert_eq!(
        (reply.provider.as_str(), reply.text().as_str()),
        ("openai", "from openai")
    );

    assert_eq!(models_sent(&acme_server), ["acme-large"]);
    assert_eq!(models_sent(&openai_server), ["gpt-4o-mini"]);
}

#[tokio::test]
async fn the_model_keeps_every_slash_after_the_first() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("anthropic/claude-3", "ok"));
    let client = acme_client(&server);
    client
        .chat("acme/anthropic/claude-3", hello())
        .await
        .expect("routed");
    assert_eq!(models_sent(&server), ["anthropic/claude-3"]);
}

#[tokio::test]
async fn a_bare_provider_name_uses_its_default_model() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("acme-large", "ok"));
    let client = acme_client(&server);
    client.chat("acme", hello()).await.expect("default model");
    client.chat("acme/", hello()).await.expect("default model");
    assert_eq!(models_sent(&server), ["acme-large", "acme-large"]);
}

#[tokio::test]
async fn the_route_replaces_the_request_model() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("routed", "ok"));
    let client = acme_client(&server);
    client
        .chat("acme/routed", ChatRequest::new("ignored").user("hi"))
        .await
        .expect("ok");
    assert_eq!(models_sent(&server), ["routed"]);
}

#[tokio::test]
async fn a_duplicate_name_is_a_config_error_at_registration() {
    let server = MockServer::start().await;
    let err = Client::builder()
        .register(connect::<Acme>(&server))
        .expect("first")
        .register(connect::<Acme>(&server))
        .expect_err("second acme is refused");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("acme"), "{err}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn an_unknown_provider_lists_the_registered_ones() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    let client = Client::builder()
        .register(connect::<Acme>(&a))
        .expect("new")
        .register(connect::<Backup>(&b))
        .expect("new")
        .build()
        .expect("valid");
    let err = client
        .chat("nope/model", hello())
        .await
        .expect_err("unknown provider");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("`nope`"), "{err}");
    assert!(err.message().contains("acme, backup"), "{err}");
    let err = client
        .chat("openai/gpt-4o", hello())
        .await
        .expect_err("openai is not registered");
    assert!(
        err.message().contains("OPENAI_API_KEY"),
        "the hint names the key variable: {err}"
    );
    assert_eq!(a.request_count() + b.request_count(), 0);
}

#[tokio::test]
async fn streams_are_routed_too() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, stream_ok("acme-large", "streamed"));
    let client = acme_client(&server);
    let reply = client
        .chat_stream("acme/acme-large", hello())
        .await
        .expect("stream opens")
        .collect_response()
        .await
        .expect("stream completes");
    assert_eq!(reply.text(), "streamed");
    assert_eq!(server.requests()[0].body_json()["stream"], json!(true));
}

#[tokio::test]
async fn embeddings_are_routed() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/embeddings",
        MockResponse::json(
            200,
            json!({"object": "list", "model": "acme-embed", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.5]}],
                   "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
        ),
    );
    let client = acme_client(&server);
    let out = client
        .embed("acme/acme-embed", EmbeddingRequest::new("", ["hello"]))
        .await
        .expect("embedded");
    assert_eq!(out.provider, "acme");
    assert_eq!(server.requests()[0].body_json()["model"], "acme-embed");
}

/// A provider written by hand against the object-safe trait, without the derive
/// (and without `#[async_trait]`: this is the signature that attribute expands to).
#[derive(Debug)]
struct Canned;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl LlmProvider for Canned {
    fn info(&self) -> ProviderInfo {
        let mut info =
            ProviderInfo::new("canned", "memory://", Capabilities::of(&[Capability::Chat]));
        info.models = &["canned-1"];
        info.default_model = Some("canned-1");
        info
    }

    fn chat<'a, 'b>(&'a self, request: ChatRequest) -> BoxFuture<'b, Result<ChatResponse>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let mut response = ChatResponse::empty();
            response.model = request.model;
            response
                .message
                .content
                .push(llm_runtime::Part::text("canned answer"));
            Ok(response)
        })
    }

    fn chat_stream<'a, 'b>(&'a self, _request: ChatRequest) -> BoxFuture<'b, Result<ChatStream>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let events = vec![Ok(StreamEvent::TextDelta {
                text: "canned".into(),
            })];
            Ok(ChatStream::new(
                "canned",
                futures_util::stream::iter(events),
            ))
        })
    }

    fn embed<'a, 'b>(
        &'a self,
        _request: EmbeddingRequest,
    ) -> BoxFuture<'b, Result<EmbeddingResponse>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move { Err(Error::unsupported("no embeddings")) })
    }

    fn list_models<'a, 'b>(&'a self) -> BoxFuture<'b, Result<Vec<ModelInfo>>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move { Ok(vec![ModelInfo::new("canned-1")]) })
    }

    fn health_check<'a, 'b>(&'a self) -> BoxFuture<'b, HealthStatus>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move { HealthStatus::new(true, std::time::Duration::ZERO) })
    }
}

#[tokio::test]
async fn any_llm_provider_registers_through_an_arc() {
    let shared: Arc<dyn LlmProvider> = Arc::new(Canned);
    let client = Client::builder()
        .register_arc(Arc::clone(&shared))
        .expect("new")
        .build()
        .expect("valid");
    let reply = client
        .chat("canned/canned-1", hello())
        .await
        .expect("answers");
    // The client fills in who served it when the provider does not.
    assert_eq!(
        (reply.provider.as_str(), reply.model.as_str()),
        ("canned", "canned-1")
    );
    let mut stream = client
        .chat_stream("canned/x", hello())
        .await
        .expect("opens");
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::TextDelta { .. }))
    ));
    assert_eq!(
        client.list_models("canned").await.expect("listed")[0].id,
        "canned-1"
    );
    let err = Client::builder()
        .register_arc(Arc::clone(&shared))
        .expect("first")
        .register(Canned)
        .expect_err("duplicate");
    assert_eq!(err.kind(), ErrorKind::Config);
}

#[test]
fn routes_parse_and_display() {
    let r: Route = "openrouter/anthropic/claude-3".parse().expect("valid");
    assert_eq!(r.provider, "openrouter");
    assert_eq!(r.model, "anthropic/claude-3");
    assert_eq!(r.to_string(), "openrouter/anthropic/claude-3");
    assert_eq!(
        "/x".parse::<Route>().map_err(|e| e.kind()).err(),
        Some(ErrorKind::Config)
    );
}
