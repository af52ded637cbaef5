//! Helpers of the gateway's tests: a gateway on a free loopback port built
//! from a YAML config, upstream mocks in each provider's format, and the
//! Python with the official SDKs.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use llm_gateway::config::GatewayConfig;
use llm_gateway::server::{self, Running};
use llm_gateway::state::{AppState, SharedState};
use llm_runtime::testing::MockResponse;
use serde_json::{Value, json};

/// A bound for waits that take milliseconds when the code is right.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// A gateway serving `yaml` in this process on `127.0.0.1:0`.
pub(crate) struct Gateway {
    /// The server.
    pub(crate) running: Running,
    /// Its state.
    pub(crate) state: SharedState,
    /// The config's warnings.
    pub(crate) warnings: Vec<String>,
}

impl Gateway {
    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        self.running.url()
    }

    /// POST `body` to `path`.
    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        http()
            .post(format!("{}{path}", self.url()))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// GET `path`.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        http()
            .get(format!("{}{path}", self.url()))
            .send()
            .await
            .unwrap()
    }

    /// A one-message chat completion to `model`.
    pub(crate) async fn chat(&self, model: &str) -> reqwest::Response {
        self.post(
            "/v1/chat/completions",
            json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await
    }
}

/// Start a gateway for `yaml` (variables from the process environment).
pub(crate) async fn gateway(yaml: &str) -> Gateway {
    let loaded = GatewayConfig::parse(yaml, &|v| std::env::var(v).ok()).unwrap();
    let state = AppState::from_config(loaded.config).unwrap();
    let running = server::spawn(state.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    Gateway {
        running,
        state,
        warnings: loaded.warnings,
    }
}

/// A reqwest client that never uses a proxy.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A mock where `/cheap` always answers 500 and `/dear` answers, and the
/// config of a group `g` over both under cost-based routing (`g-0`, cheap,
/// tried first: the catalog prices gpt-4o-mini below gpt-4o), ending inside
/// `router_settings:` for the caller's keys.
pub(crate) async fn cheap_deployment_failing() -> (llm_runtime::testing::MockServer, String) {
    let mock = llm_runtime::testing::MockServer::start().await;
    mock.on(
        "POST",
        "/cheap/v1/chat/completions",
        openai_error(500, "down"),
    );
    mock.on("POST", "/dear/v1/chat/completions", openai_answer("ok"));
    let yaml = format!(
        "model_list:\n{}{}router_settings:\n  routing_strategy: cost-based-routing\n",
        entry(
            "g",
            "openai/gpt-4o-mini",
            &format!("{}/cheap/v1", mock.url()),
            ""
        ),
        entry("g", "openai/gpt-4o", &format!("{}/dear/v1", mock.url()), ""),
    );
    (mock, yaml)
}

/// A `model_list` entry named `name` for `model` at `api_base`, plus `params` (YAML lines, 6 spaces in).
pub(crate) fn entry(name: &str, model: &str, api_base: &str, params: &str) -> String {
    format!(
        "  - model_name: {name}\n    litellm_params:\n      model: {model}\n      api_base: {api_base}\n      api_key: sk-test\n      max_retries: 0\n{params}"
    )
}

/// An OpenAI chat completion answering `text`.
pub(crate) fn openai_answer(text: &str) -> MockResponse {
    MockResponse::json(
        200,
        json!({
            "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }),
    )
}

/// An OpenAI error answer.
pub(crate) fn openai_error(status: u16, message: &str) -> MockResponse {
    MockResponse::json(
        status,
        json!({"error": {"message": message, "type": "server_error", "code": null}}),
    )
}

/// An OpenAI stream of `texts`, then a finish chunk and `[DONE]`.
pub(crate) fn openai_stream(texts: &[&str]) -> MockResponse {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    let mut events: Vec<String> = texts
        .iter()
        .map(|t| chunk(json!({"content": t}), Value::Null))
        .collect();
    events.push(chunk(json!({}), json!("stop")));
    events.push(
        json!({"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
               "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
        .to_string(),
    );
    events.push("[DONE]".into());
    MockResponse::sse_data(events)
}

/// A fixture of the runtime's conformance suites (`tests/fixtures/DIALECT/NAME`).
pub(crate) fn fixture(dialect: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(dialect)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The Python with the official SDKs, shared with the `tests` package.
#[path = "../../../tests/tests/common/sdk_python.rs"]
pub(crate) mod sdk_python;

/// The SDK's Python with `openai`, or `None` after printing why the test is
/// skipped (under `CI=true` a missing SDK fails instead).
pub(crate) fn python_or_skip(test: &str) -> Option<PathBuf> {
    sdk_python::python_or_skip(test, "openai")
}
