//! Secrets the runtime learns from their place rather than from `.api_key`:
//! headers that carry credentials (configured, read from a variable, per
//! call, through the chain API), a password in a base URL, and an access
//! token fetched during the call. None of them shows in `Debug`, an error
//! (even one an upstream or a stream's error event echoes), a hook, or the
//! logs at TRACE.
//!
//! One test with a process-wide TRACE subscriber (as `token_secrets.rs`): a
//! thread-local one misses the events of the stream's read-ahead task.
#![allow(clippy::unwrap_used)]

mod common;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llm_runtime::auth::EntraId;
use llm_runtime::hooks::{AttemptFailure, AttemptRequest, Hook, ResponseHead};
use llm_runtime::http::{HeaderName, HeaderValue, HttpClient};
use llm_runtime::providers::{AzureOpenAi, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatOptions, ChatRequest, Error, ErrorKind};
use serde_json::json;
use tracing::Level;

use common::{CHAT_PATH, KEY, drain, openai_chunk, request};

/// A gateway's virtual key, configured with `.header(...)`.
const VIRTUAL_KEY: &str = "pk-virtual-3c1f9e77-never-print";
/// A session cookie, configured with `.header(...)`.
const COOKIE: &str = "session=ck-0d5e2a9b41-never-print";
/// A per-call LiteLLM key.
const PER_CALL_KEY: &str = "sk-litellm-per-call-88e1c0-never-print";
/// A per-call proxy credential (`Basic` scheme).
const PROXY_CREDENTIAL: &str = "cHJveHk6cGFzc3dvcmQtbmV2ZXItcHJpbnQ=";
/// The password of a base URL.
const URL_PASSWORD: &str = "url-password-5b7c-never-print";
/// The access token Entra ID issues during the call.
const FETCHED_TOKEN: &str = "eyJ0eXAi.fetched-entra-token-never-print";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Everything the hooks were shown, and the value each sensitive header had there.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
    shown_values: Mutex<Vec<(String, String)>>,
}

impl Hook for Recorder {
    fn before_send(&self, request: &mut AttemptRequest<'_>) {
        let mut shown = self.shown_values.lock().unwrap();
        for (name, value) in request.headers() {
            shown.push((
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
        let text = format!("{request:?} {:?} {}", request.headers(), request.url());
        self.seen.lock().unwrap().push(text);
        request
            .add_header("x-hook-token", "hook-added-token-value")
            .unwrap();
    }
    fn on_response(&self, head: &ResponseHead<'_>) {
        self.seen.lock().unwrap().push(format!("{head:?}"));
    }
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        let e = failure.error;
        let text = format!("{failure:?} {e} {:?}", e.body());
        self.seen.lock().unwrap().push(text);
    }
}

/// A 401 that quotes every `secret` back.
fn echo(secrets: &[&str]) -> MockResponse {
    MockResponse::json(
        401,
        json!({"error": {"message": format!("refused: {}", secrets.join(" | ")), "type": "invalid_request_error"}}),
    )
}

/// A 200 stream whose second event is an error quoting `secrets`.
fn echo_mid_stream(secrets: &[&str]) -> MockResponse {
    let error = json!({"error": {"message": format!("revoked: {}", secrets.join(" | ")), "type": "invalid_request_error"}});
    MockResponse::sse_data([openai_chunk("a"), error.to_string()])
}

fn per_call() -> ChatOptions {
    ChatOptions::new()
        .header("x-litellm-api-key", PER_CALL_KEY)
        .header("proxy-authorization", format!("Basic {PROXY_CREDENTIAL}"))
        .header("x-tenant", "acme")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_header_secret_url_password_or_fetched_token_shows_anywhere() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber here");

    let recorder = Arc::new(Recorder::default());
    let mut shown: Vec<String> = Vec::new();
    let mut errors: Vec<Error> = Vec::new();
    let all = [KEY, VIRTUAL_KEY, COOKIE, PER_CALL_KEY, PROXY_CREDENTIAL];

    // Configured and per-call credential headers, echoed by a 401, by a
    // stream's error event, and by a 401 to a stream request.
    let server = MockServer::start().await;
    let config = common::config(&server)
        .header("x-portkey-virtual-key", VIRTUAL_KEY)
        .header("cookie", COOKIE)
        .hook(recorder.clone())
        .max_retries(0);
    shown.push(format!("{config:?}"));
    let client = config.connect().unwrap();
    shown.push(format!("{client:?} {:?}", client.info()));
    shown.push(format!("{:?}", per_call()));
    server.on("POST", CHAT_PATH, echo(&all));
    errors.push(client.chat_with(request(), &per_call()).await.unwrap_err());
    errors.push(
        client
            .chat_stream_with(request(), &per_call())
            .await
            .unwrap_err(),
    );
    server.on("POST", CHAT_PATH, echo_mid_stream(&all));
    let stream = client
        .chat_stream_with(request(), &per_call())
        .await
        .unwrap();
    let (_, error) = drain(stream).await;
    errors.push(error.expect("the error event ends the stream"));
    // What was sent is what was configured: the marks change nothing on the wire.
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-portkey-virtual-key"), Some(VIRTUAL_KEY));
    assert_eq!(sent.header("x-litellm-api-key"), Some(PER_CALL_KEY));
    assert_eq!(sent.header("x-hook-token"), Some("hook-added-token-value"));

    // The chain API: a header that carries a key is redacted from its error.
    let server = MockServer::start().await;
    server.on("POST", "/echo", echo(&[VIRTUAL_KEY]));
    let e = HttpClient::shared()
        .unwrap()
        .post(format!("{}/echo", server.url()))
        .header(
            HeaderName::from_static("x-api-key"),
            HeaderValue::from_static(VIRTUAL_KEY),
        )
        .json(&json!({}))
        .unwrap()
        .send()
        .await
        .unwrap_err();
    errors.push(e);

    // A password in the base URL: refused, and not shown by the error or by
    // the configuration's Debug.
    let config = OpenAi::config()
        .api_key(KEY)
        .base_url(format!("https://gateway:{URL_PASSWORD}@llm.example.com/v1"));
    shown.push(format!("{config:?} {config:#?}"));
    let e = config.connect().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("[redacted]@llm.example.com"), "{e}");
    errors.push(e);

    // A token fetched during the call: a stream's error event quotes it.
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/tenant-1/oauth2/v2.0/token",
        MockResponse::json(
            200,
            json!({"access_token": FETCHED_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
        ),
    );
    let deployment = "/openai/deployments/gpt-4o-mini/chat/completions";
    server.on("POST", deployment, echo_mid_stream(&[FETCHED_TOKEN]));
    let entra = EntraId::new("tenant-1", "app", "entra-secret-value-xyz")
        .unwrap()
        .authority_host(server.url())
        .unwrap();
    let client = AzureOpenAi::config()
        .base_url(format!("{}/openai", server.url()))
        .token_source(Arc::new(entra))
        .hook(recorder.clone())
        .max_retries(0)
        .timeout(Duration::from_secs(10))
        .connect()
        .unwrap();
    let azure = || ChatRequest::new("gpt-4o-mini").user("hi");
    let (_, error) = drain(client.chat_stream(azure()).await.unwrap()).await;
    errors.push(error.expect("the error event ends the stream"));
    // And a 200 body that is no answer but quotes it.
    server.on(
        "POST",
        deployment,
        MockResponse::text(
            200,
            "application/json",
            format!("{{\"oops\": \"{FETCHED_TOKEN}"),
        ),
    );
    errors.push(client.chat(azure()).await.unwrap_err());

    for e in &errors {
        shown.push(format!("{e} {e:?} {:?}", e.body()));
    }
    shown.extend(recorder.seen.lock().unwrap().iter().cloned());
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "captured");
    shown.push(logs);

    let secrets = [
        KEY,
        VIRTUAL_KEY,
        COOKIE,
        PER_CALL_KEY,
        PROXY_CREDENTIAL,
        URL_PASSWORD,
        FETCHED_TOKEN,
        "hook-added-token-value",
    ];
    for text in &shown {
        for secret in secrets {
            assert!(!text.contains(secret), "`{secret}` leaked in:\n{text}");
        }
    }
    // Each echo was redacted, not dropped: the message or body still reads.
    for e in errors.iter().filter(|e| e.kind() != ErrorKind::Config) {
        let text = format!("{e} {}", e.body().unwrap_or_default());
        assert!(text.contains("[redacted]"), "{text}");
    }
    // Hooks saw each credential header as `[redacted]`, and the rest as sent.
    let values = recorder.shown_values.lock().unwrap();
    for name in [
        "authorization",
        "x-portkey-virtual-key",
        "cookie",
        "x-litellm-api-key",
        "proxy-authorization",
    ] {
        let shown: Vec<&str> = values
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(!shown.is_empty(), "{name} was shown to the hook");
        assert!(
            shown.iter().all(|v| *v == "[redacted]"),
            "{name}: {shown:?}"
        );
    }
    assert!(values.iter().any(|(n, v)| n == "x-tenant" && v == "acme"));
}
