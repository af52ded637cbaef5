//! One test per row of the timeout table in the docs of
//! `ProviderConfig::timeout`, over loopback. Rows already covered elsewhere
//! are named here with the test that covers them:
//!
//! | row | test |
//! |---|---|
//! | TCP + TLS connect | `connect_is_bounded_by_the_connect_timeout` |
//! | time to the response headers | `runtime_timeouts::a_stall_before_the_headers_times_out_within_the_first_byte_bound`, `first_byte_never_exceeds_what_is_left_of_the_call` |
//! | whole non-streamed call | `runtime_timeouts::a_body_stalled_after_the_headers_times_out_within_the_whole_timeout`, `retry_waits_count_against_the_call` |
//! | a stream up to its headers | `runtime_timeouts::the_whole_timeout_bounds_the_time_to_headers_without_a_first_byte_bound`, `a_stream_up_to_its_headers_is_bounded_by_the_call` |
//! | the error body of a failed attempt | `an_error_body_that_stalls_is_read_within_the_call`, `a_stream_error_body_that_stalls_is_read_within_the_call` |
//! | each gap between stream chunks | `the_idle_gap_defaults_to_the_call_timeout`, `a_larger_idle_timeout_on_purpose_wins`, `runtime_timeouts::a_stream_stalled_mid_way_times_out_via_the_idle_bound` |
//! | a whole stream | `the_whole_stream_deadline_bounds_a_stream_that_keeps_sending` |
//! | reading the rest after the terminator | `runtime_timeouts::a_stream_whose_body_never_ends_after_done_still_completes` |
//! | a bound too large to represent | `duration_max_means_unbounded_not_a_panic` |

mod common;

use std::time::{Duration, Instant};

use llm_runtime::http::HttpClient;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ErrorKind, retry::RetryPolicy};

use common::{
    CHAT_PATH, KEY, PATIENCE, assert_error, chat_ok, config, drain, openai_stream_events, request,
    text_of,
};

const BOUND: Duration = Duration::from_millis(400);
/// Generous: the bound plus scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(3);

#[track_caller]
fn assert_about(took: Duration, bound: Duration) {
    assert!(
        took >= bound.mul_f64(0.9) && took < bound + SLACK,
        "took {took:?}, expected about {bound:?}"
    );
}

#[tokio::test]
async fn connect_is_bounded_by_the_connect_timeout() {
    // A listener that accepts TCP but never speaks TLS: the TLS handshake of an
    // https base URL stalls inside the connect phase.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let http = HttpClient::builder()
        .connect_timeout(BOUND)
        .build()
        .expect("client");
    let client = OpenAi::config()
        .api_key(KEY)
        .base_url(format!("https://{addr}/v1"))
        .http_client(http)
        .max_retries(0)
        .timeout(Duration::from_secs(20))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = tokio::time::timeout(PATIENCE, client.chat(request()))
        .await
        .expect("the connect bound fires first")
        .expect_err("no TLS, no answer");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert_about(started.elapsed(), BOUND);
    hold.abort();
}

#[tokio::test]
async fn first_byte_never_exceeds_what_is_left_of_the_call() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = config(&server)
        .timeout(BOUND)
        .first_byte_timeout(Duration::from_secs(30))
        .max_retries(0)
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client.chat(request()).await.expect_err("stalled");
    assert_error(&e, ErrorKind::Timeout, "timeout");
    assert_about(started.elapsed(), BOUND);
}

#[tokio::test]
async fn retry_waits_count_against_the_call() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(503, serde_json::json!({"error": {"message": "busy"}}))
            .header("retry-after-ms", "150"),
    );
    let client = config(&server)
        .timeout(Duration::from_millis(1000))
        .retry_policy(RetryPolicy::default().max_retries(50))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client.chat(request()).await.expect_err("always busy");
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Overloaded, "{e:?}");
    // Retries stop once the next wait would end past the deadline.
    assert!(took < Duration::from_millis(1000) + SLACK, "{took:?}");
    assert!(
        server.request_count() >= 3 && server.request_count() <= 8,
        "{} attempts in 1 s at 150 ms apart",
        server.request_count()
    );
}

#[tokio::test]
async fn a_stream_up_to_its_headers_is_bounded_by_the_call() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = config(&server)
        .timeout(BOUND)
        .max_retries(2)
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client.chat_stream(request()).await.expect_err("stalled");
    assert_error(&e, ErrorKind::Timeout, "timeout");
    assert_about(started.elapsed(), BOUND);
}

/// A server whose error body (status `status`) stalls after its first bytes,
/// and a client bounded by [`BOUND`] that does not retry.
async fn stalled_error_body(status: u16) -> (MockServer, llm_runtime::ProviderClient<OpenAi>) {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::raw_body_chunks(["{\"error\": {\"message\": \"bro"])
            .status(status)
            .with_fault(Fault::StallAfterChunks(1)),
    );
    let client = config(&server)
        .timeout(BOUND)
        .max_retries(0)
        .connect()
        .expect("valid");
    (server, client)
}

#[tokio::test]
async fn an_error_body_that_stalls_is_read_within_the_call() {
    let (_server, client) = stalled_error_body(500).await;
    let started = Instant::now();
    let e = tokio::time::timeout(PATIENCE, client.chat(request()))
        .await
        .expect("bounded")
        .expect_err("a 500");
    // Either the status's error with what arrived, or the deadline's: never a hang.
    assert!(
        matches!(e.kind(), ErrorKind::ServerError | ErrorKind::Timeout),
        "{e:?}"
    );
    assert_about(started.elapsed(), BOUND);
}

#[tokio::test]
async fn a_stream_error_body_that_stalls_is_read_within_the_call() {
    let (_server, client) = stalled_error_body(429).await;
    let started = Instant::now();
    let e = tokio::time::timeout(PATIENCE, client.chat_stream(request()))
        .await
        .expect("bounded")
        .expect_err("a 429");
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
    assert_about(started.elapsed(), BOUND);
}

#[tokio::test]
async fn the_idle_gap_defaults_to_the_call_timeout() {
    let server = MockServer::start().await;
    let events = openai_stream_events(&["Hel", "lo", "never"], true);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).with_fault(Fault::StallAfterChunks(2)),
    );
    // No idle_timeout: `timeout` bounds each gap.
    let client = config(&server).timeout(BOUND).connect().expect("valid");
    let stream = client.chat_stream(request()).await.expect("opens");
    let started = Instant::now();
    let (events, error) = tokio::time::timeout(PATIENCE, drain(stream))
        .await
        .expect("bounded");
    assert_eq!(text_of(&events), "Hello");
    assert_error(&error.expect("stalled"), ErrorKind::Timeout, "sent nothing");
    assert_about(started.elapsed(), BOUND);
}

#[tokio::test]
async fn a_larger_idle_timeout_on_purpose_wins() {
    let server = MockServer::start().await;
    let events = openai_stream_events(&["think", "ing"], true);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).chunk_delay(Duration::from_millis(700)),
    );
    // A model that thinks in silence: gaps longer than `timeout`, on purpose.
    let client = config(&server)
        .timeout(BOUND)
        .idle_timeout(Duration::from_secs(5))
        .connect()
        .expect("valid");
    let stream = client.chat_stream(request()).await.expect("opens");
    let (events, error) = drain(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "thinking");
}

#[tokio::test]
async fn the_whole_stream_deadline_bounds_a_stream_that_keeps_sending() {
    let server = MockServer::start().await;
    let texts: Vec<String> = (0..100).map(|i| format!("t{i} ")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&texts, true))
            .chunk_delay(Duration::from_millis(50)),
    );
    let client = config(&server)
        .stream_timeout(Duration::from_millis(800))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let stream = client.chat_stream(request()).await.expect("opens");
    let (events, error) = tokio::time::timeout(PATIENCE, drain(stream))
        .await
        .expect("bounded");
    assert_error(
        &error.expect("cut by the deadline"),
        ErrorKind::Timeout,
        "whole-stream deadline",
    );
    assert!(!events.is_empty(), "events before the deadline arrive");
    assert_about(started.elapsed(), Duration::from_millis(800));
}

#[tokio::test]
async fn duration_max_means_unbounded_not_a_panic() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("fine"));
    let client = config(&server)
        .timeout(Duration::MAX)
        .first_byte_timeout(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .stream_timeout(Duration::MAX)
        .retry_policy(RetryPolicy::default().max_retry_after(Duration::MAX))
        .connect()
        .expect("valid");
    let reply = client.chat(request()).await.expect("answered");
    assert_eq!(reply.text(), "fine");
}
