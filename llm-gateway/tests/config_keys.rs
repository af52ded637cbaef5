//! `config.yaml`: one test per documented key (each named `key_` + its path),
//! a real LiteLLM-style config, unknown keys and wrong types, and the README's
//! table of keys.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{PATIENCE, entry, gateway, openai_answer, openai_error, openai_stream};
use llm_gateway::config::{ConfigError, GatewayConfig, KEYS};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use serde_json::{Value, json};

fn parse(yaml: &str) -> Result<llm_gateway::config::Loaded, ConfigError> {
    GatewayConfig::parse(yaml, &|v| {
        (v == "GW_TEST_KEY").then(|| "sk-from-env".to_owned())
    })
}

/// A gateway with one OpenAI-format group `m` on `mock`, plus `params` and `tail` (top-level YAML).
async fn one(mock: &MockServer, params: &str, tail: &str) -> common::Gateway {
    let yaml = format!(
        "model_list:\n{}{tail}",
        entry(
            "m",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            params
        )
    );
    gateway(&yaml).await
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

// ---- the table ----

fn test_name(path: &str) -> String {
    format!("key_{}", path.replace("[]", "").replace('.', "_"))
}

#[test]
fn every_documented_key_has_its_test() {
    let source = include_str!("config_keys.rs");
    for key in KEYS {
        let name = format!("fn {}(", test_name(key.path));
        assert!(
            source.contains(&name),
            "no test `{name}` for `{}`",
            key.path
        );
    }
}

#[test]
fn every_documented_key_loads_without_warning() {
    for key in KEYS {
        let mut doc = json!({"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o"}}]});
        let mut node = &mut doc;
        let parts: Vec<&str> = key.path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let (name, list) = match part.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (*part, false),
            };
            if last {
                node[name] = serde_json::from_str(key.example).unwrap();
            } else {
                if node.get(name).is_none() {
                    node[name] = if list { json!([{}]) } else { json!({}) };
                }
                node = if list {
                    &mut node[name][0]
                } else {
                    &mut node[name]
                };
            }
        }
        // JSON is YAML.
        let loaded = parse(&doc.to_string()).unwrap_or_else(|e| panic!("{}: {e}", key.path));
        assert!(
            loaded.warnings.is_empty(),
            "{}: {:?}",
            key.path,
            loaded.warnings
        );
    }
}

#[test]
fn readme_table_matches_the_keys() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (begin, end) = ("<!-- keys:begin -->\n", "<!-- keys:end -->");
    let start = readme.find(begin).expect("the README has the keys markers") + begin.len();
    let stop = readme
        .find(end)
        .expect("the README has the keys end marker");
    let table = llm_gateway::config::markdown_table();
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{table}{}", &readme[..start], &readme[stop..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..stop],
        table,
        "run `UPDATE_README=1 cargo test -p llm-gateway --test config_keys`"
    );
}

// ---- a real config ----

#[tokio::test]
async fn a_litellm_config_loads() {
    let mock = MockServer::start().await;
    let base = mock.url();
    let yaml = format!(
        r#"# A config as LiteLLM users write it.
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: {base}/east/v1
      api_key: os.environ/GW_TEST_KEY
      rpm: 600
    model_info:
      id: east
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-deployment
      api_base: {base}/azure
      api_key: sk-azure
      api_version: "2024-10-21"
      rpm: 300
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: {base}/anthropic
      api_key: sk-ant
      some_future_param: 1
  - model_name: "openai/*"
    litellm_params:
      model: "openai/*"
      api_key: sk-any
  - model_name: "*"
    litellm_params:
      model: "*"
router_settings:
  routing_strategy: least-busy
  num_retries: 1
  fallbacks: [{{"gpt-4o": ["claude"]}}]
  allowed_fails: 2
  cooldown_time: 10
  model_group_alias: {{"gpt4": "gpt-4o"}}
litellm_settings:
  drop_params: true
  request_timeout: 30
  success_callback: ["langfuse"]
general_settings:
  master_key: sk-master
"#
    );
    let loaded = GatewayConfig::parse(&yaml, &|v| {
        (v == "GW_TEST_KEY").then(|| "sk-from-env".into())
    })
    .unwrap();
    let warnings = loaded.warnings.join("\n");
    assert!(
        warnings.contains("line 23: unknown key `model_list.2.litellm_params.some_future_param`"),
        "{warnings}"
    );
    assert!(
        warnings.contains("line 41: unknown key `litellm_settings.success_callback`"),
        "{warnings}"
    );
    assert_eq!(loaded.warnings.len(), 2, "{warnings}");
    let c = &loaded.config;
    assert_eq!(
        c.model_list[0]
            .litellm_params
            .api_key
            .as_ref()
            .unwrap()
            .expose(),
        "sk-from-env"
    );
    let state = llm_gateway::AppState::from_config(loaded.config).unwrap();
    let m = &state.models;
    assert_eq!(m.groups["gpt-4o"].len(), 2);
    assert_eq!(m.groups["gpt-4o"][0].id, "east");
    assert_eq!(m.groups["gpt-4o"][1].provider_name, "azure_openai");
    assert!(matches!(
        m.resolve("gpt4"),
        Some(llm_gateway::models::Target::Group { name: "gpt-4o", .. })
    ));
    match m.resolve("openai/gpt-4.1") {
        Some(llm_gateway::models::Target::Wildcard(w)) => assert_eq!(w.pattern, "openai/*"),
        other => panic!("{other:?}"),
    }
    match m.resolve("groq/llama") {
        Some(llm_gateway::models::Target::Wildcard(w)) => assert_eq!(w.pattern, "*"),
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{:?}", state.config).contains("sk-from-env"),
        "secrets stay out of Debug"
    );
}

#[test]
fn a_wrong_type_is_an_error_with_its_line() {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o\n      rpm: lots\n";
    match parse(yaml) {
        Err(ConfigError::Type { line, path, .. }) => {
            assert_eq!(line, 5);
            assert_eq!(path, "model_list.0.litellm_params.rpm");
        }
        other => panic!("{other:?}"),
    }
    let yaml = "router_settings:\n  num_retries: [1]\n";
    assert!(matches!(
        parse(yaml),
        Err(ConfigError::Type { line: 2, .. })
    ));
    assert!(matches!(
        parse("model_list: [\n"),
        Err(ConfigError::Syntax { .. })
    ));
}

#[test]
fn an_unset_variable_is_a_warning_with_its_line() {
    let yaml = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/GW_NOT_SET\n";
    let loaded = parse(yaml).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].starts_with("line 5:"),
        "{}",
        loaded.warnings[0]
    );
    assert!(loaded.config.model_list[0].litellm_params.api_key.is_none());
}

// ---- model_list ----

#[tokio::test]
async fn key_model_list_model_name() {
    let mock = MockServer::start().await;
    mock.on("POST", "/a/v1/chat/completions", openai_answer("from a"));
    mock.on("POST", "/b/v1/chat/completions", openai_answer("from b"));
    let yaml = format!(
        "model_list:\n{}{}{}",
        entry(
            "dup",
            "openai/gpt-4o-mini",
            &format!("{}/a/v1", mock.url()),
            ""
        ),
        entry(
            "dup",
            "openai/gpt-4o-mini",
            &format!("{}/b/v1", mock.url()),
            ""
        ),
        entry(
            "solo",
            "openai/gpt-4o-mini",
            &format!("{}/a/v1", mock.url()),
            ""
        ),
    );
    let gw = gateway(&yaml).await;
    assert_eq!(
        gw.state.models.groups["dup"].len(),
        2,
        "duplicate names are one group"
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let r = gw.chat("dup").await;
        assert_eq!(r.status(), 200);
        seen.insert(
            r.headers()["x-litellm-model-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["dup-0", "dup-1"],
        "both deployments serve"
    );
    assert_eq!(gw.chat("nope").await.status(), 404);
}

#[tokio::test]
async fn key_model_list_litellm_params_model() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "", "").await;
    let d = &gw.state.models.groups["m"][0];
    assert_eq!(
        (d.provider_name.as_str(), d.model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(mock.requests()[0].body_json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn key_model_list_litellm_params_api_base() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/messages",
        MockResponse::text(
            200,
            "application/json",
            common::fixture("anthropic", "text.json"),
        ),
    );
    mock.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        MockResponse::text(
            200,
            "application/json",
            common::fixture("gemini", "text.json"),
        ),
    );
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    // Anthropic's api_base is the host; Gemini's ends in /v1beta; OpenAI's has /v1.
    let yaml = format!(
        "model_list:\n{}{}{}",
        entry("claude", "anthropic/claude-sonnet-4-5", &mock.url(), ""),
        entry(
            "gem",
            "gemini/gemini-2.5-flash",
            &format!("{}/v1beta", mock.url()),
            ""
        ),
        entry(
            "gpt",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            ""
        ),
    );
    let gw = gateway(&yaml).await;
    for model in ["claude", "gem", "gpt"] {
        assert_eq!(gw.chat(model).await.status(), 200, "{model}");
    }
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/messages",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "/v1/chat/completions"
        ]
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_api_key() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "", "").await;
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(
        mock.requests()[0].header("authorization"),
        Some("Bearer sk-test")
    );
    let info = gw.get("/v1/model/info").await.text().await.unwrap();
    assert!(!info.contains("sk-test"), "the key is never shown: {info}");
}

#[tokio::test]
async fn key_model_list_litellm_params_api_version() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/openai/deployments/my-dep/chat/completions",
        openai_answer("hi"),
    );
    let yaml = format!(
        "model_list:\n{}",
        entry(
            "az",
            "azure/my-dep",
            &mock.url(),
            "      api_version: \"2025-01-01-preview\"\n"
        )
    );
    let gw = gateway(&yaml).await;
    assert_eq!(gw.chat("az").await.status(), 200);
    let sent = &mock.requests()[0];
    assert_eq!(sent.query_param("api-version"), Some("2025-01-01-preview"));
    assert_eq!(sent.header("api-key"), Some("sk-test"));
}

async fn weights(params_a: &str, params_b: &str) -> Vec<u64> {
    let yaml = format!(
        "model_list:\n{}{}",
        entry("w", "openai/gpt-4o-mini", "http://127.0.0.1:9/v1", params_a),
        entry("w", "openai/gpt-4o-mini", "http://127.0.0.1:9/v1", params_b),
    );
    let gw = gateway(&yaml).await;
    gw.state.models.groups["w"]
        .iter()
        .map(|d| d.weight)
        .collect()
}

#[tokio::test]
async fn key_model_list_litellm_params_rpm() {
    assert_eq!(
        weights("      rpm: 600\n", "      rpm: 200\n").await,
        [600, 200]
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_tpm() {
    assert_eq!(
        weights("      tpm: 9000\n", "      tpm: 1000\n").await,
        [9000, 1000]
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_weight() {
    assert_eq!(
        weights("      weight: 3\n      rpm: 600\n", "").await,
        [3, 1]
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_timeout() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_answer("late").delay(Duration::from_secs(30)),
    );
    let gw = one(&mock, "      timeout: 0.2\n", "").await;
    let r = gw.chat("m").await;
    assert_eq!(r.status(), 408);
    assert_eq!(json_of(r).await["error"]["type"], "timeout_error");
}

#[tokio::test]
async fn key_model_list_litellm_params_stream_timeout() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["a", "b", "c"]).chunk_delay(Duration::from_millis(400)),
    );
    let gw = one(&mock, "      stream_timeout: 0.5\n", "").await;
    let r = gw
        .post(
            "/v1/chat/completions",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains(r#"data: {"error":"#), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
}

#[tokio::test]
async fn key_model_list_litellm_params_max_retries() {
    let mock = MockServer::start().await;
    mock.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![openai_error(500, "boom"), openai_answer("ok")],
    );
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {}/v1\n      api_key: k\n      max_retries: 1\n",
        mock.url()
    );
    let gw = gateway(&yaml).await;
    let r = gw.chat("m").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-retries"], "1");
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn key_model_list_litellm_params_extra_headers() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "      extra_headers: {x-team: search}\n", "").await;
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(mock.requests()[0].header("x-team"), Some("search"));
}

#[tokio::test]
async fn key_model_list_litellm_params_input_cost_per_token() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "      input_cost_per_token: 0.5\n", "").await;
    let r = gw.chat("m").await;
    // 10 prompt tokens at 0.5.
    assert_eq!(r.headers()["x-litellm-response-cost"], "5.0000000000");
}

#[tokio::test]
async fn key_model_list_litellm_params_output_cost_per_token() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "      output_cost_per_token: 0.25\n", "").await;
    let r = gw.chat("m").await;
    // 5 completion tokens at 0.25.
    assert_eq!(r.headers()["x-litellm-response-cost"], "1.2500000000");
}

async fn bedrock_sent(params: &str) -> llm_runtime::testing::RecordedRequest {
    let mock = MockServer::start().await;
    mock.fallback(MockResponse::text(
        200,
        "application/json",
        common::fixture("bedrock", "text.json"),
    ));
    let yaml = format!(
        "model_list:\n  - model_name: b\n    litellm_params:\n      model: bedrock/anthropic.claude-3-5-haiku-20241022-v1:0\n      api_base: {}\n      max_retries: 0\n{params}",
        mock.url()
    );
    let gw = gateway(&yaml).await;
    let r = gw.chat("b").await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    mock.requests().remove(0)
}

const AWS_KEYS: &str =
    "      aws_access_key_id: AKIDGATEWAYTEST\n      aws_secret_access_key: gw-secret\n";

#[tokio::test]
async fn key_model_list_litellm_params_aws_access_key_id() {
    let sent = bedrock_sent(&format!("{AWS_KEYS}      aws_region_name: eu-west-1\n")).await;
    let auth = sent.header("authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDGATEWAYTEST/"),
        "{auth}"
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_aws_secret_access_key() {
    let sent = bedrock_sent(&format!("{AWS_KEYS}      aws_region_name: eu-west-1\n")).await;
    let auth = sent.header("authorization").unwrap();
    assert!(auth.contains("Signature="), "{auth}");
    assert!(
        !auth.contains("gw-secret"),
        "the secret signs, it is never sent"
    );
}

#[tokio::test]
async fn key_model_list_litellm_params_aws_session_token() {
    let sent = bedrock_sent(&format!(
        "{AWS_KEYS}      aws_session_token: gw-session\n      aws_region_name: eu-west-1\n"
    ))
    .await;
    assert_eq!(sent.header("x-amz-security-token"), Some("gw-session"));
}

#[tokio::test]
async fn key_model_list_litellm_params_aws_region_name() {
    let sent = bedrock_sent(&format!("{AWS_KEYS}      aws_region_name: ap-south-1\n")).await;
    let auth = sent.header("authorization").unwrap();
    assert!(auth.contains("/ap-south-1/bedrock/aws4_request"), "{auth}");
}

fn vertex_base(params: &str) -> String {
    let yaml = format!(
        "model_list:\n  - model_name: v\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n      api_key: ya29.token\n{params}"
    );
    let loaded = parse(&yaml).unwrap();
    let state = llm_gateway::AppState::from_config(loaded.config).unwrap();
    state.models.groups["v"][0]
        .provider
        .info()
        .base_url
        .to_owned()
}

#[test]
fn key_model_list_litellm_params_vertex_project() {
    let base = vertex_base("      vertex_project: proj-1\n      vertex_location: us-central1\n");
    assert!(base.contains("/projects/proj-1/"), "{base}");
}

#[test]
fn key_model_list_litellm_params_vertex_location() {
    let base = vertex_base("      vertex_project: proj-1\n      vertex_location: europe-west4\n");
    assert!(
        base.starts_with("https://europe-west4-aiplatform.googleapis.com/"),
        "{base}"
    );
}

#[test]
fn key_model_list_litellm_params_vertex_credentials() {
    let creds = r#"{"type": "authorized_user", "client_id": "id", "client_secret": "s", "refresh_token": "r"}"#;
    let yaml = format!(
        "model_list:\n  - model_name: v\n    litellm_params:\n      model: vertex_ai/gemini-2.5-flash\n      vertex_project: p\n      vertex_location: us-central1\n      vertex_credentials: '{creds}'\n"
    );
    let state = llm_gateway::AppState::from_config(parse(&yaml).unwrap().config).unwrap();
    assert_eq!(state.models.groups["v"][0].provider_name, "vertex_gemini");
    let bad = yaml.replace("authorized_user", "nonsense");
    let err = llm_gateway::AppState::from_config(parse(&bad).unwrap().config).unwrap_err();
    assert!(err.to_string().contains("model_list[0]"), "{err}");
}

#[tokio::test]
async fn key_model_list_model_info_id() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "    model_info:\n      id: east-1\n", "").await;
    assert_eq!(gw.chat("m").await.headers()["x-litellm-model-id"], "east-1");
}

#[tokio::test]
async fn key_model_list_model_info_mode() {
    let mock = MockServer::start().await;
    let gw = one(&mock, "    model_info:\n      mode: embedding\n", "").await;
    let info = json_of(gw.get("/v1/model/info").await).await;
    assert_eq!(info["data"][0]["model_info"]["mode"], "embedding");
}

#[tokio::test]
async fn key_model_list_model_info_base_model() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let yaml = format!(
        "model_list:\n{}",
        entry(
            "m",
            "openai/my-finetune",
            &format!("{}/v1", mock.url()),
            "    model_info:\n      base_model: openai/gpt-4o-mini\n"
        )
    );
    let gw = gateway(&yaml).await;
    let r = gw.chat("m").await;
    assert!(
        r.headers().contains_key("x-litellm-response-cost"),
        "priced as gpt-4o-mini"
    );
}

#[tokio::test]
async fn key_model_list_model_info_input_cost_per_token() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(
        &mock,
        "    model_info:\n      input_cost_per_token: 1.0\n",
        "",
    )
    .await;
    assert_eq!(
        gw.chat("m").await.headers()["x-litellm-response-cost"],
        "10.0000000000"
    );
}

#[tokio::test]
async fn key_model_list_model_info_output_cost_per_token() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(
        &mock,
        "    model_info:\n      output_cost_per_token: 1.0\n",
        "",
    )
    .await;
    assert_eq!(
        gw.chat("m").await.headers()["x-litellm-response-cost"],
        "5.0000000000"
    );
}

#[tokio::test]
async fn key_model_list_model_info_max_input_tokens() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "    model_info:\n      max_input_tokens: 50\n", "").await;
    let r = gw
        .post("/v1/chat/completions", json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_of(r).await["error"]["code"], "context_length_exceeded");
    assert_eq!(mock.request_count(), 0, "refused before dispatch");
}

#[tokio::test]
async fn key_model_list_model_info_max_output_tokens() {
    let mock = MockServer::start().await;
    let gw = one(
        &mock,
        "    model_info:\n      max_output_tokens: 4096\n",
        "",
    )
    .await;
    let info = json_of(gw.get("/v1/model/info").await).await;
    assert_eq!(info["data"][0]["model_info"]["max_output_tokens"], 4096);
}

// ---- router_settings ----

#[tokio::test]
async fn key_router_settings_routing_strategy() {
    for (name, runtime) in [
        ("simple-shuffle", "weighted-random"),
        ("least-busy", "least-busy"),
        ("latency-based-routing", "lowest-latency"),
        ("usage-based-routing", "usage-aware"),
        ("usage-based-routing-v2", "usage-aware"),
        ("cost-based-routing", "lowest-cost"),
    ] {
        let mock = MockServer::start().await;
        mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
        let gw = one(
            &mock,
            "",
            &format!("router_settings:\n  routing_strategy: {name}\n"),
        )
        .await;
        let reply = gw
            .state
            .models
            .client
            .chat("m", llm_runtime::ChatRequest::new("").user("x"))
            .await
            .unwrap();
        assert_eq!(reply.meta.routing.unwrap().strategy, runtime, "{name}");
    }
    let yaml = "router_settings:\n  routing_strategy: fastest\n";
    let err = llm_gateway::AppState::from_config(parse(yaml).unwrap().config).unwrap_err();
    assert!(err.to_string().contains("`fastest` is not one of"), "{err}");
}

#[tokio::test]
async fn key_router_settings_num_retries() {
    let mock = MockServer::start().await;
    mock.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            openai_error(500, "a"),
            openai_error(500, "b"),
            openai_answer("ok"),
        ],
    );
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {}/v1\n      api_key: k\nrouter_settings:\n  num_retries: 2\n",
        mock.url()
    );
    let gw = gateway(&yaml).await;
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(mock.request_count(), 3);
}

async fn fallback_pair(mock: &MockServer, key: &str, section: &str) -> common::Gateway {
    let yaml = format!(
        "model_list:\n{}{}{section}:\n  {key}: [{{\"a\": [\"b\"]}}]\n",
        entry(
            "a",
            "openai/gpt-4o-mini",
            &format!("{}/a/v1", mock.url()),
            "    model_info:\n      max_input_tokens: 50\n"
        ),
        entry(
            "b",
            "openai/gpt-4o-mini",
            &format!("{}/b/v1", mock.url()),
            ""
        ),
    );
    gateway(&yaml).await
}

async fn generic_fallback(section: &str) {
    let mock = MockServer::start().await;
    mock.on("POST", "/a/v1/chat/completions", openai_error(503, "down"));
    mock.on("POST", "/b/v1/chat/completions", openai_answer("from b"));
    let gw = fallback_pair(&mock, "fallbacks", section).await;
    let r = gw.chat("a").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-attempted-fallbacks"], "1");
    assert_eq!(r.headers()["x-litellm-model-id"], "b-0");
}

async fn context_fallback(section: &str) {
    let mock = MockServer::start().await;
    mock.on("POST", "/b/v1/chat/completions", openai_answer("from b"));
    let gw = fallback_pair(&mock, "context_window_fallbacks", section).await;
    let r = gw
        .post("/v1/chat/completions", json!({"model": "a", "max_tokens": 100, "messages": [{"role": "user", "content": "x"}]}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "b-0");
    assert_eq!(mock.requests()[0].path, "/b/v1/chat/completions");
}

async fn content_fallback(section: &str) {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/a/v1/chat/completions",
        MockResponse::json(400, json!({"error": {"message": "refused", "type": "invalid_request_error", "code": "content_filter"}})),
    );
    mock.on("POST", "/b/v1/chat/completions", openai_answer("from b"));
    let gw = fallback_pair(&mock, "content_policy_fallbacks", section).await;
    let r = gw.chat("a").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-id"], "b-0");
}

#[tokio::test]
async fn key_router_settings_fallbacks() {
    generic_fallback("router_settings").await;
}

#[tokio::test]
async fn key_router_settings_context_window_fallbacks() {
    context_fallback("router_settings").await;
}

#[tokio::test]
async fn key_router_settings_content_policy_fallbacks() {
    content_fallback("router_settings").await;
}

#[tokio::test]
async fn key_litellm_settings_fallbacks() {
    generic_fallback("litellm_settings").await;
}

#[tokio::test]
async fn key_litellm_settings_context_window_fallbacks() {
    context_fallback("litellm_settings").await;
}

#[tokio::test]
async fn key_litellm_settings_content_policy_fallbacks() {
    content_fallback("litellm_settings").await;
}

/// Two deployments, `cheap` always first (cost-based routing), failing.
async fn cooling(router: &str) -> (MockServer, common::Gateway) {
    let (mock, yaml) = common::cheap_deployment_failing().await;
    (mock, gateway(&format!("{yaml}{router}")).await)
}

fn cheap_calls(mock: &MockServer) -> usize {
    mock.requests()
        .iter()
        .filter(|r| r.path.starts_with("/cheap"))
        .count()
}

#[tokio::test]
async fn key_router_settings_allowed_fails() {
    let (mock, gw) = cooling("  allowed_fails: 0\n  cooldown_time: 60\n").await;
    for _ in 0..3 {
        assert_eq!(gw.chat("g").await.status(), 200);
    }
    assert_eq!(cheap_calls(&mock), 1, "cooled after its first failure");
    let (mock, gw) = cooling("  allowed_fails: 5\n  cooldown_time: 60\n").await;
    for _ in 0..3 {
        assert_eq!(gw.chat("g").await.status(), 200);
    }
    assert_eq!(cheap_calls(&mock), 3, "still within its allowed failures");
}

#[tokio::test]
async fn key_router_settings_cooldown_time() {
    let (mock, gw) = cooling("  allowed_fails: 0\n  cooldown_time: 0.05\n").await;
    assert_eq!(gw.chat("g").await.status(), 200);
    // Past the cooldown the cheap deployment is probed again.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while cheap_calls(&mock) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(gw.chat("g").await.status(), 200);
    }
    assert_eq!(cheap_calls(&mock), 2);
}

#[tokio::test]
async fn key_router_settings_model_group_alias() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(
        &mock,
        "",
        "router_settings:\n  model_group_alias: {gpt4: m, secret: {model: m, hidden: true}}\n",
    )
    .await;
    assert_eq!(gw.chat("gpt4").await.status(), 200);
    assert_eq!(gw.chat("secret").await.status(), 200);
    let list = json_of(gw.get("/v1/models").await).await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gpt4", "m"]);
}

/// A Redis server on a free loopback port, stopped when dropped.
struct Redis(std::process::Child, u16);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis(password: Option<&str>) -> Option<Redis> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let mut cmd = std::process::Command::new("redis-server");
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]);
    if let Some(p) = password {
        cmd.args(["--requirepass", p]);
    }
    let child = cmd.stdout(std::process::Stdio::null()).spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("redis-server: {e}"),
        Err(e) => {
            eprintln!("skipped: redis-server cannot start: {e}");
            return None;
        }
    };
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Redis(child, port))
}

async fn redis_limited(redis: &Redis, password: &str) -> (MockServer, common::Gateway) {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let yaml = format!(
        "model_list:\n{}router_settings:\n  routing_strategy: usage-based-routing\n  redis_host: 127.0.0.1\n  redis_port: {}\n{password}",
        entry(
            "m",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            "      rpm: 1\n"
        ),
        redis.1
    );
    (mock, gateway(&yaml).await)
}

#[tokio::test]
async fn key_router_settings_redis_host() {
    let Some(redis) = redis(None) else { return };
    let (mock, gw) = redis_limited(&redis, "").await;
    assert_eq!(gw.chat("m").await.status(), 200);
    // A second gateway shares the limit through Redis: rpm 1 is used up.
    let (_, gw2) = redis_limited(&redis, "").await;
    assert_eq!(gw2.chat("m").await.status(), 429);
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn key_router_settings_redis_port() {
    let Some(redis) = redis(None) else { return };
    let (_mock, gw) = redis_limited(&redis, "").await;
    let r = gw.chat("m").await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(
        gw.chat("m").await.status(),
        429,
        "the limit is counted in the Redis on that port"
    );
}

#[tokio::test]
async fn key_router_settings_redis_password() {
    let Some(redis) = redis(Some("gw-pass")) else {
        return;
    };
    let (_mock, gw) = redis_limited(&redis, "  redis_password: gw-pass\n").await;
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(
        gw.chat("m").await.status(),
        429,
        "authenticated: the limit is shared state"
    );
}

#[tokio::test]
async fn key_router_settings_timeout() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_answer("late").delay(Duration::from_secs(30)),
    );
    let gw = one(&mock, "", "router_settings:\n  timeout: 0.2\n").await;
    assert_eq!(gw.chat("m").await.status(), 408);
}

// ---- litellm_settings ----

#[tokio::test]
async fn key_litellm_settings_drop_params() {
    let body = json!({"model": "m", "logit_bias": {"1": 1}, "seed": 3, "messages": [{"role": "user", "content": "x"}]});
    for (drop, status) in [("false", 400), ("true", 200)] {
        let mock = MockServer::start().await;
        mock.on(
            "POST",
            "/v1/messages",
            MockResponse::text(
                200,
                "application/json",
                common::fixture("anthropic", "text.json"),
            ),
        );
        let yaml = format!(
            "model_list:\n{}litellm_settings:\n  drop_params: {drop}\n",
            entry("m", "anthropic/claude-sonnet-4-5", &mock.url(), "")
        );
        let gw = gateway(&yaml).await;
        let r = gw.post("/v1/chat/completions", body.clone()).await;
        assert_eq!(r.status(), status, "drop_params: {drop}");
    }
}

#[tokio::test]
async fn key_litellm_settings_num_retries() {
    let mock = MockServer::start().await;
    mock.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![openai_error(500, "a"), openai_answer("ok")],
    );
    let yaml = format!(
        "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: {}/v1\n      api_key: k\nlitellm_settings:\n  num_retries: 1\n",
        mock.url()
    );
    let gw = gateway(&yaml).await;
    assert_eq!(gw.chat("m").await.status(), 200);
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn key_litellm_settings_request_timeout() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_answer("late").delay(Duration::from_secs(30)),
    );
    let gw = one(&mock, "", "litellm_settings:\n  request_timeout: 0.2\n").await;
    assert_eq!(gw.chat("m").await.status(), 408);
}

#[tokio::test]
async fn key_litellm_settings_callbacks() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    // `prometheus`: LiteLLM's metric names (tests/observability.rs checks each sample).
    let gw = one(
        &mock,
        "",
        "litellm_settings:\n  callbacks: [\"prometheus\"]\n",
    )
    .await;
    assert_eq!(gw.chat("m").await.status(), 200);
    let text = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"litellm_proxy_total_requests_metric_total{requested_model="m",status_code="200",route="chat_completions"} 1"#),
        "{text}"
    );
    assert!(!text.contains("llm_gateway_"), "{text}");
    // `otel`: export on, to LiteLLM's `OTEL_ENDPOINT` or the default collector.
    let with = |callbacks: &str| {
        parse(&format!(
            "model_list: []\nlitellm_settings:\n  callbacks: {callbacks}\n"
        ))
        .unwrap()
    };
    let loaded = with(r#"["otel"]"#);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    #[cfg(feature = "otel")]
    {
        let settings = llm_gateway::telemetry::otel::Settings::from_env(&loaded.config, &|_| None);
        assert_eq!(
            settings.and_then(|s| s.endpoint).as_deref(),
            Some("http://localhost:4318/v1/traces")
        );
    }
    // Any other callback is a warning naming its line, not a silent no-op.
    let loaded = with("\n    - prometheus\n    - langfuse");
    assert_eq!(
        loaded.warnings,
        vec![
            "line 5: callback `langfuse` is not supported and is ignored (supported: prometheus, otel)"
                .to_owned()
        ]
    );
    assert!(matches!(
        parse("litellm_settings:\n  callbacks: prometheus\n"),
        Err(ConfigError::Type { line: 2, .. })
    ));
}

// ---- general_settings ----

#[tokio::test]
async fn key_general_settings_master_key() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let gw = one(&mock, "", "general_settings:\n  master_key: sk-master\n").await;
    let url = format!("{}/v1/chat/completions", gw.url());
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let r = common::http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(json_of(r).await["error"]["type"], "authentication_error");
    let r = common::http()
        .post(&url)
        .bearer_auth("sk-wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = common::http()
        .post(&url)
        .bearer_auth("sk-master")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        gw.get("/health/readiness").await.status(),
        200,
        "health needs no key"
    );
    assert_eq!(mock.request_count(), 1);
}

#[tokio::test]
async fn key_general_settings_database_url() {
    let mock = MockServer::start().await;
    let gw = one(
        &mock,
        "",
        "general_settings:\n  database_url: sqlite://gw.db\n",
    )
    .await;
    assert_eq!(
        gw.state
            .config
            .general_settings
            .database_url
            .as_ref()
            .unwrap()
            .expose(),
        "sqlite://gw.db"
    );
    assert_eq!(
        json_of(gw.get("/health/readiness").await).await["db"],
        "configured"
    );
}

#[tokio::test]
async fn key_general_settings_max_request_size_mb() {
    let mock = MockServer::start().await;
    let gw = one(
        &mock,
        "",
        "general_settings:\n  max_request_size_mb: 0.001\n",
    )
    .await;
    let big = "x".repeat(4096);
    let r = gw
        .post(
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": big}]}),
        )
        .await;
    assert_eq!(r.status(), 413);
    assert_eq!(json_of(r).await["error"]["code"], "request_too_large");
    assert_eq!(mock.request_count(), 0);
}

#[tokio::test]
async fn key_general_settings_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = MockServer::start().await;
    let gw = one(&mock, "", "general_settings:\n  header_timeout: 0.2\n").await;
    let mut tcp = tokio::net::TcpStream::connect(gw.running.addr)
        .await
        .unwrap();
    tcp.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    // The server closes the connection whose headers never end.
    let read = tokio::time::timeout(PATIENCE, tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was not closed");
}

#[tokio::test]
async fn key_general_settings_graceful_shutdown_timeout() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/chat/completions",
        openai_stream(&["a", "b"]).with_fault(Fault::StallAfterChunks(1)),
    );
    let gw = one(
        &mock,
        "",
        "general_settings:\n  graceful_shutdown_timeout: 0.2\n",
    )
    .await;
    let r = gw
        .post(
            "/v1/chat/completions",
            json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    // A stream that never ends is cut at the deadline: shutdown returns.
    let done = tokio::time::timeout(PATIENCE, gw.running.shutdown()).await;
    assert!(done.is_ok(), "shutdown waited past its deadline");
    drop(r);
}

// ---- governance (llm-gateway's own keys) ----

/// A gateway with governance on: master key `sk-master`, the store a SQLite
/// file in `dir`, one group `m` of the unpriced model `openai/house-model`.
async fn governed(
    mock: &MockServer,
    dir: &std::path::Path,
    general: &str,
    tail: &str,
) -> common::Gateway {
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: sk-master\n  database_url: sqlite://{}\n{general}{tail}",
        entry("m", "openai/house-model", &format!("{}/v1", mock.url()), ""),
        dir.join("gw.db").display()
    );
    let loaded = GatewayConfig::parse(&yaml, &|_| None).unwrap();
    let state = llm_gateway::state::AppState::from_config(loaded.config).unwrap();
    let gov = llm_gateway::governance::wire::start(&state)
        .await
        .unwrap()
        .unwrap();
    let _ = state.governance.set(gov);
    let running = llm_gateway::server::spawn(
        state.clone(),
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    common::Gateway {
        running,
        state,
        warnings: loaded.warnings,
    }
}

/// A fresh directory, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "llm-gateway-keys-{tag}-{}-{}",
            std::process::id(),
            u64::from_le_bytes(b)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A virtual key made with `limits` (the `/key/generate` body).
async fn virtual_key(gw: &common::Gateway, limits: Value) -> String {
    let r = common::http()
        .post(format!("{}/key/generate", gw.url()))
        .bearer_auth("sk-master")
        .json(&limits)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json_of(r).await["key"].as_str().unwrap().to_owned()
}

async fn chat_as(gw: &common::Gateway, key: &str) -> reqwest::Response {
    common::http()
        .post(format!("{}/v1/chat/completions", gw.url()))
        .bearer_auth(key)
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn key_general_settings_unpriced_models() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    // The default: a budgeted key may not call a model without a price.
    let dir = TempDir::new("reject");
    let gw = governed(&mock, &dir.0, "", "").await;
    let key = virtual_key(&gw, json!({"max_budget": 1.0})).await;
    let r = chat_as(&gw, &key).await;
    assert_eq!(r.status(), 400);
    assert_eq!(json_of(r).await["error"]["code"], "unpriced_model");
    assert_eq!(mock.request_count(), 0);

    // `allow`: served, and its spend log row says it was not priced.
    let dir = TempDir::new("allow");
    let gw = governed(&mock, &dir.0, "  unpriced_models: allow\n", "").await;
    let key = virtual_key(&gw, json!({"max_budget": 1.0})).await;
    assert_eq!(chat_as(&gw, &key).await.status(), 200);
    gw.state.governance.get().unwrap().flush_spend().await;
    let logs = common::http()
        .get(format!("{}/spend/logs", gw.url()))
        .bearer_auth("sk-master")
        .send()
        .await
        .unwrap();
    let logs = json_of(logs).await;
    let rows = logs.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{logs}");
    assert_eq!(rows[0]["unpriced"], true);
    assert_eq!(rows[0]["prompt_tokens"], 10);
    assert_eq!(rows[0]["completion_tokens"], 5);

    // Any other value is an error with its line.
    let e = parse("general_settings:\n  unpriced_models: free\n").unwrap_err();
    assert!(e.to_string().starts_with("line 2: "), "{e}");
}

#[tokio::test]
async fn key_general_settings_redis_fail_open() {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    // Redis at a port where nothing listens: it never answers.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = format!("router_settings:\n  redis_host: 127.0.0.1\n  redis_port: {port}\n");
    let general = "  unpriced_models: allow\n  redis_fail_open:\n    rpm_limit: false\n";
    let dir = TempDir::new("closed");
    let gw = governed(&mock, &dir.0, general, &redis).await;
    let limited = virtual_key(&gw, json!({"rpm_limit": 100})).await;
    let r = chat_as(&gw, &limited).await;
    assert_eq!(r.status(), 503);
    assert_eq!(json_of(r).await["error"]["code"], "limits_unavailable");
    // A budget still fails open (its kind was not closed).
    let budgeted = virtual_key(&gw, json!({"max_budget": 1.0})).await;
    assert_eq!(chat_as(&gw, &budgeted).await.status(), 200);

    // Unset, every kind fails open.
    let dir = TempDir::new("open");
    let gw = governed(&mock, &dir.0, "  unpriced_models: allow\n", &redis).await;
    let limited = virtual_key(&gw, json!({"rpm_limit": 100})).await;
    assert_eq!(chat_as(&gw, &limited).await.status(), 200);
    assert_eq!(mock.request_count(), 2);
}
