//! Embeddings, and cosine similarity between them.
//!
//! `cargo run --example embeddings` (offline, on the loopback mock).

use llm_runtime::EmbeddingRequest;
use llm_runtime::providers::OpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use serde_json::json;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/v1/embeddings",
        MockResponse::json(
            200,
            json!({"object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.9, 0.0]},
                 {"object": "embedding", "index": 1, "embedding": [0.2, 0.8, 0.1]},
                 {"object": "embedding", "index": 2, "embedding": [0.9, -0.1, 0.3]}],
        "usage": {"prompt_tokens": 9, "total_tokens": 9}}),
        ),
    );
    let client = OpenAi::config()
        .api_key("demo")
        .base_url(format!("{}/v1", mock.url()))
        .connect()?;

    // `embed` exists because OpenAi declares `capabilities(embeddings)`; on a
    // provider without it, this line would not compile.
    let texts = ["a cat sat", "a kitten sat", "stock prices fell"];
    let reply = client
        .embed(EmbeddingRequest::new("text-embedding-3-small", texts))
        .await?;
    let v = |i: usize| reply.embeddings[i].vector.as_slice();
    println!("{:?} ~ {:?}: {:.3}", texts[0], texts[1], cosine(v(0), v(1)));
    println!("{:?} ~ {:?}: {:.3}", texts[0], texts[2], cosine(v(0), v(2)));
    assert!(cosine(v(0), v(1)) > cosine(v(0), v(2)));
    Ok(())
}
