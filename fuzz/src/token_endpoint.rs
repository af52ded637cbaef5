//! The token-endpoint fuzz target: the input is decoded into one answer of an
//! OAuth2 token endpoint (status, and a body that is raw bytes, or a reply
//! whose `expires_in` or `access_token` is the input's text as raw JSON), served
//! by one loopback mock to an Entra ID source, directly and through a
//! provider's token cache. Each fetch ends without a panic, within its bound,
//! with a token of a sane lifetime or a typed error that leaks no secret.
//!
//! Input layout: `[mode] [status lo] [status hi] rest..`
//! - mode `% 3`: 0 the body is `rest`; 1 `{"access_token":"ya29.fuzz","expires_in":REST}`;
//!   2 `{"access_token":REST,"expires_in":3599}`;
//! - status: 200 half the time, else `200 + n % 400`.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use llm_runtime::auth::{EntraId, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, TokenSource};
use llm_runtime::http::HttpClient;
use llm_runtime::providers::AzureOpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind};

const TENANT: &str = "contoso.onmicrosoft.com";
const TOKEN_PATH: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";
const CHAT: &str = "/openai/deployments/gpt-4o-mini/chat/completions";
const SECRET: &str = "entra-fuzz-secret-never-print";
/// After this, a fetch is hung: the fuzzer reports a crash.
const HANG: Duration = Duration::from_secs(8);

/// One runtime and one server for the whole fuzz session.
struct Harness {
    rt: tokio::runtime::Runtime,
    server: MockServer,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        server.on(
            "POST",
            CHAT,
            MockResponse::bytes(
                200,
                r#"{"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"hi"}}]}"#,
            )
            .header("content-type", "application/json"),
        );
        server
    });
    Harness { rt, server }
});

fn decode(data: &[u8]) -> (u16, Vec<u8>) {
    let (head, rest) = data.split_at(data.len().min(3));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0);
    let n = u16::from_le_bytes([byte(1), byte(2)]);
    let status = if n % 2 == 0 { 200 } else { 200 + (n / 2) % 400 };
    let text = String::from_utf8_lossy(rest);
    let body = match byte(0) % 3 {
        0 => rest.to_vec(),
        1 => format!(r#"{{"access_token":"ya29.fuzz","expires_in":{text}}}"#).into_bytes(),
        _ => format!(r#"{{"access_token":{text},"expires_in":3599}}"#).into_bytes(),
    };
    (status, body)
}

fn entra(server: &MockServer) -> EntraId {
    EntraId::new(TENANT, "app-id", SECRET)
        .expect("valid")
        .authority_host(server.url())
        .expect("loopback")
}

/// One token-endpoint answer, fetched directly and through the cache;
/// panics on a broken property.
pub fn token_endpoint(data: &[u8]) {
    let harness = &*HARNESS;
    let (status, body) = decode(data);
    let server = &harness.server;
    server.on(
        "POST",
        TOKEN_PATH,
        MockResponse::bytes(status, body).header("content-type", "application/json"),
    );
    harness.rt.block_on(async {
        let source = entra(server);
        let before = Instant::now();
        let fetched = tokio::time::timeout(
            HANG,
            source.fetch(&HttpClient::shared().expect("the shared client")),
        )
        .await
        .expect("the token fetch hung");
        let after = Instant::now();
        let kind = match fetched {
            Ok(token) => {
                assert!((200..300).contains(&status), "a token from a {status}");
                let at = token.expires_at.expect("a token without a lifetime");
                assert!(
                    at >= before + MIN_TOKEN_LIFETIME && at <= after + MAX_TOKEN_LIFETIME,
                    "lifetime {:?} out of bounds",
                    at - before
                );
                None
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                assert!(!shown.contains(SECRET), "the client secret leaked: {shown}");
                assert_ne!(e.kind(), ErrorKind::Config, "a Config error for an answer");
                if matches!(status, 400 | 401 | 403) {
                    assert_eq!(e.kind(), ErrorKind::Authentication, "{e}");
                }
                Some(e.kind())
            }
        };
        let client = AzureOpenAi::config()
            .base_url(format!("{}/openai", server.url()))
            .token_source(Arc::new(source))
            .max_retries(0)
            .timeout(HANG)
            .connect()
            .expect("valid");
        let chat = tokio::time::timeout(
            HANG * 2,
            client.chat(ChatRequest::new("gpt-4o-mini").user("hi")),
        )
        .await
        .expect("the cached path hung");
        match (kind, chat) {
            (None, Ok(_)) => {}
            (Some(expected), Err(e)) => {
                assert_eq!(e.kind(), expected, "the cached path changed the kind: {e}");
                assert!(!format!("{e} {e:?}").contains(SECRET));
            }
            (kind, chat) => panic!("direct {kind:?}, cached {:?}", chat.map(|r| r.text())),
        }
    });
}
