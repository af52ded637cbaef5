//! The gateway as a server: disconnects cancel the upstream call, body
//! limit, header and idle timeouts, graceful shutdown (in process and on
//! SIGTERM), TCP_NODELAY, h2c, the loopback rule, and the offline binary.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{PATIENCE, entry, gateway, http, openai_answer, openai_stream};
use futures_util::StreamExt;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The bound the upstream must see a cancelled call's connection close in.
const CANCEL_BOUND: Duration = Duration::from_secs(1);

async fn one(mock: &MockServer, tail: &str) -> common::Gateway {
    let yaml = format!(
        "model_list:\n{}{tail}",
        entry("m", "openai/gpt-4o-mini", &format!("{}/v1", mock.url()), "")
    );
    gateway(&yaml).await
}

fn stream_body() -> Value {
    json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]})
}

fn many(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("w{i} ")).collect()
}

#[tokio::test]
async fn a_client_gone_mid_stream_closes_the_upstream_connection() {
    let mock = MockServer::start().await;
    let words = many(100);
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&refs).chunk_delay(Duration::from_millis(100)),
    );
    let gw = one(&mock, "").await;
    let r = gw.post("/v1/chat/completions", stream_body()).await;
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: "));
    assert_eq!(mock.connections_open(), 1);
    drop(body);
    assert!(
        mock.wait_for_connections_open(0, CANCEL_BOUND).await,
        "the upstream still streams to nobody"
    );
    // Counted as the client's going away (nginx's 499).
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"llm_gateway_requests_total{route="chat_completions",model_group="m",status="499"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_client_gone_before_the_answer_closes_the_upstream_connection() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_answer("late").delay(Duration::from_secs(60)),
    );
    let gw = one(&mock, "").await;
    let url = format!("{}/v1/chat/completions", gw.url());
    let call = tokio::spawn(async move {
        http()
            .post(url)
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}))
            .send()
            .await
    });
    assert!(mock.wait_for_request_count(1, PATIENCE).await);
    call.abort();
    assert!(
        mock.wait_for_connections_open(0, CANCEL_BOUND).await,
        "the upstream call outlived its client"
    );
}

#[tokio::test]
async fn a_mid_stream_upstream_failure_is_an_error_event() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["a", "b", "c"]).with_fault(Fault::CloseAfterChunks(2)),
    );
    let gw = one(&mock, "").await;
    let text = gw
        .post("/v1/chat/completions", stream_body())
        .await
        .text()
        .await
        .unwrap();
    let last = text.trim_end().lines().last().unwrap();
    let error: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(error["error"]["type"], "api_error", "{text}");
    assert!(!text.contains("[DONE]"));
}

#[tokio::test]
async fn the_default_body_limit_is_32_mib_with_a_413_in_openais_envelope() {
    let mock = MockServer::start().await;
    let gw = one(&mock, "").await;
    let url = format!("{}/v1/chat/completions", gw.url());
    // Past the limit, with a content-length...
    let big = vec![b' '; 32 * 1024 * 1024 + 1];
    let r = http()
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_too_large");
    // ...and chunked, without one.
    let chunks = futures_util::stream::iter(
        (0..33).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024])),
    );
    let r = http()
        .post(&url)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Under it, the body is read (and here refused as JSON, not as size).
    let r = http()
        .post(&url)
        .body(vec![b' '; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let mock = MockServer::start().await;
    let gw = one(&mock, "general_settings:\n  header_timeout: 0.2\n").await;
    let mut tcp = tokio::net::TcpStream::connect(gw.running.addr)
        .await
        .unwrap();
    tcp.write_all(b"GET /health/liveness HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tcp.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // Then nothing: the server closes the idle connection.
    let rest = tokio::time::timeout(PATIENCE, async {
        let mut rest = Vec::new();
        tcp.read_to_end(&mut rest).await.map(|_| rest)
    })
    .await;
    assert!(matches!(rest, Ok(Ok(ref r)) if r.is_empty()), "{rest:?}");
}

#[tokio::test]
async fn shutdown_refuses_new_connections_and_finishes_streams_in_flight() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["a", "b", "c", "d"]).chunk_delay(Duration::from_millis(150)),
    );
    let gw = one(&mock, "").await;
    let addr = gw.running.addr;
    let r = gw.post("/v1/chat/completions", stream_body()).await;
    assert_eq!(r.status(), 200);
    let shutdown = tokio::spawn(gw.running.shutdown());
    // New connections are refused once shutdown began.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "still accepting");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let text = r.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    tokio::time::timeout(PATIENCE, shutdown)
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn accepted_connections_get_tcp_nodelay() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        assert!(!stream.nodelay().unwrap());
        llm_gateway::server::configure(&stream);
        assert!(stream.nodelay().unwrap());
    });
}

#[tokio::test]
async fn h2c_and_http1_on_one_port() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_stream(&["a", "b"]));
    let gw = one(&mock, "").await;
    let h2 = reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2
        .post(format!("{}/v1/chat/completions", gw.url()))
        .json(&stream_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert!(r.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    let r = http()
        .get(format!("{}/health/liveness", gw.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
}

#[tokio::test]
async fn a_public_address_needs_a_master_key() {
    let config = llm_gateway::config::GatewayConfig::default();
    let state = llm_gateway::AppState::from_config(config).unwrap();
    // Refused before any socket is bound.
    let public = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let err = llm_gateway::server::spawn(state, public).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    let lan = SocketAddr::from((Ipv4Addr::new(192, 168, 1, 2), 4000));
    let v6 = SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 4000));
    for addr in [public, lan, v6] {
        let check = llm_gateway::server::check_address(addr, false);
        assert_eq!(
            check.unwrap_err().kind(),
            std::io::ErrorKind::PermissionDenied,
            "{addr}"
        );
        assert!(
            llm_gateway::server::check_address(addr, true).is_ok(),
            "{addr} with a key"
        );
    }
    let v6_loopback = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0));
    assert!(llm_gateway::server::check_address(v6_loopback, false).is_ok());
}

#[tokio::test]
async fn an_upstream_429_is_a_429_with_retry_after_and_rate_limit_headers_pass_through() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(429, json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("retry-after", "7"),
    );
    mock.on(
        "POST",
        "/ok/v1/chat/completions",
        openai_answer("hi")
            .header("x-ratelimit-limit-requests", "500")
            .header("x-ratelimit-remaining-requests", "499"),
    );
    let yaml = format!(
        "model_list:\n{}{}",
        entry("m", "openai/gpt-4o-mini", &format!("{}/v1", mock.url()), ""),
        entry(
            "ok",
            "openai/gpt-4o-mini",
            &format!("{}/ok/v1", mock.url()),
            ""
        ),
    );
    let gw = gateway(&yaml).await;
    let r = gw.chat("m").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    let r = gw.chat("ok").await;
    assert_eq!(r.headers()["x-ratelimit-limit-requests"], "500");
    assert_eq!(r.headers()["x-ratelimit-remaining-requests"], "499");
    assert_eq!(r.headers()["x-litellm-model-group"], "ok");
    // A UUIDv7, as LiteLLM's call ids are UUIDs, stamped with the call's time.
    let id = uuid::Uuid::parse_str(r.headers()["x-litellm-call-id"].to_str().unwrap())
        .expect("the call id is a UUID");
    assert_eq!(id.get_version_num(), 7);
    let (secs, _) = id.get_timestamp().expect("v7 ids carry a time").to_unix();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(secs) < 60, "{secs} against {now}");
}

#[tokio::test]
async fn metrics_count_by_configured_names_only() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "").await;
    assert_eq!(gw.chat("m").await.status(), 200);
    for i in 0..20 {
        assert_eq!(gw.chat(&format!("unknown-{i}")).await.status(), 404);
    }
    let text = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(
            r#"llm_gateway_requests_total{route="chat_completions",model_group="m",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"llm_gateway_requests_total{route="chat_completions",model_group="other",status="404"} 20"#), "{text}");
    assert!(
        text.contains(
            r#"llm_gateway_tokens_total{model_group="m",deployment="m-0",kind="prompt"} 10"#
        ),
        "{text}"
    );
    assert!(
        text.contains("llm_gateway_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        !text.contains("unknown-"),
        "caller-chosen names never become labels"
    );
}

#[tokio::test]
async fn health_routes_answer_without_an_upstream_call() {
    let mock = MockServer::start().await;
    let gw = one(&mock, "general_settings:\n  master_key: sk-m\n").await;
    for path in [
        "/health/liveliness",
        "/health/liveness",
        "/health/readiness",
    ] {
        assert_eq!(gw.get(path).await.status(), 200, "{path}");
    }
    assert_eq!(
        gw.get("/v1/models").await.status(),
        401,
        "models need the key"
    );
    assert_eq!(mock.request_count(), 0);
}

/// The gateway binary, started with `args`; its stdout's first line gives the address.
struct Binary {
    child: std::process::Child,
    url: String,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
            .args(args)
            .env("LLM_GATEWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("llm-gateway listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_owned();
        Binary { child, url }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn with_no_config_the_binary_serves_the_offline_mock() {
    let gw = Binary::start(&["--port", "0"]);
    let r = http()
        .post(format!("{}/v1/chat/completions", gw.url))
        .json(&json!({"model": "mock", "messages": [{"role": "user", "content": "Hello"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Hello from the offline mock model."
    );
}

#[tokio::test]
async fn sigterm_lets_a_stream_in_flight_finish() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["a", "b", "c", "d"]).chunk_delay(Duration::from_millis(150)),
    );
    let dir = std::env::temp_dir().join(format!("llm-gateway-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n{}",
            entry("m", "openai/gpt-4o-mini", &format!("{}/v1", mock.url()), "")
        ),
    )
    .unwrap();
    let mut gw = Binary::start(&["--config", config.to_str().unwrap(), "--port", "0"]);
    let r = http()
        .post(format!("{}/v1/chat/completions", gw.url))
        .json(&stream_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pid = gw.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let text = r.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let deadline = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = gw.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn wildcards_route_any_model_of_their_provider() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let yaml = format!(
        "model_list:\n  - model_name: \"openai/*\"\n    litellm_params:\n      model: \"openai/*\"\n      api_base: {}/v1\n      api_key: sk-wild\n",
        mock.url()
    );
    let gw = gateway(&yaml).await;
    let r = gw.chat("openai/gpt-4.1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-group"], "openai/*");
    assert_eq!(r.headers()["x-litellm-model-id"], "openai/*:openai");
    assert_eq!(mock.requests()[0].body_json()["model"], "gpt-4.1");
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer sk-wild")
    );
    assert_eq!(
        gw.chat("anthropic/claude").await.status(),
        404,
        "another provider is no match"
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log of this test binary (a scoped subscriber would miss
/// events whose interest another test's thread cached first).
fn captured_log() -> &'static Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

#[tokio::test]
async fn one_access_log_line_per_call_without_prompt_or_key() {
    let captured = captured_log();
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("the answer"));
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: sk-master-secret\n",
        entry("m", "openai/gpt-4o-mini", &format!("{}/v1", mock.url()), "")
    );
    let gw = gateway(&yaml).await;
    let r = http()
        .post(format!("{}/v1/chat/completions", gw.url()))
        .bearer_auth("sk-master-secret")
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "my secret prompt"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let call_id = r.headers()["x-litellm-call-id"]
        .to_str()
        .unwrap()
        .to_owned();
    drop(r);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("llm_gateway::access") && l.contains(&format!("call_id={call_id} ")))
        .collect();
    assert_eq!(lines.len(), 1, "call {call_id}: {lines:#?}");
    for field in [
        format!("call_id={call_id}"),
        "model_group=m".into(),
        "deployment=\"m-0\"".into(),
        "status=200".into(),
        "prompt_tokens=10".into(),
    ] {
        assert!(lines[0].contains(&field), "{field} in {}", lines[0]);
    }
    for secret in [
        "my secret prompt",
        "sk-master-secret",
        "sk-test",
        "the answer",
    ] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}
