//! The Ollama dialect and provider, end to end over HTTP on 127.0.0.1 against
//! fixtures in Ollama's documented wire format (`/api/chat` with NDJSON
//! streaming, `/api/embed`, `/api/tags`).
//!
//! Ollama has no content-filter finish reason, no response id and no key.

mod common;

use std::time::Duration;

use llm_runtime::dialects::ollama::OllamaDialect;
use llm_runtime::providers::Ollama;
use llm_runtime::testing::{MockResponse, MockServer, assert_split_invariant};
use llm_runtime::{
    ChatRequest, ChatResponse, EmbeddingRequest, Error, ErrorKind, FinishReason, Message, Part,
    ProviderClient, StreamEvent, Tool, ToolCall, Usage,
    types::{ReasoningEffort, ResponseFormat, ToolChoice},
};
use serde_json::json;

use common::conformance::{
    assert_crlf_decodes_the_same, assert_errors_map_to_kinds, assert_same_both_ways,
    assert_starts_and_finishes, assert_text_stream, in_pieces, json_of, loopback_config,
    stream_events,
};

const TEXT_JSON: &str = include_str!("../fixtures/ollama/chat_text.json");
const TEXT_NDJSON: &str = include_str!("../fixtures/ollama/stream_text.ndjson");
const TOOLS_JSON: &str = include_str!("../fixtures/ollama/chat_tools.json");
const TOOLS_NDJSON: &str = include_str!("../fixtures/ollama/stream_tools.ndjson");
const THINKING_JSON: &str = include_str!("../fixtures/ollama/chat_thinking.json");
const THINKING_NDJSON: &str = include_str!("../fixtures/ollama/stream_thinking.ndjson");
const EMBED_JSON: &str = include_str!("../fixtures/ollama/embed.json");
const TAGS_JSON: &str = include_str!("../fixtures/ollama/tags.json");

const CHAT: &str = "/api/chat";
const TEXT: &str = "Le ciel est bleu à cause de la diffusion Rayleigh — 🌤 voilà.";

/// Serve `body` in pieces of `size` bytes (splitting lines and UTF-8 characters).
fn ndjson_in_pieces(body: &str, size: usize) -> MockResponse {
    MockResponse::raw_body_chunks(in_pieces(body, size))
        .header("content-type", "application/x-ndjson")
}

/// Ollama on `server`, without a key.
fn connect(server: &MockServer) -> ProviderClient<Ollama> {
    loopback_config(server, "")
        .connect()
        .expect("a loopback config is valid")
}

fn request() -> ChatRequest {
    ChatRequest::new("llama3.2")
        .system("Réponds en français.")
        .user("Pourquoi le ciel est-il bleu ?")
}

/// The non-streamed answer and the streamed one (served in `size`-byte pieces) are equal.
async fn same_both_ways(json_fixture: &str, ndjson_fixture: &str, size: usize) -> ChatResponse {
    let streamed = ndjson_in_pieces(ndjson_fixture, size);
    assert_same_both_ways(connect, CHAT, json_fixture, streamed, request(), "ollama").await
}

#[tokio::test]
async fn text_non_stream_and_stream() {
    let r = same_both_ways(TEXT_JSON, TEXT_NDJSON, 7).await;
    assert_eq!(r.text(), TEXT);
    assert_eq!(r.id, "");
    assert_eq!(r.model, "llama3.2");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.usage, Some(Usage::new(31, 17)));
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(48));
    assert_eq!(r.reasoning, None);
}

#[tokio::test]
async fn stream_events_in_order() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT,
        MockResponse::ndjson(TEXT_NDJSON.lines().map(str::to_owned).collect::<Vec<_>>()),
    );
    let client = connect(&server);
    let (events, error) = stream_events(&client, request()).await;
    assert!(error.is_none(), "{error:?}");
    let start = StreamEvent::Start {
        id: String::new(),
        model: "llama3.2".into(),
    };
    assert_text_stream(&events, &start, 5, Usage::new(31, 17));
}

#[tokio::test]
async fn two_parallel_tool_calls() {
    let r = same_both_ways(TOOLS_JSON, TOOLS_NDJSON, 11).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert!(r.message.content.is_empty());
    let calls = &r.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[1].id.as_str()),
        ("call_0", "call_1")
    );
    assert_eq!(calls[0].name, "get_current_weather");
    assert_eq!(
        calls[0].arguments_json().expect("JSON"),
        json!({"location": "Paris, FR", "format": "celsius"})
    );
    assert_eq!(
        calls[1].arguments_json().expect("JSON")["location"],
        "Tōkyō, JP"
    );
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(260));
}

#[tokio::test]
async fn thinking_and_length_finish() {
    let r = same_both_ways(THINKING_JSON, THINKING_NDJSON, 5).await;
    assert_eq!(
        r.reasoning.as_deref(),
        Some("Compare the tenths: 9 > 1, so 9.9 is bigger.")
    );
    assert_eq!(r.text(), "9.9 is larger than 9.11, because");
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
}

#[test]
fn every_stream_fixture_survives_any_split() {
    for fixture in [TEXT_NDJSON, TOOLS_NDJSON, THINKING_NDJSON] {
        let events = assert_split_invariant(&OllamaDialect, fixture.as_bytes());
        assert_starts_and_finishes(&events, &format!("{events:?}"));
        assert_crlf_decodes_the_same(&OllamaDialect, fixture);
    }
}

#[tokio::test]
async fn one_byte_chunks_over_http() {
    for (json_fixture, ndjson_fixture) in [(TEXT_JSON, TEXT_NDJSON), (TOOLS_JSON, TOOLS_NDJSON)] {
        same_both_ways(json_fixture, ndjson_fixture, 1).await;
    }
}

#[tokio::test]
async fn request_side_mapping() {
    let server = MockServer::start().await;
    server.on("POST", CHAT, MockResponse::json(200, json_of(TEXT_JSON)));
    let client = connect(&server);
    let req = ChatRequest::new("llava")
        .system("You are terse.")
        .user_parts(vec![
            Part::text("What is in this image?"),
            Part::image_base64("image/png", "iVBORw0KGgoAAAANSUhEUg=="),
        ])
        .message(Message::assistant_tool_calls(
            None,
            vec![ToolCall::function("call_0", "lookup", r#"{"q":"cat"}"#)],
        ))
        .message(Message::tool_result("call_0", "a cat"))
        .tool(Tool::function(
            "lookup",
            "Look something up",
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
        ))
        .temperature(0.2)
        .max_tokens(128)
        .seed(42)
        .stop("###")
        .reasoning_effort(ReasoningEffort::Low)
        .response_format(ResponseFormat::JsonObject);
    client.chat(req).await.expect("chat succeeds");
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/api/chat");
    assert_eq!(r.query, None);
    assert_eq!(r.header("authorization"), None, "Ollama takes no key");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.body_json();
    assert_eq!(body["model"], "llava");
    assert_eq!(body["stream"], false);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "What is in this image?", "images": ["iVBORw0KGgoAAAANSUhEUg=="]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "lookup", "arguments": {"q": "cat"}}}]})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "content": "a cat", "tool_name": "lookup"})
    );
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "lookup", "description": "Look something up",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}})
    );
    assert_eq!(
        body["options"],
        json!({"temperature": 0.2, "num_predict": 128, "seed": 42, "stop": ["###"]})
    );
    assert_eq!(body["think"], "low");
    assert_eq!(body["format"], "json");
}

#[tokio::test]
async fn what_ollama_cannot_take_fails_before_the_network() {
    let server = MockServer::start().await;
    let client = connect(&server);
    let url_image =
        ChatRequest::new("llava").user_parts(vec![Part::image_url("https://example.com/cat.png")]);
    let e = client
        .chat(url_image)
        .await
        .expect_err("a URL image is refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("base64"), "{e}");
    let forced = ChatRequest::new("llama3.2")
        .user("x")
        .tool(Tool::function(
            "lookup",
            "Look something up",
            json!({"type": "object"}),
        ))
        .tool_choice(ToolChoice::Required);
    let e = client
        .chat(forced)
        .await
        .expect_err("tool_choice is refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("tool_choice"), "{e}");
    assert_eq!(server.request_count(), 0);
}

async fn failure(response: MockResponse, stream: bool) -> Error {
    common::conformance::failure(connect, CHAT, response, request(), stream).await
}

#[tokio::test]
async fn errors_map_to_kinds() {
    let cases: Vec<(MockResponse, ErrorKind, &str)> = vec![
        (
            MockResponse::json(401, json!({"error": "unauthorized"})),
            ErrorKind::Authentication,
            "unauthorized",
        ),
        (
            MockResponse::json(403, json!({"error": "forbidden"})),
            ErrorKind::PermissionDenied,
            "forbidden",
        ),
        (
            MockResponse::json(
                404,
                json!({"error": "model \"llama9\" not found, try pulling it first"}),
            ),
            ErrorKind::NotFound,
            "try pulling it first",
        ),
        (
            MockResponse::json(
                400,
                json!({"error": "invalid format: expected \"json\" or a valid JSON schema"}),
            ),
            ErrorKind::InvalidRequest,
            "invalid format",
        ),
        (
            MockResponse::json(
                400,
                json!({"error": "input length exceeds the context length"}),
            ),
            ErrorKind::ContextWindowExceeded,
            "context length",
        ),
        (
            MockResponse::json(429, json!({"error": "too many requests"}))
                .header("retry-after", "3"),
            ErrorKind::RateLimited,
            "too many requests",
        ),
        (
            MockResponse::json(
                500,
                json!({"error": "llama runner process has terminated: exit status 2"}),
            ),
            ErrorKind::ServerError,
            "runner process",
        ),
        (
            MockResponse::json(
                503,
                json!({"error": "server busy, please try again.  maximum pending requests exceeded"}),
            ),
            ErrorKind::Overloaded,
            "server busy",
        ),
        (
            MockResponse::text(
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
            ),
            ErrorKind::ServerError,
            "HTML",
        ),
        (
            MockResponse::text(
                200,
                "application/json",
                "{\"model\":\"llama3.2\",\"message\":{\"role\":",
            ),
            ErrorKind::Decode,
            "not a chat object",
        ),
        (
            MockResponse::json(
                200,
                json!({"error": "model \"llama9\" not found, try pulling it first"}),
            ),
            ErrorKind::NotFound,
            "llama9",
        ),
    ];
    assert_errors_map_to_kinds(connect, CHAT, request, "ollama", cases).await;
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let e = failure(
        MockResponse::json(429, json!({"error": "too many requests"})).header("retry-after", "3"),
        false,
    )
    .await;
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(e.status(), Some(429));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn stream_errors() {
    // Refused before the stream starts: the status decides.
    let e = failure(
        MockResponse::json(
            404,
            json!({"error": "model \"llama9\" not found, try pulling it first"}),
        ),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // An error line in the middle of the stream.
    let first = TEXT_NDJSON.lines().next().expect("a line").to_owned();
    let e = failure(
        MockResponse::ndjson([
            first.clone(),
            r#"{"error":"an error was encountered while running the model: unexpected EOF"}"#
                .to_owned(),
        ]),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert!(e.message().contains("unexpected EOF"), "{e}");
    // A line that is not JSON.
    let e = failure(
        MockResponse::ndjson([first.clone(), "{\"model\":\"llama3.2\",\"mess".to_owned()]),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    // Cut before the `"done": true` line.
    let cut: Vec<String> = TEXT_NDJSON.lines().take(3).map(str::to_owned).collect();
    let e = failure(MockResponse::ndjson(cut), true).await;
    assert_eq!(e.kind(), ErrorKind::StreamTruncated, "{e}");
    // Cut in the middle of a line.
    let e = failure(
        MockResponse::raw_body_chunks([format!("{first}\n{{\"model\":\"lla")]),
        true,
    )
    .await;
    assert!(
        matches!(e.kind(), ErrorKind::StreamTruncated | ErrorKind::Decode),
        "{e}"
    );
}

#[tokio::test]
async fn embeddings() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/api/embed",
        MockResponse::json(200, json_of(EMBED_JSON)),
    );
    let client = connect(&server);
    let r = client
        .embed(EmbeddingRequest::new(
            "all-minilm",
            ["Why is the sky blue?", "Why is grass green?"],
        ))
        .await
        .expect("embed succeeds");
    assert_eq!(r.model, "all-minilm");
    assert_eq!(r.provider, "ollama");
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1].index, 1);
    assert_eq!(r.embeddings[0].vector[0], 0.010071029);
    assert_eq!(r.usage.map(|u| u.prompt_tokens), Some(8));
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/api/embed");
    assert_eq!(
        sent.body_json(),
        json!({"model": "all-minilm", "input": ["Why is the sky blue?", "Why is grass green?"]})
    );
}

#[tokio::test]
async fn list_models_and_health() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/api/tags",
        MockResponse::json(200, json_of(TAGS_JSON)),
    );
    let client = connect(&server);
    let models = client.list_models().await.expect("list succeeds");
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["llama3.2:latest", "qwen3:8b"]);
    let health = client.health_check().await;
    assert!(health.healthy, "{:?}", health.error);
    assert_eq!(health.status, Some(200));
    let sent = server.requests();
    assert!(
        sent.iter()
            .all(|r| r.method == "GET" && r.path == "/api/tags")
    );
    server.on(
        "GET",
        "/api/tags",
        MockResponse::json(500, json!({"error": "boom"})),
    );
    assert!(!client.health_check().await.healthy);
}
