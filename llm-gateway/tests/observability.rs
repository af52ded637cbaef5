//! `/metrics` under both namings (the gateway's `llm_gateway_*` and
//! LiteLLM's `litellm_*` with `callbacks: ["prometheus"]`), checked sample
//! by sample after known calls; and the OTLP export of the spans
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`) to a loopback collector.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{entry, gateway, openai_answer, openai_error, openai_stream};
use llm_runtime::testing::MockServer;
use serde_json::json;

/// The exposition text as `name{labels}` → value, and the family names.
fn samples(text: &str) -> (BTreeMap<String, f64>, BTreeSet<String>) {
    let mut values = BTreeMap::new();
    let mut families = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            families.insert(rest.split(' ').next().unwrap().to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let (key, value) = line.rsplit_once(' ').unwrap();
            values.insert(key.to_owned(), value.parse::<f64>().unwrap());
        }
    }
    (values, families)
}

/// Prompt and completion tokens of every mock answer (`common::openai_answer`).
const PROMPT: u32 = 10;
const COMPLETION: u32 = 5;
const INPUT_COST: f64 = 0.001;
const OUTPUT_COST: f64 = 0.002;

/// A gateway with a priced group `m` and a group `limited` answering 429,
/// after `ok` chats to `m`, one stream to `m`, `unknown` chats to names the
/// config does not serve, and one chat to `limited`. Returns `/metrics`.
async fn scrape_after_calls(tail: &str, ok: usize, unknown: usize) -> String {
    let mock = MockServer::start().await;
    mock.on("POST", "/v1/chat/completions", openai_answer("hi"));
    let limited = MockServer::start().await;
    limited.on(
        "POST",
        "/v1/chat/completions",
        openai_error(429, "slow down"),
    );
    let streamed = MockServer::start().await;
    streamed.on("POST", "/v1/chat/completions", openai_stream(&["a", "b"]));
    let priced = format!(
        "      input_cost_per_token: {INPUT_COST}\n      output_cost_per_token: {OUTPUT_COST}\n"
    );
    let yaml = format!(
        "model_list:\n{}{}{}{tail}",
        entry(
            "m",
            "openai/gpt-4o-mini",
            &format!("{}/v1", mock.url()),
            &priced
        ),
        entry(
            "s",
            "openai/gpt-4o-mini",
            &format!("{}/v1", streamed.url()),
            &priced
        ),
        entry(
            "limited",
            "openai/gpt-4o",
            &format!("{}/v1", limited.url()),
            ""
        ),
    );
    let gw = gateway(&yaml).await;
    for _ in 0..ok {
        assert_eq!(gw.chat("m").await.status(), 200);
    }
    for i in 0..unknown {
        assert_eq!(gw.chat(&format!("unknown-{i}")).await.status(), 404);
    }
    assert_eq!(gw.chat("limited").await.status(), 429);
    let r = gw
        .post(
            "/v1/chat/completions",
            json!({"model": "s", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let _ = r.text().await.unwrap();
    let text = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        !text.contains("unknown-"),
        "caller-chosen names never become labels"
    );
    text
}

/// The cost of `calls` answers, summed in the order the gateway sums them.
fn spend(calls: usize) -> f64 {
    let one = f64::from(PROMPT) * INPUT_COST + f64::from(COMPLETION) * OUTPUT_COST;
    (0..calls).fold(0.0, |sum, _| sum + one)
}

fn assert_samples(values: &BTreeMap<String, f64>, expected: &[(String, f64)]) {
    for (key, value) in expected {
        assert_eq!(values.get(key), Some(value), "{key} in {values:#?}");
    }
}

#[tokio::test]
async fn the_gateways_own_names_by_default() {
    let (ok, unknown) = (3, 2);
    let text = scrape_after_calls("", ok, unknown).await;
    let (values, families) = samples(&text);
    let names: BTreeSet<String> = [
        "llm_gateway_requests",
        "llm_gateway_request_duration_seconds",
        "llm_gateway_time_to_first_token_seconds",
        "llm_gateway_tokens",
        "llm_gateway_cost_usd",
        "llm_gateway_in_flight_requests",
        "llm_gateway_deployment_state",
    ]
    .map(String::from)
    .into();
    assert_eq!(families, names);
    let req = |group: &str, status: u16| {
        format!(
            r#"llm_gateway_requests_total{{route="chat_completions",model_group="{group}",status="{status}"}}"#
        )
    };
    let tokens = |group: &str, kind: &str| {
        format!(
            r#"llm_gateway_tokens_total{{model_group="{group}",deployment="{group}-0",kind="{kind}"}}"#
        )
    };
    assert_samples(
        &values,
        &[
            (req("m", 200), ok as f64),
            (req("s", 200), 1.0),
            (req("other", 404), unknown as f64),
            (req("limited", 429), 1.0),
            (tokens("m", "prompt"), f64::from(PROMPT) * ok as f64),
            (tokens("m", "completion"), f64::from(COMPLETION) * ok as f64),
            (tokens("s", "prompt"), f64::from(PROMPT)),
            (
                r#"llm_gateway_cost_usd_total{model_group="m",deployment="m-0"}"#.into(),
                spend(ok),
            ),
            (
                r#"llm_gateway_request_duration_seconds_count{route="chat_completions",model_group="m"}"#.into(),
                ok as f64,
            ),
            (
                r#"llm_gateway_time_to_first_token_seconds_count{route="chat_completions",model_group="s"}"#.into(),
                1.0,
            ),
            (
                r#"llm_gateway_in_flight_requests{route="chat_completions",model_group="m"}"#.into(),
                0.0,
            ),
            // Its only deployment failed (kept in rotation, the last one).
            (
                r#"llm_gateway_deployment_state{model_group="limited",deployment="limited-0"}"#
                    .into(),
                1.0,
            ),
            (
                r#"llm_gateway_deployment_state{model_group="m",deployment="m-0"}"#.into(),
                0.0,
            ),
        ],
    );
}

#[tokio::test]
async fn litellms_names_with_the_prometheus_callback() {
    let (ok, unknown) = (4, 3);
    let text = scrape_after_calls(
        "litellm_settings:\n  callbacks: [\"prometheus\"]\n",
        ok,
        unknown,
    )
    .await;
    let (values, families) = samples(&text);
    let names: BTreeSet<String> = [
        "litellm_proxy_total_requests_metric",
        "litellm_proxy_failed_requests_metric",
        "litellm_request_total_latency_metric",
        "litellm_llm_api_time_to_first_token_metric",
        "litellm_requests_metric",
        "litellm_input_tokens_metric",
        "litellm_output_tokens_metric",
        "litellm_total_tokens_metric",
        "litellm_spend_metric",
        "litellm_in_flight_requests",
        "litellm_deployment_state",
    ]
    .map(String::from)
    .into();
    assert_eq!(families, names);
    let req = |group: &str, status: u16| {
        format!(
            r#"litellm_proxy_total_requests_metric_total{{requested_model="{group}",status_code="{status}",route="chat_completions"}}"#
        )
    };
    let failed = |group: &str, status: u16, class: &str| {
        format!(
            r#"litellm_proxy_failed_requests_metric_total{{requested_model="{group}",exception_status="{status}",exception_class="{class}",route="chat_completions"}}"#
        )
    };
    let tokens = |metric: &str, group: &str| {
        format!(
            r#"litellm_{metric}_tokens_metric_total{{requested_model="{group}",model="gpt-4o-mini",model_id="{group}-0"}}"#
        )
    };
    let model = |metric: &str, group: &str| {
        format!(
            r#"litellm_{metric}_metric_total{{model="gpt-4o-mini",model_id="{group}-0",api_provider="openai"}}"#
        )
    };
    let n = ok as f64;
    assert_samples(
        &values,
        &[
            (req("m", 200), n),
            (req("s", 200), 1.0),
            (req("other", 404), unknown as f64),
            (req("limited", 429), 1.0),
            (failed("other", 404, "NotFoundError"), unknown as f64),
            (failed("limited", 429, "RateLimitError"), 1.0),
            (tokens("input", "m"), f64::from(PROMPT) * n),
            (tokens("output", "m"), f64::from(COMPLETION) * n),
            (tokens("total", "m"), f64::from(PROMPT + COMPLETION) * n),
            (tokens("total", "s"), f64::from(PROMPT + COMPLETION)),
            (model("requests", "m"), n),
            (model("spend", "m"), spend(ok)),
            (model("spend", "s"), spend(1)),
            (
                r#"litellm_request_total_latency_metric_count{requested_model="m"}"#.into(),
                n,
            ),
            (
                r#"litellm_llm_api_time_to_first_token_metric_count{requested_model="s"}"#.into(),
                1.0,
            ),
            ("litellm_in_flight_requests".into(), 0.0),
            (
                r#"litellm_deployment_state{litellm_model_name="gpt-4o",model_id="limited-0",api_provider="openai"}"#.into(),
                1.0,
            ),
            (
                r#"litellm_deployment_state{litellm_model_name="gpt-4o-mini",model_id="m-0",api_provider="openai"}"#.into(),
                0.0,
            ),
        ],
    );
    assert!(
        !values
            .keys()
            .any(|k| k.starts_with("litellm_proxy_failed") && k.contains("\"200\"")),
        "a success is not a failure"
    );
    // LiteLLM's latency buckets, `+Inf` last.
    let buckets: Vec<&str> = values
        .keys()
        .filter_map(|k| k.strip_prefix(r#"litellm_request_total_latency_metric_bucket{le=""#))
        .filter_map(|rest| rest.strip_suffix(r#"",requested_model="m"}"#))
        .collect();
    assert_eq!(buckets.len(), 36, "{buckets:?} in {text}");
    assert!(
        buckets.contains(&"0.00625") && buckets.contains(&"300.0") && buckets.contains(&"+Inf"),
        "{buckets:?}"
    );
}

/// `litellm_deployment_state` follows the router: 0 before any failure, 1
/// after a failure within `allowed_fails`, 2 once the next one cools the
/// deployment down.
#[tokio::test]
async fn deployment_state_follows_the_routers_cooldowns() {
    let (_mock, yaml) = common::cheap_deployment_failing().await;
    let yaml = format!(
        "{yaml}  allowed_fails: 1\n  cooldown_time: 600\nlitellm_settings:\n  callbacks: [\"prometheus\"]\n"
    );
    let gw = gateway(&yaml).await;
    let state = |text: &str, id: &str, model: &str| {
        let key = format!(
            r#"litellm_deployment_state{{litellm_model_name="{model}",model_id="{id}",api_provider="openai"}}"#
        );
        samples(text).0.get(&key).copied()
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        let text = gw.get("/metrics").await.text().await.unwrap();
        seen.push((
            state(&text, "g-0", "gpt-4o-mini"),
            state(&text, "g-1", "gpt-4o"),
        ));
        // The failing deployment is tried first, then the other answers.
        assert_eq!(gw.chat("g").await.status(), 200);
    }
    let text = gw.get("/metrics").await.text().await.unwrap();
    seen.push((
        state(&text, "g-0", "gpt-4o-mini"),
        state(&text, "g-1", "gpt-4o"),
    ));
    assert_eq!(
        seen,
        [
            (Some(0.0), Some(0.0)),
            (Some(1.0), Some(0.0)),
            (Some(2.0), Some(0.0)),
            (Some(2.0), Some(0.0)),
        ],
        "before any call, after one failure, after the failure that cooled it, while it cools"
    );
}

// ---- OTLP export ----

#[cfg(feature = "otel")]
mod otlp {
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use axum::Router;
    use axum::routing::post;
    use serde_json::{Value, json};

    use super::common::{PATIENCE, entry, http, openai_answer, openai_stream};
    use llm_runtime::testing::MockServer;

    const PROMPT_TEXT: &str = "PROMPT-TEXT-never-exported";
    const MASTER_KEY: &str = "sk-master-never-exported";
    const UPSTREAM_KEY: &str = "sk-test";

    /// A loopback OTLP/HTTP collector: every JSON export it received.
    async fn collector() -> (String, Arc<Mutex<Vec<Value>>>) {
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let app = Router::new().route(
            "/v1/traces",
            post(move |body: axum::body::Bytes| {
                let store = Arc::clone(&store);
                async move {
                    store
                        .lock()
                        .unwrap()
                        .push(serde_json::from_slice::<Value>(&body).unwrap());
                    axum::Json(json!({}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, received)
    }

    /// The gateway binary on `config`, exporting to `endpoint`.
    fn start(config: &str, endpoint: &str) -> (Child, String) {
        let dir = std::env::temp_dir().join(format!(
            "llm-gateway-otel-{}-{}",
            std::process::id(),
            endpoint.rsplit(':').next().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yaml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_llm-gateway"))
            .args(["--config", path.to_str().unwrap(), "--port", "0"])
            // With a master key, governance keeps its SQLite file in the working directory.
            .current_dir(&dir)
            .env("LLM_GATEWAY_LOG", "warn")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
            .env("OTEL_SERVICE_NAME", "gw-under-test")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SDK_DISABLED")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("llm-gateway listening on ")
            .unwrap()
            .to_owned();
        (child, url)
    }

    /// SIGTERM `child` and wait (bounded) for a clean exit.
    async fn stop(mut child: Child, bound: Duration) {
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "{status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("the gateway did not exit after SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn config(upstream: &str) -> String {
        format!(
            "model_list:\n{}general_settings:\n  master_key: {MASTER_KEY}\n",
            entry("m", "openai/gpt-4o-mini", &format!("{upstream}/v1"), "")
        )
    }

    async fn call(url: &str, stream: bool) -> String {
        let r = http()
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(MASTER_KEY)
            .json(&json!({"model": "m", "stream": stream,
                          "messages": [{"role": "user", "content": PROMPT_TEXT}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    }

    /// An attribute's value as text (`stringValue`, or `intValue` in
    /// either of JSON's spellings).
    fn attr(span: &Value, key: &str) -> Option<String> {
        let value = span["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)?
            .get("value")?
            .clone();
        value
            .get("stringValue")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                value
                    .get("intValue")
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            })
    }

    fn kind(span: &Value) -> i64 {
        span["kind"].as_i64().unwrap()
    }

    #[tokio::test]
    async fn a_server_span_parents_the_gen_ai_span_and_shutdown_flushes_them() {
        let (endpoint, received) = collector().await;
        let upstream = MockServer::start().await;
        upstream.on_sequence(
            "POST",
            "/v1/chat/completions",
            vec![
                openai_answer("ANSWER-TEXT-never-exported"),
                openai_stream(&["ANSWER-", "TEXT"]),
            ],
        );
        let (child, url) = start(&config(&upstream.url()), &endpoint);
        call(&url, false).await;
        call(&url, true).await;
        // The batch is sent at shutdown at the latest (the delay is 5 s).
        stop(child, PATIENCE).await;
        let exports = received.lock().unwrap().clone();
        let text = serde_json::to_string(&exports).unwrap();
        for secret in [PROMPT_TEXT, MASTER_KEY, UPSTREAM_KEY, "ANSWER-TEXT"] {
            assert!(!text.contains(secret), "{secret} exported: {text}");
        }
        let resource = &exports[0]["resourceSpans"][0]["resource"];
        assert!(
            resource["attributes"].as_array().unwrap().iter().any(|a| a["key"] == "service.name"
                && a["value"]["stringValue"] == "gw-under-test"),
            "{resource}"
        );
        let spans: Vec<Value> = exports
            .iter()
            .flat_map(|e| e["resourceSpans"].as_array().unwrap().clone())
            .flat_map(|r| r["scopeSpans"].as_array().unwrap().clone())
            .flat_map(|s| s["spans"].as_array().unwrap().clone())
            .collect();
        let servers: Vec<&Value> = spans
            .iter()
            .filter(|s| s["name"] == "POST /v1/chat/completions")
            .collect();
        let calls: Vec<&Value> = spans
            .iter()
            .filter(|s| s["name"] == "chat gpt-4o-mini")
            .collect();
        assert_eq!((servers.len(), calls.len()), (2, 2), "{text}");
        for (server, call) in servers.iter().zip(&calls) {
            assert_eq!(kind(server), 2, "SPAN_KIND_SERVER");
            assert_eq!(kind(call), 3, "SPAN_KIND_CLIENT");
            assert_eq!(
                attr(server, "http.route").as_deref(),
                Some("/v1/chat/completions")
            );
            assert_eq!(
                attr(server, "http.response.status_code").as_deref(),
                Some("200")
            );
            assert_eq!(call["traceId"], server["traceId"]);
            assert_eq!(call["parentSpanId"], server["spanId"]);
            assert_eq!(
                attr(call, "gen_ai.request.model").as_deref(),
                Some("gpt-4o-mini")
            );
            assert_eq!(
                attr(call, "gen_ai.provider.name").as_deref(),
                Some("openai")
            );
            assert_eq!(
                attr(call, "gen_ai.usage.input_tokens").as_deref(),
                Some("10")
            );
            assert_eq!(
                attr(call, "gen_ai.usage.output_tokens").as_deref(),
                Some("5")
            );
        }
    }

    #[tokio::test]
    async fn a_collector_that_never_answers_neither_fails_a_call_nor_holds_shutdown() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&held);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                keep.lock().unwrap().push(conn);
            }
        });
        let upstream = MockServer::start().await;
        upstream.on("POST", "/v1/chat/completions", openai_answer("ok"));
        let (child, url) = start(&config(&upstream.url()), &endpoint);
        for _ in 0..3 {
            call(&url, false).await;
        }
        // Shutdown gives the exporter at most its own bound, then exits cleanly.
        stop(
            child,
            PATIENCE + llm_gateway::telemetry::otel::SHUTDOWN_TIMEOUT,
        )
        .await;
    }
}
