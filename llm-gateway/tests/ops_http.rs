//! The operation routes over plain HTTP: rerank in Cohere's format to each
//! rerank provider (Cohere, Jina, Voyage, Together, each upstream request
//! checked in its own wire format) on `/v1/rerank`, `/v2/rerank` and
//! `/rerank`; rerank errors; a wildcard serving images; a speech client that
//! goes away cancelling the upstream call; governance (a key's allowed
//! models, the spend of a priced call) on the operations.
#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::{entry, gateway, http};
use futures_util::StreamExt;
use llm_gateway::config::GatewayConfig;
use llm_gateway::governance::model::{KeyRecord, Limits, Spend, SpendFilter};
use llm_gateway::governance::secret::ApiKey;
use llm_gateway::governance::spend::SpendWriterConfig;
use llm_gateway::governance::{Governance, GovernanceConfig};
use llm_gateway::server;
use llm_gateway::state::AppState;
use llm_runtime::testing::{MockResponse, MockServer};
use proptest::prelude::*;
use serde_json::{Value, json};
use support::servers::Scratch;

const DOCS: [&str; 3] = [
    "Berlin is in Germany.",
    "Paris is the capital of France.",
    "Lyon is in France.",
];

/// Each rerank provider's mock answer (in its own format) and config entry.
fn rerank_upstreams(mock: &MockServer) -> String {
    let url = mock.url();
    mock.on("POST", "/cohere/v2/rerank", MockResponse::json(200, json!({
        "id": "07734bd2", "results": [{"index": 2, "relevance_score": 0.4}, {"index": 1, "relevance_score": 0.98}],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}})));
    mock.on(
        "POST",
        "/jina/v1/rerank",
        MockResponse::json(
            200,
            json!({
        "model": "jina-reranker-v2-base-multilingual", "usage": {"total_tokens": 38},
        "results": [{"index": 1, "document": {"text": DOCS[1]}, "relevance_score": 0.87},
                    {"index": 2, "document": {"text": DOCS[2]}, "relevance_score": 0.12}]}),
        ),
    );
    mock.on("POST", "/voyage/v1/rerank", MockResponse::json(200, json!({
        "object": "list", "data": [{"relevance_score": 0.4, "index": 0}, {"relevance_score": 0.9, "index": 1}],
        "model": "rerank-2", "usage": {"total_tokens": 26}})));
    mock.on(
        "POST",
        "/together/v1/rerank",
        MockResponse::json(
            200,
            json!({
        "object": "rerank", "id": "oGs6Zt9", "model": "Salesforce/Llama-Rank-V1",
        "results": [{"index": 1, "relevance_score": 0.29, "document": {"text": DOCS[1]}},
                    {"index": 0, "relevance_score": 0.01, "document": {"text": DOCS[0]}}],
        "usage": {"prompt_tokens": 2966, "completion_tokens": 0, "total_tokens": 2966}}),
        ),
    );
    mock.on(
        "POST",
        "/limited/v2/rerank",
        MockResponse::json(429, json!({"message": "slow down"})).header("retry-after", "7"),
    );
    let price = "      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n";
    [
        entry("cohere", "cohere/rerank-v3.5", &format!("{url}/cohere"), ""),
        entry(
            "jina",
            "jina_ai/jina-reranker-v2-base-multilingual",
            &format!("{url}/jina/v1"),
            price,
        ),
        entry("voyage", "voyage/rerank-2", &format!("{url}/voyage/v1"), ""),
        entry(
            "together",
            "together_ai/Salesforce/Llama-Rank-V1",
            &format!("{url}/together/v1"),
            "",
        ),
        entry(
            "limited",
            "cohere/rerank-v3.5",
            &format!("{url}/limited"),
            "",
        ),
    ]
    .concat()
}

fn rerank_body(model: &str) -> Value {
    json!({"model": model, "query": "capital of France", "documents": DOCS, "top_n": 2, "return_documents": true})
}

/// `(index, score, document text)` of each result.
fn ranked(answer: &Value) -> Vec<(u64, f64, Option<String>)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["relevance_score"].as_f64().unwrap(),
                r["document"]["text"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Per provider: the group, the upstream path, the ranking the caller gets
/// (index, score, text) and the body the upstream must receive.
type RerankCase = (
    &'static str,
    &'static str,
    Vec<(u64, f64, Option<String>)>,
    Value,
);

fn rerank_cases() -> Vec<RerankCase> {
    let doc = |i: usize| Some(DOCS[i].to_owned());
    vec![
        (
            "cohere",
            "/cohere/v2/rerank",
            vec![(1, 0.98, doc(1)), (2, 0.4, doc(2))],
            json!({"model": "rerank-v3.5", "query": "capital of France", "documents": DOCS, "top_n": 2}),
        ),
        (
            "jina",
            "/jina/v1/rerank",
            vec![(1, 0.87, doc(1)), (2, 0.12, doc(2))],
            json!({"model": "jina-reranker-v2-base-multilingual", "query": "capital of France",
                "documents": DOCS, "top_n": 2, "return_documents": true}),
        ),
        (
            "voyage",
            "/voyage/v1/rerank",
            vec![(1, 0.9, doc(1)), (0, 0.4, doc(0))],
            json!({"model": "rerank-2", "query": "capital of France", "documents": DOCS,
                "top_k": 2, "return_documents": true}),
        ),
        (
            "together",
            "/together/v1/rerank",
            vec![(1, 0.29, doc(1)), (0, 0.01, doc(0))],
            json!({"model": "Salesforce/Llama-Rank-V1", "query": "capital of France", "documents": DOCS,
                "top_n": 2, "return_documents": true}),
        ),
    ]
}

#[tokio::test]
async fn rerank_in_coheres_format_to_each_provider() {
    let mock = MockServer::start().await;
    let gw = gateway(&format!("model_list:\n{}", rerank_upstreams(&mock))).await;
    let cases = rerank_cases();
    for route in ["/v1/rerank", "/v2/rerank", "/rerank"] {
        for (model, path, expected, upstream) in &cases {
            let before = mock.request_count();
            let r = gw.post(route, rerank_body(model)).await;
            assert_eq!(r.status(), 200, "{route} {model}");
            assert_eq!(r.headers()["x-litellm-model-group"], *model);
            let answer: Value = r.json().await.unwrap();
            assert_eq!(ranked(&answer), *expected, "{route} {model}: {answer}");
            assert!(answer["id"].is_string());
            assert_eq!(answer["meta"]["api_version"]["version"], "2");
            let sent = &mock.requests_since(before)[0];
            assert_eq!(sent.path, *path);
            assert_eq!(sent.body_json(), *upstream, "{model}");
        }
    }
    // Cohere's billed units and id come through; a deployment without a
    // configured price is billed at the catalog's per-search price.
    let r = gw.post("/v1/rerank", rerank_body("cohere")).await;
    let cost: f64 = r.headers()["x-litellm-response-cost"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let per_search = match llm_runtime::catalog::operation_price("cohere", "rerank-v3.5")
        .map(|card| card.price)
    {
        Some(llm_runtime::catalog::OperationPrice::PerThousandSearches(usd)) => usd / 1_000.0,
        other => panic!("rerank-v3.5 is priced per search in the catalog: {other:?}"),
    };
    assert!(cost > 0.0 && (cost - per_search).abs() < 1e-12, "{cost}");
    let r: Value = r.json().await.unwrap();
    assert_eq!(r["id"], "07734bd2");
    assert_eq!(r["meta"]["billed_units"]["search_units"], 1);
    // Without return_documents, no texts.
    let mut body = rerank_body("jina");
    body["return_documents"] = json!(false);
    let r: Value = gw.post("/v1/rerank", body).await.json().await.unwrap();
    assert!(ranked(&r).iter().all(|(_, _, d)| d.is_none()), "{r}");
    // A priced deployment's cost is a response header.
    let r = gw.post("/v1/rerank", rerank_body("jina")).await;
    let cost: f64 = r.headers()["x-litellm-response-cost"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((cost - 38e-6).abs() < 1e-12, "{cost}");
}

#[tokio::test]
async fn rerank_errors_in_openais_envelope() {
    let mock = MockServer::start().await;
    let gw = gateway(&format!("model_list:\n{}", rerank_upstreams(&mock))).await;
    let mut no_query = rerank_body("cohere");
    no_query.as_object_mut().unwrap().remove("query");
    let mut v1_field = rerank_body("cohere");
    v1_field["rank_fields"] = json!(["text"]);
    let mut bad_docs = rerank_body("cohere");
    bad_docs["documents"] = json!([1, 2]);
    let cases = [
        (no_query, 400, Some("query")),
        (v1_field, 400, Some("rank_fields")),
        (bad_docs, 400, Some("documents")),
        (rerank_body("no-such-model"), 404, Some("model")),
        (rerank_body("limited"), 429, None),
    ];
    for (body, status, param) in cases {
        let r = gw.post("/v1/rerank", body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        if status == 429 {
            assert_eq!(r.headers()["retry-after"], "7");
        }
        let e: Value = r.json().await.unwrap();
        assert!(e["error"]["message"].is_string(), "{e}");
        assert_eq!(e["error"]["param"].as_str(), param, "{e}");
    }
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/limited/v2/rerank"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any body (JSON or not) is an answer or a typed 4xx in OpenAI's
    /// envelope, never a 5xx, a hang or a panic; nothing invalid goes upstream.
    #[test]
    fn any_rerank_body_is_an_answer_or_a_typed_error(
        query in proptest::option::of("[a-z ]{0,12}"),
        docs in proptest::option::of(proptest::collection::vec(
            prop_oneof![Just(json!("a doc")), Just(json!({"text": "t"})), Just(json!(3)), Just(json!(null))], 0..4)),
        top_n in proptest::option::of(prop_oneof![Just(json!(0)), Just(json!(2)), Just(json!("x")), Just(json!(-1))]),
        garbage in proptest::bool::ANY,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mock = MockServer::start().await;
            let gw = gateway(&format!("model_list:\n{}", rerank_upstreams(&mock))).await;
            let mut body = json!({"model": "cohere"});
            if let Some(q) = &query { body["query"] = json!(q); }
            if let Some(d) = &docs { body["documents"] = json!(d); }
            if let Some(t) = &top_n { body["top_n"] = t.clone(); }
            let request = http().post(format!("{}/v1/rerank", gw.url()));
            let request = if garbage {
                request.header("content-type", "application/json").body("{not json")
            } else {
                request.json(&body)
            };
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let answer: Value = r.json().await.unwrap();
            if status == 200 {
                assert!(answer["results"].is_array(), "{answer}");
            } else if status == 502 {
                // A valid request went upstream, and the mock's fixed answer
                // ranks documents this request did not send: the gateway
                // refuses that answer, typed, instead of passing it on.
                assert_eq!(mock.request_count(), 1, "{body}: {answer}");
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                assert!(message.contains("does not match the request"), "{answer}");
            } else {
                assert_eq!(status, 400, "{body}: {answer}");
                assert!(answer["error"]["message"].is_string());
                assert_eq!(mock.request_count(), 0, "an invalid body went upstream");
            }
        });
    }
}

#[tokio::test]
async fn a_wildcard_serves_images() {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/images/generations",
        MockResponse::json(
            200,
            json!({
        "created": 7, "data": [{"url": "https://img.example/a.png"}]}),
        ),
    );
    let yaml = format!(
        "model_list:\n{}",
        entry("openai/*", "openai/*", &format!("{}/v1", mock.url()), "")
    );
    let gw = gateway(&yaml).await;
    let r = gw
        .post(
            "/v1/images/generations",
            json!({"model": "openai/dall-e-3", "prompt": "a fox", "n": 1}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-litellm-model-group"], "openai/*");
    assert_eq!(r.headers()["x-litellm-model-id"], "openai/*:openai");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"created": 7, "data": [{"url": "https://img.example/a.png"}]})
    );
    assert_eq!(
        mock.requests()[0].body_json(),
        json!({"model": "dall-e-3", "prompt": "a fox", "n": 1})
    );
}

#[tokio::test]
async fn a_client_gone_mid_speech_closes_the_upstream_connection() {
    let mock = MockServer::start().await;
    let chunks: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 64]).collect();
    mock.on(
        "POST",
        "/v1/audio/speech",
        MockResponse::raw_body_chunks(chunks)
            .header("content-type", "audio/mpeg")
            .chunk_delay(Duration::from_millis(100)),
    );
    let yaml = format!(
        "model_list:\n{}",
        entry("tts", "openai/tts-1", &format!("{}/v1", mock.url()), "")
    );
    let gw = gateway(&yaml).await;
    let r = gw
        .post(
            "/v1/audio/speech",
            json!({"model": "tts", "voice": "alloy", "input": "Hello"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(first[0], 0, "the first chunk's bytes");
    assert_eq!(mock.connections_open(), 1);
    drop(body);
    assert!(
        mock.wait_for_connections_open(0, Duration::from_secs(1))
            .await,
        "the upstream still speaks to nobody"
    );
    let metrics = gw.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(
            r#"llm_gateway_requests_total{route="audio_speech",model_group="tts",status="499"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn governance_applies_to_operations() {
    let dir = Scratch::new("ops-governance");
    let mock = MockServer::start().await;
    let key = ApiKey::generate();
    let (running, gov) = governed(&dir, &mock, &key).await;
    let post = |model: &str, bearer: &str| {
        http()
            .post(format!("{}/v1/rerank", running.url()))
            .bearer_auth(bearer)
            .json(&rerank_body(model))
            .send()
    };
    let allowed = post("jina", key.expose()).await.unwrap();
    assert_eq!(allowed.status(), 200);
    let refused = post("cohere", key.expose()).await.unwrap();
    assert_eq!(refused.status(), 403);
    let e: Value = refused.json().await.unwrap();
    assert_eq!(e["error"]["code"], "model_not_allowed");
    assert_eq!(post("jina", "sk-wrong").await.unwrap().status(), 401);
    gov.flush_spend().await;
    let logs = gov
        .store()
        .spend_logs(&SpendFilter {
            token_hash: Some(key.hash()),
            team_id: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0].model, "jina");
    assert_eq!(logs[0].prompt_tokens, 38, "the usage Jina reported");
    assert_eq!(
        logs[0].spend_nanos,
        38 * 1_000,
        "38 tokens at $1 per million"
    );
    let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/jina/v1/rerank"],
        "refused calls never went upstream"
    );
}

#[tokio::test]
async fn images_from_azure_and_gemini_deployments_and_a_group_failing_over() {
    let mock = MockServer::start().await;
    let url = mock.url();
    mock.on(
        "POST",
        "/openai/deployments/my-dalle/images/generations",
        MockResponse::json(
            200,
            json!({
        "created": 3, "data": [{"url": "https://x/1.png"}]}),
        ),
    );
    mock.on("POST", "/v1beta/models/gemini-2.5-flash-image:generateContent", MockResponse::json(200, json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Here is your fox."}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]},
            "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 1290, "totalTokenCount": 1297}})));
    mock.on(
        "POST",
        "/down/v1/images/generations",
        MockResponse::json(
            503,
            json!({"error": {"message": "overloaded", "type": "server_error"}}),
        ),
    );
    mock.on(
        "POST",
        "/up/v1/images/generations",
        MockResponse::json(
            200,
            json!({
        "created": 4, "data": [{"b64_json": "QUJD"}]}),
        ),
    );
    let yaml = format!(
        "model_list:\n{}{}{}{}",
        entry(
            "azure-dalle",
            "azure/my-dalle",
            &url,
            "      api_version: 2024-10-21\n"
        ),
        entry(
            "gemini-image",
            "gemini/gemini-2.5-flash-image",
            &format!("{url}/v1beta"),
            ""
        ),
        // Weights make the failing deployment the first pick.
        entry(
            "pair",
            "openai/dall-e-2",
            &format!("{url}/down/v1"),
            "      weight: 1000000\n"
        ),
        entry(
            "pair",
            "openai/dall-e-2",
            &format!("{url}/up/v1"),
            "      weight: 1\n"
        ),
    );
    let gw = gateway(&yaml).await;

    let r: Value = gw
        .post(
            "/v1/images/generations",
            json!({"model": "azure-dalle", "prompt": "fox"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        r,
        json!({"created": 3, "data": [{"url": "https://x/1.png"}]})
    );
    let azure = &mock.requests()[0];
    assert_eq!(azure.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(azure.header("api-key"), Some("sk-test"));

    let r = gw
        .post(
            "/v1/images/generations",
            json!({"model": "gemini-image", "prompt": "A watercolor fox", "n": 1}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["data"], json!([{"b64_json": "iVBORw0KGgo="}]));
    assert_eq!(
        answer["usage"],
        json!({"input_tokens": 7, "output_tokens": 1290, "total_tokens": 1297})
    );
    assert_eq!(
        mock.requests()[1].body_json(),
        json!({"contents": [{"role": "user", "parts": [{"text": "A watercolor fox"}]}],
               "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "candidateCount": 1}})
    );

    let r = gw
        .post(
            "/v1/images/generations",
            json!({"model": "pair", "prompt": "fox"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-litellm-model-id"],
        "pair-1",
        "the second deployment served"
    );
    assert_eq!(r.headers()["x-litellm-attempted-retries"], "1");
    let paths: Vec<String> = mock.requests_since(2).into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/down/v1/images/generations", "/up/v1/images/generations"]
    );
}

/// A gateway on `mock`'s rerank groups with governance on (SQLite in
/// `dir`), where `key` may call `jina` only.
async fn governed(
    dir: &Scratch,
    mock: &MockServer,
    key: &ApiKey,
) -> (server::Running, std::sync::Arc<Governance>) {
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: sk-master-ops\n",
        rerank_upstreams(mock)
    );
    let loaded = GatewayConfig::parse(&yaml, &|v| std::env::var(v).ok()).unwrap();
    let state = AppState::from_config(loaded.config).unwrap();
    let mut config = GovernanceConfig::new(Some("sk-master-ops".to_owned()));
    config.sqlite_path = dir.path().join("ops.db");
    config.spend = SpendWriterConfig::new(dir.path().join("spill.jsonl"));
    let gov = Governance::start(config).await.unwrap();
    gov.store()
        .insert_key(&KeyRecord {
            token_hash: key.hash(),
            key_name: key.display_name(),
            key_alias: None,
            team_id: None,
            user_id: None,
            models: vec!["jina".into()],
            limits: Limits::default(),
            spend: Spend::default(),
            expires_at: None,
            blocked: false,
            metadata: json!({}),
            created_at: 0,
            updated_at: 0,
        })
        .await
        .unwrap();
    gov.reload().await;
    state.governance.set(gov.clone()).unwrap();
    let running = server::spawn(state, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .unwrap();
    (running, gov)
}
