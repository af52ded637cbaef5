//! Gemini and Claude on Google Vertex AI, and Azure OpenAI with Microsoft
//! Entra ID: short-lived OAuth2 tokens instead of static keys.
//!
//! `cargo run --example vertex` runs offline: a loopback mock plays Google's
//! token endpoint, Vertex AI and Entra ID. Against the real services:
//!
//! ```text
//! export GOOGLE_CLOUD_PROJECT=my-project GOOGLE_CLOUD_LOCATION=us-east5   # or `global`
//! gcloud auth application-default login      # or GOOGLE_APPLICATION_CREDENTIALS=key.json
//! let gemini = VertexGemini::from_env()?;    // tokens from Application Default Credentials
//! let azure = AzureOpenAi::config().token_source(Arc::new(EntraId::from_env()?)).with_env()?.connect()?;
//! ```

use std::sync::Arc;
use std::time::Duration;

use llm_runtime::auth::{EntraId, GoogleCredentials};
use llm_runtime::providers::{AzureOpenAi, VertexAnthropic, VertexGemini};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ProviderConfig};
use serde_json::json;

/// A service-account key in the shape the Google Cloud console downloads
/// (a test key pair that grants nothing), its `token_uri` on the mock.
fn service_account_key(mock: &MockServer) -> String {
    let mut key: serde_json::Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/google/service_account.json"
    ))
    .expect("the key file is JSON");
    key["token_uri"] = json!(format!("{}/token", mock.url()));
    key.to_string()
}

/// Point a Vertex provider at the mock: the same `{project}`/`{location}`
/// path as `https://{location}-aiplatform.googleapis.com/v1/...`.
fn on_mock<P: llm_runtime::Provider>(
    config: ProviderConfig<P>,
    mock: &MockServer,
) -> ProviderConfig<P> {
    config
        .base_url(format!(
            "{}/v1/projects/{{project}}/locations/{{location}}",
            mock.url()
        ))
        .max_retries(0)
        .timeout(Duration::from_secs(5))
}

#[tokio::main]
async fn main() -> Result<(), llm_runtime::Error> {
    let mock = MockServer::start().await;
    mock.on(
        "POST",
        "/token",
        MockResponse::json(200, json!({"access_token": "ya29.example-token", "expires_in": 3599, "token_type": "Bearer"})),
    );
    let base = "/v1/projects/my-project/locations/us-east5/publishers";
    mock.on(
        "POST",
        &format!("{base}/google/models/gemini-2.5-flash:generateContent"),
        MockResponse::json(200, json!({"responseId": "r1", "modelVersion": "gemini-2.5-flash",
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Bonjour !"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}})),
    );
    mock.on(
        "POST",
        &format!("{base}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"),
        // The Messages API stream as Vertex relays it: each event an `event:`
        // line naming its `type`, then its `data:` (the official SDKs dispatch
        // on the name; `tests/tests/wire_formats.rs` checks this file with them).
        MockResponse::sse([include_str!(
            "../../tests/fixtures/vertex/claude_stream.sse"
        )]),
    );

    // 1. Gemini on Vertex with a service account: a signed JWT is exchanged
    //    for an access token once, and the cached token serves every call.
    let credentials = Arc::new(GoogleCredentials::from_json(&service_account_key(&mock))?);
    let gemini = on_mock(VertexGemini::config(), &mock)
        .project("my-project")
        .location("us-east5")
        .token_source(credentials.clone())
        .connect()?;
    for _ in 0..3 {
        let reply = gemini
            .chat(ChatRequest::new("gemini-2.5-flash").user("Say hello in French."))
            .await?;
        assert_eq!(reply.text(), "Bonjour !");
    }
    let token_fetches = mock
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    assert_eq!(token_fetches, 1, "one token for three calls");
    let sent = mock.requests().pop().expect("a request");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer ya29.example-token")
    );
    println!("1. Gemini on Vertex: 3 calls, {token_fetches} token fetch, Bearer token sent");

    // 2. Claude on Vertex, streamed: the Anthropic wire through `streamRawPredict`.
    let claude = on_mock(VertexAnthropic::config(), &mock)
        .project("my-project")
        .location("us-east5")
        .token_source(credentials)
        .connect()?;
    let reply = claude
        .chat_stream(ChatRequest::new("claude-sonnet-4-5@20250929").user("Hello"))
        .await?
        .collect_response()
        .await?;
    let body = mock.requests().pop().expect("a request").body_json();
    assert_eq!(body["anthropic_version"], "vertex-2023-10-16");
    assert!(body.get("model").is_none(), "the model is in the URL");
    assert_eq!(reply.text(), "Hello from Claude");
    println!("2. Claude on Vertex (streamed): {:?}", reply.text());

    // 3. Azure OpenAI with Entra ID instead of the `api-key` header.
    mock.on(
        "POST",
        "/contoso.onmicrosoft.com/oauth2/v2.0/token",
        MockResponse::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJ0.entra-token"}),
        ),
    );
    mock.on(
        "POST",
        "/openai/deployments/gpt-4o-mini/chat/completions",
        MockResponse::json(200, json!({"id": "c1", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi from Azure."}, "finish_reason": "stop"}]})),
    );
    let entra = EntraId::new("contoso.onmicrosoft.com", "my-app-id", "my-client-secret")?
        .authority_host(mock.url())?;
    let azure = AzureOpenAi::config()
        .base_url(format!("{}/openai", mock.url()))
        .token_source(Arc::new(entra))
        .connect()?;
    let reply = azure
        .chat(ChatRequest::new("gpt-4o-mini").user("Hello"))
        .await?;
    let sent = mock.requests().pop().expect("a request");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer eyJ0.entra-token")
    );
    assert_eq!(sent.header("api-key"), None);
    println!("3. Azure OpenAI with Entra ID: {:?}", reply.text());
    Ok(())
}
