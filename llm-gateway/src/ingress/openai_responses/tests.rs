//! The codec against the runtime's own OpenAI Responses dialect, the client
//! side of the same wire format: what the gateway writes, the dialect reads
//! back as the same answer; what the dialect writes, the gateway reads as
//! the same request.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use llm_runtime::dialects::openai_responses::OpenAiResponsesDialect;
use llm_runtime::provider::{RequestContext, Transform};
use llm_runtime::stream::ResponseAccumulator;
use llm_runtime::testing::replay_response;
use llm_runtime::{
    ChatRequest, ChatResponse, ErrorKind, FinishReason, Message, StreamEvent, Tool, ToolCall,
    Usage,
    types::{ReasoningAnchor, ReasoningBlock, ReasoningEffort, ResponseFormat, ToolChoice},
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::request::parse;
use super::response::response_object;
use super::stream::ResponsesStream;

static SPEC: llm_runtime::spec::ProviderSpec =
    llm_runtime::spec::ProviderSpec::new("openai_responses", "https://api.openai.com/v1");

fn ctx(stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, "gpt-5", stream)
}

fn encode(events: &[StreamEvent]) -> Vec<u8> {
    let mut encoder = ResponsesStream::new("gpt", Map::new());
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

/// What a client can see of an answer, as the Responses format carries it:
/// no ids, model or metadata; reasoning as its text (ids and pairing are the
/// gateway's own when the upstream was another API).
fn seen(mut r: ChatResponse) -> ChatResponse {
    r.id.clear();
    r.model.clear();
    r.provider.clear();
    r.message.reasoning.clear();
    // The format always reports the cached and reasoning counts.
    if let Some(usage) = &mut r.usage {
        usage.cached_tokens.get_or_insert(0);
        usage.reasoning_tokens.get_or_insert(0);
    }
    r
}

#[test]
fn a_request_with_every_item_kind_reads_as_the_unified_request() {
    let body = json!({
        "model": "gpt-x", "instructions": "Be brief.", "stream": true,
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Use it."}],
             "encrypted_content": "enc"},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather",
             "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Sunny."}]},
            {"role": "developer", "content": "Rules."},
            {"type": "web_search_call", "id": "ws_1"}
        ],
        "tools": [{"type": "function", "name": "weather", "description": "W", "parameters": {"type": "object"}},
                  {"type": "web_search"}],
        "tool_choice": {"type": "function", "name": "weather"},
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}},
        "reasoning": {"effort": "high"},
        "max_output_tokens": 99, "temperature": 0.3, "include": ["reasoning.encrypted_content"],
        "store": false, "future_field": {"x": 1}
    });
    let read = parse(body.to_string().as_bytes()).unwrap();
    assert!(read.stream);
    assert_eq!(read.echo["instructions"], "Be brief.");
    let chat = read.chat;
    let mut reasoning = ReasoningBlock::text("Use it.");
    reasoning.source = Some("openai_responses".into());
    reasoning.id = Some("rs_1".into());
    reasoning.encrypted = Some("enc".into());
    let paired = {
        let mut block = ReasoningBlock::default();
        block.source = Some("openai_responses".into());
        block.id = Some("fc_1".into());
        block.anchor = ReasoningAnchor::ToolCall("call_1".into());
        block
    };
    let mut assistant = Message::assistant_tool_calls(
        None,
        vec![ToolCall::function(
            "call_1",
            "weather",
            r#"{"city":"Paris"}"#,
        )],
    );
    assistant.reasoning = vec![reasoning, paired];
    let expected = vec![
        Message::system("Be brief."),
        Message::user_parts(vec![
            llm_runtime::Part::text("Weather?"),
            llm_runtime::Part::image_url("https://x/y.png"),
        ]),
        assistant,
        Message::tool_result("call_1", "sunny").with_tool_name("weather"),
        Message::assistant("Sunny."),
        Message::system("Rules."),
    ];
    assert_eq!(chat.messages, expected);
    assert_eq!(
        chat.tools,
        vec![Tool::function("weather", "W", json!({"type": "object"}))]
    );
    assert_eq!(chat.tool_choice, Some(ToolChoice::Tool("weather".into())));
    assert_eq!(
        chat.response_format,
        Some(ResponseFormat::JsonSchema {
            name: "out".into(),
            schema: json!({"type": "object"}),
            strict: true
        })
    );
    assert_eq!(chat.reasoning_effort, Some(ReasoningEffort::High));
    assert_eq!((chat.max_tokens, chat.temperature), (Some(99), Some(0.3)));
    assert_eq!(chat.include_encrypted_reasoning, Some(true));
    assert_eq!(chat.native.unwrap().fields(), body.to_string());
}

#[test]
fn wrong_fields_are_typed_400s_that_name_them() {
    let cases = [
        (json!({"input": "hi"}), "model: is required"),
        (json!({"model": "m"}), "input: is required"),
        (
            json!({"model": "m", "input": 3}),
            "input: must be an array, not a number",
        ),
        (
            json!({"model": "m", "input": [{"role": "robot", "content": "x"}]}),
            "input[0].role: must be `user`, `assistant`, `system` or `developer`, not `robot`",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
            "input[0].call_id: is required",
        ),
        (
            json!({"model": "m", "input": "x", "tool_choice": "maybe"}),
            "tool_choice: must be `auto`, `none`, `required` or an object, not `maybe`",
        ),
        (
            json!({"model": "m", "input": "x", "max_output_tokens": -1}),
            "max_output_tokens: must be a whole number from 0 to 4294967295, not -1",
        ),
    ];
    for (body, message) in cases {
        let e = parse(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::InvalidRequest, message)
        );
    }
}

#[test]
fn a_whole_answer_reads_back_through_the_runtimes_dialect_with_its_ids() {
    let body = json!({
        "id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Hm."}], "encrypted_content": "enc"},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Hi", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "f", "arguments": "{\"a\":1}", "status": "completed"}
        ],
        "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8,
                  "input_tokens_details": {"cached_tokens": 1}, "output_tokens_details": {"reasoning_tokens": 2}}
    });
    let upstream = OpenAiResponsesDialect
        .parse_response(body.to_string().as_bytes(), &ctx(false))
        .unwrap();
    let ours = response_object(&upstream, "gpt", &Map::new());
    assert_eq!(ours["id"], "resp_1");
    assert_eq!(ours["status"], "completed");
    // Same-dialect: the items keep the upstream's ids and encrypted reasoning.
    for (i, key) in ["id", "type", "encrypted_content", "call_id"]
        .iter()
        .enumerate()
    {
        let _ = i;
        for n in 0..3 {
            assert_eq!(
                ours["output"][n].get(*key),
                body["output"][n].get(*key),
                "{n}.{key}"
            );
        }
    }
    let back = OpenAiResponsesDialect
        .parse_response(ours.to_string().as_bytes(), &ctx(false))
        .unwrap();
    let (mut a, mut b) = (back, upstream);
    a.meta = b.meta.clone();
    assert_eq!(
        (a.message, a.usage, a.finish_reason),
        (b.message.clone(), b.usage, b.finish_reason.take())
    );
}

#[test]
fn the_stream_has_an_event_line_per_event_and_sequence_numbers() {
    let events = [
        StreamEvent::Start {
            id: "x".into(),
            model: "m".into(),
        },
        StreamEvent::ReasoningDelta { text: "hm".into() },
        StreamEvent::TextDelta { text: "Hi".into() },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_0".into(),
            name: "f".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{}".into(),
        },
        StreamEvent::Usage {
            usage: Usage::new(1, 2),
        },
        StreamEvent::Finish {
            reason: FinishReason::ToolCalls,
        },
    ];
    let sse = String::from_utf8(encode(&events)).unwrap();
    assert!(!sse.contains("[DONE]"));
    let mut names = Vec::new();
    for (n, frame) in sse.split_terminator("\n\n").enumerate() {
        let (event, data) = frame.split_once('\n').unwrap();
        let name = event.strip_prefix("event: ").unwrap();
        let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(
            (data["type"].as_str(), data["sequence_number"].as_u64()),
            (Some(name), Some(n as u64))
        );
        names.push(name);
    }
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let last: Value =
        serde_json::from_str(sse.trim_end().rsplit("data: ").next().unwrap()).unwrap();
    let output = &last["response"]["output"];
    let streamed: Vec<Value> = sse
        .split_terminator("\n\n")
        .filter(|f| f.starts_with("event: response.output_item.done"))
        .map(|f| {
            serde_json::from_str::<Value>(f.split_once("data: ").unwrap().1).unwrap()["item"]["id"]
                .clone()
        })
        .collect();
    let finals: Vec<Value> = output
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(streamed, finals, "the final output keeps the streamed ids");
}

#[test]
fn an_error_ends_the_stream_with_response_failed() {
    let mut encoder = ResponsesStream::new("gpt", Map::new());
    let mut out = Vec::new();
    encoder.push(StreamEvent::TextDelta { text: "a".into() }, &mut out);
    encoder.error(
        &crate::error::GatewayError::from(llm_runtime::Error::new(ErrorKind::RateLimited, "busy")),
        &mut out,
    );
    let sse = String::from_utf8(out.concat()).unwrap();
    let last = sse.split_terminator("\n\n").last().unwrap();
    assert!(last.starts_with("event: response.failed\n"), "{last}");
    let data: Value = serde_json::from_str(last.split_once("data: ").unwrap().1).unwrap();
    assert_eq!(data["response"]["status"], "failed");
    assert_eq!(data["response"]["error"]["message"], "busy");
    assert_eq!(data["response"]["error"]["code"], "rate_limit_error");
    // A client of the format reads it as the failure, never as a success.
    let e = replay_response(&OpenAiResponsesDialect, [sse.as_bytes()]).unwrap_err();
    assert!(e.message().ends_with("busy"), "{e}");
}

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
        Just(FinishReason::ContentFilter)
    ];
    (
        pieces(),
        pieces(),
        pieces(),
        calls,
        any::<(u16, u16)>(),
        finish,
    )
        .prop_map(
            |(reasoning, text, refusal, calls, (input, output), finish)| {
                let mut events = vec![StreamEvent::Start {
                    id: "x".into(),
                    model: "m".into(),
                }];
                events.extend(
                    reasoning
                        .into_iter()
                        .map(|text| StreamEvent::ReasoningDelta { text }),
                );
                events.extend(text.into_iter().map(|text| StreamEvent::TextDelta { text }));
                events.extend(
                    refusal
                        .into_iter()
                        .map(|text| StreamEvent::RefusalDelta { text }),
                );
                let made_calls = !calls.is_empty();
                for (index, (name, args, cuts)) in calls.into_iter().enumerate() {
                    events.push(StreamEvent::ToolCallStart {
                        index,
                        id: format!("call_{index}"),
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
                // The Responses format says `completed` for a stop and for tool calls.
                let finish = match finish {
                    FinishReason::Stop if made_calls => FinishReason::ToolCalls,
                    other => other,
                };
                events.push(StreamEvent::Finish { reason: finish });
                events
            },
        )
}

proptest! {
    #[test]
    fn a_streamed_answer_reads_back_as_the_same_answer(events in answers()) {
        let sse = encode(&events);
        let back = replay_response(&OpenAiResponsesDialect, [sse.as_slice()]).unwrap();
        prop_assert_eq!(seen(back), seen(collect(&events)));
    }

    #[test]
    fn a_whole_answer_reads_back_as_the_same_answer(events in answers()) {
        let answer = collect(&events);
        let body = response_object(&answer, "gpt", &Map::new()).to_string();
        let back = OpenAiResponsesDialect.parse_response(body.as_bytes(), &ctx(false)).unwrap();
        prop_assert_eq!(seen(back), seen(answer));
    }

    #[test]
    fn a_request_reads_back_as_the_dialect_wrote_it(
        system in "[a-z ]{1,10}", user in "[a-z ]{1,10}", reply in "[a-z ]{0,10}",
        temperature in proptest::option::of(0u8..=10), max_tokens in proptest::option::of(1u32..100_000),
        summary in prop::collection::vec("[a-z ]{1,8}", 0..3), encrypted in "[A-Za-z0-9=]{1,12}",
        calls in prop::collection::vec(("[a-z_]{1,6}", "\\{\"[a-z]{1,3}\":[0-9]{1,3}\\}"), 0..3),
        effort in proptest::option::of(0u8..3),
    ) {
        let mut request = ChatRequest::new("gpt-5").system(system).user(user);
        let calls: Vec<ToolCall> = calls
            .into_iter()
            .enumerate()
            .map(|(i, (name, args))| ToolCall::function(format!("call_{i}"), name, args))
            .collect();
        let text = (!reply.is_empty()).then_some(reply);
        let mut assistant = Message::assistant_tool_calls(text.clone(), calls.clone());
        // The reasoning item as the API returned it, and the items it pairs with.
        let block = |text: &str, anchor, id: &str| { let mut block = ReasoningBlock::default(); block.text = text.to_owned(); block.source = Some("openai_responses".into()); block.anchor = anchor; block.id = Some(id.to_owned()); block };
        let parts = if summary.is_empty() { vec![String::new()] } else { summary };
        for part in &parts {
            assistant.reasoning.push(block(part, ReasoningAnchor::Own, "rs_1"));
        }
        if let Some(last) = assistant.reasoning.last_mut() {
            last.encrypted = Some(encrypted);
        }
        if text.is_some() {
            assistant.reasoning.push(block("", ReasoningAnchor::Text, "msg_1"));
        }
        for call in &calls {
            assistant.reasoning.push(block("", ReasoningAnchor::ToolCall(call.id.clone()), &format!("fc_{}", call.id)));
        }
        request = request.message(assistant);
        for call in &calls {
            request = request.message(Message::tool_result_for(call, "done"));
        }
        request = request.user("again");
        request.max_tokens = max_tokens;
        request.temperature = temperature.map(|t| f32::from(t) / 10.0);
        request.reasoning_effort = effort.map(|e| [ReasoningEffort::Low, ReasoningEffort::Medium, ReasoningEffort::High][usize::from(e)].clone());
        let parts = OpenAiResponsesDialect.build_request(&request, &ctx(false)).unwrap();
        let read = parse(&parts.body.unwrap()).unwrap();
        request.native = read.chat.native.clone();
        // The dialect asks for encrypted reasoning and a summary on its own.
        request.include_encrypted_reasoning = read.chat.include_encrypted_reasoning;
        request.reasoning_summary = read.chat.reasoning_summary;
        prop_assert_eq!(read.chat, request);
    }

    /// `null` in any optional field reads as the field left out; `null` in a
    /// required one is a typed 400 naming it.
    #[test]
    fn null_in_any_field_is_absent_or_a_typed_400(mask in any::<u32>()) {
        let full = json!({
            "model": "m", "input": [{"role": "user", "content": "hi"}], "instructions": "s",
            "max_output_tokens": 5, "temperature": 0.1, "top_p": 0.9, "user": "u", "stream": false,
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
            "tool_choice": "auto", "text": {"format": {"type": "text"}}, "reasoning": {"effort": "low"},
            "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k", "store": true,
            "metadata": {"a": "b"}, "previous_response_id": "resp_0", "truncation": "auto",
        });
        let required = ["model", "input"];
        let mut body = full.as_object().unwrap().clone();
        let mut nulled_required = false;
        for (i, key) in full.as_object().unwrap().keys().enumerate() {
            if mask & (1 << i) != 0 {
                body.insert(key.clone(), Value::Null);
                nulled_required |= required.contains(&key.as_str());
            }
        }
        let result = parse(Value::Object(body).to_string().as_bytes());
        if nulled_required {
            let e = result.unwrap_err();
            prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
            prop_assert!(e.message().ends_with(": is required"), "{}", e.message());
        } else {
            prop_assert!(result.is_ok(), "{:?}", result);
        }
    }

    #[test]
    fn any_json_is_a_request_or_a_typed_400(body in crate::ingress::anthropic_messages::tests::json_value()) {
        if let Err(e) = parse(body.to_string().as_bytes()) {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        }
    }
}

/// An Anthropic upstream's signed and redacted thinking, given to a
/// Responses client, comes back on its next turn and reaches Anthropic as
/// the blocks it signed (a tool-use turn without them is refused).
#[test]
fn another_apis_signed_reasoning_makes_the_round_trip() {
    let mut answer = ChatResponse::empty();
    answer.message.reasoning = vec![
        ReasoningBlock::text("Use the tool.").signed("EqQBsig==", "anthropic"),
        ReasoningBlock::redacted("opaque", "anthropic"),
    ];
    answer.message.tool_calls = vec![ToolCall::function("toolu_1", "f", r#"{"a":1}"#)];
    answer.finish_reason = Some(FinishReason::ToolCalls);
    let object = response_object(&answer, "claude", &Map::new());
    let mut input = vec![json!({"role": "user", "content": "go"})];
    input.extend(object["output"].as_array().unwrap().iter().cloned());
    input.push(json!({"type": "function_call_output", "call_id": "toolu_1", "output": "ok"}));
    let body = json!({"model": "claude", "input": input});
    let read = parse(body.to_string().as_bytes()).unwrap();
    let assistant = &read.chat.messages[1];
    let anthropic: Vec<&ReasoningBlock> = assistant
        .reasoning
        .iter()
        .filter(|b| b.is_from("anthropic"))
        .collect();
    assert_eq!(
        anthropic,
        answer.message.reasoning.iter().collect::<Vec<_>>()
    );
    assert_eq!(assistant.tool_calls, answer.message.tool_calls);
    let spec = llm_runtime::spec::ProviderSpec::new("anthropic", "https://api.anthropic.com/v1");
    let spec: &'static llm_runtime::spec::ProviderSpec = Box::leak(Box::new(spec));
    let ctx = RequestContext::new(spec, "claude-sonnet-4-5", false);
    let mut chat = read.chat;
    chat.native = None;
    let parts = llm_runtime::dialects::anthropic::AnthropicDialect
        .build_request(&chat, &ctx)
        .unwrap();
    let sent: Value = serde_json::from_slice(&parts.body.unwrap()).unwrap();
    assert_eq!(
        sent["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Use the tool.", "signature": "EqQBsig=="},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
        ])
    );
}
