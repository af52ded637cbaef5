//! The unsupported-parameter policy end to end, per provider client, per
//! `Client` and per request: Reject (default), Drop (reported on the response),
//! Passthrough (sent as-is).

mod common;

use llm_runtime::testing::MockServer;
use llm_runtime::{ChatOptions, ChatRequest, Client, ErrorKind, types::UnsupportedParamPolicy};

use common::clients::{CHAT_PATH, NoSeed, chat_ok, config_for, connect};

/// A request with the parameter `noseed` cannot send.
fn seeded() -> ChatRequest {
    ChatRequest::new("m").user("hi").seed(7)
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("m", "ok"));
    server
}

#[tokio::test]
async fn reject_is_the_default_and_sends_nothing() {
    let server = server().await;
    let client = connect::<NoSeed>(&server);
    let err = client.chat(seeded()).await.expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.message().contains("seed"), "{err}");
    let err = client.chat_stream(seeded()).await.expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(server.request_count(), 0);
    // Without the parameter the same provider answers.
    client
        .chat(ChatRequest::new("m").user("hi"))
        .await
        .expect("no seed, no problem");
}

#[tokio::test]
async fn drop_leaves_it_out_and_reports_it() {
    let server = server().await;
    let client = config_for::<NoSeed>(&server)
        .unsupported_params(UnsupportedParamPolicy::Drop)
        .connect()
        .expect("valid");
    let reply = client.chat(seeded()).await.expect("sent without the seed");
    assert_eq!(reply.dropped_params, ["seed"]);
    let body = server.requests()[0].body_json();
    assert!(body.get("seed").is_none(), "{body}");
}

#[tokio::test]
async fn passthrough_sends_it_as_is() {
    let server = server().await;
    let client = config_for::<NoSeed>(&server)
        .unsupported_params(UnsupportedParamPolicy::Passthrough)
        .connect()
        .expect("valid");
    let reply = client.chat(seeded()).await.expect("sent with the seed");
    assert!(reply.dropped_params.is_empty());
    assert_eq!(server.requests()[0].body_json()["seed"], 7);
}

#[tokio::test]
async fn the_request_policy_overrides_the_provider_policy() {
    let server = server().await;
    let client = connect::<NoSeed>(&server); // Reject
    let reply = client
        .chat(seeded().unsupported_params(UnsupportedParamPolicy::Drop))
        .await
        .expect("dropped for this request");
    assert_eq!(reply.dropped_params, ["seed"]);
    let reply = client
        .chat(seeded().unsupported_params(UnsupportedParamPolicy::Passthrough))
        .await
        .expect("passed through for this request");
    assert!(reply.dropped_params.is_empty());
    let bodies: Vec<_> = server.requests().iter().map(|r| r.body_json()).collect();
    assert!(bodies[0].get("seed").is_none());
    assert_eq!(bodies[1]["seed"], 7);
}

#[tokio::test]
async fn a_client_policy_applies_to_requests_that_set_none() {
    let server = server().await;
    let client = Client::builder()
        .register(connect::<NoSeed>(&server))
        .expect("new")
        .unsupported_params(UnsupportedParamPolicy::Drop)
        .build()
        .expect("valid");
    let reply = client
        .chat("noseed/m", seeded())
        .await
        .expect("the client drops it");
    assert_eq!(reply.dropped_params, ["seed"]);

    // The request's own policy wins over the client's.
    let err = client
        .chat(
            "noseed/m",
            seeded().unsupported_params(UnsupportedParamPolicy::Reject),
        )
        .await
        .expect_err("the request rejects");
    assert_eq!(err.kind(), ErrorKind::Unsupported);

    // Per-call options sit between the two.
    let reply = client
        .chat_with(
            "noseed/m",
            seeded(),
            &ChatOptions::new().unsupported_params(UnsupportedParamPolicy::Passthrough),
        )
        .await
        .expect("passed through for this call");
    assert!(reply.dropped_params.is_empty());
    let bodies: Vec<_> = server.requests().iter().map(|r| r.body_json()).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].get("seed").is_none());
    assert_eq!(bodies[1]["seed"], 7);
}
