//! Declare an OpenAI-compatible provider in a few lines and call it.
//!
//! `cargo run --example custom_provider` (offline, on the loopback mock).

use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Provider};
use serde_json::json;

/// A vLLM server on the local network, or any OpenAI-compatible endpoint.
#[derive(Debug, Default, Provider)]
#[provider(name = "my_vllm", base_url = "http://127.0.0.1:8000/v1", auth = "bearer",
           env = "MY_VLLM_KEY", capabilities(chat, stream, tools), dialect = openai)]
struct MyVllm;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    // Stand-in for the server: answers in the OpenAI format.
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", MockResponse::json(200, json!({
        "id": "cmpl-1", "object": "chat.completion", "created": 1_756_000_000, "model": "Qwen/Qwen2.5-7B-Instruct",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi from vLLM!"}, "finish_reason": "stop"}]
    })));

    // `MyVllm::from_env()` would read MY_VLLM_KEY; here we configure by hand.
    let client = MyVllm::config()
        .api_key("local-key")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;
    let reply = client
        .chat(ChatRequest::new("Qwen/Qwen2.5-7B-Instruct").user("Hello"))
        .await?;
    println!("{} says: {}", reply.provider, reply.text());
    assert_eq!(reply.text(), "Hi from vLLM!");
    Ok(())
}
