//! The offline mode (`llm-gateway` with no `--config`): one model, `mock`,
//! served by the runtime's loopback mock upstream speaking Gemini's wire
//! format (whose chat, stream and embeddings paths differ, so one scripted
//! answer per path serves every route). Real HTTP and SSE end to end, no network.

use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::json;

use crate::config::{ConfigError, GatewayConfig};

/// The model name the offline mode serves.
pub const MODEL: &str = "mock";
const UPSTREAM: &str = "mock-model";

/// A config serving [`MODEL`] on a mock upstream, and the mock (keep it alive).
pub async fn config() -> Result<(GatewayConfig, MockServer), ConfigError> {
    let mock = MockServer::try_start().await.map_err(|e| {
        ConfigError::Invalid(format!("the offline mock could not bind 127.0.0.1: {e}"))
    })?;
    script(&mock);
    let yaml = format!(
        "model_list:\n  - model_name: {MODEL}\n    litellm_params:\n      model: gemini/{UPSTREAM}\n      api_base: {}/v1beta\n      api_key: offline\n      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n",
        mock.url()
    );
    let loaded = GatewayConfig::parse(&yaml, &|_| None)?;
    Ok((loaded.config, mock))
}

fn script(mock: &MockServer) {
    let base = format!("/v1beta/models/{UPSTREAM}");
    let candidate = |text: &str, finish: Option<&str>| {
        let mut c = json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
        if let Some(f) = finish {
            c["finishReason"] = json!(f);
        }
        c
    };
    let usage = json!({"promptTokenCount": 5, "candidatesTokenCount": 6, "totalTokenCount": 11});
    mock.on(
        "POST",
        &format!("{base}:generateContent"),
        MockResponse::json(
            200,
            json!({
                "candidates": [candidate("Hello from the offline mock model.", Some("STOP"))],
                "usageMetadata": usage, "modelVersion": UPSTREAM, "responseId": "offline-1",
            }),
        ),
    );
    let words = ["Hello", " from", " the", " offline", " mock", " model."];
    let events: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let finish = (i + 1 == words.len()).then_some("STOP");
            json!({"candidates": [candidate(w, finish)], "usageMetadata": usage, "modelVersion": UPSTREAM, "responseId": "offline-2"})
                .to_string()
        })
        .collect();
    mock.on(
        "POST",
        &format!("{base}:streamGenerateContent"),
        MockResponse::sse_data(events),
    );
    mock.on(
        "POST",
        &format!("{base}:batchEmbedContents"),
        MockResponse::json(200, json!({"embeddings": [{"values": [0.1, 0.2, 0.3]}]})),
    );
}
