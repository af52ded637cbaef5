//! Rerank over the loopback mock in each provider's documented format:
//! Cohere's `POST /v2/rerank` (the de facto format), Jina's and Together's
//! `/v1/rerank` (Cohere's shape with `return_documents`), Voyage's
//! `/v1/rerank` (`top_k`, results under `data`). Results come back sorted by
//! relevance with their indices, documents on request; answers that do not
//! match the request are errors.

mod ops_common;

use llm_runtime::providers::{Cohere, Jina, Together, Voyage};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ErrorKind, types::RerankRequest};
use ops_common::client;
use proptest::prelude::*;
use serde_json::json;

const DOCS: [&str; 3] = [
    "Berlin is in Germany.",
    "Paris is the capital of France.",
    "Lyon is in France.",
];

fn request() -> RerankRequest {
    RerankRequest::new("rerank-v3.5", "capital of France", DOCS)
}

#[tokio::test]
async fn cohere_v2_rerank() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v2/rerank",
        MockResponse::json(200, json!({
            "id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf",
            "results": [{"index": 2, "relevance_score": 0.4}, {"index": 1, "relevance_score": 0.98}],
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}
        })),
    );
    let r = client::<Cohere>(&server, "")
        .rerank(
            request()
                .top_n(2)
                .max_tokens_per_doc(512)
                .return_documents(true),
        )
        .await
        .expect("rerank");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {}", ops_common::KEY).as_str())
    );
    assert_eq!(
        sent.body_json(),
        json!({"model": "rerank-v3.5", "query": "capital of France", "documents": DOCS,
               "top_n": 2, "max_tokens_per_doc": 512})
    );
    let ranked: Vec<(usize, f64)> = r
        .results
        .iter()
        .map(|x| (x.index, x.relevance_score))
        .collect();
    assert_eq!(ranked, [(1, 0.98), (2, 0.4)]);
    // v2 returns no texts: they come from the request when asked for.
    assert_eq!(r.results[0].document.as_deref(), Some(DOCS[1]));
    assert_eq!(r.search_units, Some(1));
    assert_eq!(
        r.id.as_deref(),
        Some("07734bd2-2473-4f07-94e1-0d9f0e6843cf")
    );
    assert_eq!(
        (r.model.as_str(), r.provider.as_str()),
        ("rerank-v3.5", "cohere")
    );
}

#[tokio::test]
async fn jina_rerank_returns_documents() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/rerank",
        MockResponse::json(
            200,
            json!({
                "model": "jina-reranker-v2-base-multilingual",
                "usage": {"total_tokens": 38},
                "results": [
                    {"index": 1, "document": {"text": DOCS[1]}, "relevance_score": 0.87},
                    {"index": 2, "document": {"text": DOCS[2]}, "relevance_score": 0.12}
                ]
            }),
        ),
    );
    let r = client::<Jina>(&server, "/v1")
        .rerank(
            RerankRequest::new(
                "jina-reranker-v2-base-multilingual",
                "capital of France",
                DOCS,
            )
            .top_n(2)
            .return_documents(true),
        )
        .await
        .expect("rerank");
    assert_eq!(
        server.requests()[0].body_json(),
        json!({"model": "jina-reranker-v2-base-multilingual", "query": "capital of France",
               "documents": DOCS, "top_n": 2, "return_documents": true})
    );
    assert_eq!(r.results[0].document.as_deref(), Some(DOCS[1]));
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(38));
}

#[tokio::test]
async fn voyage_rerank_says_top_k_and_answers_in_data() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/rerank",
        MockResponse::json(200, json!({
            "object": "list",
            "data": [{"relevance_score": 0.4, "index": 0}, {"relevance_score": 0.9, "index": 1}],
            "model": "rerank-2",
            "usage": {"total_tokens": 26}
        })),
    );
    let r = client::<Voyage>(&server, "/v1")
        .rerank(RerankRequest::new("rerank-2", "capital of France", DOCS).top_n(2))
        .await
        .expect("rerank");
    assert_eq!(
        server.requests()[0].body_json(),
        json!({"model": "rerank-2", "query": "capital of France", "documents": DOCS,
               "top_k": 2, "return_documents": false})
    );
    assert_eq!(
        r.results.iter().map(|x| x.index).collect::<Vec<_>>(),
        [1, 0]
    );
    assert!(r.results[0].document.is_none(), "not asked for");
}

#[tokio::test]
async fn together_rerank() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/rerank",
        MockResponse::json(200, json!({
            "object": "rerank", "id": "oGs6Zt9-62bZBn-8e3f", "model": "Salesforce/Llama-Rank-V1",
            "results": [{"index": 1, "relevance_score": 0.29, "document": {"text": DOCS[1]}}],
            "usage": {"prompt_tokens": 2966, "completion_tokens": 0, "total_tokens": 2966}
        })),
    );
    let r = client::<Together>(&server, "/v1")
        .rerank(
            RerankRequest::new("Salesforce/Llama-Rank-V1", "capital of France", DOCS)
                .top_n(1)
                .return_documents(true),
        )
        .await
        .expect("rerank");
    assert_eq!(server.requests()[0].path, "/v1/rerank");
    assert_eq!(server.requests()[0].body_json()["top_n"], 1);
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].document.as_deref(), Some(DOCS[1]));
    assert_eq!(r.id.as_deref(), Some("oGs6Zt9-62bZBn-8e3f"));
}

#[tokio::test]
async fn answers_that_do_not_match_the_request_are_decode_errors() {
    for results in [
        json!([{"index": 3, "relevance_score": 0.5}]),
        json!([{"index": 0, "relevance_score": 0.5}, {"index": 0, "relevance_score": 0.4}]),
        json!([{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": 0.4}]),
    ] {
        let server = MockServer::start().await;
        server.on(
            "POST",
            "/v2/rerank",
            MockResponse::json(200, json!({"id": "x", "results": results})),
        );
        let e = client::<Cohere>(&server, "")
            .rerank(request().top_n(1))
            .await
            .expect_err("mismatch");
        assert_eq!(e.kind(), ErrorKind::Decode, "{results}: {e}");
        assert_eq!(e.provider(), Some("cohere"));
    }
}

#[tokio::test]
async fn rerank_errors_are_classified_and_retried() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v2/rerank",
        vec![
            MockResponse::json(429, json!({"message": "too many requests"}))
                .header("retry-after", "0"),
            MockResponse::json(
                200,
                json!({"id": "r", "results": [{"index": 0, "relevance_score": 0.1}]}),
            ),
        ],
    );
    let r = client::<Cohere>(&server, "")
        .rerank(request())
        .await
        .expect("after the retry");
    assert_eq!(r.meta.attempts, 2);
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v2/rerank",
        MockResponse::json(401, json!({"message": "invalid api token"})),
    );
    let e = client::<Cohere>(&server, "")
        .rerank(request())
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    let e = client::<Cohere>(&server, "")
        .rerank(RerankRequest::new("rerank-v3.5", "q", Vec::<String>::new()))
        .await
        .expect_err("no documents");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(
        server.request_count(),
        1,
        "an invalid request is never sent"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Scores in any order come back sorted, each index once, documents filled in.
    #[test]
    fn any_valid_answer_is_sorted_by_score(
        scores in proptest::collection::vec(-10.0f64..10.0, 1..12),
        seed in any::<u64>(),
    ) {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        fastrand_shuffle(&mut order, seed);
        let docs: Vec<String> = (0..scores.len()).map(|i| format!("doc {i}")).collect();
        let results: Vec<_> = order.iter().map(|&i| json!({"index": i, "relevance_score": scores[i]})).collect();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let r = runtime.block_on(async {
            let server = MockServer::start().await;
            server.on("POST", "/v2/rerank", MockResponse::json(200, json!({"id": "p", "results": results})));
            client::<Cohere>(&server, "")
                .rerank(RerankRequest::new("m", "q", docs.clone()).return_documents(true))
                .await
                .expect("valid")
        });
        prop_assert_eq!(r.results.len(), scores.len());
        for pair in r.results.windows(2) {
            prop_assert!(pair[0].relevance_score >= pair[1].relevance_score);
        }
        for x in &r.results {
            // As JSON text carries it (the mock sends the score as text).
            let sent: f64 = serde_json::from_str(&json!(scores[x.index]).to_string()).expect("a number");
            prop_assert_eq!(x.relevance_score, sent);
            prop_assert_eq!(x.document.as_deref(), Some(docs[x.index].as_str()));
        }
    }
}

/// A Fisher-Yates shuffle driven by a linear congruential generator.
fn fastrand_shuffle(items: &mut [usize], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = usize::try_from(seed >> 33).unwrap_or(0) % (i + 1);
        items.swap(i, j);
    }
}
