//! Secrets: the API key never shows in `Debug`/`Display` of the config, the
//! client or any error (even when the upstream echoes it back); plain http to
//! a remote host is refused; a redirect never carries the key to another
//! origin. (Tracing output is checked in `runtime_tracing.rs`.)

mod common;

use llm_runtime::providers::{Anthropic, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind};
use serde_json::json;

use common::{
    CHAT_PATH, KEY, assert_error, assert_no_key, chat_ok, config, connect, drain, key_echoing_401,
    request,
};

#[test]
fn config_and_client_debug_never_show_the_key() {
    let cfg = OpenAi::config()
        .api_key(KEY)
        .base_url("https://api.example.com/v1");
    assert_no_key(&format!("{cfg:?}"));
    assert_no_key(&format!("{cfg:#?}"));
    let client = cfg.connect().expect("valid");
    assert_no_key(&format!("{client:?}"));
    assert_no_key(&format!("{client:#?}"));
    assert_no_key(&format!("{:?}", client.info()));
    assert!(
        format!("{client:?}").contains("redacted"),
        "the key's presence is shown as redacted"
    );
}

#[test]
fn config_errors_never_show_the_key() {
    // A key a header cannot carry: the error must say so without quoting it.
    let bad_key = format!("{KEY}\n");
    let e = OpenAi::config()
        .api_key(bad_key)
        .base_url("https://api.example.com/v1")
        .connect()
        .expect_err("a newline cannot go in a header");
    assert_error(&e, ErrorKind::Config, "key");
}

#[tokio::test]
async fn an_upstream_that_echoes_the_key_gets_it_redacted_from_the_error() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, key_echoing_401());
    let client = connect(&server);

    let e = client.chat(request()).await.expect_err("401");
    assert_error(&e, ErrorKind::Authentication, "incorrect api key");
    assert_no_key(e.message());
    assert_no_key(e.body().expect("the error keeps the body"));
    assert_no_key(&format!("{e:#?}"));
    assert!(e.message().contains("[redacted]"), "{}", e.message());

    let e = client
        .chat_stream(request())
        .await
        .expect_err("401 on a stream");
    assert_error(&e, ErrorKind::Authentication, "incorrect api key");
    assert_no_key(e.body().unwrap_or_default());
}

#[tokio::test]
async fn errors_inside_a_stream_and_bad_bodies_that_echo_the_key_are_redacted() {
    let server = MockServer::start().await;
    let client = connect(&server);

    // An error event in the middle of a 200 stream.
    let error_event = json!({"error": {"message": format!("key {KEY} was revoked"), "type": "invalid_request_error", "code": "invalid_api_key"}});
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([common::openai_chunk("a"), error_event.to_string()]),
    );
    let (_, error) = drain(client.chat_stream(request()).await.expect("opens")).await;
    let e = error.expect("the error event ends the stream");
    assert_no_key(&e.to_string());
    assert_no_key(&format!("{e:?}"));
    assert_no_key(e.body().unwrap_or_default());

    // A malformed 200 body that quotes the key.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::text(200, "application/json", format!("{{\"oops\": \"{KEY}")),
    );
    let e = client.chat(request()).await.expect_err("not JSON");
    assert_error(&e, ErrorKind::Decode, "json");
    assert_no_key(e.body().unwrap_or_default());

    // A stream chunk that is not JSON and quotes the key.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([format!("{{{KEY}")]),
    );
    let (_, error) = drain(client.chat_stream(request()).await.expect("opens")).await;
    let e = error.expect("a bad chunk fails");
    assert_error(&e, ErrorKind::Decode, "json");
    assert_no_key(e.body().unwrap_or_default());
}

#[test]
fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    for url in [
        "http://api.example.com/v1",
        "http://10.0.0.1:8080/v1",
        "http://localhost.example.com/v1",
        "http://127.0.0.1.nip.io/v1",
    ] {
        let e = OpenAi::config()
            .api_key(KEY)
            .base_url(url)
            .connect()
            .expect_err(url);
        assert_error(&e, ErrorKind::Config, "http");
        let ok = OpenAi::config()
            .api_key(KEY)
            .base_url(url)
            .allow_http(true)
            .connect();
        assert!(ok.is_ok(), "{url} is allowed explicitly: {ok:?}");
    }
    for url in [
        "http://127.0.0.1:8080/v1",
        "http://localhost:11434/v1",
        "http://[::1]:8080/v1",
        "https://api.example.com/v1",
    ] {
        let ok = OpenAi::config().api_key(KEY).base_url(url).connect();
        assert!(ok.is_ok(), "{url} needs no opt-in: {ok:?}");
    }
    let e = OpenAi::config()
        .api_key(KEY)
        .base_url("ftp://api.example.com/v1")
        .allow_http(true)
        .connect()
        .expect_err("ftp");
    assert_eq!(e.kind(), ErrorKind::Config);
}

fn carries_key(request: &llm_runtime::testing::RecordedRequest) -> bool {
    request
        .headers
        .iter()
        .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(KEY))
        || request.query.as_deref().is_some_and(|q| q.contains(KEY))
        || String::from_utf8_lossy(&request.body).contains(KEY)
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_carries_the_key() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    second.on("POST", CHAT_PATH, chat_ok("stolen"));
    first.on(
        "POST",
        CHAT_PATH,
        MockResponse::redirect(307, format!("{}{CHAT_PATH}", second.url())),
    );
    let client = connect(&first);

    let result = client.chat(request()).await;
    assert!(first.request_count() >= 1);
    assert!(
        first.requests().iter().all(carries_key),
        "the first origin is the one the key is for"
    );
    assert!(
        !second.requests().iter().any(carries_key),
        "the key reached another origin: {:?}",
        second.requests()
    );
    // The runtime refuses the cross-origin hop outright.
    let e = result.expect_err("a cross-origin redirect is refused");
    assert_error(&e, ErrorKind::Config, "redirect");
    assert!(!e.is_retryable());
    assert_eq!(
        first.request_count(),
        1,
        "a refused redirect is not retried"
    );

    let streamed = client.chat_stream(request()).await;
    assert!(!second.requests().iter().any(carries_key));
    assert!(streamed.is_err());
}

#[tokio::test]
async fn a_redirect_to_another_origin_never_carries_a_custom_key_header() {
    // reqwest's own policy strips `authorization` on a cross-host hop but not
    // `x-api-key`: the runtime's policy must refuse the hop for header auth too.
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    first.on(
        "POST",
        "/v1/messages",
        MockResponse::redirect(308, format!("{}/v1/messages", second.url())),
    );
    second.on("POST", "/v1/messages", MockResponse::json(200, json!({})));
    let client = Anthropic::config()
        .api_key(KEY)
        .base_url(format!("{}/v1", first.url()))
        .retry_policy(common::fast_retries())
        .connect()
        .expect("valid");
    let e = client
        .chat(
            ChatRequest::new("claude-sonnet-4-5")
                .max_tokens(16)
                .user("hi"),
        )
        .await
        .expect_err("a cross-origin redirect is refused");
    assert_error(&e, ErrorKind::Config, "another origin");
    assert!(
        first
            .requests()
            .iter()
            .all(|r| r.header("x-api-key") == Some(KEY))
    );
    assert!(
        !second.requests().iter().any(carries_key),
        "the key reached another origin: {:?}",
        second.requests()
    );
}

#[tokio::test]
async fn a_redirect_within_the_same_origin_is_followed() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::redirect(307, format!("{}/v2/chat/completions", server.url())),
    );
    server.on("POST", "/v2/chat/completions", chat_ok("moved"));
    let reply = connect(&server)
        .chat(request())
        .await
        .expect("a same-origin redirect is followed");
    assert_eq!(reply.text(), "moved");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path, "/v2/chat/completions");
    assert_eq!(
        requests[1].body, requests[0].body,
        "307 keeps the method and body"
    );
}

#[tokio::test]
async fn the_key_is_sent_as_a_bearer_header_only() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let _ = config(&server)
        .connect()
        .expect("valid")
        .chat(request())
        .await
        .expect("chat");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(sent.query.is_none());
    assert!(!String::from_utf8_lossy(&sent.body).contains(KEY));
}
