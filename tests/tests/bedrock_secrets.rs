//! The AWS secret key and session token never appear in `Debug` output, in
//! errors (an upstream that echoes them included), or in logs at TRACE (the
//! runtime's, reqwest's, hyper's and aws-sigv4's own).
//!
//! One test in its own binary with a process-wide subscriber, as in
//! `runtime_tracing.rs`: a thread-local subscriber can miss events.
#![allow(clippy::unwrap_used)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::auth::aws::{Credentials, SigV4Signer};
use llm_runtime::providers::Bedrock;
use llm_runtime::stream::encode_event_message;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, retry::RetryPolicy};
use serde_json::json;
use tracing::Level;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecretNEVERprint";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEsessionTOKENneverPRINTme==";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[track_caller]
fn assert_clean(text: &str, what: &str) {
    assert!(
        !text.contains(SECRET),
        "{what} shows the secret key:\n{text}"
    );
    assert!(
        !text.contains(TOKEN),
        "{what} shows the session token:\n{text}"
    );
}

#[tokio::test]
async fn the_secret_key_and_session_token_never_leak() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let signer = SigV4Signer::new(
        Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.into()), None, "test"),
        "us-east-1",
        "bedrock",
    );
    assert_clean(&format!("{signer:?}"), "the signer's Debug");
    let server = MockServer::start().await;
    let config = Bedrock::config()
        .base_url(server.url())
        .url_var("region", "us-east-1")
        .signer(Arc::new(signer))
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(10)),
        );
    assert_clean(&format!("{config:?}"), "the config's Debug");
    let client = config.connect().unwrap();
    assert_clean(&format!("{client:?}"), "the client's Debug");

    // Success, streamed and not, after a retry.
    server.fallback(MockResponse::json(
        200,
        json!({"output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}}, "stopReason": "end_turn"}),
    ));
    let request = ChatRequest::new("amazon.nova-lite-v1:0").user("Say hello.");
    client.chat(request.clone()).await.unwrap();
    let stream_body = [
        encode_event_message(
            &[
                (":message-type", "event"),
                (":event-type", "contentBlockDelta"),
            ],
            br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
        ),
        encode_event_message(
            &[(":message-type", "event"), (":event-type", "messageStop")],
            br#"{"stopReason":"end_turn"}"#,
        ),
    ]
    .concat();
    server.on(
        "POST",
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        MockResponse::raw_body_chunks([stream_body])
            .header("content-type", "application/vnd.amazon.eventstream"),
    );
    let mut stream = client.chat_stream(request.clone()).await.unwrap();
    while let Some(event) = stream.next().await {
        event.unwrap();
    }

    // An upstream that echoes both secrets back: in the error body, the
    // message and a header; after retries.
    let echo = format!("signature does not match for key {SECRET} and token {TOKEN}");
    server.fallback(
        MockResponse::json(500, json!({"message": echo}))
            .header("x-amzn-errortype", "InternalServerException")
            .header("x-echo", TOKEN),
    );
    let error = client.chat(request.clone()).await.unwrap_err();
    assert_clean(&error.to_string(), "the error's Display");
    assert_clean(&format!("{error:?}"), "the error's Debug");
    assert_clean(error.body().unwrap_or(""), "the error's body");
    assert_clean(error.message(), "the error's message");

    // An exception message in a stream that echoes them.
    server.on(
        "POST",
        "/model/amazon.nova-lite-v1%3A0/converse-stream",
        MockResponse::raw_body_chunks([encode_event_message(
            &[
                (":message-type", "exception"),
                (":exception-type", "validationException"),
            ],
            json!({"message": echo}).to_string().as_bytes(),
        )])
        .header("content-type", "application/vnd.amazon.eventstream"),
    );
    let error = client
        .chat_stream(request)
        .await
        .unwrap()
        .collect_response()
        .await
        .unwrap_err();
    assert_clean(&format!("{error} {error:?}"), "a stream exception");

    let logs = captured.text();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the subscriber captured the low levels:\n{logs}"
    );
    assert!(
        logs.contains("AWS4-HMAC-SHA256") || logs.contains("signing"),
        "aws-sigv4 traced its signing"
    );
    assert_clean(&logs, "the TRACE logs");
}
