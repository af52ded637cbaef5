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
