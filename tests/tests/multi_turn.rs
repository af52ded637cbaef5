//! Multi-turn fidelity over real HTTP on 127.0.0.1 (issue 13): three-turn
//! tool loops with reasoning for Anthropic and Gemini, streamed and not, built
//! only from the public API, where the recorded requests must carry every
//! signature (and redacted block) back exactly where its API wants it; prompt
//! cache breakpoints; cache usage and its cost; Gemini tool schemas.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use llm_runtime::dialects::gemini::function_schema;
use llm_runtime::providers::{Anthropic, Gemini, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer, assert_split_invariant, replay_response};
use llm_runtime::{
    ChatRequest, ChatResponse, Message, Provider, ProviderClient, ProviderConfig, Tool, catalog,
    provider::{RequestContext, Transform},
    types::{CacheBreakpoint, CacheTtl, ReasoningAnchor, ReasoningBlock},
};
use llm_runtime::{dialects::anthropic::AnthropicDialect, dialects::gemini::GeminiDialect};
use serde_json::{Value, json};

const KEY: &str = "sk-multi-turn-test";
const ANTHROPIC_PATH: &str = "/v1/messages";
const GEMINI_MODEL: &str = "gemini-3-pro-preview";

fn connect<P: Provider + Default>(server: &MockServer, base: &str) -> ProviderClient<P> {
    ProviderConfig::new(P::default())
        .api_key(KEY)
        .base_url(format!("{}{base}", server.url()))
        .max_retries(0)
        .timeout(Duration::from_secs(10))
        .connect()
        .unwrap()
}

fn weather_tool() -> Tool {
    Tool::function(
        "get_weather",
        "The weather in a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

async fn call<P: Provider>(
    client: &ProviderClient<P>,
    request: &ChatRequest,
    stream: bool,
) -> ChatResponse {
    if stream {
        client
            .chat_stream(request.clone())
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap()
    } else {
        client.chat(request.clone()).await.unwrap()
    }
}

/// The agent loop of a caller: ask, answer every tool call, until the model
/// stops calling tools; only public API. Returns the replies.
async fn tool_loop<P: Provider>(
    client: &ProviderClient<P>,
    mut request: ChatRequest,
    stream: bool,
) -> Vec<ChatResponse> {
    let mut replies = Vec::new();
    for _ in 0..3 {
        let reply = call(client, &request, stream).await;
        request.push_reply(&reply);
        for call in &reply.message.tool_calls {
            let city = call.arguments_json().unwrap()["city"].clone();
            request
                .messages
                .push(Message::tool_result(&call.id, format!("18°C in {city}")));
        }
        let done = reply.message.tool_calls.is_empty();
        replies.push(reply);
        if done {
            break;
        }
    }
    replies
}

// ---- Anthropic ----

/// A Messages API answer made of `blocks`, non-streamed.
fn anthropic_json(id: &str, blocks: &[Value], stop: &str) -> Value {
    json!({
        "id": id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": blocks, "stop_reason": stop, "stop_sequence": null,
        "usage": {"input_tokens": 50, "output_tokens": 40, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    })
}

/// The same answer as the event stream the API sends: text and thinking in
/// two deltas, the signature as a `signature_delta`, tool input as
/// `input_json_delta` pieces with the model's own whitespace.
fn anthropic_sse(id: &str, blocks: &[Value], stop: &str) -> String {
    let mut events = vec![
        json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 50, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}),
    ];
    for (index, block) in blocks.iter().enumerate() {
        let delta =
            |delta: Value| json!({"type": "content_block_delta", "index": index, "delta": delta});
        match block["type"].as_str().unwrap() {
            "thinking" => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}));
                let text = block["thinking"].as_str().unwrap();
                let (a, b) = text.split_at(text.len() / 2);
                events.push(delta(json!({"type": "thinking_delta", "thinking": a})));
                events.push(delta(json!({"type": "thinking_delta", "thinking": b})));
                events.push(delta(
                    json!({"type": "signature_delta", "signature": block["signature"]}),
                ));
            }
            "redacted_thinking" => {
                events.push(
                    json!({"type": "content_block_start", "index": index, "content_block": block}),
                );
            }
            "text" => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}));
                events.push(delta(json!({"type": "text_delta", "text": block["text"]})));
            }
            "tool_use" => {
                events.push(json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}));
                let city = block["input"]["city"].as_str().unwrap();
                events.push(delta(
                    json!({"type": "input_json_delta", "partial_json": "{\"city\": "}),
                ));
                events.push(delta(
                    json!({"type": "input_json_delta", "partial_json": format!("\"{city}\"}}")}),
                ));
            }
            other => panic!("{other}"),
        }
        events.push(json!({"type": "content_block_stop", "index": index}));
    }
    events.push(json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 40}}));
    events.push(json!({"type": "message_stop"}));
    events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect()
}

fn anthropic_turns() -> Vec<(&'static str, Vec<Value>, &'static str)> {
    vec![
        (
            "msg_1",
            vec![
                json!({"type": "thinking", "thinking": "The user wants Paris weather; call the tool.", "signature": "EqQBsig-turn-1=="}),
                json!({"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/redacted-1=="}),
                json!({"type": "text", "text": "Checking Paris."}),
                json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}),
            ],
            "tool_use",
        ),
        (
            "msg_2",
            vec![
                json!({"type": "thinking", "thinking": "Paris done; Rome next.", "signature": "EqQBsig-turn-2=="}),
                json!({"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}),
            ],
            "tool_use",
        ),
        (
            "msg_3",
            vec![json!({"type": "text", "text": "Paris and Rome are both 18°C."})],
            "end_turn",
        ),
    ]
}

async fn anthropic_loop(stream: bool) {
    let server = MockServer::start().await;
    let responses = anthropic_turns()
        .into_iter()
        .map(|(id, blocks, stop)| {
            if stream {
                MockResponse::sse([anthropic_sse(id, &blocks, stop)])
            } else {
                MockResponse::json(200, anthropic_json(id, &blocks, stop))
            }
        })
        .collect();
    server.on_sequence("POST", ANTHROPIC_PATH, responses);
    let client = connect::<Anthropic>(&server, "/v1");
    let request = ChatRequest::new("claude-sonnet-4-5")
        .user("Weather in Paris, then Rome?")
        .tool(weather_tool())
        .reasoning_budget(2048);
    let replies = tool_loop(&client, request, stream).await;
    assert_eq!(replies.len(), 3, "stream: {stream}");
    assert_eq!(replies[2].text(), "Paris and Rome are both 18°C.");
    assert_eq!(
        replies[0].message.reasoning,
        [
            ReasoningBlock::text("The user wants Paris weather; call the tool.")
                .signed("EqQBsig-turn-1==", "anthropic"),
            ReasoningBlock::redacted("EmwKAhgBEgy3va3pzix/redacted-1==", "anthropic"),
        ]
    );

    let sent: Vec<Value> = server.requests().iter().map(|r| r.body_json()).collect();
    assert_eq!(sent.len(), 3);
    let turn_1 = json!({"role": "assistant", "content": [
        {"type": "thinking", "thinking": "The user wants Paris weather; call the tool.", "signature": "EqQBsig-turn-1=="},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/redacted-1=="},
        {"type": "text", "text": "Checking Paris."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]});
    let result_1 = json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C in \"Paris\""},
    ]});
    assert_eq!(
        sent[1]["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris, then Rome?"}]},
            turn_1,
            result_1,
        ]),
        "stream: {stream}"
    );
    assert_eq!(
        sent[2]["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris, then Rome?"}]},
            turn_1,
            result_1,
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Paris done; Rome next.", "signature": "EqQBsig-turn-2=="},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "18°C in \"Rome\""},
            ]},
        ]),
        "stream: {stream}"
    );
}

#[tokio::test]
async fn anthropic_three_turn_tool_loop_sends_signed_and_redacted_thinking_back() {
    anthropic_loop(false).await;
}

#[tokio::test]
async fn anthropic_three_turn_tool_loop_streamed() {
    anthropic_loop(true).await;
}

#[test]
fn anthropic_streams_with_thinking_and_signatures_are_split_invariant() {
    for (id, blocks, stop) in anthropic_turns() {
        let sse = anthropic_sse(id, &blocks, stop);
        assert_split_invariant(&AnthropicDialect, sse.as_bytes());
        let whole = serde_json::to_vec(&anthropic_json(id, &blocks, stop)).unwrap();
        let ctx = ctx::<Anthropic>("claude-sonnet-4-5");
        let parsed = AnthropicDialect.parse_response(&whole, &ctx).unwrap();
        assert_eq!(
            replay_response(&AnthropicDialect, sse.as_bytes().chunks(7)).unwrap(),
            parsed,
            "{id}"
        );
    }
}

fn ctx<P: Provider>(model: &'static str) -> RequestContext<'static> {
    RequestContext::new(&P::SPEC, model, false)
}

// ---- Gemini ----

fn gemini_turns() -> Vec<Vec<Value>> {
    vec![
        // Parallel calls: only the first carries the signature.
        vec![
            json!({"text": "Two cities: call the tool for both.", "thought": true}),
            json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBgsig-step-1"}),
            json!({"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}}),
        ],
        // A sequential step: its call carries its own signature.
        vec![
            json!({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "CiQBgsig-step-2"}),
        ],
        // The answer: the signature rides on the text.
        vec![json!({"text": "All three are 18°C.", "thoughtSignature": "CiQBgsig-text-3"})],
    ]
}

fn gemini_json(parts: &[Value]) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 10, "totalTokenCount": 60, "thoughtsTokenCount": 20},
        "modelVersion": GEMINI_MODEL, "responseId": "resp-1",
    })
}

/// The same answer streamed: one part per event, thought text in two events,
/// a text part's signature in a last event of its own with empty text (as the
/// API sends it).
fn gemini_sse(parts: &[Value]) -> String {
    let mut chunks: Vec<Vec<Value>> = Vec::new();
    for part in parts {
        match part.get("text").and_then(Value::as_str) {
            Some(text) => {
                let (a, b) = text.split_at(text.len() / 2);
                let mut first = part.clone();
                first["text"] = json!(a);
                let mut second = part.clone();
                second["text"] = json!(b);
                if let Some(obj) = first.as_object_mut() {
                    obj.remove("thoughtSignature");
                }
                if part.get("thought").is_none() && part.get("thoughtSignature").is_some() {
                    if let Some(obj) = second.as_object_mut() {
                        obj.remove("thoughtSignature");
                    }
                    chunks.push(vec![first]);
                    chunks.push(vec![second]);
                    chunks.push(vec![
                        json!({"text": "", "thoughtSignature": part["thoughtSignature"]}),
                    ]);
                } else {
                    chunks.push(vec![first]);
                    chunks.push(vec![second]);
                }
            }
            None => chunks.push(vec![part.clone()]),
        }
    }
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, parts)| {
            let mut event = json!({
                "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
                "modelVersion": GEMINI_MODEL, "responseId": "resp-1",
            });
            if i + 1 == n {
                event["candidates"][0]["finishReason"] = json!("STOP");
                event["usageMetadata"] = json!({"promptTokenCount": 30, "candidatesTokenCount": 10, "totalTokenCount": 60, "thoughtsTokenCount": 20});
            }
            format!("data: {event}\n\n")
        })
        .collect()
}

async fn gemini_loop(stream: bool) {
    let server = MockServer::start().await;
    let (path, responses): (_, Vec<MockResponse>) = if stream {
        (
            format!("/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"),
            gemini_turns()
                .iter()
                .map(|p| MockResponse::sse([gemini_sse(p)]))
                .collect(),
        )
    } else {
        (
            format!("/v1beta/models/{GEMINI_MODEL}:generateContent"),
            gemini_turns()
                .iter()
                .map(|p| MockResponse::json(200, gemini_json(p)))
                .collect(),
        )
    };
    server.on_sequence("POST", &path, responses);
    let client = connect::<Gemini>(&server, "/v1beta");
    let request = ChatRequest::new(GEMINI_MODEL)
        .user("Weather in Paris, Rome and Oslo?")
        .tool(weather_tool())
        .reasoning_budget(1024);
    let replies = tool_loop(&client, request, stream).await;
    assert_eq!(replies.len(), 3, "stream: {stream}");
    assert_eq!(
        replies[0].message.reasoning,
        [
            ReasoningBlock::text("Two cities: call the tool for both."),
            ReasoningBlock::default()
                .signed("CiQBgsig-step-1", "gemini")
                .anchored(ReasoningAnchor::ToolCall("call_0".into())),
        ],
        "stream: {stream}"
    );
    assert_eq!(
        replies[2].message.reasoning,
        [ReasoningBlock::default()
            .signed("CiQBgsig-text-3", "gemini")
            .anchored(ReasoningAnchor::Text)]
    );

    let sent: Vec<Value> = server.requests().iter().map(|r| r.body_json()).collect();
    assert_eq!(sent.len(), 3);
    let step_1 = json!({"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBgsig-step-1"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
    ]});
    let results_1 = json!({"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"result": "18°C in \"Paris\""}}},
        {"functionResponse": {"name": "get_weather", "response": {"result": "18°C in \"Rome\""}}},
    ]});
    let question = json!({"role": "user", "parts": [{"text": "Weather in Paris, Rome and Oslo?"}]});
    assert_eq!(
        sent[1]["contents"],
        json!([question, step_1, results_1]),
        "stream: {stream}"
    );
    assert_eq!(
        sent[2]["contents"],
        json!([
            question,
            step_1,
            results_1,
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "CiQBgsig-step-2"},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"result": "18°C in \"Oslo\""}}},
            ]},
        ]),
        "stream: {stream}"
    );

    // The next turn sends the answer's text signature back on the text.
    let mut next = ChatRequest::new(GEMINI_MODEL).user("Thanks.");
    next.messages.push(replies[2].clone().into_message());
    let body = GeminiDialect
        .build_request(&next, &ctx::<Gemini>(GEMINI_MODEL))
        .unwrap();
    let body: Value = serde_json::from_slice(body.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [{"text": "All three are 18°C.", "thoughtSignature": "CiQBgsig-text-3"}]})
    );
}

#[tokio::test]
async fn gemini_three_turn_tool_loop_sends_thought_signatures_back_on_their_parts() {
    gemini_loop(false).await;
}

#[tokio::test]
async fn gemini_three_turn_tool_loop_streamed() {
    gemini_loop(true).await;
}

#[test]
fn gemini_streams_with_thoughts_and_signatures_are_split_invariant() {
    for parts in gemini_turns() {
        let sse = gemini_sse(&parts);
        assert_split_invariant(&GeminiDialect, sse.as_bytes());
        let whole = serde_json::to_vec(&gemini_json(&parts)).unwrap();
        let parsed = GeminiDialect
            .parse_response(&whole, &ctx::<Gemini>(GEMINI_MODEL))
            .unwrap();
        assert_eq!(
            replay_response(&GeminiDialect, sse.as_bytes().chunks(5)).unwrap(),
            parsed
        );
    }
}

#[test]
fn signatures_of_another_api_are_not_sent() {
    // A Gemini reply continued on Anthropic (a fallback): the Gemini signature
    // would be rejected there, so only the text and calls go.
    let reply = GeminiDialect
        .parse_response(
            &serde_json::to_vec(&gemini_json(&gemini_turns()[0])).unwrap(),
            &ctx::<Gemini>(GEMINI_MODEL),
        )
        .unwrap();
    let mut request = ChatRequest::new("claude-sonnet-4-5").user("Weather?");
    request.push_reply(&reply);
    let parts = AnthropicDialect
        .build_request(&request, &ctx::<Anthropic>("claude-sonnet-4-5"))
        .unwrap();
    let body: Value = serde_json::from_slice(parts.body.as_deref().unwrap()).unwrap();
    let assistant = &body["messages"][1]["content"];
    assert_eq!(assistant[0]["type"], "tool_use", "{assistant}");
    assert!(!body.to_string().contains("CiQBgsig"), "{body}");
}

// ---- prompt caching ----

#[tokio::test]
async fn anthropic_cache_control_lands_exactly_on_the_marked_breakpoints() {
    let server = MockServer::start().await;
    let (id, blocks, stop) = anthropic_turns().remove(2);
    server.on(
        "POST",
        ANTHROPIC_PATH,
        MockResponse::json(200, anthropic_json(id, &blocks, stop)),
    );
    let client = connect::<Anthropic>(&server, "/v1");
    let request = ChatRequest::new("claude-sonnet-4-5")
        .system("You are a weather bot. (A long, stable prompt.)")
        .cache_breakpoint(CacheBreakpoint::ttl(CacheTtl::OneHour))
        .system("Today is Monday.")
        .tool(Tool::function(
            "get_time",
            "The time.",
            json!({"type": "object"}),
        ))
        .tool(weather_tool().cached(CacheBreakpoint::new()))
        .user("Earlier question.")
        .assistant("Earlier answer.")
        .cache_breakpoint(CacheBreakpoint::new())
        .message(Message::user("Weather in Paris?"));
    client.chat(request).await.unwrap();
    let body = server.requests()[0].body_json();
    assert_eq!(
        body["system"],
        json!([
            {"type": "text", "text": "You are a weather bot. (A long, stable prompt.)", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "Today is Monday."},
        ])
    );
    assert!(body["tools"][0].get("cache_control").is_none());
    assert_eq!(
        body["tools"][1]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Earlier question."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Earlier answer.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        ])
    );
    // Three breakpoints asked for, three sent (the API allows four).
    assert_eq!(body.to_string().matches("cache_control").count(), 3);
}

#[test]
fn cache_keys_and_named_caches_go_where_each_api_takes_them() {
    let request = ChatRequest::new("m")
        .user("Hi")
        .cache_key("tenant-7")
        .cached_content("cachedContents/abc123");
    let openai = OpenAi;
    assert_eq!(
        openai.wire().unsupported_params(&request),
        ["cached_content"]
    );
    let gemini = GeminiDialect;
    assert_eq!(gemini.unsupported_params(&request), ["cache_key"]);
    assert_eq!(
        AnthropicDialect.unsupported_params(&request),
        ["cache_key", "cached_content"]
    );
    let gemini_body = GeminiDialect
        .build_request(
            &ChatRequest::new("m")
                .user("Hi")
                .cached_content("cachedContents/abc123"),
            &ctx::<Gemini>("gemini-2.5-flash"),
        )
        .unwrap();
    let gemini_body: Value = serde_json::from_slice(gemini_body.body.as_deref().unwrap()).unwrap();
    assert_eq!(gemini_body["cachedContent"], "cachedContents/abc123");
    let openai_body = llm_runtime::dialects::openai::chat_body(
        &ChatRequest::new("m").user("Hi").cache_key("tenant-7"),
        false,
    )
    .unwrap();
    assert_eq!(openai_body["prompt_cache_key"], "tenant-7");
}

// ---- cache usage, per dialect, and its cost ----

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn cache_reads_and_writes_decode_for_every_dialect_that_reports_them() {
    // Anthropic: writes and reads, apart from `input_tokens`.
    let server = MockServer::start().await;
    server.on(
        "POST",
        ANTHROPIC_PATH,
        MockResponse::bytes(200, fixture("anthropic/cache_usage.json"))
            .header("content-type", "application/json"),
    );
    let r = connect::<Anthropic>(&server, "/v1")
        .chat(ChatRequest::new("claude-sonnet-4-5").user("Hi"))
        .await
        .unwrap();
    let u = r.usage.unwrap();
    assert_eq!(u.prompt_tokens, 12 + 1_800 + 6_000);
    assert_eq!(
        (u.cached_tokens, u.cache_write_tokens),
        (Some(6_000), Some(1_800))
    );
    // $3 per million uncached, $0.30 read, $3.75 written, $15 out.
    let cost = catalog::response_cost(&r).expect("priced");
    let expected = (12.0 * 3.0 + 6_000.0 * 0.30 + 1_800.0 * 3.75 + 90.0 * 15.0) / 1e6;
    assert!((cost.total_usd - expected).abs() < 1e-12, "{cost:?}");
    assert!((cost.cache_write_usd - 1_800.0 * 3.75 / 1e6).abs() < 1e-12);

    // The stream reports the same.
    server.on(
        "POST",
        ANTHROPIC_PATH,
        MockResponse::sse([fixture("anthropic/cache_usage.sse")]),
    );
    let streamed = connect::<Anthropic>(&server, "/v1")
        .chat_stream(ChatRequest::new("claude-sonnet-4-5").user("Hi"))
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap();
    assert_eq!(streamed.usage, Some(u));

    // OpenAI: `prompt_tokens_details.cached_tokens`.
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::bytes(200, fixture("openai/chat_cached.json"))
            .header("content-type", "application/json"),
    );
    let r = connect::<OpenAi>(&server, "/v1")
        .chat(ChatRequest::new("gpt-4o").user("Hi"))
        .await
        .unwrap();
    let u = r.usage.unwrap();
    assert_eq!(
        (u.prompt_tokens, u.cached_tokens, u.cache_write_tokens),
        (2_006, Some(1_920), None)
    );
    let cost = catalog::response_cost(&r).expect("priced");
    let expected = (86.0 * 2.50 + 1_920.0 * 1.25 + 300.0 * 10.0) / 1e6;
    assert!((cost.total_usd - expected).abs() < 1e-12, "{cost:?}");

    // DeepSeek (OpenAI-compatible): `prompt_cache_hit_tokens`.
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::bytes(200, fixture("openai/chat_cached_deepseek.json"))
            .header("content-type", "application/json"),
    );
    let r = connect::<OpenAi>(&server, "/v1")
        .chat(ChatRequest::new("deepseek-chat").user("Hi"))
        .await
        .unwrap();
    assert_eq!(r.usage.unwrap().cached_tokens, Some(1_024));

    // Gemini: `cachedContentTokenCount`, part of `promptTokenCount`.
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        MockResponse::bytes(200, fixture("gemini/cached.json"))
            .header("content-type", "application/json"),
    );
    let r = connect::<Gemini>(&server, "/v1beta")
        .chat(
            ChatRequest::new("gemini-2.5-flash")
                .user("Hi")
                .cached_content("cachedContents/abc123"),
        )
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].body_json()["cachedContent"],
        "cachedContents/abc123"
    );
    let u = r.usage.unwrap();
    assert_eq!((u.prompt_tokens, u.cached_tokens), (4_120, Some(4_096)));
    let cost = catalog::response_cost(&r).expect("priced");
    let expected = (24.0 * 0.30 + 4_096.0 * 0.03 + 15.0 * 2.50) / 1e6;
    assert!((cost.total_usd - expected).abs() < 1e-12, "{cost:?}");
}

// ---- Gemini tool schemas ----

#[tokio::test]
async fn gemini_tool_schemas_are_sent_in_the_form_gemini_accepts_and_the_change_is_reported() {
    // A schema as schemars/Pydantic write it: `$ref` into `$defs`, `default`,
    // a map-valued `additionalProperties`.
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "location": {"$ref": "#/$defs/Location"},
            "days": {"type": "integer", "default": 3, "description": "Forecast length."},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["location"],
        "additionalProperties": false,
        "$defs": {
            "Location": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    });
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        MockResponse::json(200, gemini_json(&gemini_turns()[2])),
    );
    let client = connect::<Gemini>(&server, "/v1beta");
    client
        .chat(
            ChatRequest::new("gemini-2.5-flash")
                .user("Forecast?")
                .tool(Tool::function("forecast", "A forecast.", schema.clone())),
        )
        .await
        .unwrap();
    let body = server.requests()[0].body_json();
    // The shape of the `parametersJsonSchema` example in Gemini's reference.
    let expected = json!({
        "type": "object",
        "properties": {
            "location": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "days": {"type": "integer", "description": "Forecast length. Default: 3."},
            "labels": {"type": "object"},
        },
        "required": ["location"],
        "additionalProperties": false,
    });
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        expected
    );
    // What was changed is reported (and logged as a `tracing` warning when
    // sent), keyword by keyword in the schema's key order.
    let report = function_schema(&schema);
    assert_eq!(report.schema, expected);
    assert_eq!(
        report.changes,
        [
            "/$schema: removed",
            "/properties/days/default: removed (written into the description)",
            "/properties/labels/additionalProperties: removed",
            "/properties/location/$ref: `#/$defs/Location` inlined",
            "/$defs: removed (its definitions are inlined)",
        ]
    );
}

// ---- OpenAI-compatible reasoning ----

#[test]
fn openai_compatible_reasoning_goes_back_on_tool_call_turns_only() {
    let with_calls = br#"{"id": "c1", "model": "deepseek-chat", "choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": null, "reasoning_content": "Need the weather.",
          "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}]}"#;
    let plain = br#"{"id": "c2", "model": "deepseek-chat", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "It is 18 C.", "reasoning_content": "Answer it."}}]}"#;
    let dialect = llm_runtime::dialects::openai::OpenAiDialect;
    let ctx = ctx::<OpenAi>("deepseek-chat");
    let first = dialect.parse_response(with_calls, &ctx).unwrap();
    let second = dialect.parse_response(plain, &ctx).unwrap();
    assert_eq!(
        first.message.reasoning,
        [ReasoningBlock::text("Need the weather.")]
    );
    let mut request = ChatRequest::new("deepseek-chat").user("Weather in Paris?");
    request.push_reply(&first);
    request
        .messages
        .push(Message::tool_result("call_1", "18°C"));
    request.push_reply(&second);
    request.messages.push(Message::user("Thanks."));
    let body = llm_runtime::dialects::openai::chat_body(&request, false).unwrap();
    // DeepSeek's thinking mode needs it back on the tool-call turn (400
    // without), and forbids or ignores it on the others.
    assert_eq!(
        body["messages"][1]["reasoning_content"],
        "Need the weather."
    );
    assert!(
        body["messages"][3].get("reasoning_content").is_none(),
        "{body}"
    );
}
