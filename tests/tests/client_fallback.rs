//! Fallbacks over loopback, with one failing and one healthy upstream: tried in
//! order on retryable and context-window errors, never on authentication or
//! validation errors; the response names who served it.

mod common;

use llm_runtime::router::{Deployment, ModelGroup};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ChatOptions, ChatResponse, Client, ErrorKind, Result, Tool};
use serde_json::json;

use common::clients::{
    Acme, Backup, CHAT_PATH, bad_key, chat_ok, connect, hello, models_sent, server_error,
    stream_ok, too_long,
};

/// `acme` (primary) and `backup` (fallback) on their own servers.
async fn pair() -> (MockServer, MockServer) {
    (MockServer::start().await, MockServer::start().await)
}

/// `acme` (primary) answering `failure` when given, `backup` answering
/// `answer`, and a client that falls back to `backup/{fallback_model}`.
async fn failing_primary(
    failure: Option<MockResponse>,
    answer: MockResponse,
    fallback_model: &str,
) -> (MockServer, MockServer, Client) {
    let (failing, healthy) = pair().await;
    if let Some(failure) = failure {
        failing.on("POST", CHAT_PATH, failure);
    }
    healthy.on("POST", CHAT_PATH, answer);
    let route = format!("backup/{fallback_model}");
    let client = client(&failing, &healthy, Some(&route));
    (failing, healthy, client)
}

/// Ask `acme/acme-large`.
async fn ask_primary(client: &Client) -> Result<ChatResponse> {
    client.chat("acme/acme-large", hello()).await
}

fn client(primary: &MockServer, healthy: &MockServer, fallback: Option<&str>) -> Client {
    let mut builder = Client::builder()
        .register(connect::<Acme>(primary))
        .expect("new")
        .register(connect::<Backup>(healthy))
        .expect("new");
    if let Some(route) = fallback {
        builder = builder.fallback(route);
    }
    builder.build().expect("valid")
}

#[tokio::test]
async fn a_server_error_falls_back_and_the_response_says_who_served_it() {
    let (failing, healthy, client) = failing_primary(
        Some(server_error()),
        chat_ok("backup-small", "from the backup"),
        "backup-small",
    )
    .await;

    let reply = ask_primary(&client).await.expect("the fallback answers");
    assert_eq!(reply.provider, "backup");
    assert_eq!(reply.model, "backup-small");
    assert_eq!(reply.text(), "from the backup");
    assert_eq!(models_sent(&failing), ["acme-large"]);
    assert_eq!(models_sent(&healthy), ["backup-small"]);
}

#[tokio::test]
async fn a_connection_failure_falls_back() {
    let (_failing, _healthy, client) = failing_primary(
        Some(MockResponse::fault(Fault::ResetBeforeHeaders)),
        chat_ok("backup-small", "ok"),
        "backup-small",
    )
    .await;
    let reply = ask_primary(&client).await.expect("the fallback answers");
    assert_eq!(reply.provider, "backup");
}

#[tokio::test]
async fn a_rate_limit_falls_back() {
    let (_failing, _healthy, client) = failing_primary(
        Some(MockResponse::json(429, json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))),
        chat_ok("backup-small", "ok"),
        "backup-small",
    )
    .await;
    assert_eq!(
        ask_primary(&client).await.expect("falls back").provider,
        "backup"
    );
}

#[tokio::test]
async fn a_context_window_error_falls_back() {
    let (_failing, _healthy, client) = failing_primary(
        Some(too_long()),
        chat_ok("backup-long", "long context"),
        "backup-long",
    )
    .await;
    let reply = ask_primary(&client)
        .await
        .expect("the bigger window answers");
    assert_eq!(
        (reply.provider.as_str(), reply.model.as_str()),
        ("backup", "backup-long")
    );
}

#[tokio::test]
async fn an_authentication_error_never_falls_back() {
    let (_failing, healthy, client) = failing_primary(
        Some(bad_key()),
        chat_ok("backup-small", "must not be asked"),
        "backup-small",
    )
    .await;
    let err = ask_primary(&client).await.expect_err("401 is final");
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.provider(), Some("acme"));
    assert_eq!(healthy.request_count(), 0);
}

#[tokio::test]
async fn an_upstream_validation_error_never_falls_back() {
    let (_failing, healthy, client) = failing_primary(
        Some(MockResponse::json(400, json!({"error": {"message": "Invalid value for 'n'", "type": "invalid_request_error", "code": "invalid_value"}}))),
        chat_ok("backup-small", "must not be asked"),
        "backup-small",
    )
    .await;
    let err = ask_primary(&client).await.expect_err("400 is final");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert_eq!(healthy.request_count(), 0);
}

#[tokio::test]
async fn a_local_validation_error_never_falls_back_nor_reaches_the_network() {
    let (failing, healthy, client) = failing_primary(
        None,
        chat_ok("backup-small", "must not be asked"),
        "backup-small",
    )
    .await;
    let err = client
        .chat("acme/acme-large", hello().temperature(5.0))
        .await
        .expect_err("out of range");
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    // Tools to `acme` are fine, but an unsupported capability at the fallback is not tried either.
    let tool = Tool::function("f", "f", json!({"type": "object"}));
    let err = client
        .chat("backup/backup-small", hello().tool(tool))
        .await
        .expect_err("backup has no tools");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert_eq!(failing.request_count() + healthy.request_count(), 0);
}

#[tokio::test]
async fn fallbacks_are_tried_in_order_and_the_last_error_is_returned() {
    let (first, second) = pair().await;
    first.on("POST", CHAT_PATH, server_error());
    second.on("POST", CHAT_PATH, server_error());
    let client = Client::builder()
        .register(connect::<Acme>(&first))
        .expect("new")
        .register(connect::<Backup>(&second))
        .expect("new")
        .fallback("backup/b1")
        .fallback("backup/b2")
        .fallback("acme/acme-large") // the primary itself is not tried twice
        .build()
        .expect("valid");
    let err = ask_primary(&client).await.expect_err("all fail");
    assert_eq!(err.kind(), ErrorKind::ServerError);
    assert_eq!(err.provider(), Some("backup"));
    assert_eq!(err.model(), Some("b2"));
    assert_eq!(models_sent(&first), ["acme-large"]);
    assert_eq!(models_sent(&second), ["b1", "b2"]);
}

#[tokio::test]
async fn per_call_options_replace_or_disable_the_fallbacks() {
    let (failing, healthy, with) = failing_primary(
        Some(server_error()),
        chat_ok("backup-small", "ok"),
        "backup-small",
    )
    .await;
    let err = with
        .chat_with(
            "acme/acme-large",
            hello(),
            &ChatOptions::new().no_fallbacks(),
        )
        .await
        .expect_err("no fallback for this call");
    assert_eq!(err.kind(), ErrorKind::ServerError);
    assert_eq!(healthy.request_count(), 0);

    let without = client(&failing, &healthy, None);
    let reply = without
        .chat_with(
            "acme/acme-large",
            hello(),
            &ChatOptions::new().fallback("backup/per-call"),
        )
        .await
        .expect("the per-call fallback answers");
    assert_eq!(reply.provider, "backup");
    assert_eq!(models_sent(&healthy), ["per-call"]);
}

#[tokio::test]
async fn a_stream_that_cannot_open_falls_back() {
    let (_failing, _healthy, client) = failing_primary(
        Some(server_error()),
        stream_ok("backup-small", "streamed by the backup"),
        "backup-small",
    )
    .await;
    let stream = client
        .chat_stream("acme/acme-large", hello())
        .await
        .expect("the fallback streams");
    assert_eq!(stream.provider(), "backup");
    let reply = stream.collect_response().await.expect("complete");
    assert_eq!(reply.text(), "streamed by the backup");
}

#[tokio::test]
async fn a_fallback_to_an_unregistered_provider_is_a_config_error() {
    let (a, b) = pair().await;
    let err = Client::builder()
        .register(connect::<Acme>(&a))
        .expect("new")
        .fallback("nobody/model")
        .build()
        .expect_err("unknown fallback");
    assert_eq!(err.kind(), ErrorKind::Config);
    let client = client(&a, &b, None);
    let err = client
        .chat_with(
            "acme/x",
            hello(),
            &ChatOptions::new().fallback("nobody/model"),
        )
        .await
        .expect_err("unknown per-call fallback");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(a.request_count() + b.request_count(), 0);
}

/// A client whose model group `g` is one `acme` deployment on `failing`,
/// with `backup` registered, falling back (client-wide) to `fallback`.
fn grouped(failing: &MockServer, healthy: &MockServer, fallback: Option<&str>) -> Client {
    let group =
        ModelGroup::new("g").deployment(Deployment::new(connect::<Acme>(failing), "acme-large"));
    let mut builder = Client::builder()
        .register(connect::<Backup>(healthy))
        .expect("new")
        .group(group);
    if let Some(route) = fallback {
        builder = builder.fallback(route);
    }
    builder.build().expect("valid")
}

/// A model group's failure falls back too, once its router has tried its
/// deployments: to the client's fallbacks, or the call's.
#[tokio::test]
async fn a_model_groups_failure_falls_back_to_the_clients_or_the_calls_routes() {
    let (failing, healthy) = pair().await;
    failing.on("POST", CHAT_PATH, server_error());
    healthy.on(
        "POST",
        CHAT_PATH,
        chat_ok("backup-small", "from the backup"),
    );

    let client = grouped(&failing, &healthy, Some("backup/backup-small"));
    let reply = client
        .chat("g", hello())
        .await
        .expect("the fallback answers");
    assert_eq!(
        (reply.provider.as_str(), reply.text().as_str()),
        ("backup", "from the backup")
    );
    assert_eq!(reply.meta.route.as_deref(), Some("backup/backup-small"));
    assert_eq!(models_sent(&failing), ["acme-large"]);

    let client = grouped(&failing, &healthy, None);
    let e = client.chat("g", hello()).await.expect_err("no fallback");
    assert_eq!(e.kind(), ErrorKind::ServerError);
    let per_call = ChatOptions::new().fallback("backup/backup-small");
    let reply = client
        .chat_with("g", hello(), &per_call)
        .await
        .expect("the call's fallback answers");
    assert_eq!(reply.provider, "backup");
    assert_eq!(models_sent(&healthy), ["backup-small", "backup-small"]);
}

#[tokio::test]
async fn a_model_groups_stream_falls_back_but_not_on_a_bad_key() {
    let (failing, healthy) = pair().await;
    failing.on("POST", CHAT_PATH, server_error());
    healthy.on(
        "POST",
        CHAT_PATH,
        stream_ok("backup-small", "streamed by the backup"),
    );
    let client = grouped(&failing, &healthy, Some("backup/backup-small"));
    let stream = client
        .chat_stream("g", hello())
        .await
        .expect("the fallback streams");
    assert_eq!(stream.provider(), "backup");
    let reply = stream.collect_response().await.expect("complete");
    assert_eq!(reply.text(), "streamed by the backup");

    let (refusing, untouched) = pair().await;
    refusing.on("POST", CHAT_PATH, bad_key());
    let client = grouped(&refusing, &untouched, Some("backup/backup-small"));
    let e = client.chat("g", hello()).await.expect_err("a bad key");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(
        untouched.request_count(),
        0,
        "another route would only hide it"
    );
}
