#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{Value, json};

use super::*;
use crate::dialects::test_support::collect;
use crate::error::ErrorKind;
use crate::stream::{Control, Frame};
use crate::types::{ChatResponse, StreamEvent};
use crate::types::{
    FinishReason, Message, Part, ReasoningAnchor, ReasoningBlock, ReasoningEffort, ResponseFormat,
    Tool, ToolCall, ToolChoice, Usage,
};

static SPEC: crate::spec::ProviderSpec =
    crate::spec::ProviderSpec::new("openai_responses", "https://api.openai.com/v1");

fn ctx(model: &'static str, stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, model, stream)
}

/// Run an SSE body through the real framer and the dialect.
fn stream(sse: &str) -> (Vec<StreamEvent>, Result<Control>) {
    crate::dialects::test_support::run_sse(&OpenAiResponsesDialect, sse)
}

fn body_of(request: &ChatRequest, stream: bool) -> Value {
    let model: &'static str = request.model.clone().leak();
    let parts = OpenAiResponsesDialect
        .build_request(request, &ctx(model, stream))
        .unwrap();
    assert_eq!(parts.method, http::Method::POST);
    assert_eq!(parts.path, "/responses");
    serde_json::from_slice(parts.body.as_deref().unwrap()).unwrap()
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|data| {
            format!(
                "event: {}\ndata: {data}\n\n",
                data["type"].as_str().unwrap()
            )
        })
        .collect()
}

fn parse(body: &Value) -> Result<ChatResponse> {
    OpenAiResponsesDialect.parse_response(body.to_string().as_bytes(), &ctx("m", false))
}

/// A reasoning item with two summary parts, then two calls (ids paired).
fn reasoning_and_calls() -> Value {
    json!({
        "id": "resp_1", "object": "response", "status": "completed", "model": "o4-mini", "error": null,
        "output": [
            {"id": "rs_1", "type": "reasoning", "summary": [
                {"type": "summary_text", "text": "**A**\n\nfirst"},
                {"type": "summary_text", "text": "**B**\n\nsecond"}],
             "encrypted_content": "gAAAA-enc"},
            {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_a", "name": "f", "arguments": "{\"x\":1}"},
            {"id": "fc_2", "type": "function_call", "status": "completed", "call_id": "call_b", "name": "g", "arguments": "{}"},
        ],
        "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4},
                  "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 17}
    })
}

// ---- request ----

#[test]
fn request_maps_every_field() {
    let request = ChatRequest::new("gpt-4.1")
        .system("Be brief.")
        .user_parts(vec![
            Part::text("What is this?"),
            Part::image_base64("image/png", "AAAA"),
        ])
        .message(Message::assistant_tool_calls(
            Some("Looking.".into()),
            vec![ToolCall::function(
                "call_1",
                "weather",
                r#"{"city":"Paris"}"#,
            )],
        ))
        .message(Message::tool_result("call_1", "sunny"))
        .temperature(0.2)
        .top_p(0.9)
        .max_tokens(100)
        .tool(Tool::function(
            "weather",
            "Weather",
            json!({"type": "object"}),
        ))
        .tool_choice(ToolChoice::Tool("weather".into()))
        .response_format(ResponseFormat::JsonSchema {
            name: "w".into(),
            schema: json!({"type": "object"}),
            strict: true,
        })
        .end_user("u1")
        .extra("parallel_tool_calls", json!(false));
    let body = body_of(&request, true);
    assert_eq!(
        body,
        json!({
            "model": "gpt-4.1",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
                ]},
                {"role": "assistant", "content": "Looking."},
                {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_output_tokens": 100,
            "tools": [{"type": "function", "name": "weather", "description": "Weather", "parameters": {"type": "object"}, "strict": false}],
            "tool_choice": {"type": "function", "name": "weather"},
            "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": true}},
            "user": "u1",
            "store": false,
            "stream": true,
            "parallel_tool_calls": false,
        })
    );
}

#[test]
fn reasoning_models_ask_for_encrypted_reasoning() {
    let body = body_of(&ChatRequest::new("o4-mini").user("x"), false);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["store"], false);
    assert!(body.get("stream").is_none());
    assert!(body.get("reasoning").is_none());
    for model in ["gpt-4o-mini", "gpt-4.1", "gpt-5-chat-latest"] {
        let body = body_of(&ChatRequest::new(model).user("x"), false);
        assert!(body.get("include").is_none(), "{model}");
    }
    // An Azure deployment has any name: the effort says it reasons.
    let request = ChatRequest::new("my-deployment")
        .user("x")
        .reasoning_effort(ReasoningEffort::High);
    let body = body_of(&request, false);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
}

#[test]
fn previous_response_id_and_store_pass_through_extra() {
    let request = ChatRequest::new("gpt-5")
        .user("And in Tokyo?")
        .extra("previous_response_id", json!("resp_1"))
        .extra("store", json!(true))
        .extra("include", json!([]));
    let body = body_of(&request, false);
    assert_eq!(body["previous_response_id"], "resp_1");
    assert_eq!(body["store"], true);
    assert_eq!(body["include"], json!([]));
}

#[test]
fn stop_seed_and_budgets_are_unsupported() {
    let request = ChatRequest::new("m")
        .user("x")
        .stop("END")
        .seed(1)
        .reasoning_budget(5);
    let names = OpenAiResponsesDialect.unsupported_params(&request).names();
    assert_eq!(names, ["stop", "seed", "reasoning_budget"]);
}

#[test]
fn a_reply_goes_back_as_the_items_it_came_as() {
    let reply = parse(&reasoning_and_calls()).unwrap();
    let request = ChatRequest::new("o4-mini")
        .user("Weather?")
        .message(reply.into_message())
        .message(Message::tool_result("call_a", "18"))
        .message(Message::tool_result("call_b", "24"));
    let body = body_of(&request, false);
    assert_eq!(
        body["input"],
        json!([
            {"role": "user", "content": "Weather?"},
            {"type": "reasoning", "id": "rs_1", "summary": [
                {"type": "summary_text", "text": "**A**\n\nfirst"},
                {"type": "summary_text", "text": "**B**\n\nsecond"}],
             "encrypted_content": "gAAAA-enc"},
            {"type": "function_call", "id": "fc_1", "status": "completed", "call_id": "call_a", "name": "f", "arguments": "{\"x\":1}"},
            {"type": "function_call", "id": "fc_2", "status": "completed", "call_id": "call_b", "name": "g", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_a", "output": "18"},
            {"type": "function_call_output", "call_id": "call_b", "output": "24"},
        ])
    );
}

#[test]
fn reasoning_without_its_payload_is_not_sent_and_unpairs_its_items() {
    let mut output = reasoning_and_calls();
    output["output"][0]
        .as_object_mut()
        .unwrap()
        .remove("encrypted_content");
    let reply = parse(&output).unwrap();
    let request = ChatRequest::new("o4-mini").message(reply.clone().into_message());
    let input = body_of(&request, false)["input"].clone();
    assert_eq!(
        input,
        json!([
            {"type": "function_call", "call_id": "call_a", "name": "f", "arguments": "{\"x\":1}"},
            {"type": "function_call", "call_id": "call_b", "name": "g", "arguments": "{}"},
        ])
    );
    // Under `store: true` the items are found by id: all of them go back.
    let request = request.extra("store", json!(true));
    let input = body_of(&request, false)["input"].clone();
    assert_eq!(input[0]["id"], "rs_1");
    assert!(input[0].get("encrypted_content").is_none());
    assert_eq!(input[1]["id"], "fc_1");
}

#[test]
fn other_apis_reasoning_is_never_sent() {
    let mut message = Message::assistant("Hi");
    message.reasoning = vec![
        ReasoningBlock::text("plain"),
        ReasoningBlock::text("signed").signed("sig", "anthropic"),
        ReasoningBlock::redacted("data", "anthropic"),
    ];
    let body = body_of(&ChatRequest::new("gpt-5").message(message), false);
    assert_eq!(
        body["input"],
        json!([{"role": "assistant", "content": "Hi"}])
    );
}

// ---- response ----

#[test]
fn parses_reasoning_calls_and_usage() {
    let r = parse(&reasoning_and_calls()).unwrap();
    assert_eq!((r.id.as_str(), r.model.as_str()), ("resp_1", "o4-mini"));
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        r.reasoning.as_deref(),
        Some("**A**\n\nfirst**B**\n\nsecond")
    );
    let own = |text: &str| ReasoningBlock {
        text: text.into(),
        source: Some(SOURCE.into()),
        id: Some("rs_1".into()),
        ..Default::default()
    };
    let paired = |id: &str, call: &str| ReasoningBlock {
        source: Some(SOURCE.into()),
        id: Some(id.into()),
        anchor: ReasoningAnchor::ToolCall(call.into()),
        ..Default::default()
    };
    let mut last = own("**B**\n\nsecond");
    last.encrypted = Some("gAAAA-enc".into());
    assert_eq!(
        r.message.reasoning,
        [
            own("**A**\n\nfirst"),
            last,
            paired("fc_1", "call_a"),
            paired("fc_2", "call_b")
        ]
    );
    assert_eq!(r.message.tool_calls.len(), 2);
    assert_eq!(r.message.tool_calls[1].id, "call_b");
    let mut usage = Usage::new(10, 7);
    usage.cached_tokens = Some(4);
    usage.reasoning_tokens = Some(5);
    assert_eq!(r.usage, Some(usage));
}

#[test]
fn status_gives_the_finish_reason() {
    let with = |status: &str, reason: Value| {
        let body = json!({"id": "r", "status": status, "incomplete_details": reason,
                          "output": [{"type": "message", "id": "m", "content": [{"type": "output_text", "text": "x"}]}]});
        parse(&body).unwrap().finish_reason.unwrap()
    };
    assert_eq!(with("completed", Value::Null), FinishReason::Stop);
    assert_eq!(
        with("incomplete", json!({"reason": "max_output_tokens"})),
        FinishReason::Length
    );
    assert_eq!(
        with("incomplete", json!({"reason": "content_filter"})),
        FinishReason::ContentFilter
    );
    assert_eq!(
        with("incomplete", json!({"reason": "brand_new"})),
        FinishReason::Other("brand_new".into())
    );
    assert_eq!(
        with("cancelled", Value::Null),
        FinishReason::Other("cancelled".into())
    );
}

#[test]
fn nulls_unknown_items_and_failures() {
    let body = json!({"id": null, "model": null, "status": "completed", "output": [
        {"type": "web_search_call", "id": "ws_1"},
        {"type": "message", "id": "m", "content": [
            {"type": "output_text", "text": null},
            {"type": "refusal", "refusal": "No."},
            {"type": "future_part"}]},
        null_reasoning(),
    ], "usage": {"input_tokens": null, "output_tokens": 3.0, "total_tokens": null}});
    let r = parse(&body).unwrap();
    assert_eq!(r.refusal.as_deref(), Some("No."));
    assert!(r.message.content.is_empty());
    assert_eq!(r.usage.unwrap().total_tokens, 3);
    let e =
        parse(&json!({"status": "failed", "error": {"code": "server_error", "message": "boom"}}))
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert_eq!(e.code(), Some("server_error"));
    let e = parse(&json!({"status": "failed", "error": null})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert_eq!(
        OpenAiResponsesDialect
            .parse_response(b"<html>", &ctx("m", false))
            .unwrap_err()
            .kind(),
        ErrorKind::Decode
    );
}

fn null_reasoning() -> Value {
    json!({"type": "reasoning", "id": "rs_n", "summary": null, "encrypted_content": null})
}

// ---- stream ----

fn created() -> Value {
    json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "o4-mini", "status": "in_progress", "output": []}})
}

#[test]
fn a_stream_assembles_what_the_whole_answer_gives() {
    let whole = reasoning_and_calls();
    let events = [
        created(),
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "**A**\n\n"}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "first"}),
        json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": "**B**\n\nsecond"}),
        json!({"type": "response.output_item.done", "output_index": 0, "item": whole["output"][0]}),
        json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "f", "arguments": ""}}),
        json!({"type": "response.output_item.added", "output_index": 2, "item": {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "g", "arguments": ""}}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 2, "item_id": "fc_2", "delta": "{}"}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_1", "delta": "{\"x\":"}),
        json!({"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_1", "delta": " 1}"}),
        json!({"type": "response.output_item.done", "output_index": 1, "item": whole["output"][1]}),
        json!({"type": "response.output_item.done", "output_index": 2, "item": whole["output"][2]}),
        json!({"type": "response.completed", "response": whole}),
    ];
    let (out, control) = stream(&sse(&events));
    assert_eq!(control.unwrap(), Control::Done);
    assert!(out.contains(&StreamEvent::ToolCallEnd {
        index: 0,
        arguments: "{\"x\":1}".into()
    }));
    assert_eq!(collect(out), parse(&whole).unwrap());

    // A terminal event without the output: the items of `output_item.done` stand in.
    let mut slim = events.to_vec();
    slim[13] = json!({"type": "response.completed", "response": {"id": "resp_1", "status": "completed",
                      "usage": whole["usage"]}});
    let (out, _) = stream(&sse(&slim));
    assert_eq!(collect(out), parse(&whole).unwrap());
}

#[test]
fn stream_errors_are_typed() {
    let delta =
        json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Partial"});
    let error = json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": null});
    let (out, control) = stream(&sse(&[created(), delta.clone(), error]));
    assert_eq!(out.len(), 2);
    let e = control.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.code(), Some("rate_limit_exceeded"));
    assert!(e.message().contains("Slow down"), "{e}");

    let failed = json!({"type": "response.failed", "response": {"id": "resp_1", "status": "failed",
                        "error": {"code": "server_error", "message": "The model failed"}}});
    let (out, control) = stream(&sse(&[created(), delta.clone(), failed]));
    assert_eq!(
        out[1],
        StreamEvent::TextDelta {
            text: "Partial".into()
        }
    );
    let e = control.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert!(e.message().contains("The model failed"), "{e}");

    let (_, control) = stream(&format!("{}data: [DONE]\n\n", sse(&[created(), delta])));
    assert_eq!(control.unwrap_err().kind(), ErrorKind::StreamTruncated);
    let (_, control) =
        stream("event: response.created\ndata: {\"type\":\"response.created\",\"response\":7}\n\n");
    assert_eq!(control.unwrap_err().kind(), ErrorKind::Decode);
}

#[test]
fn unknown_events_and_missing_fields_are_skipped() {
    let events = [
        json!({"type": "response.in_progress"}),
        json!({"type": "response.web_search_call.searching", "output_index": 0}),
        json!({"type": "response.output_item.added", "output_index": 0}),
        json!({"type": "response.output_text.delta", "delta": null}),
        json!({"type": "response.output_text.delta", "delta": "Hi"}),
        json!({"type": "response.completed", "response": null}),
    ];
    let (out, control) = stream(&sse(&events));
    assert_eq!(control.unwrap(), Control::Done);
    assert_eq!(
        out,
        [
            StreamEvent::Start {
                id: String::new(),
                model: String::new()
            },
            StreamEvent::TextDelta { text: "Hi".into() },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
}

#[test]
fn any_bytes_are_a_result_never_a_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 64) as usize;
        const ALPHABET: &[u8] = b"{}[]\":,type response.completed output error 0123 null";
        let bytes: Vec<u8> = (0..len)
            .map(|i| ALPHABET[(seed as usize).wrapping_add(i * 7) % ALPHABET.len()])
            .collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = OpenAiResponsesDialect.parse_response(&bytes, &ctx("m", false));
        let frame = Frame {
            event: None,
            data: text,
        };
        let _ = OpenAiResponsesDialect.parse_stream_event(
            &frame,
            &mut OpenAiResponsesStreamState::default(),
            &mut Vec::new(),
        );
    }
}

#[test]
fn a_native_body_is_sent_as_written_with_the_routes_model() {
    let item = r#"{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAA=="}"#;
    let written = format!(
        r#"{{"model":"x","stream":true,"store":true,"new_field":[1.50],"input":[{item},{{"role":"user","content":"hi"}}]}}"#
    );
    let native = crate::types::NativeBody::new(SOURCE, written).unwrap();
    let request = ChatRequest::new("gpt-5").user("hi").native(native);
    let parts = OpenAiResponsesDialect
        .build_request(&request, &ctx("gpt-5", false))
        .unwrap();
    let sent = std::str::from_utf8(parts.body.as_deref().unwrap()).unwrap();
    assert!(sent.contains(item), "{sent}");
    assert!(sent.contains(r#""new_field":[1.50]"#), "{sent}");
    let body: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(
        (body["model"].as_str(), body.get("stream")),
        (Some("gpt-5"), None)
    );
    assert_eq!(body["store"], true);
    assert!(body.get("include").is_none());
}
