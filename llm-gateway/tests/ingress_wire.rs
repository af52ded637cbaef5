//! The Anthropic Messages and OpenAI Responses ingresses over loopback,
//! without the SDKs: same-dialect bodies pass byte for byte, other dialects
//! get the translation, bad bodies are answered in each ingress's envelope,
//! and a client that goes away mid-stream cancels the upstream call.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::time::Duration;

use common::{Gateway, PATIENCE, fixture, http, openai_stream};
use futures_util::StreamExt;
use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::{Value, json};

const KEY: &str = "sk-gateway-test";

/// A mock answering `POST path` with the fixture `dialect/file` (JSON).
async fn upstream(path: &str, dialect: &str, file: &str) -> MockServer {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        path,
        MockResponse::text(200, "application/json", fixture(dialect, file)),
    );
    mock
}

fn entry(name: &str, model: &str, api_base: &str) -> String {
    common::entry(name, model, api_base, "")
}

/// The gateway over `entries`, with a master key.
async fn gateway(entries: &str) -> Gateway {
    common::gateway(&format!(
        "model_list:\n{entries}general_settings:\n  master_key: {KEY}\n"
    ))
    .await
}

/// A body the caller wrote in the upstream's own format reaches it byte for
/// byte: each top-level field as written (number text, key order, escapes,
/// a signed thinking block, `cache_control`, a field no API has yet), with
/// the route's model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_dialect_body_reaches_the_upstream_byte_for_byte() {
    let anthropic = upstream("/v1/messages", "anthropic", "tools.json").await;
    let responses = upstream("/v1/responses", "openai_responses", "tools.json").await;
    let entries = entry("claude", "anthropic/claude-sonnet-4-5", &anthropic.url())
        + &entry(
            "resp",
            "openai_responses/o4-mini",
            &format!("{}/v1", responses.url()),
        );
    let running = gateway(&entries).await;
    let messages = r#"[{"role":"user","content":[{"type":"text","text":"Weather?","cache_control":{"type":"ephemeral","ttl":"1h"}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool \u00e9.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA=="},{"type":"tool_use","id":"toolu_1","name":"get_forecast","input":{"b":1,"a":0.10}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]"#;
    let future = r#"{"z":1,"a":[1.10,2e3]}"#;
    let body = format!(
        r#"{{"model":"claude","max_tokens":64,"future_field":{future},"messages":{messages}}}"#
    );
    let input = r#"[{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAA=="},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\": 1.10}"},{"type":"function_call_output","call_id":"call_1","output":"ok"}]"#;
    let responses_body =
        format!(r#"{{"model":"resp","store":false,"brand_new":{future},"input":{input}}}"#);
    let http = http();
    for (path, body) in [("/v1/messages", &body), ("/v1/responses", &responses_body)] {
        let answer = http
            .post(format!("{}{path}", running.url()))
            .header("x-api-key", KEY)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            200,
            "{path}: {}",
            answer.text().await.unwrap()
        );
    }
    let sent = anthropic.requests().pop().unwrap();
    let sent = sent.body_text().unwrap();
    assert!(
        sent.contains(&format!(r#""messages":{messages}"#)),
        "{sent}"
    );
    assert!(
        sent.contains(&format!(r#""future_field":{future}"#)),
        "{sent}"
    );
    assert!(sent.contains(r#""model":"claude-sonnet-4-5""#), "{sent}");
    let sent = responses.requests().pop().unwrap();
    let sent = sent.body_text().unwrap();
    assert!(sent.contains(&format!(r#""input":{input}"#)), "{sent}");
    assert!(sent.contains(&format!(r#""brand_new":{future}"#)), "{sent}");
    assert!(sent.contains(r#""model":"o4-mini""#), "{sent}");
    running.running.shutdown().await;
}

/// Across dialects the body is translated, not passed: an Anthropic request
/// to an OpenAI upstream arrives as Chat Completions, without Anthropic's fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_dialect_gets_the_translation() {
    let openai = upstream("/v1/chat/completions", "openai", "chat_tools.json").await;
    let running = gateway(&entry(
        "gpt",
        "openai/gpt-4o",
        &format!("{}/v1", openai.url()),
    ))
    .await;
    let body = r#"{"model":"gpt","max_tokens":64,"top_k":3,"system":"Be brief.","messages":[{"role":"user","content":"Weather?"}]}"#;
    let answer = http()
        .post(format!("{}/v1/messages", running.url()))
        .header("x-api-key", KEY)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["stop_reason"], "tool_use");
    let sent = openai.requests().pop().unwrap().body_json();
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}])
    );
    assert!(
        sent.get("top_k").is_none() && sent.get("system").is_none(),
        "{sent}"
    );
    running.running.shutdown().await;
}

/// A body past the limit is a 413 in each ingress's own envelope, and a
/// body that is not a request a 400 naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_answered_in_each_ingress_envelope() {
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: {KEY}\n  max_request_size_mb: 0.001\n",
        entry("m", "openai/gpt-4o", "http://127.0.0.1:9/v1")
    );
    let gateway = common::gateway(&yaml).await;
    let big = format!(
        r#"{{"model":"m","max_tokens":5,"input":"{}","messages":[]}}"#,
        "x".repeat(4096)
    );
    let post = |path: &str, body: String| {
        common::http()
            .post(format!("{}{path}", gateway.url()))
            .header("x-api-key", KEY)
            .body(body)
            .send()
    };
    let anthropic = post("/v1/messages", big.clone()).await.unwrap();
    assert_eq!(anthropic.status(), 413);
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "request_too_large");
    let responses = post("/v1/responses", big).await.unwrap();
    assert_eq!(responses.status(), 413);
    let body: Value = responses.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let anthropic = post("/v1/messages", r#"{"model":"m","messages":[]}"#.into())
        .await
        .unwrap();
    assert_eq!(anthropic.status(), 400);
    let body: Value = anthropic.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: is required"}})
    );
    let responses = post("/v1/responses", r#"{"model":"m","input":7}"#.into())
        .await
        .unwrap();
    assert_eq!(responses.status(), 400);
    let body: Value = responses.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "input: must be an array, not a number"
    );
    let unknown = r#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#;
    let count = post("/v1/messages/count_tokens", unknown.into())
        .await
        .unwrap();
    assert_eq!(count.status(), 404);
    let body: Value = count.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
    let count = post("/v1/messages/count_tokens", r#"{"model":"m"}"#.into())
        .await
        .unwrap();
    assert_eq!(count.status(), 400);
    gateway.running.shutdown().await;
}

/// How soon the upstream must see its connection closed after the client left.
const CANCEL_BOUND: Duration = Duration::from_secs(1);

/// A client that goes away mid-stream closes the upstream connection, on
/// both streaming ingresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_mid_stream_closes_the_upstream_connection() {
    let words: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    for (path, body) in [
        (
            "/v1/messages",
            json!({"model": "m", "max_tokens": 9, "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        ),
        (
            "/v1/responses",
            json!({"model": "m", "stream": true, "input": "x"}),
        ),
    ] {
        let mock = MockServer::start().await;
        mock.on(
            "POST",
            "/v1/chat/completions",
            openai_stream(&words).chunk_delay(Duration::from_millis(100)),
        );
        let running = gateway(&entry("m", "openai/gpt-4o", &format!("{}/v1", mock.url()))).await;
        let answer = http()
            .post(format!("{}{path}", running.url()))
            .header("x-api-key", KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        let mut stream = answer.bytes_stream();
        let first = stream.next().await.unwrap().unwrap();
        assert!(first.starts_with(b"event: "), "{path}");
        assert!(mock.wait_for_connections_open(1, PATIENCE).await, "{path}");
        drop(stream);
        assert!(
            mock.wait_for_connections_open(0, CANCEL_BOUND).await,
            "{path}: the upstream still streams to nobody"
        );
        running.running.shutdown().await;
    }
}
