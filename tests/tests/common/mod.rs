//! Helpers shared by the integration tests: OpenAI-shaped fixtures, a client
//! wired to a [`MockServer`], and small assertions; [`clients`] holds the
//! providers declared in this package, [`conformance`] the harness of the
//! per-dialect suites.
//!
//! Each test binary compiles this module on its own and uses only part of it,
//! so what one binary leaves unused would warn there.
#![allow(dead_code)]

pub(crate) mod clients;
pub(crate) mod conformance;
pub(crate) mod google;
pub(crate) mod sdk_python;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatStream, Error, ErrorKind, ProviderClient, ProviderConfig, StreamEvent,
    retry::RetryPolicy,
};
use serde_json::{Value, json};

/// The route of the OpenAI chat-completions endpoint under `{server}/v1`.
pub(crate) const CHAT_PATH: &str = "/v1/chat/completions";

/// A key no test output, log or error may ever contain.
pub(crate) const KEY: &str = "sk-unique-7f3a9c1e5b2d4f6a8e0c-never-print-me";

/// A bound for waits that take milliseconds when the code is right.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

/// Retries with millisecond backoffs, so retry tests stay fast.
pub(crate) fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(50))
}

/// The OpenAI config pointed at `server`, with fast retries and a 10 s bound.
pub(crate) fn config(server: &MockServer) -> ProviderConfig<OpenAi> {
    OpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .retry_policy(fast_retries())
        .timeout(Duration::from_secs(10))
}

/// An OpenAI client on the shared pool, pointed at `server`.
pub(crate) fn connect(server: &MockServer) -> ProviderClient<OpenAi> {
    config(server)
        .connect()
        .expect("a loopback config is valid")
}

/// A small chat request.
pub(crate) fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini").user("Say hello")
}

/// A non-streamed chat-completions body answering `text`.
pub(crate) fn openai_completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    })
}

/// `200` with [`openai_completion`].
pub(crate) fn chat_ok(text: &str) -> MockResponse {
    MockResponse::json(200, openai_completion(text))
}

/// A `401` that quotes the key back, as OpenAI does ("Incorrect API key provided: sk-...").
pub(crate) fn key_echoing_401() -> MockResponse {
    MockResponse::json(
        401,
        json!({"error": {
            "message": format!("Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com/account/api-keys."),
            "type": "invalid_request_error",
            "param": null,
            "code": "invalid_api_key"
        }}),
    )
}

/// One stream chunk (the `data:` payload) carrying `text`.
pub(crate) fn openai_chunk(text: &str) -> String {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]
    })
    .to_string()
}

/// The last chunk: the finish reason.
pub(crate) fn openai_finish_chunk() -> String {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    })
    .to_string()
}

/// The `data:` payloads of a whole stream: one chunk per text, the finish
/// chunk, then `[DONE]` when `done`.
pub(crate) fn openai_stream_events(texts: &[&str], done: bool) -> Vec<String> {
    let mut events: Vec<String> = texts.iter().map(|t| openai_chunk(t)).collect();
    events.push(openai_finish_chunk());
    if done {
        events.push("[DONE]".to_owned());
    }
    events
}

/// A well-formed SSE stream of `texts`, one event per chunk, ending with `[DONE]`.
pub(crate) fn stream_ok(texts: &[&str]) -> MockResponse {
    MockResponse::sse_data(openai_stream_events(texts, true))
}

/// `n` text pieces `"t0 "`, `"t1 "`, ...
pub(crate) fn pieces(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i} ")).collect()
}

/// Read a stream to its end: every event, and the error that ended it, if any.
pub(crate) async fn drain(mut stream: ChatStream) -> (Vec<StreamEvent>, Option<Error>) {
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(e) => {
                // A stream ends after its error.
                assert!(
                    stream.next().await.is_none(),
                    "a stream must end after its error"
                );
                return (events, Some(e));
            }
        }
    }
    (events, None)
}

/// The concatenated text of the `TextDelta` events.
pub(crate) fn text_of(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// How many `TextDelta` events there are.
pub(crate) fn text_deltas(events: &[StreamEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, StreamEvent::TextDelta { .. }))
        .count()
}

/// Assert `error` has `kind`, a non-empty message, and a `Display` that names
/// the kind and contains `needle` (case-insensitive), and never the key.
#[track_caller]
pub(crate) fn assert_error(error: &Error, kind: ErrorKind, needle: &str) {
    let shown = error.to_string();
    assert_eq!(error.kind(), kind, "unexpected kind: {shown} / {error:?}");
    assert!(
        !error.message().trim().is_empty(),
        "empty message: {error:?}"
    );
    assert!(
        shown.contains(kind.as_str()),
        "Display does not name the kind: {shown}"
    );
    assert!(
        shown.to_lowercase().contains(&needle.to_lowercase()),
        "Display does not mention {needle:?}: {shown}"
    );
    assert_no_key(&shown);
    assert_no_key(&format!("{error:?}"));
}

/// Assert `text` does not contain [`KEY`] (nor a long piece of it).
#[track_caller]
pub(crate) fn assert_no_key(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked: {text}");
    assert!(
        !text.contains(&KEY[..20]),
        "part of the API key leaked: {text}"
    );
}

/// `Retry-After` as an HTTP-date (IMF-fixdate), `secs` seconds from now.
pub(crate) fn http_date_in(secs: u64) -> String {
    let at = SystemTime::now() + Duration::from_secs(secs);
    let unix = at
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (year, month, day) = civil_from_days(days);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][month as usize - 1];
    format!("{weekday}, {day:02} {month} {year} {h:02}:{m:02}:{s:02} GMT")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Run this test binary's ignored `from_env_child` test in a child process
/// whose environment is exactly `vars` (the environment can only be chosen
/// per process), and require that it ran and passed.
#[track_caller]
pub(crate) fn run_child(vars: &[(&str, &str)]) {
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args([
            "from_env_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .envs(vars.iter().copied())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "child failed for {vars:?}:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run for {vars:?}:\n{stdout}"
    );
}
