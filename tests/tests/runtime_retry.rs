//! Retries over loopback: what is retried, how long the client waits, and
//! when it gives up (max retries, deadline, the provider's own hints).

mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ErrorKind, StreamEvent};
use serde_json::json;

use common::{
    CHAT_PATH, PATIENCE, assert_error, chat_ok, config, connect, fast_retries, http_date_in,
    openai_stream_events, request, stream_ok,
};

fn rate_limited() -> MockResponse {
    MockResponse::json(
        429,
        json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}),
    )
}

fn unavailable() -> MockResponse {
    MockResponse::json(
        503,
        json!({"error": {"message": "The server is overloaded", "type": "server_error"}}),
    )
}

/// `first`, then `chat_ok(text)`: the retry gets `text` on the second
/// request. Returns how long the call took.
async fn retried_after(first: MockResponse, text: &str) -> Duration {
    let server = MockServer::start().await;
    server.on_sequence("POST", CHAT_PATH, vec![first, chat_ok(text)]);
    let started = Instant::now();
    let reply = connect(&server)
        .chat(request())
        .await
        .expect("the retry succeeds");
    let waited = started.elapsed();
    assert_eq!(reply.text(), text);
    assert_eq!(server.request_count(), 2);
    waited
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds_waits_then_succeeds() {
    let waited = retried_after(rate_limited().header("retry-after", "1"), "done").await;
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 not honoured, waited {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(8),
        "waited far too long: {waited:?}"
    );
}

#[tokio::test]
async fn two_503s_then_200_succeeds_on_the_third_attempt() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![unavailable(), unavailable(), chat_ok("third time")],
    );
    let client = config(&server)
        .retry_policy(fast_retries().max_retries(2))
        .connect()
        .expect("valid");
    let reply = client.chat(request()).await.expect("attempt 3 succeeds");
    assert_eq!(reply.text(), "third time");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn two_503s_then_a_stream_succeeds_on_the_third_attempt() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![unavailable(), unavailable(), stream_ok(&["ok"])],
    );
    let client = connect(&server);
    let reply = client
        .chat_stream(request())
        .await
        .expect("attempt 3 opens the stream")
        .collect_response()
        .await
        .expect("the stream completes");
    assert_eq!(reply.text(), "ok");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn authentication_errors_are_not_retried() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(401, json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})),
    );
    let client = connect(&server);
    let e = client.chat(request()).await.expect_err("a 401 fails");
    assert_error(&e, ErrorKind::Authentication, "api key");
    assert_eq!(e.status(), Some(401));
    assert!(!e.is_retryable());
    let e = client
        .chat_stream(request())
        .await
        .expect_err("a 401 fails the stream too");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(
        server.request_count(),
        2,
        "each call sent exactly one request"
    );
}

#[tokio::test]
async fn validation_errors_are_not_retried() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(400, json!({"error": {"message": "temperature must be <= 2", "type": "invalid_request_error"}})),
    );
    let e = connect(&server)
        .chat(request())
        .await
        .expect_err("a 400 fails");
    assert_error(&e, ErrorKind::InvalidRequest, "temperature");
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn retry_after_ms_is_honoured_and_preferred() {
    // retry-after-ms is the precise form; the coarse Retry-After (30 s) must not be used.
    let first = rate_limited()
        .header("retry-after-ms", "400")
        .header("retry-after", "30");
    let waited = retried_after(first, "done").await;
    assert!(
        waited >= Duration::from_millis(400),
        "retry-after-ms not honoured: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(10),
        "the 30 s Retry-After was used: {waited:?}"
    );
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    // An HTTP-date has whole seconds: 3 s ahead is at least 2 s of waiting.
    let first = rate_limited().header("retry-after", http_date_in(3));
    let waited = retried_after(first, "done").await;
    assert!(
        waited >= Duration::from_millis(1900),
        "the HTTP-date Retry-After was not honoured: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn a_stream_that_fails_after_its_first_event_is_not_retried() {
    let server = MockServer::start().await;
    let broken = MockResponse::sse_data(openai_stream_events(&["Hel", "lo"], true))
        .with_fault(Fault::ResetAfterChunks(1));
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![broken, stream_ok(&["must", "not", "replay"])],
    );
    let mut stream = connect(&server)
        .chat_stream(request())
        .await
        .expect("the stream opens");
    let mut events = Vec::new();
    let error = loop {
        match tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("the stream never hangs")
        {
            Some(Ok(event)) => events.push(event),
            Some(Err(e)) => break e,
            None => panic!("a reset stream must end with an error, got {events:?}"),
        }
    };
    assert!(
        events.contains(&StreamEvent::TextDelta { text: "Hel".into() }),
        "the caller gets the first event before the error: {events:?}"
    );
    assert_eq!(
        common::text_of(&events),
        "Hel",
        "nothing replayed: {events:?}"
    );
    assert_eq!(error.kind(), ErrorKind::StreamTruncated, "{error:?}");
    assert!(stream.next().await.is_none());
    // Give a (wrong) retry the time to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        server.request_count(),
        1,
        "a started stream must not be retried"
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_the_deadline_stops_at_once() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            rate_limited().header("retry-after", "5"),
            chat_ok("too late"),
        ],
    );
    let client = config(&server)
        .timeout(Duration::from_millis(800))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client
        .chat(request())
        .await
        .expect_err("waiting 5 s would pass the 800 ms deadline");
    let took = started.elapsed();
    assert_error(&e, ErrorKind::RateLimited, "rate limit");
    assert_eq!(
        e.retry_after(),
        Some(Duration::from_secs(5)),
        "the caller learns how long to wait"
    );
    assert_eq!(server.request_count(), 1);
    assert!(
        took < Duration::from_secs(3),
        "did not stop early: {took:?}"
    );
}

#[tokio::test]
async fn backoffs_stop_before_the_deadline() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, unavailable());
    let policy = fast_retries()
        .max_retries(1000)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(200));
    let client = config(&server)
        .retry_policy(policy)
        .timeout(Duration::from_millis(1500))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client.chat(request()).await.expect_err("always 503");
    let took = started.elapsed();
    // The last error, or a timeout when the deadline cut the last attempt short.
    assert!(
        matches!(e.kind(), ErrorKind::Overloaded | ErrorKind::Timeout),
        "{e:?}"
    );
    assert!(
        server.request_count() >= 2,
        "it retried: {}",
        server.request_count()
    );
    assert!(
        server.request_count() < 100,
        "the deadline stopped it: {}",
        server.request_count()
    );
    assert!(
        took < Duration::from_secs(5),
        "the 1.5 s deadline was not respected: {took:?}"
    );
}

#[tokio::test]
async fn a_rate_limit_storm_stops_at_max_retries() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        rate_limited().header("retry-after-ms", "10"),
    );
    let client = config(&server)
        .retry_policy(fast_retries().max_retries(3))
        .connect()
        .expect("valid");
    let e = client.chat(request()).await.expect_err("always 429");
    assert_error(&e, ErrorKind::RateLimited, "rate limit");
    assert_eq!(e.status(), Some(429));
    assert_eq!(server.request_count(), 4, "1 attempt + 3 retries");

    let e = client.chat_stream(request()).await.expect_err("always 429");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(server.request_count(), 8, "streams stop at max_retries too");
}

#[tokio::test]
async fn a_rate_limit_storm_stops_at_the_deadline() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        rate_limited().header("retry-after-ms", "100"),
    );
    let client = config(&server)
        .retry_policy(fast_retries().max_retries(1000))
        .timeout(Duration::from_millis(700))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = client.chat(request()).await.expect_err("always 429");
    let took = started.elapsed();
    assert!(
        matches!(e.kind(), ErrorKind::RateLimited | ErrorKind::Timeout),
        "{e:?}"
    );
    let sent = server.request_count();
    assert!(
        (2..=8).contains(&sent),
        "about 700 ms / 100 ms attempts, sent {sent}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn max_retries_zero_sends_once() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, unavailable());
    let client = config(&server).max_retries(0).connect().expect("valid");
    let e = client.chat(request()).await.expect_err("503");
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn x_should_retry_false_is_honoured() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            unavailable().header("x-should-retry", "false"),
            chat_ok("no"),
        ],
    );
    let e = connect(&server)
        .chat(request())
        .await
        .expect_err("the provider said not to retry");
    assert_eq!(e.kind(), ErrorKind::Overloaded);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn x_should_retry_true_is_honoured() {
    let conflict = MockResponse::json(
        400,
        json!({"error": {"message": "try again", "type": "invalid_request_error"}}),
    );
    // The provider said to retry.
    retried_after(conflict.header("x-should-retry", "true"), "yes").await;
}

#[tokio::test]
async fn a_reset_before_the_headers_is_retried() {
    retried_after(MockResponse::fault(Fault::ResetBeforeHeaders), "recovered").await;

    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::fault(Fault::CloseBeforeHeaders),
            stream_ok(&["again"]),
        ],
    );
    let reply = connect(&server)
        .chat_stream(request())
        .await
        .expect("the retry opens the stream")
        .collect_response()
        .await
        .expect("completes");
    assert_eq!(reply.text(), "again");
}
