//! A hand-written provider (`impl LlmProvider` without `_with` methods) and
//! per-call options: the trait's defaults apply the `timeout`, the
//! `idle_timeout` and the unsupported-parameter policy, and fail the call
//! with a `Config` error naming every option they cannot apply (headers,
//! retries, hooks, the client's hooks too). None is dropped in silence.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt;
use llm_runtime::hooks::Hook;
use llm_runtime::retry::RetryPolicy;
use llm_runtime::types::{BatchRequest, ModelInfo, ModerationRequest, UnsupportedParamPolicy};
use llm_runtime::{
    ChatOptions, ChatRequest, ChatResponse, ChatStream, Client, EmbeddingRequest,
    EmbeddingResponse, ErrorKind, LlmProvider, Part, Result, StreamEvent,
    provider::{HealthStatus, ProviderInfo},
    spec::{Capabilities, Capability},
};

const SECRET: &str = "sk-hand-written-never-printed";
/// Longer than any test waits: a call past it has hung.
const PATIENCE: Duration = Duration::from_secs(10);

/// Answers with the request's unsupported-parameter policy; the model
/// `slow` takes a minute, and a stream of the model `stalls` sends one event
/// and then nothing.
#[derive(Debug)]
struct Scripted;

#[async_trait]
impl LlmProvider for Scripted {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(
            "scripted",
            "memory://",
            Capabilities::of(&[Capability::Chat, Capability::Stream]),
        )
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        if request.model == "slow" {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        let mut response = ChatResponse::empty();
        response.model = request.model;
        let policy = format!("{:?}", request.unsupported_params);
        response.message.content.push(Part::text(policy));
        Ok(response)
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let first = futures_util::stream::iter([Ok(StreamEvent::TextDelta {
            text: "first".into(),
        })]);
        if request.model == "stalls" {
            let stream = first.chain(futures_util::stream::pending());
            return Ok(ChatStream::new("scripted", stream));
        }
        Ok(ChatStream::new("scripted", first))
    }

    async fn embed(&self, _request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        Err(llm_runtime::Error::unsupported("no embeddings"))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        Ok(Vec::new())
    }

    async fn health_check(&self) -> HealthStatus {
        HealthStatus::new(true, Duration::ZERO)
    }
}

#[derive(Debug)]
struct Watching;
impl Hook for Watching {}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).user("hello")
}

/// The `Config` error of `result`, which names `names` and the method.
fn refused<T: std::fmt::Debug>(result: Result<T>, method: &str, names: &[&str]) {
    let e = result.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    let text = e.to_string();
    for name in names.iter().chain([&method]) {
        assert!(text.contains(name), "`{name}` not named: {text}");
    }
    assert!(!format!("{e:?}{e}").contains(SECRET), "{e:?}");
}

#[tokio::test]
async fn options_the_default_cannot_apply_fail_the_call_and_are_named() {
    let p = Scripted;
    let header = ChatOptions::new().header("x-api-key", SECRET);
    refused(
        p.chat_with(hello("m"), &header).await,
        "chat_with",
        &["headers"],
    );
    let keyed = ChatOptions::new().idempotency_key(SECRET);
    refused(
        p.chat_stream_with(hello("m"), &keyed).await,
        "chat_stream_with",
        &["headers"],
    );
    let retries = ChatOptions::new()
        .retry_policy(RetryPolicy::default())
        .max_retries(0);
    refused(
        p.chat_with(hello("m"), &retries).await,
        "chat_with",
        &["a retry policy", "max_retries"],
    );
    let hooked = ChatOptions::new().hook(Arc::new(Watching));
    refused(
        p.chat_with(hello("m"), &hooked).await,
        "chat_with",
        &["hooks"],
    );
    // An operation beyond chat: the same, and a policy it cannot carry.
    refused(
        p.moderate_with(ModerationRequest::new("m"), &header).await,
        "moderate_with",
        &["headers"],
    );
    let policy = ChatOptions::new().unsupported_params(UnsupportedParamPolicy::Drop);
    let e = p
        .moderate_with(ModerationRequest::new("m"), &policy)
        .await
        .expect_err("no chat request to carry it");
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    // A batch carries chat requests, but the default cannot set the policy
    // on each of them.
    let batch = BatchRequest::new().item("a", hello("m"));
    refused(
        p.batch_create_with(batch, &policy).await,
        "batch_create_with",
        &["an unsupported-parameter policy"],
    );
    // What every call checks still comes first.
    let zero = ChatOptions::new().timeout(Duration::ZERO);
    let e = p.chat_with(hello("m"), &zero).await.expect_err("zero");
    assert!(e.to_string().contains("timeout"), "{e}");
}

#[tokio::test]
async fn the_clients_hooks_are_refused_for_a_hand_written_provider_too() {
    let client = Client::builder()
        .hook(Arc::new(Watching))
        .register(Scripted)
        .expect("registered")
        .build()
        .expect("valid");
    refused(
        client.chat("scripted/m", hello("m")).await,
        "chat_with",
        &["hooks"],
    );
    // Without hooks the client's calls go through.
    let plain = Client::builder()
        .register(Scripted)
        .expect("registered")
        .build()
        .expect("valid");
    let reply = plain.chat("scripted/m", hello("m")).await.expect("answers");
    assert_eq!(reply.model, "m");
}

#[tokio::test]
async fn the_timeout_bounds_a_hand_written_call() {
    let options = ChatOptions::new().timeout(Duration::from_millis(100));
    let started = Instant::now();
    let e = Scripted
        .chat_with(hello("slow"), &options)
        .await
        .expect_err("past its timeout");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    assert_eq!(e.provider(), Some("scripted"));
    // A call within it answers.
    let reply = Scripted
        .chat_with(hello("quick"), &options)
        .await
        .expect("answers");
    assert_eq!(reply.model, "quick");
}

#[tokio::test]
async fn the_idle_timeout_bounds_each_gap_of_a_hand_written_stream() {
    let options = ChatOptions::new().idle_timeout(Duration::from_millis(100));
    let mut stream = Scripted
        .chat_stream_with(hello("stalls"), &options)
        .await
        .expect("opens");
    let started = Instant::now();
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::TextDelta { .. }))
    ));
    let gap = stream.next().await.expect("an error, not the end");
    assert_eq!(gap.expect_err("stalled").kind(), ErrorKind::Timeout);
    assert!(stream.next().await.is_none(), "ends after the timeout");
    assert!(started.elapsed() < PATIENCE, "{:?}", started.elapsed());
    // A stream that keeps sending ends as it does.
    let mut quick = Scripted
        .chat_stream_with(hello("m"), &options)
        .await
        .expect("opens");
    let mut events = 0;
    while let Some(event) = quick.next().await {
        event.expect("no error");
        events += 1;
    }
    assert_eq!(events, 1);
}

#[tokio::test]
async fn the_calls_policy_reaches_the_request_unless_it_has_its_own() {
    let text = |r: ChatResponse| r.text();
    let drop = ChatOptions::new().unsupported_params(UnsupportedParamPolicy::Drop);
    let reply = Scripted
        .chat_with(hello("m"), &drop)
        .await
        .expect("answers");
    assert_eq!(text(reply), "Some(Drop)");
    let mut own = hello("m");
    own.unsupported_params = Some(UnsupportedParamPolicy::Passthrough);
    let reply = Scripted.chat_with(own, &drop).await.expect("answers");
    assert_eq!(text(reply), "Some(Passthrough)");
    // Options the default applies, or that ask nothing of it, go through:
    // a bound, the client's fallbacks, and wire bytes it has none of.
    let applied = ChatOptions::new()
        .timeout(Duration::from_secs(30))
        .fallback("other/model")
        .keep_wire("openai");
    let reply = Scripted
        .chat_with(hello("m"), &applied)
        .await
        .expect("answers");
    assert_eq!(text(reply), "None");
    let stream = Scripted
        .chat_stream_with(hello("m"), &applied)
        .await
        .expect("opens");
    assert_eq!(stream.wire_format(), None);
}
