//! OpenAI's Files and Batch API through the gateway with the official
//! `openai` Python SDK: the JSONL input uploaded with `purpose=batch`, a
//! batch created on a model group, polled until done, its output and error
//! files read back; to an OpenAI-format upstream (its Batch API: the input
//! re-uploaded, `/batches`, the output files) and to an Anthropic-format one
//! (Message Batches), with the upstream requests checked.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{entry, gateway, python_or_skip};
use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import json, sys
import openai

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
out = {}
lines = [{"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
          "body": {"model": model, "messages": [{"role": "user", "content": q}], "max_tokens": 16}}
         for cid, q in [("q1", "2+2?"), ("q2", "3+3?"), ("q3", "4+4?")]]
data = "".join(json.dumps(l) + "\n" for l in lines).encode()
f = client.files.create(file=("batch.jsonl", data, "application/jsonl"), purpose="batch")
out["file"] = {"purpose": f.purpose, "bytes": f.bytes, "filename": f.filename,
               "retrieved": client.files.retrieve(f.id).id == f.id,
               "content_back": client.files.content(f.id).content == data,
               "listed": [x.id for x in client.files.list()] == [f.id]}
b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                          completion_window="24h", metadata={"run": "nightly"})
statuses = [b.status]
for _ in range(20):
    b = client.batches.retrieve(b.id)
    statuses.append(b.status)
    if b.status in ("completed", "failed", "expired", "cancelled"):
        break
out["statuses"] = statuses
out["batch"] = {"input_file_id": b.input_file_id == f.id, "endpoint": b.endpoint,
                "metadata": b.metadata, "counts": b.request_counts.model_dump(),
                "has_output": b.output_file_id is not None, "has_errors": b.error_file_id is not None}
read = lambda fid: [json.loads(l) for l in client.files.content(fid).text.splitlines()]
out["output"] = read(b.output_file_id)
out["errors"] = read(b.error_file_id)
out["output_file"] = client.files.retrieve(b.output_file_id).purpose
out["listed"] = [x.id for x in client.batches.list()] == [b.id]
def failing(name, call):
    try:
        call()
        out[name] = "accepted"
    except openai.APIStatusError as e:
        out[name] = [type(e).__name__, e.status_code]
failing("cancel", lambda: client.batches.cancel(b.id))
failing("unknown_batch", lambda: client.batches.retrieve("batch_nope"))
failing("unknown_file", lambda: client.batches.create(input_file_id="file-nope",
        endpoint="/v1/chat/completions", completion_window="24h"))
failing("embeddings", lambda: client.batches.create(input_file_id=f.id,
        endpoint="/v1/embeddings", completion_window="24h"))
out["deleted"] = client.files.delete(f.id).deleted
failing("deleted_file", lambda: client.files.retrieve(f.id))
print(json.dumps(out))
"#;

fn run(python: &Path, base: &str, model: &str) -> Value {
    let out = Command::new(python)
        .args(["-c", SCRIPT, base, "sk-any", model])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
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

/// OpenAI's Batch API under `/v1`, as the runtime's batch suite scripts it.
fn script_openai(mock: &MockServer) {
    mock.on("POST", "/v1/files", MockResponse::json(200, json!({
        "id": "file-in", "object": "file", "bytes": 120, "created_at": 1, "filename": "batch.jsonl", "purpose": "batch"})));
    mock.on(
        "POST",
        "/v1/batches",
        MockResponse::json(200, openai_job("validating", false)),
    );
    mock.on_sequence(
        "GET",
        "/v1/batches/batch_abc123",
        vec![
            MockResponse::json(200, openai_job("in_progress", false)),
            MockResponse::json(200, openai_job("finalizing", false)),
            MockResponse::json(200, openai_job("completed", true)),
        ],
    );
    let output = jsonl(&[
        json!({"id": "batch_req_2", "custom_id": "q2", "error": null,
               "response": {"status_code": 400, "request_id": "r2",
                            "body": {"error": {"message": "max_tokens is too large", "type": "invalid_request_error"}}}}),
        json!({"id": "batch_req_1", "custom_id": "q1", "error": null,
               "response": {"status_code": 200, "request_id": "r1", "body": completion("4")}}),
    ]);
    mock.on(
        "GET",
        "/v1/files/file-out/content",
        MockResponse::text(200, "application/octet-stream", output),
    );
    let errors = jsonl(&[
        json!({"id": "batch_req_3", "custom_id": "q3", "response": null,
        "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}}),
    ]);
    mock.on(
        "GET",
        "/v1/files/file-err/content",
        MockResponse::text(200, "application/octet-stream", errors),
    );
}

const MSGBATCH: &str = "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF";

fn anthropic_job(status: &str) -> Value {
    let ended = status == "ended";
    json!({
        "id": MSGBATCH, "type": "message_batch", "processing_status": status,
        "request_counts": {"processing": if ended { 0 } else { 3 }, "succeeded": if ended { 1 } else { 0 },
                           "errored": if ended { 1 } else { 0 }, "canceled": 0, "expired": if ended { 1 } else { 0 }},
        "ended_at": null, "created_at": "2024-09-24T18:37:24.100435Z",
        "expires_at": "2024-09-25T18:37:24.100435Z", "cancel_initiated_at": null,
        "results_url": if ended { json!(format!("https://api.anthropic.com/v1/messages/batches/{MSGBATCH}/results")) } else { Value::Null }
    })
}

/// Anthropic's Message Batches under `/anthropic/v1`.
fn script_anthropic(mock: &MockServer) {
    mock.on(
        "POST",
        "/anthropic/v1/messages/batches",
        MockResponse::json(200, anthropic_job("in_progress")),
    );
    mock.on_sequence(
        "GET",
        &format!("/anthropic/v1/messages/batches/{MSGBATCH}"),
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
    mock.on(
        "GET",
        &format!("/anthropic/v1/messages/batches/{MSGBATCH}/results"),
        MockResponse::text(200, "application/binary", results),
    );
}

async fn through(model: &str) -> Option<(Value, MockServer)> {
    let python = python_or_skip(&format!("sdk_batches::{model}"))?;
    let mock = MockServer::start().await;
    script_openai(&mock);
    script_anthropic(&mock);
    let yaml = format!(
        "model_list:\n{}{}",
        entry(
            "gpt-batch",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            ""
        ),
        entry(
            "claude-batch",
            "anthropic/claude-sonnet-4-5",
            &format!("{}/anthropic", mock.url()),
            ""
        )
    );
    let gw = gateway(&yaml).await;
    let (url, model) = (gw.url(), model.to_owned());
    let out = tokio::task::spawn_blocking(move || run(&python, &url, &model))
        .await
        .unwrap();
    Some((out, mock))
}

/// What both upstreams give the caller the same way.
fn assert_common(out: &Value) {
    assert_eq!(
        out["file"],
        json!({"purpose": "batch", "bytes": out["file"]["bytes"], "filename": "batch.jsonl",
               "retrieved": true, "content_back": true, "listed": true}),
        "{out}"
    );
    assert_eq!(out["batch"]["input_file_id"], true);
    assert_eq!(out["batch"]["endpoint"], "/v1/chat/completions");
    assert_eq!(out["batch"]["metadata"], json!({"run": "nightly"}));
    assert_eq!(
        out["batch"]["counts"],
        json!({"total": 3, "completed": 1, "failed": 2})
    );
    assert_eq!(out["batch"]["has_output"], true);
    assert_eq!(out["batch"]["has_errors"], true);
    // The output file: q1's answer as a chat completion, in OpenAI's line format.
    let output = out["output"].as_array().unwrap();
    assert_eq!(output.len(), 1, "{out}");
    assert_eq!(output[0]["custom_id"], "q1");
    assert_eq!(output[0]["response"]["status_code"], 200);
    assert_eq!(output[0]["response"]["body"]["object"], "chat.completion");
    assert_eq!(
        output[0]["response"]["body"]["choices"][0]["message"]["content"],
        "4"
    );
    assert_eq!(output[0]["error"], Value::Null);
    // The error file: q2 and q3, in the input's order.
    let errors = out["errors"].as_array().unwrap();
    let ids: Vec<&str> = errors
        .iter()
        .map(|e| e["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q2", "q3"], "{out}");
    assert_eq!(out["output_file"], "batch_output");
    assert_eq!(out["listed"], true);
    assert_eq!(out["cancel"], json!(["BadRequestError", 400]));
    assert_eq!(out["unknown_batch"], json!(["NotFoundError", 404]));
    assert_eq!(out["unknown_file"], json!(["NotFoundError", 404]));
    assert_eq!(out["embeddings"], json!(["BadRequestError", 400]));
    assert_eq!(out["deleted"], true);
    assert_eq!(out["deleted_file"], json!(["NotFoundError", 404]));
}

#[tokio::test]
async fn an_openai_batch_through_the_gateway() {
    let Some((out, mock)) = through("gpt-batch").await else {
        return;
    };
    assert_common(&out);
    assert_eq!(
        out["statuses"],
        json!(["validating", "in_progress", "finalizing", "completed"])
    );
    let errors = out["errors"].as_array().unwrap();
    assert_eq!(errors[0]["response"]["status_code"], 400);
    assert!(
        errors[0]["response"]["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_tokens is too large"),
        "{out}"
    );
    // A line-level error reaches the gateway as the runtime classifies it
    // (a 400 with the upstream's code), and is written as that response.
    assert_eq!(
        errors[1]["response"]["body"]["error"]["code"],
        "batch_expired"
    );
    assert!(
        errors[1]["response"]["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("completion window"),
        "{out}"
    );
    // Upstream: the input re-uploaded with the deployment's model, the batch created.
    let requests = mock.requests();
    let upload = requests.iter().find(|r| r.path == "/v1/files").unwrap();
    let body = String::from_utf8_lossy(&upload.body).into_owned();
    let lines: Vec<Value> = body
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["q1", "q2", "q3"]);
    assert_eq!(lines[0]["body"]["model"], "gpt-4o-mini");
    assert_eq!(lines[0]["body"]["max_tokens"], 16);
    let create = requests.iter().find(|r| r.path == "/v1/batches").unwrap();
    assert_eq!(
        create.body_json(),
        json!({"input_file_id": "file-in", "endpoint": "/v1/chat/completions",
               "completion_window": "24h", "metadata": {"run": "nightly"}})
    );
    assert_eq!(
        requests.iter().filter(|r| r.method == "POST").count(),
        2,
        "one upload and one create upstream"
    );
}

#[tokio::test]
async fn an_anthropic_message_batch_through_the_openai_batch_api() {
    let Some((out, mock)) = through("claude-batch").await else {
        return;
    };
    assert_common(&out);
    assert_eq!(
        out["statuses"],
        json!(["in_progress", "in_progress", "completed"])
    );
    // Anthropic's errored result keeps its status (529, overloaded); the
    // expired one has no HTTP answer: an `error` line.
    let errors = out["errors"].as_array().unwrap();
    assert_eq!(errors[0]["response"]["status_code"], 529, "{out}");
    assert_eq!(
        errors[0]["response"]["body"]["error"]["message"],
        "Overloaded"
    );
    assert_eq!(errors[1]["response"], Value::Null);
    assert_eq!(errors[1]["error"]["code"], "timeout");
    let requests = mock.requests();
    let create = requests
        .iter()
        .find(|r| r.path == "/anthropic/v1/messages/batches")
        .unwrap();
    let body = create.body_json();
    let items = body["requests"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1]["custom_id"], "q2");
    assert_eq!(
        items[1]["params"],
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
               "messages": [{"role": "user", "content": [{"type": "text", "text": "3+3?"}]}]})
    );
}
