//! An agent loop over several turns with extended thinking on: each reply
//! goes back into the conversation with `push_reply`, signed thinking and
//! all, so the provider can check its own reasoning on the next turn; the
//! long system prompt and the tools are marked as prompt-cache breakpoints.
//!
//! `cargo run --example agent_loop` (offline, on the loopback mock).

use llm_runtime::providers::Anthropic;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, FinishReason, Message, Tool, ToolCall, catalog, types::CacheBreakpoint,
};
use serde_json::{Value, json};

/// Our "tools": plain functions of JSON arguments.
fn run_tool(call: &ToolCall) -> Value {
    let args = call.arguments_json().unwrap_or(Value::Null);
    match call.name.as_str() {
        "get_weather" => json!({"city": args["city"], "celsius": 18}),
        other => json!({"error": format!("no tool named {other}")}),
    }
}

/// One scripted Messages API answer.
fn answer(id: &str, content: Value, stop: &str, cache_read: u32) -> MockResponse {
    MockResponse::json(
        200,
        json!({"id": id, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
               "content": content, "stop_reason": stop, "stop_sequence": null,
               "usage": {"input_tokens": 40, "output_tokens": 120,
                         "cache_creation_input_tokens": if cache_read == 0 { 2_000 } else { 0 },
                         "cache_read_input_tokens": cache_read}}),
    )
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on_sequence("POST", "/v1/messages", vec![
        answer("msg_1", json!([
            {"type": "thinking", "thinking": "Paris first.", "signature": "EqQBsig-1"},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]), "tool_use", 0),
        answer("msg_2", json!([
            {"type": "thinking", "thinking": "Now Rome.", "signature": "EqQBsig-2"},
            {"type": "redacted_thinking", "data": "EmwKAhgB-redacted"},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]), "tool_use", 2_000),
        answer("msg_3", json!([
            {"type": "thinking", "thinking": "Both are known.", "signature": "EqQBsig-3"},
            {"type": "text", "text": "Paris and Rome are both 18°C."}]), "end_turn", 2_000),
    ]);
    let client = Anthropic::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;

    let weather = Tool::function(
        "get_weather",
        "The current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
    .cached(CacheBreakpoint::new());
    let mut request = ChatRequest::new("claude-sonnet-4-5")
        .system("You are a careful weather assistant. (Imagine a long, stable prompt here.)")
        .cache_breakpoint(CacheBreakpoint::new())
        .user("Is it warmer in Paris or in Rome?")
        .tool(weather)
        .reasoning_budget(2048);

    let mut spent = 0.0;
    for turn in 1.. {
        let reply = client.chat(request.clone()).await?;
        if let Some(cost) = catalog::response_cost(&reply) {
            spent += cost.total_usd;
        }
        println!(
            "turn {turn}: thought {:?}",
            reply.reasoning.as_deref().unwrap_or("")
        );
        // The whole reply goes back: text, tool calls and signed thinking.
        request.push_reply(&reply);
        if reply.finish_reason != Some(FinishReason::ToolCalls) {
            println!("answer: {}", reply.text());
            break;
        }
        for call in &reply.message.tool_calls {
            let result = run_tool(call);
            println!("  {}({}) = {result}", call.name, call.arguments);
            request
                .messages
                .push(Message::tool_result(&call.id, result.to_string()));
        }
    }
    println!("cost: ${spent:.6}");

    // Each request carried every earlier thinking block back unchanged, first in its turn.
    let sent = mock.requests();
    assert_eq!(sent.len(), 3);
    let third = sent[2].body_json();
    let turn_2 = &third["messages"][3]["content"];
    assert_eq!(
        turn_2[0],
        json!({"type": "thinking", "thinking": "Now Rome.", "signature": "EqQBsig-2"})
    );
    assert_eq!(
        turn_2[1],
        json!({"type": "redacted_thinking", "data": "EmwKAhgB-redacted"})
    );
    assert_eq!(
        third["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    Ok(())
}
