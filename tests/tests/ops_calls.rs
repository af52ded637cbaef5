//! What every operation beyond chat shares with chat, over the loopback
//! mock: per-call options (`*_with`: headers, idempotency key, timeout,
//! retries, and the settings an operation refuses), the client's and the
//! call's hooks (`on_complete` with the operation's name, `on_error` per
//! failed attempt), the OpenTelemetry GenAI span of each call, and the
//! key in none of them.

mod ops_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::hooks::{AttemptFailure, AttemptRequest, Completion, Hook};
use llm_runtime::providers::{Cohere, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatOptions, Client, ErrorKind, ProviderClient,
    types::{
        FileUpload, ImageEditRequest, ImageRequest, ModerationRequest, RerankRequest,
        SpeechRequest, TranscriptionRequest,
    },
};
use opentelemetry::Key;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use ops_common::{KEY, client};
use proptest::prelude::*;
use serde_json::json;
use tracing_subscriber::prelude::*;

/// Every operation's answer on the mock, in its provider's documented shape.
fn script(server: &MockServer) {
    let images = json!({"created": 1, "data": [{"url": "https://img.example/1.png"}]});
    server.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(200, images.clone()),
    );
    server.on("POST", "/v1/images/edits", MockResponse::json(200, images));
    server.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks([&b"ID3"[..], &b"\x00\x01"[..]])
            .header("content-type", "audio/mpeg"),
    );
    server.on(
        "POST",
        "/v1/audio/transcriptions",
        MockResponse::json(200, json!({"text": "hello"})),
    );
    server.on(
        "POST",
        "/v1/moderations",
        MockResponse::json(
            200,
            json!({"id": "modr-1", "model": "omni-moderation-latest", "results": [
                {"flagged": false, "categories": {"violence": false}, "category_scores": {"violence": 0.01}}
            ]}),
        ),
    );
    server.on(
        "POST",
        "/v2/rerank",
        MockResponse::json(
            200,
            json!({"id": "r-1", "results": [{"index": 0, "relevance_score": 0.9}],
                   "meta": {"billed_units": {"search_units": 1}}}),
        ),
    );
    server.on(
        "GET",
        "/v1/batches/batch_1",
        MockResponse::json(
            200,
            json!({"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
                   "input_file_id": "file-in", "completion_window": "24h", "status": "in_progress",
                   "created_at": 1, "request_counts": {"total": 1, "completed": 0, "failed": 0}}),
        ),
    );
}

fn audio() -> FileUpload {
    FileUpload::new("talk.mp3", "audio/mpeg", b"ID3\x04".to_vec())
}

fn png() -> FileUpload {
    FileUpload::new("fox.png", "image/png", b"\x89PNG\r\n".to_vec())
}

/// The operations, each called once with `options` on the matching client;
/// the kind of each call's error, by operation, or `None` where it answered.
async fn call_each(
    openai: &ProviderClient<OpenAi>,
    cohere: &ProviderClient<Cohere>,
    options: &ChatOptions,
) -> Vec<(&'static str, Option<ErrorKind>)> {
    let kind = |r: Result<(), llm_runtime::Error>| r.err().map(|e| e.kind());
    let speech = async {
        let stream = openai
            .speech_with(SpeechRequest::new("tts-1", "alloy", "Hello"), options)
            .await?;
        stream.collect_bytes(1 << 10).await.map(drop)
    };
    vec![
        (
            "images",
            kind(
                openai
                    .images_with(ImageRequest::new("dall-e-3", "a fox"), options)
                    .await
                    .map(drop),
            ),
        ),
        (
            "image_edit",
            kind(
                openai
                    .image_edit_with(ImageEditRequest::new("dall-e-2", "a hat", png()), options)
                    .await
                    .map(drop),
            ),
        ),
        ("speech", kind(speech.await)),
        (
            "transcribe",
            kind(
                openai
                    .transcribe_with(TranscriptionRequest::new("whisper-1", audio()), options)
                    .await
                    .map(drop),
            ),
        ),
        (
            "moderate",
            kind(
                openai
                    .moderate_with(
                        ModerationRequest::new("omni-moderation-latest").text("hi"),
                        options,
                    )
                    .await
                    .map(drop),
            ),
        ),
        (
            "rerank",
            kind(
                cohere
                    .rerank_with(RerankRequest::new("rerank-v3.5", "q", ["a", "b"]), options)
                    .await
                    .map(drop),
            ),
        ),
        (
            "batch_get",
            kind(openai.batch_get_with("batch_1", options).await.map(drop)),
        ),
    ]
}

fn clients(server: &MockServer) -> (ProviderClient<OpenAi>, ProviderClient<Cohere>) {
    (
        client::<OpenAi>(server, "/v1"),
        client::<Cohere>(server, ""),
    )
}

const OPERATIONS: [&str; 7] = [
    "images",
    "image_edit",
    "speech",
    "transcribe",
    "moderate",
    "rerank",
    "batch_get",
];

#[tokio::test]
async fn per_call_headers_and_the_idempotency_key_reach_every_operation() {
    let server = MockServer::start().await;
    script(&server);
    let (openai, cohere) = clients(&server);
    let options = ChatOptions::new()
        .header("x-tenant", "acme")
        .idempotency_key("op-7");
    let outcomes = call_each(&openai, &cohere, &options).await;
    assert_eq!(outcomes, OPERATIONS.map(|op| (op, None)));
    let sent = server.requests();
    assert_eq!(sent.len(), OPERATIONS.len());
    for request in &sent {
        assert_eq!(request.header("x-tenant"), Some("acme"), "{}", request.path);
        assert_eq!(
            request.header("idempotency-key"),
            Some("op-7"),
            "{}",
            request.path
        );
    }
    // Without options, none of them.
    call_each(&openai, &cohere, &ChatOptions::new()).await;
    for request in server.requests_since(sent.len()) {
        assert_eq!(request.header("x-tenant"), None, "{}", request.path);
    }
}

#[tokio::test]
async fn a_per_call_timeout_bounds_every_operation() {
    let server = MockServer::start().await;
    // Answers that come far later than the call's bound.
    server.fallback(MockResponse::json(200, json!({})).delay(Duration::from_secs(30)));
    let (openai, cohere) = clients(&server);
    let options = ChatOptions::new()
        .timeout(Duration::from_millis(150))
        .max_retries(0);
    let outcomes = call_each(&openai, &cohere, &options).await;
    assert_eq!(
        outcomes,
        OPERATIONS.map(|op| (op, Some(ErrorKind::Timeout)))
    );
}

#[tokio::test]
async fn per_call_retries_are_honoured() {
    let server = MockServer::start().await;
    let moderated = json!({"id": "modr-1", "model": "omni-moderation-latest",
                           "results": [{"flagged": false, "categories": {}, "category_scores": {}}]});
    let (openai, _) = clients(&server);
    let request = || ModerationRequest::new("omni-moderation-latest").text("hi");
    server.on_sequence(
        "POST",
        "/v1/moderations",
        vec![
            MockResponse::empty(500),
            MockResponse::json(200, moderated.clone()),
        ],
    );
    let e = openai
        .moderate_with(request(), &ChatOptions::new().max_retries(0))
        .await
        .expect_err("no retry");
    assert_eq!(
        (e.kind(), server.request_count()),
        (ErrorKind::ServerError, 1)
    );
    server.on_sequence(
        "POST",
        "/v1/moderations",
        vec![MockResponse::empty(500), MockResponse::json(200, moderated)],
    );
    let answer = openai
        .moderate_with(request(), &ChatOptions::new().max_retries(1))
        .await
        .expect("retried once");
    assert_eq!((answer.meta.attempts, server.request_count()), (2, 3));
}

#[tokio::test]
async fn settings_an_operation_cannot_honour_are_refused_before_sending() {
    let server = MockServer::start().await;
    script(&server);
    let (openai, cohere) = clients(&server);
    for options in [
        ChatOptions::new().fallback("openai/dall-e-2"),
        ChatOptions::new().unsupported_params(llm_runtime::types::UnsupportedParamPolicy::Drop),
        ChatOptions::new().timeout(Duration::ZERO),
        ChatOptions::new().header("bad header", "x"),
    ] {
        let outcomes = call_each(&openai, &cohere, &options).await;
        assert_eq!(
            outcomes,
            OPERATIONS.map(|op| (op, Some(ErrorKind::Config))),
            "{options:?}"
        );
    }
    assert_eq!(server.request_count(), 0);
}

/// Every hook call, as text (what a logging hook would write).
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").clone()
    }
    fn push(&self, line: String) {
        self.0.lock().expect("not poisoned").push(line);
    }
}

impl Hook for Recorder {
    fn before_send(&self, request: &mut AttemptRequest<'_>) {
        self.push(format!("send {request:?}"));
    }
    fn on_complete(&self, done: &Completion<'_>) {
        self.push(format!(
            "complete {} model={} stream={} dropped={} attempts={} cost={:?} {done:?}",
            done.operation, done.model, done.stream, done.dropped, done.attempts, done.cost
        ));
    }
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        self.push(format!("error {} {:?}", failure.error.kind(), failure));
    }
}

fn completions(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("complete "))
        .map(|l| l.split(" attempts=").next().unwrap_or(l).to_owned())
        .collect()
}

#[tokio::test]
async fn every_operation_tells_the_hooks_it_completed_without_the_key() {
    let server = MockServer::start().await;
    script(&server);
    let (openai, cohere) = clients(&server);
    let recorder = Arc::new(Recorder::default());
    let options = ChatOptions::new().hook(recorder.clone());
    call_each(&openai, &cohere, &options).await;
    let lines = recorder.lines();
    assert_eq!(
        completions(&lines),
        [
            "images model=dall-e-3 stream=false dropped=false",
            "image_edit model=dall-e-2 stream=false dropped=false",
            "speech model=tts-1 stream=true dropped=false",
            "transcribe model=whisper-1 stream=false dropped=false",
            "moderate model=omni-moderation-latest stream=false dropped=false",
            "rerank model=rerank-v3.5 stream=false dropped=false",
            "batch_get model= stream=false dropped=false",
        ]
    );
    assert_eq!(lines.iter().filter(|l| l.starts_with("send ")).count(), 7);
    for line in &lines {
        assert!(!line.contains(KEY), "{line}");
    }
}

#[tokio::test]
async fn a_speech_stream_completes_at_its_end_or_when_dropped() {
    let server = MockServer::start().await;
    script(&server);
    let (openai, _) = clients(&server);
    let recorder = Arc::new(Recorder::default());
    let options = ChatOptions::new().hook(recorder.clone());
    let request = || SpeechRequest::new("tts-1", "alloy", "Hello");
    let mut stream = openai
        .speech_with(request(), &options)
        .await
        .expect("opens");
    assert_eq!(
        completions(&recorder.lines()),
        Vec::<String>::new(),
        "not before its end"
    );
    while let Some(chunk) = stream.next().await {
        chunk.expect("a chunk");
    }
    let stream = openai
        .speech_with(request(), &options)
        .await
        .expect("opens");
    drop(stream);
    assert_eq!(
        completions(&recorder.lines()),
        [
            "speech model=tts-1 stream=true dropped=false",
            "speech model=tts-1 stream=true dropped=true"
        ]
    );
}

#[tokio::test]
async fn failed_attempts_reach_on_error_and_the_call_fails_without_completing() {
    let server = MockServer::start().await;
    server.fallback(MockResponse::json(
        500,
        json!({"error": {"message": format!("bad key {KEY}")}}),
    ));
    let (openai, cohere) = clients(&server);
    let recorder = Arc::new(Recorder::default());
    let options = ChatOptions::new().hook(recorder.clone()).max_retries(1);
    let outcomes = call_each(&openai, &cohere, &options).await;
    assert_eq!(
        outcomes,
        OPERATIONS.map(|op| (op, Some(ErrorKind::ServerError)))
    );
    let lines = recorder.lines();
    assert_eq!(completions(&lines), Vec::<String>::new());
    // Two attempts per operation, each failed.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("error server_error"))
            .count(),
        14
    );
    for line in &lines {
        assert!(!line.contains(KEY), "{line}");
    }
}

#[tokio::test]
async fn the_client_routes_operations_with_its_hooks_and_the_calls_options() {
    let server = MockServer::start().await;
    script(&server);
    let recorder = Arc::new(Recorder::default());
    let client = Client::builder()
        .register(client::<OpenAi>(&server, "/v1"))
        .and_then(|b| b.register(client::<Cohere>(&server, "")))
        .expect("registered")
        .hook(recorder.clone())
        .build()
        .expect("a client");
    let options = ChatOptions::new().header("x-tenant", "acme");
    let images = client
        .images_with("openai/dall-e-2", ImageRequest::new("", "a fox"), &options)
        .await
        .expect("images");
    assert_eq!(images.meta.route.as_deref(), Some("openai/dall-e-2"));
    let ranked = client
        .rerank_with(
            "cohere/rerank-v3.5",
            RerankRequest::new("", "q", ["a"]),
            &options,
        )
        .await
        .expect("rerank");
    assert_eq!(ranked.meta.route.as_deref(), Some("cohere/rerank-v3.5"));
    let sent = server.requests();
    assert_eq!(sent[0].body_json()["model"], "dall-e-2");
    assert_eq!(sent[1].body_json()["model"], "rerank-v3.5");
    assert!(sent.iter().all(|r| r.header("x-tenant") == Some("acme")));
    assert_eq!(
        completions(&recorder.lines()),
        [
            "images model=dall-e-2 stream=false dropped=false",
            "rerank model=rerank-v3.5 stream=false dropped=false"
        ]
    );
    let e = client
        .images_with(
            "openai/dall-e-2",
            ImageRequest::new("", "a fox"),
            &ChatOptions::new().fallback("openai/x"),
        )
        .await
        .expect_err("no fallbacks for images");
    assert_eq!(e.kind(), ErrorKind::Config);
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::new(key.to_owned()))
        .map(|kv| kv.value.to_string())
}

#[tokio::test]
async fn each_operation_has_its_genai_span() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(llm_runtime::otel::layer().with_tracer(provider.tracer("ops"))),
    );
    let server = MockServer::start().await;
    script(&server);
    let (openai, cohere) = clients(&server);
    call_each(&openai, &cohere, &ChatOptions::new()).await;
    server.on(
        "POST",
        "/v1/moderations",
        MockResponse::json(429, json!({"error": {"message": "slow"}})),
    );
    let e = openai
        .moderate_with(
            ModerationRequest::new("omni-moderation-latest").text("hi"),
            &ChatOptions::new().max_retries(0),
        )
        .await
        .expect_err("limited");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    provider.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    let calls: Vec<&SpanData> = spans
        .iter()
        .filter(|s| attribute(s, "gen_ai.operation.name").is_some())
        .collect();
    let seen: Vec<(String, Option<String>, Option<String>)> = calls
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                attribute(s, "gen_ai.request.model"),
                attribute(s, "error.type"),
            )
        })
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        seen,
        [
            ("images".into(), some("dall-e-3"), None),
            ("image_edit".into(), some("dall-e-2"), None),
            ("speech".into(), some("tts-1"), None),
            ("transcribe".into(), some("whisper-1"), None),
            ("moderate".into(), some("omni-moderation-latest"), None),
            ("rerank".into(), some("rerank-v3.5"), None),
            ("batch_get".into(), None, None),
            (
                "moderate".into(),
                some("omni-moderation-latest"),
                some("rate_limited")
            ),
        ]
    );
    for span in calls {
        assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Client);
        assert_eq!(
            attribute(span, "gen_ai.operation.name"),
            Some(span.name.to_string())
        );
        assert_eq!(attribute(span, "server.address"), some("127.0.0.1"));
        let provider_name = attribute(span, "gen_ai.provider.name").expect("provider");
        assert!(
            ["openai", "cohere"].contains(&provider_name.as_str()),
            "{provider_name}"
        );
        for kv in &span.attributes {
            assert!(!kv.value.to_string().contains(KEY), "{kv:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Any valid header value and idempotency key is sent as given, on
    /// every attempt of a retried operation.
    #[test]
    fn generated_per_call_headers_reach_every_attempt(
        tenant in "[a-zA-Z0-9._~-]{1,40}",
        key in "[a-zA-Z0-9:_-]{1,64}",
    ) {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let server = MockServer::start().await;
            server.on_sequence(
                "POST",
                "/v1/audio/transcriptions",
                vec![MockResponse::empty(500), MockResponse::json(200, json!({"text": "x"}))],
            );
            let (openai, _) = clients(&server);
            let options = ChatOptions::new().header("x-tenant", &tenant).idempotency_key(&key);
            let t = openai
                .transcribe_with(TranscriptionRequest::new("whisper-1", audio()), &options)
                .await
                .expect("retried");
            assert_eq!(t.text, "x");
            let sent = server.requests();
            assert_eq!(sent.len(), 2);
            for request in &sent {
                assert_eq!(request.header("x-tenant"), Some(tenant.as_str()));
                assert_eq!(request.header("idempotency-key"), Some(key.as_str()));
            }
            // The same multipart body on both attempts.
            assert_eq!(sent[0].body, sent[1].body);
        });
    }
}

/// Each priced answer carries its cost from the catalog, and the hooks get
/// the same figure; a free moderation is `Some(0.0)`, an unpriced call `None`.
#[tokio::test]
async fn costs_reach_the_answers_and_the_hooks() {
    let server = MockServer::start().await;
    script(&server);
    let (openai, cohere) = clients(&server);
    let recorder = Arc::new(Recorder::default());
    let options = ChatOptions::new().hook(recorder.clone());
    let images = openai
        .images_with(ImageRequest::new("dall-e-3", "a fox"), &options)
        .await
        .expect("images");
    assert_eq!(images.meta.cost_usd, Some(0.04));
    let speech = openai
        .speech_with(SpeechRequest::new("tts-1", "alloy", "Hello"), &options)
        .await
        .expect("speech");
    assert_eq!(speech.meta().cost_usd, Some(5.0 * 15.0 / 1e6));
    speech.collect_bytes(1 << 10).await.expect("audio");
    // A plain `json` transcript reports no duration: unpriced.
    let transcript = openai
        .transcribe_with(TranscriptionRequest::new("whisper-1", audio()), &options)
        .await
        .expect("transcribed");
    assert_eq!(transcript.meta.cost_usd, None);
    let moderated = openai
        .moderate_with(
            ModerationRequest::new("omni-moderation-latest").text("hi"),
            &options,
        )
        .await
        .expect("moderated");
    assert_eq!(moderated.meta.cost_usd, Some(0.0));
    let ranked = cohere
        .rerank_with(RerankRequest::new("rerank-v3.5", "q", ["a", "b"]), &options)
        .await
        .expect("ranked");
    assert_eq!(ranked.meta.cost_usd, Some(0.002));
    let costs: Vec<String> = recorder
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("complete "))
        .map(|l| {
            let op = l.split(' ').next().unwrap_or_default();
            let cost = l.split(" cost=").nth(1).and_then(|c| c.split(' ').next());
            format!("{op} {}", cost.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        costs,
        [
            "images Some(0.04)",
            "speech Some(7.5e-5)",
            "transcribe None",
            "moderate Some(0.0)",
            "rerank Some(0.002)"
        ]
    );
}
