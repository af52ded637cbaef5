//! Stream an answer event by event, then the same stream collected into a response.
//!
//! `cargo run --example streaming` (offline, on the loopback mock).

use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::providers::Anthropic;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, StreamEvent};

/// An Anthropic Messages stream, as the API sends it.
const EVENTS: &[(&str, &str)] = &[
    (
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
    ),
    (
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ),
    ("ping", r#"{"type":"ping"}"#),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Streams arrive"}}"#,
    ),
    (
        "content_block_delta",
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" piece by piece."}}"#,
    ),
    (
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    ),
    (
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":6}}"#,
    ),
    ("message_stop", r#"{"type":"message_stop"}"#),
];

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    let body: Vec<String> = EVENTS
        .iter()
        .map(|(e, d)| format!("event: {e}\ndata: {d}\n\n"))
        .collect();
    mock.on(
        "POST",
        "/v1/messages",
        MockResponse::sse(body).chunk_delay(Duration::from_millis(50)),
    );
    let claude = Anthropic::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;
    let request = ChatRequest::new("claude-sonnet-4-5").user("How do streams arrive?");

    // Event by event.
    let mut stream = claude.chat_stream(request.clone()).await?;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::TextDelta { text } => println!("text  {text:?}"),
            StreamEvent::Usage { usage } => println!(
                "usage {} in, {} out",
                usage.prompt_tokens, usage.completion_tokens
            ),
            StreamEvent::Finish { reason } => println!("done  ({})", reason.as_str()),
            other => println!("event {other:?}"),
        }
    }

    // Or let the runtime assemble the same ChatResponse a non-streamed call gives.
    let reply = claude
        .chat_stream(request)
        .await?
        .collect_response()
        .await?;
    println!("whole {:?}", reply.text());
    assert_eq!(reply.text(), "Streams arrive piece by piece.");
    Ok(())
}
