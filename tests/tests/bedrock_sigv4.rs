//! AWS Signature V4 for Bedrock: the runtime's signer against AWS's published
//! test-suite vectors (`tests/tests/data/sigv4`, source in its README), and a
//! loopback mock that recomputes the signature of every request the runtime
//! sends, retries included (each re-signed with a fresh date), with
//! credentials given, from the environment, from a profile, or from a
//! caller's provider.
#![allow(clippy::unwrap_used)]

mod common;

use common::run_child;
#[path = "common/sigv4.rs"]
mod sigv4;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llm_runtime::auth::RequestSigner;
use llm_runtime::auth::aws::{Credentials, ProvideCredentials, SigV4Signer};
use llm_runtime::providers::Bedrock;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Client, ErrorKind, ProviderClient, retry::RetryPolicy};
use serde_json::{Value, json};

use sigv4::{Received, verify};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const CHAT: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";
const STREAM: &str = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream";

// ---- AWS's test-suite vectors ----

struct Vector {
    name: String,
    method: String,
    host: String,
    path_and_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    context: Value,
    canonical_request: String,
    string_to_sign: String,
    signed_request: String,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4")
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{dir:?}/{file}: {e}"))
}

fn vectors() -> Vec<Vector> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("the vectors are checked in")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|dir| {
            let request = read(dir, "request.txt");
            let (head, body) = request.split_once("\n\n").unwrap_or((request.as_str(), ""));
            let mut lines = head.lines();
            let first = lines.next().expect("a request line");
            let mut words = first.split(' ');
            let method = words.next().expect("method").to_owned();
            let path_and_query = words.next().expect("path").to_owned();
            let mut host = String::new();
            let mut headers = Vec::new();
            for line in lines {
                let (name, value) = line.split_once(':').expect("a header line");
                if name.eq_ignore_ascii_case("host") {
                    host = value.to_owned();
                } else if !name.eq_ignore_ascii_case("x-amz-date") {
                    // The signer sets the date itself.
                    headers.push((name.to_owned(), value.to_owned()));
                }
            }
            let context = std::fs::read_to_string(dir.join("context.json"))
                .map(|t| serde_json::from_str(&t).expect("context is JSON"))
                .unwrap_or(Value::Null);
            Vector {
                name: dir.file_name().unwrap().to_string_lossy().into_owned(),
                method,
                host,
                path_and_query,
                headers,
                body: body.as_bytes().to_vec(),
                context,
                canonical_request: read(dir, "header-canonical-request.txt"),
                string_to_sign: read(dir, "header-string-to-sign.txt"),
                signed_request: read(dir, "header-signed-request.txt"),
            }
        })
        .collect()
}

/// `20150830T123600Z` as a time.
fn parse_amz_date(s: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    let (hh, mm, ss) = (n(9..11), n(11..13), n(13..15));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    UNIX_EPOCH + Duration::from_secs((days * 86_400 + hh * 3600 + mm * 60 + ss) as u64)
}

fn signed_header(signed_request: &str, name: &str) -> Option<String> {
    signed_request.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[tokio::test]
async fn the_signer_and_the_verifier_pass_the_aws_test_suite() {
    let vectors = vectors();
    assert!(vectors.len() >= 15, "{} vectors", vectors.len());
    for v in vectors {
        let name = &v.name;
        let sts: Vec<&str> = v.string_to_sign.lines().collect();
        let scope: Vec<&str> = sts[2].split('/').collect();
        let (region, service) = (scope[1], scope[2]);
        let time = parse_amz_date(sts[1]);
        let creds = &v.context["credentials"];
        let token = creds["token"].as_str().map(str::to_owned);
        let credentials = Credentials::new(
            creds["access_key_id"].as_str().unwrap_or(AKID),
            creds["secret_access_key"].as_str().unwrap_or(SECRET),
            token.clone(),
            None,
            "vectors",
        );
        let signer = SigV4Signer::new(credentials, region, service).with_clock(move || time);

        let mut builder = reqwest::Client::new().request(
            v.method.parse().unwrap(),
            format!("https://{}{}", v.host, v.path_and_query),
        );
        for (n, value) in &v.headers {
            builder = builder.header(n.as_str(), value.as_str());
        }
        if !v.body.is_empty() {
            builder = builder.body(v.body.clone());
        }
        let mut request = builder.build().unwrap();
        signer.sign(&mut request).await.unwrap();

        let sent = |h: &str| {
            request
                .headers()
                .get(h)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            sent("authorization"),
            signed_header(&v.signed_request, "authorization"),
            "{name}: Authorization"
        );
        assert_eq!(
            sent("x-amz-date").as_deref(),
            Some(sts[1]),
            "{name}: X-Amz-Date"
        );
        assert_eq!(sent("x-amz-security-token"), token, "{name}: token");
        assert!(
            request.headers()["authorization"].is_sensitive(),
            "{name}: the signature header is marked sensitive"
        );

        // The independent verifier computes the suite's canonical request and string to sign.
        let url = request.url();
        let mut headers = vec![("host".to_owned(), v.host.clone())];
        headers.extend(
            request
                .headers()
                .iter()
                .map(|(n, value)| (n.as_str().to_owned(), value.to_str().unwrap().to_owned())),
        );
        let received = Received {
            method: v.method.clone(),
            path: url.path().to_owned(),
            query: url.query().map(str::to_owned),
            headers,
            body: v.body.clone(),
        };
        let secret = creds["secret_access_key"].as_str().unwrap_or(SECRET);
        let verified = verify(&received, secret).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            verified.canonical_request,
            v.canonical_request.trim_end(),
            "{name}: canonical request"
        );
        assert_eq!(
            verified.string_to_sign,
            v.string_to_sign.trim_end(),
            "{name}: string to sign"
        );
    }
}

// ---- the loopback mock verifies every request ----

/// A clock that moves on a minute at every reading: each attempt is signed at its own time.
fn ticking_clock() -> (
    impl Fn() -> SystemTime + Send + Sync + 'static,
    Arc<AtomicU64>,
) {
    let ticks = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&ticks);
    let start = UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00:00Z
    let clock = move || start + Duration::from_secs(60 * counter.fetch_add(1, Ordering::SeqCst));
    (clock, ticks)
}

fn answer() -> Value {
    json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "Hello!"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
    })
}

fn throttled() -> MockResponse {
    MockResponse::json(
        429,
        json!({"message": "Too many requests, please wait before trying again."}),
    )
    .header(
        "x-amzn-errortype",
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
    )
    .header("retry-after", "0")
}

fn stream_body() -> Vec<u8> {
    let event = |kind: &str, payload: Value| {
        llm_runtime::stream::encode_event_message(
            &[(":message-type", "event"), (":event-type", kind)],
            payload.to_string().as_bytes(),
        )
    };
    [
        event("messageStart", json!({"role": "assistant"})),
        event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hello!"}}),
        ),
        event("messageStop", json!({"stopReason": "end_turn"})),
        event(
            "metadata",
            json!({"usage": {"inputTokens": 3, "outputTokens": 2}}),
        ),
    ]
    .concat()
}

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

fn signed_client(server: &MockServer, signer: SigV4Signer) -> ProviderClient<Bedrock> {
    Bedrock::config()
        .base_url(server.url())
        .url_var("region", "us-east-1")
        .signer(Arc::new(signer))
        .retry_policy(fast())
        .timeout(Duration::from_secs(10))
        .connect()
        .expect("a loopback config is valid")
}

fn request() -> ChatRequest {
    ChatRequest::new(MODEL).user("Say hello.")
}

/// Every request the server received carries a valid signature for `secret`.
fn verify_all(server: &MockServer, secret: &str) -> Vec<sigv4::Verified> {
    server
        .requests()
        .iter()
        .map(|r| {
            let received = Received::from_recorded(r);
            let verified = verify(&received, secret).unwrap_or_else(|e| panic!("{}: {e}", r.path));
            assert_eq!(verified.region, "us-east-1");
            assert_eq!(verified.service, "bedrock");
            for header in ["host", "x-amz-date", "content-type"] {
                assert!(
                    verified.signed_headers.iter().any(|h| h == header),
                    "{header} is signed: {:?}",
                    verified.signed_headers
                );
            }
            verified
        })
        .collect()
}

#[tokio::test]
async fn every_attempt_is_signed_and_a_retry_is_re_signed_with_a_fresh_date() {
    let server = MockServer::start().await;
    let (clock, ticks) = ticking_clock();
    let signer = SigV4Signer::new(
        Credentials::new(AKID, SECRET, None, None, "test"),
        "us-east-1",
        "bedrock",
    )
    .with_clock(clock);
    let client = signed_client(&server, signer);
    server.on_sequence(
        "POST",
        CHAT,
        vec![throttled(), throttled(), MockResponse::json(200, answer())],
    );
    let reply = client
        .chat(request())
        .await
        .expect("the third attempt succeeds");
    assert_eq!(reply.text(), "Hello!");
    assert_eq!(reply.meta.attempts, 3);
    let verified = verify_all(&server, SECRET);
    assert_eq!(verified.len(), 3);
    assert_eq!(
        ticks.load(Ordering::SeqCst),
        3,
        "the clock is read once per attempt"
    );
    let dates: Vec<&str> = verified.iter().map(|v| v.amz_date.as_str()).collect();
    assert_eq!(
        dates,
        ["20260101T000000Z", "20260101T000100Z", "20260101T000200Z"]
    );
    let signatures: std::collections::HashSet<&str> =
        verified.iter().map(|v| v.signature.as_str()).collect();
    assert_eq!(signatures.len(), 3, "each attempt has its own signature");
    // The path as sent is the encoded model id, and what was signed.
    assert!(
        verified[0]
            .canonical_request
            .contains("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%253A0/converse")
    );
}

#[tokio::test]
async fn streams_per_call_headers_and_the_system_clock_are_signed_too() {
    let server = MockServer::start().await;
    let signer = SigV4Signer::new(
        Credentials::new(
            AKID,
            SECRET,
            Some("session-token-value".into()),
            None,
            "test",
        ),
        "us-east-1",
        "bedrock",
    );
    let client = signed_client(&server, signer);
    server.on(
        "POST",
        STREAM,
        MockResponse::raw_body_chunks(
            stream_body()
                .chunks(7)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>(),
        )
        .header("content-type", "application/vnd.amazon.eventstream"),
    );
    let options = llm_runtime::ChatOptions::default().header("x-amzn-bedrock-trace", "ENABLED");
    let reply = client
        .chat_stream_with(request(), &options)
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("completes");
    assert_eq!(reply.text(), "Hello!");
    let verified = verify_all(&server, SECRET);
    assert!(
        verified[0]
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token")
    );
    assert!(
        verified[0]
            .signed_headers
            .iter()
            .any(|h| h == "x-amzn-bedrock-trace")
    );
    let sent = server.requests().remove(0);
    assert_eq!(
        sent.header("x-amz-security-token"),
        Some("session-token-value")
    );
    // Signed now, by the system clock.
    let date = parse_amz_date(&verified[0].amz_date);
    let skew = SystemTime::now().duration_since(date).unwrap_or_default();
    assert!(skew < Duration::from_secs(120), "{skew:?}");
}

#[tokio::test]
async fn a_tampered_body_fails_the_verifier() {
    // The verifier is not a rubber stamp: a byte changed after signing is caught.
    let server = MockServer::start().await;
    let signer = SigV4Signer::new(
        Credentials::new(AKID, SECRET, None, None, "test"),
        "us-east-1",
        "bedrock",
    );
    let client = signed_client(&server, signer);
    server.on("POST", CHAT, MockResponse::json(200, answer()));
    client.chat(request()).await.expect("chat");
    let mut received = Received::from_recorded(&server.requests()[0]);
    assert!(verify(&received, SECRET).is_ok());
    received.body.push(b' ');
    assert!(verify(&received, SECRET).unwrap_err().contains("mismatch"));
    assert!(
        verify(
            &Received::from_recorded(&server.requests()[0]),
            "wrong-secret"
        )
        .is_err()
    );
}

/// A caller's credentials provider (the AWS SDK's chain would be one).
#[derive(Debug)]
struct Rotating(AtomicU64);

impl ProvideCredentials for Rotating {
    fn provide_credentials<'a>(&'a self) -> aws_future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        aws_future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKIDROTATED{n}"),
            SECRET,
            Some(format!("token-{n}")),
            // Expires within the refresh margin: refreshed halfway, not per attempt.
            Some(SystemTime::now() + Duration::from_secs(60)),
            "rotating",
        )))
    }
}

mod aws_future {
    pub(crate) use llm_runtime::auth::aws::ProvideCredentialsFuture as ProvideCredentials;
}

#[tokio::test]
async fn a_callers_short_lived_credentials_are_not_fetched_per_attempt() {
    let server = MockServer::start().await;
    let provider = Rotating(AtomicU64::new(0));
    let client = signed_client(
        &server,
        SigV4Signer::with_provider(provider, "us-east-1", "bedrock"),
    );
    server.on_sequence(
        "POST",
        CHAT,
        vec![throttled(), MockResponse::json(200, answer())],
    );
    client.chat(request()).await.expect("chat");
    let keys: Vec<String> = verify_all(&server, SECRET)
        .into_iter()
        .map(|v| v.access_key_id)
        .collect();
    // Sixty-second credentials within the five-minute margin used to be
    // fetched for each attempt; they now serve half their lifetime (the
    // refresh itself is covered by the signer's unit tests).
    assert_eq!(keys, ["AKIDROTATED0", "AKIDROTATED0"]);
    assert_eq!(
        server.requests()[1].header("x-amz-security-token"),
        Some("token-0")
    );
}

#[test]
fn a_signing_provider_without_credentials_is_a_config_error() {
    let error = Bedrock::config()
        .url_var("region", "us-east-1")
        .connect()
        .expect_err("no signer, no key");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(error.to_string().contains(".signer("), "{error}");
}

// ---- from the environment, in child processes ----

const CHILD: &str = "BEDROCK_CHILD_EXPECT";

/// Runs only as a child: `from_env()` with the variables it was given signs
/// (or sends a bearer key) as `BEDROCK_CHILD_EXPECT` says.
#[tokio::test]
#[ignore = "run by the from_env tests in a child process"]
async fn from_env_child() {
    let expect = std::env::var(CHILD).expect("run as a child");
    let server = MockServer::start().await;
    server.fallback(MockResponse::json(200, answer()));
    // The endpoint variable points the client at the mock.
    let client = Bedrock::config()
        .base_url(server.url())
        .with_env()
        .expect("with_env")
        .max_retries(0)
        .connect()
        .expect("connect");
    client.chat(request()).await.expect("chat");
    let sent = server.requests().remove(0);
    match expect.split_once(':') {
        Some(("bearer", token)) => {
            assert_eq!(
                sent.header("authorization"),
                Some(format!("Bearer {token}").as_str())
            );
        }
        Some(("sigv4", akid)) => {
            let verified = verify(&Received::from_recorded(&sent), "child-secret").unwrap();
            assert_eq!(verified.access_key_id, akid);
            assert_eq!(verified.region, "eu-west-3");
        }
        _ => panic!("unknown expectation {expect}"),
    }
    let registered: Vec<&str> = Client::from_env().expect("from_env").providers().collect();
    assert!(registered.contains(&"bedrock"), "{registered:?}");
    let info = Bedrock::from_env().expect("from_env").info();
    assert!(
        info.base_url.contains("eu-west-3")
            || std::env::var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME").is_ok()
    );
}

#[test]
fn from_env_signs_with_the_key_variables() {
    run_child(&[
        (CHILD, "sigv4:AKIDFROMENV"),
        ("AWS_REGION", "eu-west-3"),
        ("AWS_ACCESS_KEY_ID", "AKIDFROMENV"),
        ("AWS_SECRET_ACCESS_KEY", "child-secret"),
    ]);
}

#[test]
fn from_env_signs_with_a_named_profile_and_its_region() {
    let dir = std::env::temp_dir().join(format!("llm-runtime-bedrock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let credentials = dir.join("credentials");
    let config = dir.join("config");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = other\n\n[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = child-secret\n",
    )
    .unwrap();
    std::fs::write(&config, "[profile work]\nregion = eu-west-3\n").unwrap();
    run_child(&[
        (CHILD, "sigv4:AKIDPROFILE"),
        ("AWS_PROFILE", "work"),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ]);
}

#[test]
fn from_env_prefers_a_bedrock_api_key() {
    run_child(&[
        (CHILD, "bearer:bedrock-api-key-123"),
        ("AWS_DEFAULT_REGION", "eu-west-3"),
        ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-123"),
        ("AWS_ACCESS_KEY_ID", "AKIDIGNORED"),
        ("AWS_SECRET_ACCESS_KEY", "ignored"),
    ]);
}
