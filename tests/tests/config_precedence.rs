//! The precedence table on `ProviderConfig`, one test per row: a builder call
//! beats the environment, which beats the declaration, whatever the order of
//! the calls (`with_env()` before or after the builder call), and an error
//! never asks to set a variable that is set.
//!
//! The environment is process-wide (and setting it is `unsafe`, which this
//! workspace forbids), so each scenario runs this binary again as a child
//! process with exactly its variables (`common::run_child`); the child runs
//! [`from_env_child`], which dispatches on [`SCENARIO`].
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use llm_runtime::auth::StaticToken;
use llm_runtime::auth::aws::{Credentials, SigV4Signer};
use llm_runtime::providers::{Bedrock, CloudflareWorkersAi, OpenAiCompatible, VertexGemini};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind, Provider, ProviderConfig};

use common::conformance::fixture_json;
use common::google::{LOCATION, PROJECT, TOKEN_PREFIX, serve_tokens, token_uri};
use common::{CHAT_PATH, chat_ok, run_child};

/// Which scenario the child runs.
const SCENARIO: &str = "PRECEDENCE_SCENARIO";
/// The parent's mock, for scenarios whose variables point at it.
const MOCK: &str = "PRECEDENCE_MOCK_URL";

/// A gateway declared with every source a setting can have.
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "precedence_gateway", base_url = "https://gateway.precedence.example/v1",
           auth = "bearer", env = "PRECEDENCE_API_KEY", base_url_env = "PRECEDENCE_BASE_URL",
           headers("x-client" = "declared"), env_headers("x-portkey-virtual-key" = "PRECEDENCE_VIRTUAL_KEY"),
           timeout_secs = 1, capabilities(chat, stream), dialect = openai)]
struct Gateway;

/// `config` both ways round: the builder call before `with_env()`, and after.
fn both_orders<P: Provider>(
    config: impl Fn() -> ProviderConfig<P>,
    explicit: impl Fn(ProviderConfig<P>) -> ProviderConfig<P>,
) -> [ProviderConfig<P>; 2] {
    [
        explicit(config()).with_env().unwrap(),
        explicit(config().with_env().unwrap()),
    ]
}

fn hello() -> ChatRequest {
    ChatRequest::new("tiny").user("hi")
}

/// A gateway at the child's own mock, with a key (for rows about other settings).
fn gateway_at(server: &MockServer) -> ProviderConfig<Gateway> {
    Gateway::config()
        .base_url(format!("{}/v1", server.url()))
        .max_retries(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in a child process by the tests of this file"]
async fn from_env_child() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return; // run by hand with --ignored: nothing to check
    };
    match scenario.as_str() {
        "key" => child_key().await,
        "key_unset" => child_key_unset(),
        "base_url" => child_base_url().await,
        "url_var" => child_url_var(),
        "url_var_unset" => child_url_var_unset(),
        "vertex_location" => child_vertex_location(),
        "env_header" => child_env_header().await,
        "env_header_unset" => child_env_header_unset(),
        "token" => child_token().await,
        "aws_bearer" => child_aws_bearer().await,
        "aws_keys" => child_aws_keys().await,
        "key_optional" => child_key_optional().await,
        other => panic!("unknown scenario {other}"),
    }
}

/// `PRECEDENCE_API_KEY=env-key`.
async fn child_key() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let configs = both_orders(|| gateway_at(&server), |c| c.api_key("explicit-key"));
    for config in configs {
        config.connect().unwrap().chat(hello()).await.unwrap();
    }
    gateway_at(&server)
        .with_env()
        .unwrap()
        .connect()
        .unwrap()
        .chat(hello())
        .await
        .unwrap();
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        sent,
        [
            "Bearer explicit-key",
            "Bearer explicit-key",
            "Bearer env-key"
        ]
    );
    // Set but not read: the error says so, and does not ask to set it.
    let e = gateway_at(&server)
        .header("x-portkey-virtual-key", "vk")
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("PRECEDENCE_API_KEY is set, but"),
        "{e}"
    );
    assert!(!e.message().contains("set PRECEDENCE_API_KEY"), "{e}");
}

/// No variable: a `Config` error naming it, from `connect` as from `from_env`.
fn child_key_unset() {
    for e in [
        Gateway::config()
            .with_env()
            .unwrap()
            .validate()
            .unwrap_err(),
        Gateway::from_env().unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("PRECEDENCE_API_KEY is not set"), "{e}");
    }
}

#[test]
fn row_api_key() {
    run_child(&[
        (SCENARIO, "key"),
        ("PRECEDENCE_API_KEY", "env-key"),
        ("PRECEDENCE_VIRTUAL_KEY", "vk"),
    ]);
    run_child(&[(SCENARIO, "key_unset"), ("PRECEDENCE_VIRTUAL_KEY", "vk")]);
}

/// `PRECEDENCE_BASE_URL` points where nothing listens.
async fn child_base_url() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let mock = format!("{}/v1", server.url());
    let config = || {
        Gateway::config()
            .api_key("k")
            .header("x-portkey-virtual-key", "vk")
            .max_retries(0)
    };
    for config in both_orders(config, |c| c.base_url(&mock)) {
        let client = config.connect().unwrap();
        assert_eq!(client.info().base_url, mock);
        client.chat(hello()).await.unwrap();
    }
    assert_eq!(
        server.request_count(),
        2,
        "the mock, never the variable's URL"
    );
    let from_env = config().with_env().unwrap().connect().unwrap();
    assert_eq!(from_env.info().base_url, "http://127.0.0.1:9/v1");
    let declared = config().connect().unwrap();
    assert_eq!(
        declared.info().base_url,
        "https://gateway.precedence.example/v1"
    );
}

#[test]
fn row_base_url() {
    run_child(&[
        (SCENARIO, "base_url"),
        ("PRECEDENCE_BASE_URL", "http://127.0.0.1:9/v1"),
        ("PRECEDENCE_VIRTUAL_KEY", "vk"),
    ]);
}

/// `CLOUDFLARE_ACCOUNT_ID=env-acct`.
fn child_url_var() {
    let config = || CloudflareWorkersAi::config().api_key("cf-key");
    for config in both_orders(config, |c| c.url_var("account_id", "explicit-acct")) {
        let base = config.connect().unwrap().info().base_url;
        assert!(base.contains("/accounts/explicit-acct/"), "{base}");
    }
    let base = config()
        .with_env()
        .unwrap()
        .connect()
        .unwrap()
        .info()
        .base_url;
    assert!(base.contains("/accounts/env-acct/"), "{base}");
    let e = config().connect().unwrap_err();
    assert!(
        e.message().contains("CLOUDFLARE_ACCOUNT_ID is set, but"),
        "{e}"
    );
}

/// No `CLOUDFLARE_ACCOUNT_ID`: the error asks for it.
fn child_url_var_unset() {
    let e = CloudflareWorkersAi::config()
        .api_key("cf-key")
        .with_env()
        .unwrap()
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("set CLOUDFLARE_ACCOUNT_ID"), "{e}");
}

/// `GOOGLE_CLOUD_LOCATION=global`: the host follows the location that wins,
/// whatever the order (`global` has no regional host).
fn child_vertex_location() {
    let config = || {
        VertexGemini::config()
            .project("p-1")
            .token_source(Arc::new(StaticToken::new("static-token")))
    };
    let regional = "https://us-east5-aiplatform.googleapis.com/v1/projects/p-1/locations/us-east5";
    for config in both_orders(config, |c| c.location("us-east5")) {
        assert_eq!(config.connect().unwrap().info().base_url, regional);
    }
    let twice = config().location("global").location("us-east5");
    assert_eq!(twice.connect().unwrap().info().base_url, regional);
    let from_env = config().with_env().unwrap().connect().unwrap();
    assert_eq!(
        from_env.info().base_url,
        "https://aiplatform.googleapis.com/v1/projects/p-1/locations/global"
    );
}

#[test]
fn row_url_placeholder() {
    run_child(&[(SCENARIO, "url_var"), ("CLOUDFLARE_ACCOUNT_ID", "env-acct")]);
    run_child(&[(SCENARIO, "url_var_unset")]);
    run_child(&[
        (SCENARIO, "vertex_location"),
        ("GOOGLE_CLOUD_LOCATION", "global"),
    ]);
}

/// `PRECEDENCE_VIRTUAL_KEY=env-vk`, and the base URL and key variables point
/// at the parent's mock, so `from_env()` alone makes a call.
async fn child_env_header() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let configs = both_orders(
        || gateway_at(&server),
        |c| c.header("x-portkey-virtual-key", "explicit-vk"),
    );
    for config in configs {
        config.connect().unwrap().chat(hello()).await.unwrap();
    }
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("x-portkey-virtual-key").unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["explicit-vk", "explicit-vk"]);
    // `from_env()` reads the declared header's variable too.
    Gateway::from_env().unwrap().chat(hello()).await.unwrap();
    // Set but not read: the error says so.
    let e = gateway_at(&server).api_key("k").connect().unwrap_err();
    assert!(
        e.message().contains("PRECEDENCE_VIRTUAL_KEY is set, but"),
        "{e}"
    );
    assert!(!e.message().contains("set PRECEDENCE_VIRTUAL_KEY"), "{e}");
}

fn child_env_header_unset() {
    let e = Gateway::config()
        .api_key("k")
        .with_env()
        .unwrap()
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("set PRECEDENCE_VIRTUAL_KEY"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_header_from_a_variable() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let base = format!("{}/v1", server.url());
    tokio::task::spawn_blocking(move || {
        run_child(&[
            (SCENARIO, "env_header"),
            ("PRECEDENCE_VIRTUAL_KEY", "env-vk"),
            ("PRECEDENCE_API_KEY", "env-key"),
            ("PRECEDENCE_BASE_URL", &base),
        ]);
        run_child(&[(SCENARIO, "env_header_unset")]);
    })
    .await
    .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "`from_env()` called the variable's URL");
    assert_eq!(requests[0].header("x-portkey-virtual-key"), Some("env-vk"));
    assert_eq!(requests[0].header("authorization"), Some("Bearer env-key"));
}

/// `GOOGLE_APPLICATION_CREDENTIALS` names an authorized-user file whose
/// token endpoint is the parent's mock, which also serves the chat.
async fn child_token() {
    let mock = std::env::var(MOCK).unwrap();
    let config = || VertexGemini::config().base_url(&mock).max_retries(0);
    let explicit = |c: ProviderConfig<VertexGemini>| {
        c.token_source(Arc::new(StaticToken::new("explicit-token")))
    };
    for config in both_orders(config, explicit) {
        config.connect().unwrap().chat(gemini()).await.unwrap();
    }
    config()
        .with_env()
        .unwrap()
        .connect()
        .unwrap()
        .chat(gemini())
        .await
        .unwrap();
}

fn gemini() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash").user("hi")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_token_source() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    let chat = format!(
        "/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    server.on(
        "POST",
        &chat,
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let adc = serde_json::json!({"type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
        "client_secret": "user-secret", "refresh_token": "1//0g-refresh", "token_uri": token_uri(&server)});
    let path = std::env::temp_dir().join(format!("precedence-adc-{}.json", std::process::id()));
    std::fs::write(&path, adc.to_string()).unwrap();
    let (file, mock) = (path.display().to_string(), server.url());
    tokio::task::spawn_blocking(move || {
        run_child(&[
            (SCENARIO, "token"),
            ("GOOGLE_APPLICATION_CREDENTIALS", &file),
            ("GOOGLE_CLOUD_PROJECT", PROJECT),
            ("GOOGLE_CLOUD_LOCATION", LOCATION),
            (MOCK, &mock),
        ]);
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    let auth: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == chat)
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        auth,
        [
            "Bearer explicit-token".to_owned(),
            "Bearer explicit-token".to_owned(),
            format!("Bearer {TOKEN_PREFIX}0"),
        ]
    );
    let exchanges = server
        .requests()
        .iter()
        .filter(|r| r.path == "/token")
        .count();
    assert_eq!(
        exchanges, 1,
        "only the environment's credentials fetch a token"
    );
}

/// The Bedrock chat path of the test model.
const CONVERSE: &str = "/model/my-model/converse";

fn bedrock_at(server: &MockServer) -> ProviderConfig<Bedrock> {
    Bedrock::config()
        .base_url(server.url())
        .max_retries(0)
        .timeout(Duration::from_secs(5))
}

/// Call `configs` on the child's mock; the `authorization` each sent.
async fn authorizations(server: &MockServer, configs: Vec<ProviderConfig<Bedrock>>) -> Vec<String> {
    server.on(
        "POST",
        CONVERSE,
        MockResponse::json(200, fixture_json("bedrock", "text.json")),
    );
    for config in configs {
        let _ = config
            .connect()
            .unwrap()
            .chat(ChatRequest::new("my-model").user("hi"))
            .await;
    }
    server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect()
}

fn us_east_signer() -> Arc<SigV4Signer> {
    let credentials = Credentials::new("AKIDEXPLICIT", "explicit/secret", None, None, "test");
    Arc::new(SigV4Signer::new(credentials, "us-east-1", "bedrock"))
}

/// `AWS_BEARER_TOKEN_BEDROCK=env-bearer`.
async fn child_aws_bearer() {
    let server = MockServer::start().await;
    let mut configs: Vec<_> =
        both_orders(|| bedrock_at(&server), |c| c.api_key("explicit-bearer")).into();
    configs.extend(both_orders(
        || bedrock_at(&server),
        |c| c.signer(us_east_signer()),
    ));
    configs.push(bedrock_at(&server).with_env().unwrap());
    let sent = authorizations(&server, configs).await;
    assert_eq!(
        sent[..2],
        ["Bearer explicit-bearer", "Bearer explicit-bearer"]
    );
    assert!(
        sent[2].starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXPLICIT/"),
        "{sent:?}"
    );
    assert!(
        sent[3].starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXPLICIT/"),
        "{sent:?}"
    );
    assert_eq!(sent[4], "Bearer env-bearer");
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`: a signer from
/// the environment, which an explicit API key beats in either order.
async fn child_aws_keys() {
    let server = MockServer::start().await;
    let mut configs: Vec<_> =
        both_orders(|| bedrock_at(&server), |c| c.api_key("explicit-bearer")).into();
    configs.push(bedrock_at(&server).with_env().unwrap());
    let sent = authorizations(&server, configs).await;
    assert_eq!(
        sent[..2],
        ["Bearer explicit-bearer", "Bearer explicit-bearer"]
    );
    assert!(
        sent[2].starts_with("AWS4-HMAC-SHA256 Credential=AKIDENV/"),
        "{sent:?}"
    );
}

#[test]
fn row_aws_signing() {
    run_child(&[
        (SCENARIO, "aws_bearer"),
        ("AWS_BEARER_TOKEN_BEDROCK", "env-bearer"),
    ]);
    run_child(&[
        (SCENARIO, "aws_keys"),
        ("AWS_ACCESS_KEY_ID", "AKIDENV"),
        ("AWS_SECRET_ACCESS_KEY", "env/secret"),
        ("AWS_REGION", "us-east-1"),
    ]);
}

#[tokio::test]
async fn row_timeout() {
    // Declared `timeout_secs = 1`; the upstream answers after 1.5 s.
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        chat_ok("late").delay(Duration::from_millis(1500)),
    );
    let declared = gateway_at(&server)
        .api_key("k")
        .header("x-portkey-virtual-key", "vk");
    let e = declared.connect().unwrap().chat(hello()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let explicit = gateway_at(&server)
        .api_key("k")
        .header("x-portkey-virtual-key", "vk")
        .timeout(Duration::from_secs(10));
    explicit.connect().unwrap().chat(hello()).await.unwrap();
}

#[tokio::test]
async fn row_headers() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let base = || {
        gateway_at(&server)
            .api_key("k")
            .header("x-portkey-virtual-key", "vk")
    };
    base().connect().unwrap().chat(hello()).await.unwrap();
    base()
        .header("x-client", "mine")
        .connect()
        .unwrap()
        .chat(hello())
        .await
        .unwrap();
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.headers.get_all("x-client").iter().count())
        .zip(
            server
                .requests()
                .iter()
                .map(|r| r.header("x-client").unwrap().to_owned()),
        )
        .collect();
    assert_eq!(sent, [(1, "declared".to_owned()), (1, "mine".to_owned())]);
}

/// `OPENAI_COMPATIBLE_BASE_URL` at the parent's mock, no key variable.
async fn child_key_optional() {
    let client = OpenAiCompatible::from_env().unwrap();
    client.chat(hello()).await.unwrap();
    let keyed = OpenAiCompatible::config()
        .with_env()
        .unwrap()
        .api_key("sk-local")
        .connect()
        .unwrap();
    keyed.chat(hello()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_whose_key_is_optional_builds_from_env_without_one() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let base = format!("{}/v1", server.url());
    tokio::task::spawn_blocking(move || {
        run_child(&[
            (SCENARIO, "key_optional"),
            ("OPENAI_COMPATIBLE_BASE_URL", &base),
        ]);
    })
    .await
    .unwrap();
    let sent: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    assert_eq!(sent, [None, Some("Bearer sk-local".to_owned())]);
}
