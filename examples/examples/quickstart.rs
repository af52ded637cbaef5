//! The main job: a chat, a streamed chat and a tool call through the full stack.
//!
//! ```text
//! cargo run --example quickstart                       # offline, on the built-in loopback mock
//! OPENAI_API_KEY=sk-... cargo run --example quickstart # the real OpenAI API
//! LLM_MODEL=anthropic/claude-sonnet-4-5 ANTHROPIC_API_KEY=... cargo run --example quickstart
//! ```
//!
//! Offline, it starts `llm_runtime::testing::MockServer` on 127.0.0.1 and scripts
//! OpenAI-format answers; everything else (HTTP, SSE framing, retries, the
//! OpenAI dialect, routing) is the same code that talks to the real API.

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Client, Message, StreamEvent, Tool, retry::RetryPolicy};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let real = Client::from_env()?;
    let route = std::env::var("LLM_MODEL")
        .ok()
        .or_else(|| default_route(&real));
    match route {
        Some(route) => {
            println!("Calling the real API: {route}\n");
            run(&real, &route).await
        }
        None => {
            let mock = scripted_mock().await;
            let openai = OpenAi::config()
                .api_key("sk-offline-demo")
                .base_url(format!("{}/v1", mock.url()))
                .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(50)))
                .connect()?;
            let client = Client::builder().register(openai)?.build()?;
            println!(
                "No provider key is set: running offline against the loopback mock at {}\n",
                mock.url()
            );
            run(&client, "openai/gpt-4o-mini").await?;
            println!(
                "\n{} HTTP requests reached the mock (the first got a 503 and was retried).",
                mock.request_count()
            );
            println!(
                "To call a real provider, set its key, e.g. `OPENAI_API_KEY=sk-... cargo run --example quickstart`,"
            );
            println!(
                "or pick one with `LLM_MODEL=anthropic/claude-sonnet-4-5` and `ANTHROPIC_API_KEY`."
            );
            Ok(())
        }
    }
}

/// The first registered provider with a default model.
fn default_route(client: &Client) -> Option<String> {
    client.providers().find_map(|name| {
        let info = client.provider(name)?.info();
        info.default_model.map(|m| format!("{name}/{m}"))
    })
}

async fn run(client: &Client, route: &str) -> Result<(), llm_runtime::Error> {
    // 1. A chat.
    let reply = client
        .chat(
            route,
            ChatRequest::new("")
                .system("Be brief.")
                .user("Say hello in five words."),
        )
        .await?;
    println!("chat      > {}", reply.text());
    let usage = reply
        .usage
        .map_or_else(|| "usage not reported".to_owned(), |u| u.to_string());
    let attempts = match reply.meta.attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    println!(
        "            (served by {}/{}: {usage}; {attempts}, {} ms)",
        reply.provider,
        reply.model,
        reply.meta.latency.as_millis()
    );

    // 2. A streamed chat: tokens are printed as they arrive.
    print!("stream    > ");
    let mut stream = client
        .chat_stream(route, ChatRequest::new("").user("Count from one to five."))
        .await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event? {
            print!("{text}");
            let _ = std::io::stdout().flush();
        }
    }
    println!();

    // 3. A tool call: the model asks for the weather, we answer, it replies.
    let weather = Tool::function(
        "get_weather",
        "The current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    let mut request = ChatRequest::new("")
        .user("What's the weather in Paris?")
        .tool(weather);
    let first = client.chat(route, request.clone()).await?;
    for call in &first.message.tool_calls {
        println!("tool call > {}({})", call.name, call.arguments);
    }
    request = request.message(first.message.clone());
    for call in &first.message.tool_calls {
        request = request.message(Message::tool_result(
            call.id.clone(),
            r#"{"temp_c": 21, "sky": "clear"}"#,
        ));
    }
    let answer = client.chat(route, request).await?;
    println!("tool      > {}", answer.text());
    Ok(())
}

/// OpenAI-format answers for the offline run, served in order.
async fn scripted_mock() -> MockServer {
    let mock = MockServer::start().await;
    let chunk = |text: &str| {
        json!({"id": "chatcmpl-demo2", "object": "chat.completion.chunk", "created": 1_756_000_000, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
        .to_string()
    };
    let mut stream: Vec<String> = ["One", ", two", ", three", ", four", ", five."]
        .iter()
        .map(|t| chunk(t))
        .collect();
    stream.push(
        json!({"id": "chatcmpl-demo2", "object": "chat.completion.chunk", "created": 1_756_000_000, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        .to_string(),
    );
    stream.push("[DONE]".into());
    mock.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            MockResponse::json(503, json!({"error": {"message": "The engine is currently overloaded", "type": "server_error"}})),
            MockResponse::json(200, completion("chatcmpl-demo1", json!({"role": "assistant", "content": "Hello there, nice to meet!"}), "stop")),
            MockResponse::sse_data(stream).chunk_delay(Duration::from_millis(120)),
            MockResponse::json(200, completion("chatcmpl-demo3", json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]}), "tool_calls")),
            MockResponse::json(200, completion("chatcmpl-demo4", json!({"role": "assistant", "content": "It's 21 °C and clear in Paris."}), "stop")),
        ],
    );
    mock
}

fn completion(id: &str, message: serde_json::Value, finish: &str) -> serde_json::Value {
    json!({"id": id, "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
           "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}})
}
