//! A batch of chat requests at batch prices: the same `Client::batch` call
//! for OpenAI's Batch API and Anthropic's Message Batches, results matched
//! to your ids.
//!
//! `cargo run --example batches` (offline, on the loopback mock).

use std::time::Duration;

use llm_runtime::http::PollPolicy;
use llm_runtime::providers::{Anthropic, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, Client,
    options::BatchWait,
    types::{BatchRequest, BatchResult},
};
use serde_json::json;

/// The upstreams a real batch would talk to, scripted.
async fn mocks() -> (MockServer, MockServer) {
    let openai = MockServer::start().await;
    openai.on(
        "POST",
        "/v1/files",
        MockResponse::json(200, json!({"id": "file-in", "purpose": "batch"})),
    );
    let job = |status: &str| {
        json!({"id": "batch_1", "status": status, "output_file_id": "file-out",
        "request_counts": {"total": 2, "completed": 2, "failed": 0}})
    };
    openai.on(
        "POST",
        "/v1/batches",
        MockResponse::json(200, job("validating")),
    );
    openai.on_sequence(
        "GET",
        "/v1/batches/batch_1",
        vec![
            MockResponse::json(200, job("in_progress")),
            MockResponse::json(200, job("completed")),
        ],
    );
    let line = |id: &str, text: &str| {
        json!({"custom_id": id, "response": {"status_code": 200, "body": {
        "id": "c", "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": text}}]}}})
        .to_string()
    };
    openai.on(
        "GET",
        "/v1/files/file-out/content",
        MockResponse::text(
            200,
            "application/octet-stream",
            format!("{}\n{}\n", line("b", "6"), line("a", "4")),
        ),
    );

    let anthropic = MockServer::start().await;
    let batch = |status: &str| {
        json!({"id": "msgbatch_1", "type": "message_batch", "processing_status": status,
        "request_counts": {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0}})
    };
    anthropic.on(
        "POST",
        "/v1/messages/batches",
        MockResponse::json(200, batch("in_progress")),
    );
    anthropic.on(
        "GET",
        "/v1/messages/batches/msgbatch_1",
        MockResponse::json(200, batch("ended")),
    );
    let result = |id: &str, text: &str| {
        json!({"custom_id": id, "result": {"type": "succeeded", "message": {
        "id": "m", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 1}}}})
        .to_string()
    };
    anthropic.on(
        "GET",
        "/v1/messages/batches/msgbatch_1/results",
        MockResponse::text(
            200,
            "application/binary",
            format!("{}\n{}\n", result("a", "4"), result("b", "6")),
        ),
    );
    (openai, anthropic)
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let (openai_mock, anthropic_mock) = mocks().await;
    let client = Client::builder()
        .register(
            OpenAi::config()
                .api_key("demo")
                .base_url(format!("{}/v1", openai_mock.url()))
                .connect()?,
        )?
        .register(
            Anthropic::config()
                .api_key("demo")
                .base_url(format!("{}/v1", anthropic_mock.url()))
                .connect()?,
        )?
        .build()?;

    // Batches take minutes to hours; here the mock finishes at once.
    let wait = BatchWait::up_to(Duration::from_secs(30))
        .poll(PollPolicy::default().initial(Duration::from_millis(10)));
    for route in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        let request = BatchRequest::new()
            .item("a", ChatRequest::new("").user("2+2?").max_tokens(8))
            .item("b", ChatRequest::new("").user("3+3?").max_tokens(8));
        let results = client.batch(route, request, wait).await?;
        println!(
            "{route}: batch {} is {:?}",
            results.job.id, results.job.status
        );
        for outcome in &results.outcomes {
            match &outcome.result {
                BatchResult::Succeeded(reply) => {
                    println!("  {} -> {}", outcome.custom_id, reply.text())
                }
                BatchResult::Failed(e) => println!("  {} failed: {e}", outcome.custom_id),
            }
        }
        assert_eq!(
            results
                .get("a")
                .and_then(BatchResult::response)
                .map(|r| r.text()),
            Some("4".to_owned())
        );
    }
    Ok(())
}
