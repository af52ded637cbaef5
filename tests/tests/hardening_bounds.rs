//! Hardening, round 3 (issue 23), classes 2 and 3 over the loopback mock:
//! every number read from a response header is checked arithmetic, ignored
//! when it makes no sense; and the work an answer costs is bounded by what is
//! kept, not by what the peer sends (an error body is read up to
//! [`MAX_ERROR_READ`], the rest never read; redaction still covers every form
//! of the key in what is read).

mod common;

use llm_runtime::error::{MAX_ERROR_BODY, MAX_ERROR_READ};
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ErrorKind, ProviderClient, types::RateLimit};
use serde_json::json;

use common::{CHAT_PATH, KEY, PATIENCE, config, request};

/// The reset that overflowed `i64` in `meta.rs` (a panic in debug builds).
const ABSURD_RESET: &str = "2026-01-01T00:00:00+99999999999999:00";

/// A 200 completion with the rate-limit headers of `reset`.
fn completion_with_reset(reset: &str) -> MockResponse {
    MockResponse::json(
        200,
        json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"},
                            "finish_reason": "stop"}]}),
    )
    .header("anthropic-ratelimit-requests-limit", "50")
    .header("anthropic-ratelimit-requests-reset", reset)
    .header(
        "anthropic-ratelimit-tokens-remaining",
        "18446744073709551616",
    )
    .header("anthropic-ratelimit-tokens-reset", reset)
}

fn no_retries(server: &MockServer) -> ProviderClient<OpenAi> {
    config(server)
        .max_retries(0)
        .connect()
        .expect("a loopback config is valid")
}

#[tokio::test]
async fn an_absurd_rate_limit_reset_on_a_good_200_is_ignored() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, completion_with_reset(ABSURD_RESET));
    let r = no_retries(&server)
        .chat(request())
        .await
        .expect("a good 200 is a success whatever its headers say");
    assert_eq!(r.text(), "Hello");
    // The limit stays; the reset that makes no sense is dropped, as is the
    // count past u64 (and with it the whole tokens limit: nothing was valid).
    assert_eq!(
        r.meta.rate_limits.requests,
        Some({
            let mut expected = RateLimit::default();
            expected.limit = Some(50);
            expected
        })
    );
    assert_eq!(r.meta.rate_limits.tokens, None);
}

#[tokio::test]
async fn an_absurd_rate_limit_reset_on_a_stream_is_ignored() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([
            json!({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}).to_string(),
            "[DONE]".to_owned(),
        ])
        .header("anthropic-ratelimit-requests-limit", "50")
        .header("anthropic-ratelimit-requests-reset", ABSURD_RESET)
        .header("x-ratelimit-reset-tokens", "99999999999999999999999h"),
    );
    let stream = no_retries(&server)
        .chat_stream(request())
        .await
        .expect("the stream starts");
    let limits = stream.meta().rate_limits;
    assert_eq!(limits.requests.and_then(|l| l.reset), None);
    assert_eq!(limits.requests.and_then(|l| l.limit), Some(50));
    // A finite duration too long to represent saturates at the longest delay.
    assert_eq!(
        limits.tokens.and_then(|l| l.reset),
        Some(llm_runtime::error::MAX_DELAY)
    );
    let r = stream.collect_response().await.expect("a success");
    assert_eq!(r.text(), "Hi");
}

#[tokio::test]
async fn an_absurd_reset_on_an_error_answer_keeps_the_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            429,
            json!({"error": {"message": "slow down", "type": "rate_limit_error"}}),
        )
        .header("anthropic-ratelimit-requests-reset", ABSURD_RESET)
        .header("retry-after", "1e400"),
    );
    let e = no_retries(&server)
        .chat(request())
        .await
        .expect_err("a 429 is an error");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), None, "an infinite Retry-After is no delay");
    assert_eq!(e.message(), "slow down");
}

/// An OpenAI-shaped 400 of `size` bytes: a message, then `[0,0,0,...]`.
fn huge_error_body(size: usize, message: &str) -> Vec<u8> {
    let head =
        format!(r#"{{"error":{{"message":"{message}","type":"invalid_request_error","param":[0"#);
    let mut body = Vec::with_capacity(size + 64);
    body.extend_from_slice(head.as_bytes());
    while body.len() < size {
        body.extend_from_slice(b",0");
    }
    body.extend_from_slice(b"]}}");
    body
}

#[tokio::test]
async fn a_60_mib_error_body_is_read_only_up_to_the_cap() {
    const SIZE: usize = 60 * 1024 * 1024;
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::bytes(400, huge_error_body(SIZE, "bad request"))
            .header("content-type", "application/json"),
    );
    let e = no_retries(&server)
        .chat(request())
        .await
        .expect_err("a 400 is an error");
    // Cut at the cap, the document is no longer JSON: the status decides.
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.status(), Some(400));
    assert_eq!(
        e.message(),
        "HTTP 400 Bad Request: the body is not a known error shape"
    );
    let kept = e.body().expect("the start of the body is kept");
    assert_eq!(kept.len(), MAX_ERROR_BODY);
    assert!(
        kept.starts_with(r#"{"error":{"message":"bad request""#),
        "{kept}"
    );
    // The rest was never read: the client closed the connection instead of
    // draining 60 MiB into the pool.
    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "the upstream still holds {} connections",
        server.connections_open()
    );
}

#[tokio::test]
async fn an_error_body_within_the_cap_is_read_whole_and_the_connection_kept() {
    let server = MockServer::start().await;
    // Just under the cap: whole, parsed, classified by its code.
    let body = huge_error_body(MAX_ERROR_READ - 64, "too long");
    assert!(body.len() <= MAX_ERROR_READ);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::bytes(400, body).header("content-type", "application/json"),
    );
    let client = no_retries(&server);
    let e = client.chat(request()).await.expect_err("a 400");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(e.message(), "too long");
    assert_eq!(e.code(), Some("invalid_request_error"));
    // Read to its end, the connection went back to the pool, still open.
    assert_eq!(server.connections_open(), 1);
}

/// A key with every character that has an encoded form.
const ODD_KEY: &str = "sk-odd+key/with=\"quotes\"\\and~more-0123456789";

/// The forms an upstream may echo `ODD_KEY` in.
fn echoes() -> Vec<String> {
    let json = serde_json::to_string(ODD_KEY).expect("a string");
    let json = json.trim_matches('"').to_owned();
    vec![
        ODD_KEY.to_owned(),
        "sk-odd%2Bkey%2Fwith%3D%22quotes%22%5Cand~more-0123456789".to_owned(),
        "sk-odd%2bkey%2fwith%3d%22quotes%22%5cand~more-0123456789".to_owned(),
        "sk-odd key/with=\"quotes\"\\and~more-0123456789".to_owned(),
        json.replace('/', "\\/"),
        json,
    ]
}

#[tokio::test]
async fn a_key_echoed_in_a_huge_error_body_is_redacted_in_every_form() {
    let server = MockServer::start().await;
    for echo in echoes() {
        // The echo near the start (kept), in the message, and past the read
        // cap (never read); a text body so every form stays as sent.
        let mut body = format!("invalid key {echo} ({echo})\n").into_bytes();
        body.resize(MAX_ERROR_READ - echo.len() / 2, b'x');
        body.extend_from_slice(echo.as_bytes());
        body.resize(4 * 1024 * 1024, b'y');
        server.on(
            "POST",
            CHAT_PATH,
            MockResponse::bytes(401, body).header("content-type", "text/plain"),
        );
        let client = config(&server)
            .api_key(ODD_KEY)
            .max_retries(0)
            .connect()
            .expect("valid");
        let e = client.chat(request()).await.expect_err("a 401");
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let kept = e.body().expect("a body");
        assert!(
            kept.starts_with("invalid key [redacted] ([redacted])\n"),
            "{echo}: {kept}"
        );
        let shown = format!("{e} {e:?} {kept}");
        for form in echoes() {
            assert!(!shown.contains(&form), "{form} leaked: {shown}");
        }
        assert!(!shown.contains("sk-odd"), "{shown}");
    }
    // And the ordinary key of the other tests, JSON-shaped, as before.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "code": "invalid_api_key"}}),
        ),
    );
    let e = no_retries(&server).chat(request()).await.expect_err("401");
    assert_eq!(e.message(), "Incorrect API key provided: [redacted]");
}

#[tokio::test]
async fn a_stream_answered_with_a_huge_error_is_capped_too() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::bytes(500, huge_error_body(8 * 1024 * 1024, "boom"))
            .header("content-type", "application/json"),
    );
    let e = no_retries(&server)
        .chat_stream(request())
        .await
        .expect_err("a 500 never starts a stream");
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert_eq!(e.body().map(str::len), Some(MAX_ERROR_BODY));
    assert!(server.wait_for_connections_open(0, PATIENCE).await);
}
