//! Reranking search results with Cohere's `/v2/rerank`, through the `Client`.
//!
//! `cargo run --example rerank` (offline, on the loopback mock).

use llm_runtime::providers::Cohere;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{Client, types::RerankRequest};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v2/rerank",
        MockResponse::json(
            200,
            json!({"id": "r-1", "results": [
            {"index": 2, "relevance_score": 0.12}, {"index": 0, "relevance_score": 0.91}],
            "meta": {"billed_units": {"search_units": 1}}}),
        ),
    );
    let cohere = Cohere::config()
        .api_key("demo")
        .base_url(mock.url())
        .connect()?;
    let client = Client::builder().register(cohere)?.build()?;

    let documents = [
        "Paris is the capital of France.",
        "The Eiffel Tower is 330 m tall.",
        "Lyon is known for its food.",
    ];
    let ranked = client
        .rerank(
            "cohere/rerank-v3.5",
            RerankRequest::new("", "What is the capital of France?", documents)
                .top_n(2)
                .return_documents(true),
        )
        .await?;
    for result in &ranked.results {
        println!(
            "{:.2}  #{} {}",
            result.relevance_score,
            result.index,
            result.document.as_deref().unwrap_or("")
        );
    }
    println!("billed: {:?} search unit(s)", ranked.search_units);
    assert_eq!(ranked.results[0].index, 0);
    Ok(())
}
