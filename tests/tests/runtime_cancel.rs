//! Cancellation: dropping a `ChatStream` or a pending call closes the upstream
//! connection (the mock sees the close), leaves no task behind, and the pool
//! stays usable.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::http::HttpClient;
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ProviderClient, providers::OpenAi};

use common::{CHAT_PATH, PATIENCE, chat_ok, config, openai_stream_events, request, stream_ok};

/// A client on a private pool, so no other test's connections count.
fn private_client(server: &MockServer) -> ProviderClient<OpenAi> {
    let http = HttpClient::builder().build().expect("the client builds");
    config(server).http_client(http).connect().expect("valid")
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until the runtime runs at most `n` tasks; the count it ended at.
async fn settle_tasks(n: usize) -> usize {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let alive = alive_tasks();
        if alive <= n || tokio::time::Instant::now() > deadline {
            return alive;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn assert_pool_still_usable(server: &MockServer, client: &ProviderClient<OpenAi>) {
    server.on("POST", CHAT_PATH, chat_ok("still fine"));
    let reply = tokio::time::timeout(PATIENCE, client.chat(request()))
        .await
        .expect("bounded")
        .expect("the pool is usable after a cancellation");
    assert_eq!(reply.text(), "still fine");
    server.on("POST", CHAT_PATH, stream_ok(&["and ", "streams"]));
    let reply = client
        .chat_stream(request())
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("completes");
    assert_eq!(reply.text(), "and streams");
}

#[tokio::test]
async fn dropping_a_stream_mid_way_closes_the_connection() {
    let server = MockServer::start().await;
    let baseline = alive_tasks();
    // Two events, then the upstream keeps the stream open without a word.
    let events = openai_stream_events(&["one", "two", "never"], true);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).with_fault(Fault::StallAfterChunks(2)),
    );
    let client = private_client(&server);

    let mut stream = client.chat_stream(request()).await.expect("opens");
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("bounded");
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    assert_eq!(server.connections_open(), 1);
    drop(stream);

    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "the upstream connection stayed open after the stream was dropped ({} open)",
        server.connections_open()
    );
    let left = settle_tasks(baseline).await;
    assert!(
        left <= baseline,
        "{left} tasks alive after the drop, {baseline} before the request"
    );
    assert_pool_still_usable(&server, &client).await;
    assert_eq!(
        server.connections_accepted(),
        2,
        "the dropped connection was not reused"
    );
}

#[tokio::test]
async fn dropping_a_stream_while_it_drips_closes_the_connection() {
    let server = MockServer::start().await;
    let texts: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&texts, true))
            .chunk_delay(Duration::from_millis(20)),
    );
    let client = private_client(&server);
    let mut stream = client.chat_stream(request()).await.expect("opens");
    for _ in 0..3 {
        assert!(matches!(stream.next().await, Some(Ok(_))));
    }
    drop(stream);
    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "still {} open",
        server.connections_open()
    );
    assert_pool_still_usable(&server, &client).await;
}

#[tokio::test]
async fn dropping_a_pending_chat_closes_the_connection() {
    let server = MockServer::start().await;
    let baseline = alive_tasks();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = private_client(&server);

    let pending = tokio::time::timeout(Duration::from_millis(300), client.chat(request())).await;
    assert!(
        pending.is_err(),
        "the stalled call was still pending when dropped"
    );
    assert!(server.wait_for_request_count(1, PATIENCE).await);
    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "the upstream connection stayed open after the call was dropped ({} open)",
        server.connections_open()
    );
    let left = settle_tasks(baseline).await;
    assert!(
        left <= baseline,
        "{left} tasks alive after the drop, {baseline} before the request"
    );
    assert_pool_still_usable(&server, &client).await;
}

#[tokio::test]
async fn dropping_a_pending_stream_call_closes_the_connection() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = private_client(&server);
    let pending =
        tokio::time::timeout(Duration::from_millis(300), client.chat_stream(request())).await;
    assert!(pending.is_err(), "still pending when dropped");
    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "still {} open",
        server.connections_open()
    );
    assert_pool_still_usable(&server, &client).await;
}

#[tokio::test]
async fn dropping_a_call_waiting_to_retry_sends_nothing_more() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::json(429, serde_json::json!({"error": {"message": "slow down"}}))
                .header("retry-after", "2"),
            chat_ok("too late"),
        ],
    );
    let client = private_client(&server);
    let pending = tokio::time::timeout(Duration::from_millis(300), client.chat(request())).await;
    assert!(pending.is_err(), "still waiting to retry when dropped");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        server.request_count(),
        1,
        "a dropped call must not retry in the background"
    );
}

#[tokio::test]
async fn dropping_the_client_and_its_streams_closes_everything() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&["a", "b"], true))
            .with_fault(Fault::StallAfterChunks(1)),
    );
    let client = private_client(&server);
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut s = client.chat_stream(request()).await.expect("opens");
        assert!(matches!(s.next().await, Some(Ok(_))));
        streams.push(s);
    }
    assert_eq!(server.connections_open(), 5);
    drop(streams);
    drop(client);
    assert!(
        server.wait_for_connections_open(0, PATIENCE).await,
        "still {} open",
        server.connections_open()
    );
}
