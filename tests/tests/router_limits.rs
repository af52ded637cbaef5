//! Limits with reservations, in-process: `tpm` admits exactly what fits,
//! settling refunds the difference, `rpm` and `max_in_flight` hold, and a
//! stream settles what was seen when it is dropped half-way.

mod router_common;

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use llm_runtime::router::ScopeUsage;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Client, ErrorKind, StreamEvent, router::ModelGroup};
use router_common::*;
use serde_json::json;

const SCOPE: &str = "deployment:g/d";

/// A request whose reservation (counted prompt + max_tokens) is `total` tokens,
/// and its counted prompt.
fn sized(total: u64) -> (ChatRequest, u64) {
    let probe = ChatRequest::new(MODEL).user("Say hello");
    let prompt = llm_runtime::tokens::count_request(&probe).tokens as u64;
    let max = u32::try_from(total - prompt).expect("small");
    (
        ChatRequest::new("").user("Say hello").max_tokens(max),
        prompt,
    )
}

async fn usage(client: &Client, scope: &str) -> ScopeUsage {
    let router = client.router().expect("groups");
    router.state().usage(scope).await.expect("in-process usage")
}

fn client_with(server: &MockServer, group: ModelGroup) -> Client {
    let _ = server;
    Client::builder().group(group).build().expect("valid")
}

#[tokio::test]
async fn tpm_admits_exactly_what_fits() {
    let server = MockServer::start().await;
    let (request, prompt) = sized(250);
    // The upstream reports exactly what was reserved: nothing to refund.
    let completion = u32::try_from(250 - prompt).expect("small");
    server.on("POST", &path("d"), completion_with(prompt, completion));
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(1_000)),
    );
    for n in 1..=4 {
        client
            .chat("g", request.clone())
            .await
            .unwrap_or_else(|e| panic!("call {n}: {e}"));
    }
    let err = client
        .chat("g", request.clone())
        .await
        .expect_err("no room left");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(
        err.message().contains("limit of `deployment:g/d` reached"),
        "{}",
        err.message()
    );
    assert!(
        err.retry_after()
            .is_some_and(|w| w <= Duration::from_secs(60))
    );
    assert_eq!(received(&server, "d"), 4, "the refused call never left");
    assert_eq!(
        usage(&client, SCOPE).await,
        ScopeUsage {
            requests: 4,
            tokens: 1_000,
            in_flight: 0
        }
    );
}

fn completion_with(prompt: u64, completion: u32) -> MockResponse {
    router_common::completion("ok", u32::try_from(prompt).expect("small"), completion)
}

#[tokio::test]
async fn settling_refunds_what_was_not_used() {
    let server = MockServer::start().await;
    let (request, _) = sized(250);
    // Each call reserves 250 and settles at 100: 100 k + 250 <= 1000 admits k = 0..=7.
    server.on("POST", &path("d"), router_common::completion("ok", 60, 40));
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(1_000)),
    );
    let mut admitted = 0;
    while client.chat("g", request.clone()).await.is_ok() {
        admitted += 1;
        assert!(admitted <= 10, "the limit must hold");
    }
    assert_eq!(admitted, 8);
    assert_eq!(
        usage(&client, SCOPE).await,
        ScopeUsage {
            requests: 8,
            tokens: 800,
            in_flight: 0
        }
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_reservations_never_exceed_tpm() {
    let server = MockServer::start().await;
    let (request, prompt) = sized(250);
    server.on(
        "POST",
        &path("d"),
        completion_with(prompt, 1).delay(Duration::from_millis(100)),
    );
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(1_000)),
    );
    let replies = join_all((0..10).map(|_| client.chat("g", request.clone()))).await;
    let ok = replies.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok, 4,
        "four reservations of 250 fill 1000 before any settles"
    );
    for r in replies.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.kind(), ErrorKind::RateLimited);
    }
    assert_eq!(received(&server, "d"), 4);
}

#[tokio::test(flavor = "current_thread")]
async fn group_rpm_and_max_in_flight_hold() {
    let server = MockServer::start().await;
    server.on("POST", &path("a"), ok().delay(Duration::from_millis(100)));
    server.on("POST", &path("b"), ok().delay(Duration::from_millis(100)));
    let group = ModelGroup::new("g")
        .deployment(deployment(&server, "a"))
        .deployment(deployment(&server, "b"))
        .max_in_flight(3);
    let client = client_with(&server, group);
    let replies = join_all((0..7).map(|_| client.chat("g", request()))).await;
    assert_eq!(replies.iter().filter(|r| r.is_ok()).count(), 3);
    assert_eq!(usage(&client, "group:g").await.in_flight, 0, "all settled");

    let server = MockServer::start().await;
    server.on("POST", &path("a"), ok());
    let client = client_with(
        &server,
        ModelGroup::new("g")
            .deployment(deployment(&server, "a"))
            .rpm(5),
    );
    let replies = join_all((0..12).map(|_| client.chat("g", request()))).await;
    assert_eq!(replies.iter().filter(|r| r.is_ok()).count(), 5);
    assert_eq!(received(&server, "a"), 5);
}

#[tokio::test]
async fn a_failed_call_keeps_its_request_and_returns_its_tokens() {
    let server = MockServer::start().await;
    server.on("POST", &path("d"), error(500, "server_error"));
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(1_000)),
    );
    let (request, _) = sized(250);
    client.chat("g", request).await.expect_err("500");
    assert_eq!(
        usage(&client, SCOPE).await,
        ScopeUsage {
            requests: 1,
            tokens: 0,
            in_flight: 0
        }
    );
}

fn chunk(text: &str) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "model": MODEL,
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    .to_string()
}

#[tokio::test]
async fn a_stream_dropped_half_way_settles_what_was_seen() {
    let server = MockServer::start().await;
    let pieces: Vec<String> = (0..20).map(|i| format!("piece{i} ")).collect();
    let mut events: Vec<String> = pieces.iter().map(|p| chunk(p)).collect();
    events.push("[DONE]".to_owned());
    server.on(
        "POST",
        &path("d"),
        MockResponse::sse_data(events).chunk_delay(Duration::from_millis(20)),
    );
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(100_000)),
    );
    let (request, prompt) = sized(1_000);
    let mut stream = client.chat_stream("g", request).await.expect("opens");
    assert!(stream.meta().routing.is_some());
    let mut seen = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event.expect("event") {
            seen.push_str(&text);
            if seen.len() >= pieces[..5].concat().len() {
                break;
            }
        }
    }
    // While it is open the reservation stands.
    let open = usage(&client, SCOPE).await;
    assert_eq!((open.tokens, open.in_flight), (1_000, 1));
    drop(stream);
    let counted = llm_runtime::tokens::count_text(MODEL, &seen).tokens as u64;
    assert_eq!(seen, pieces[..5].concat());
    assert_eq!(
        usage(&client, SCOPE).await,
        ScopeUsage {
            requests: 1,
            tokens: prompt + counted,
            in_flight: 0
        }
    );
}

#[tokio::test]
async fn a_stream_read_to_its_end_settles_its_reported_usage() {
    let server = MockServer::start().await;
    let usage_chunk =
        json!({"id": "c", "object": "chat.completion.chunk", "model": MODEL, "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}})
        .to_string();
    server.on(
        "POST",
        &path("d"),
        MockResponse::sse_data([chunk("a b c"), usage_chunk, "[DONE]".to_owned()]),
    );
    let client = client_with(
        &server,
        ModelGroup::new("g").deployment(deployment(&server, "d").tpm(100_000)),
    );
    let (request, _) = sized(1_000);
    let reply = client
        .chat_stream("g", request)
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("whole");
    assert_eq!(reply.text(), "a b c");
    assert_eq!(
        usage(&client, SCOPE).await,
        ScopeUsage {
            requests: 1,
            tokens: 12,
            in_flight: 0
        }
    );
}
