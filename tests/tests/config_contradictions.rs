//! Settings that would be silently ignored or contradict each other are
//! `Config` errors before any network call (or follow one documented rule),
//! and the smaller items of the same reading: `*.localhost` is not loopback,
//! the shared client builds or fails loudly, a dropped stream still reports
//! its usage and cost, and signing a Google assertion installs no
//! process-wide crypto provider.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::auth::StaticToken;
use llm_runtime::auth::aws::{Credentials, SigV4Signer};
use llm_runtime::hooks::{Completion, Hook};
use llm_runtime::providers::{Bedrock, OpenAi, VertexGemini};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{ChatOptions, ChatRequest, ErrorKind, StreamEvent};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Key, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use proptest::prelude::*;
use serde_json::json;
use tracing_subscriber::prelude::*;

use common::conformance::fixture_json;
use common::google::{LOCATION, PROJECT, credentials, serve_tokens};
use common::{CHAT_PATH, KEY, PATIENCE, chat_ok, config, openai_chunk, request};

#[tokio::test]
async fn a_zero_per_call_bound_is_a_config_error_before_sending() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("hi"));
    let client = config(&server).connect().unwrap();
    for options in [
        ChatOptions::new().timeout(Duration::ZERO),
        ChatOptions::new().idle_timeout(Duration::ZERO),
    ] {
        let e = client.chat_with(request(), &options).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.message().contains("zero"), "{e}");
        let e = client
            .chat_stream_with(request(), &options)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    }
    assert_eq!(server.request_count(), 0, "nothing was sent");
    // A bound of one nanosecond is a bound: the call is made and times out.
    let tiny = ChatOptions::new()
        .timeout(Duration::from_nanos(1))
        .max_retries(0);
    let e = client.chat_with(request(), &tiny).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn a_vertex_host_only_base_url_gets_the_project_and_location_path() {
    let server = MockServer::start().await;
    let path = format!(
        "/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent"
    );
    server.on(
        "POST",
        &path,
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    for given in [server.url(), format!("{}/", server.url())] {
        let client = VertexGemini::config()
            .base_url(given)
            .project(PROJECT)
            .location(LOCATION)
            .token_source(Arc::new(StaticToken::new("static-token-1234")))
            .max_retries(0)
            .connect()
            .unwrap();
        assert_eq!(
            client.info().base_url,
            format!(
                "{}/v1/projects/{PROJECT}/locations/{LOCATION}",
                server.url()
            )
        );
        client
            .chat(ChatRequest::new("gemini-2.5-flash").user("hi"))
            .await
            .unwrap();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.path == path), "{requests:?}");
    // Without a project the host-only URL names the missing variable.
    let e = VertexGemini::config()
        .base_url(server.url())
        .location(LOCATION)
        .token_source(Arc::new(StaticToken::new("static-token-1234")))
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("GOOGLE_CLOUD_PROJECT"), "{e}");
}

/// Regions AWS has, to draw pairs from.
const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-2",
    "ap-southeast-3",
    "us-gov-west-1",
];

fn signer(region: &str) -> Arc<SigV4Signer> {
    let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", None, None, "test");
    Arc::new(SigV4Signer::new(credentials, region, "bedrock"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A Bedrock client connects exactly when its URL's region is the
    /// signer's: from the `{region}` placeholder or a full endpoint URL.
    #[test]
    fn bedrock_url_and_signing_regions_must_agree(
        url_region in prop::sample::select(REGIONS.to_vec()),
        signing in prop::sample::select(REGIONS.to_vec()),
        fips in any::<bool>(),
        explicit_url in any::<bool>(),
    ) {
        let mut config = Bedrock::config().signer(signer(signing));
        config = if explicit_url {
            let host = if fips { "bedrock-runtime-fips" } else { "bedrock-runtime" };
            config.base_url(format!("https://{host}.{url_region}.amazonaws.com"))
        } else {
            config.url_var("region", url_region)
        };
        let result = config.connect();
        if url_region == signing {
            prop_assert!(result.is_ok(), "{:?}", result.err());
        } else {
            let e = result.unwrap_err();
            prop_assert_eq!(e.kind(), ErrorKind::Config);
            prop_assert!(e.message().contains(url_region) && e.message().contains(signing), "{}", e);
        }
    }
}

#[test]
fn a_bedrock_endpoint_without_a_region_or_a_bearer_key_is_not_checked() {
    // A proxy or a loopback mock names no region; a Bedrock API key is not a
    // signature, so it has no region to contradict.
    let proxied = Bedrock::config()
        .base_url("http://127.0.0.1:9")
        .signer(signer("eu-west-1"))
        .connect();
    assert!(proxied.is_ok(), "{proxied:?}");
    let bearer = Bedrock::config()
        .url_var("region", "eu-west-1")
        .api_key("bedrock-api-key-1234")
        .connect();
    assert!(bearer.is_ok(), "{bearer:?}");
}

#[test]
fn only_exactly_localhost_and_loopback_addresses_take_plain_http() {
    for url in [
        "http://api.localhost:8080/v1",
        "http://localhost.example.com/v1",
        "http://127.0.0.1.nip.io/v1",
        "http://0.0.0.0:8080/v1",
    ] {
        let e = OpenAi::config()
            .api_key(KEY)
            .base_url(url)
            .connect()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{url}: {e}");
        assert!(e.message().contains("plain http"), "{url}: {e}");
    }
    for url in [
        "http://localhost:8080/v1",
        "http://LOCALHOST:8080/v1",
        "http://127.3.2.1:8080/v1",
        "http://[::1]:8080/v1",
    ] {
        let ok = OpenAi::config().api_key(KEY).base_url(url).connect();
        assert!(ok.is_ok(), "{url}: {ok:?}");
    }
    for host in ["api.localhost", "x.y.localhost", "localhost.", "::2"] {
        assert!(!llm_runtime::http::is_loopback_host(host), "{host}");
    }
}

#[test]
fn the_shared_client_builds_and_is_used_by_default() {
    let shared = llm_runtime::http::HttpClient::shared();
    assert!(shared.is_ok(), "{shared:?}");
}

/// What a completion hook was told: stream, dropped, prompt tokens, cost.
type Told = (bool, bool, Option<u32>, Option<f64>);

/// The completions the hooks were told of.
#[derive(Default)]
struct Completions(Mutex<Vec<Told>>);

impl Hook for Completions {
    fn on_complete(&self, done: &Completion<'_>) {
        self.0.lock().unwrap().push((
            done.stream,
            done.dropped,
            done.usage.map(|u| u.prompt_tokens),
            done.cost,
        ));
    }
}

#[tokio::test]
async fn a_dropped_stream_reports_its_usage_and_cost_to_hooks_and_span() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(llm_runtime::otel::layer().with_tracer(provider.tracer("drop-test"))),
    );
    let server = MockServer::start().await;
    let usage = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                       "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}});
    // The text and the usage, then the upstream goes silent: the caller gives up.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([openai_chunk("Hel"), usage.to_string()])
            .with_fault(Fault::StallAfterChunks(2)),
    );
    let hook = Arc::new(Completions::default());
    let client = config(&server).hook(hook.clone()).connect().unwrap();
    let mut stream = client.chat_stream(request()).await.unwrap();
    while let Some(event) = stream.next().await {
        if let StreamEvent::Usage { .. } = event.unwrap() {
            break;
        }
    }
    drop(stream);
    // The read-ahead task is aborted with the stream; its end is reported then.
    let waited = tokio::time::timeout(PATIENCE, async {
        while hook.0.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the hook was told within {PATIENCE:?}");
    let seen = hook.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "once: {seen:?}");
    let (stream, dropped, prompt, cost) = seen[0];
    assert!(stream && dropped, "{seen:?}");
    assert_eq!(prompt, Some(11));
    // gpt-4o-mini's list prices: $0.15 and $0.60 per million tokens.
    let cost = cost.expect("gpt-4o-mini is priced");
    let expected = (11.0 * 0.15 + 3.0 * 0.60) / 1e6;
    assert!(
        (cost - expected).abs() <= expected * 1e-9,
        "{cost} != {expected}"
    );

    // The span ends when the last of its handles (the task's) is dropped.
    let ended = || {
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        spans.into_iter().find(|s| s.name == "chat gpt-4o-mini")
    };
    let span = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(span) = ended() {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the stream's span ended");
    let attr = |key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key == Key::new(key.to_owned()))
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("gen_ai.usage.input_tokens").as_deref(), Some("11"));
    assert_eq!(attr("gen_ai.usage.output_tokens").as_deref(), Some("3"));
    assert_eq!(
        attr("llm.stream.dropped"),
        Some(Value::Bool(true).to_string())
    );
}

#[tokio::test]
async fn signing_a_service_account_assertion_installs_no_process_wide_crypto() {
    let server = MockServer::start().await;
    serve_tokens(&server, 3600, 1);
    server.on(
        "POST",
        &format!(
            "/v1/projects/{PROJECT}/locations/{LOCATION}/publishers/google/models/gemini-2.5-flash:generateContent"
        ),
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let client = VertexGemini::config()
        .base_url(server.url())
        .project(PROJECT)
        .location(LOCATION)
        .token_source(credentials(&server))
        .max_retries(0)
        .connect()
        .unwrap();
    client
        .chat(ChatRequest::new("gemini-2.5-flash").user("hi"))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2, "one exchange, one call");
    // Installing succeeds only in a process where nobody installed one: the
    // library signed with its own provider and left the choice to the application.
    let installed = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    assert!(
        installed.is_ok(),
        "the runtime installed a process-wide provider"
    );
}
