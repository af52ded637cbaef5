//! Bedrock (Converse) end to end over real HTTP on 127.0.0.1, against
//! fixtures written in the wire format of AWS's API reference
//! (`tests/fixtures/bedrock`), streams framed as AWS event stream messages.
#![allow(clippy::unwrap_used)]

mod common;

use llm_runtime::providers::Bedrock;
use llm_runtime::stream::encode_event_message;
use llm_runtime::testing::{MockResponse, MockServer, RecordedRequest};
use llm_runtime::{
    ChatRequest, ErrorKind, FinishReason, Message, ProviderClient, StreamEvent, Tool, ToolCall,
    Usage,
    types::{ReasoningBlock, ToolChoice},
};
use serde_json::{Value, json};

use common::KEY;
use common::conformance::{
    assert_streamed_equals_whole, fixture, fixture_json, loopback_config, random_split,
    stream_events,
};

const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CHAT: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
const STREAM: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream";

fn connect(server: &MockServer) -> ProviderClient<Bedrock> {
    loopback_config::<Bedrock>(server, "")
        .url_var("region", "us-east-1")
        .api_key(KEY)
        .connect()
        .expect("a loopback config is valid")
}

fn hello() -> ChatRequest {
    ChatRequest::new(MODEL)
        .system("Answer in French.")
        .user("Say hello.")
}

fn weather() -> ChatRequest {
    ChatRequest::new(MODEL)
        .user("What is the most popular song on WZPZ?")
        .tool(Tool::function(
            "top_song",
            "Get the most popular song played on a radio station.",
            json!({"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}),
        ))
        .tool_choice(ToolChoice::Auto)
}

/// The events fixture `name` framed as AWS event stream messages, one message per item.
fn frames(name: &str) -> Vec<Vec<u8>> {
    let items: Vec<Value> = serde_json::from_str(&fixture("bedrock", name)).expect("JSON");
    items.iter().map(message).collect()
}

fn message(item: &Value) -> Vec<u8> {
    let payload = item["payload"].to_string();
    match (item["event"].as_str(), item["exception"].as_str()) {
        (Some(event), _) => encode_event_message(
            &[
                (":message-type", "event"),
                (":event-type", event),
                (":content-type", "application/json"),
            ],
            payload.as_bytes(),
        ),
        (_, Some(exception)) => encode_event_message(
            &[
                (":message-type", "exception"),
                (":exception-type", exception),
                (":content-type", "application/json"),
            ],
            payload.as_bytes(),
        ),
        _ => panic!("an item is an event or an exception: {item}"),
    }
}

fn eventstream(chunks: Vec<Vec<u8>>) -> MockResponse {
    MockResponse::raw_body_chunks(chunks)
        .header("content-type", "application/vnd.amazon.eventstream")
        .header("x-amzn-requestid", "6f8f6d36-0000-4a4c-9a7e-stream")
}

fn whole(name: &str) -> MockResponse {
    MockResponse::json(200, fixture_json("bedrock", name))
        .header("x-amzn-requestid", "6f8f6d36-0000-4a4c-9a7e-whole")
}

fn assert_request_head(sent: &RecordedRequest, path: &str) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, path);
    assert_eq!(sent.query, None);
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

/// Every fixture: the non-streamed answer and the collected stream are equal.
async fn both_ways(json: &str, events: &str, request: ChatRequest) -> llm_runtime::ChatResponse {
    let server = MockServer::start().await;
    let client = connect(&server);
    let answer = assert_streamed_equals_whole(
        &server,
        &client,
        (CHAT, whole(json)),
        (STREAM, eventstream(frames(events))),
        request,
        json,
    )
    .await;
    let sent = server.requests();
    assert_request_head(&sent[0], CHAT);
    assert_request_head(&sent[1], STREAM);
    assert_eq!(
        sent[0].body_json(),
        sent[1].body_json(),
        "one body both ways"
    );
    answer
}

#[tokio::test]
async fn text_whole_and_streamed() {
    let r = both_ways("text.json", "text.events.json", hello()).await;
    assert_eq!(r.text(), "Bonjour ! Comment puis-je vous aider ?");
    assert_eq!(r.provider, "bedrock");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(r.usage, Some(Usage::new(17, 12)));
    assert_eq!(
        r.meta.request_id.as_deref(),
        Some("6f8f6d36-0000-4a4c-9a7e-whole")
    );
}

#[tokio::test]
async fn text_request_body() {
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT, whole("text.json"));
    client
        .chat(hello().temperature(0.5).max_tokens(300).stop("###"))
        .await
        .expect("chat");
    let sent = server.requests().remove(0);
    assert_eq!(
        sent.body_json(),
        json!({
            "system": [{"text": "Answer in French."}],
            "messages": [{"role": "user", "content": [{"text": "Say hello."}]}],
            "inferenceConfig": {"maxTokens": 300, "temperature": 0.5, "stopSequences": ["###"]},
        })
    );
}

#[tokio::test]
async fn streamed_text_events() {
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", STREAM, eventstream(frames("text.events.json")));
    let stream = client.chat_stream(hello()).await.expect("opens");
    assert_eq!(
        stream.meta().request_id.as_deref(),
        Some("6f8f6d36-0000-4a4c-9a7e-stream")
    );
    let (events, error) = common::drain(stream).await;
    assert!(error.is_none(), "{error:?}");
    let texts: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["Bonjour ! ", "Comment puis-je ", "vous aider ?"]);
    assert!(matches!(events[0], StreamEvent::Start { .. }));
    assert_eq!(
        events[events.len() - 2..],
        [
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
            StreamEvent::Usage {
                usage: Usage::new(17, 12)
            },
        ]
    );
}

#[tokio::test]
async fn tool_use_whole_and_streamed_and_sent_back() {
    let r = both_ways("tool.json", "tool.events.json", weather()).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.message.tool_calls,
        [ToolCall::function(
            "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
            "top_song",
            r#"{"sign":"WZPZ"}"#
        )]
    );
    // The reply and the tool's result go back as `toolUse` and `toolResult` blocks.
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT, whole("text.json"));
    let mut next = weather();
    next.messages.push(r.message.clone());
    next.messages.push(Message::tool_result(
        "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
        "Elemental Hotel, by 8 Storey Hike",
    ));
    client.chat(next).await.expect("chat");
    let body = server.requests().remove(0).body_json();
    assert_eq!(
        body["toolConfig"],
        json!({
            "tools": [{"toolSpec": {
                "name": "top_song",
                "description": "Get the most popular song played on a radio station.",
                "inputSchema": {"json": {"type": "object", "properties": {"sign": {"type": "string"}}, "required": ["sign"]}},
            }}],
            "toolChoice": {"auto": {}},
        })
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"text": "I'll look up the most popular song on WZPZ."},
            {"toolUse": {"toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "name": "top_song", "input": {"sign": "WZPZ"}}},
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [{"toolResult": {
            "toolUseId": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
            "content": [{"text": "Elemental Hotel, by 8 Storey Hike"}],
        }}]})
    );
}

#[tokio::test]
async fn streamed_tool_use_events() {
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", STREAM, eventstream(frames("tool.events.json")));
    let (events, error) = stream_events(&client, weather()).await;
    assert!(error.is_none(), "{error:?}");
    assert!(events.contains(&StreamEvent::ToolCallStart {
        index: 0,
        id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q".into(),
        name: "top_song".into(),
    }));
    let pieces: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallDelta { arguments, .. } => Some(arguments.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(pieces, [r#"{"sign": "WZ"#, r#"PZ"}"#]);
    assert!(events.contains(&StreamEvent::ToolCallEnd {
        index: 0,
        arguments: r#"{"sign":"WZPZ"}"#.into(),
    }));
}

#[tokio::test]
async fn reasoning_with_signature_and_cached_usage() {
    let request = hello().reasoning_budget(2048);
    let r = both_ways("reasoning.json", "reasoning.events.json", request.clone()).await;
    assert_eq!(r.text(), "17 × 23 = 391.");
    assert_eq!(
        r.reasoning.as_deref(),
        Some("17 × 23: 17 × 20 = 340, 17 × 3 = 51, total 391.")
    );
    assert_eq!(
        r.message.reasoning,
        [
            ReasoningBlock::text("17 × 23: 17 × 20 = 340, 17 × 3 = 51, total 391.").signed(
                "EqoBCkgIARABGAIiQL2UoU0b1jP8F3vXkEXAMPLEsignature==",
                "converse"
            ),
            ReasoningBlock::redacted("ZXhhbXBsZSByZWRhY3RlZCByZWFzb25pbmc=", "converse"),
        ]
    );
    let usage = r.usage.expect("usage");
    assert_eq!(
        (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens
        ),
        (1240, 95, 1335)
    );
    assert_eq!(usage.cached_tokens, Some(1200));
    assert_eq!(usage.cache_write_tokens, None);

    // The signed reasoning goes back first in the assistant turn, unchanged.
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT, whole("text.json"));
    let mut next = request.clone();
    next.messages.push(r.message.clone());
    next.messages.push(Message::user("And 17 × 24?"));
    client.chat(next).await.expect("chat");
    let body = server.requests().remove(0).body_json();
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})
    );
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            {"reasoningContent": {"reasoningText": {
                "text": "17 × 23: 17 × 20 = 340, 17 × 3 = 51, total 391.",
                "signature": "EqoBCkgIARABGAIiQL2UoU0b1jP8F3vXkEXAMPLEsignature==",
            }}},
            {"reasoningContent": {"redactedContent": "ZXhhbXBsZSByZWRhY3RlZCByZWFzb25pbmc="}},
            {"text": "17 × 23 = 391."},
        ])
    );
}

#[tokio::test]
async fn each_stop_reason_both_ways() {
    let cases = [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("guardrail_intervened", FinishReason::ContentFilter),
        ("content_filtered", FinishReason::ContentFilter),
        ("something_new", FinishReason::Other("something_new".into())),
    ];
    let server = MockServer::start().await;
    let client = connect(&server);
    for (raw, expected) in cases {
        let mut json = fixture_json("bedrock", "text.json");
        json["stopReason"] = json!(raw);
        server.on("POST", CHAT, MockResponse::json(200, json));
        let r = client.chat(hello()).await.expect("chat");
        assert_eq!(r.finish_reason, Some(expected.clone()), "{raw}");
        let mut items: Vec<Value> =
            serde_json::from_str(&fixture("bedrock", "text.events.json")).expect("JSON");
        items[5]["payload"]["stopReason"] = json!(raw);
        server.on(
            "POST",
            STREAM,
            eventstream(items.iter().map(message).collect()),
        );
        let collected = client
            .chat_stream(hello())
            .await
            .expect("opens")
            .collect_response()
            .await
            .expect("completes");
        assert_eq!(collected.finish_reason, Some(expected), "{raw} streamed");
    }
}

#[tokio::test]
async fn every_byte_split_gives_the_same_events() {
    for name in [
        "text.events.json",
        "tool.events.json",
        "reasoning.events.json",
    ] {
        let server = MockServer::start().await;
        let client = connect(&server);
        let body: Vec<u8> = frames(name).concat();
        server.on("POST", STREAM, eventstream(vec![body.clone()]));
        let (whole, error) = stream_events(&client, hello()).await;
        assert!(error.is_none(), "{name}: {error:?}");
        for seed in 0..8 {
            let chunks = random_split(&body, seed, 1 + (seed as usize * 7) % 40);
            server.on("POST", STREAM, eventstream(chunks));
            let (events, error) = stream_events(&client, hello()).await;
            assert!(error.is_none(), "{name} seed {seed}: {error:?}");
            assert_eq!(events, whole, "{name} seed {seed}");
        }
        let bytes: Vec<Vec<u8>> = body.chunks(1).map(<[u8]>::to_vec).collect();
        server.on("POST", STREAM, eventstream(bytes));
        assert_eq!(
            stream_events(&client, hello()).await.0,
            whole,
            "{name}: one byte per chunk"
        );
    }
}

#[tokio::test]
async fn an_exception_frame_mid_stream_is_its_error() {
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on(
        "POST",
        STREAM,
        eventstream(frames("exception_mid_stream.events.json")),
    );
    let (events, error) = stream_events(&client, hello()).await;
    assert!(events.contains(&StreamEvent::TextDelta {
        text: "Bonjour".into()
    }));
    let error = error.expect("the exception ends the stream");
    assert_eq!(error.kind(), ErrorKind::ServerError, "{error}");
    assert_eq!(error.code(), Some("ModelStreamErrorException"));
    assert!(error.message().contains("interrupted"), "{error}");
    assert_eq!(error.provider(), Some("bedrock"));

    for (exception, kind) in [
        ("throttlingException", ErrorKind::RateLimited),
        ("validationException", ErrorKind::InvalidRequest),
        ("serviceUnavailableException", ErrorKind::Overloaded),
        ("internalServerException", ErrorKind::ServerError),
    ] {
        let mut chunks = frames("text.events.json");
        chunks.truncate(2);
        chunks.push(message(
            &json!({"exception": exception, "payload": {"message": "stop"}}),
        ));
        server.on("POST", STREAM, eventstream(chunks));
        let error = stream_events(&client, hello()).await.1.expect("fails");
        assert_eq!(error.kind(), kind, "{exception}");
    }
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_is_truncated() {
    let server = MockServer::start().await;
    let client = connect(&server);
    let mut chunks = frames("text.events.json");
    chunks.truncate(3);
    server.on("POST", STREAM, eventstream(chunks));
    let error = stream_events(&client, hello()).await.1.expect("fails");
    assert_eq!(error.kind(), ErrorKind::StreamTruncated, "{error}");
    // A corrupted message is a decode error, never a silent end.
    let mut chunks = frames("text.events.json");
    let last = chunks[2].len() - 1;
    chunks[2][last] ^= 0x55;
    server.on("POST", STREAM, eventstream(chunks));
    let error = stream_events(&client, hello()).await.1.expect("fails");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

#[tokio::test]
async fn each_error_maps_to_its_kind_with_type_and_request_id() {
    let cases = [
        (
            429,
            "ThrottlingException",
            ErrorKind::RateLimited,
            "Too many requests, please wait before trying again.",
        ),
        (
            400,
            "ValidationException",
            ErrorKind::InvalidRequest,
            "The provided model identifier is invalid.",
        ),
        (
            403,
            "AccessDeniedException",
            ErrorKind::PermissionDenied,
            "You don't have access to the model with the specified model ID.",
        ),
        (
            408,
            "ModelTimeoutException",
            ErrorKind::Timeout,
            "Model has timed out in processing the request.",
        ),
        (
            503,
            "ServiceUnavailableException",
            ErrorKind::Overloaded,
            "Bedrock is unable to process your request.",
        ),
        (
            424,
            "ModelErrorException",
            ErrorKind::ServerError,
            "The model returned an error.",
        ),
        (
            400,
            "ValidationException",
            ErrorKind::ContextWindowExceeded,
            "Input is too long for requested model.",
        ),
    ];
    for (status, kind, expected, message) in cases {
        for stream in [false, true] {
            let server = MockServer::start().await;
            let client = connect(&server);
            let response = MockResponse::json(status, json!({"message": message}))
                .header(
                    "x-amzn-errortype",
                    format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
                )
                .header("x-amzn-requestid", "b2c4-req-id");
            server.fallback(response);
            let error = if stream {
                client
                    .chat_stream(hello())
                    .await
                    .expect_err("fails to open")
            } else {
                client.chat(hello()).await.expect_err("fails")
            };
            assert_eq!(error.kind(), expected, "{kind} stream={stream}: {error}");
            assert_eq!(error.code(), Some(kind));
            assert_eq!(error.status(), Some(status));
            assert_eq!(error.request_id(), Some("b2c4-req-id"));
            assert!(error.message().contains(message), "{error}");
            assert!(!error.to_string().contains(KEY));
        }
    }
}

#[tokio::test]
async fn passthrough_goes_to_additional_model_request_fields() {
    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT, whole("text.json"));
    let mut request = hello();
    request.extra.insert("top_k".into(), json!(40));
    request
        .extra
        .insert("performanceConfig".into(), json!({"latency": "optimized"}));
    client.chat(request).await.expect("chat");
    let body = server.requests().remove(0).body_json();
    assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 40}));
    assert_eq!(body["performanceConfig"], json!({"latency": "optimized"}));
}

#[tokio::test]
async fn unsupported_parameters_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let client = connect(&server);
    let error = client
        .chat(hello().seed(7))
        .await
        .expect_err("seed is not a Converse parameter");
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(server.request_count(), 0);
}
