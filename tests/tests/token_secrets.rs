//! Secrets of token auth: the service account's private key, an
//! authorized-user file's client secret and refresh token, an Entra client
//! secret, and every access token never appear in `Debug`, errors, hooks or
//! logs at TRACE, even when the upstreams echo them back.
//!
//! One test in its own binary with a process-wide subscriber (as
//! `runtime_tracing.rs`): a thread-local one can miss events.
#![allow(clippy::unwrap_used)]

mod common;

use std::io;
use std::sync::{Arc, Mutex};

use llm_runtime::auth::{EntraId, GoogleCredentials};
use llm_runtime::hooks::{AttemptFailure, AttemptRequest, Hook, ResponseHead};
use llm_runtime::providers::{AzureOpenAi, VertexGemini};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, Error, ProviderConfig};
use serde_json::json;
use tracing::Level;

use common::conformance::fixture_json;
use common::google::{
    LOCATION, PROJECT, TOKEN_PATH, TOKEN_PREFIX, private_key, serve_tokens, service_account_json,
    token_uri, vertex_config,
};

const USER_SECRET: &str = "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nt";
const REFRESH_TOKEN: &str = "1//0gRefresh-token-never-print";
const ENTRA_SECRET: &str = "entra~client~secret~never~print";
const ENTRA_TOKEN: &str = "eyJ0eXAi.entra-access-token-never-print";

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

/// Everything the hooks were shown, as text.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Hook for Recorder {
    fn before_send(&self, request: &mut AttemptRequest<'_>) {
        let body = request
            .body()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let seen = format!("{request:?} {} {body}", request.url());
        self.0.lock().unwrap().push(seen);
    }
    fn on_response(&self, head: &ResponseHead<'_>) {
        self.0.lock().unwrap().push(format!("{head:?}"));
    }
    fn on_error(&self, failure: &AttemptFailure<'_>) {
        let e = failure.error;
        let seen = format!("{failure:?} {e} {:?}", e.body());
        self.0.lock().unwrap().push(seen);
    }
}

/// An error answer that quotes `secrets` back.
fn echo(status: u16, secrets: &[&str]) -> MockResponse {
    MockResponse::json(
        status,
        json!({"error": {"code": status, "status": "UNAUTHENTICATED", "message": format!("refused: {}", secrets.join(" "))}}),
    )
}

fn hello() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash").user("Say hello.")
}

#[tokio::test]
async fn no_secret_of_token_auth_shows_in_debug_errors_hooks_or_trace_logs() {
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
    let chat_path = "/v1/projects/test-project-42/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent";

    // A service account: each token is refused with itself quoted back, so
    // the call refetches once and fails.
    let refusing = |server: &MockServer| {
        serve_tokens(server, 3600, 3);
        let echoes = (0..2)
            .map(|n| echo(401, &[&format!("{TOKEN_PREFIX}{n}")]))
            .collect();
        server.on_sequence("POST", chat_path, echoes);
    };
    let server = MockServer::start().await;
    refusing(&server);
    let config = vertex_config::<VertexGemini>(&server).hook(recorder.clone());
    shown.push(format!("{config:?}"));
    let client = config.connect().unwrap();
    shown.push(format!("{client:?}"));
    errors.push(client.chat(hello()).await.unwrap_err());
    let server = MockServer::start().await;
    refusing(&server);
    let client = vertex_config::<VertexGemini>(&server)
        .hook(recorder.clone())
        .connect()
        .unwrap();
    errors.push(client.chat_stream(hello()).await.err().unwrap());
    let creds = GoogleCredentials::from_json(&service_account_json(&server)).unwrap();
    shown.push(format!("{creds:?} {creds:#?}"));

    // The token endpoint refuses and quotes the assertion and key back.
    let server = MockServer::start().await;
    let key = private_key();
    server.on("POST", TOKEN_PATH, echo(400, &[&key]));
    let client = vertex_config::<VertexGemini>(&server)
        .hook(recorder.clone())
        .connect()
        .unwrap();
    errors.push(client.chat(hello()).await.unwrap_err());

    // An authorized-user file whose refresh exchange is refused with its secrets quoted.
    let server = MockServer::start().await;
    server.on("POST", TOKEN_PATH, echo(400, &[USER_SECRET, REFRESH_TOKEN]));
    let adc = json!({"type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
                     "client_secret": USER_SECRET, "refresh_token": REFRESH_TOKEN,
                     "token_uri": token_uri(&server)});
    let user = Arc::new(GoogleCredentials::from_json(&adc.to_string()).unwrap());
    shown.push(format!("{user:?}"));
    let client = ProviderConfig::new(VertexGemini)
        .base_url(format!(
            "{}/v1/projects/{{project}}/locations/{{location}}",
            server.url()
        ))
        .url_var("project", PROJECT)
        .url_var("location", LOCATION)
        .token_source(user)
        .hook(recorder.clone())
        .max_retries(0)
        .connect()
        .unwrap();
    errors.push(client.chat(hello()).await.unwrap_err());

    // Entra ID: the token works once, then Azure refuses it and quotes it
    // with the secret; the token endpoint then refuses, quoting the secret.
    let server = MockServer::start().await;
    let token_path = "/tenant-1/oauth2/v2.0/token";
    server.on_sequence(
        "POST",
        token_path,
        vec![
            MockResponse::json(
                200,
                json!({"access_token": ENTRA_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
            ),
            echo(401, &[ENTRA_SECRET]),
        ],
    );
    server.on(
        "POST",
        "/openai/deployments/gpt-4o-mini/chat/completions",
        echo(401, &[ENTRA_TOKEN, ENTRA_SECRET]),
    );
    let entra = EntraId::new("tenant-1", "app", ENTRA_SECRET)
        .unwrap()
        .authority_host(server.url())
        .unwrap();
    shown.push(format!("{entra:?}"));
    let config = AzureOpenAi::config()
        .base_url(format!("{}/openai", server.url()))
        .token_source(Arc::new(entra))
        .hook(recorder.clone())
        .max_retries(0);
    shown.push(format!("{config:?}"));
    let client = config.connect().unwrap();
    shown.push(format!("{client:?}"));
    errors.push(
        client
            .chat(ChatRequest::new("gpt-4o-mini").user("hi"))
            .await
            .unwrap_err(),
    );

    // The Gemini wire fixture is only here so a success is logged too.
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    server.on(
        "POST",
        chat_path,
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let client = vertex_config::<VertexGemini>(&server)
        .hook(recorder.clone())
        .connect()
        .unwrap();
    client.chat(hello()).await.unwrap();

    for e in &errors {
        shown.push(format!("{e} {e:?} {:?}", e.body()));
    }
    shown.extend(recorder.0.lock().unwrap().iter().cloned());
    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the logs were captured"
    );
    shown.push(logs);

    let mut secrets = vec![
        USER_SECRET,
        REFRESH_TOKEN,
        ENTRA_SECRET,
        ENTRA_TOKEN,
        TOKEN_PREFIX,
    ];
    // Every line of the private key's body, not only the whole PEM.
    secrets.extend(
        key.lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16),
    );
    for text in &shown {
        for secret in &secrets {
            assert!(!text.contains(secret), "`{secret}` leaked in:\n{text}");
        }
    }
    assert!(
        errors.iter().any(|e| e.to_string().contains("[redacted]")),
        "echoed secrets are redacted, not dropped: {errors:?}"
    );
}
