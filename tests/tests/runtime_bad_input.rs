//! Bad upstream input and broken transports: each gives a typed error with a
//! readable message (never a panic, never a silent success), and gzip works.

mod common;

use std::time::Duration;

use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ErrorKind, ProviderClient, providers::OpenAi};

use common::{
    CHAT_PATH, KEY, PATIENCE, assert_error, chat_ok, config, drain, openai_chunk,
    openai_completion, openai_stream_events, request, stream_ok, text_of,
};

/// A client that does not retry, so each test sees the first failure.
fn no_retry(server: &MockServer) -> ProviderClient<OpenAi> {
    config(server).max_retries(0).connect().expect("valid")
}

async fn chat_error(server: &MockServer, response: MockResponse) -> llm_runtime::Error {
    server.on("POST", CHAT_PATH, response);
    tokio::time::timeout(PATIENCE, no_retry(server).chat(request()))
        .await
        .expect("bounded")
        .expect_err("bad input fails")
}

async fn stream_error(
    server: &MockServer,
    response: MockResponse,
) -> (Vec<llm_runtime::StreamEvent>, llm_runtime::Error) {
    server.on("POST", CHAT_PATH, response);
    let stream = tokio::time::timeout(PATIENCE, no_retry(server).chat_stream(request()))
        .await
        .expect("bounded")
        .expect("the stream opens (2xx)");
    let (events, error) = tokio::time::timeout(PATIENCE, drain(stream))
        .await
        .expect("bounded");
    (
        events,
        error.expect("bad input ends the stream with an error, not a silent success"),
    )
}

#[tokio::test]
async fn malformed_json_with_200_is_a_decode_error() {
    let server = MockServer::start().await;
    let e = chat_error(
        &server,
        MockResponse::text(200, "application/json", r#"{"id": "x", "choices": [{"#),
    )
    .await;
    assert_error(&e, ErrorKind::Decode, "not json");
    assert!(
        e.body().is_some_and(|b| b.contains("choices")),
        "the body is kept for debugging: {e:?}"
    );
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_a_decode_error() {
    let server = MockServer::start().await;
    let e = chat_error(
        &server,
        MockResponse::json(200, serde_json::json!({"choices": "nope"})),
    )
    .await;
    assert_error(&e, ErrorKind::Decode, "shape");
    let e = chat_error(
        &server,
        MockResponse::json(200, serde_json::json!({"choices": []})),
    )
    .await;
    assert_error(&e, ErrorKind::Decode, "no choices");
}

#[tokio::test]
async fn an_html_error_page_is_a_server_error_that_says_html() {
    let server = MockServer::start().await;
    let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
    let e = chat_error(&server, MockResponse::text(502, "text/html", page)).await;
    assert_error(&e, ErrorKind::ServerError, "html");
    assert_eq!(e.status(), Some(502));
    assert!(e.is_retryable());
    let e = {
        server.on(
            "POST",
            CHAT_PATH,
            MockResponse::text(502, "text/html", page),
        );
        no_retry(&server)
            .chat_stream(request())
            .await
            .expect_err("502")
    };
    assert_error(&e, ErrorKind::ServerError, "html");
}

#[tokio::test]
async fn an_empty_200_body_is_a_decode_error() {
    let server = MockServer::start().await;
    let e = chat_error(&server, MockResponse::empty(200)).await;
    assert_error(&e, ErrorKind::Decode, "json");
}

#[tokio::test]
async fn an_empty_error_body_keeps_its_status_kind() {
    let server = MockServer::start().await;
    let e = chat_error(&server, MockResponse::empty(500)).await;
    assert_error(&e, ErrorKind::ServerError, "empty body");
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn an_empty_200_stream_is_truncated() {
    let server = MockServer::start().await;
    let (events, e) = stream_error(&server, MockResponse::sse(Vec::<&str>::new())).await;
    assert!(events.is_empty());
    assert_error(&e, ErrorKind::StreamTruncated, "terminator");
}

#[tokio::test]
async fn a_stream_without_done_is_truncated_not_a_silent_success() {
    let server = MockServer::start().await;
    let (events, e) = stream_error(
        &server,
        MockResponse::sse_data(openai_stream_events(&["Hel", "lo"], false)),
    )
    .await;
    assert_eq!(
        text_of(&events),
        "Hello",
        "the events before the end are delivered"
    );
    assert_error(&e, ErrorKind::StreamTruncated, "terminator");
    // collect_response must fail as well, never return half an answer.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(openai_stream_events(&["Hel"], false)),
    );
    let e = no_retry(&server)
        .chat_stream(request())
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect_err("truncated");
    assert_eq!(e.kind(), ErrorKind::StreamTruncated);
}

#[tokio::test]
async fn a_stream_cut_inside_an_event_is_truncated() {
    let server = MockServer::start().await;
    let chunk = format!(
        "data: {}\n\ndata: {{\"id\":\"chatcmpl-1\",\"cho",
        openai_chunk("Hi")
    );
    let (events, e) = stream_error(&server, MockResponse::sse([chunk])).await;
    assert_eq!(text_of(&events), "Hi");
    assert_error(&e, ErrorKind::StreamTruncated, "terminator");
}

#[tokio::test]
async fn invalid_utf8_in_a_stream_is_a_decode_error() {
    let server = MockServer::start().await;
    let good = format!("data: {}\n\n", openai_chunk("ok"));
    let bad: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"\xff\xfe\"}}]}\n\n";
    let response = MockResponse::sse([
        bytes::Bytes::from(good),
        bytes::Bytes::from_static(bad),
        bytes::Bytes::from_static(b"data: [DONE]\n\n"),
    ]);
    let (events, e) = stream_error(&server, response).await;
    assert_eq!(text_of(&events), "ok");
    assert_error(&e, ErrorKind::Decode, "utf-8");
}

#[tokio::test]
async fn invalid_utf8_in_a_body_is_a_decode_error() {
    let server = MockServer::start().await;
    let body: &[u8] = b"{\"choices\":[{\"message\":{\"content\":\"\xff\"}}]}";
    let e = chat_error(
        &server,
        MockResponse::bytes(200, body).header("content-type", "application/json"),
    )
    .await;
    assert_error(&e, ErrorKind::Decode, "json");
}

#[tokio::test]
async fn an_over_long_stream_line_is_a_cap_error() {
    let server = MockServer::start().await;
    let long = format!("data: {}\n\n", openai_chunk(&"x".repeat(4096)));
    let response = MockResponse::sse([
        format!("data: {}\n\n", openai_chunk("short")),
        long,
        "data: [DONE]\n\n".to_owned(),
    ]);
    server.on("POST", CHAT_PATH, response);
    let client = config(&server)
        .max_line_bytes(1024)
        .connect()
        .expect("valid");
    let (events, e) = drain(client.chat_stream(request()).await.expect("opens")).await;
    let e = e.expect("the over-long line fails");
    assert_eq!(text_of(&events), "short");
    assert_error(&e, ErrorKind::Decode, "1024");
}

#[tokio::test]
async fn an_endless_line_fails_without_buffering_it_all() {
    let server = MockServer::start().await;
    // 64 chunks of 1 KiB with no newline at all, then silence: the cap must fire before the stall.
    let chunks: Vec<String> = std::iter::once("data: ".to_owned())
        .chain((0..64).map(|_| "y".repeat(1024)))
        .collect();
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse(chunks).with_fault(Fault::StallAfterChunks(65)),
    );
    let client = config(&server)
        .max_line_bytes(4096)
        .idle_timeout(Duration::from_secs(3))
        .connect()
        .expect("valid");
    let (_, e) = tokio::time::timeout(
        PATIENCE,
        drain(client.chat_stream(request()).await.expect("opens")),
    )
    .await
    .expect("bounded");
    assert_error(&e.expect("capped"), ErrorKind::Decode, "4096");
}

#[tokio::test]
async fn an_over_long_body_is_a_cap_error() {
    let server = MockServer::start().await;
    let big = openai_completion(&"z".repeat(10_000));
    // With a content-length: refused before reading.
    server.on("POST", CHAT_PATH, MockResponse::json(200, big.clone()));
    let client = config(&server)
        .max_body_bytes(2048)
        .connect()
        .expect("valid");
    let e = client.chat(request()).await.expect_err("too big");
    assert_error(&e, ErrorKind::Decode, "2048");
    // Chunked, no length: stopped while reading.
    let text = big.to_string();
    let (head, tail) = text.split_at(text.len() / 2);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::raw_body_chunks([head.to_owned(), tail.to_owned()])
            .header("content-type", "application/json"),
    );
    let e = client.chat(request()).await.expect_err("too big");
    assert_error(&e, ErrorKind::Decode, "2048");
    // Under the cap is fine.
    server.on("POST", CHAT_PATH, chat_ok("small"));
    assert_eq!(client.chat(request()).await.expect("small").text(), "small");
}

#[tokio::test]
async fn gzip_encoded_responses_are_decoded() {
    let server = MockServer::start().await;
    let client = no_retry(&server);
    server.on("POST", CHAT_PATH, chat_ok("zipped").gzip());
    assert_eq!(
        client.chat(request()).await.expect("gzip body").text(),
        "zipped"
    );

    server.on(
        "POST",
        CHAT_PATH,
        stream_ok(&["zip", "ped ", "stream"]).gzip(),
    );
    let (events, error) = drain(client.chat_stream(request()).await.expect("opens")).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "zipped stream");

    let sent = &server.requests()[0];
    assert!(
        sent.header("accept-encoding")
            .is_some_and(|v| v.contains("gzip")),
        "the client asks for gzip"
    );

    // A gzip error body is decoded and classified too.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(429, serde_json::json!({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}})).gzip(),
    );
    let e = client.chat(request()).await.expect_err("429");
    assert_error(&e, ErrorKind::RateLimited, "rate limit reached");
}

#[tokio::test]
async fn corrupt_gzip_is_a_typed_error() {
    let server = MockServer::start().await;
    let e = chat_error(
        &server,
        MockResponse::bytes(200, &b"\x1f\x8b\x08\x00garbage-not-deflate"[..])
            .header("content-encoding", "gzip")
            .header("content-type", "application/json"),
    )
    .await;
    assert_error(&e, ErrorKind::Decode, "decod");
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    // Bind a port, then free it: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let client = OpenAi::config()
        .api_key(KEY)
        .base_url(format!("http://{addr}/v1"))
        .retry_policy(common::fast_retries())
        .connect()
        .expect("valid");
    let e = tokio::time::timeout(PATIENCE, client.chat(request()))
        .await
        .expect("bounded")
        .expect_err("refused");
    assert_error(&e, ErrorKind::Network, "connect");
    assert!(e.is_retryable());
    assert_eq!(e.status(), None);
    let e = tokio::time::timeout(PATIENCE, client.chat_stream(request()))
        .await
        .expect("bounded")
        .expect_err("refused");
    assert_error(&e, ErrorKind::Network, "connect");
}

#[tokio::test]
async fn a_reset_before_the_headers_is_a_network_error() {
    let server = MockServer::start().await;
    let e = chat_error(&server, MockResponse::fault(Fault::ResetBeforeHeaders)).await;
    assert_error(&e, ErrorKind::Network, "");
    let e = chat_error(&server, MockResponse::fault(Fault::CloseBeforeHeaders)).await;
    assert_error(&e, ErrorKind::Network, "");
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::fault(Fault::ResetBeforeHeaders),
    );
    let e = no_retry(&server)
        .chat_stream(request())
        .await
        .expect_err("reset");
    assert_error(&e, ErrorKind::Network, "");
}

#[tokio::test]
async fn a_reset_mid_stream_is_truncated() {
    let server = MockServer::start().await;
    let events = openai_stream_events(&["a", "b", "c"], true);
    let (got, e) = stream_error(
        &server,
        MockResponse::sse_data(events.clone()).with_fault(Fault::ResetAfterChunks(2)),
    )
    .await;
    assert_eq!(text_of(&got), "ab");
    assert_error(&e, ErrorKind::StreamTruncated, "reset");
    let (got, e) = stream_error(
        &server,
        MockResponse::sse_data(events).with_fault(Fault::CloseAfterChunks(2)),
    )
    .await;
    assert_eq!(text_of(&got), "ab");
    assert_error(&e, ErrorKind::StreamTruncated, "connection");
}

#[tokio::test]
async fn a_body_that_ends_early_is_a_typed_error() {
    let server = MockServer::start().await;
    let body = openai_completion("cut").to_string();
    let (head, _) = body.split_at(body.len() / 2);
    // Content-Length promises the whole body; half arrives, then the connection closes.
    let response = MockResponse::raw_body_chunks([head.to_owned()])
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .with_fault(Fault::CloseAfterChunks(1));
    let e = chat_error(&server, response.clone()).await;
    assert_error(&e, ErrorKind::Network, "body");
    assert!(
        e.is_retryable(),
        "a cut transfer may succeed when tried again"
    );
    // Chunked and cut (no terminating chunk): same.
    let e = chat_error(
        &server,
        MockResponse::raw_body_chunks([head.to_owned()]).with_fault(Fault::ResetAfterChunks(1)),
    )
    .await;
    assert_error(&e, ErrorKind::Network, "reset");
    // With retries, the cut transfer is tried again and the second answer is whole.
    server.on_sequence("POST", CHAT_PATH, vec![response, chat_ok("whole")]);
    let reply = config(&server)
        .connect()
        .expect("valid")
        .chat(request())
        .await
        .expect("the retry succeeds");
    assert_eq!(reply.text(), "whole");
}

#[tokio::test]
async fn an_unknown_content_type_on_a_stream_still_parses_sse() {
    let server = MockServer::start().await;
    let body = openai_stream_events(&["x"], true)
        .into_iter()
        .map(|e| format!("data: {e}\n\n"))
        .collect::<Vec<_>>();
    server.on("POST", CHAT_PATH, MockResponse::raw_body_chunks(body));
    let (events, error) = drain(
        no_retry(&server)
            .chat_stream(request())
            .await
            .expect("opens"),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_of(&events), "x");
}
