//! Token auth over loopback: a token source behind the one shared cache
//! (single-flight, bounded lifetimes, one refetch on a 401), request
//! signing on every attempt, and neither a token nor a signer's secret in
//! errors or Debug.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use llm_runtime::auth::{AccessToken, RequestSigner, TokenSource};
use llm_runtime::dialects::openai::OpenAiDialect;
use llm_runtime::http::HttpClient;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ErrorKind, Provider, ProviderConfig, Result,
    spec::{AuthScheme, ProviderSpec},
};
use secrecy::SecretString;
use serde_json::json;

use common::{CHAT_PATH, chat_ok, request};

/// An OpenAI-wire provider that authenticates with access tokens.
#[derive(Debug, Default)]
struct Tokened;

impl Provider for Tokened {
    const SPEC: ProviderSpec = {
        let mut spec = ProviderSpec::new("tokened", "https://tokened.example/v1");
        spec.auth = AuthScheme::Token;
        spec
    };
    type Wire = OpenAiDialect;
    fn wire(&self) -> &OpenAiDialect {
        &OpenAiDialect
    }
}

/// An OpenAI-wire provider whose requests are signed.
#[derive(Debug, Default)]
struct Signed;

impl Provider for Signed {
    const SPEC: ProviderSpec = {
        let mut spec = ProviderSpec::new("signed", "https://signed.example/v1");
        spec.auth = AuthScheme::SigV4 { service: "test" };
        spec
    };
    type Wire = OpenAiDialect;
    fn wire(&self) -> &OpenAiDialect {
        &OpenAiDialect
    }
}

const TOKEN_PREFIX: &str = "ya29.token-never-print-";

/// Fetches `ya29...-N` from a loopback token endpoint, counting fetches.
struct EndpointSource {
    url: String,
    fetched: AtomicU32,
    lifetime: Duration,
}

#[async_trait]
impl TokenSource for EndpointSource {
    async fn fetch(&self, http: &HttpClient) -> Result<AccessToken> {
        let n = self.fetched.fetch_add(1, Ordering::SeqCst);
        let reply: serde_json::Value = http.post(&self.url).send().await?.json()?;
        let token = reply["access_token"].as_str().unwrap_or_default();
        Ok(AccessToken::expiring_in(
            format!("{token}{n}"),
            self.lifetime,
        ))
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![SecretString::from("client-secret-never-print".to_owned())]
    }
}

async fn token_server() -> MockServer {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/token",
        MockResponse::json(
            200,
            json!({"access_token": TOKEN_PREFIX, "expires_in": 3600}),
        ),
    );
    server
}

fn source(server: &MockServer, lifetime: Duration) -> Arc<EndpointSource> {
    Arc::new(EndpointSource {
        url: format!("{}/token", server.url()),
        fetched: AtomicU32::new(0),
        lifetime,
    })
}

fn bearer(server: &MockServer, i: usize) -> Option<String> {
    server.requests()[i]
        .header("authorization")
        .map(str::to_owned)
}

#[tokio::test]
async fn one_fetch_serves_fifty_concurrent_calls() {
    let server = token_server().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let src = source(&server, Duration::from_secs(3600));
    let client = ProviderConfig::new(Tokened)
        .base_url(format!("{}/v1", server.url()))
        .token_source(src.clone())
        .connect()
        .expect("valid");
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.chat(request()).await })
    });
    for call in calls {
        call.await.expect("joined").expect("chat");
    }
    assert_eq!(src.fetched.load(Ordering::SeqCst), 1, "single flight");
    let chats: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == CHAT_PATH)
        .collect();
    assert_eq!(chats.len(), 50);
    let expected = format!("Bearer {TOKEN_PREFIX}0");
    assert!(
        chats
            .iter()
            .all(|r| r.header("authorization") == Some(expected.as_str()))
    );
}

#[tokio::test]
async fn a_token_shorter_than_its_refresh_margin_is_not_fetched_per_call() {
    let server = token_server().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    // 400 ms tokens with a 300 ms margin: kept at least MIN_CACHED_LIFETIME
    // and refreshed halfway at the earliest, never on every call (refresh
    // ahead over loopback is in tests/token_deadlines.rs).
    let src = source(&server, Duration::from_millis(400));
    let client = ProviderConfig::new(Tokened)
        .base_url(format!("{}/v1", server.url()))
        .token_source(src.clone())
        .token_refresh_ahead(Duration::from_millis(300))
        .connect()
        .expect("valid");
    client.chat(request()).await.expect("first");
    client.chat(request()).await.expect("cached");
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.chat(request()).await.expect("still cached");
    assert_eq!(src.fetched.load(Ordering::SeqCst), 1, "one fetch");
}

#[tokio::test]
async fn a_401_refetches_once_and_retries_once() {
    let server = token_server().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::json(
                401,
                json!({"error": {"message": format!("token {TOKEN_PREFIX}0 expired")}}),
            ),
            chat_ok("after refresh"),
        ],
    );
    let src = source(&server, Duration::from_secs(3600));
    let client = ProviderConfig::new(Tokened)
        .base_url(format!("{}/v1", server.url()))
        .token_source(src.clone())
        .max_retries(0)
        .connect()
        .expect("valid");
    let reply = client.chat(request()).await.expect("the retry succeeds");
    assert_eq!(reply.text(), "after refresh");
    assert_eq!(src.fetched.load(Ordering::SeqCst), 2, "exactly one refetch");
    let chats: Vec<usize> = (0..server.requests().len())
        .filter(|&i| server.requests()[i].path == CHAT_PATH)
        .collect();
    assert_eq!(chats.len(), 2, "exactly one retry");
    assert_eq!(
        bearer(&server, chats[0]),
        Some(format!("Bearer {TOKEN_PREFIX}0"))
    );
    assert_eq!(
        bearer(&server, chats[1]),
        Some(format!("Bearer {TOKEN_PREFIX}1"))
    );
}

#[tokio::test]
async fn a_second_401_is_the_error_and_no_token_leaks() {
    let server = token_server().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": format!("bad token {TOKEN_PREFIX}1 (client-secret-never-print)")}}),
        ),
    );
    let src = source(&server, Duration::from_secs(3600));
    let client = ProviderConfig::new(Tokened)
        .base_url(format!("{}/v1", server.url()))
        .token_source(src.clone())
        .connect()
        .expect("valid");
    let e = client.chat(request()).await.expect_err("refused twice");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(
        src.fetched.load(Ordering::SeqCst),
        2,
        "one refetch, not a loop"
    );
    for shown in [e.to_string(), format!("{e:?}"), format!("{client:?}")] {
        assert!(!shown.contains(TOKEN_PREFIX), "{shown}");
        assert!(!shown.contains("client-secret-never-print"), "{shown}");
    }
}

#[tokio::test]
async fn token_auth_without_a_source_is_a_config_error() {
    let e = ProviderConfig::new(Tokened)
        .base_url("http://127.0.0.1:9/v1")
        .connect()
        .expect_err("no source");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("token_source"), "{e}");
}

/// Signs with a counter, so each attempt carries a fresh signature.
struct CountingSigner(AtomicU32);

#[async_trait]
impl RequestSigner for CountingSigner {
    async fn sign(&self, request: &mut reqwest::Request) -> Result<()> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map_or(0, <[u8]>::len);
        let value = format!("sig-{n}-over-{body}-bytes");
        request
            .headers_mut()
            .insert("x-signature", value.parse().expect("valid header"));
        Ok(())
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![SecretString::from("aws-secret-never-print".to_owned())]
    }
}

#[tokio::test]
async fn every_attempt_is_signed_again_over_its_final_body() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            MockResponse::json(503, json!({"error": {"message": "busy"}})),
            chat_ok("signed"),
        ],
    );
    let signer = Arc::new(CountingSigner(AtomicU32::new(0)));
    let client = ProviderConfig::new(Signed)
        .base_url(format!("{}/v1", server.url()))
        .retry_policy(common::fast_retries())
        .signer(signer.clone())
        .connect()
        .expect("valid");
    client.chat(request()).await.expect("second attempt");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    for (i, r) in seen.iter().enumerate() {
        let expected = format!("sig-{i}-over-{}-bytes", r.body.len());
        assert_eq!(r.header("x-signature"), Some(expected.as_str()));
    }
    assert!(!format!("{client:?}").contains("aws-secret-never-print"));
}
