//! Tracing: calls are traced per call (span with the provider), the API key
//! never appears in the output at TRACE, and no prompt text appears at INFO.
//!
//! One test in its own binary with a process-wide subscriber: a thread-local
//! (`set_default`) subscriber races with other tests' threads over tracing's
//! per-callsite interest cache and can miss events, which would make a
//! "nothing leaked" assertion vacuous.

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::json;
use tracing::Level;

use common::{CHAT_PATH, KEY, chat_ok, connect, drain, key_echoing_401, request, stream_ok};

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The lines logged at INFO or above (the level is the second field of a line).
fn info_and_above(logs: &str) -> String {
    logs.lines()
        .filter(|l| {
            [" INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lvl| l.contains(lvl))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn traces_at_trace_never_show_the_key_and_info_has_no_prompt() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the only subscriber of this binary");

    let server = MockServer::start().await;
    let client = connect(&server);
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    client.chat(request()).await.expect("chat");
    server.on("POST", CHAT_PATH, stream_ok(&["h", "i"]));
    client
        .chat_stream(request())
        .await
        .expect("stream")
        .collect_response()
        .await
        .expect("completes");
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::json(503, json!({"error": {"message": "busy"}})),
            chat_ok("retried"),
        ],
    );
    client.chat(request()).await.expect("retried chat");
    server.on("POST", CHAT_PATH, key_echoing_401());
    let e = client.chat(request()).await.expect_err("401");
    tracing::error!(error = %e, debug = ?e, "the caller logs the error");
    let _ = client.chat_stream(request()).await.expect_err("401");
    // An error event inside a stream that quotes the key.
    let revoked = json!({"error": {"message": format!("key {KEY} was revoked"), "type": "invalid_request_error"}});
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([common::openai_chunk("a"), revoked.to_string()]),
    );
    let (_, e) = drain(client.chat_stream(request()).await.expect("opens")).await;
    tracing::error!(error = ?e, "the caller logs the stream error");
    tracing::debug!(client = ?client, "the caller logs the client");

    let logs = captured.text();
    assert!(!logs.trim().is_empty(), "the calls were traced");
    assert!(
        logs.contains("llm.chat"),
        "the per-call span is there:\n{logs}"
    );
    assert!(
        logs.contains("provider=\"openai\"") || logs.contains("provider=openai"),
        "the span names the provider:\n{logs}"
    );
    assert!(logs.contains("retrying"), "the retry is traced:\n{logs}");
    assert!(logs.contains("attempt=2"), "attempts are traced:\n{logs}");
    assert!(logs.contains("status=401"), "statuses are traced:\n{logs}");
    assert!(!logs.contains(KEY), "the key leaked into the logs:\n{logs}");
    assert!(
        !logs.contains(&KEY[..20]),
        "part of the key leaked into the logs:\n{logs}"
    );

    let info = info_and_above(&logs);
    assert!(
        info.contains("llm.chat"),
        "INFO output has the calls:\n{info}"
    );
    assert!(
        !info.contains("Say hello"),
        "the prompt leaked into INFO logs:\n{info}"
    );
}
