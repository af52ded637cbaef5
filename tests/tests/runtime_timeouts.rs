//! Timeouts over loopback: stalls before the headers, stalls mid-stream and
//! mid-body end in `ErrorKind::Timeout` within their bound; a slow drip that
//! stays under the idle bound succeeds.

mod common;

use std::time::{Duration, Instant};

use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{Error, ErrorKind, ProviderClient};

use common::{
    CHAT_PATH, PATIENCE, assert_error, chat_ok, config, drain, openai_stream_events, pieces,
    request, text_deltas,
};

const BOUND: Duration = Duration::from_millis(300);
/// Generous: the bound plus scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_secs(4);

/// A server whose chat route stalls before sending any header.
async fn stalled_server() -> MockServer {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    server
}

/// A client that waits [`BOUND`] for the first byte and never retries.
fn first_byte_bounded(server: &MockServer) -> ProviderClient<OpenAi> {
    config(server)
        .first_byte_timeout(BOUND)
        .max_retries(0)
        .connect()
        .expect("valid")
}

/// Await `call`, which must fail before [`PATIENCE`] runs out: its error and
/// how long it took.
async fn failure_within_patience<T: std::fmt::Debug>(
    call: impl Future<Output = llm_runtime::Result<T>>,
) -> (Error, Duration) {
    let started = Instant::now();
    let e = tokio::time::timeout(PATIENCE, call)
        .await
        .expect("the client's own bound fires first")
        .expect_err("a stalled upstream fails");
    (e, started.elapsed())
}

#[tokio::test]
async fn a_stall_before_the_headers_times_out_within_the_first_byte_bound() {
    let server = stalled_server().await;
    let client = first_byte_bounded(&server);

    let (e, took) = failure_within_patience(client.chat(request())).await;
    assert_error(&e, ErrorKind::Timeout, "300ms");
    assert!(took >= BOUND, "gave up before the bound: {took:?}");
    assert!(took < BOUND + SLACK, "{took:?}");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_stream_stalled_before_the_headers_times_out_within_the_first_byte_bound() {
    let server = stalled_server().await;
    let client = first_byte_bounded(&server);

    let (e, took) = failure_within_patience(client.chat_stream(request())).await;
    assert_error(&e, ErrorKind::Timeout, "headers");
    assert!(took >= BOUND && took < BOUND + SLACK, "{took:?}");
}

#[tokio::test]
async fn the_whole_timeout_bounds_the_time_to_headers_without_a_first_byte_bound() {
    let server = stalled_server().await;
    let client = config(&server)
        .timeout(BOUND)
        .max_retries(0)
        .connect()
        .expect("valid");
    let (e, took) = failure_within_patience(client.chat_stream(request())).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(took >= BOUND && took < BOUND + SLACK);
}

#[tokio::test]
async fn stalls_are_retried_but_never_past_the_deadline() {
    let server = stalled_server().await;
    let deadline = Duration::from_millis(1200);
    let client = config(&server)
        .timeout(deadline)
        .first_byte_timeout(BOUND)
        .retry_policy(common::fast_retries().max_retries(100))
        .connect()
        .expect("valid");
    let (e, took) = failure_within_patience(client.chat(request())).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(
        server.request_count() >= 2,
        "a timeout is retried: {}",
        server.request_count()
    );
    assert!(
        took < deadline + SLACK,
        "the deadline was not respected: {took:?}"
    );
}

#[tokio::test]
async fn a_body_stalled_after_the_headers_times_out_within_the_whole_timeout() {
    let server = MockServer::start().await;
    // Headers and the first half of the JSON, then silence.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::raw_body_chunks([r#"{"id":"x","choices":[{"index":0,"#, "never sent"])
            .header("content-type", "application/json")
            .with_fault(Fault::StallAfterChunks(1)),
    );
    let client = config(&server)
        .timeout(Duration::from_millis(500))
        .max_retries(0)
        .connect()
        .expect("valid");
    let (e, took) = failure_within_patience(client.chat(request())).await;
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(!e.message().is_empty());
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(500) + SLACK,
        "{took:?}"
    );
}

#[tokio::test]
async fn a_stream_stalled_mid_way_times_out_via_the_idle_bound() {
    let server = MockServer::start().await;
    let events = openai_stream_events(&["Hel", "lo", "never"], true);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).with_fault(Fault::StallAfterChunks(2)),
    );
    let client = config(&server)
        .idle_timeout(BOUND)
        .connect()
        .expect("valid");

    let stream = client
        .chat_stream(request())
        .await
        .expect("the stream opens");
    let started = Instant::now();
    let (events, error) = tokio::time::timeout(PATIENCE, drain(stream))
        .await
        .expect("the idle bound fires first");
    let took = started.elapsed();
    assert_eq!(
        common::text_of(&events),
        "Hello",
        "the events before the stall arrive: {events:?}"
    );
    let e = error.expect("a stalled stream ends with an error");
    assert_error(&e, ErrorKind::Timeout, "300ms");
    assert!(took >= BOUND && took < BOUND + SLACK, "{took:?}");
    assert_eq!(server.request_count(), 1, "a started stream is not retried");
}

#[tokio::test]
async fn a_slow_drip_under_the_idle_bound_succeeds() {
    let server = MockServer::start().await;
    let texts = pieces(12);
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    // 12+2 chunks 100 ms apart: well over the idle bound and the whole timeout
    // in total, but every gap is under the idle bound.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&texts, true))
            .chunk_delay(Duration::from_millis(100)),
    );
    let client = config(&server)
        .idle_timeout(Duration::from_secs(1))
        .timeout(Duration::from_millis(800))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let stream = client
        .chat_stream(request())
        .await
        .expect("the stream opens");
    let (events, error) = tokio::time::timeout(Duration::from_secs(10), drain(stream))
        .await
        .expect("finishes");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_deltas(&events), 12);
    assert_eq!(common::text_of(&events), texts.concat());
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "it really dripped: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_slow_response_under_the_bounds_succeeds() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        chat_ok("slow but fine").delay(Duration::from_millis(200)),
    );
    let client = config(&server)
        .first_byte_timeout(Duration::from_secs(2))
        .max_retries(0)
        .connect()
        .expect("valid");
    assert_eq!(
        client.chat(request()).await.expect("in time").text(),
        "slow but fine"
    );
}

#[tokio::test]
async fn a_stream_whose_body_never_ends_after_done_still_completes() {
    let server = MockServer::start().await;
    // `[DONE]` arrives, but the chunked body is never terminated.
    let events = openai_stream_events(&["fin", "ished"], true);
    let chunks = events.len();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).with_fault(Fault::StallAfterChunks(chunks)),
    );
    let client = config(&server)
        .idle_timeout(Duration::from_secs(30))
        .connect()
        .expect("valid");
    let stream = client.chat_stream(request()).await.expect("opens");
    let (events, error) = tokio::time::timeout(PATIENCE, drain(stream))
        .await
        .expect("the terminator ends the stream without waiting for the idle bound");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(common::text_of(&events), "finished");
}
