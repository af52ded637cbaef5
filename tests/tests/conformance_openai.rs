//! The OpenAI dialect and every OpenAI-compatible built-in provider, end to end
//! over HTTP on 127.0.0.1 against fixtures in the documented wire format.

use std::fmt::Debug;
use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::dialects::openai::OpenAiDialect;
use llm_runtime::providers::{
    AzureOpenAi, Cerebras, DeepSeek, Fireworks, Groq, Mistral, OpenAi, OpenAiCompatible,
    OpenRouter, Perplexity, Together, Xai,
};
use llm_runtime::testing::{MockResponse, MockServer, assert_split_invariant, replay_response};
use llm_runtime::{
    ChatRequest, ChatResponse, ErrorKind, FinishReason, Message, Part, Provider, ProviderClient,
    ProviderConfig, StreamEvent, Tool, ToolCall,
};
use serde_json::{Value, json};

const TEXT_JSON: &str = include_str!("../fixtures/openai/chat_text.json");
const TEXT_SSE: &str = include_str!("../fixtures/openai/stream_text.sse");
const TOOLS_JSON: &str = include_str!("../fixtures/openai/chat_tools.json");
const TOOLS_SSE: &str = include_str!("../fixtures/openai/stream_tools.sse");
const REASONING_JSON: &str = include_str!("../fixtures/openai/chat_reasoning.json");
const REASONING_SSE: &str = include_str!("../fixtures/openai/stream_reasoning.sse");
const FILTER_JSON: &str = include_str!("../fixtures/openai/chat_content_filter.json");
const FILTER_SSE: &str = include_str!("../fixtures/openai/stream_content_filter.sse");

const KEY: &str = "sk-conformance-test-key";

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// Serve `sse` in pieces of `size` bytes.
fn sse_in_pieces(sse: &str, size: usize) -> MockResponse {
    MockResponse::sse(
        sse.as_bytes()
            .chunks(size)
            .map(<[u8]>::to_vec)
            .collect::<Vec<_>>(),
    )
}

fn connect<P: Provider + Default>(server: &MockServer) -> ProviderClient<P> {
    ProviderConfig::new(P::default())
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .connect()
        .expect("config is valid")
}

/// Non-stream and stream text through provider `P`, at `path` on the mock.
async fn text_roundtrip<P: Provider + Default + Debug>(path: &str, model: &str) {
    let server = MockServer::start().await;
    server.on("POST", path, MockResponse::json(200, json_of(TEXT_JSON)));
    let client = connect::<P>(&server);
    let req = ChatRequest::new(model).system("Be brief.").user("Hello");
    let reply = client.chat(req.clone()).await.expect("chat succeeds");
    assert_eq!(reply.text(), "Hello! How can I help you today?");
    assert_eq!(reply.provider, P::SPEC.name);
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.usage.map(|u| u.total_tokens), Some(29));

    server.on("POST", path, sse_in_pieces(TEXT_SSE, 97));
    let mut stream = client.chat_stream(req).await.expect("stream opens");
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text: t } = event.expect("event") {
            text.push_str(&t);
        }
    }
    assert_eq!(text, "Hello! How can I help you today?");
    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    for r in &recorded {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, path);
        assert_eq!(r.body_json()["messages"][0]["content"], "Be brief.");
    }
    assert_eq!(recorded[1].body_json()["stream"], true);
}

macro_rules! text_tests {
    ($($name:ident: $ty:ty, $model:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            text_roundtrip::<$ty>("/v1/chat/completions", $model).await;
        }
    )*};
}

text_tests! {
    openai_text: OpenAi, "gpt-4o-mini";
    mistral_text: Mistral, "mistral-small-latest";
    groq_text: Groq, "llama-3.3-70b-versatile";
    deepseek_text: DeepSeek, "deepseek-chat";
    together_text: Together, "meta-llama/Llama-3.3-70B-Instruct-Turbo";
    fireworks_text: Fireworks, "accounts/fireworks/models/llama-v3p1-8b-instruct";
    openrouter_text: OpenRouter, "anthropic/claude-sonnet-4.5";
    xai_text: Xai, "grok-4";
    perplexity_text: Perplexity, "sonar";
    cerebras_text: Cerebras, "llama3.1-8b";
    openai_compatible_text: OpenAiCompatible, "Qwen/Qwen2.5-7B-Instruct";
}

#[tokio::test]
async fn azure_text_uses_deployment_path_api_version_and_api_key_header() {
    text_roundtrip::<AzureOpenAi>("/v1/deployments/my-gpt4o/chat/completions", "my-gpt4o").await;
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/deployments/my-gpt4o/chat/completions",
        MockResponse::json(200, json_of(TEXT_JSON)),
    );
    let client = connect::<AzureOpenAi>(&server);
    client
        .chat(ChatRequest::new("my-gpt4o").user("Hi"))
        .await
        .expect("chat succeeds");
    let r = &server.requests()[0];
    assert_eq!(r.query_param("api-version"), Some("2024-10-21"));
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
}

#[tokio::test]
async fn request_side_mapping() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(200, json_of(TEXT_JSON)),
    );
    let client = connect::<OpenAi>(&server);
    let req = ChatRequest::new("gpt-4o")
        .system("You are terse.")
        .user_parts(vec![
            Part::text("What is in this image?"),
            Part::image_url("https://example.com/cat.png"),
        ])
        .message(Message::assistant_tool_calls(
            None,
            vec![ToolCall::function("call_1", "lookup", r#"{"q":"cat"}"#)],
        ))
        .message(Message::tool_result("call_1", "a cat"))
        .tool(Tool::function(
            "lookup",
            "Look something up",
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}),
        ));
    client.chat(req).await.expect("chat succeeds");
    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.body_json();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        body["messages"][1]["content"],
        json!([{"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
    );
    assert_eq!(
        body["messages"][2]["tool_calls"][0],
        json!({"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"cat\"}"}})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "content": "a cat", "tool_call_id": "call_1"})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["required"],
        json!(["q"])
    );
}

/// Non-stream and stream of the same content give the same response.
async fn same_both_ways(json_fixture: &str, sse_fixture: &str) -> ChatResponse {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(200, json_of(json_fixture)),
    );
    let client = connect::<OpenAi>(&server);
    let req = ChatRequest::new("gpt-4o").user("Go");
    let whole = client.chat(req.clone()).await.expect("chat succeeds");
    server.on(
        "POST",
        "/v1/chat/completions",
        sse_in_pieces(sse_fixture, 13),
    );
    let streamed = client
        .chat_stream(req)
        .await
        .expect("stream opens")
        .collect_response()
        .await
        .expect("stream completes");
    assert_eq!(streamed, whole);
    whole
}

#[tokio::test]
async fn parallel_tool_calls_split_over_many_chunks() {
    let r = same_both_ways(TOOLS_JSON, TOOLS_SSE).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(r.message.tool_calls.len(), 2);
    assert_eq!(r.message.tool_calls[0].id, "call_paris");
    assert_eq!(
        r.message.tool_calls[1].arguments_json().expect("JSON")["city"],
        "Tokyo"
    );
    assert_eq!(r.usage.map(|u| u.total_tokens), Some(128));
}

#[tokio::test]
async fn reasoning_content_and_length_finish() {
    let r = same_both_ways(REASONING_JSON, REASONING_SSE).await;
    assert_eq!(
        r.reasoning.as_deref(),
        Some("Compare 9.11 and 9.9: 0.11 < 0.9.")
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    let u = r.usage.expect("usage");
    assert_eq!((u.cached_tokens, u.reasoning_tokens), (Some(8), Some(20)));
}

#[tokio::test]
async fn content_filter_with_refusal() {
    let r = same_both_ways(FILTER_JSON, FILTER_SSE).await;
    assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(r.refusal.as_deref(), Some("I can't help with that."));
}

#[tokio::test]
async fn text_stream_equals_non_stream() {
    let r = same_both_ways(TEXT_JSON, TEXT_SSE).await;
    assert_eq!(r.id, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT");
}

#[test]
fn every_stream_fixture_survives_any_split() {
    for fixture in [TEXT_SSE, TOOLS_SSE, REASONING_SSE, FILTER_SSE] {
        let events = assert_split_invariant(&OpenAiDialect, fixture.as_bytes());
        assert!(events.len() >= 4, "{events:?}");
        let r = replay_response(&OpenAiDialect, [fixture.as_bytes()]).expect("decodes");
        assert!(r.finish_reason.is_some());
    }
}

async fn error_kind(response: MockResponse, stream: bool) -> llm_runtime::Error {
    let server = MockServer::start().await;
    server.on("POST", "/v1/chat/completions", response);
    let client = connect::<OpenAi>(&server);
    let req = ChatRequest::new("gpt-4o").user("Go");
    if stream {
        match client.chat_stream(req).await {
            Err(e) => e,
            Ok(s) => s.collect_response().await.expect_err("stream must fail"),
        }
    } else {
        client.chat(req).await.expect_err("chat must fail")
    }
}

fn openai_error(message: &str, kind: &str, code: Value) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[tokio::test]
async fn errors_map_to_kinds() {
    let cases: Vec<(MockResponse, ErrorKind)> = vec![
        (
            MockResponse::json(
                401,
                openai_error(
                    "Incorrect API key provided: sk-conf*****key.",
                    "invalid_request_error",
                    json!("invalid_api_key"),
                ),
            ),
            ErrorKind::Authentication,
        ),
        (
            MockResponse::json(
                403,
                openai_error(
                    "You are not allowed to sample from this model",
                    "invalid_request_error",
                    Value::Null,
                ),
            ),
            ErrorKind::PermissionDenied,
        ),
        (
            MockResponse::json(
                404,
                openai_error(
                    "The model `gpt-5-mega` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    json!("model_not_found"),
                ),
            ),
            ErrorKind::NotFound,
        ),
        (
            MockResponse::json(
                400,
                openai_error(
                    "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.",
                    "invalid_request_error",
                    json!("context_length_exceeded"),
                ),
            ),
            ErrorKind::ContextWindowExceeded,
        ),
        (
            MockResponse::json(
                429,
                openai_error(
                    "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
                    "tokens",
                    json!("rate_limit_exceeded"),
                ),
            )
            .header("retry-after", "7"),
            ErrorKind::RateLimited,
        ),
        (
            MockResponse::json(
                429,
                openai_error(
                    "You exceeded your current quota, please check your plan and billing details.",
                    "insufficient_quota",
                    json!("insufficient_quota"),
                ),
            ),
            ErrorKind::QuotaExceeded,
        ),
        (
            MockResponse::json(
                500,
                openai_error(
                    "The server had an error while processing your request.",
                    "server_error",
                    Value::Null,
                ),
            ),
            ErrorKind::ServerError,
        ),
        (
            MockResponse::json(
                503,
                openai_error(
                    "The engine is currently overloaded, please try again later.",
                    "server_error",
                    Value::Null,
                ),
            ),
            ErrorKind::Overloaded,
        ),
        (
            MockResponse::text(
                502,
                "text/html",
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
            ),
            ErrorKind::ServerError,
        ),
        (
            MockResponse::text(
                200,
                "application/json",
                "{\"id\": \"chatcmpl-1\", \"choices\": [{",
            ),
            ErrorKind::Decode,
        ),
    ];
    for (response, expected) in cases {
        let e = error_kind(response, false).await;
        assert_eq!(e.kind(), expected, "{e}");
        assert!(!e.message().is_empty());
        assert_eq!(e.provider(), Some("openai"));
        assert!(!e.to_string().contains(KEY), "{e}");
    }
}

#[tokio::test]
async fn rate_limit_carries_retry_after() {
    let e = error_kind(
        MockResponse::json(
            429,
            openai_error(
                "Rate limit reached",
                "requests",
                json!("rate_limit_exceeded"),
            ),
        )
        .header("retry-after", "7"),
        false,
    )
    .await;
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.status(), Some(429));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn html_502_reads_well() {
    let e = error_kind(
        MockResponse::text(502, "text/html", "<html><body>Bad Gateway</body></html>"),
        false,
    )
    .await;
    assert!(e.message().contains("HTML"), "{e}");
}

#[tokio::test]
async fn stream_cut_before_done_is_truncated() {
    let cut = TEXT_SSE
        .split("data: [DONE]")
        .next()
        .expect("fixture has DONE");
    let e = error_kind(MockResponse::sse([cut.to_owned()]), true).await;
    assert_eq!(e.kind(), ErrorKind::StreamTruncated, "{e}");
}

#[tokio::test]
async fn stream_error_status_is_classified() {
    let e = error_kind(
        MockResponse::json(
            429,
            openai_error("slow down", "requests", json!("rate_limit_exceeded")),
        ),
        true,
    )
    .await;
    assert_eq!(e.kind(), ErrorKind::RateLimited);
}

#[tokio::test]
async fn embeddings() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/embeddings",
        MockResponse::json(
            200,
            json!({"object": "list", "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 0, "embedding": [0.125, 1.0]}
        ], "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4, "total_tokens": 4}}),
        ),
    );
    let client = connect::<OpenAi>(&server);
    let r = client
        .embed(llm_runtime::EmbeddingRequest::new(
            "text-embedding-3-small",
            ["a", "b"],
        ))
        .await
        .expect("embed succeeds");
    assert_eq!(r.embeddings[0].vector, vec![0.125, 1.0]);
    assert_eq!(r.embeddings[1].index, 1);
    assert_eq!(server.requests()[0].body_json()["input"], json!(["a", "b"]));
}

#[tokio::test]
async fn unsupported_param_policies_on_the_openai_dialect() {
    use llm_runtime::types::UnsupportedParamPolicy;
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/chat/completions",
        MockResponse::json(200, json_of(TEXT_JSON)),
    );
    let client = connect::<OpenAi>(&server);
    let req = ChatRequest::new("gpt-4o")
        .user("Think")
        .reasoning_budget(2048);
    // Reject (the default): nothing is sent.
    let e = client
        .chat(req.clone())
        .await
        .expect_err("reasoning_budget is not an OpenAI parameter");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("reasoning_budget"), "{e}");
    assert_eq!(server.request_count(), 0);
    // Drop: sent without it, and the response says so.
    let r = client
        .chat(req.clone().unsupported_params(UnsupportedParamPolicy::Drop))
        .await
        .expect("chat succeeds");
    assert_eq!(r.dropped_params, vec!["reasoning_budget".to_owned()]);
    assert!(
        server.requests()[0]
            .body_json()
            .get("reasoning_budget")
            .is_none()
    );
    // Passthrough: sent as-is through `extra`.
    let r = client
        .chat(req.unsupported_params(UnsupportedParamPolicy::Passthrough))
        .await
        .expect("chat succeeds");
    assert!(r.dropped_params.is_empty());
    assert_eq!(server.requests()[1].body_json()["reasoning_budget"], 2048);
}

#[test]
fn azure_needs_an_endpoint() {
    let e = AzureOpenAi::config()
        .api_key(KEY)
        .connect()
        .expect_err("no endpoint given");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("AZURE_OPENAI_ENDPOINT"), "{e}");
}

/// The runtime's stream driver and `replay_stream` agree on which error a bad
/// stream gives, however it is split over HTTP (a fuzz finding: a bad frame,
/// then invalid UTF-8 later in the same chunk; the earliest error wins).
#[tokio::test]
async fn earliest_stream_error_wins_however_split_over_http() {
    let input: &[u8] = include_bytes!("../fixtures/fuzz/openai-split-error-order.bin");
    let body = &input[1..];
    let expected = llm_runtime::testing::replay_stream(&OpenAiDialect, [body])
        .expect_err("the fixture is a bad stream");
    let server = MockServer::start().await;
    let client = connect::<OpenAi>(&server);
    for cut in (0..=body.len()).step_by(7) {
        let (a, b) = body.split_at(cut);
        server.on(
            "POST",
            "/v1/chat/completions",
            MockResponse::sse([a.to_vec(), b.to_vec()]),
        );
        let stream = client
            .chat_stream(ChatRequest::new("gpt-4o").user("Go"))
            .await
            .expect("stream opens");
        let e = stream
            .collect_response()
            .await
            .expect_err("the stream is bad");
        assert_eq!(
            (e.kind(), e.message()),
            (expected.kind(), expected.message()),
            "cut at {cut}"
        );
    }
}
