//! Getting a credential is part of the call (issue 23, class 1), over real
//! HTTP on 127.0.0.1: a token (Entra ID against a scripted token endpoint
//! that counts its requests in flight, or a caller's source) and AWS
//! credentials are waited for at most until each call's deadline; one shared
//! fetch per configuration, never cancelled by a caller that gives up; a
//! failure kept briefly; a still-valid token served while a refresh runs or
//! fails; endpoint lifetimes that never mean "every call" or "forever". Also
//! SigV4's clock-skew correction from a refusal's `Date`.
#![allow(clippy::unwrap_used)]

mod common;
// Only the verifier's date is read here.
#[allow(dead_code)]
#[path = "common/sigv4.rs"]
mod sigv4;
mod token_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use llm_runtime::auth::aws::{
    Credentials, ProvideCredentials, ProvideCredentialsFuture, SigV4Signer,
};
use llm_runtime::auth::{
    AccessToken, DEFAULT_TOKEN_LIFETIME, EntraId, FAILURE_CACHE, MAX_TOKEN_LIFETIME,
    MIN_TOKEN_LIFETIME, TokenSource,
};
use llm_runtime::http::HttpClient;
use llm_runtime::providers::{AzureOpenAi, Bedrock};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatOptions, ChatRequest, Error, ErrorKind, ProviderClient, Result};
use serde_json::{Value, json};

use common::{PATIENCE, chat_ok, fast_retries};
use token_server::{Act, TokenEndpoint};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SECRET: &str = "entra-client-secret-never-print";
const CHAT: &str = "/openai/deployments/gpt-4o-mini/chat/completions";
/// Room for scheduling on a busy machine, above a caller's own bound.
const SLACK: Duration = Duration::from_millis(1500);

fn entra(endpoint: &str) -> EntraId {
    EntraId::new(TENANT, "app-id", SECRET)
        .unwrap()
        .authority_host(endpoint)
        .unwrap()
}

/// Azure OpenAI with an Entra ID source on `tokens`, chatting with `chat`.
fn azure(chat: &MockServer, tokens: &str, timeout: Duration) -> ProviderClient<AzureOpenAi> {
    AzureOpenAi::config()
        .base_url(format!("{}/openai", chat.url()))
        .token_source(Arc::new(entra(tokens)))
        .retry_policy(fast_retries())
        .timeout(timeout)
        .connect()
        .unwrap()
}

fn hello() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini").user("Say hello")
}

async fn chat_server() -> MockServer {
    let server = MockServer::start().await;
    server.on("POST", CHAT, chat_ok("hi"));
    server
}

/// Waits (bounded) until `done` holds.
async fn until(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PATIENCE, "never happened");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn twenty_callers_with_a_five_second_timeout_and_a_stalled_endpoint_return_in_time() {
    let tokens = TokenEndpoint::start(vec![Act::Stall]).await;
    let chat = chat_server().await;
    let timeout = Duration::from_secs(5);
    let client = azure(&chat, tokens.url(), timeout);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                (client.chat(hello()).await, start.elapsed())
            })
        })
        .collect();
    for call in calls {
        let (result, elapsed) = call.await.unwrap();
        let e = result.expect_err("no token");
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(elapsed < timeout + SLACK, "{elapsed:?}");
    }
    assert_eq!(tokens.requests(), 1, "one shared fetch");
    assert_eq!(chat.request_count(), 0);
}

#[tokio::test]
async fn a_caller_dropped_mid_fetch_does_not_abort_the_shared_fetch() {
    let tokens = TokenEndpoint::start(vec![Act::Answer {
        after: Duration::from_millis(800),
        status: 200,
        body: json!({"access_token": "tok-shared", "expires_in": 3599}).to_string(),
    }])
    .await;
    let chat = chat_server().await;
    let client = azure(&chat, tokens.url(), Duration::from_secs(10));
    // One caller gives up with its own timeout, another is aborted (a
    // dropped handler), both while the fetch is under way.
    let gave_up = tokio::time::timeout(Duration::from_millis(200), client.chat(hello())).await;
    assert!(gave_up.is_err());
    let aborted = tokio::spawn({
        let client = client.clone();
        async move { client.chat(hello()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    aborted.abort();
    assert!(aborted.await.unwrap_err().is_cancelled());
    until(|| tokens.answered() == 1).await;
    // The fetch ran to its end: the next caller finds its token.
    client.chat(hello()).await.expect("chat");
    assert_eq!(tokens.requests(), 1, "never restarted");
    assert_eq!(tokens.max_in_flight(), 1);
    let sent = chat.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some("Bearer tok-shared"));
}

/// Acceptance 3: fifty callers; the endpoint stalls then fails, then answers.
#[tokio::test]
async fn fifty_callers_against_a_stalling_failing_then_answering_endpoint() {
    let tokens = TokenEndpoint::start(vec![
        Act::fail(503, Duration::from_millis(2000)),
        Act::token("tok-after", 3599),
    ])
    .await;
    let chat = chat_server().await;
    // Each caller has its own bound: some end during the stall, some get the
    // failure, some live past the failure window and get the token.
    let bounds = [500, 1000, 1500, 3500, 9000].map(Duration::from_millis);
    // One configuration (one token cache), each call with its own timeout.
    let shared = AzureOpenAi::config()
        .base_url(format!("{}/openai", chat.url()))
        .token_source(Arc::new(entra(tokens.url())))
        .retry_policy(fast_retries().max_retries(3))
        .connect()
        .unwrap();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let timeout = bounds[i % bounds.len()];
            let client = shared.clone();
            let handle = tokio::spawn(async move {
                let start = Instant::now();
                let options = ChatOptions::new().timeout(timeout);
                let result = client.chat_with(hello(), &options).await;
                (result, start.elapsed())
            });
            (i, timeout, handle)
        })
        .collect();
    // Every seventh caller is cancelled mid-fetch.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (i, _, handle) in &handles {
        if i % 7 == 0 {
            handle.abort();
        }
    }
    let mut outcomes = Vec::new();
    for (i, timeout, handle) in handles {
        outcomes.push((i, timeout, handle.await));
    }
    for (i, timeout, joined) in outcomes {
        if i % 7 == 0 {
            assert!(joined.unwrap_err().is_cancelled(), "caller {i}");
            continue;
        }
        let (result, elapsed) = joined.unwrap();
        assert!(elapsed < timeout + SLACK, "caller {i}: {elapsed:?}");
        match timeout.as_millis() {
            500..=1500 => {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout, "caller {i}")
            }
            3500 => {
                let e = result.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Overloaded, "caller {i}: {e}");
                assert_eq!(e.status(), Some(503));
            }
            _ => assert_eq!(result.expect("token after the window").text(), "hi"),
        }
    }
    assert_eq!(
        tokens.requests(),
        2,
        "one fetch that failed, one that answered"
    );
    assert_eq!(tokens.max_in_flight(), 1, "never two fetches at once");
}

#[tokio::test]
async fn a_failure_is_kept_briefly_instead_of_fetched_per_caller() {
    let tokens = TokenEndpoint::start(vec![
        Act::fail(500, Duration::ZERO),
        Act::token("tok-later", 3599),
    ])
    .await;
    let chat = chat_server().await;
    let client = AzureOpenAi::config()
        .base_url(format!("{}/openai", chat.url()))
        .token_source(Arc::new(entra(tokens.url())))
        .max_retries(0)
        .connect()
        .unwrap();
    let first = client.chat(hello()).await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::ServerError);
    let later: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.chat(hello()).await })
        })
        .collect();
    for call in later {
        let e = call.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert_eq!(e.status(), Some(500));
        let wait = e.retry_after().expect("the wait that ends the window");
        assert!(wait <= FAILURE_CACHE, "{wait:?}");
        assert!(!e.to_string().contains(SECRET), "{e}");
    }
    assert_eq!(
        tokens.requests(),
        1,
        "the failure was shared, not refetched"
    );
    tokio::time::sleep(FAILURE_CACHE).await;
    client
        .chat(hello())
        .await
        .expect("fetched again after the window");
    assert_eq!(tokens.requests(), 2);
}

/// What a token endpoint's `expires_in` is taken to mean, over the real
/// exchange: `(expires_in, lifetime)`, `None` for a reply without it.
fn lifetimes() -> Vec<(Option<Value>, Duration)> {
    vec![
        (Some(json!(3599)), Duration::from_secs(3599)),
        (Some(json!(3599.5)), Duration::from_millis(3_599_500)),
        (Some(json!("3599")), Duration::from_secs(3599)),
        (Some(json!(-5)), MIN_TOKEN_LIFETIME),
        (Some(json!(0)), MIN_TOKEN_LIFETIME),
        (Some(json!(1)), MIN_TOKEN_LIFETIME),
        (Some(json!(1e300)), MAX_TOKEN_LIFETIME),
        (Some(json!(u64::MAX)), MAX_TOKEN_LIFETIME),
        (Some(json!("soon")), DEFAULT_TOKEN_LIFETIME),
        (Some(json!(null)), DEFAULT_TOKEN_LIFETIME),
        (Some(json!({"seconds": 3599})), DEFAULT_TOKEN_LIFETIME),
        (Some(json!([3599])), DEFAULT_TOKEN_LIFETIME),
        (None, DEFAULT_TOKEN_LIFETIME),
    ]
}

#[tokio::test]
async fn endpoint_lifetimes_never_mean_every_call_or_forever() {
    for (expires_in, expected) in lifetimes() {
        let server = MockServer::start().await;
        let mut reply = json!({"access_token": "tok-life", "token_type": "Bearer"});
        if let Some(v) = &expires_in {
            reply["expires_in"] = v.clone();
        }
        let token_path = format!("/{TENANT}/oauth2/v2.0/token");
        server.on("POST", &token_path, MockResponse::json(200, reply));
        server.on("POST", CHAT, chat_ok("hi"));
        // The lifetime the source reports, exactly.
        let source = entra(&server.url());
        let before = Instant::now();
        let token = source
            .fetch(&HttpClient::shared().expect("the shared client"))
            .await
            .unwrap();
        let after = Instant::now();
        let at = token.expires_at.expect("always a lifetime");
        assert!(
            at >= before + expected && at <= after + expected,
            "{expires_in:?}: {:?}",
            at - before
        );
        // And through the cache: one fetch for many calls.
        let client = AzureOpenAi::config()
            .base_url(format!("{}/openai", server.url()))
            .token_source(Arc::new(source))
            .connect()
            .unwrap();
        for _ in 0..5 {
            client.chat(hello()).await.unwrap();
        }
        let fetched = server
            .requests()
            .iter()
            .filter(|r| r.path == token_path)
            .count();
        assert_eq!(
            fetched, 2,
            "{expires_in:?}: the direct fetch and one cached"
        );
    }
}

/// A caller's source over the scripted endpoint, with its own lifetime.
struct ShortLived {
    url: String,
    lifetime: Duration,
    finished: AtomicU32,
}

#[async_trait]
impl TokenSource for ShortLived {
    async fn fetch(&self, http: &HttpClient) -> Result<AccessToken> {
        let reply = http.post(&self.url).send().await;
        self.finished.fetch_add(1, Ordering::SeqCst);
        let body: Value = reply?.json()?;
        let token = body["access_token"].as_str().unwrap_or_default();
        Ok(AccessToken::expiring_in(token, self.lifetime))
    }
}

#[tokio::test]
async fn a_failed_refresh_does_not_fail_calls_while_the_token_is_valid() {
    let tokens = TokenEndpoint::start(vec![
        Act::token("tok-a", 3599),
        Act::fail(500, Duration::ZERO),
        Act::token("tok-b", 3599),
    ])
    .await;
    let chat = chat_server().await;
    // Four-second tokens, refreshed in their last two seconds.
    let source = Arc::new(ShortLived {
        url: format!("{}/token", tokens.url()),
        lifetime: Duration::from_secs(4),
        finished: AtomicU32::new(0),
    });
    let client = AzureOpenAi::config()
        .base_url(format!("{}/openai", chat.url()))
        .token_source(source.clone())
        .token_refresh_ahead(Duration::from_secs(3))
        .max_retries(0)
        .connect()
        .unwrap();
    client.chat(hello()).await.expect("first token");
    tokio::time::sleep(Duration::from_millis(2300)).await;
    // In the refresh window: served, and the refresh behind it fails.
    client.chat(hello()).await.expect("still valid");
    until(|| source.finished.load(Ordering::SeqCst) == 2).await;
    client
        .chat(hello())
        .await
        .expect("the failed refresh fails no call");
    assert_eq!(
        tokens.requests(),
        2,
        "no second refresh while the failure is kept"
    );
    // Past the old token's expiry and the failure window: a fresh one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    client.chat(hello()).await.expect("new token");
    let used: Vec<Option<String>> = chat
        .requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect();
    let a = Some("Bearer tok-a".to_owned());
    assert_eq!(
        used,
        [a.clone(), a.clone(), a, Some("Bearer tok-b".to_owned())]
    );
    assert_eq!(tokens.requests(), 3);
    assert_eq!(tokens.max_in_flight(), 1);
}

// ---- AWS ----

/// A credentials provider that never answers, counting its calls.
#[derive(Debug)]
struct Stalled(Arc<AtomicU32>);

impl ProvideCredentials for Stalled {
    fn provide_credentials<'a>(&'a self) -> ProvideCredentialsFuture<'a>
    where
        Self: 'a,
    {
        self.0.fetch_add(1, Ordering::SeqCst);
        ProvideCredentialsFuture::new(std::future::pending())
    }
}

const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CONVERSE: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn converse_ok() -> MockResponse {
    MockResponse::json(
        200,
        json!({
            "output": {"message": {"role": "assistant", "content": [{"text": "Hello!"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
        }),
    )
}

fn bedrock(server: &MockServer, signer: SigV4Signer, timeout: Duration) -> ProviderClient<Bedrock> {
    Bedrock::config()
        .base_url(server.url())
        .url_var("region", "us-east-1")
        .signer(Arc::new(signer))
        .max_retries(0)
        .timeout(timeout)
        .connect()
        .unwrap()
}

#[tokio::test]
async fn a_stalled_aws_credentials_provider_is_bounded_by_each_callers_deadline() {
    let server = MockServer::start().await;
    server.on("POST", CONVERSE, converse_ok());
    let asked = Arc::new(AtomicU32::new(0));
    let signer = SigV4Signer::with_provider(Stalled(Arc::clone(&asked)), "us-east-1", "bedrock");
    let timeout = Duration::from_secs(1);
    let client = bedrock(&server, signer, timeout);
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                (
                    client.chat(ChatRequest::new(MODEL).user("hi")).await,
                    start.elapsed(),
                )
            })
        })
        .collect();
    for call in calls {
        let (result, elapsed) = call.await.unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Timeout);
        assert!(elapsed < timeout + SLACK, "{elapsed:?}");
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "one shared fetch");
    assert_eq!(server.request_count(), 0);
}

const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn skewed_refusal(server_time: SystemTime) -> MockResponse {
    MockResponse::json(
        403,
        json!({"message": "Signature expired: 20260101T000000Z is now earlier than 20260101T005500Z (20260101T010000Z - 5 min.)"}),
    )
    .header(
        "x-amzn-errortype",
        "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/",
    )
    .header("date", httpdate(server_time))
}

fn httpdate(t: SystemTime) -> String {
    // RFC 7231 IMF-fixdate, from the Unix time (T0 is a Thursday).
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400 - T0 / 86_400;
    assert!(days == 0, "only the first day of 2026 is needed here");
    let rem = secs % 86_400;
    format!(
        "Thu, 01 Jan 2026 {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[tokio::test]
async fn a_clock_skew_refusal_is_signed_again_with_the_servers_date() {
    let server = MockServer::start().await;
    let server_time = UNIX_EPOCH + Duration::from_secs(T0 + 3600);
    server.on_sequence(
        "POST",
        CONVERSE,
        vec![skewed_refusal(server_time), converse_ok()],
    );
    let credentials = Credentials::new("AKIDEXAMPLE", AWS_SECRET, None, None, "test");
    // Our clock is an hour behind the server's.
    let signer = SigV4Signer::new(credentials, "us-east-1", "bedrock")
        .with_clock(|| UNIX_EPOCH + Duration::from_secs(T0));
    let client = bedrock(&server, signer, Duration::from_secs(10));
    let reply = client
        .chat(ChatRequest::new(MODEL).user("hi"))
        .await
        .expect("re-signed once, without a retry policy");
    assert_eq!(reply.text(), "Hello!");
    client
        .chat(ChatRequest::new(MODEL).user("again"))
        .await
        .expect("signed with the corrected clock at once");
    let dates: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            let verified = sigv4::verify(&sigv4::Received::from_recorded(r), AWS_SECRET).unwrap();
            verified.amz_date
        })
        .collect();
    assert_eq!(
        dates,
        ["20260101T000000Z", "20260101T010000Z", "20260101T010000Z"]
    );
}

#[tokio::test]
async fn a_refusal_that_is_not_skew_is_not_signed_again() {
    let server = MockServer::start().await;
    // A skew code whose Date agrees with our clock: a bad key, not a bad clock.
    server.on(
        "POST",
        CONVERSE,
        skewed_refusal(UNIX_EPOCH + Duration::from_secs(T0 + 5)),
    );
    let credentials = Credentials::new("AKIDEXAMPLE", AWS_SECRET, None, None, "test");
    let signer = SigV4Signer::new(credentials, "us-east-1", "bedrock")
        .with_clock(|| UNIX_EPOCH + Duration::from_secs(T0));
    let client = bedrock(&server, signer, Duration::from_secs(10));
    let e: Error = client
        .chat(ChatRequest::new(MODEL).user("hi"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_eq!(server.request_count(), 1);
}
