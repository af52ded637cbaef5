//! A provider declared with `#[derive(Provider)]` in a downstream crate works
//! end to end: an OpenAI-compatible server in five lines, no transform code,
//! chat and stream against the loopback mock; a declared error table over
//! real HTTP (kind, code and the number of attempts).

use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{ChatRequest, ErrorKind, FinishReason, Provider, ProviderClient, StreamEvent};
use serde_json::json;

/// A self-hosted OpenAI-compatible server.
#[derive(Provider)]
#[provider(name = "local", base_url = "http://127.0.0.1:8080/v1", auth = "bearer",
           env = "MACRO_E2E_LOCAL_API_KEY", headers("x-tenant" = "e2e"), dialect = openai)]
struct Local;

fn connect(server: &MockServer) -> ProviderClient<Local> {
    Local::config()
        .api_key("sk-e2e")
        .base_url(format!("{}/v1", server.url()))
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .connect()
        .expect("config is valid")
}

#[tokio::test]
async fn chat_and_stream_through_a_derived_provider() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            200,
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": "tiny",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi there."},
                    "finish_reason": "stop"
                }],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
            }),
        ),
    );
    let client = connect(&server);
    let request = ChatRequest::new("tiny").user("Hello");

    let reply = client.chat(request.clone()).await.expect("chat succeeds");
    assert_eq!(reply.text(), "Hi there.");
    assert_eq!(reply.provider, "local");
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));

    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        let chunk = json!({
            "id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "tiny",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        format!("data: {chunk}\n\n")
    };
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::sse([
            chunk(json!({"role": "assistant", "content": "Hi"}), json!(null)),
            chunk(json!({"content": " there."}), json!(null)),
            chunk(json!({}), json!("stop")),
            "data: [DONE]\n\n".to_owned(),
        ]),
    );
    let mut stream = client.chat_stream(request).await.expect("stream opens");
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text: delta } = event.expect("event") {
            text.push_str(&delta);
        }
    }
    assert_eq!(text, "Hi there.");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(request.header("authorization"), Some("Bearer sk-e2e"));
        assert_eq!(request.header("x-tenant"), Some("e2e"));
        assert_eq!(request.body_json()["messages"][0]["content"], "Hello");
    }
    assert_eq!(requests[1].body_json()["stream"], true);
}

#[test]
fn spec_is_the_declaration() {
    let spec = Local::SPEC;
    assert_eq!(spec.name, "local");
    assert_eq!(spec.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(spec.api_key_env, Some("MACRO_E2E_LOCAL_API_KEY"));
    assert_eq!(spec.headers, &[("x-tenant", "e2e")]);
}

#[test]
fn from_env_names_the_missing_variable() {
    // Declared on loopback, the server's key is optional: without the
    // variable it is built and sends none.
    assert!(Local::from_env().is_ok());
    // A blank key is no key, and the error names the variable.
    let error = Local::config()
        .api_key(" ")
        .with_env()
        .and_then(|c| c.connect())
        .expect_err("a blank key");
    assert_eq!(error.kind(), ErrorKind::Config);
    assert!(
        error.to_string().contains("MACRO_E2E_LOCAL_API_KEY"),
        "{error}"
    );
}

/// A TGI-style server: its errors name their type in `error_type`, and its
/// 424 is a generation that failed (retryable), which the default table reads
/// as a non-retryable invalid request.
#[derive(Provider)]
#[provider(name = "tgi-e2e", base_url = "http://127.0.0.1:8080/v1", auth = "none",
           dialect = openai,
           errors(type_field = "error_type", 424 = server_error,
                  "validation" = invalid_request, "overloaded" = overloaded))]
struct TgiLike;

fn tgi(server: &MockServer, retries: u32) -> ProviderClient<TgiLike> {
    TgiLike::config()
        .base_url(format!("{}/v1", server.url()))
        .retry_policy(
            llm_runtime::retry::RetryPolicy::default()
                .max_retries(retries)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(2)),
        )
        .timeout(Duration::from_secs(5))
        .connect()
        .expect("config is valid")
}

#[tokio::test]
async fn a_declared_424_is_a_retried_server_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(
            424,
            json!({"error": "Request failed during generation: CUDA out of memory", "error_type": "generation"}),
        ),
    );
    let error = tgi(&server, 2)
        .chat(ChatRequest::new("tgi").user("Hello"))
        .await
        .expect_err("every attempt fails");
    assert_eq!(error.kind(), ErrorKind::ServerError);
    assert_eq!(error.status(), Some(424));
    assert_eq!(error.code(), Some("generation"));
    assert_eq!(
        server.request_count(),
        3,
        "the first attempt and two retries"
    );
}

#[tokio::test]
async fn a_declared_type_wins_over_the_status() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            MockResponse::json(
                424,
                json!({"error": "Input validation error: `inputs` must not be empty", "error_type": "validation"}),
            ),
            MockResponse::json(
                503,
                json!({"error": "Model is overloaded", "error_type": "overloaded"}),
            ),
        ],
    );
    let client = tgi(&server, 2);
    let error = client
        .chat(ChatRequest::new("tgi").user("Hello"))
        .await
        .expect_err("a validation error");
    assert_eq!(
        (error.kind(), error.code()),
        (ErrorKind::InvalidRequest, Some("validation"))
    );
    assert_eq!(
        server.request_count(),
        1,
        "a validation error is not retried"
    );
}

/// Every kind `errors(...)` accepts is the runtime's kind of that name.
#[derive(Provider)]
#[provider(name = "kinds", base_url = "http://127.0.0.1:8080", auth = "none", dialect = openai,
           errors(type_field = "t",
                  "authentication" = authentication, "permission_denied" = permission_denied,
                  "rate_limited" = rate_limited, "quota_exceeded" = quota_exceeded,
                  "invalid_request" = invalid_request,
                  "context_window_exceeded" = context_window_exceeded,
                  "content_filter" = content_filter, "not_found" = not_found,
                  "timeout" = timeout, "server_error" = server_error,
                  "overloaded" = overloaded, "unsupported" = unsupported))]
struct Kinds;

#[test]
fn every_declarable_kind_is_the_runtime_kind_of_its_name() {
    let names = [
        "authentication",
        "permission_denied",
        "rate_limited",
        "quota_exceeded",
        "invalid_request",
        "context_window_exceeded",
        "content_filter",
        "not_found",
        "timeout",
        "server_error",
        "overloaded",
        "unsupported",
    ];
    for name in names {
        let body = json!({"error": "x", "t": name}).to_string();
        let error = Kinds.map_error(418, &Default::default(), body.as_bytes());
        assert_eq!(error.kind().as_str(), name);
        assert_eq!(error.should_retry_hint(), None, "{name}");
    }
}
