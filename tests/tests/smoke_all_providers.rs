//! Smoke conformance for every built-in provider, generated from the one
//! table (`llm_runtime::providers::specs()`), not written per provider.
//!
//! For each provider, over real HTTP on 127.0.0.1 against its dialect's
//! recorded-format fixtures: a non-streamed chat, a stream (or `Unsupported`
//! where the declaration has no `stream`), one error status, and the request
//! that was sent: its path below the declared base path (URL placeholders
//! filled), its auth, its static and required headers, and the declared quirks
//! (which field carries `max_tokens`, `stream_options`, unsupported parameters
//! rejected before any request). Embedding-only providers embed instead of
//! chatting. A provider added to the table is in this run by construction, and
//! the run fails if any built-in is not exercised.

mod common;

use std::time::Duration;

use llm_runtime::providers::{self, connect_to};
use llm_runtime::testing::{MockResponse, MockServer, RecordedRequest};
use llm_runtime::{
    ChatRequest, EmbeddingRequest, ErrorKind, LlmProvider,
    spec::{AuthScheme, Capability, ProviderSpec},
    types::{Param, ResponseFormat, ToolChoice},
};
use serde_json::{Value, json};

use common::conformance::{fixture, fixture_json};
use common::{KEY, drain};

/// How one wire format answers, from `tests/fixtures/{dialect}`.
struct Wire {
    /// The chat path below the base URL (`{model}` is the request's model).
    chat: &'static str,
    /// The streamed chat path, where it differs.
    stream: &'static str,
    whole: fn() -> MockResponse,
    streamed: fn() -> MockResponse,
    error: fn() -> MockResponse,
}

fn wire(dialect: &str) -> Wire {
    match dialect {
        "openai" => Wire {
            chat: "/chat/completions",
            stream: "/chat/completions",
            whole: || MockResponse::json(200, fixture_json("openai", "chat_text.json")),
            streamed: || MockResponse::sse([fixture("openai", "stream_text.sse")]),
            error: || {
                MockResponse::json(
                    401,
                    json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
                )
            },
        },
        "openai_responses" => Wire {
            chat: "/responses",
            stream: "/responses",
            whole: || MockResponse::json(200, fixture_json("openai_responses", "text.json")),
            streamed: || MockResponse::sse([fixture("openai_responses", "text.sse")]),
            error: || MockResponse::json(401, fixture_json("openai_responses", "error_401.json")),
        },
        "anthropic" => Wire {
            chat: "/messages",
            stream: "/messages",
            whole: || MockResponse::json(200, fixture_json("anthropic", "text.json")),
            streamed: || MockResponse::sse([fixture("anthropic", "text.sse")]),
            error: || MockResponse::json(401, fixture_json("anthropic", "error_401.json")),
        },
        "gemini" => Wire {
            chat: "/models/{model}:generateContent",
            stream: "/models/{model}:streamGenerateContent",
            whole: || MockResponse::json(200, fixture_json("gemini", "text.json")),
            streamed: || MockResponse::sse([fixture("gemini", "text.sse")]),
            error: || MockResponse::json(401, fixture_json("gemini", "error_401.json")),
        },
        "ollama" => Wire {
            chat: "/api/chat",
            stream: "/api/chat",
            whole: || MockResponse::json(200, fixture_json("ollama", "chat_text.json")),
            streamed: || {
                MockResponse::ndjson(
                    fixture("ollama", "stream_text.ndjson")
                        .lines()
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                )
            },
            error: || MockResponse::json(401, json!({"error": "unauthorized"})),
        },
        "cohere" => Wire {
            chat: "/v2/chat",
            stream: "/v2/chat",
            whole: || MockResponse::json(200, fixture_json("cohere", "chat_text.json")),
            streamed: || MockResponse::sse([fixture("cohere", "stream_text.sse")]),
            error: || MockResponse::json(401, json!({"message": "invalid api token"})),
        },
        "converse" => Wire {
            chat: "/model/{model}/converse",
            stream: "/model/{model}/converse-stream",
            whole: || MockResponse::json(200, fixture_json("bedrock", "text.json")),
            streamed: || {
                let items: Vec<Value> =
                    serde_json::from_str(&fixture("bedrock", "text.events.json")).expect("JSON");
                let frames: Vec<Vec<u8>> = items
                    .iter()
                    .map(|item| {
                        let event = item["event"].as_str().expect("an event");
                        llm_runtime::stream::encode_event_message(
                            &[(":message-type", "event"), (":event-type", event)],
                            item["payload"].to_string().as_bytes(),
                        )
                    })
                    .collect();
                MockResponse::raw_body_chunks(frames)
                    .header("content-type", "application/vnd.amazon.eventstream")
            },
            error: || {
                MockResponse::json(401, json!({"message": "The security token included in the request is invalid."}))
                    .header("x-amzn-errortype", "UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/")
            },
        },
        other => panic!("no smoke fixtures for dialect `{other}`: add them to `wire()`"),
    }
}

/// The path of the declared base URL, with each `{placeholder}` filled as
/// [`settings`] fills it; the host is replaced by the mock's.
fn base_path(spec: &ProviderSpec) -> String {
    let after_scheme = spec.base_url.split_once("://").map_or("", |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or(String::new(), |i| after_scheme[i..].to_owned())
}

fn filled(path: &str, spec: &ProviderSpec) -> String {
    settings(spec)
        .iter()
        .fold(path.to_owned(), |path, (name, value)| {
            path.replace(&format!("{{{name}}}"), value)
        })
}

/// A value for each URL placeholder and required header of the declaration.
fn settings(spec: &ProviderSpec) -> Vec<(&'static str, String)> {
    let vars = spec
        .url_vars
        .iter()
        .map(|(n, _)| (*n, format!("smoke-{n}")));
    let headers = spec
        .env_headers
        .iter()
        .map(|(h, _)| (*h, format!("smoke-{h}")));
    vars.chain(headers).collect()
}

fn connect(spec: &ProviderSpec, server: &MockServer) -> std::sync::Arc<dyn LlmProvider> {
    let base = format!("{}{}", server.url(), base_path(spec));
    let settings = settings(spec);
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
    connect_to(spec.name, &base, KEY, &settings)
        .unwrap_or_else(|| panic!("{} is in specs() but not connectable", spec.name))
        .unwrap_or_else(|e| panic!("{}: a loopback config is valid: {e}", spec.name))
}

fn model(spec: &ProviderSpec) -> &'static str {
    spec.default_model.unwrap_or("smoke-model")
}

/// The request carries the declared auth, static headers and required headers.
#[track_caller]
fn assert_auth_and_headers(spec: &ProviderSpec, sent: &RecordedRequest) {
    let name = spec.name;
    match spec.auth {
        AuthScheme::Bearer => assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {KEY}").as_str()),
            "{name}: bearer auth"
        ),
        AuthScheme::Header(header) => {
            assert_eq!(sent.header(header), Some(KEY), "{name}: `{header}` auth");
            assert_eq!(sent.header("authorization"), None, "{name}: one auth form");
        }
        AuthScheme::Query(param) => assert!(
            sent.query_pairs.iter().any(|(k, v)| k == param && v == KEY),
            "{name}: `{param}` query auth"
        ),
        AuthScheme::None => assert_eq!(sent.header("authorization"), None, "{name}: no auth"),
        // A key given to a signing provider (a Bedrock API key) is a bearer token.
        AuthScheme::SigV4 { .. } => assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {KEY}").as_str()),
            "{name}: API key instead of a signature"
        ),
        // `connect_to` gives a token provider the key as its (static) token.
        AuthScheme::Token => assert_eq!(
            sent.header("authorization"),
            Some(format!("Bearer {KEY}").as_str()),
            "{name}: token auth"
        ),
        other => panic!("{name}: no smoke check for auth {other:?}"),
    }
    for (header, value) in spec.headers {
        assert_eq!(
            sent.header(header),
            Some(*value),
            "{name}: static header `{header}`"
        );
    }
    for (header, value) in settings(spec).iter().skip(spec.url_vars.len()) {
        assert_eq!(
            sent.header(header),
            Some(value.as_str()),
            "{name}: required header"
        );
    }
}

/// The path is the declared base path (placeholders filled) and then the wire's
/// path, with whatever the provider's rewrite puts between (Azure's deployment).
#[track_caller]
fn assert_path(spec: &ProviderSpec, sent: &RecordedRequest, suffix: &str) {
    let base = filled(&base_path(spec), spec);
    // The model is one path segment, percent-encoded.
    let segment = llm_runtime::http::path_segment(model(spec), "model id").expect("a model id");
    let suffix = suffix.replace("{model}", &segment);
    // A rewrite may replace the wire's path under the base (Vertex's publisher
    // paths); it still names the model.
    let rewritten = sent.path.contains(&format!("/models/{segment}"));
    assert!(
        sent.path.starts_with(&base) && (sent.path.ends_with(&suffix) || rewritten),
        "{}: sent `{}`, expected `{base}...{suffix}`",
        spec.name,
        sent.path
    );
}

/// The OpenAI body shows the declared quirks.
#[track_caller]
fn assert_openai_body(spec: &ProviderSpec, body: &Value, stream: bool) {
    let name = spec.name;
    let field = spec.max_tokens_field.field(model(spec));
    let other = if field == "max_tokens" {
        "max_completion_tokens"
    } else {
        "max_tokens"
    };
    assert_eq!(body[field], 7, "{name}: `max_tokens` sent as `{field}`");
    assert!(body.get(other).is_none(), "{name}: `{other}` not sent");
    if stream {
        assert_eq!(body["stream"], true, "{name}");
        assert_eq!(
            body.get("stream_options").is_some(),
            spec.stream_options,
            "{name}: `stream_options` as declared"
        );
    }
}

/// A request setting each parameter of the declared `unsupported(...)`.
fn with_unsupported(spec: &ProviderSpec, mut request: ChatRequest) -> ChatRequest {
    for param in spec.unsupported_params.iter() {
        request = match param {
            Param::Temperature => request.temperature(0.5),
            Param::TopP => request.top_p(0.5),
            Param::MaxTokens => request.max_tokens(3),
            Param::Stop => request.stop("END"),
            Param::Seed => request.seed(7),
            Param::ToolChoice => request.tool_choice(ToolChoice::Auto),
            Param::ResponseFormat => request.response_format(ResponseFormat::JsonObject),
            Param::ReasoningEffort => {
                request.reasoning_effort(llm_runtime::types::ReasoningEffort::Low)
            }
            Param::ReasoningBudget => request.reasoning_budget(64),
            Param::User => request.end_user("u1"),
            other => panic!("{}: no smoke value for `{}`", spec.name, other.name()),
        };
    }
    request
}

async fn smoke_chat(spec: &ProviderSpec, server: &MockServer, client: &dyn LlmProvider) {
    let name = spec.name;
    let dialect = spec.dialect.expect("every built-in delegates to a dialect");
    let wire = wire(dialect);
    let request = ChatRequest::new(model(spec))
        .user("Say hello")
        .max_tokens(7);

    server.fallback((wire.whole)());
    let reply = client
        .chat(request.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: chat: {e}"));
    assert!(!reply.text().is_empty(), "{name}: the fixture's text");
    assert_eq!(reply.provider, name);
    let sent = server.requests().pop().expect("one request");
    assert_eq!(sent.method, "POST", "{name}");
    assert_path(spec, &sent, wire.chat);
    assert_auth_and_headers(spec, &sent);
    if dialect == "openai" {
        assert_openai_body(spec, &sent.body_json(), false);
    }

    if spec.supports(Capability::Stream) {
        server.fallback((wire.streamed)());
        let stream = client
            .chat_stream(request.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: stream: {e}"));
        let (events, error) = drain(stream).await;
        assert!(error.is_none(), "{name}: stream error {error:?}");
        assert!(!events.is_empty(), "{name}: stream events");
        let sent = server.requests().pop().expect("one request");
        assert_path(spec, &sent, wire.stream);
        assert_auth_and_headers(spec, &sent);
        if dialect == "openai" {
            assert_openai_body(spec, &sent.body_json(), true);
        }
    } else {
        let error = client.chat_stream(request.clone()).await.err();
        assert_eq!(
            error.map(|e| e.kind()),
            Some(ErrorKind::Unsupported),
            "{name}: no `stream` declared"
        );
    }

    server.fallback((wire.error)());
    let error = client
        .chat(request.clone())
        .await
        .expect_err("a 401 is an error");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{name}: {error}");
    assert_eq!(error.status(), Some(401), "{name}");
    assert_eq!(error.provider(), Some(name), "{name}");

    if !spec.unsupported_params.is_empty() {
        let before = server.request_count();
        let error = client
            .chat(with_unsupported(spec, request))
            .await
            .expect_err("declared unsupported parameters are rejected");
        assert_eq!(error.kind(), ErrorKind::Unsupported, "{name}: {error}");
        for param in spec.unsupported_params.names() {
            assert!(
                error.to_string().contains(param),
                "{name}: names `{param}`: {error}"
            );
        }
        assert_eq!(
            server.request_count(),
            before,
            "{name}: rejected before any request"
        );
    }
}

async fn smoke_embeddings(spec: &ProviderSpec, server: &MockServer, client: &dyn LlmProvider) {
    let name = spec.name;
    server.fallback(MockResponse::json(
        200,
        json!({"object": "list", "model": "smoke-embed",
               "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5]}],
               "usage": {"prompt_tokens": 1, "total_tokens": 1}}),
    ));
    let embedded = client
        .embed(EmbeddingRequest::new("smoke-embed", ["hello"]))
        .await
        .unwrap_or_else(|e| panic!("{name}: embed: {e}"));
    assert_eq!(embedded.embeddings.len(), 1, "{name}");
    let sent = server.requests().pop().expect("one request");
    assert_path(spec, &sent, "/embeddings");
    assert_auth_and_headers(spec, &sent);

    server.fallback(MockResponse::json(
        401,
        json!({"error": {"message": "bad key"}}),
    ));
    let error = client
        .embed(EmbeddingRequest::new("smoke-embed", ["hello"]))
        .await
        .expect_err("a 401 is an error");
    assert_eq!(error.kind(), ErrorKind::Authentication, "{name}: {error}");
    if !spec.supports(Capability::Chat) {
        let error = client
            .chat(ChatRequest::new("m").user("hi"))
            .await
            .expect_err("no chat declared");
        assert_eq!(error.kind(), ErrorKind::Unsupported, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_built_in_provider_chats_streams_fails_and_sends_its_declared_request() {
    let mut exercised = Vec::new();
    for spec in providers::specs() {
        let server = MockServer::start().await;
        let client = connect(spec, &server);
        let run = async {
            if spec.supports(Capability::Chat) {
                smoke_chat(spec, &server, client.as_ref()).await;
            }
            // The other dialects' embeddings have their own suites; an embedding-only
            // provider must have them on the OpenAI wire to be smoke-tested at all.
            if spec.supports(Capability::Embeddings) && spec.dialect == Some("openai") {
                smoke_embeddings(spec, &server, client.as_ref()).await;
            }
            assert!(
                spec.supports(Capability::Chat) || spec.dialect == Some("openai"),
                "{}: neither chat nor OpenAI embeddings to smoke-test",
                spec.name
            );
        };
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap_or_else(|_| panic!("{}: the smoke run hung", spec.name));
        exercised.push(spec.name);
    }
    let declared: Vec<&str> = providers::specs().map(|s| s.name).collect();
    assert_eq!(exercised, declared, "every built-in is exercised");
    assert!(
        exercised.len() >= 60,
        "60+ built-in providers, found {}",
        exercised.len()
    );
    let mut unique = exercised.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), exercised.len(), "provider names are unique");
}

/// A placeholder without its value is a `Config` error naming the variable,
/// before any request.
#[test]
fn an_unset_placeholder_names_its_variable() {
    for spec in providers::specs().filter(|s| !s.url_vars.is_empty()) {
        let error = connect_to(spec.name, spec.base_url, KEY, &[])
            .expect("a built-in")
            .expect_err("the placeholder is unset");
        assert_eq!(error.kind(), ErrorKind::Config, "{}", spec.name);
        for (name, var) in spec.url_vars {
            assert!(
                error.to_string().contains(var) && error.to_string().contains(name),
                "{}: {error}",
                spec.name
            );
        }
    }
}
