//! The mock server driven by a raw `reqwest::Client` over real loopback HTTP.
//!
//! Every wait is bounded (client timeouts, `tokio::time::timeout`), so a
//! regression fails fast instead of hanging.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;

use super::{Fault, MockResponse, MockServer};

/// A bound for waits that succeed in milliseconds when the code is right.
const PATIENCE: Duration = Duration::from_secs(3);

fn client() -> reqwest::Client {
    client_with_timeout(PATIENCE)
}

fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("a plain reqwest client builds")
}

/// Reads a response body chunk by chunk as the client's connection delivers it.
async fn chunks_of(mut response: reqwest::Response) -> (Vec<Bytes>, Option<reqwest::Error>) {
    let mut chunks = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => chunks.push(chunk),
            Ok(None) => return (chunks, None),
            Err(error) => return (chunks, Some(error)),
        }
    }
}

#[tokio::test]
async fn url_and_addr_are_loopback() {
    let server = MockServer::start().await;
    assert!(server.addr().ip().is_loopback());
    assert_eq!(
        server.url(),
        format!("http://127.0.0.1:{}", server.addr().port())
    );
}

#[tokio::test]
async fn json_route_answers_with_status_headers_and_body() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(201, json!({"id": "chatcmpl-1"})).header("x-request-id", "req_1"),
    );
    let response = client()
        .post(format!("{}/v1/chat/completions?stream=false", server.url()))
        .json(&json!({"model": "m"}))
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-request-id"], "req_1");
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body, json!({"id": "chatcmpl-1"}));
}

#[tokio::test]
async fn text_bytes_and_content_type_override() {
    let server = MockServer::start().await;
    server
        .on(
            "GET",
            "/text",
            MockResponse::text(200, "text/plain; charset=utf-8", "hello"),
        )
        .on(
            "GET",
            "/bytes",
            MockResponse::bytes(200, vec![0xff, 0x00, 0xfe]),
        )
        .on(
            "GET",
            "/problem",
            MockResponse::json(400, json!({})).header("content-type", "application/problem+json"),
        );
    let client = client();
    let text = client
        .get(format!("{}/text", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(text.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(text.text().await.expect("a body"), "hello");
    let bytes = client
        .get(format!("{}/bytes", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(bytes.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        &bytes.bytes().await.expect("a body")[..],
        [0xff, 0x00, 0xfe]
    );
    let problem = client
        .get(format!("{}/problem", server.url()))
        .send()
        .await
        .expect("answered");
    let content_types: Vec<_> = problem.headers().get_all("content-type").iter().collect();
    assert_eq!(content_types, ["application/problem+json"]);
}

#[tokio::test]
async fn sse_chunks_arrive_separately_after_their_delay() {
    let server = MockServer::start().await;
    let events = [
        "data: {\"n\":1}\n\n",
        "data: {\"n\":2}\n\n",
        "data: [DONE]\n\n",
    ];
    let delay = Duration::from_millis(60);
    server.on(
        "POST",
        "/stream",
        MockResponse::sse(events).chunk_delay(delay),
    );

    let started = Instant::now();
    let response = client()
        .post(format!("{}/stream", server.url()))
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut arrivals = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.expect("a well-formed stream") {
        arrivals.push((chunk, started.elapsed()));
    }
    let chunks: Vec<&[u8]> = arrivals.iter().map(|(chunk, _)| &chunk[..]).collect();
    let expected: Vec<&[u8]> = events.iter().map(|event| event.as_bytes()).collect();
    assert_eq!(chunks, expected, "one read per scripted chunk");
    // Sleeps are lower bounds: chunk k cannot arrive before k delays have passed.
    for (index, (_, at)) in arrivals.iter().enumerate() {
        assert!(
            *at >= delay * index as u32,
            "chunk {index} arrived at {at:?}"
        );
    }
}

#[tokio::test]
async fn sse_data_without_delay_streams_every_event() {
    let server = MockServer::start().await;
    server.on("GET", "/s", MockResponse::sse_data(["1", "2"]));
    let response = client()
        .get(format!("{}/s", server.url()))
        .send()
        .await
        .expect("answered");
    let (chunks, error) = chunks_of(response).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(chunks.concat(), b"data: 1\n\ndata: 2\n\n");
}

#[tokio::test]
async fn ndjson_and_raw_chunks_keep_their_bytes() {
    let server = MockServer::start().await;
    server
        .on(
            "POST",
            "/api/chat",
            MockResponse::ndjson(["{\"a\":1}", "{\"done\":true}"]),
        )
        .on(
            "GET",
            "/raw",
            MockResponse::raw_body_chunks([&b"data: \xff\xfe"[..], b"\n\n"]),
        );
    let client = client();
    let ndjson = client
        .post(format!("{}/api/chat", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        ndjson.text().await.expect("a body"),
        "{\"a\":1}\n{\"done\":true}\n"
    );
    let raw = client
        .get(format!("{}/raw", server.url()))
        .send()
        .await
        .expect("answered");
    assert!(raw.headers().get("content-type").is_none());
    assert_eq!(
        &raw.bytes().await.expect("a body")[..],
        b"data: \xff\xfe\n\n"
    );
}

#[tokio::test]
async fn sequence_is_served_in_order_then_the_last_repeats() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            MockResponse::json(500, json!({"error": "boom"})),
            MockResponse::json(429, json!({"error": "slow"})).header("retry-after", "0"),
            MockResponse::json(200, json!({"ok": true})),
        ],
    );
    let client = client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = client
            .post(format!("{}/v1/chat/completions", server.url()))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [500, 429, 200, 200, 200]);
}

#[tokio::test]
async fn unmatched_requests_get_a_json_404_and_fallback_replaces_it() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/v1/models",
        MockResponse::json(200, json!({"data": []})),
    );
    let client = client();
    let response = client
        .post(format!("{}/x?ignored=1", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(
        body,
        json!({"error": {"message": "no mock route for POST /x"}})
    );

    server.fallback(MockResponse::json(503, json!({"error": "down"})));
    let response = client
        .get(format!("{}/other", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 503);
    let matched = client
        .get(format!("{}/v1/models", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(matched.status(), 200);
}

#[tokio::test]
async fn requests_are_recorded_with_query_headers_and_body() {
    let server = MockServer::start().await;
    server.on("POST", "/v1/embeddings", MockResponse::json(200, json!({})));
    client()
        .post(format!(
            "{}/v1/embeddings?api-version=2024-10-21&q=a%20b",
            server.url()
        ))
        .header("Authorization", "Bearer sk-test")
        .header("X-Custom", "yes")
        .json(&json!({"model": "text-embedding-3-small", "input": ["hi"]}))
        .send()
        .await
        .expect("answered");

    assert_eq!(server.request_count(), 1);
    let requests = server.requests();
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2024-10-21&q=a%20b")
    );
    assert_eq!(
        sent.query_pairs,
        [
            ("api-version".to_owned(), "2024-10-21".to_owned()),
            ("q".to_owned(), "a b".to_owned())
        ]
    );
    assert_eq!(sent.query_param("q"), Some("a b"));
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent.header("X-Custom"), Some("yes"));
    assert!(
        sent.headers.contains_key("x-custom"),
        "names are stored lowercase"
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.body_json()["input"][0], "hi");
    assert_eq!(sent.connection_id, 1);
}

#[tokio::test]
async fn keep_alive_serves_ten_requests_on_one_connection() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/ping",
        MockResponse::json(200, json!({"pong": true})),
    );
    let client = client();
    for _ in 0..10 {
        let response = client
            .get(format!("{}/ping", server.url()))
            .send()
            .await
            .expect("answered");
        // Reading the whole body returns the connection to the pool.
        response.bytes().await.expect("a body");
    }
    assert_eq!(server.request_count(), 10);
    assert_eq!(server.connections_accepted(), 1);
    assert_eq!(server.connections_open(), 1);
    assert!(
        server
            .requests()
            .iter()
            .all(|request| request.connection_id == 1)
    );
}

#[tokio::test]
async fn dropping_the_client_closes_its_connection() {
    let server = MockServer::start().await;
    server.on("GET", "/ping", MockResponse::empty(204));
    let client = client();
    client
        .get(format!("{}/ping", server.url()))
        .send()
        .await
        .expect("answered");
    assert!(server.wait_for_connections_open(1, PATIENCE).await);
    drop(client);
    assert!(server.wait_for_connections_open(0, PATIENCE).await);
    assert_eq!(server.connections_accepted(), 1);
}

#[tokio::test]
async fn gzip_bodies_are_decoded_by_the_client() {
    let server = MockServer::start().await;
    let body = json!({"text": "compress me ".repeat(100)});
    server
        .on("GET", "/json", MockResponse::json(200, body.clone()).gzip())
        .on(
            "GET",
            "/sse",
            MockResponse::sse_data(["1", "2", "[DONE]"]).gzip(),
        );

    let client = client();
    let decoded: serde_json::Value = client
        .get(format!("{}/json", server.url()))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("reqwest gunzips the body");
    assert_eq!(decoded, body);
    let stream = client
        .get(format!("{}/sse", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(
        stream.text().await.expect("a body"),
        "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"
    );
    assert_eq!(
        server.requests()[0]
            .header("accept-encoding")
            .map(|v| v.contains("gzip")),
        Some(true)
    );

    // Without decoding, the wire shows the encoding.
    let raw_client = reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .timeout(PATIENCE)
        .build()
        .expect("a plain reqwest client builds");
    let raw = raw_client
        .get(format!("{}/json", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(raw.headers()["content-encoding"], "gzip");
    assert_eq!(
        &raw.bytes().await.expect("a body")[..2],
        [0x1f, 0x8b],
        "gzip magic"
    );
}

#[tokio::test]
async fn delay_holds_the_headers_back() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(80);
    server
        .on("GET", "/slow", MockResponse::empty(200).delay(delay))
        .on(
            "GET",
            "/slower",
            MockResponse::empty(200).delay(Duration::from_secs(30)),
        );
    let started = Instant::now();
    let response = client()
        .get(format!("{}/slow", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= delay);

    let error = client_with_timeout(Duration::from_millis(100))
        .get(format!("{}/slower", server.url()))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(error.is_timeout(), "{error:?}");
}

#[tokio::test]
async fn redirect_is_followed_by_the_client() {
    let server = MockServer::start().await;
    server
        .on("GET", "/old", MockResponse::redirect(302, "/new"))
        .on(
            "GET",
            "/new",
            MockResponse::text(200, "text/plain", "moved"),
        );
    let response = client()
        .get(format!("{}/old", server.url()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.url().path(), "/new");
    assert_eq!(response.text().await.expect("a body"), "moved");
    let paths: Vec<String> = server
        .requests()
        .into_iter()
        .map(|request| request.path)
        .collect();
    assert_eq!(paths, ["/old", "/new"]);
}

#[tokio::test]
async fn script_mistakes_answer_500_with_the_reason() {
    let server = MockServer::start().await;
    server
        .on(
            "GET",
            "/header",
            MockResponse::empty(200).header("bad name", "x"),
        )
        .on("GET", "/status", MockResponse::empty(42));
    let client = client();
    for (path, reason) in [
        ("/header", "invalid header name"),
        ("/status", "invalid status 42"),
    ] {
        let response = client
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 500);
        let body: serde_json::Value = response.json().await.expect("a JSON body");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{message}");
    }
}

#[tokio::test]
async fn reset_and_close_before_headers_fail_the_request_fast() {
    let server = MockServer::start().await;
    server
        .on(
            "POST",
            "/reset",
            MockResponse::fault(Fault::ResetBeforeHeaders),
        )
        .on(
            "POST",
            "/close",
            MockResponse::fault(Fault::CloseBeforeHeaders),
        );
    let client = client();
    for path in ["/reset", "/close"] {
        let started = Instant::now();
        let error = client
            .post(format!("{}{path}", server.url()))
            .body("{}")
            .send()
            .await
            .expect_err("no response was sent");
        assert!(!error.is_timeout(), "{path}: {error:?}");
        assert!(started.elapsed() < PATIENCE, "{path}");
    }
    assert_eq!(
        server.request_count(),
        2,
        "faults happen after the request is recorded"
    );
    assert!(server.wait_for_connections_open(0, PATIENCE).await);
}

#[tokio::test]
async fn reset_is_a_real_reset() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = MockServer::start().await;
    server.on(
        "GET",
        "/reset",
        MockResponse::fault(Fault::ResetBeforeHeaders),
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connects");
    stream
        .write_all(b"GET /reset HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("the request is written");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
        .await
        .expect("not a stall");
    let error = read.expect_err("a RST is an error, not an EOF");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn stall_before_headers_times_out_and_the_connection_closes_with_the_client() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/stall",
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let client = client_with_timeout(Duration::from_millis(200));
    let error = client
        .post(format!("{}/stall", server.url()))
        .send()
        .await
        .expect_err("the mock never answers");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(server.request_count(), 1);
    // The timed-out request dropped its connection, and the server noticed.
    assert!(server.wait_for_connections_open(0, PATIENCE).await);
}

#[tokio::test]
async fn reset_and_close_after_chunks_cut_the_body() {
    let server = MockServer::start().await;
    let events = [
        "data: 1\n\n",
        "data: 2\n\n",
        "data: 3\n\n",
        "data: [DONE]\n\n",
    ];
    server
        .on(
            "GET",
            "/reset",
            MockResponse::sse(events).with_fault(Fault::ResetAfterChunks(2)),
        )
        .on(
            "GET",
            "/close",
            MockResponse::sse(events).with_fault(Fault::CloseAfterChunks(2)),
        );
    let client = client();
    for path in ["/reset", "/close"] {
        let response = client
            .get(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("headers arrive");
        assert_eq!(response.status(), 200);
        let (chunks, error) = chunks_of(response).await;
        assert_eq!(chunks.concat(), b"data: 1\n\ndata: 2\n\n", "{path}");
        let error = error.expect("a body without its end is an error");
        assert!(!error.is_timeout(), "{path}: {error:?}");
    }
}

#[tokio::test]
async fn fault_after_chunks_on_a_whole_body_sends_it_chunked_then_fails() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/json",
        MockResponse::json(200, json!({"partial": true})).with_fault(Fault::ResetAfterChunks(1)),
    );
    let response = client()
        .get(format!("{}/json", server.url()))
        .send()
        .await
        .expect("headers arrive");
    assert!(response.headers().get("content-length").is_none());
    let (chunks, error) = chunks_of(response).await;
    assert_eq!(chunks.concat(), br#"{"partial":true}"#);
    assert!(error.is_some());
}

#[tokio::test]
async fn stall_after_chunks_sends_then_goes_silent() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/stall",
        MockResponse::sse(["data: 1\n\n", "data: 2\n\n"]).with_fault(Fault::StallAfterChunks(1)),
    );
    let client = client();
    let mut response = client
        .get(format!("{}/stall", server.url()))
        .send()
        .await
        .expect("headers arrive");
    let first = tokio::time::timeout(PATIENCE, response.chunk())
        .await
        .expect("the first chunk is sent")
        .expect("a readable chunk");
    assert_eq!(first.as_deref(), Some(&b"data: 1\n\n"[..]));
    let next = tokio::time::timeout(Duration::from_millis(200), response.chunk()).await;
    assert!(next.is_err(), "nothing follows the stall: {next:?}");
    drop(response);
    // A half-read response cannot go back to the pool: dropping it closes the connection.
    assert!(server.wait_for_connections_open(0, PATIENCE).await);
}

#[tokio::test]
async fn dropping_the_server_refuses_new_connections_and_ends_open_ones() {
    let server = MockServer::start().await;
    server.on(
        "GET",
        "/stall",
        MockResponse::fault(Fault::StallBeforeHeaders),
    );
    let url = server.url();
    let client = client();
    let stalled = tokio::spawn({
        let client = client.clone();
        let url = url.clone();
        async move { client.get(format!("{url}/stall")).send().await }
    });
    assert!(server.wait_for_request_count(1, PATIENCE).await);
    drop(server);

    let stalled = tokio::time::timeout(PATIENCE, stalled)
        .await
        .expect("the stalled request ends with the server")
        .expect("the request task does not panic");
    let error = stalled.expect_err("no response was ever sent");
    assert!(!error.is_timeout(), "{error:?}");

    let refused = client
        .get(format!("{url}/stall"))
        .send()
        .await
        .expect_err("nothing listens");
    assert!(refused.is_connect(), "{refused:?}");
}

#[tokio::test]
async fn raw_responses_are_written_byte_for_byte_split_anywhere() {
    let server = MockServer::start().await;
    // The status line and a header split mid-token, a body delimited by the close.
    server.on(
        "GET",
        "/raw",
        MockResponse::raw([
            &b"HTTP/1.1 2"[..],
            b"01 Made Up\r\nx-od",
            b"d: \xff\xfe\r\n\r\n{\"a\"",
            b":1}",
        ]),
    );
    let client = client();
    for _ in 0..2 {
        let response = client
            .get(format!("{}/raw", server.url()))
            .send()
            .await
            .expect("a raw response is still HTTP");
        assert_eq!(response.status(), 201);
        assert_eq!(
            response.headers().get("x-odd").map(|v| v.as_bytes()),
            Some(&b"\xff\xfe"[..])
        );
        assert_eq!(
            response.bytes().await.expect("ends with the close"),
            &b"{\"a\":1}"[..]
        );
    }
    assert_eq!(server.request_count(), 2);
    assert_eq!(
        server.connections_accepted(),
        2,
        "a raw response closes its connection"
    );
}

#[tokio::test]
async fn raw_responses_can_break_the_framing_and_end_with_a_fault() {
    let server = MockServer::start().await;
    server
        .on(
            "GET",
            "/short",
            MockResponse::raw(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}"]),
        )
        .on(
            "GET",
            "/garbage",
            MockResponse::raw(["HTTP/1.1 200 OK\r\nx-a: \x01\x00\r\n\r\n"]),
        )
        .on(
            "GET",
            "/stall",
            MockResponse::raw(["HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab", "cd"])
                .with_fault(Fault::StallAfterChunks(1)),
        );
    let client = client();
    let short = client
        .get(format!("{}/short", server.url()))
        .send()
        .await
        .expect("the headers are valid");
    assert!(
        short.bytes().await.is_err(),
        "a body shorter than its length"
    );
    let garbage = client.get(format!("{}/garbage", server.url())).send().await;
    assert!(
        garbage.is_err(),
        "control bytes in a header value: {garbage:?}"
    );
    let mut stalled = client
        .get(format!("{}/stall", server.url()))
        .send()
        .await
        .expect("the headers are valid");
    let first = tokio::time::timeout(PATIENCE, stalled.chunk())
        .await
        .expect("the first chunk arrives")
        .expect("readable");
    assert_eq!(first.as_deref(), Some(&b"ab"[..]));
    let next = tokio::time::timeout(Duration::from_millis(200), stalled.chunk()).await;
    assert!(next.is_err(), "nothing follows the stall: {next:?}");
}
