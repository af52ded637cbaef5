//! Anthropic (Messages API) end to end over real HTTP on 127.0.0.1, against
//! fixtures written in the documented wire format (`tests/fixtures/anthropic`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use llm_runtime::dialects::anthropic::AnthropicDialect;
use llm_runtime::providers::Anthropic;
use llm_runtime::testing::{Fault, MockResponse, RecordedRequest};
use llm_runtime::{
    ChatRequest, Error, ErrorKind, FinishReason, Message, Part, StreamEvent, Tool, ToolCall, Usage,
    types::ToolChoice,
};
use serde_json::json;

use common::KEY;
use common::conformance::{Suite, stream_events};

const PATH: &str = "/v1/messages";

const SUITE: Suite<Anthropic> = Suite::new("anthropic", "/v1", PATH, PATH);

fn hello() -> ChatRequest {
    ChatRequest::new("claude-sonnet-4-5")
        .system("Answer in French.")
        .user("Say hello.")
}

fn assert_request_head(sent: &RecordedRequest) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, PATH);
    assert_eq!(sent.query, None);
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

// ---- text ----

#[tokio::test]
async fn text_non_stream() {
    let (r, sent) = SUITE.chat("text.json", hello()).await;
    assert_request_head(&sent);
    assert_eq!(
        sent.body_json(),
        json!({
            "model": "claude-sonnet-4-5",
            "system": "Answer in French.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}],
            "max_tokens": 4096,
        })
    );
    assert_eq!(r.id, "msg_01Txt7Fixture4Anthropic01");
    assert_eq!(r.model, "claude-sonnet-4-5-20250929");
    assert_eq!(r.provider, "anthropic");
    assert_eq!(
        r.text(),
        "Bonjour ! Voilà une réponse courte — avec un emoji 🌍."
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let mut usage = Usage::new(21, 17);
    usage.cached_tokens = Some(0);
    assert_eq!(r.usage, Some(usage));
    assert!(r.message.tool_calls.is_empty());
    assert_eq!(r.reasoning, None);
}

#[tokio::test]
async fn text_stream() {
    let (events, error, sent) = SUITE.stream("text.sse", hello().max_tokens(64)).await;
    assert!(error.is_none(), "{error:?}");
    assert_request_head(&sent);
    let body = sent.body_json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 64);
    let mut usage = Usage::new(21, 17);
    usage.cached_tokens = Some(0);
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "msg_01Txt7Fixture4Anthropic01".into(),
                model: "claude-sonnet-4-5-20250929".into()
            },
            StreamEvent::TextDelta {
                text: "Bonjour ! ".into()
            },
            StreamEvent::TextDelta {
                text: "Voilà une réponse ".into()
            },
            StreamEvent::TextDelta {
                text: "courte — ".into()
            },
            StreamEvent::TextDelta {
                text: "avec un emoji 🌍.".into()
            },
            StreamEvent::Usage { usage },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
}

// ---- tools, tool results, images ----

fn forecast_tool() -> Tool {
    Tool::function(
        "get_forecast",
        "Weather forecast for a city",
        json!({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}}, "required": ["location"]}),
    )
}

fn tool_conversation() -> ChatRequest {
    ChatRequest::new("claude-sonnet-4-5")
        .system("You are a weather bot.")
        .user_parts(vec![
            Part::text("Where is this? And the weather in Paris?"),
            Part::image_base64("image/png", "iVBORw0KGgoAAAANSUhEUg=="),
            Part::image_url("https://example.com/photos/skyline.jpg"),
        ])
        .message(Message::assistant_tool_calls(
            Some("Looking it up.".into()),
            vec![ToolCall::function(
                "toolu_00Prev",
                "get_forecast",
                r#"{"location":"Paris"}"#,
            )],
        ))
        .message(Message::tool_result("toolu_00Prev", "18°C, sunny"))
        .user("Also Tokyo, please.")
        .tool(forecast_tool())
        .tool_choice(ToolChoice::Auto)
}

#[tokio::test]
async fn tool_calls_non_stream_and_request_mapping() {
    let (r, sent) = SUITE.chat("tools.json", tool_conversation()).await;
    assert_request_head(&sent);
    let body = sent.body_json();
    assert_eq!(body["system"], "You are a weather bot.");
    assert_eq!(
        body["tools"],
        json!([{"name": "get_forecast", "description": "Weather forecast for a city", "input_schema": forecast_tool().parameters}])
    );
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [
                {"type": "text", "text": "Where is this? And the weather in Paris?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/photos/skyline.jpg"}},
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Looking it up."},
                {"type": "tool_use", "id": "toolu_00Prev", "name": "get_forecast", "input": {"location": "Paris"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_00Prev", "content": "18°C, sunny"},
                {"type": "text", "text": "Also Tokyo, please."},
            ]},
        ])
    );
    assert_eq!(r.text(), "I'll check both cities.");
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let calls = &r.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("toolu_01Paris", "get_forecast")
    );
    assert_eq!(
        calls[0].arguments_json().unwrap(),
        json!({"location": "Paris, France", "unit": "celsius", "days": 3})
    );
    assert_eq!(
        (calls[1].id.as_str(), calls[1].name.as_str()),
        ("toolu_02Tokyo", "get_forecast")
    );
    assert_eq!(
        calls[1].arguments_json().unwrap(),
        json!({"location": "Tōkyō", "unit": "celsius", "days": 1})
    );
    let mut usage = Usage::new(310 + 1024, 96);
    usage.cached_tokens = Some(1024);
    assert_eq!(r.usage, Some(usage));
}

#[tokio::test]
async fn tool_calls_stream() {
    let (events, error, sent) = SUITE.stream("tools.sse", tool_conversation()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(sent.body_json()["stream"], true);
    let starts: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .collect();
    assert_eq!(
        starts,
        [
            &StreamEvent::ToolCallStart {
                index: 0,
                id: "toolu_01Paris".into(),
                name: "get_forecast".into()
            },
            &StreamEvent::ToolCallStart {
                index: 1,
                id: "toolu_02Tokyo".into(),
                name: "get_forecast".into()
            },
        ]
    );
    // Each call's Start comes before its arguments.
    for index in [0, 1] {
        let start = events
            .iter()
            .position(|e| matches!(e, StreamEvent::ToolCallStart { index: i, .. } if *i == index));
        let delta = events
            .iter()
            .position(|e| matches!(e, StreamEvent::ToolCallDelta { index: i, .. } if *i == index));
        assert!(start < delta, "call {index}");
    }
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    ));
}

// ---- thinking ----

#[tokio::test]
async fn thinking_request_response_and_stream() {
    let request = ChatRequest::new("claude-sonnet-4-5")
        .user("17 × 23?")
        .reasoning_budget(2048);
    let (r, sent) = SUITE.chat("thinking.json", request.clone()).await;
    let body = sent.body_json();
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 2048 + 4096);
    assert_eq!(
        r.reasoning.as_deref(),
        Some("The user asks for 17 × 23. 17 × 20 = 340, 17 × 3 = 51, so 391.")
    );
    assert_eq!(r.text(), "17 × 23 = 391.");

    let (events, error, _) = SUITE.stream("thinking.sse", request).await;
    assert!(error.is_none(), "{error:?}");
    let reasoning: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasoning,
        [
            "The user asks for 17 × 23. ",
            "17 × 20 = 340, 17 × 3 = 51, ",
            "so 391."
        ]
    );
}

// ---- finish reasons, and streamed == non-streamed ----

#[tokio::test]
async fn finish_reasons_and_collected_streams_equal_non_streamed() {
    for (name, reason) in [
        ("text", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tools", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("thinking", FinishReason::Stop),
    ] {
        let whole = SUITE.same_both_ways(name, tool_conversation()).await;
        assert_eq!(whole.finish_reason, Some(reason), "{name}");
    }
}

#[tokio::test]
async fn refusal_has_no_text() {
    let (r, _) = SUITE.chat("refusal.json", hello()).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter));
    assert!(r.message.content.is_empty());
}

// ---- byte splits ----

const STREAMS: [&str; 5] = [
    "text.sse",
    "tools.sse",
    "thinking.sse",
    "length.sse",
    "refusal.sse",
];

#[test]
fn every_stream_fixture_decodes_the_same_split_at_every_byte() {
    SUITE.assert_fixtures_decode_however_split(&AnthropicDialect, &ctx(), &STREAMS);
}

fn ctx() -> llm_runtime::provider::RequestContext<'static> {
    static SPEC: llm_runtime::spec::ProviderSpec = <Anthropic as llm_runtime::Provider>::SPEC;
    llm_runtime::provider::RequestContext::new(&SPEC, "claude-sonnet-4-5", false)
}

#[tokio::test]
async fn every_stream_fixture_gives_the_same_events_over_http_however_split() {
    SUITE
        .assert_same_events_over_http_however_split(&STREAMS, hello)
        .await;
}

// ---- errors ----

async fn error_of(response: MockResponse) -> (Error, Error) {
    SUITE.errors_of(response, &hello()).await
}

#[tokio::test]
async fn http_errors_map_to_their_kinds() {
    for (status, name, kind, words) in [
        (
            401,
            "error_401.json",
            ErrorKind::Authentication,
            "invalid x-api-key",
        ),
        (
            403,
            "error_403.json",
            ErrorKind::PermissionDenied,
            "permission",
        ),
        (
            404,
            "error_404.json",
            ErrorKind::NotFound,
            "claude-nonexistent-1",
        ),
        (
            400,
            "error_400_context.json",
            ErrorKind::ContextWindowExceeded,
            "prompt is too long",
        ),
        (429, "error_429.json", ErrorKind::RateLimited, "rate limit"),
        (
            500,
            "error_500.json",
            ErrorKind::ServerError,
            "Internal server error",
        ),
        (503, "error_503.json", ErrorKind::Overloaded, "unavailable"),
        (529, "error_529.json", ErrorKind::Overloaded, "Overloaded"),
    ] {
        let response = MockResponse::json(status, SUITE.fixture_json(name))
            .header("request-id", "req_011CUxFixture");
        let (plain, streamed) = error_of(response).await;
        for e in [&plain, &streamed] {
            assert_eq!(e.kind(), kind, "{status}: {e}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.provider(), Some("anthropic"));
            assert_eq!(e.request_id(), Some("req_011CUxFixture"));
            assert!(e.to_string().contains(words), "{status}: {e}");
            assert!(!e.to_string().contains(KEY));
        }
    }
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let response =
        MockResponse::json(429, SUITE.fixture_json("error_429.json")).header("retry-after", "7");
    let (plain, streamed) = error_of(response).await;
    for e in [plain, streamed] {
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.code(), Some("rate_limit_error"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
    }
}

#[tokio::test]
async fn overloaded_529_is_retryable() {
    let (e, _) = error_of(MockResponse::json(
        529,
        SUITE.fixture_json("error_529.json"),
    ))
    .await;
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.code(), Some("overloaded_error"));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn html_502_reads_well() {
    let (e, streamed) = error_of(MockResponse::text(
        502,
        "text/html",
        SUITE.fixture("error_502.html"),
    ))
    .await;
    for e in [e, streamed] {
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert_eq!(e.status(), Some(502));
        assert!(e.message().contains("HTML"), "{e}");
    }
}

#[tokio::test]
async fn malformed_200_is_a_decode_error() {
    let (server, client) = SUITE.setup().await;
    server.on(
        "POST",
        PATH,
        MockResponse::text(
            200,
            "application/json",
            r#"{"id":"msg_01","content":[{"type":"text","#,
        ),
    );
    let e = client.chat(hello()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("Anthropic"), "{e}");

    let body = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del\n\n";
    server.on("POST", PATH, MockResponse::sse([body]));
    let (events, error) = stream_events(&client, hello()).await;
    assert_eq!(events.len(), 1);
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("content_block_delta"), "{e}");
}

#[tokio::test]
async fn mid_stream_error_event_is_an_error() {
    let (events, error, _) = SUITE.stream("error_midstream.sse", hello()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        events[1],
        StreamEvent::TextDelta {
            text: "Partial".into()
        }
    );
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.code(), Some("overloaded_error"));
    assert_eq!(e.provider(), Some("anthropic"));
    assert!(e.message().contains("Overloaded"), "{e}");
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_is_truncated() {
    let body = SUITE.fixture("text.sse");
    let cut = body.find("event: message_stop").unwrap();
    let (events, error, _) = SUITE
        .stream_chunks(vec![body.as_bytes()[..cut].to_vec()], hello())
        .await;
    assert!(matches!(events.last(), Some(StreamEvent::Finish { .. })));
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::StreamTruncated);
    assert!(e.message().contains("terminator"), "{e}");
}

#[tokio::test]
async fn a_connection_reset_mid_stream_is_truncated() {
    let body = SUITE.fixture("text.sse");
    let (server, client) = SUITE.setup().await;
    let chunks: Vec<String> = body.split_inclusive("\n\n").map(str::to_owned).collect();
    server.on(
        "POST",
        PATH,
        MockResponse::sse(chunks).with_fault(Fault::ResetAfterChunks(3)),
    );
    let (events, error) = stream_events(&client, hello()).await;
    assert!(events.len() <= 3);
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::StreamTruncated, "{e:?}");
}

// ---- models ----

#[tokio::test]
async fn list_models() {
    let (server, client) = SUITE.setup().await;
    server.on(
        "GET",
        "/v1/models",
        MockResponse::json(200, SUITE.fixture_json("models.json")),
    );
    let models = client.list_models().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.query_param("limit"), Some("1000"));
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
}
