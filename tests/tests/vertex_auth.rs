//! Google credentials for Vertex AI over real HTTP on 127.0.0.1: the mock
//! token endpoint verifies every service-account assertion (RS256 signature
//! with the test key pair's public key, `iss`, `aud`, `scope`, `exp`) and
//! issues short-lived tokens; the provider's token cache keeps a token at
//! least the minimum lifetime, fetches once for 50 concurrent calls, and on a 401 from Vertex
//! refetches exactly once and retries exactly once. Authorized-user files and
//! the metadata server (`GCE_METADATA_HOST`), and `with_env()` building the
//! source from the environment, in a child process with exactly its variables.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use llm_runtime::auth::GoogleCredentials;
use llm_runtime::providers::VertexGemini;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind, ProviderConfig};
use secrecy::ExposeSecret;

use common::conformance::fixture_json;
use common::google::{
    LOCATION, PROJECT, TOKEN_PATH, TOKEN_PREFIX, VERTEX_BASE, assert_token_requests_verify, form,
    model_requests, serve_tokens, service_account_json, token_requests, token_uri,
    verify_assertion, vertex_client, vertex_config,
};
use common::run_child;

fn chat_path() -> String {
    format!("{VERTEX_BASE}/publishers/google/models/gemini-2.5-flash:generateContent")
}

fn hello() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash").user("Say hello.")
}

fn gemini_ok() -> MockResponse {
    MockResponse::json(200, fixture_json("gemini", "text.json"))
}

fn bearer(n: usize) -> String {
    format!("Bearer {TOKEN_PREFIX}{n}")
}

#[tokio::test]
async fn the_signed_assertion_verifies_and_its_token_reaches_vertex() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    server.on("POST", &chat_path(), gemini_ok());
    let client = vertex_client::<VertexGemini>(&server);
    let reply = client.chat(hello()).await.expect("chat");
    assert_eq!(reply.provider, "vertex_gemini");
    assert_eq!(assert_token_requests_verify(&server), 1);
    let sent = model_requests(&server);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some(bearer(0).as_str()));

    // The check is real: a tampered assertion, or one for another audience, fails it.
    let token_request = token_requests(&server).remove(0);
    let fields = form(&token_request);
    let assertion = &fields["assertion"];
    let (head_and_claims, signature) = assertion.rsplit_once('.').unwrap();
    let mut flipped = signature.to_owned().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head_and_claims}.{}", String::from_utf8(flipped).unwrap());
    let mut forged = token_request.clone();
    forged.body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={tampered}"
    )
    .into();
    assert!(verify_assertion(&server, &forged).is_err());
    let other = MockServer::start().await;
    assert!(
        verify_assertion(&other, &token_request).is_err(),
        "aud is this server's token URI"
    );
}

#[tokio::test]
async fn fifty_concurrent_calls_share_one_token_fetch() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 2);
    server.on("POST", &chat_path(), gemini_ok());
    let client = vertex_client::<VertexGemini>(&server);
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.chat(hello()).await })
    });
    for call in calls {
        call.await.expect("joined").expect("chat");
    }
    assert_eq!(assert_token_requests_verify(&server), 1, "single flight");
    let sent = model_requests(&server);
    assert_eq!(sent.len(), 50);
    assert!(
        sent.iter()
            .all(|r| r.header("authorization") == Some(bearer(0).as_str()))
    );
}

#[tokio::test]
async fn a_two_second_expires_in_is_taken_as_the_minimum_lifetime() {
    let server = MockServer::start().await;
    // Two-second tokens with a 1.5 s margin: used to be refetched after half a
    // second; an endpoint's lifetime is now at least MIN_TOKEN_LIFETIME, so the
    // token serves on (a refresh behind it is covered by tests/token_deadlines.rs).
    serve_tokens(&server, 2, 3);
    server.on("POST", &chat_path(), gemini_ok());
    let client = vertex_config::<VertexGemini>(&server)
        .token_refresh_ahead(Duration::from_millis(1500))
        .connect()
        .unwrap();
    client.chat(hello()).await.expect("first");
    client.chat(hello()).await.expect("cached");
    tokio::time::sleep(Duration::from_millis(700)).await;
    client.chat(hello()).await.expect("still cached");
    assert_eq!(assert_token_requests_verify(&server), 1, "not refetched");
    let used: Vec<Option<String>> = model_requests(&server)
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(used, [Some(bearer(0)), Some(bearer(0)), Some(bearer(0))]);
}

#[tokio::test]
async fn a_401_from_vertex_refetches_once_and_retries_once() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 3);
    server.on_sequence(
        "POST",
        &chat_path(),
        vec![
            MockResponse::json(401, fixture_json("vertex", "error_401.json")),
            gemini_ok(),
        ],
    );
    let client = vertex_client::<VertexGemini>(&server);
    let reply = client.chat(hello()).await.expect("the retry succeeds");
    assert!(!reply.text().is_empty());
    assert_eq!(
        assert_token_requests_verify(&server),
        2,
        "exactly one refetch"
    );
    let used: Vec<Option<String>> = model_requests(&server)
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        used,
        [Some(bearer(0)), Some(bearer(1))],
        "exactly one retry"
    );

    // Refused again: the error, after one refetch, not a loop.
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 3);
    server.on(
        "POST",
        &chat_path(),
        MockResponse::json(401, fixture_json("vertex", "error_401.json")),
    );
    let client = vertex_client::<VertexGemini>(&server);
    let e = client.chat(hello()).await.expect_err("refused twice");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(e.status(), Some(401));
    assert_eq!(token_requests(&server).len(), 2);
    assert_eq!(model_requests(&server).len(), 2);
}

#[tokio::test]
async fn a_refused_assertion_is_an_authentication_error_naming_the_endpoint() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        TOKEN_PATH,
        MockResponse::json(
            400,
            serde_json::json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}),
        ),
    );
    let client = vertex_client::<VertexGemini>(&server);
    let e = client.chat(hello()).await.expect_err("no token");
    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
    assert!(e.message().contains("Google token endpoint"), "{e}");
    assert!(
        model_requests(&server).is_empty(),
        "no model request without a token"
    );
}

#[tokio::test]
async fn an_authorized_user_file_exchanges_its_refresh_token() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3599, 1);
    let adc = serde_json::json!({
        "type": "authorized_user",
        "client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com",
        "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
        "refresh_token": "1//0gRefreshTokenForTests",
        "token_uri": token_uri(&server),
    });
    let creds = GoogleCredentials::from_json(&adc.to_string()).unwrap();
    let token = llm_runtime::auth::TokenSource::fetch(
        &creds,
        &llm_runtime::http::HttpClient::shared().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(token.token.expose_secret(), format!("{TOKEN_PREFIX}0"));
    assert!(token.expires_at.is_some());
    let sent = token_requests(&server).remove(0);
    let fields = form(&sent);
    assert_eq!(fields.len(), 4, "{fields:?}");
    assert_eq!(fields["grant_type"], "refresh_token");
    assert_eq!(fields["client_id"], adc["client_id"].as_str().unwrap());
    assert_eq!(fields["client_secret"], "d-FL95Q19q7MQmFpd7hHD0Ty");
    assert_eq!(fields["refresh_token"], "1//0gRefreshTokenForTests");
}

// ---- from the environment, in a child process ----

/// Where the child finds the mock, and what it expects.
const MOCK_VAR: &str = "VERTEX_TEST_MOCK";
const EXPECT_PROJECT_VAR: &str = "VERTEX_TEST_EXPECT_PROJECT";

/// The child: `with_env()` builds the token source from exactly the
/// variables it was given, and one chat reaches the mock.
#[tokio::test]
#[ignore = "run by the tests below in a child process with a chosen environment"]
async fn from_env_child() {
    let mock = std::env::var(MOCK_VAR).expect("the parent sets it");
    let project = std::env::var(EXPECT_PROJECT_VAR).expect("the parent sets it");
    let client = VertexGemini::config()
        .base_url(format!(
            "{mock}/v1/projects/{{project}}/locations/{{location}}"
        ))
        .max_retries(0)
        .with_env()
        .expect("the environment configures Vertex")
        .connect()
        .expect("valid");
    assert_eq!(
        llm_runtime::LlmProvider::info(&client).base_url,
        format!("{mock}/v1/projects/{project}/locations/{LOCATION}")
    );
    client.chat(hello()).await.expect("chat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_env_reads_a_service_account_file_and_its_project() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    server.on("POST", &chat_path(), gemini_ok());
    let dir = std::env::temp_dir().join(format!("vertex-adc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key.json");
    std::fs::write(&key_file, service_account_json(&server)).unwrap();
    // No GOOGLE_CLOUD_PROJECT: the key file's `project_id` fills `{project}`.
    run_child(&[
        ("GOOGLE_APPLICATION_CREDENTIALS", key_file.to_str().unwrap()),
        ("GOOGLE_CLOUD_LOCATION", LOCATION),
        (MOCK_VAR, &server.url()),
        (EXPECT_PROJECT_VAR, PROJECT),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(assert_token_requests_verify(&server), 1);
    let sent = model_requests(&server);
    assert_eq!(sent[0].path, chat_path());
    assert_eq!(sent[0].header("authorization"), Some(bearer(0).as_str()));

    // The key given inline in the variable works the same.
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    server.on("POST", &chat_path(), gemini_ok());
    run_child(&[
        (
            "GOOGLE_APPLICATION_CREDENTIALS",
            &service_account_json(&server),
        ),
        ("GOOGLE_CLOUD_PROJECT", PROJECT),
        ("GOOGLE_CLOUD_LOCATION", LOCATION),
        (MOCK_VAR, &server.url()),
        (EXPECT_PROJECT_VAR, PROJECT),
    ]);
    assert_eq!(assert_token_requests_verify(&server), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_env_falls_back_to_the_metadata_server() {
    let server = MockServer::start().await;
    let metadata_path = "/computeMetadata/v1/instance/service-accounts/default/token";
    server.on(
        "GET",
        metadata_path,
        MockResponse::json(
            200,
            serde_json::json!({"access_token": format!("{TOKEN_PREFIX}0"), "expires_in": 3599, "token_type": "Bearer"}),
        ),
    );
    server.fallback(gemini_ok());
    let host = server.url().trim_start_matches("http://").to_owned();
    // No credentials variable and no gcloud file: the metadata server.
    run_child(&[
        ("HOME", "/nonexistent-home"),
        ("GCE_METADATA_HOST", &host),
        ("GOOGLE_CLOUD_PROJECT", "meta-project"),
        ("GOOGLE_CLOUD_LOCATION", LOCATION),
        (MOCK_VAR, &server.url()),
        (EXPECT_PROJECT_VAR, "meta-project"),
    ]);
    let sent = server.requests();
    let asked = sent
        .iter()
        .find(|r| r.path == metadata_path)
        .expect("asked");
    assert_eq!(asked.method, "GET");
    assert_eq!(asked.header("metadata-flavor"), Some("Google"));
    assert_eq!(
        asked.query_param("scopes"),
        Some("https://www.googleapis.com/auth/cloud-platform")
    );
    let chat = sent.iter().find(|r| r.method == "POST").expect("chatted");
    assert_eq!(
        chat.path,
        "/v1/projects/meta-project/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(chat.header("authorization"), Some(bearer(0).as_str()));
}

#[test]
fn a_config_without_any_source_says_how_to_give_one() {
    let e = ProviderConfig::new(VertexGemini)
        .url_var("project", PROJECT)
        .url_var("location", LOCATION)
        .connect()
        .expect_err("no token source");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("token_source"), "{e}");
}
