//! The caller's controls over loopback: per-call options, hooks that see every
//! attempt (and never the key), response metadata on success and on error.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use llm_runtime::hooks::{AttemptFailure, AttemptRequest, Completion, Hook, ResponseHead};
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ChatOptions, Client, ErrorKind, retry::RetryPolicy};
use serde_json::json;

use common::{CHAT_PATH, KEY, PATIENCE, assert_no_key, chat_ok, config, request, stream_ok};

#[tokio::test]
async fn a_per_call_header_reaches_that_call_only() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let client = config(&server).connect().expect("valid");
    let opts = ChatOptions::new()
        .header("x-tenant", "acme")
        .idempotency_key("order-1");
    client.chat_with(request(), &opts).await.expect("chat");
    client.chat(request()).await.expect("plain chat");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("x-tenant"), Some("acme"));
    assert_eq!(seen[0].header("idempotency-key"), Some("order-1"));
    assert_eq!(seen[1].header("x-tenant"), None, "only on that call");
    assert_eq!(seen[1].header("idempotency-key"), None);
}

#[tokio::test]
async fn an_invalid_per_call_header_is_a_config_error_before_sending() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let client = config(&server).connect().expect("valid");
    let opts = ChatOptions::new().header("bad header", "x");
    let e = client
        .chat_with(request(), &opts)
        .await
        .expect_err("invalid");
    assert_eq!(e.kind(), ErrorKind::Config, "{e:?}");
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn a_per_call_timeout_overrides_the_configured_one_both_ways() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        chat_ok("late").delay(Duration::from_millis(600)),
    );
    // Configured short, the call allows longer: it succeeds.
    let short = config(&server)
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .connect()
        .expect("valid");
    let longer = ChatOptions::new().timeout(Duration::from_secs(5));
    let reply = short.chat_with(request(), &longer).await.expect("waits");
    assert_eq!(reply.text(), "late");
    assert!(
        short.chat(request()).await.is_err(),
        "the configured bound still holds"
    );
    // Configured long, the call allows less: it times out at the call's bound.
    let long = config(&server)
        .timeout(Duration::from_secs(10))
        .max_retries(0)
        .connect()
        .expect("valid");
    let shorter = ChatOptions::new().timeout(Duration::from_millis(200));
    let started = Instant::now();
    let e = long.chat_with(request(), &shorter).await.expect_err("cut");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    // Cut at the call's 200 ms, not the configured 10 s (the margin is for
    // a loaded machine's scheduling, which can delay a timer by whole
    // seconds; half the configured bound still tells the two apart).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_per_call_idle_bound_applies_to_the_stream() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(common::openai_stream_events(&["a", "b", "c"], true))
            .with_fault(Fault::StallAfterChunks(1)),
    );
    let client = config(&server).connect().expect("valid");
    let opts = ChatOptions::new().idle_timeout(Duration::from_millis(200));
    let stream = client
        .chat_stream_with(request(), &opts)
        .await
        .expect("opens");
    let started = Instant::now();
    let (_, e) = tokio::time::timeout(PATIENCE, common::drain(stream))
        .await
        .expect("bounded");
    assert_eq!(e.expect("stalls").kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_per_call_retry_count_is_honoured() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(503, json!({"error": {"message": "busy"}})),
    );
    let client = config(&server).max_retries(5).connect().expect("valid");
    let none = ChatOptions::new().max_retries(0);
    client.chat_with(request(), &none).await.expect_err("busy");
    assert_eq!(server.request_count(), 1, "no retry on this call");
    let two = ChatOptions::new().retry_policy(
        RetryPolicy::default()
            .max_retries(2)
            .initial_backoff(Duration::from_millis(5))
            .max_backoff(Duration::from_millis(10)),
    );
    client.chat_with(request(), &two).await.expect_err("busy");
    assert_eq!(server.request_count(), 1 + 3, "two retries on this call");
}

/// Records every hook call as a line, and the Debug of every argument.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
    debug: Mutex<String>,
}

impl Recorder {
    fn push(&self, line: String, debug: String) {
        self.lines.lock().expect("lock").push(line);
        self.debug.lock().expect("lock").push_str(&debug);
    }
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lock").clone()
    }
}

impl Hook for Recorder {
    fn before_send(&self, request: &mut AttemptRequest<'_>) {
        let body = String::from_utf8_lossy(request.body().unwrap_or_default()).into_owned();
        let headers = format!("{:?}", request.headers());
        self.push(
            format!("send {} {}", request.attempt, request.method()),
            format!("{request:?} {} {headers} {body}", request.url()),
        );
        request.add_header("x-hooked", "yes").expect("valid");
    }
    fn on_response(&self, head: &ResponseHead<'_>) {
        self.push(
            format!("head {} {}", head.attempt, head.status),
            format!("{head:?}"),
        );
    }
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        self.push(
            format!(
                "error {} {} retry={}",
                failure.attempt,
                failure.error.kind(),
                failure.retry_in.is_some()
            ),
            format!("{failure:?} {}", failure.error),
        );
    }
    fn on_complete(&self, done: &Completion<'_>) {
        self.push(
            format!(
                "done attempts={} stream={} finish={:?}",
                done.attempts,
                done.stream,
                done.finish_reason.map(|f| f.as_str())
            ),
            format!("{done:?}"),
        );
    }
}

#[tokio::test]
async fn hooks_see_each_attempt_the_retry_decision_and_the_end() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::json(503, json!({"error": {"message": "busy"}})),
            chat_ok("retried"),
        ],
    );
    let recorder = Arc::new(Recorder::default());
    let client = config(&server)
        .hook(recorder.clone())
        .connect()
        .expect("valid");
    let reply = client
        .chat(request())
        .await
        .expect("second attempt answers");
    assert_eq!(reply.text(), "retried");
    assert_eq!(
        recorder.lines(),
        [
            "send 1 POST",
            "head 1 503",
            "error 1 overloaded retry=true",
            "send 2 POST",
            "head 2 200",
            "done attempts=2 stream=false finish=Some(\"stop\")",
        ]
    );
    assert_eq!(reply.meta.attempts, 2);
    // What a hook adds reaches the upstream.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.header("x-hooked") == Some("yes"))
    );
}

#[tokio::test]
async fn hooks_see_a_stream_end_and_compose_in_order() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, stream_ok(&["a", "b"]));
    let first = Arc::new(Recorder::default());
    let second = Arc::new(Recorder::default());
    let client = config(&server)
        .hook(first.clone())
        .connect()
        .expect("valid");
    let opts = ChatOptions::new().hook(second.clone());
    let reply = client
        .chat_stream_with(request(), &opts)
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("completes");
    assert_eq!(reply.text(), "ab");
    for recorder in [&first, &second] {
        let lines = recorder.lines();
        assert_eq!(lines.first().map(String::as_str), Some("send 1 POST"));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("done attempts=1 stream=true finish=Some(\"stop\")"),
            "{lines:?}"
        );
    }
}

#[tokio::test]
async fn hooks_never_see_the_key() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![common::key_echoing_401(), chat_ok("ok")],
    );
    let recorder = Arc::new(Recorder::default());
    // The key as a bearer header and, on a second client, as a query parameter.
    let client = config(&server)
        .hook(recorder.clone())
        .header("x-echo", KEY)
        .connect()
        .expect("valid");
    let _ = client.chat(request()).await.expect_err("401");
    client.chat(request()).await.expect("ok");
    let seen = recorder.debug.lock().expect("lock").clone();
    assert!(
        seen.contains("[redacted]"),
        "the auth header is shown as redacted"
    );
    assert!(
        seen.contains("gpt-4o-mini"),
        "the hook saw the request: {seen}"
    );
    assert_no_key(&seen);
}

#[tokio::test]
async fn metadata_has_the_request_id_and_rate_limits_on_success_and_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        chat_ok("hi")
            .header("x-request-id", "req_123")
            .header("x-ratelimit-limit-requests", "60")
            .header("x-ratelimit-remaining-requests", "59")
            .header("x-ratelimit-reset-requests", "1s")
            .header("x-ratelimit-remaining-tokens", "1000"),
    );
    let client = config(&server).connect().expect("valid");
    let reply = client.chat(request()).await.expect("chat");
    assert_eq!(reply.meta.request_id.as_deref(), Some("req_123"));
    let requests = reply.meta.rate_limits.requests.expect("request limits");
    assert_eq!((requests.limit, requests.remaining), (Some(60), Some(59)));
    assert_eq!(requests.reset, Some(Duration::from_secs(1)));
    assert_eq!(
        reply.meta.rate_limits.tokens.and_then(|t| t.remaining),
        Some(1000)
    );
    assert_eq!(reply.meta.attempts, 1);
    assert!(reply.meta.latency >= reply.meta.latency_to_headers);

    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(400, json!({"error": {"message": "bad"}}))
            .header("x-request-id", "req_err"),
    );
    let e = client.chat(request()).await.expect_err("400");
    assert_eq!(e.request_id(), Some("req_err"));

    server.on(
        "POST",
        CHAT_PATH,
        stream_ok(&["x"]).header("request-id", "req_stream"),
    );
    let stream = client.chat_stream(request()).await.expect("opens");
    assert_eq!(stream.meta().request_id.as_deref(), Some("req_stream"));
}

#[tokio::test]
async fn the_client_reports_the_route_it_used() {
    let primary = MockServer::start().await;
    primary.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(503, json!({"error": {"message": "down"}})),
    );
    let backup = MockServer::start().await;
    backup.on("POST", "/v1/chat/completions", chat_ok("from backup"));
    let recorder = Arc::new(Recorder::default());
    let client = Client::builder()
        .register(config(&primary).max_retries(0).connect().expect("valid"))
        .expect("registered")
        .register(
            common::clients::Backup::config()
                .api_key(KEY)
                .base_url(format!("{}/v1", backup.url()))
                .connect()
                .expect("valid"),
        )
        .expect("registered")
        .fallback("backup/b-model")
        .hook(recorder.clone())
        .build()
        .expect("client");
    let reply = client
        .chat("openai/gpt-4o-mini", request())
        .await
        .expect("falls back");
    assert_eq!(reply.text(), "from backup");
    assert_eq!(reply.meta.route.as_deref(), Some("backup/b-model"));
    let lines = recorder.lines();
    assert!(
        lines.contains(&"error 1 overloaded retry=false".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("done")),
        "{lines:?}"
    );
    let _ = OpenAi::config();
}
