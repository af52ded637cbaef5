//! Batches over the loopback mock: OpenAI's Batch API (the JSONL input
//! uploaded as multipart to `/files`, `POST /batches`, `GET /batches/{id}`
//! until done, the output and error files from `/files/{id}/content`) and
//! Anthropic's Message Batches (`POST /messages/batches`, `GET` until
//! `ended`, `GET .../results`), with one `Client` API over both. Results are
//! decoded into `ChatResponse`s matched to the caller's ids; the poll never
//! outlives the caller's deadline.

mod ops_common;

use std::time::Duration;

use llm_runtime::http::PollPolicy;
use llm_runtime::providers::{Anthropic, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, Client, ErrorKind,
    options::BatchWait,
    types::{BatchRequest, BatchStatus},
};
use ops_common::{Field, client, form};
use serde_json::{Value, json};

fn wait() -> BatchWait {
    BatchWait::up_to(Duration::from_secs(10)).poll(
        PollPolicy::default()
            .initial(Duration::from_millis(5))
            .max(Duration::from_millis(20)),
    )
}

fn batch(model: &str) -> BatchRequest {
    BatchRequest::new()
        .item("q1", ChatRequest::new(model).user("2+2?").max_tokens(16))
        .item("q2", ChatRequest::new(model).user("3+3?").max_tokens(16))
        .item("q3", ChatRequest::new(model).user("4+4?").max_tokens(16))
}

fn openai_job(status: &str, done: bool) -> Value {
    json!({
        "id": "batch_abc123", "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": "file-in", "completion_window": "24h", "status": status,
        "output_file_id": if done { json!("file-out") } else { Value::Null },
        "error_file_id": if done { json!("file-err") } else { Value::Null },
        "created_at": 1711471533,
        "request_counts": {"total": 3, "completed": if done { 1 } else { 0 }, "failed": if done { 2 } else { 0 }}
    })
}

fn completion(text: &str) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}})
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn script_openai(server: &MockServer) {
    server.on("POST", "/v1/files", MockResponse::json(200, json!({
        "id": "file-in", "object": "file", "bytes": 120, "created_at": 1, "filename": "batch.jsonl", "purpose": "batch"})));
    server.on(
        "POST",
        "/v1/batches",
        MockResponse::json(200, openai_job("validating", false)),
    );
    server.on_sequence(
        "GET",
        "/v1/batches/batch_abc123",
        vec![
            MockResponse::json(200, openai_job("in_progress", false)),
            MockResponse::json(200, openai_job("finalizing", false)),
            MockResponse::json(200, openai_job("completed", true)),
        ],
    );
    // Out of order, as the API allows.
    let output = jsonl(&[
        json!({"id": "batch_req_2", "custom_id": "q2", "error": null,
               "response": {"status_code": 400, "request_id": "r2",
                            "body": {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}}}),
        json!({"id": "batch_req_1", "custom_id": "q1", "error": null,
               "response": {"status_code": 200, "request_id": "r1", "body": completion("4")}}),
    ]);
    server.on(
        "GET",
        "/v1/files/file-out/content",
        MockResponse::text(200, "application/octet-stream", output),
    );
    let errors = jsonl(&[
        json!({"id": "batch_req_3", "custom_id": "q3", "response": null,
                                "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
    ]);
    server.on(
        "GET",
        "/v1/files/file-err/content",
        MockResponse::text(200, "application/octet-stream", errors),
    );
}

#[tokio::test]
async fn an_openai_batch_end_to_end() {
    let server = MockServer::start().await;
    script_openai(&server);
    let results = client::<OpenAi>(&server, "/v1")
        .batch(batch("gpt-4o-mini").metadata("run", "nightly"), wait())
        .await
        .expect("the batch finishes");
    let requests = server.requests();
    let paths: Vec<(&str, &str)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("POST", "/v1/files"),
            ("POST", "/v1/batches"),
            ("GET", "/v1/batches/batch_abc123"),
            ("GET", "/v1/batches/batch_abc123"),
            ("GET", "/v1/batches/batch_abc123"),
            ("GET", "/v1/files/file-out/content"),
            ("GET", "/v1/files/file-err/content"),
        ]
    );
    // The upload: `purpose`, then the JSONL file, one request line per item.
    let fields = form(&requests[0]);
    assert_eq!(fields[0], Field::text("purpose", "batch"));
    assert_eq!(
        (fields[1].name.as_str(), fields[1].filename.as_deref()),
        ("file", Some("batch.jsonl"))
    );
    let lines: Vec<Value> = std::str::from_utf8(&fields[1].data)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["custom_id"], "q1");
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["url"], "/v1/chat/completions");
    assert_eq!(lines[0]["body"]["model"], "gpt-4o-mini");
    assert_eq!(
        lines[0]["body"]["messages"],
        json!([{"role": "user", "content": "2+2?"}])
    );
    assert!(lines[0]["body"].get("stream").is_none_or(|s| s == false));
    assert_eq!(
        requests[1].body_json(),
        json!({"input_file_id": "file-in", "endpoint": "/v1/chat/completions",
               "completion_window": "24h", "metadata": {"run": "nightly"}})
    );
    // The outcomes, in the caller's order, each decoded or classified.
    assert_eq!(results.job.status, BatchStatus::Completed);
    assert_eq!(results.job.counts.total, 3);
    let ids: Vec<&str> = results
        .outcomes
        .iter()
        .map(|o| o.custom_id.as_str())
        .collect();
    assert_eq!(ids, ["q1", "q2", "q3"]);
    let q1 = results
        .get("q1")
        .and_then(|r| r.response())
        .expect("q1 succeeded");
    assert_eq!(q1.text(), "4");
    assert_eq!(q1.usage.map(|u| u.total_tokens), Some(10));
    let llm_runtime::types::BatchResult::Failed(q2) = results.get("q2").expect("q2") else {
        panic!("q2 failed")
    };
    assert_eq!(q2.kind(), ErrorKind::InvalidRequest);
    assert!(q2.message().contains("max_tokens"), "{q2}");
    let llm_runtime::types::BatchResult::Failed(q3) = results.get("q3").expect("q3") else {
        panic!("q3 failed")
    };
    assert!(q3.message().contains("completion window"), "{q3}");
}

fn anthropic_job(status: &str) -> Value {
    let ended = status == "ended";
    json!({
        "id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch",
        "processing_status": status,
        "request_counts": {"processing": if ended { 0 } else { 3 }, "succeeded": if ended { 1 } else { 0 },
                           "errored": if ended { 1 } else { 0 }, "canceled": 0, "expired": if ended { 1 } else { 0 }},
        "ended_at": null, "created_at": "2024-09-24T18:37:24.100435Z",
        "expires_at": "2024-09-25T18:37:24.100435Z", "cancel_initiated_at": null,
        "results_url": if ended { json!("https://api.anthropic.com/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results") } else { Value::Null }
    })
}

fn script_anthropic(server: &MockServer) {
    server.on(
        "POST",
        "/v1/messages/batches",
        MockResponse::json(200, anthropic_job("in_progress")),
    );
    server.on_sequence(
        "GET",
        "/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
        vec![
            MockResponse::json(200, anthropic_job("in_progress")),
            MockResponse::json(200, anthropic_job("ended")),
        ],
    );
    let results = jsonl(&[
        json!({"custom_id": "q3", "result": {"type": "expired"}}),
        json!({"custom_id": "q1", "result": {"type": "succeeded", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "4"}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 12, "output_tokens": 1}}}}),
        json!({"custom_id": "q2", "result": {"type": "errored", "error": {"type": "error",
            "error": {"type": "overloaded_error", "message": "Overloaded"}}}}),
    ]);
    server.on(
        "GET",
        "/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results",
        MockResponse::text(200, "application/binary", results),
    );
}

#[tokio::test]
async fn an_anthropic_message_batch_end_to_end() {
    let server = MockServer::start().await;
    script_anthropic(&server);
    let results = client::<Anthropic>(&server, "/v1")
        .batch(batch("claude-sonnet-4-5"), wait())
        .await
        .expect("the batch ends");
    let requests = server.requests();
    let create = &requests[0];
    assert_eq!(create.path, "/v1/messages/batches");
    assert_eq!(create.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(create.header("x-api-key"), Some(ops_common::KEY));
    let body = create.body_json();
    let items = body["requests"].as_array().expect("requests");
    assert_eq!(items.len(), 3);
    assert_eq!(items[1]["custom_id"], "q2");
    assert_eq!(
        items[1]["params"],
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
               "messages": [{"role": "user", "content": [{"type": "text", "text": "3+3?"}]}]})
    );
    assert!(
        requests[1..]
            .iter()
            .all(|r| r.header("anthropic-version") == Some("2023-06-01"))
    );
    assert_eq!(
        requests.last().map(|r| r.path.as_str()),
        Some("/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results")
    );
    assert_eq!(
        results.job.counts,
        llm_runtime::types::BatchCounts {
            total: 3,
            completed: 1,
            failed: 2
        }
    );
    let ids: Vec<&str> = results
        .outcomes
        .iter()
        .map(|o| o.custom_id.as_str())
        .collect();
    assert_eq!(ids, ["q1", "q2", "q3"]);
    assert_eq!(
        results
            .get("q1")
            .and_then(|r| r.response())
            .map(|r| r.text()),
        Some("4".to_owned())
    );
    let llm_runtime::types::BatchResult::Failed(q2) = results.get("q2").expect("q2") else {
        panic!("q2 failed")
    };
    assert_eq!(q2.kind(), ErrorKind::Overloaded);
    let llm_runtime::types::BatchResult::Failed(q3) = results.get("q3").expect("q3") else {
        panic!("q3 failed")
    };
    assert_eq!(q3.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn one_client_api_over_both() {
    let openai = MockServer::start().await;
    script_openai(&openai);
    let anthropic = MockServer::start().await;
    script_anthropic(&anthropic);
    let client = Client::builder()
        .register(client::<OpenAi>(&openai, "/v1"))
        .expect("openai")
        .register(client::<Anthropic>(&anthropic, "/v1"))
        .expect("anthropic")
        .build()
        .expect("client");
    // The route's model fills in items without one.
    for (route, model) in [
        ("openai/gpt-4o-mini", "gpt-4o-mini"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
    ] {
        let results = client.batch(route, batch(""), wait()).await.expect("batch");
        let q1 = results.get("q1").and_then(|r| r.response()).expect("q1");
        assert_eq!(q1.text(), "4", "{route}");
        assert_eq!(results.outcomes.len(), 3);
        assert_eq!(q1.model, model, "{route}");
    }
    assert_eq!(
        form(&openai.requests()[0])[1]
            .data
            .windows(11)
            .filter(|w| w == b"gpt-4o-mini")
            .count(),
        3
    );
    assert_eq!(
        anthropic.requests()[0].body_json()["requests"][0]["params"]["model"],
        "claude-sonnet-4-5"
    );
    let e = client
        .batch("openai", BatchRequest::new(), wait())
        .await
        .expect_err("empty");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn a_batch_poll_respects_the_callers_deadline() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/messages/batches",
        MockResponse::json(200, anthropic_job("in_progress")),
    );
    server.on(
        "GET",
        "/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF",
        MockResponse::json(200, anthropic_job("in_progress")),
    );
    let bound = Duration::from_millis(300);
    let e = client::<Anthropic>(&server, "/v1")
        .batch(
            batch("claude-sonnet-4-5"),
            BatchWait::up_to(bound).poll(
                PollPolicy::default()
                    .initial(Duration::from_millis(40))
                    .factor(1.0),
            ),
        )
        .await
        .expect_err("never ends");
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("InProgress"), "{e}");
    // Checks 40 ms apart within 300 ms: at most 300 / 40 + 1, and never a check after the deadline.
    let gets = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert!((1..=8).contains(&gets), "{gets} checks");
    // A job already ended is not polled at all.
    let job = client::<Anthropic>(&server, "/v1")
        .batch_get("msgbatch_013Zva2CMHLNnXjNJJKqJ2EF")
        .await
        .expect("get");
    assert_eq!(job.status, BatchStatus::InProgress);
}

#[tokio::test]
async fn batch_requests_are_checked_before_anything_is_sent() {
    let server = MockServer::start().await;
    let duplicate = BatchRequest::new()
        .item("a", ChatRequest::new("gpt-4o-mini").user("x"))
        .item("a", ChatRequest::new("gpt-4o-mini").user("y"));
    let e = client::<OpenAi>(&server, "/v1")
        .batch_create(duplicate)
        .await
        .expect_err("duplicate id");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    let empty_message = BatchRequest::new().item("a", ChatRequest::new("gpt-4o-mini"));
    let e = client::<OpenAi>(&server, "/v1")
        .batch_create(empty_message)
        .await
        .expect_err("no messages");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(server.request_count(), 0);
}
