//! Health checks over loopback: a free probe (`GET /models`, or the declared
//! one) that reports status and latency; a bad key and a stalled upstream are
//! unhealthy, the latter within the configured bound.

mod common;

use std::time::{Duration, Instant};

use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{Client, ErrorKind};
use serde_json::json;

use common::clients::{Acme, Backup, Probed, bad_key, config_for, connect};

fn model_list() -> MockResponse {
    MockResponse::json(
        200,
        json!({"object": "list", "data": [{"id": "acme-large", "object": "model", "owned_by": "acme"}]}),
    )
}

#[tokio::test]
async fn healthy_upstream() {
    let server = MockServer::start().await;
    server.on("GET", "/v1/models", model_list());
    let status = connect::<Acme>(&server).health_check().await;
    assert!(status.healthy, "{status:?}");
    assert_eq!(status.status, Some(200));
    assert!(status.error.is_none());
    assert!(status.latency > Duration::ZERO && status.latency < Duration::from_secs(5));
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].path.as_str()),
        ("GET", "/v1/models")
    );
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {}", common::KEY).as_str())
    );
}

#[tokio::test]
async fn the_declared_probe_is_used() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/v1/ping",
        MockResponse::json(200, json!({"ok": true})),
    );
    let status = connect::<Probed>(&server).health_check().await;
    assert!(status.healthy, "{status:?}");
    assert_eq!(server.requests()[0].path, "/v1/ping");
}

#[tokio::test]
async fn a_bad_key_is_unhealthy_with_an_authentication_error() {
    let server = MockServer::start().await;
    server.on("GET", "/v1/models", bad_key());
    let status = connect::<Acme>(&server).health_check().await;
    assert!(!status.healthy);
    assert_eq!(status.status, Some(401));
    let err = status.error.expect("the reason");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.provider(), Some("acme"));
    // A probe is not retried.
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_stalled_upstream_is_unhealthy_within_the_bound() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/v1/models",
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = config_for::<Acme>(&server)
        .timeout(Duration::from_millis(300))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let status = client.health_check().await;
    let took = started.elapsed();
    assert!(!status.healthy);
    assert_eq!(status.status, None);
    assert_eq!(status.error.expect("the reason").kind(), ErrorKind::Timeout);
    assert!(
        took >= Duration::from_millis(250),
        "gave up too early: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "not bounded: {took:?}");
    assert!(status.latency <= took);
}

#[tokio::test]
async fn the_client_checks_every_provider_by_name() {
    let healthy = MockServer::start().await;
    healthy.on("GET", "/v1/models", model_list());
    let unauthorized = MockServer::start().await;
    unauthorized.on("GET", "/v1/models", bad_key());
    let client = Client::builder()
        .register(connect::<Acme>(&healthy))
        .expect("new")
        .register(connect::<Backup>(&unauthorized))
        .expect("new")
        .build()
        .expect("valid");
    let all = client.health_check_all().await;
    assert_eq!(
        all.keys().map(String::as_str).collect::<Vec<_>>(),
        ["acme", "backup"]
    );
    assert!(all["acme"].healthy);
    assert!(!all["backup"].healthy);
    assert_eq!(
        all["backup"].error.as_ref().map(|e| e.kind()),
        Some(ErrorKind::Authentication)
    );
}
