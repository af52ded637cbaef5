#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{Value, json};

use super::*;
use crate::dialects::test_support::collect;
use crate::error::ErrorKind;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;
use crate::types::{
    FinishReason, Message, Part, ReasoningEffort, Tool, ToolCall, ToolCallKind, ToolChoice, Usage,
};

static SPEC: crate::spec::ProviderSpec =
    crate::spec::ProviderSpec::new("anthropic", "https://api.anthropic.com/v1");

fn ctx(stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, "claude-sonnet-4-5", stream)
}

/// Run an SSE body through the real framer and the dialect.
fn stream(sse: &str) -> (Vec<StreamEvent>, Result<Control>) {
    crate::dialects::test_support::run_sse(&AnthropicDialect, sse)
}

fn body_of(request: &ChatRequest, stream: bool) -> Value {
    let parts = AnthropicDialect
        .build_request(request, &ctx(stream))
        .unwrap();
    assert_eq!(parts.method, http::Method::POST);
    assert_eq!(parts.path, "/messages");
    serde_json::from_slice(parts.body.as_deref().unwrap()).unwrap()
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

// ---- request ----

#[test]
fn request_maps_system_messages_and_parameters() {
    let request = ChatRequest::new("claude-sonnet-4-5")
        .system("Be brief.")
        .system("Answer in French.")
        .user("Hello")
        .user("Are you there?")
        .assistant("Oui.")
        .temperature(0.5)
        .top_p(0.9)
        .stop("END")
        .end_user("user-42")
        .extra("top_k", json!(5));
    let body = body_of(&request, false);
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["system"], "Be brief.\n\nAnswer in French.");
    assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"].to_string(), "0.9");
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(body["top_k"], 5);
    assert!(body.get("stream").is_none());
    // Two user messages in a row are one turn.
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "Are you there?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Oui."}]},
        ])
    );
    assert_eq!(body_of(&request, true)["stream"], true);
}

#[test]
fn request_maps_images() {
    let request = ChatRequest::new("m").user_parts(vec![
        Part::text("What is this?"),
        Part::image_base64("image/png", "iVBORw0KGgo="),
        Part::image_url("https://example.com/cat.jpg"),
        Part::image_url("data:image/webp;base64,UklGRg=="),
    ]);
    let body = body_of(&request, false);
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="}},
        ])
    );
}

#[test]
fn request_maps_tools_tool_calls_and_results() {
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let request = ChatRequest::new("m")
        .user("Weather in Paris and Rome?")
        .message(Message::assistant_tool_calls(
            Some("Checking.".into()),
            vec![
                ToolCall::function("toolu_1", "weather", r#"{"city":"Paris"}"#),
                ToolCall::function("toolu_2", "weather", String::new()),
            ],
        ))
        .message(Message::tool_result("toolu_1", "18C"))
        .message(Message::tool_result("toolu_2", "21C"))
        .user("Thanks")
        .tool(Tool::function("weather", "Current weather", schema.clone()))
        .tool_choice(ToolChoice::Tool("weather".into()));
    let body = body_of(&request, false);
    assert_eq!(
        body["tools"],
        json!([{"name": "weather", "description": "Current weather", "input_schema": schema}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "weather"})
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Rome?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "21C"},
                {"type": "text", "text": "Thanks"},
            ]},
        ])
    );
}

#[test]
fn request_tool_choice_forms() {
    let choice = |c: ToolChoice| {
        body_of(&ChatRequest::new("m").user("x").tool_choice(c), false)["tool_choice"].clone()
    };
    assert_eq!(choice(ToolChoice::Auto), json!({"type": "auto"}));
    assert_eq!(choice(ToolChoice::Required), json!({"type": "any"}));
    assert_eq!(choice(ToolChoice::None), json!({"type": "none"}));
}

#[test]
fn request_rejects_tool_arguments_that_are_not_json_and_results_without_id() {
    let bad = ChatRequest::new("m").message(Message::assistant_tool_calls(
        None,
        vec![ToolCall::function("t", "f", "{oops")],
    ));
    let e = AnthropicDialect
        .build_request(&bad, &ctx(false))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("`f`"), "{}", e.message());

    let mut orphan = Message::tool_result("x", "y");
    orphan.tool_call_id = None;
    let e = AnthropicDialect
        .build_request(&ChatRequest::new("m").message(orphan), &ctx(false))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn request_thinking_budget_and_max_tokens() {
    let body = body_of(
        &ChatRequest::new("m").user("x").reasoning_budget(2048),
        false,
    );
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 2048 + DEFAULT_MAX_TOKENS);
    let body = body_of(
        &ChatRequest::new("m")
            .user("x")
            .reasoning_budget(2048)
            .max_tokens(3000),
        false,
    );
    assert_eq!(body["max_tokens"], 3000);
    let body = body_of(
        &ChatRequest::new("m")
            .user("x")
            .reasoning_effort(ReasoningEffort::Low),
        false,
    );
    assert_eq!(body["thinking"]["budget_tokens"], 1024);
    assert!(
        body_of(&ChatRequest::new("m").user("x"), false)
            .get("thinking")
            .is_none()
    );
}

#[test]
fn unsupported_params_are_named() {
    let plain = ChatRequest::new("m")
        .user("x")
        .temperature(0.1)
        .end_user("u");
    assert!(AnthropicDialect.unsupported_params(&plain).is_empty());
    let request = plain
        .seed(7)
        .response_format(crate::types::ResponseFormat::JsonObject);
    assert_eq!(
        AnthropicDialect.unsupported_params(&request),
        ["seed", "response_format"]
    );
    let text = ChatRequest::new("m").response_format(crate::types::ResponseFormat::Text);
    assert!(AnthropicDialect.unsupported_params(&text).is_empty());
}

#[test]
fn models_request_asks_for_a_full_page() {
    let parts = AnthropicDialect.models_request(&ctx(false)).unwrap();
    assert_eq!(parts.path, "/models");
    assert_eq!(parts.query, [("limit".to_owned(), "1000".to_owned())]);
    let models = AnthropicDialect
        .parse_models(br#"{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":false}"#)
        .unwrap();
    assert_eq!(models[0].id, "claude-sonnet-4-5");
}

// ---- response ----

pub(in crate::dialects) const MESSAGE: &str = r#"{
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
    {"type": "text", "text": "Let me check "},
    {"type": "text", "text": "both cities."},
    {"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {"city": "Paris", "unit": "c"}},
    {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
    {"type": "tool_use", "id": "toolu_b", "name": "weather", "input": {"city": "Rome"}}
  ],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 20, "output_tokens": 30, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100}
}"#;

#[test]
fn response_maps_blocks_usage_and_stop_reason() {
    let r = AnthropicDialect
        .parse_response(MESSAGE.as_bytes(), &ctx(false))
        .unwrap();
    assert_eq!(r.id, "msg_01");
    assert_eq!(r.model, "claude-sonnet-4-5-20250929");
    assert_eq!(r.provider, "");
    assert_eq!(r.message.content, [Part::text("Let me check both cities.")]);
    assert_eq!(r.reasoning.as_deref(), Some("The user wants weather."));
    assert_eq!(
        r.message.tool_calls,
        [
            ToolCall {
                kind: ToolCallKind::Function,
                id: "toolu_a".into(),
                name: "weather".into(),
                arguments: r#"{"city":"Paris","unit":"c"}"#.into()
            },
            ToolCall {
                kind: ToolCallKind::Function,
                id: "toolu_b".into(),
                name: "weather".into(),
                arguments: r#"{"city":"Rome"}"#.into()
            },
        ]
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let mut usage = Usage::new(125, 30);
    usage.cached_tokens = Some(100);
    usage.cache_write_tokens = Some(5);
    assert_eq!(r.usage, Some(usage));
}

#[test]
fn stop_reasons_map() {
    for (raw, expected) in [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("model_context_window_exceeded", FinishReason::Length),
        ("tool_use", FinishReason::ToolCalls),
        ("refusal", FinishReason::ContentFilter),
        ("pause_turn", FinishReason::Other("pause_turn".into())),
        ("something_new", FinishReason::Other("something_new".into())),
    ] {
        let body = json!({"id": "m", "model": "c", "content": [], "stop_reason": raw});
        let r = AnthropicDialect
            .parse_response(body.to_string().as_bytes(), &ctx(false))
            .unwrap();
        assert_eq!(r.finish_reason, Some(expected), "{raw}");
        assert!(r.message.content.is_empty());
        assert_eq!(r.reasoning, None);
        assert_eq!(r.usage, None);
    }
}

#[test]
fn malformed_response_is_a_decode_error() {
    for body in [
        &b"{\"id\": \"msg_01\", \"content\": [ {"[..],
        b"",
        b"<html>",
        b"{\"content\": 7}",
    ] {
        let e = AnthropicDialect
            .parse_response(body, &ctx(false))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.message().contains("Anthropic"), "{}", e.message());
    }
}

// ---- stream ----

pub(in crate::dialects) fn tool_stream() -> String {
    sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 20, "output_tokens": 1, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100}}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "The user wants "}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "weather."}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me check "}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "both cities."}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 4, "content_block": {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 4}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "ris\", \"unit\""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": ": \"c\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 3}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 5, "content_block": {"type": "tool_use", "id": "toolu_b", "name": "weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": "{\"ci"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": "ty\":\"Rome\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 5}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 30}}),
        ),
        (
            "some_future_event",
            json!({"type": "some_future_event", "x": 1}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ])
}

#[test]
fn stream_events_in_order() {
    let (events, control) = stream(&tool_stream());
    assert_eq!(control.unwrap(), Control::Done);
    let mut usage = Usage::new(125, 30);
    usage.cached_tokens = Some(100);
    usage.cache_write_tokens = Some(5);
    // Issue 13 moved this sequence: the thinking block's signature is an event
    // of its own, and tool arguments are handed on piece by piece as they
    // arrive, the whole re-serialized arguments following as `ToolCallEnd`
    // where they differ from the pieces (`collect_response` still equals the
    // non-streamed answer, see the next test).
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "msg_01".into(),
                model: "claude-sonnet-4-5-20250929".into()
            },
            StreamEvent::ReasoningDelta {
                text: "The user wants ".into()
            },
            StreamEvent::ReasoningDelta {
                text: "weather.".into()
            },
            StreamEvent::ReasoningSignature {
                signature: "sig".into(),
                source: "anthropic".into(),
                anchor: crate::types::ReasoningAnchor::Own,
            },
            StreamEvent::TextDelta {
                text: "Let me check ".into()
            },
            StreamEvent::TextDelta {
                text: "both cities.".into()
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "toolu_a".into(),
                name: "weather".into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: r#"{"city": "Pa"#.into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: r#"ris", "unit""#.into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: r#": "c"}"#.into()
            },
            StreamEvent::ToolCallEnd {
                index: 0,
                arguments: r#"{"city":"Paris","unit":"c"}"#.into()
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "toolu_b".into(),
                name: "weather".into()
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: r#"{"ci"#.into()
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: r#"ty":"Rome"}"#.into()
            },
            StreamEvent::Usage { usage },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
}

#[test]
fn collected_stream_equals_the_non_streamed_response() {
    let (events, _) = stream(&tool_stream());
    let streamed = collect(events);
    let whole = AnthropicDialect
        .parse_response(MESSAGE.as_bytes(), &ctx(false))
        .unwrap();
    assert_eq!(streamed, whole);
}

#[test]
fn stream_without_message_start_still_starts_and_tool_without_deltas_uses_its_input() {
    let body = sse(&[
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "now", "input": {}}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let (events, control) = stream(&body);
    assert_eq!(control.unwrap(), Control::Done);
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: String::new(),
                model: String::new()
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "t".into(),
                name: "now".into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: "{}".into()
            },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
}

#[test]
fn tool_arguments_that_are_not_json_are_passed_on_raw() {
    let body = sse(&[
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\": "}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let (events, _) = stream(&body);
    assert_eq!(collect(events).message.tool_calls[0].arguments, "{\"a\": ");
}

#[test]
fn message_delta_usage_updates_what_message_start_said() {
    // Some gateways report input tokens only at the end.
    let body = sse(&[
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m", "model": "c", "usage": {"input_tokens": 0, "output_tokens": 1}}}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"input_tokens": 9, "output_tokens": 16}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    let r = collect(stream(&body).0);
    assert_eq!(r.usage, Some(Usage::new(9, 16)));
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
}

#[test]
fn error_events_fail_with_the_right_kind() {
    for (error_type, kind) in [
        ("overloaded_error", ErrorKind::Overloaded),
        ("rate_limit_error", ErrorKind::RateLimited),
        ("api_error", ErrorKind::ServerError),
        ("invalid_request_error", ErrorKind::InvalidRequest),
        ("some_new_error", ErrorKind::ServerError),
    ] {
        let body = format!(
            "event: message_start\ndata: {}\n\nevent: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"{error_type}\",\"message\":\"Overloaded\"}}}}\n\n",
            json!({"type": "message_start", "message": {"id": "m", "model": "c"}})
        );
        let (events, control) = stream(&body);
        assert_eq!(events.len(), 1);
        let e = control.unwrap_err();
        assert_eq!(e.kind(), kind, "{error_type}");
        assert_eq!(e.code(), Some(error_type));
        assert_eq!(e.status(), None);
        assert!(e.message().contains("Overloaded"), "{}", e.message());
    }
}

#[test]
fn malformed_stream_events_are_decode_errors() {
    for data in [
        "{\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {",
        "not json",
        "{\"type\": \"content_block_delta\"}",
    ] {
        let frame = Frame {
            event: Some("content_block_delta".into()),
            data: data.into(),
        };
        let e = AnthropicDialect
            .parse_stream_event(
                &frame,
                &mut AnthropicStreamState::default(),
                &mut Vec::new(),
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(
            e.message().contains("content_block_delta"),
            "{}",
            e.message()
        );
    }
}

#[test]
fn a_stream_cut_before_message_stop_is_truncated() {
    let mut state = AnthropicStreamState::default();
    let e = AnthropicDialect
        .finish_stream(&mut state, &mut Vec::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamTruncated);
}

#[test]
fn tool_blocks_are_capped_and_found_by_index_in_constant_time() {
    use crate::stream::MAX_TOOL_CALLS;
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": "m", "model": "c"}}),
    )];
    for index in 0..MAX_TOOL_CALLS {
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": format!("t{index}"), "name": "f", "input": {}}}),
        ));
    }
    // Deltas for the first block after all the others began: found by index.
    for piece in ["{\"a\"", ":1}"] {
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}}),
        ));
    }
    events.push(("message_stop", json!({"type": "message_stop"})));
    let (out, control) = stream(&sse(&events));
    assert_eq!(control.unwrap(), Control::Done);
    let r = collect(out);
    assert_eq!(r.message.tool_calls.len(), MAX_TOOL_CALLS);
    assert_eq!(r.message.tool_calls[0].arguments, r#"{"a":1}"#);

    events.insert(
        events.len() - 1,
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": MAX_TOOL_CALLS, "content_block": {"type": "tool_use", "id": "one_more", "name": "f", "input": {}}}),
        ),
    );
    let e = stream(&sse(&events)).1.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.message().contains("MAX_TOOL_CALLS"), "{}", e.message());
}

#[test]
fn a_native_body_is_sent_as_written_with_the_routes_model() {
    let thinking =
        r#"{"type":"thinking","thinking":"2 + 2 = 4 \u00e9","signature":"EqQBCgIYAhIM"}"#;
    let written = format!(
        r#"{{"model":"client-name","stream":false,"max_tokens":50,"future_field":{{"b":1,"a":1.10}},"messages":[{{"role":"user","content":"hi"}},{{"role":"assistant","content":[{thinking}]}}]}}"#
    );
    let native = crate::types::NativeBody::new(response::SOURCE, written.clone()).unwrap();
    let request = ChatRequest::new("claude").user("other text").native(native);
    let parts = AnthropicDialect
        .build_request(&request, &ctx(true))
        .unwrap();
    let sent = std::str::from_utf8(parts.body.as_deref().unwrap()).unwrap();
    assert!(sent.contains(thinking), "{sent}");
    assert!(
        sent.contains(r#""future_field":{"b":1,"a":1.10}"#),
        "{sent}"
    );
    let body: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(body["model"], "claude-sonnet-4-5");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"][0]["content"], "hi");
    // Another format's body is not this dialect's: the unified fields are sent.
    let other = crate::types::NativeBody::new("openai_responses", written).unwrap();
    let body = body_of(
        &ChatRequest::new("claude").user("other text").native(other),
        false,
    );
    assert_eq!(body["messages"][0]["content"][0]["text"], "other text");
    assert!(body.get("future_field").is_none());
}
