//! Amazon Bedrock: every request signed with AWS Signature V4, answers in
//! the Converse format, streams as AWS event stream messages.
//!
//! `cargo run --example bedrock`: against AWS when `Bedrock::from_env()`
//! finds a region and credentials (`AWS_REGION` + `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, or `AWS_BEARER_TOKEN_BEDROCK`;
//! `BEDROCK_MODEL` picks the model), otherwise offline on the loopback mock.

use std::sync::Arc;

use futures_util::StreamExt;
use llm_runtime::auth::aws::{Credentials, SigV4Signer};
use llm_runtime::providers::Bedrock;
use llm_runtime::stream::encode_event_message;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ProviderClient, StreamEvent};
use serde_json::json;

#[tokio::main]
async fn main() -> llm_runtime::Result<()> {
    match Bedrock::from_env() {
        Ok(client) => {
            let model = std::env::var("BEDROCK_MODEL")
                .unwrap_or_else(|_| "us.amazon.nova-lite-v1:0".to_owned());
            println!("live: {}", client.info().base_url);
            run(&client, &model).await
        }
        Err(e) => {
            println!("offline ({e})");
            offline().await
        }
    }
}

async fn run(client: &ProviderClient<Bedrock>, model: &str) -> llm_runtime::Result<()> {
    let request = ChatRequest::new(model)
        .system("Answer in one short sentence.")
        .user("What is AWS Bedrock?")
        .max_tokens(100);
    let reply = client.chat(request.clone()).await?;
    println!(
        "{} ({:?}, request id {:?})",
        reply.text(),
        reply.usage,
        reply.meta.request_id
    );
    let mut stream = client.chat_stream(request).await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event? {
            print!("{text}");
        }
    }
    println!();
    Ok(())
}

/// The same calls against a loopback mock that answers as Bedrock does.
async fn offline() -> llm_runtime::Result<()> {
    let server = MockServer::start().await;
    let model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0";
    server.on(
        "POST",
        &format!("{path}/converse"),
        MockResponse::json(
            200,
            json!({
                "output": {"message": {"role": "assistant", "content": [
                    {"text": "Bedrock is AWS's managed service for foundation models."}
                ]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 21, "outputTokens": 11, "totalTokens": 32}
            }),
        )
        .header("x-amzn-requestid", "example-request-id"),
    );
    let event = |kind: &str, payload: serde_json::Value| {
        encode_event_message(
            &[(":message-type", "event"), (":event-type", kind)],
            payload.to_string().as_bytes(),
        )
    };
    server.on(
        "POST",
        &format!("{path}/converse-stream"),
        MockResponse::raw_body_chunks([
            event("messageStart", json!({"role": "assistant"})),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "Bedrock hosts "}}),
            ),
            event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "many models."}}),
            ),
            event("messageStop", json!({"stopReason": "end_turn"})),
            event(
                "metadata",
                json!({"usage": {"inputTokens": 21, "outputTokens": 5}}),
            ),
        ])
        .header("content-type", "application/vnd.amazon.eventstream"),
    );

    // AWS's documentation example keys: the mock does not check them, AWS would.
    let credentials = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "example",
    );
    let client = Bedrock::config()
        .base_url(server.url())
        .url_var("region", "us-east-1")
        .signer(Arc::new(SigV4Signer::new(
            credentials,
            "us-east-1",
            "bedrock",
        )))
        .connect()?;
    run(&client, model).await?;

    for sent in server.requests() {
        let auth = sent.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{auth}"
        );
        assert!(sent.header("x-amz-date").is_some());
    }
    println!("{} requests, each signed", server.request_count());
    Ok(())
}
