//! Tool arguments exactly as the model sent them (issue 23, class 6), for
//! every dialect, whole and streamed, over loopback.
//!
//! Each dialect's mock answers with one tool call whose arguments carry long
//! floats, integers past `u64`, keys out of order and unicode escapes; the
//! call's `arguments` must be that text byte for byte (from `chat` and from
//! `chat_stream().collect_response()`, the stream's pieces split inside
//! tokens), and the next turn's request must carry it unchanged: as the
//! object itself where the wire takes an object (Anthropic `input`, Gemini
//! `args`, Converse `input`, Ollama `arguments`), as the same JSON string where
//! it takes a string (OpenAI, Cohere, Responses).
//!
//! Where a wire carries an object, the whitespace between its tokens is the
//! provider's serialization, not the model's text: such arguments come back
//! without it (`{"a": 1}` is `{"a":1}`), the same streamed or not.

mod common;

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use llm_runtime::providers::connect_to;
use llm_runtime::stream::encode_event_message;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ChatResponse, LlmProvider, Message, Tool};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use common::KEY;

/// The concrete arguments of the issue, compact.
const HARD: &str = r#"{"b":1,"a":{"d":2,"c":3},"x":-98533050.73064269,"n":123456789012345678901234567890,"u":"\u00e9\ud83d\ude00","f":[1e400,-0.0,5E-324,0.1000000000000000055511151231257827]}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Ollama,
    Cohere,
    Converse,
    Responses,
}

const WIRES: [Wire; 7] = [
    Wire::OpenAi,
    Wire::Anthropic,
    Wire::Gemini,
    Wire::Ollama,
    Wire::Cohere,
    Wire::Converse,
    Wire::Responses,
];

impl Wire {
    /// The built-in provider that speaks it.
    fn provider(self) -> &'static str {
        match self {
            Wire::OpenAi => "openai",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gemini",
            Wire::Ollama => "ollama",
            Wire::Cohere => "cohere",
            Wire::Converse => "bedrock",
            Wire::Responses => "openai_responses",
        }
    }

    /// Whether the wire carries the arguments as a JSON object (else a string).
    fn takes_an_object(self) -> bool {
        matches!(
            self,
            Wire::Anthropic | Wire::Gemini | Wire::Ollama | Wire::Converse
        )
    }

    /// The whole answer with one call of `f` with `args`.
    fn whole(self, args: &str) -> MockResponse {
        let s = js(args);
        let body = match self {
            Wire::OpenAi => format!(
                r#"{{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":null,"tool_calls":[{{"id":"call_1","type":"function","function":{{"name":"f","arguments":{s}}}}}]}},"finish_reason":"tool_calls"}}]}}"#
            ),
            Wire::Anthropic => format!(
                r#"{{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{{"type":"tool_use","id":"toolu_1","name":"f","input":{args}}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{{"input_tokens":1,"output_tokens":1}}}}"#
            ),
            Wire::Gemini => gemini_event(args),
            Wire::Ollama => format!(
                r#"{{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{{"role":"assistant","content":"","tool_calls":[{{"function":{{"name":"f","arguments":{args}}}}}]}},"done":true,"done_reason":"stop"}}"#
            ),
            Wire::Cohere => format!(
                r#"{{"id":"r1","finish_reason":"TOOL_CALL","message":{{"role":"assistant","tool_plan":"","tool_calls":[{{"id":"f_1","type":"function","function":{{"name":"f","arguments":{s}}}}}]}}}}"#
            ),
            Wire::Converse => format!(
                r#"{{"output":{{"message":{{"role":"assistant","content":[{{"toolUse":{{"toolUseId":"t1","name":"f","input":{args}}}}}]}}}},"stopReason":"tool_use","usage":{{"inputTokens":1,"outputTokens":1,"totalTokens":2}}}}"#
            ),
            Wire::Responses => format!(
                r#"{{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"m","output":[{{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":{s},"status":"completed"}}],"usage":{{"input_tokens":1,"output_tokens":1,"total_tokens":2}}}}"#
            ),
        };
        MockResponse::text(200, "application/json", body)
    }

    /// The streamed answer: the arguments in `pieces` where the wire streams
    /// them in pieces, whole where it sends whole calls (Gemini, Ollama).
    fn streamed(self, args: &str, pieces: &[&str]) -> MockResponse {
        // An SSE or NDJSON line holds no line break (outside strings JSON has
        // only whitespace ones).
        let one_line = args.replace(['\n', '\r'], " ");
        match self {
            Wire::OpenAi => {
                let chunk = |delta: String, finish: &str| {
                    format!(
                        r#"data: {{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{delta},"finish_reason":{finish}}}]}}"#
                    )
                };
                let mut events = vec![chunk(
                    r#"{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}"#.to_owned(),
                    "null",
                )];
                events.extend(pieces.iter().map(|p| {
                    chunk(
                        format!(
                            r#"{{"tool_calls":[{{"index":0,"function":{{"arguments":{}}}}}]}}"#,
                            js(p)
                        ),
                        "null",
                    )
                }));
                events.push(chunk("{}".to_owned(), r#""tool_calls""#));
                events.push("data: [DONE]".to_owned());
                sse(events)
            }
            Wire::Anthropic => {
                let mut events = vec![
                    r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#.to_owned(),
                    r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#.to_owned(),
                ];
                events.extend(pieces.iter().map(|p| format!(
                    "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{}}}}}",
                    js(p)
                )));
                events.push("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}".to_owned());
                events.push("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":1}}".to_owned());
                events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}".to_owned());
                sse(events)
            }
            Wire::Gemini => sse([format!("data: {}", gemini_event(&one_line))]),
            Wire::Ollama => MockResponse::ndjson([
                format!(
                    r#"{{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{{"role":"assistant","content":"","tool_calls":[{{"function":{{"name":"f","arguments":{one_line}}}}}]}},"done":false}}"#
                ),
                r#"{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#.to_owned(),
            ]),
            Wire::Cohere => {
                let mut events = vec![
                    r#"event: message-start
data: {"id":"r1","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#.to_owned(),
                    r#"event: tool-call-start
data: {"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"f_1","type":"function","function":{"name":"f","arguments":""}}}}}"#.to_owned(),
                ];
                events.extend(pieces.iter().map(|p| format!(
                    "event: tool-call-delta\ndata: {{\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{{\"message\":{{\"tool_calls\":{{\"function\":{{\"arguments\":{}}}}}}}}}}}",
                    js(p)
                )));
                events.push("event: tool-call-end\ndata: {\"type\":\"tool-call-end\",\"index\":0}".to_owned());
                events.push("event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"TOOL_CALL\"}}".to_owned());
                sse(events)
            }
            Wire::Converse => {
                let frame = |event: &str, payload: String| {
                    encode_event_message(
                        &[(":message-type", "event"), (":event-type", event)],
                        payload.as_bytes(),
                    )
                };
                let mut frames = vec![
                    frame("messageStart", r#"{"role":"assistant"}"#.to_owned()),
                    frame(
                        "contentBlockStart",
                        r#"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t1","name":"f"}}}"#.to_owned(),
                    ),
                ];
                frames.extend(pieces.iter().map(|p| {
                    frame(
                        "contentBlockDelta",
                        format!(
                            r#"{{"contentBlockIndex":0,"delta":{{"toolUse":{{"input":{}}}}}}}"#,
                            js(p)
                        ),
                    )
                }));
                frames.push(frame("contentBlockStop", r#"{"contentBlockIndex":0}"#.to_owned()));
                frames.push(frame("messageStop", r#"{"stopReason":"tool_use"}"#.to_owned()));
                frames.push(frame(
                    "metadata",
                    r#"{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2},"metrics":{"latencyMs":1}}"#.to_owned(),
                ));
                MockResponse::raw_body_chunks(frames)
                    .header("content-type", "application/vnd.amazon.eventstream")
            }
            Wire::Responses => {
                let s = js(args);
                let mut events = vec![
                    r#"event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","object":"response","created_at":1,"status":"in_progress","model":"m","output":[]}}"#.to_owned(),
                    r#"event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"fc_1","type":"function_call","status":"in_progress","arguments":"","call_id":"call_1","name":"f"}}"#.to_owned(),
                ];
                events.extend(pieces.iter().map(|p| format!(
                    "event: response.function_call_arguments.delta\ndata: {{\"type\":\"response.function_call_arguments.delta\",\"sequence_number\":2,\"item_id\":\"fc_1\",\"output_index\":0,\"delta\":{}}}",
                    js(p)
                )));
                events.push(format!("event: response.function_call_arguments.done\ndata: {{\"type\":\"response.function_call_arguments.done\",\"sequence_number\":3,\"item_id\":\"fc_1\",\"output_index\":0,\"arguments\":{s}}}"));
                events.push(format!("event: response.output_item.done\ndata: {{\"type\":\"response.output_item.done\",\"sequence_number\":4,\"output_index\":0,\"item\":{{\"id\":\"fc_1\",\"type\":\"function_call\",\"status\":\"completed\",\"arguments\":{s},\"call_id\":\"call_1\",\"name\":\"f\"}}}}"));
                events.push(format!("event: response.completed\ndata: {{\"type\":\"response.completed\",\"sequence_number\":5,\"response\":{{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"status\":\"completed\",\"model\":\"m\",\"output\":[{{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":{s},\"status\":\"completed\"}}],\"usage\":{{\"input_tokens\":1,\"output_tokens\":1,\"total_tokens\":2}}}}}}"));
                sse(events)
            }
        }
    }
}

/// `text` as a JSON string.
fn js(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

fn gemini_event(args: &str) -> String {
    format!(
        r#"{{"candidates":[{{"content":{{"role":"model","parts":[{{"functionCall":{{"name":"f","args":{args}}}}}]}},"finishReason":"STOP","index":0}}],"modelVersion":"m","responseId":"r1"}}"#
    )
}

fn sse(events: impl IntoIterator<Item = String>) -> MockResponse {
    let body: String = events.into_iter().map(|e| e + "\n\n").collect();
    MockResponse::sse([body])
}

/// `text` cut in three at character boundaries (inside tokens, as a model's
/// pieces are).
fn pieces(text: &str) -> Vec<&str> {
    let cut = |n: usize| {
        (n..=text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len())
    };
    let (a, b) = (cut(text.len() / 3), cut(2 * text.len() / 3));
    [&text[..a], &text[a..b], &text[b..]]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect()
}

struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
    clients: Vec<(Wire, Arc<dyn LlmProvider>)>,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let server = rt.block_on(MockServer::start());
    let clients = WIRES
        .iter()
        .map(|&wire| {
            let spec = llm_runtime::providers::specs()
                .find(|s| s.name == wire.provider())
                .expect("a built-in");
            let after_scheme = spec.base_url.split_once("://").map_or("", |(_, r)| r);
            let base_path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
            let base = format!("{}{base_path}", server.url());
            let client = connect_to(spec.name, &base, KEY, &[("region", "us-east-1")])
                .expect("a built-in")
                .expect("a loopback config");
            (wire, client)
        })
        .collect();
    Harness {
        rt,
        server,
        clients,
    }
});

/// What one round trip gave: the arguments read whole and streamed, and
/// the next turn's request body.
struct RoundTrip {
    whole: String,
    streamed: String,
    next_body: String,
}

fn round_trip(wire: Wire, client: &Arc<dyn LlmProvider>, args: &str) -> RoundTrip {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let h = &*HARNESS;
    let tool = Tool::function("f", "a tool", json!({"type": "object"}));
    let request = ChatRequest::new("m").user("call f").tool(tool);
    let arguments = |r: &ChatResponse| {
        assert_eq!(r.message.tool_calls.len(), 1, "{wire:?}: {r:?}");
        r.message.tool_calls[0].arguments.clone()
    };
    h.rt.block_on(async {
        h.server.fallback(wire.whole(args));
        let reply = client.chat(request.clone()).await.expect("a tool call");
        let whole = arguments(&reply);
        h.server.fallback(wire.streamed(args, &pieces(args)));
        let stream = client.chat_stream(request.clone()).await.expect("a stream");
        let streamed = arguments(
            &stream
                .collect_response()
                .await
                .expect("a streamed tool call"),
        );
        let mut next = request.clone();
        next.push_reply(&reply);
        let id = reply.message.tool_calls[0].id.clone();
        next = next.message(Message::tool_result(id, "done"));
        let before = h.server.request_count();
        h.server.fallback(wire.whole("{}"));
        client.chat(next).await.expect("the next turn");
        let sent = h.server.requests().remove(before);
        RoundTrip {
            whole,
            streamed,
            next_body: String::from_utf8(sent.body.to_vec()).expect("a UTF-8 body"),
        }
    })
}

/// The arguments a call gives for `args` sent on `wire`: the text itself, or
/// for an object wire the text without whitespace between tokens.
fn expected(wire: Wire, args: &str) -> String {
    if wire.takes_an_object() {
        compact(args)
    } else {
        args.to_owned()
    }
}

/// JSON text without whitespace outside strings.
fn compact(json: &str) -> String {
    let (mut out, mut in_string, mut escaped) = (String::new(), false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

fn check(wire: Wire, client: &Arc<dyn LlmProvider>, args: &str) -> Result<(), TestCaseError> {
    let got = round_trip(wire, client, args);
    let want = expected(wire, args);
    prop_assert_eq!(&got.whole, &want, "{:?} whole", wire);
    prop_assert_eq!(&got.streamed, &want, "{:?} streamed", wire);
    // Sent back as it came: the object's text, or that text as a JSON string.
    let sent_form = if wire.takes_an_object() {
        want.clone()
    } else {
        js(&want)
    };
    prop_assert!(
        got.next_body.contains(&sent_form),
        "{:?}: the next turn does not carry {} verbatim: {}",
        wire,
        sent_form,
        got.next_body
    );
    Ok(())
}

#[test]
fn the_hard_arguments_come_back_and_go_back_byte_for_byte() {
    for (wire, client) in &HARNESS.clients {
        check(*wire, client, HARD).unwrap();
        // Pretty-printed (as a provider may serialize the object).
        let pretty = "{\n  \"z\": -98533050.73064269,\n  \"a\" : [1, 2],\t\"s\": \"a b\\\" {\"\n}";
        check(*wire, client, pretty).unwrap();
    }
}

/// JSON text built token by token: number texts no `f64` keeps, keys in any
/// order, strings with escapes (surrogate pairs included), nesting.
fn json_text() -> impl Strategy<Value = String> {
    let number = "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?";
    let string = prop::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9 ]{1,4}",
            Just("\\u00e9".to_owned()),
            Just("\\ud83d\\ude00".to_owned()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\n".to_owned()),
            Just("\\/".to_owned()),
            Just("é日😀".to_owned()),
        ],
        0..5,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    let leaf = prop_oneof![
        number.prop_map(|n| n.to_owned()),
        string.clone(),
        Just("true".to_owned()),
        Just("false".to_owned()),
        Just("null".to_owned()),
    ];
    let value = leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            object(inner),
        ]
    });
    object(value)
}

/// An object of `values` under distinct keys, in the order generated.
fn object(values: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop::collection::vec(("[a-zA-Z_]{1,6}", values), 0..6).prop_map(|fields| {
        let mut seen = std::collections::HashSet::new();
        let fields: Vec<String> = fields
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .map(|(k, v)| format!("\"{k}\":{v}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
}

#[test]
fn generated_arguments_round_trip_on_every_wire() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&json_text(), |args| {
            for (wire, client) in &HARNESS.clients {
                check(*wire, client, &args)?;
            }
            Ok(())
        })
        .unwrap();
}
