//! The Cohere v2 dialect and provider, end to end over HTTP on 127.0.0.1
//! against fixtures in Cohere's documented wire format (`/v2/chat` with typed
//! SSE events, `/v2/embed`, `/v1/models`).

mod common;

use std::time::Duration;

use llm_runtime::dialects::cohere::CohereDialect;
use llm_runtime::providers::Cohere;
use llm_runtime::testing::{MockResponse, MockServer, assert_split_invariant};
use llm_runtime::{
    ChatRequest, ChatResponse, EmbeddingRequest, Error, ErrorKind, FinishReason, Message, Part,
    ProviderClient, StreamEvent, Tool, ToolCall, Usage,
    types::{ResponseFormat, ToolChoice},
};
use serde_json::{Value, json};

use common::KEY;
use common::conformance::{
    assert_crlf_decodes_the_same, assert_errors_map_to_kinds, assert_same_both_ways,
    assert_starts_and_finishes, assert_text_stream, in_pieces, json_of, loopback_client,
    stream_events,
};

const TEXT_JSON: &str = include_str!("../fixtures/cohere/chat_text.json");
const TEXT_SSE: &str = include_str!("../fixtures/cohere/stream_text.sse");
const TOOLS_JSON: &str = include_str!("../fixtures/cohere/chat_tools.json");
const TOOLS_SSE: &str = include_str!("../fixtures/cohere/stream_tools.sse");
const THINKING_JSON: &str = include_str!("../fixtures/cohere/chat_thinking.json");
const THINKING_SSE: &str = include_str!("../fixtures/cohere/stream_thinking.sse");
const BLOCKED_JSON: &str = include_str!("../fixtures/cohere/chat_blocked.json");
const BLOCKED_SSE: &str = include_str!("../fixtures/cohere/stream_blocked.sse");
const EMBED_JSON: &str = include_str!("../fixtures/cohere/embed.json");
const MODELS_JSON: &str = include_str!("../fixtures/cohere/models.json");

const CHAT: &str = "/v2/chat";

fn connect(server: &MockServer) -> ProviderClient<Cohere> {
    loopback_client(server, "")
}

fn request() -> ChatRequest {
    ChatRequest::new("command-a-03-2025")
        .system("Réponds en français.")
        .user("Bonjour")
}

/// The non-streamed answer and the streamed one (served in `size`-byte pieces) are equal.
async fn same_both_ways(json_fixture: &str, sse_fixture: &str, size: usize) -> ChatResponse {
    let streamed = MockResponse::sse(in_pieces(sse_fixture, size));
    assert_same_both_ways(connect, CHAT, json_fixture, streamed, request(), "cohere").await
}

#[tokio::test]
async fn text_non_stream_and_stream() {
    let r = same_both_ways(TEXT_JSON, TEXT_SSE, 9).await;
    assert_eq!(r.text(), "Bonjour ! Voici un résumé — court 🙂.");
    assert_eq!(r.id, "5a50480a-cf52-46f0-af01-53d18539bd31");
    assert_eq!(
        r.model, "command-a-03-2025",
        "Cohere does not echo the model: the request's is reported"
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.usage, Some(Usage::new(12, 14)));
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(26));
    assert_eq!(r.reasoning, None);
}

#[tokio::test]
async fn stream_events_in_order() {
    let server = MockServer::start().await;
    server.on("POST", CHAT, MockResponse::sse([TEXT_SSE]));
    let client = connect(&server);
    let (events, error) = stream_events(&client, request()).await;
    assert!(error.is_none(), "{error:?}");
    let start = StreamEvent::Start {
        id: "5a50480a-cf52-46f0-af01-53d18539bd31".into(),
        model: "command-a-03-2025".into(),
    };
    assert_text_stream(&events, &start, 4, Usage::new(12, 14));
}

#[tokio::test]
async fn two_parallel_tool_calls_split_over_many_chunks() {
    let r = same_both_ways(TOOLS_JSON, TOOLS_SSE, 13).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert!(r.message.content.is_empty());
    assert_eq!(
        r.reasoning.as_deref(),
        Some("I will look up the weather in Madrid and Brasília.")
    );
    let calls = &r.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].id, "get_weather_q8c2ne3k1w7m");
    assert_eq!(calls[1].id, "get_weather_4vx0jz9ah5tb");
    assert_eq!(calls[0].arguments, r#"{"location":"Madrid"}"#);
    assert_eq!(
        calls[1].arguments_json().expect("JSON")["location"],
        "Brasília"
    );
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(65));
}

#[tokio::test]
async fn thinking_and_length_finish() {
    let r = same_both_ways(THINKING_JSON, THINKING_SSE, 5).await;
    assert_eq!(
        r.reasoning.as_deref(),
        Some("The user asks which is larger. Tenths: 9 vs 1.")
    );
    assert_eq!(r.text(), "9.9 is larger than 9.11, since");
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
}

#[tokio::test]
async fn content_blocked_is_content_filter() {
    let r = same_both_ways(BLOCKED_JSON, BLOCKED_SSE, 17).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(r.text(), "I can");
}

#[test]
fn every_stream_fixture_survives_any_split() {
    for fixture in [TEXT_SSE, TOOLS_SSE, THINKING_SSE, BLOCKED_SSE] {
        let events = assert_split_invariant(&CohereDialect, fixture.as_bytes());
        assert_starts_and_finishes(&events, &format!("{events:?}"));
        assert_crlf_decodes_the_same(&CohereDialect, fixture);
    }
}

#[tokio::test]
async fn one_byte_chunks_over_http() {
    same_both_ways(TOOLS_JSON, TOOLS_SSE, 1).await;
}

#[tokio::test]
async fn request_side_mapping() {
    let server = MockServer::start().await;
    server.on("POST", CHAT, MockResponse::json(200, json_of(TEXT_JSON)));
    let client = connect(&server);
    let req = ChatRequest::new("command-a-vision-07-2025")
        .system("You are terse.")
        .user_parts(vec![
            Part::text("What is in these images?"),
            Part::image_url("https://example.com/cat.png"),
            Part::image_base64("image/jpeg", "/9j/4AAQSkZJRg=="),
        ])
        .message(Message::assistant_tool_calls(
            Some("I will look it up.".into()),
            vec![ToolCall::function(
                "lookup_r2d2",
                "lookup",
                r#"{"q":"cat"}"#,
            )],
        ))
        .message(Message::tool_result("lookup_r2d2", "a cat"))
        .tool(Tool::function(
            "lookup",
            "Look something up",
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
        ))
        .tool_choice(ToolChoice::Required)
        .temperature(0.3)
        .top_p(0.75)
        .max_tokens(256)
        .stop("###")
        .seed(42)
        .response_format(ResponseFormat::JsonObject);
    client.chat(req).await.expect("chat succeeds");
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v2/chat");
    assert_eq!(r.query, None);
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.body_json();
    assert_eq!(body["model"], "command-a-vision-07-2025");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": [
            {"type": "text", "text": "What is in these images?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "assistant", "tool_plan": "I will look it up.", "tool_calls": [
            {"id": "lookup_r2d2", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}}
        ]})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "lookup_r2d2", "content": "a cat"})
    );
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "lookup", "description": "Look something up",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}})
    );
    assert_eq!(body["tool_choice"], "REQUIRED");
    assert_eq!(body["temperature"], json!(0.3));
    assert_eq!(body["p"], json!(0.75));
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(body["stop_sequences"], json!(["###"]));
    assert_eq!(body["seed"], 42);
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["stream"], false);
}

#[tokio::test]
async fn default_model_and_unsupported_params() {
    let server = MockServer::start().await;
    server.on("POST", CHAT, MockResponse::json(200, json_of(TEXT_JSON)));
    let client = connect(&server);
    client
        .chat(ChatRequest::new("").user("hi"))
        .await
        .expect("chat succeeds");
    assert_eq!(
        server.requests()[0].body_json()["model"],
        "command-a-03-2025"
    );
    let forced = ChatRequest::new("command-a-03-2025")
        .user("x")
        .tool(Tool::function(
            "lookup",
            "Look something up",
            json!({"type": "object"}),
        ))
        .tool_choice(ToolChoice::Tool("lookup".into()));
    let e = client
        .chat(forced)
        .await
        .expect_err("a named tool choice is refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("tool_choice"), "{e}");
    assert_eq!(server.request_count(), 1);
}

async fn failure(response: MockResponse, stream: bool) -> Error {
    common::conformance::failure(connect, CHAT, response, request(), stream).await
}

fn cohere_error(message: &str) -> Value {
    json!({"id": "2f0d8b7c-4a1e-4b6f-9c3d-1e5a7b9c0d2f", "message": message})
}

#[tokio::test]
async fn errors_map_to_kinds() {
    let cases: Vec<(MockResponse, ErrorKind, &str)> = vec![
        (
            MockResponse::json(401, cohere_error("invalid api token")),
            ErrorKind::Authentication,
            "invalid api token",
        ),
        (
            MockResponse::json(498, cohere_error("invalid api token")),
            ErrorKind::Authentication,
            "invalid api token",
        ),
        (
            MockResponse::json(403, cohere_error("You do not have access to this model.")),
            ErrorKind::PermissionDenied,
            "access",
        ),
        (
            MockResponse::json(
                404,
                cohere_error(
                    "model 'command-x' not found, make sure the correct model ID was used and that you have access to the model.",
                ),
            ),
            ErrorKind::NotFound,
            "command-x",
        ),
        (
            MockResponse::json(
                400,
                cohere_error(
                    "too many tokens: total number of tokens in the prompt cannot exceed 256000 - received 301442. Try using a shorter prompt",
                ),
            ),
            ErrorKind::ContextWindowExceeded,
            "too many tokens",
        ),
        (
            MockResponse::json(
                400,
                cohere_error(
                    "invalid request: message must be at least 1 token long or tool results must be specified.",
                ),
            ),
            ErrorKind::InvalidRequest,
            "invalid request",
        ),
        (
            MockResponse::json(
                429,
                cohere_error(
                    "You are using a Trial key, which is limited to 20 API calls / minute.",
                ),
            )
            .header("retry-after", "4"),
            ErrorKind::RateLimited,
            "Trial key",
        ),
        (
            MockResponse::json(
                500,
                cohere_error("internal server error, this has been reported to our developers"),
            ),
            ErrorKind::ServerError,
            "internal server error",
        ),
        (
            MockResponse::json(503, cohere_error("service unavailable")),
            ErrorKind::Overloaded,
            "service unavailable",
        ),
        (
            MockResponse::text(
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            ErrorKind::ServerError,
            "HTML",
        ),
        (
            MockResponse::text(
                200,
                "application/json",
                "{\"id\":\"x\",\"message\":{\"role\":\"assistant\",\"content\":[",
            ),
            ErrorKind::Decode,
            "not JSON",
        ),
    ];
    assert_errors_map_to_kinds(connect, CHAT, request, "cohere", cases).await;
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let e = failure(
        MockResponse::json(429, cohere_error("Too many requests")).header("retry-after", "4"),
        false,
    )
    .await;
    assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));
    assert_eq!(e.status(), Some(429));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn stream_errors() {
    let e = failure(
        MockResponse::json(401, cohere_error("invalid api token")),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Authentication);
    // Cut before `message-end`.
    let cut = TEXT_SSE
        .split("event: message-end")
        .next()
        .expect("fixture has message-end");
    let e = failure(MockResponse::sse([cut.to_owned()]), true).await;
    assert_eq!(e.kind(), ErrorKind::StreamTruncated, "{e}");
    // An event whose data is not JSON.
    let start = TEXT_SSE
        .split("event: content-start")
        .next()
        .expect("fixture has content-start");
    let e = failure(
        MockResponse::sse([format!(
            "{start}event: content-delta\ndata: {{\"type\":\"content-de\n\n"
        )]),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::Decode, "{e}");
    // `message-end` reporting an error.
    let e = failure(
        MockResponse::sse([format!(
            "{start}event: message-end\ndata: {{\"type\":\"message-end\",\"delta\":{{\"finish_reason\":\"ERROR\",\"error\":\"generation failed\"}}}}\n\n"
        )]),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::ServerError, "{e}");
    assert!(e.message().contains("generation failed"), "{e}");
}

#[tokio::test]
async fn embeddings() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v2/embed",
        MockResponse::json(200, json_of(EMBED_JSON)),
    );
    let client = connect(&server);
    let r = client
        .embed(EmbeddingRequest::new("embed-v4.0", ["hello", "goodbye"]))
        .await
        .expect("embed succeeds");
    assert_eq!(r.model, "embed-v4.0");
    assert_eq!(r.provider, "cohere");
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1].index, 1);
    assert_eq!(r.embeddings[0].vector[0], 0.016296387);
    assert_eq!(r.usage.map(|u| u.prompt_tokens), Some(2));
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v2/embed");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        sent.body_json(),
        json!({"model": "embed-v4.0", "texts": ["hello", "goodbye"], "input_type": "search_document", "embedding_types": ["float"]})
    );
}

#[tokio::test]
async fn list_models_and_health() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/v1/models",
        MockResponse::json(200, json_of(MODELS_JSON)),
    );
    let client = connect(&server);
    let models = client.list_models().await.expect("list succeeds");
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["command-a-03-2025", "embed-v4.0"]);
    let sent = &server.requests()[0];
    assert_eq!(sent.query_param("page_size"), Some("1000"));
    let health = client.health_check().await;
    assert!(health.healthy, "{:?}", health.error);
    server.on(
        "GET",
        "/v1/models",
        MockResponse::json(401, cohere_error("invalid api token")),
    );
    let health = client.health_check().await;
    assert!(!health.healthy);
    assert_eq!(
        health.error.map(|e| e.kind()),
        Some(ErrorKind::Authentication)
    );
}
