//! Generated token-endpoint answers (issue 23, acceptance 2): any status, a
//! JSON reply whose `access_token` and `expires_in` are of any JSON type
//! (floats, negatives, numbers past `u64` and `f64`, numeric and other
//! strings, `null`, objects, arrays), or arbitrary bytes, served on 127.0.0.1
//! to an Entra ID source, directly and through a provider's token cache.
//!
//! Properties, for every answer:
//! - no panic, and an answer within the hang guard;
//! - a token only from a 2xx, with a lifetime between [`MIN_TOKEN_LIFETIME`]
//!   and [`MAX_TOKEN_LIFETIME`] (exactly the number asked, when it is one in
//!   that range; [`DEFAULT_TOKEN_LIFETIME`] when it is not a number);
//! - otherwise a typed error: `Authentication` for a refusal (400/401/403)
//!   and for a 2xx without a usable token; the same kind through the cache;
//! - the client secret and the answered token never in an error.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_runtime::auth::{
    DEFAULT_TOKEN_LIFETIME, EntraId, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, TokenSource,
};
use llm_runtime::http::HttpClient;
use llm_runtime::providers::AzureOpenAi;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Error, ErrorKind};
use proptest::prelude::*;
use serde_json::{Value, json};

use common::chat_ok;

const TENANT: &str = "contoso.onmicrosoft.com";
const SECRET: &str = "entra-prop-secret-never-print";
const TOKEN_PATH: &str = "/contoso.onmicrosoft.com/oauth2/v2.0/token";
const CHAT: &str = "/openai/deployments/gpt-4o-mini/chat/completions";
/// After this, a fetch is hung.
const HANG: Duration = Duration::from_secs(10);

/// One generated answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// A JSON object; `None` fields are left out.
    Json {
        access_token: Option<Value>,
        expires_in: Option<Value>,
    },
    /// A reply whose `expires_in` is this number's text, as sent (it may be
    /// past what `u64` or `f64` hold).
    RawNumber {
        access_token: String,
        number: String,
    },
    /// Any bytes.
    Bytes(Vec<u8>),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Json {
                access_token,
                expires_in,
            } => {
                let mut reply = json!({"token_type": "Bearer"});
                if let Some(v) = access_token {
                    reply["access_token"] = v.clone();
                }
                if let Some(v) = expires_in {
                    reply["expires_in"] = v.clone();
                }
                reply.to_string().into_bytes()
            }
            Body::RawNumber {
                access_token,
                number,
            } => format!(
                r#"{{"access_token":{},"expires_in":{number}}}"#,
                json!(access_token)
            )
            .into_bytes(),
            Body::Bytes(b) => b.clone(),
        }
    }

    /// The token the reply carries, if it is one.
    fn token(&self) -> Option<String> {
        match self {
            Body::Json {
                access_token: Some(Value::String(t)),
                ..
            } => Some(t.clone()),
            Body::RawNumber { access_token, .. } => Some(access_token.clone()),
            _ => None,
        }
    }

    /// The lifetime the reply means, when it can be told from the outside:
    /// a number or numeric string in range, or something that is not one.
    fn lifetime(&self) -> Option<Duration> {
        let Body::Json { expires_in, .. } = self else {
            return None;
        };
        let secs = match expires_in {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(f) => Some(f),
                Err(_) => return Some(DEFAULT_TOKEN_LIFETIME),
            },
            _ => return Some(DEFAULT_TOKEN_LIFETIME),
        }?;
        let (min, max) = (
            MIN_TOKEN_LIFETIME.as_secs_f64(),
            MAX_TOKEN_LIFETIME.as_secs_f64(),
        );
        (secs >= min && secs <= max).then(|| Duration::from_secs_f64(secs))
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "-?[0-9]{1,25}(\\.[0-9]{1,6})?".prop_map(Value::from),
        " ?(inf|-inf|NaN|1e999|0x10|3599s|)".prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn expires_in() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        2 => (-100_000i64..100_000).prop_map(|n| Some(json!(n))),
        2 => (-1e5f64..1e6).prop_map(|f| Some(json!(f))),
        4 => any_json().prop_map(Some),
    ]
}

fn access_token() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        6 => "[A-Za-z0-9._~+/=-]{1,64}".prop_map(|t| Some(Value::from(format!("ya29.{t}")))),
        1 => Just(None),
        2 => any_json().prop_map(Some),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        6 => Just(200u16),
        1 => Just(201u16),
        1 => prop::sample::select(vec![400u16, 401, 403, 404, 429, 500, 502, 503]),
        1 => 100u16..600,
    ];
    let body = prop_oneof![
        6 => (access_token(), expires_in()).prop_map(|(access_token, expires_in)| Body::Json {
            access_token,
            expires_in,
        }),
        2 => (
            "[A-Za-z0-9]{1,32}",
            "-?[0-9]{1,40}(\\.[0-9]{1,10})?([eE][-+]?[0-9]{1,4})?",
        )
            .prop_map(|(t, number)| Body::RawNumber {
                access_token: format!("ya29.{t}"),
                number,
            }),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Body::Bytes),
    ];
    (status, body).prop_map(|(status, body)| Answer { status, body })
}

fn entra(server: &MockServer) -> EntraId {
    EntraId::new(TENANT, "app-id", SECRET)
        .expect("valid")
        .authority_host(server.url())
        .expect("loopback")
}

/// The checks on one answer; `Err` describes a broken property.
async fn check(server: &MockServer, answer: &Answer) -> Result<(), String> {
    let body = answer.body.bytes();
    server.on(
        "POST",
        TOKEN_PATH,
        MockResponse::bytes(answer.status, body).header("content-type", "application/json"),
    );
    let source = entra(server);
    let before = Instant::now();
    let fetched = tokio::time::timeout(
        HANG,
        source.fetch(&HttpClient::shared().expect("the shared client")),
    )
    .await
    .map_err(|_| "the fetch hung".to_owned())?;
    let after = Instant::now();
    let kind = match &fetched {
        Ok(token) => {
            check_token(answer, token.expires_at, before, after)?;
            None
        }
        Err(e) => {
            check_error(answer, e)?;
            Some(e.kind())
        }
    };
    // The same answer through a provider's token cache and transport.
    let client = AzureOpenAi::config()
        .base_url(format!("{}/openai", server.url()))
        .token_source(Arc::new(source))
        .max_retries(0)
        .timeout(HANG)
        .connect()
        .map_err(|e| format!("connect: {e}"))?;
    let chat = client
        .chat(ChatRequest::new("gpt-4o-mini").user("hi"))
        .await;
    match (kind, chat) {
        (None, Ok(_)) => Ok(()),
        (Some(expected), Err(e)) if e.kind() == expected => check_error(answer, &e),
        (kind, chat) => Err(format!(
            "direct fetch {kind:?} but the cached path gave {:?}",
            chat.map(|r| r.text())
        )),
    }
}

fn check_token(
    answer: &Answer,
    expires_at: Option<Instant>,
    before: Instant,
    after: Instant,
) -> Result<(), String> {
    if !(200..300).contains(&answer.status) {
        return Err(format!("a token from a {}", answer.status));
    }
    let at = expires_at.ok_or("a token without a lifetime")?;
    if at < before + MIN_TOKEN_LIFETIME || at > after + MAX_TOKEN_LIFETIME {
        return Err(format!("lifetime {:?} out of bounds", at - before));
    }
    if let Some(expected) = answer.body.lifetime()
        && (at < before + expected || at > after + expected)
    {
        return Err(format!("lifetime {:?}, expected {expected:?}", at - before));
    }
    Ok(())
}

fn check_error(answer: &Answer, e: &Error) -> Result<(), String> {
    let shown = format!("{e} {e:?}");
    if shown.contains(SECRET) {
        return Err(format!("the client secret leaked: {shown}"));
    }
    if let Some(token) = answer.body.token().filter(|t| t.len() >= 8)
        && shown.contains(&token)
    {
        return Err(format!("the answered token leaked: {shown}"));
    }
    let refused = matches!(answer.status, 400 | 401 | 403);
    let success = (200..300).contains(&answer.status);
    // An error payload inside a 2xx is classified as that error.
    let in_band = serde_json::from_slice::<Value>(&answer.body.bytes()).is_ok_and(|v| {
        v.get("error").is_some()
            || v.get("detail").is_some()
            || v.get("type") == Some(&json!("error"))
            || v.get("object") == Some(&json!("error"))
    });
    if (refused || (success && !in_band)) && e.kind() != ErrorKind::Authentication {
        return Err(format!(
            "{}: expected Authentication, got {e}",
            answer.status
        ));
    }
    if e.kind() == ErrorKind::Config {
        return Err(format!("a Config error for an answer: {e}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_token_endpoint_answer_is_a_sane_token_or_a_typed_error(answer in answer()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let outcome = rt.block_on(async {
            let server = MockServer::start().await;
            server.on("POST", CHAT, chat_ok("hi"));
            check(&server, &answer).await
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

#[test]
fn numbers_past_u64_and_f64_are_clamped_not_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let server = MockServer::start().await;
        server.on("POST", CHAT, chat_ok("hi"));
        for (number, expected) in [
            ("123456789012345678901234567890", Some(MAX_TOKEN_LIFETIME)),
            ("1e308", Some(MAX_TOKEN_LIFETIME)),
            ("-1e308", Some(MIN_TOKEN_LIFETIME)),
            ("-0", Some(MIN_TOKEN_LIFETIME)),
            ("3599.999", Some(Duration::from_millis(3_599_999))),
            // Past f64: serde_json refuses the document as a whole.
            ("1e400", None),
        ] {
            let answer = Answer {
                status: 200,
                body: Body::RawNumber {
                    access_token: "ya29.raw".to_owned(),
                    number: number.to_owned(),
                },
            };
            check(&server, &answer)
                .await
                .unwrap_or_else(|e| panic!("{number}: {e}"));
            let source = entra(&server);
            let before = Instant::now();
            let fetched = source
                .fetch(&HttpClient::shared().expect("the shared client"))
                .await;
            let after = Instant::now();
            match (expected, fetched) {
                (Some(life), Ok(token)) => {
                    let at = token.expires_at.expect("a lifetime");
                    assert!(at >= before + life && at <= after + life, "{number}");
                }
                (None, Err(e)) => assert_eq!(e.kind(), ErrorKind::Authentication, "{number}"),
                (expected, got) => panic!("{number}: expected {expected:?}, got {got:?}"),
            }
        }
    });
}
