//! The codec against the runtime's own Anthropic dialect, the client side of
//! the same wire format: what the gateway writes, the dialect reads back as
//! the same answer; what the dialect writes, the gateway reads as the same
//! request.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use llm_runtime::dialects::anthropic::AnthropicDialect;
use llm_runtime::provider::{RequestContext, Transform};
use llm_runtime::stream::ResponseAccumulator;
use llm_runtime::testing::replay_response;
use llm_runtime::{
    ChatRequest, ChatResponse, ErrorKind, FinishReason, Message, StreamEvent, Tool, ToolCall,
    Usage,
    types::{CacheBreakpoint, CacheTtl, ReasoningBlock, ToolChoice},
};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::request::{parse, parse_count_tokens};
use super::response::message;
use super::stream::MessagesStream;

static SPEC: llm_runtime::spec::ProviderSpec =
    llm_runtime::spec::ProviderSpec::new("anthropic", "https://api.anthropic.com/v1");

fn ctx(stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, "claude-sonnet-4-5", stream)
}

/// The body the runtime's dialect writes for `request`.
fn dialect_body(request: &ChatRequest) -> Vec<u8> {
    let parts = AnthropicDialect
        .build_request(request, &ctx(false))
        .unwrap();
    parts.body.unwrap().to_vec()
}

/// The SSE bytes the encoder writes for `events`, ended as a whole answer.
fn encode(events: &[StreamEvent]) -> Vec<u8> {
    let mut encoder = MessagesStream::new("claude");
    let mut out = Vec::new();
    for event in events {
        encoder.push(event.clone(), &mut out);
    }
    encoder.finish(&mut out);
    out.concat()
}

fn collect(events: &[StreamEvent]) -> ChatResponse {
    let mut acc = ResponseAccumulator::default();
    for event in events {
        acc.push(event.clone());
    }
    acc.finish()
}

/// What a client can see of an answer: everything but ids, model and metadata.
fn seen(mut r: ChatResponse) -> ChatResponse {
    r.id.clear();
    r.model.clear();
    r.provider.clear();
    r
}

#[test]
fn a_request_with_every_block_kind_reads_as_the_unified_request() {
    let body = json!({
        "model": "claude-x", "max_tokens": 300, "stream": true,
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig=="},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
                {"type": "text", "text": "Thanks", "cache_control": {"type": "ephemeral"}},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                {"type": "document", "source": {"type": "text", "data": "left to the native body"}}
            ]}
        ],
        "tools": [
            {"name": "weather", "description": "Weather", "input_schema": {"type": "object"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
        ],
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "temperature": 0.5, "stop_sequences": ["END"], "metadata": {"user_id": "u1"},
        "top_k": 5
    });
    let read = parse(body.to_string().as_bytes()).unwrap();
    assert!(read.stream);
    let chat = read.chat;
    let mut system = Message::system("Be brief.");
    system.cache = Some(CacheBreakpoint::ttl(CacheTtl::OneHour));
    let mut assistant = Message::assistant_tool_calls(
        None,
        vec![ToolCall::function(
            "toolu_1",
            "weather",
            r#"{"city":"Paris"}"#,
        )],
    );
    assistant.reasoning = vec![
        ReasoningBlock::text("Use the tool.").signed("sig==", "anthropic"),
        ReasoningBlock::redacted("opaque", "anthropic"),
    ];
    let mut user = Message::user_parts(vec![
        llm_runtime::Part::text("Thanks"),
        llm_runtime::Part::image_url("https://x/y.png"),
    ]);
    user.cache = Some(CacheBreakpoint::new());
    let expected = vec![
        system,
        Message::user("Weather in Paris?"),
        assistant,
        Message::tool_result("toolu_1", "sunny").with_tool_name("weather"),
        user,
    ];
    assert_eq!(chat.messages, expected);
    assert_eq!(
        chat.tools,
        vec![Tool::function(
            "weather",
            "Weather",
            json!({"type": "object"})
        )]
    );
    assert_eq!(chat.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        (chat.max_tokens, chat.reasoning_budget, chat.temperature),
        (Some(300), Some(1024), Some(0.5))
    );
    assert_eq!(
        (chat.stop, chat.user.as_deref()),
        (vec!["END".to_owned()], Some("u1"))
    );
    assert_eq!(chat.native.unwrap().fields(), body.to_string());
}

#[test]
fn wrong_fields_are_typed_400s_that_name_them() {
    let cases = [
        (
            json!({"max_tokens": 5, "messages": []}),
            "model: is required",
        ),
        (
            json!({"model": "m", "messages": []}),
            "max_tokens: is required",
        ),
        (
            json!({"model": "m", "max_tokens": 0, "messages": []}),
            "max_tokens: must be at least 1",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].role: must be `user` or `assistant`, not `tool`",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text"}]}]}),
            "messages[0].content[0].text: is required",
        ),
        (
            json!({"model": "m", "max_tokens": 5, "messages": [], "tool_choice": {"type": "sometimes"}}),
            "tool_choice.type: must be `auto`, `any`, `tool` or `none`, not `sometimes`",
        ),
        (json!([1]), "the body: must be an object, not an array"),
    ];
    for (body, message) in cases {
        let e = parse(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::InvalidRequest, message)
        );
    }
    let e = parse(b"{not json").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    // A count needs no max_tokens.
    let count = parse_count_tokens(br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#);
    assert_eq!(count.unwrap().messages, vec![Message::user("hi")]);
}

#[test]
fn a_whole_answer_reads_back_through_the_runtimes_dialect() {
    let mut answer = ChatResponse::empty();
    answer
        .message
        .content
        .push(llm_runtime::Part::text("It is sunny."));
    answer.message.reasoning = vec![
        ReasoningBlock::text("Think.").signed("sig", "anthropic"),
        ReasoningBlock::redacted("opaque", "anthropic"),
    ];
    answer.reasoning = Some("Think.".into());
    answer.message.tool_calls = vec![ToolCall::function("toolu_9", "f", r#"{"a":[1,2]}"#)];
    answer.finish_reason = Some(FinishReason::ToolCalls);
    let mut usage = Usage::new(30, 7);
    usage.cached_tokens = Some(10);
    answer.usage = Some(usage);
    let body = message(&answer, "claude");
    assert_eq!(body["type"], "message");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 10})
    );
    let back = AnthropicDialect
        .parse_response(body.to_string().as_bytes(), &ctx(false))
        .unwrap();
    assert_eq!(seen(back), seen(answer));
}

#[test]
fn every_frame_names_its_event_and_the_stream_has_anthropics_order() {
    let events = [
        StreamEvent::Start {
            id: "msg_1".into(),
            model: "up".into(),
        },
        StreamEvent::ReasoningDelta { text: "hm".into() },
        StreamEvent::ReasoningSignature {
            signature: "s".into(),
            source: "anthropic".into(),
            anchor: llm_runtime::types::ReasoningAnchor::Own,
        },
        StreamEvent::TextDelta { text: "Hi".into() },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "t0".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "t1".into(),
            name: "g".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "1}".into(),
        },
        StreamEvent::Usage {
            usage: Usage::new(3, 4),
        },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
    ];
    let sse = String::from_utf8(encode(&events)).unwrap();
    let mut names = Vec::new();
    for frame in sse.split_terminator("\n\n") {
        let (event, data) = frame.split_once('\n').unwrap();
        let name = event.strip_prefix("event: ").unwrap();
        let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(data["type"], name);
        names.push(name);
    }
    assert_eq!(
        names,
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let back = replay_response(&AnthropicDialect, [sse.as_bytes()]).unwrap();
    assert_eq!(seen(back), seen(collect(&events)));
}

/// An answer as unified events: reasoning (signed or not), text, tool calls
/// with JSON arguments, each piece split anywhere; usage and a finish reason.
fn answers() -> impl Strategy<Value = Vec<StreamEvent>> {
    let pieces = || prop::collection::vec("[a-zA-Z \u{e9}\u{1F600}\"\\\\\n]{1,6}", 0..4);
    let calls = prop::collection::vec(
        (
            "[a-z_]{1,8}",
            prop::collection::btree_map("[a-z]{1,4}", any::<i32>(), 0..3),
            1..4usize,
        ),
        0..3,
    );
    let finish = prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::ContentFilter),
    ];
    (
        pieces(),
        (
            proptest::option::of("[A-Za-z0-9+/=]{1,12}"),
            proptest::option::of("[A-Za-z0-9+/=]{1,12}"),
        ),
        pieces(),
        calls,
        any::<(u16, u16)>(),
        finish,
    )
        .prop_map(
            |(reasoning, (signature, redacted), text, calls, (input, output), finish)| {
                let mut events = vec![StreamEvent::Start {
                    id: "msg_x".into(),
                    model: "m".into(),
                }];
                events.extend(
                    reasoning
                        .into_iter()
                        .map(|text| StreamEvent::ReasoningDelta { text }),
                );
                if let Some(signature) = signature {
                    events.push(StreamEvent::ReasoningSignature {
                        signature,
                        source: "anthropic".into(),
                        anchor: llm_runtime::types::ReasoningAnchor::Own,
                    });
                }
                if let Some(data) = redacted {
                    let source = "anthropic".into();
                    events.push(StreamEvent::RedactedReasoning { data, source });
                }
                events.extend(text.into_iter().map(|text| StreamEvent::TextDelta { text }));
                for (index, (name, args, cuts)) in calls.into_iter().enumerate() {
                    events.push(StreamEvent::ToolCallStart {
                        index,
                        id: format!("toolu_{index}"),
                        name,
                    });
                    let json = serde_json::to_string(&args).unwrap();
                    let step = json.len().div_ceil(cuts);
                    for chunk in json.as_bytes().chunks(step) {
                        let arguments = String::from_utf8(chunk.to_vec()).unwrap();
                        events.push(StreamEvent::ToolCallDelta { index, arguments });
                    }
                }
                events.push(StreamEvent::Usage {
                    usage: Usage::new(input.into(), output.into()),
                });
                events.push(StreamEvent::Finish { reason: finish });
                events
            },
        )
}

proptest! {
    #[test]
    fn a_streamed_answer_reads_back_as_the_same_answer(events in answers()) {
        let sse = encode(&events);
        let back = replay_response(&AnthropicDialect, [sse.as_slice()]).unwrap();
        prop_assert_eq!(seen(back), seen(collect(&events)));
    }

    #[test]
    fn a_whole_answer_reads_back_as_the_same_answer(events in answers()) {
        let answer = collect(&events);
        let body = message(&answer, "claude").to_string();
        let back = AnthropicDialect.parse_response(body.as_bytes(), &ctx(false)).unwrap();
        prop_assert_eq!(seen(back), seen(answer));
    }

    /// A request the runtime's dialect writes reads back as the request.
    #[test]
    fn a_request_reads_back_as_the_dialect_wrote_it(
        system in "[a-z ]{1,10}", user in "[a-z ]{1,10}", reply in "[a-z ]{1,10}",
        temperature in proptest::option::of(0u8..=10), max_tokens in 1u32..100_000,
        stop in prop::collection::vec("[A-Z]{1,4}", 0..3),
        thinking in proptest::option::of(("[a-z ]{0,10}", "[A-Za-z0-9+/]{1,12}")),
        calls in prop::collection::vec(("[a-z_]{1,6}", prop::collection::btree_map("[a-z]{1,3}", any::<i32>(), 0..3)), 0..3),
        choice in proptest::option::of(0u8..4), budget in proptest::option::of(1024u32..4096),
    ) {
        let mut request = ChatRequest::new("claude-sonnet-4-5").system(system).user(user);
        let calls: Vec<ToolCall> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall::function(format!("toolu_{i}"), name, serde_json::to_string(&args).unwrap()))
            .collect();
        let mut assistant = Message::assistant_tool_calls(Some(reply), calls.clone());
        if let Some((text, signature)) = thinking {
            assistant.reasoning.push(ReasoningBlock::text(text).signed(signature, "anthropic"));
        }
        request = request.message(assistant);
        for call in &calls {
            request = request.message(Message::tool_result_for(call, "done"));
            request.tools.push(Tool::function(call.name.clone(), "d", json!({"type": "object"})));
        }
        request.tools.dedup_by(|a, b| a.name == b.name);
        request = request.user("again").max_tokens(max_tokens);
        request.temperature = temperature.map(|t| f32::from(t) / 10.0);
        request.stop = stop;
        request.reasoning_budget = budget;
        request.tool_choice = choice.map(|c| match c {
            0 => ToolChoice::Auto,
            1 => ToolChoice::None,
            2 => ToolChoice::Required,
            _ => ToolChoice::Tool("f".into()),
        });
        let read = parse(&dialect_body(&request)).unwrap();
        request.native = read.chat.native.clone();
        prop_assert_eq!(read.chat, request);
    }

    /// `null` in any optional field reads as the field left out; `null` in a
    /// required one is a typed 400 naming it. Never a panic.
    #[test]
    fn null_in_any_field_is_absent_or_a_typed_400(mask in any::<u32>()) {
        let full = json!({
            "model": "m", "max_tokens": 10,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral", "ttl": "5m"}}]}],
            "system": "s", "temperature": 0.1, "top_p": 0.9, "top_k": 3, "stop_sequences": ["x"],
            "metadata": {"user_id": "u"}, "stream": false,
            "tools": [{"name": "f", "description": "d", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "auto"}, "thinking": {"type": "enabled", "budget_tokens": 5},
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        });
        let required = ["model", "max_tokens", "messages"];
        let mut body = full.as_object().unwrap().clone();
        let mut nulled_required = None;
        for (i, key) in full.as_object().unwrap().keys().enumerate() {
            if mask & (1 << i) != 0 {
                body.insert(key.clone(), Value::Null);
                if required.contains(&key.as_str()) && nulled_required.is_none() {
                    nulled_required = Some(key.clone());
                }
            }
        }
        let result = parse(Value::Object(body).to_string().as_bytes());
        match nulled_required {
            None => prop_assert!(result.is_ok(), "{:?}", result),
            Some(_) => {
                let e = result.unwrap_err();
                prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
                prop_assert!(e.message().ends_with(": is required"), "{}", e.message());
            }
        }
    }

    /// Any JSON at all is a request or a typed 400, never a panic.
    #[test]
    fn any_json_is_a_request_or_a_typed_400(body in json_value()) {
        if let Err(e) = parse(body.to_string().as_bytes()) {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        }
    }
}

/// JSON values shaped like Messages requests: the right keys, any values.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop_oneof![
        Just("model"),
        Just("max_tokens"),
        Just("messages"),
        Just("role"),
        Just("content"),
        Just("type"),
        Just("text"),
        Just("system"),
        Just("tools"),
        Just("tool_choice"),
        Just("thinking"),
        Just("input"),
        Just("id"),
        Just("name"),
        Just("source"),
        Just("tool_use_id"),
        Just("cache_control"),
        Just("input_schema"),
        Just("budget_tokens"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("user"),
            Just("assistant"),
            Just("text"),
            Just("tool_use"),
            Just("tool_result"),
            Just("image"),
            Just("thinking"),
            Just("enabled"),
            Just("m")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6).prop_map(|fields| {
                Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}
