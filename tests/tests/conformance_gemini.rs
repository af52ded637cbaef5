//! Gemini (generateContent / streamGenerateContent?alt=sse) end to end over
//! real HTTP on 127.0.0.1, against fixtures written in the documented wire
//! format (`tests/fixtures/gemini`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use llm_runtime::dialects::gemini::GeminiDialect;
use llm_runtime::providers::Gemini;
use llm_runtime::testing::{MockResponse, RecordedRequest};
use llm_runtime::{
    ChatRequest, EmbeddingRequest, Error, ErrorKind, FinishReason, Message, Part, StreamEvent,
    Tool, ToolCall, Usage,
    types::{ResponseFormat, ToolChoice},
};
use serde_json::json;

use common::KEY;
use common::conformance::{Suite, stream_events};

const CHAT: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

const SUITE: Suite<Gemini> = Suite::new("gemini", "/v1beta", CHAT, STREAM);

fn hello() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash")
        .system("Answer in French.")
        .user("Say hello.")
}

fn assert_request_head(sent: &RecordedRequest, path: &str) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, path);
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.query_param("key"),
        None,
        "the key goes in a header, never the URL"
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

// ---- text ----

#[tokio::test]
async fn text_non_stream() {
    let (r, sent) = SUITE
        .chat(
            "text.json",
            hello()
                .temperature(0.5)
                .max_tokens(200)
                .stop("###")
                .seed(42),
        )
        .await;
    assert_request_head(&sent, CHAT);
    assert_eq!(sent.query, None);
    assert_eq!(
        sent.body_json(),
        json!({
            "systemInstruction": {"parts": [{"text": "Answer in French."}]},
            "contents": [{"role": "user", "parts": [{"text": "Say hello."}]}],
            "generationConfig": {"temperature": 0.5, "maxOutputTokens": 200, "stopSequences": ["###"], "seed": 42},
        })
    );
    assert_eq!(r.id, "kX8eaPnGH4qOz7IPq5bR-Qc");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert_eq!(r.provider, "gemini");
    assert_eq!(
        r.text(),
        "Bonjour ! Voilà une réponse courte — avec un emoji 🌍."
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.usage, Some(Usage::new(9, 14)));
    assert_eq!(r.reasoning, None);
}

#[tokio::test]
async fn text_stream() {
    let (events, error, sent) = SUITE.stream("text.sse", hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_request_head(&sent, STREAM);
    assert_eq!(sent.query_param("alt"), Some("sse"));
    assert_eq!(
        sent.body_json()["contents"][0]["parts"][0]["text"],
        "Say hello."
    );
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "kX8eaPnGH4qOz7IPq5bR-Qc".into(),
                model: "gemini-2.5-flash".into()
            },
            StreamEvent::TextDelta {
                text: "Bonjour ! ".into()
            },
            StreamEvent::TextDelta {
                text: "Voilà une réponse ".into()
            },
            StreamEvent::TextDelta {
                text: "courte — avec un emoji 🌍.".into()
            },
            StreamEvent::Usage {
                usage: Usage::new(9, 14)
            },
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
        json!({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}}, "required": ["location"], "additionalProperties": false}),
    )
}

fn tool_conversation() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash")
        .system("You are a weather bot.")
        .user_parts(vec![
            Part::text("Where is this? And the weather in Paris?"),
            Part::image_base64("image/png", "iVBORw0KGgoAAAANSUhEUg=="),
            Part::image_url("https://example.com/photos/skyline.jpg"),
        ])
        .message(Message::assistant_tool_calls(
            None,
            vec![
                ToolCall::function("call_0", "get_forecast", r#"{"location":"Paris"}"#),
                ToolCall::function("call_1", "local_time", "{}"),
            ],
        ))
        .message(Message::tool_result(
            "call_0",
            r#"{"temperature": 18, "sky": "sunny"}"#,
        ))
        .message(Message::tool_result("call_1", "14:05"))
        .user("Also Tokyo, please.")
        .tool(forecast_tool())
        .tool_choice(ToolChoice::Required)
}

#[tokio::test]
async fn tool_calls_non_stream_and_request_mapping() {
    let (r, sent) = SUITE.chat("tools.json", tool_conversation()).await;
    assert_request_head(&sent, CHAT);
    let body = sent.body_json();
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "You are a weather bot."}]})
    );
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{"name": "get_forecast", "description": "Weather forecast for a city", "parametersJsonSchema": forecast_tool().parameters}]}])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [
                {"text": "Where is this? And the weather in Paris?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photos/skyline.jpg"}},
            ]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_forecast", "args": {"location": "Paris"}}},
                {"functionCall": {"name": "local_time", "args": {}}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_forecast", "response": {"temperature": 18, "sky": "sunny"}}},
                {"functionResponse": {"name": "local_time", "response": {"result": "14:05"}}},
                {"text": "Also Tokyo, please."},
            ]},
        ])
    );
    assert_eq!(r.text(), "I'll check both cities.");
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let calls = &r.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_0", "get_forecast")
    );
    assert_eq!(
        calls[0].arguments_json().unwrap(),
        json!({"location": "Paris, France", "unit": "celsius", "days": 3})
    );
    assert_eq!(
        (calls[1].id.as_str(), calls[1].name.as_str()),
        ("call_1", "get_forecast")
    );
    assert_eq!(
        calls[1].arguments_json().unwrap(),
        json!({"location": "Tōkyō", "unit": "celsius", "days": 1})
    );
    let mut usage = Usage::new(1334, 52);
    usage.cached_tokens = Some(1024);
    assert_eq!(r.usage, Some(usage));
}

#[tokio::test]
async fn tool_calls_stream() {
    let (events, error, _) = SUITE.stream("tools.sse", tool_conversation()).await;
    assert!(error.is_none(), "{error:?}");
    let starts: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .collect();
    assert_eq!(
        starts,
        [
            &StreamEvent::ToolCallStart {
                index: 0,
                id: "call_0".into(),
                name: "get_forecast".into()
            },
            &StreamEvent::ToolCallStart {
                index: 1,
                id: "call_1".into(),
                name: "get_forecast".into()
            },
        ]
    );
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    ));
}

// ---- thinking, json mode ----

#[tokio::test]
async fn thinking_request_response_and_stream() {
    let request = ChatRequest::new("gemini-2.5-flash")
        .user("17 × 23?")
        .reasoning_budget(1024);
    let (r, sent) = SUITE.chat("thinking.json", request.clone()).await;
    assert_eq!(
        sent.body_json()["generationConfig"],
        json!({"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": true}})
    );
    assert_eq!(
        r.reasoning.as_deref(),
        Some("**Computing the product**\n\n17 × 20 = 340 and 17 × 3 = 51, so 391.")
    );
    assert_eq!(r.text(), "17 × 23 = 391.");
    let mut usage = Usage::new(12, 170);
    usage.reasoning_tokens = Some(162);
    assert_eq!(r.usage, Some(usage));

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
            "**Computing the product**\n\n",
            "17 × 20 = 340 and 17 × 3 = 51, so 391."
        ]
    );
}

#[tokio::test]
async fn json_schema_response_format() {
    let schema = json!({"type": "object", "properties": {"greeting": {"type": "string"}}, "required": ["greeting"]});
    let request = hello().response_format(ResponseFormat::JsonSchema {
        name: "g".into(),
        schema: schema.clone(),
        strict: true,
    });
    let (_, sent) = SUITE.chat("text.json", request).await;
    assert_eq!(
        sent.body_json()["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
    );
}

// ---- finish reasons, and streamed == non-streamed ----

#[tokio::test]
async fn finish_reasons_and_collected_streams_equal_non_streamed() {
    for (name, reason) in [
        ("text", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("tools", FinishReason::ToolCalls),
        ("safety", FinishReason::ContentFilter),
        ("blocked", FinishReason::ContentFilter),
        ("thinking", FinishReason::Stop),
    ] {
        let whole = SUITE.same_both_ways(name, hello()).await;
        assert_eq!(whole.finish_reason, Some(reason), "{name}");
    }
}

#[tokio::test]
async fn content_filtered_answers_are_empty() {
    for name in ["safety.json", "blocked.json"] {
        let (r, _) = SUITE.chat(name, hello()).await;
        assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter), "{name}");
        assert!(
            r.message.content.is_empty() && r.message.tool_calls.is_empty(),
            "{name}"
        );
    }
}

// ---- byte splits ----

const STREAMS: [&str; 6] = [
    "text.sse",
    "tools.sse",
    "thinking.sse",
    "length.sse",
    "safety.sse",
    "blocked.sse",
];

fn ctx() -> llm_runtime::provider::RequestContext<'static> {
    static SPEC: llm_runtime::spec::ProviderSpec = <Gemini as llm_runtime::Provider>::SPEC;
    llm_runtime::provider::RequestContext::new(&SPEC, "gemini-2.5-flash", false)
}

#[test]
fn every_stream_fixture_decodes_the_same_split_at_every_byte() {
    SUITE.assert_fixtures_decode_however_split(&GeminiDialect, &ctx(), &STREAMS);
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
    for (status, name, kind, code, words) in [
        (
            400,
            "error_400_key.json",
            ErrorKind::Authentication,
            "INVALID_ARGUMENT",
            "API key not valid",
        ),
        (
            401,
            "error_401.json",
            ErrorKind::Authentication,
            "UNAUTHENTICATED",
            "authentication credentials",
        ),
        (
            403,
            "error_403.json",
            ErrorKind::PermissionDenied,
            "PERMISSION_DENIED",
            "disabled",
        ),
        (
            404,
            "error_404.json",
            ErrorKind::NotFound,
            "NOT_FOUND",
            "gemini-nonexistent",
        ),
        (
            400,
            "error_400_context.json",
            ErrorKind::ContextWindowExceeded,
            "INVALID_ARGUMENT",
            "input token count",
        ),
        (
            429,
            "error_429.json",
            ErrorKind::RateLimited,
            "RESOURCE_EXHAUSTED",
            "quota",
        ),
        (
            500,
            "error_500.json",
            ErrorKind::ServerError,
            "INTERNAL",
            "internal error",
        ),
        (
            503,
            "error_503.json",
            ErrorKind::Overloaded,
            "UNAVAILABLE",
            "overloaded",
        ),
    ] {
        let (plain, streamed) =
            error_of(MockResponse::json(status, SUITE.fixture_json(name))).await;
        for e in [&plain, &streamed] {
            assert_eq!(e.kind(), kind, "{name}: {e}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.code(), Some(code));
            assert_eq!(e.provider(), Some("gemini"));
            assert!(e.to_string().contains(words), "{name}: {e}");
            assert!(!e.to_string().contains(KEY));
        }
    }
}

#[tokio::test]
async fn resource_exhausted_carries_retry_after() {
    // From the Retry-After header when there is one...
    let with_header =
        MockResponse::json(429, SUITE.fixture_json("error_429.json")).header("retry-after", "7");
    let (plain, streamed) = error_of(with_header).await;
    for e in [plain, streamed] {
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
    }
    // ...else from the google.rpc.RetryInfo detail of the body.
    let (plain, _) = error_of(MockResponse::json(
        429,
        SUITE.fixture_json("error_429.json"),
    ))
    .await;
    assert_eq!(plain.retry_after(), Some(Duration::from_secs(23)));
}

#[tokio::test]
async fn html_502_reads_well() {
    let (e, streamed) = error_of(MockResponse::text(
        502,
        "text/html; charset=UTF-8",
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
        CHAT,
        MockResponse::text(
            200,
            "application/json",
            r#"{"candidates":[{"content":{"parts":[{"text":"#,
        ),
    );
    let e = client.chat(hello()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("Gemini"), "{e}");

    let good = SUITE.fixture("text.sse");
    let first = good.split_inclusive("\r\n\r\n").next().unwrap().to_owned();
    server.on(
        "POST",
        STREAM,
        MockResponse::sse([
            first,
            "data: {\"candidates\":[{\"content\":\r\n\r\n".to_owned(),
        ]),
    );
    let (events, error) = stream_events(&client, hello()).await;
    assert_eq!(events.len(), 2);
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("Gemini"), "{e}");
}

#[tokio::test]
async fn mid_stream_error_is_an_error() {
    let (events, error, _) = SUITE.stream("error_midstream.sse", hello()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(e.code(), Some("UNAVAILABLE"));
    assert!(e.message().contains("overloaded"), "{e}");
}

#[tokio::test]
async fn a_stream_ending_before_its_finish_reason_is_truncated() {
    let body = SUITE.fixture("text.sse");
    let cut = body.rfind("data: ").unwrap();
    let (events, error, _) = SUITE
        .stream_chunks(vec![body.as_bytes()[..cut].to_vec()], hello())
        .await;
    assert_eq!(events.len(), 3, "{events:?}");
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::StreamTruncated);
    assert!(e.message().contains("finishReason"), "{e}");
}

// ---- models, embeddings ----

#[tokio::test]
async fn list_models() {
    let (server, client) = SUITE.setup().await;
    server.on(
        "GET",
        "/v1beta/models",
        MockResponse::json(200, SUITE.fixture_json("models.json")),
    );
    let models = client.list_models().await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gemini-2.5-flash", "gemini-embedding-001"]);
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.query_param("pageSize"), Some("1000"));
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
}

#[tokio::test]
async fn embeddings() {
    let (server, client) = SUITE.setup().await;
    let path = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
    server.on(
        "POST",
        path,
        MockResponse::json(200, SUITE.fixture_json("embeddings.json")),
    );
    let r = client
        .embed(EmbeddingRequest::new("gemini-embedding-001", ["bonjour", "hello"]).dimensions(4))
        .await
        .unwrap();
    assert_eq!(r.provider, "gemini");
    assert_eq!(r.model, "gemini-embedding-001");
    assert_eq!(r.embeddings.len(), 2);
    assert_eq!(r.embeddings[1].index, 1);
    assert_eq!(r.embeddings[0].vector, [0.0123, -0.0456, 0.0789, 0.1011]);
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-goog-api-key"), Some(KEY));
    assert_eq!(
        sent.body_json(),
        json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "bonjour"}]}, "outputDimensionality": 4},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 4},
        ]})
    );
}
