//! Azure OpenAI with Microsoft Entra ID over real HTTP on 127.0.0.1: the
//! client-credentials request is exactly the one Microsoft documents
//! (`POST /{tenant}/oauth2/v2.0/token`, form-encoded `client_id`, `scope`,
//! `client_secret`, `grant_type=client_credentials`), and its token reaches
//! the model request as `Authorization: Bearer` in place of the `api-key`
//! header, chosen by configuration on the same provider.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use llm_runtime::auth::EntraId;
use llm_runtime::providers::AzureOpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind, ProviderClient};
use serde_json::json;

use common::{KEY, chat_ok};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "535fb089-9ff3-47b6-9bfb-4f1264799865";
const CLIENT_SECRET: &str = "qWgdYAmab0YSkuL1qKv5bPX~entra-secret-never-print";
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-access-token-never-print";
const CHAT: &str = "/openai/deployments/gpt-4o-mini/chat/completions";

fn token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

fn entra(server: &MockServer) -> EntraId {
    EntraId::new(TENANT, CLIENT_ID, CLIENT_SECRET)
        .unwrap()
        .authority_host(server.url())
        .unwrap()
}

fn serve_token(server: &MockServer) {
    server.on(
        "POST",
        &token_path(),
        MockResponse::json(
            200,
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN}),
        ),
    );
}

fn azure(server: &MockServer) -> ProviderClient<AzureOpenAi> {
    AzureOpenAi::config()
        .base_url(format!("{}/openai", server.url()))
        .token_source(Arc::new(entra(server)))
        .max_retries(0)
        .connect()
        .unwrap()
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini").user("Say hello")
}

#[tokio::test]
async fn the_client_credentials_request_is_as_microsoft_documents_it() {
    let server = MockServer::start().await;
    serve_token(&server);
    server.on("POST", CHAT, chat_ok("hi from Azure"));
    let reply = azure(&server).chat(request()).await.unwrap();
    assert_eq!(reply.text(), "hi from Azure");

    let sent = server.requests();
    assert_eq!(sent.len(), 2, "one token request, one chat");
    let token = &sent[0];
    assert_eq!(token.method, "POST");
    assert_eq!(token.path, token_path());
    assert_eq!(token.query, None);
    assert_eq!(
        token.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        token.header("authorization"),
        None,
        "the secret is in the body only"
    );
    assert_eq!(
        token.body_text(),
        Some(
            format!(
                "client_id={CLIENT_ID}&scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default&client_secret=qWgdYAmab0YSkuL1qKv5bPX%7Eentra-secret-never-print&grant_type=client_credentials"
            )
            .as_str()
        )
    );

    let chat = &sent[1];
    assert_eq!(chat.path, CHAT);
    assert_eq!(chat.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(
        chat.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(chat.header("api-key"), None);
}

#[tokio::test]
async fn a_token_source_replaces_the_api_key_and_without_one_the_key_is_sent() {
    let server = MockServer::start().await;
    serve_token(&server);
    server.on("POST", CHAT, chat_ok("hi"));
    // Both given: the token is sent, the key is not.
    let both = AzureOpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/openai", server.url()))
        .token_source(Arc::new(entra(&server)))
        .connect()
        .unwrap();
    both.chat(request()).await.unwrap();
    let chat = server.requests().pop().unwrap();
    assert_eq!(
        chat.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(chat.header("api-key"), None);

    let key_only = AzureOpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/openai", server.url()))
        .connect()
        .unwrap();
    key_only.chat(request()).await.unwrap();
    let chat = server.requests().pop().unwrap();
    assert_eq!(chat.header("api-key"), Some(KEY));
    assert_eq!(chat.header("authorization"), None);

    let neither = AzureOpenAi::config()
        .base_url(format!("{}/openai", server.url()))
        .connect()
        .unwrap_err();
    assert_eq!(neither.kind(), ErrorKind::Config);
}

#[tokio::test]
async fn a_refused_secret_is_an_authentication_error_without_the_secret() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        &token_path(),
        MockResponse::json(
            401,
            json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided ({CLIENT_SECRET})."),
                "error_codes": [7000215],
                "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
                "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd",
            }),
        ),
    );
    let e = azure(&server).chat(request()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(e.message().contains("Entra ID token endpoint"), "{e}");
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    }
    assert_eq!(server.requests().len(), 1, "no chat without a token");
}

#[tokio::test]
async fn a_401_from_azure_fetches_a_new_token_once() {
    let server = MockServer::start().await;
    serve_token(&server);
    server.on_sequence(
        "POST",
        CHAT,
        vec![
            MockResponse::json(
                401,
                json!({"error": {"code": "401", "message": "Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}}),
            ),
            chat_ok("after refresh"),
        ],
    );
    let reply = azure(&server).chat(request()).await.unwrap();
    assert_eq!(reply.text(), "after refresh");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [token_path(), CHAT.to_owned(), token_path(), CHAT.to_owned()]
    );
}
