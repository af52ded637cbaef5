//! A tool-calling loop: the model asks for tools, we run them, it answers.
//!
//! `cargo run --example tools` (offline, on the loopback mock).

use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, FinishReason, Message, Tool, ToolCall};
use serde_json::{Value, json};

/// Our "tools": plain functions of JSON arguments.
fn run_tool(call: &ToolCall) -> Value {
    let args = call.arguments_json().unwrap_or(Value::Null);
    match call.name.as_str() {
        "add" => json!(args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0)),
        other => json!({"error": format!("no tool named {other}")}),
    }
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on_sequence("POST", "/v1/chat/completions", vec![
        MockResponse::json(200, json!({"id": "c1", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "add", "arguments": "{\"a\":2,\"b\":3}"}},
                {"id": "call_b", "type": "function", "function": {"name": "add", "arguments": "{\"a\":10,\"b\":-4}"}}]}}]})),
        MockResponse::json(200, json!({"id": "c2", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "2+3 is 5 and 10-4 is 6."}}]})),
    ]);
    let client = OpenAi::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;

    let add = Tool::function(
        "add",
        "Add two numbers",
        json!({
        "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
    );
    let mut request = ChatRequest::new("gpt-4o-mini")
        .user("What are 2+3 and 10-4?")
        .tool(add);
    loop {
        let reply = client.chat(request.clone()).await?;
        if reply.finish_reason != Some(FinishReason::ToolCalls) {
            println!("answer: {}", reply.text());
            break;
        }
        request = request.message(reply.message.clone());
        for call in &reply.message.tool_calls {
            let result = run_tool(call);
            println!("{}({}) = {result}", call.name, call.arguments);
            request = request.message(Message::tool_result(call.id.clone(), result.to_string()));
        }
    }
    // The second request carried both results back.
    assert_eq!(
        mock.requests()[1].body_json()["messages"][2]["role"],
        "tool"
    );
    Ok(())
}
