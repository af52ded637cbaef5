//! Same-dialect answers pass through: when the caller's format is the
//! provider's (Chat Completions to an OpenAI-format upstream, Messages to
//! Anthropic, Responses to OpenAI Responses), the upstream's answer reaches
//! the caller byte for byte, JSON and stream, with a field no API has yet
//! and the signed thinking (Anthropic's `signature`, Responses'
//! `encrypted_content`) as the upstream wrote them; usage is still counted.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Gateway, fixture, http};
use llm_runtime::testing::{MockResponse, MockServer};
use proptest::prelude::*;

const KEY: &str = "sk-gateway-test";

/// One same-dialect pair: the route the caller posts to, the upstream's
/// path and config model, and the fixtures it answers with.
struct Pair {
    group: &'static str,
    route: &'static str,
    upstream_path: &'static str,
    model: &'static str,
    api_base_suffix: &'static str,
    dialect: &'static str,
    json: &'static str,
    sse: &'static str,
    /// The request body's fields beside `model` and `stream`.
    body: &'static str,
}

const PAIRS: [Pair; 3] = [
    Pair {
        group: "gpt",
        route: "/v1/chat/completions",
        upstream_path: "/v1/chat/completions",
        model: "openai/gpt-4o-mini",
        api_base_suffix: "/v1",
        dialect: "openai",
        json: "chat_reasoning.json",
        sse: "stream_text.sse",
        body: r#""messages":[{"role":"user","content":"Hi"}],"stream_options":{"include_usage":true}"#,
    },
    Pair {
        group: "claude",
        route: "/v1/messages",
        upstream_path: "/v1/messages",
        model: "anthropic/claude-sonnet-4-5",
        api_base_suffix: "",
        dialect: "anthropic",
        json: "thinking.json",
        sse: "thinking.sse",
        body: r#""max_tokens":64,"messages":[{"role":"user","content":"Hi"}]"#,
    },
    Pair {
        group: "resp",
        route: "/v1/responses",
        upstream_path: "/v1/responses",
        model: "openai_responses/gpt-5-mini",
        api_base_suffix: "/v1",
        dialect: "openai_responses",
        json: "reasoning.json",
        sse: "reasoning.sse",
        body: r#""input":"Hi""#,
    },
];

/// `text` (a JSON object) with `"name":value` first, the rest as written.
fn with_field(text: &str, name: &str, value: &str) -> String {
    let open = text.find('{').unwrap();
    format!(
        "{}{{\"{name}\":{value},{}",
        &text[..open],
        &text[open + 1..]
    )
}

/// An SSE body with the field added to every JSON `data:` line.
fn sse_with_field(sse: &str, name: &str, value: &str) -> String {
    sse.lines()
        .map(|line| match line.strip_prefix("data: ") {
            Some(data) if data.starts_with('{') => {
                format!("data: {}", with_field(data, name, value))
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The gateway with one group per pair, each on its own mock.
async fn setup() -> (Gateway, Vec<MockServer>) {
    let mut yaml = String::from("model_list:\n");
    let mut mocks = Vec::new();
    for pair in &PAIRS {
        let mock = MockServer::start().await;
        let base = format!("{}{}", mock.url(), pair.api_base_suffix);
        yaml += &common::entry(pair.group, pair.model, &base, "");
        mocks.push(mock);
    }
    yaml += &format!("general_settings:\n  master_key: {KEY}\n");
    (common::gateway(&yaml).await, mocks)
}

async fn post(gw: &Gateway, pair: &Pair, stream: bool) -> (reqwest::StatusCode, String) {
    let body = format!(
        r#"{{"model":"{}","stream":{stream},{}}}"#,
        pair.group, pair.body
    );
    let r = http()
        .post(format!("{}{}", gw.url(), pair.route))
        .header("authorization", format!("Bearer {KEY}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The prompt tokens the gateway's metrics counted for `group`.
fn prompt_tokens(gw: &Gateway, group: &str) -> u64 {
    let text = gw.state.metrics.render();
    text.lines()
        .filter(|l| {
            l.contains("tokens_total")
                && l.contains(&format!("model_group=\"{group}\""))
                && l.contains("kind=\"prompt\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The prompt tokens `json` (an upstream answer) reports.
fn reported_prompt(json: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let u = &v["usage"];
    u["prompt_tokens"]
        .as_u64()
        .or(u["input_tokens"].as_u64())
        .unwrap()
}

/// A JSON value's text as an API might write it (number forms, escapes, key order).
fn value_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "1.10",
        "2e3",
        "-0.0",
        "null",
        "true",
        r#""\u00e9\n""#,
        r#""sig+/=""#,
        "[]",
        "{}",
    ]);
    (leaf.clone(), leaf.clone(), leaf).prop_map(|(a, b, c)| format!(r#"{{"z":{a},"a":[{b},{c}]}}"#))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Each pair, JSON and stream: the caller gets the upstream's bytes.
    #[test]
    fn same_dialect_answers_reach_the_caller_byte_for_byte(
        name in "x_[a-z]{1,8}", value in value_text(),
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (gw, mocks) = setup().await;
            for (pair, mock) in PAIRS.iter().zip(&mocks) {
                let json = with_field(&fixture(pair.dialect, pair.json), &name, &value);
                mock.on("POST", pair.upstream_path, MockResponse::text(200, "application/json", json.clone()));
                let before = prompt_tokens(&gw, pair.group);
                let (status, got) = post(&gw, pair, false).await;
                assert_eq!(status, 200, "{}: {got}", pair.route);
                assert_eq!(got, json, "{} JSON", pair.route);
                assert_eq!(prompt_tokens(&gw, pair.group) - before, reported_prompt(&json), "{} usage", pair.route);

                let sse = sse_with_field(&fixture(pair.dialect, pair.sse), &name, &value);
                mock.on("POST", pair.upstream_path, MockResponse::text(200, "text/event-stream", sse.clone()));
                let before = prompt_tokens(&gw, pair.group);
                let (status, got) = post(&gw, pair, true).await;
                assert_eq!(status, 200, "{}: {got}", pair.route);
                assert_eq!(got, sse, "{} stream", pair.route);
                assert!(prompt_tokens(&gw, pair.group) > before, "{} stream usage", pair.route);
            }
            gw.running.shutdown().await;
        });
    }
}

/// A chat caller that did not ask for `include_usage` gets the upstream's
/// frames but the usage chunk (the runtime asks for it, for the metrics),
/// and the usage is still counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_chunk_goes_only_to_a_caller_that_asked() {
    let (gw, mocks) = setup().await;
    let pair = &PAIRS[0];
    let sse = fixture(pair.dialect, pair.sse);
    mocks[0].on(
        "POST",
        pair.upstream_path,
        MockResponse::text(200, "text/event-stream", sse.clone()),
    );
    let body = r#"{"model":"gpt","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#;
    let got = http()
        .post(format!("{}{}", gw.url(), pair.route))
        .header("authorization", format!("Bearer {KEY}"))
        .body(body)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let without_usage: String = sse
        .split_inclusive("\n\n")
        .filter(|frame| !frame.contains(r#""choices":[]"#))
        .collect();
    assert_ne!(without_usage, sse, "the fixture has a usage chunk");
    assert_eq!(got, without_usage);
    assert!(prompt_tokens(&gw, "gpt") > 0);
    gw.running.shutdown().await;
}
