//! The official `openai` Python SDK as the gateway's client: chat, a stream
//! with usage, parallel tool calls, JSON schema, embeddings and the model
//! list, each routed to OpenAI-, Anthropic- and Gemini-format mock upstreams;
//! errors as the SDK's typed exceptions.
//!
//! The Python is `LLM_RUNTIME_SDK_PYTHON`, else `target/sdk-venv` (made by
//! `.ci/run` from `tests/sdk-requirements.txt`); without it the tests print
//! a skip, and fail under `CI=true`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{fixture, gateway, openai_answer, python_or_skip};
use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::{Value, json};

/// Runs each case with the SDK against `base` and prints `{name: result}`.
const SCRIPT: &str = r#"
import json, sys
import openai

base, key, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
messages = [{"role": "user", "content": "Say hello"}]
tools = [{"type": "function", "function": {"name": "get_forecast", "description": "The forecast",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
schema = {"name": "weather", "strict": True, "schema": {"type": "object", "additionalProperties": False,
          "properties": {"city": {"type": "string"}, "temp_c": {"type": "number"}}, "required": ["city", "temp_c"]}}
out = {}
for case in cases:
    name, kind, model = case["name"], case["kind"], case.get("model")
    try:
        if kind == "chat":
            r = client.chat.completions.create(model=model, messages=messages)
            out[name] = {"text": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                         "total": r.usage.total_tokens if r.usage else None}
        elif kind == "stream":
            s = client.chat.completions.create(model=model, messages=messages, stream=True,
                                               stream_options={"include_usage": True})
            got = {"text": "", "finish": None, "usage_chunks": 0, "total": None}
            for chunk in s:
                if not chunk.choices:
                    got["usage_chunks"] += 1
                    got["total"] = chunk.usage.total_tokens if chunk.usage else None
                    continue
                got["text"] += chunk.choices[0].delta.content or ""
                got["finish"] = chunk.choices[0].finish_reason or got["finish"]
            out[name] = got
        elif kind == "tools":
            r = client.chat.completions.create(model=model, messages=messages, tools=tools)
            calls = r.choices[0].message.tool_calls or []
            out[name] = {"finish": r.choices[0].finish_reason,
                         "calls": [[c.function.name, json.loads(c.function.arguments)] for c in calls],
                         "ids": len({c.id for c in calls})}
        elif kind == "tools_stream":
            s = client.chat.completions.create(model=model, messages=messages, tools=tools, stream=True)
            args, names = {}, {}
            for chunk in s:
                for c in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                    if c.function and c.function.name:
                        names[c.index] = c.function.name
                    args[c.index] = args.get(c.index, "") + ((c.function.arguments or "") if c.function else "")
            out[name] = {"calls": [[names[i], json.loads(args[i])] for i in sorted(args)]}
        elif kind == "schema":
            r = client.chat.completions.create(model=model, messages=messages,
                                               response_format={"type": "json_schema", "json_schema": schema})
            out[name] = {"parsed": json.loads(r.choices[0].message.content)}
        elif kind == "embed":
            r = client.embeddings.create(model=model, input=["a", "b"])
            out[name] = {"n": len(r.data), "dims": len(r.data[0].embedding), "indexes": [d.index for d in r.data]}
        elif kind == "bad":
            client.chat.completions.create(model=model, messages=[])
            out[name] = {"accepted": True}
        elif kind == "models":
            out[name] = {"ids": sorted(m.id for m in client.models.list())}
    except openai.APIStatusError as e:
        out[name] = {"error": type(e).__name__, "status": e.status_code,
                     "retry_after": e.response.headers.get("retry-after")}
        if case.get("debug"): out[name]["message"] = str(e)
    except Exception as e:
        out[name] = {"crash": type(e).__name__ + ": " + str(e)}
print(json.dumps(out))
"#;

fn run(python: &Path, base: &str, key: &str, cases: &Value) -> Value {
    let out = Command::new(python)
        .args(["-c", SCRIPT, base, key, &cases.to_string()])
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

fn json_text(status: u16, text: String) -> MockResponse {
    MockResponse::text(status, "application/json", text)
}

fn sse_text(text: String) -> MockResponse {
    MockResponse::text(200, "text/event-stream", text)
}

/// The answer carrying `{"city": "Paris", "temp_c": 21}` in each format.
fn schema_answer(format: &str) -> MockResponse {
    let text = r#"{"city": "Paris", "temp_c": 21}"#;
    match format {
        "openai" => openai_answer(text),
        "anthropic" => MockResponse::json(
            200,
            json!({
            "id": "msg_s", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 9}}),
        ),
        _ => MockResponse::json(
            200,
            json!({
            "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 9, "totalTokenCount": 14}}),
        ),
    }
}

/// One mock per case kind (`/KIND/...`) for `format`, and the config entries naming them `FORMAT-KIND`.
fn upstream(mock: &MockServer, format: &str) -> String {
    let url = mock.url();
    let mut yaml = String::new();
    for kind in ["chat", "stream", "tools", "tools_stream", "schema", "embed"] {
        let (model, base, path) = match format {
            "openai" => (
                "openai/gpt-4o-mini",
                format!("{url}/{kind}/v1"),
                format!("/{kind}/v1/chat/completions"),
            ),
            "anthropic" => (
                "anthropic/claude-sonnet-4-5",
                format!("{url}/{kind}"),
                format!("/{kind}/v1/messages"),
            ),
            _ => {
                let method = if kind.contains("stream") {
                    "streamGenerateContent"
                } else {
                    "generateContent"
                };
                (
                    "gemini/gemini-2.5-flash",
                    format!("{url}/{kind}/v1beta"),
                    format!("/{kind}/v1beta/models/gemini-2.5-flash:{method}"),
                )
            }
        };
        let (dir, text, stream, tools, tools_stream) = match format {
            "openai" => (
                "openai",
                "chat_text.json",
                "stream_text.sse",
                "chat_tools.json",
                "stream_tools.sse",
            ),
            "anthropic" => (
                "anthropic",
                "text.json",
                "text.sse",
                "tools.json",
                "tools.sse",
            ),
            _ => ("gemini", "text.json", "text.sse", "tools.json", "tools.sse"),
        };
        let answer = match kind {
            "chat" => json_text(200, fixture(dir, text)),
            "stream" => sse_text(fixture(dir, stream)),
            "tools" => json_text(200, fixture(dir, tools)),
            "tools_stream" => sse_text(fixture(dir, tools_stream)),
            "schema" => schema_answer(format),
            _ => match format {
                "openai" => MockResponse::json(
                    200,
                    json!({"object": "list", "model": "text-embedding-3-small",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]},
                             {"object": "embedding", "index": 1, "embedding": [0.4, 0.5, 0.6]}],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
                ),
                _ => json_text(200, fixture("gemini", "embeddings.json")),
            },
        };
        let path = if kind == "embed" {
            match format {
                "openai" => format!("/{kind}/v1/embeddings"),
                _ => format!("/{kind}/v1beta/models/gemini-2.5-flash:batchEmbedContents"),
            }
        } else {
            path
        };
        mock.on("POST", &path, answer);
        yaml.push_str(&common::entry(
            &format!("{format}-{kind}"),
            model,
            &base,
            "",
        ));
    }
    yaml
}

fn cases(format: &str) -> Value {
    let kinds = ["chat", "stream", "tools", "tools_stream", "schema", "embed"];
    let mut list: Vec<Value> = kinds
        .iter()
        .map(|k| json!({"name": k, "kind": k, "model": format!("{format}-{k}")}))
        .collect();
    list.push(json!({"name": "models", "kind": "models"}));
    Value::Array(list)
}

async fn run_format(format: &str) -> Option<(Value, MockServer)> {
    let python = python_or_skip(&format!("sdk_openai::{format}"))?;
    let mock = MockServer::start().await;
    let yaml = format!("model_list:\n{}", upstream(&mock, format));
    let gw = gateway(&yaml).await;
    let url = gw.url();
    let cases = cases(format);
    let out = tokio::task::spawn_blocking(move || run(&python, &url, "sk-any", &cases))
        .await
        .unwrap();
    drop(gw);
    Some((out, mock))
}

fn forecast_calls() -> Value {
    json!([["get_forecast", {"location": "Paris, France", "unit": "celsius", "days": 3}],
           ["get_forecast", {"location": "Tōkyō", "unit": "celsius", "days": 1}]])
}

fn assert_common(out: &Value, format: &str, text: &str) {
    assert_eq!(out["chat"]["text"], text, "{format}: {out}");
    assert_eq!(out["chat"]["finish"], "stop", "{format}: {out}");
    assert_eq!(out["stream"]["finish"], "stop", "{format}: {out}");
    assert_eq!(
        out["stream"]["usage_chunks"], 1,
        "{format}: one empty-choices usage chunk"
    );
    assert!(
        out["stream"]["total"].as_u64().unwrap() > 0,
        "{format}: {out}"
    );
    assert_eq!(
        out["schema"]["parsed"],
        json!({"city": "Paris", "temp_c": 21}),
        "{format}: {out}"
    );
    let ids: Vec<String> = ["chat", "embed", "schema", "stream", "tools", "tools_stream"]
        .iter()
        .map(|k| format!("{format}-{k}"))
        .collect();
    assert_eq!(out["models"]["ids"], json!(ids), "{format}: {out}");
}

fn schema_sent(mock: &MockServer) -> Value {
    let sent = mock
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/schema/"))
        .unwrap();
    sent.body_json()
}

#[tokio::test]
async fn openai_sdk_through_the_gateway_to_openai() {
    let Some((out, mock)) = run_format("openai").await else {
        return;
    };
    assert_common(&out, "openai", "Hello! How can I help you today?");
    assert_eq!(out["stream"]["text"], out["chat"]["text"]);
    assert_eq!(out["chat"]["total"], 29);
    assert_eq!(out["tools"]["finish"], "tool_calls");
    assert_eq!(out["tools"]["ids"], 2, "{out}");
    assert_eq!(out["tools"]["calls"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(out["tools_stream"]["calls"], out["tools"]["calls"], "{out}");
    assert_eq!(out["embed"], json!({"n": 2, "dims": 3, "indexes": [0, 1]}));
    assert_eq!(
        schema_sent(&mock)["response_format"]["json_schema"]["name"],
        "weather"
    );
}

#[tokio::test]
async fn openai_sdk_through_the_gateway_to_anthropic() {
    let Some((out, mock)) = run_format("anthropic").await else {
        return;
    };
    let text = "Bonjour ! Voilà une réponse courte — avec un emoji 🌍.";
    assert_common(&out, "anthropic", text);
    assert_eq!(out["stream"]["text"], text);
    assert_eq!(out["tools"]["finish"], "tool_calls");
    assert_eq!(out["tools"]["calls"], forecast_calls(), "{out}");
    assert_eq!(out["tools"]["ids"], 2);
    assert_eq!(out["tools_stream"]["calls"], forecast_calls(), "{out}");
    // Anthropic has no embeddings: a typed 400.
    assert_eq!(out["embed"]["error"], "BadRequestError", "{out}");
    assert_eq!(
        schema_sent(&mock)["output_config"]["format"]["type"],
        "json_schema"
    );
}

#[tokio::test]
async fn openai_sdk_through_the_gateway_to_gemini() {
    let Some((out, mock)) = run_format("gemini").await else {
        return;
    };
    let text = "Bonjour ! Voilà une réponse courte — avec un emoji 🌍.";
    assert_common(&out, "gemini", text);
    assert_eq!(out["stream"]["text"], text);
    assert_eq!(out["chat"]["total"], 23);
    assert_eq!(out["tools"]["finish"], "tool_calls");
    assert_eq!(out["tools"]["calls"], forecast_calls(), "{out}");
    assert_eq!(out["tools"]["ids"], 2, "each call has its own id");
    assert_eq!(out["tools_stream"]["calls"], forecast_calls(), "{out}");
    assert_eq!(out["embed"], json!({"n": 2, "dims": 4, "indexes": [0, 1]}));
    assert!(
        schema_sent(&mock).to_string().contains("temp_c"),
        "the schema reached Gemini"
    );
}

#[tokio::test]
async fn errors_are_the_sdks_typed_exceptions() {
    let Some(python) = python_or_skip("sdk_openai::errors") else {
        return;
    };
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(429, json!({"error": {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("retry-after", "3"),
    );
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: sk-master\n",
        common::entry(
            "limited",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            ""
        )
    );
    let gw = gateway(&yaml).await;
    let url = gw.url();
    let cases = json!([
        {"name": "rate", "kind": "chat", "model": "limited"},
        {"name": "unknown", "kind": "chat", "model": "no-such-model"},
        {"name": "bad", "kind": "bad", "model": "limited"},
    ]);
    let (u, c) = (url.clone(), cases.clone());
    let p = python.clone();
    let out = tokio::task::spawn_blocking(move || run(&p, &u, "sk-master", &c))
        .await
        .unwrap();
    assert_eq!(
        out["rate"],
        json!({"error": "RateLimitError", "status": 429, "retry_after": "3"})
    );
    assert_eq!(out["unknown"]["error"], "NotFoundError", "{out}");
    assert_eq!(
        out["bad"],
        json!({"error": "BadRequestError", "status": 400, "retry_after": null})
    );
    assert_eq!(
        mock.request_count(),
        1,
        "only the rate-limited call went upstream"
    );
    let wrong_key = tokio::task::spawn_blocking(move || run(&python, &url, "sk-wrong", &cases))
        .await
        .unwrap();
    assert_eq!(
        wrong_key["rate"]["error"], "AuthenticationError",
        "{wrong_key}"
    );
    assert_eq!(wrong_key["rate"]["status"], 401);
}
