//! Gemini and Claude on Vertex AI end to end over real HTTP on 127.0.0.1:
//! text, stream, tool calls and the error table (401/403/429 with
//! `RetryInfo`, and the wire's own errors), with the request side recorded:
//! the project/location URL, the bearer token from the (verified) service
//! account, and the Vertex body shape. Success bodies are the Gemini and
//! Anthropic wire fixtures; the error bodies are Vertex's (`fixtures/vertex`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use llm_runtime::providers::{VertexAnthropic, VertexGemini};
use llm_runtime::testing::{MockResponse, MockServer, RecordedRequest};
use llm_runtime::{
    ChatRequest, ErrorKind, FinishReason, Provider, ProviderClient, StreamEvent, Tool,
    types::ToolChoice,
};
use serde_json::json;

use common::conformance::{fixture, fixture_json, stream_events};
use common::google::{
    TOKEN_PREFIX, VERTEX_BASE, assert_token_requests_verify, model_requests, serve_tokens,
    vertex_client,
};

const GEMINI: &str = "gemini-2.5-flash";
const CLAUDE: &str = "claude-sonnet-4-5@20250929";

fn gemini_path(method: &str) -> String {
    format!("{VERTEX_BASE}/publishers/google/models/{GEMINI}:{method}")
}

fn claude_path(method: &str) -> String {
    format!("{VERTEX_BASE}/publishers/anthropic/models/{CLAUDE}:{method}")
}

async fn setup<P: Provider + Default>() -> (MockServer, ProviderClient<P>) {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    let client = vertex_client::<P>(&server);
    (server, client)
}

/// The one model request: at `path`, with the service account's token as
/// Bearer and no static key in any form.
#[track_caller]
fn assert_vertex_head(server: &MockServer, path: &str) -> RecordedRequest {
    assert_eq!(assert_token_requests_verify(server), 1);
    let mut sent = model_requests(server);
    assert_eq!(sent.len(), 1, "one model request");
    let sent = sent.remove(0);
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, path);
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN_PREFIX}0").as_str())
    );
    for key_header in [
        "x-goog-api-key",
        "x-api-key",
        "api-key",
        "anthropic-version",
    ] {
        assert_eq!(sent.header(key_header), None, "{key_header}");
    }
    assert_eq!(sent.query_param("key"), None);
    assert_eq!(sent.header("content-type"), Some("application/json"));
    sent
}

fn forecast_tool() -> Tool {
    Tool::function(
        "get_forecast",
        "Weather forecast for a city",
        json!({"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}),
    )
}

// ---- Gemini on Vertex ----

fn gemini_hello() -> ChatRequest {
    ChatRequest::new(GEMINI)
        .system("Answer in French.")
        .user("Say hello.")
        .max_tokens(200)
}

#[tokio::test]
async fn gemini_text_non_stream() {
    let (server, client) = setup::<VertexGemini>().await;
    server.on(
        "POST",
        &gemini_path("generateContent"),
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let r = client.chat(gemini_hello()).await.unwrap();
    let sent = assert_vertex_head(&server, &gemini_path("generateContent"));
    assert_eq!(sent.query, None);
    assert_eq!(
        sent.body_json(),
        json!({
            "systemInstruction": {"parts": [{"text": "Answer in French."}]},
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "generationConfig": {"maxOutputTokens": 200},
        })
    );
    assert_eq!(r.provider, "vertex_gemini");
    assert_eq!(r.model, GEMINI);
    assert_eq!(
        r.text(),
        "Bonjour ! Voilà une réponse courte — avec un emoji 🌍."
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn gemini_text_stream_equals_the_whole_answer() {
    let (server, client) = setup::<VertexGemini>().await;
    server.on(
        "POST",
        &gemini_path("streamGenerateContent"),
        MockResponse::sse([fixture("gemini", "text.sse")]),
    );
    let (events, error) = stream_events(&client, gemini_hello()).await;
    assert!(error.is_none(), "{error:?}");
    let sent = assert_vertex_head(&server, &gemini_path("streamGenerateContent"));
    assert_eq!(sent.query_param("alt"), Some("sse"));
    assert!(matches!(events.first(), Some(StreamEvent::Start { .. })));
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Stop
        })
    );
    server.on(
        "POST",
        &gemini_path("generateContent"),
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let whole = client.chat(gemini_hello()).await.unwrap();
    let collected = client
        .chat_stream(gemini_hello())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(collected, whole);
}

#[tokio::test]
async fn gemini_tool_calls() {
    let (server, client) = setup::<VertexGemini>().await;
    server.on(
        "POST",
        &gemini_path("generateContent"),
        MockResponse::json(200, fixture_json("gemini", "tools.json")),
    );
    let request = ChatRequest::new(GEMINI)
        .user("Weather in Paris and Tokyo?")
        .tool(forecast_tool())
        .tool_choice(ToolChoice::Required);
    let r = client.chat(request.clone()).await.unwrap();
    let sent = assert_vertex_head(&server, &gemini_path("generateContent"));
    let body = sent.body_json();
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["name"],
        "get_forecast"
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let names: Vec<&str> = r
        .message
        .tool_calls
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["get_forecast", "get_forecast"]);
    assert_eq!(
        r.message.tool_calls[0].arguments_json().unwrap()["location"],
        "Paris, France"
    );

    server.on(
        "POST",
        &gemini_path("streamGenerateContent"),
        MockResponse::sse([fixture("gemini", "tools.sse")]),
    );
    let streamed = client
        .chat_stream(request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.message.tool_calls.len(), 2);
    assert_eq!(streamed.finish_reason, Some(FinishReason::ToolCalls));
}

/// Vertex's error table, for both providers: (status, body, kind, code, words).
fn vertex_errors() -> Vec<(
    u16,
    serde_json::Value,
    ErrorKind,
    &'static str,
    &'static str,
)> {
    vec![
        (
            401,
            fixture_json("vertex", "error_401.json"),
            ErrorKind::Authentication,
            "UNAUTHENTICATED",
            "invalid authentication credentials",
        ),
        (
            403,
            fixture_json("vertex", "error_403.json"),
            ErrorKind::PermissionDenied,
            "PERMISSION_DENIED",
            "aiplatform.endpoints.predict",
        ),
        (
            429,
            fixture_json("vertex", "error_429.json"),
            ErrorKind::RateLimited,
            "RESOURCE_EXHAUSTED",
            "Resource exhausted",
        ),
    ]
}

/// Each error of the table (plus `more`) answered on `paths` gives its kind,
/// code and words, from `provider`, with the 429's `RetryInfo` delay; a 401
/// is retried once with a refetched token, never more.
async fn assert_error_table<P: Provider + Default>(
    provider: &str,
    paths: [String; 2],
    request: ChatRequest,
    more: Vec<(
        u16,
        serde_json::Value,
        ErrorKind,
        &'static str,
        &'static str,
    )>,
) {
    for (status, body, kind, code, words) in vertex_errors().into_iter().chain(more) {
        for (stream, path) in [(false, &paths[0]), (true, &paths[1])] {
            let (server, client) = setup::<P>().await;
            server.on("POST", path, MockResponse::json(status, body.clone()));
            let e = if stream {
                client.chat_stream(request.clone()).await.err().unwrap()
            } else {
                client.chat(request.clone()).await.unwrap_err()
            };
            let label = format!("{provider} {status} stream={stream}");
            assert_eq!(e.kind(), kind, "{label}: {e}");
            assert_eq!(e.status(), Some(status), "{label}");
            assert_eq!(e.code(), Some(code), "{label}");
            assert_eq!(e.provider(), Some(provider), "{label}");
            assert!(e.to_string().contains(words), "{label}: {e}");
            assert!(!e.to_string().contains(TOKEN_PREFIX), "{label}: {e}");
            let attempts = if status == 401 { 2 } else { 1 };
            assert_eq!(model_requests(&server).len(), attempts, "{label}");
            if status == 429 {
                assert_eq!(e.retry_after(), Some(Duration::from_secs(17)), "{label}");
                assert!(e.is_retryable());
            }
        }
    }
}

#[tokio::test]
async fn gemini_errors_map_to_their_kinds() {
    let more = vec![
        (
            400,
            fixture_json("gemini", "error_400_context.json"),
            ErrorKind::ContextWindowExceeded,
            "INVALID_ARGUMENT",
            "input token count",
        ),
        (
            503,
            fixture_json("gemini", "error_503.json"),
            ErrorKind::Overloaded,
            "UNAVAILABLE",
            "overloaded",
        ),
    ];
    let paths = [
        gemini_path("generateContent"),
        gemini_path("streamGenerateContent"),
    ];
    assert_error_table::<VertexGemini>("vertex_gemini", paths, gemini_hello(), more).await;
}

#[tokio::test]
async fn gemini_model_listing_is_unsupported_without_a_request() {
    let (server, client) = setup::<VertexGemini>().await;
    let e = client.list_models().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert!(model_requests(&server).is_empty());
}

// ---- Claude on Vertex ----

fn claude_hello() -> ChatRequest {
    ChatRequest::new(CLAUDE)
        .system("Answer in French.")
        .user("Say hello.")
}

#[tokio::test]
async fn claude_text_non_stream() {
    let (server, client) = setup::<VertexAnthropic>().await;
    server.on(
        "POST",
        &claude_path("rawPredict"),
        MockResponse::json(200, fixture_json("anthropic", "text.json")),
    );
    let r = client.chat(claude_hello()).await.unwrap();
    let sent = assert_vertex_head(&server, &claude_path("rawPredict"));
    assert_eq!(sent.query, None);
    assert_eq!(
        sent.body_json(),
        json!({
            "anthropic_version": "vertex-2023-10-16",
            "system": "Answer in French.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
            "max_tokens": 4096,
        }),
        "the Messages body with `anthropic_version` and without `model`"
    );
    assert_eq!(r.provider, "vertex_anthropic");
    assert_eq!(r.id, "msg_01Txt7Fixture4Anthropic01");
    assert_eq!(
        r.text(),
        "Bonjour ! Voilà une réponse courte — avec un emoji 🌍."
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn claude_text_stream_equals_the_whole_answer() {
    let (server, client) = setup::<VertexAnthropic>().await;
    server.on(
        "POST",
        &claude_path("streamRawPredict"),
        MockResponse::sse([fixture("anthropic", "text.sse")]),
    );
    let (events, error) = stream_events(&client, claude_hello()).await;
    assert!(error.is_none(), "{error:?}");
    let sent = assert_vertex_head(&server, &claude_path("streamRawPredict"));
    let body = sent.body_json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert!(body.get("model").is_none(), "{body}");
    assert!(matches!(events.first(), Some(StreamEvent::Start { .. })));
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Stop
        })
    );
    server.on(
        "POST",
        &claude_path("rawPredict"),
        MockResponse::json(200, fixture_json("anthropic", "text.json")),
    );
    let whole = client.chat(claude_hello()).await.unwrap();
    let collected = client
        .chat_stream(claude_hello())
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(collected, whole);
}

#[tokio::test]
async fn claude_tool_calls() {
    let (server, client) = setup::<VertexAnthropic>().await;
    server.on(
        "POST",
        &claude_path("rawPredict"),
        MockResponse::json(200, fixture_json("anthropic", "tools.json")),
    );
    let request = ChatRequest::new(CLAUDE)
        .user("Weather in Paris and Tokyo?")
        .tool(forecast_tool())
        .tool_choice(ToolChoice::Required);
    let r = client.chat(request.clone()).await.unwrap();
    let sent = assert_vertex_head(&server, &claude_path("rawPredict"));
    let body = sent.body_json();
    assert_eq!(body["tools"][0]["name"], "get_forecast");
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
    assert!(body.get("model").is_none());
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let ids: Vec<&str> = r.message.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["toolu_01Paris", "toolu_02Tokyo"]);

    server.on(
        "POST",
        &claude_path("streamRawPredict"),
        MockResponse::sse([fixture("anthropic", "tools.sse")]),
    );
    let streamed = client
        .chat_stream(request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(streamed.message.tool_calls.len(), 2);
}

#[tokio::test]
async fn claude_errors_map_to_their_kinds() {
    let more = vec![(
        529,
        fixture_json("anthropic", "error_529.json"),
        ErrorKind::Overloaded,
        "overloaded_error",
        "Overloaded",
    )];
    let paths = [claude_path("rawPredict"), claude_path("streamRawPredict")];
    assert_error_table::<VertexAnthropic>("vertex_anthropic", paths, claude_hello(), more).await;
}

#[tokio::test]
async fn a_claude_model_id_cannot_leave_its_path_segment() {
    let (server, client) = setup::<VertexAnthropic>().await;
    // Encoded as one segment (`llm_runtime::http::path_segment`): sent to no other path.
    let e = client
        .chat(ChatRequest::new("../../other:rawPredict").user("hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let sent: Vec<String> = model_requests(&server)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        sent,
        [format!(
            "{VERTEX_BASE}/publishers/anthropic/models/..%2F..%2Fother%3ArawPredict:rawPredict"
        )]
    );
    let e = client
        .chat(ChatRequest::new("..").user("hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}");
    assert_eq!(model_requests(&server).len(), 1);
}
