//! Hardening (issue 11): one regression per class of hostile upstream answer,
//! over loopback, with the exact outcome each must have. The whole-response
//! property test is `hardening_whole_response.rs`.

mod common;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use llm_runtime::providers::{Anthropic, Gemini, OpenAi};
use llm_runtime::testing::{Fault, MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, EmbeddingRequest, Error, ErrorKind, FinishReason, Provider, ProviderClient,
    StreamEvent, retry::RetryPolicy,
};
use serde_json::{Value, json};

use common::conformance::{fixture_json, loopback_config};
use common::{
    CHAT_PATH, KEY, PATIENCE, assert_no_key, chat_ok, config, connect, drain, fast_retries,
    openai_chunk, request, stream_ok, text_of,
};

/// Anthropic's and Gemini's chat routes on the mock.
const MESSAGES_PATH: &str = "/v1/messages";
const GEMINI_CHAT: &str = "/v1beta/models/gemini-2.5-flash:generateContent";
const GEMINI_STREAM: &str = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";

/// A hang guard, never a performance bound.
const HANG_GUARD: Duration = Duration::from_secs(10);

/// `call` must settle before [`HANG_GUARD`]: its result and how long it took.
async fn guarded<T>(call: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = tokio::time::timeout(HANG_GUARD, call)
        .await
        .unwrap_or_else(|_| panic!("the call hung for {HANG_GUARD:?}"));
    (out, started.elapsed())
}

/// The error of a stream call, whether it fails to open or later, with `collect_response`.
async fn stream_failure<P: Provider>(client: &ProviderClient<P>, request: ChatRequest) -> Error {
    match client.chat_stream(request).await {
        Err(e) => e,
        Ok(stream) => match stream.collect_response().await {
            Err(e) => e,
            Ok(r) => panic!("the stream must fail, it gave {r:?}"),
        },
    }
}

/// An OpenAI client on `server` that never retries.
fn no_retries(server: &MockServer) -> ProviderClient<OpenAi> {
    config(server).max_retries(0).connect().expect("valid")
}

fn gemini(server: &MockServer) -> ProviderClient<Gemini> {
    loopback_config::<Gemini>(server, "/v1beta")
        .api_key(KEY)
        .connect()
        .expect("valid")
}

fn anthropic(server: &MockServer) -> ProviderClient<Anthropic> {
    loopback_config::<Anthropic>(server, "/v1")
        .api_key(KEY)
        .connect()
        .expect("valid")
}

fn gemini_request() -> ChatRequest {
    ChatRequest::new("gemini-2.5-flash").user("Say hello")
}

fn anthropic_request() -> ChatRequest {
    ChatRequest::new("claude-sonnet-4-5").user("Say hello")
}

fn rate_limited() -> MockResponse {
    MockResponse::json(
        429,
        json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}),
    )
}

// ---------------------------------------------------------------------------
// a. Numbers that overflow a Duration, polling after the end, Duration::MAX.

#[tokio::test]
async fn retry_after_values_that_overflow_a_duration_are_a_rate_limit_not_a_panic() {
    let server = MockServer::start().await;
    let client = no_retries(&server);
    for (name, value) in [
        ("retry-after", "1e20"),
        ("retry-after-ms", "1e23"),
        ("retry-after", "18446744073709551616"),
        ("retry-after-ms", "18446744073709551616000"),
        ("retry-after", "1e400"),
    ] {
        server.on("POST", CHAT_PATH, rate_limited().header(name, value));
        let (result, _) = guarded(client.chat(request())).await;
        let e = result.expect_err("a 429 fails");
        assert_eq!(e.kind(), ErrorKind::RateLimited, "{name}: {value}: {e:?}");
        let e = guarded(stream_failure(&client, request())).await.0;
        assert_eq!(
            e.kind(),
            ErrorKind::RateLimited,
            "{name}: {value} (stream): {e:?}"
        );
    }
}

#[tokio::test]
async fn a_gemini_retry_delay_that_overflows_a_duration_is_a_rate_limit_not_a_panic() {
    let server = MockServer::start().await;
    let body = json!({"error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
        "details": [{
            "@type": "type.googleapis.com/google.rpc.RetryInfo",
            "retryDelay": "1e20s"
        }]
    }});
    for path in [GEMINI_CHAT, GEMINI_STREAM] {
        server.on("POST", path, MockResponse::json(429, body.clone()));
    }
    let client = gemini(&server);
    let e = guarded(client.chat(gemini_request()))
        .await
        .0
        .expect_err("a 429 fails");
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
    let e = guarded(stream_failure(&client, gemini_request())).await.0;
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
}

#[tokio::test]
async fn a_stream_polled_again_after_its_end_keeps_returning_none() {
    let server = MockServer::start().await;
    let client = connect(&server);

    server.on("POST", CHAT_PATH, stream_ok(&["Hel", "lo"]));
    let mut stream = client.chat_stream(request()).await.expect("opens");
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        events.push(item.expect("a well-formed stream"));
    }
    assert_eq!(text_of(&events), "Hello");
    for _ in 0..3 {
        assert!(stream.next().await.is_none(), "polled after None");
    }

    // And after an error: the error, then None for good.
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([openai_chunk("a"), "{not json".to_owned()]),
    );
    let mut stream = client.chat_stream(request()).await.expect("opens");
    let mut saw_error = false;
    while let Some(item) = stream.next().await {
        saw_error |= item.is_err();
    }
    assert!(saw_error, "a bad chunk is an error");
    for _ in 0..3 {
        assert!(stream.next().await.is_none(), "polled after None");
    }
}

#[tokio::test]
async fn a_timeout_of_duration_max_does_not_panic() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, chat_ok("fine"));
    let client = OpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .timeout(Duration::MAX)
        .connect()
        .expect("valid");
    let reply = guarded(client.chat(request()))
        .await
        .0
        .expect("chat succeeds");
    assert_eq!(reply.text(), "fine");
    server.on("POST", CHAT_PATH, stream_ok(&["fi", "ne"]));
    let reply = guarded(async {
        client
            .chat_stream(request())
            .await?
            .collect_response()
            .await
    })
    .await
    .0
    .expect("the stream succeeds");
    assert_eq!(reply.text(), "fine");
}

#[tokio::test]
async fn retry_durations_of_duration_max_do_not_panic() {
    let server = MockServer::start().await;
    let policy = RetryPolicy {
        max_retries: 1,
        initial_backoff: Duration::MAX,
        max_backoff: Duration::MAX,
        max_retry_after: Duration::MAX,
    };
    let client = OpenAi::config()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .timeout(Duration::from_secs(2))
        .retry_policy(policy)
        .connect()
        .expect("valid");
    // (Retry-After values that overflow a Duration are the test above.)
    for response in [
        rate_limited(),
        MockResponse::json(503, json!({"error": {"message": "busy"}})),
        rate_limited().header("retry-after", "1"),
        rate_limited().header("retry-after", "100000"),
    ] {
        server.on("POST", CHAT_PATH, response);
        let (result, took) = guarded(client.chat(request())).await;
        let e = result.expect_err("the upstream keeps failing");
        assert!(e.is_retryable(), "{e:?}");
        assert!(
            took < Duration::from_secs(4),
            "the 2 s deadline bounds every wait: {took:?}"
        );
    }
    server.on("POST", CHAT_PATH, chat_ok("fine"));
    let reply = guarded(client.chat(request()))
        .await
        .0
        .expect("chat succeeds");
    assert_eq!(reply.text(), "fine");
}

// ---------------------------------------------------------------------------
// b. One stream event holding 150k tool-call entries.

#[tokio::test]
async fn one_event_with_150k_tool_call_entries_completes_or_names_a_cap() {
    const ENTRIES: usize = 150_000;
    let calls: Vec<Value> = (0..ENTRIES).map(|i| json!({ "index": i })).collect();
    let big = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": null}]
    });
    let finish = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]
    });
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([big.to_string(), finish.to_string(), "[DONE]".to_owned()]),
    );
    let client = no_retries(&server);
    let (result, took) = guarded(async {
        client
            .chat_stream(request())
            .await?
            .collect_response()
            .await
    })
    .await;
    match result {
        Ok(reply) => assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls)),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
            let message = e.message().to_lowercase();
            assert!(
                ["cap", "limit", "max", "too many", "exceed"]
                    .iter()
                    .any(|w| message.contains(w)),
                "a Decode error must name the cap it hit: {e}"
            );
        }
    }
    eprintln!("150k tool-call entries: {took:?}");
}

// ---------------------------------------------------------------------------
// c. Nulls where an OpenAI-compatible server may put them.

#[tokio::test]
async fn nulls_in_an_openai_compatible_answer_decode_with_the_right_content() {
    let server = MockServer::start().await;
    let client = no_retries(&server);

    let text = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Hello", "tool_calls": null, "function_call": null}}],
        "usage": {"prompt_tokens": null, "completion_tokens": 2, "total_tokens": null}
    });
    server.on("POST", CHAT_PATH, MockResponse::json(200, text));
    let reply = client.chat(request()).await.expect("nulls decode");
    assert_eq!(reply.text(), "Hello");
    assert!(reply.message.tool_calls.is_empty());
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.usage.map(|u| u.completion_tokens), Some(2));

    let tools = json!({
        "id": "chatcmpl-2", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_0", "type": "function", "function": null},
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":1}"}}
            ]}}],
        "usage": null
    });
    server.on("POST", CHAT_PATH, MockResponse::json(200, tools));
    let reply = client.chat(request()).await.expect("nulls decode");
    assert_eq!(reply.text(), "");
    assert!(
        reply
            .message
            .tool_calls
            .iter()
            .any(|c| c.id == "call_1" && c.name == "lookup" && c.arguments == "{\"q\":1}"),
        "{:?}",
        reply.message.tool_calls
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));

    let chunk = |delta: Value, finish: Value, usage: Value| {
        json!({"id": "chatcmpl-3", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage})
        .to_string()
    };
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data([
            chunk(
                json!({"role": "assistant", "content": null, "tool_calls": null}),
                Value::Null,
                Value::Null,
            ),
            chunk(json!({"content": "Hi", "tool_calls": null}), Value::Null, Value::Null),
            chunk(
                json!({"content": null, "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": null}]}),
                Value::Null,
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"name": "lookup", "arguments": "{}"}}]}),
                Value::Null,
                Value::Null,
            ),
            chunk(json!({}), json!("tool_calls"), Value::Null),
            json!({"id": "chatcmpl-3", "object": "chat.completion.chunk", "model": "m", "choices": [],
                   "usage": {"prompt_tokens": null, "completion_tokens": 3, "total_tokens": null}})
            .to_string(),
            "[DONE]".to_owned(),
        ]),
    );
    let reply = client
        .chat_stream(request())
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("nulls decode in a stream");
    assert_eq!(reply.text(), "Hi");
    assert_eq!(reply.message.tool_calls.len(), 1, "{reply:?}");
    let call = &reply.message.tool_calls[0];
    assert_eq!(
        (
            call.id.as_str(),
            call.name.as_str(),
            call.arguments.as_str()
        ),
        ("call_1", "lookup", "{}")
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.usage.map(|u| u.completion_tokens), Some(3));
}

// ---------------------------------------------------------------------------
// d. Error payloads under a 200.

/// `chat` and a stream of `request` both fail with `kind` and a message containing `needle`.
async fn both_fail<P: Provider>(
    client: &ProviderClient<P>,
    request: ChatRequest,
    kind: ErrorKind,
    needle: &str,
) {
    let e = guarded(client.chat(request.clone()))
        .await
        .0
        .expect_err("an error payload is an error");
    assert_eq!(e.kind(), kind, "chat: {e:?}");
    assert!(e.message().contains(needle), "chat: {e:?}");
    let e = guarded(stream_failure(client, request)).await.0;
    assert_eq!(e.kind(), kind, "stream: {e:?}");
    assert!(e.message().contains(needle), "stream: {e:?}");
}

#[tokio::test]
async fn error_payloads_under_a_200_are_typed_errors() {
    let server = MockServer::start().await;
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    server.on("POST", MESSAGES_PATH, MockResponse::json(200, overloaded));
    both_fail(
        &anthropic(&server),
        anthropic_request(),
        ErrorKind::Overloaded,
        "Overloaded",
    )
    .await;

    let exhausted = json!({"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}});
    for path in [GEMINI_CHAT, GEMINI_STREAM] {
        server.on("POST", path, MockResponse::json(200, exhausted.clone()));
    }
    both_fail(
        &gemini(&server),
        gemini_request(),
        ErrorKind::RateLimited,
        "Resource has been exhausted",
    )
    .await;

    let too_long = json!({"error": {"message": "This model's maximum context length is 8192 tokens", "type": "invalid_request_error", "code": "context_length_exceeded"}});
    server.on("POST", CHAT_PATH, MockResponse::json(200, too_long));
    both_fail(
        &no_retries(&server),
        request(),
        ErrorKind::ContextWindowExceeded,
        "maximum context length is 8192 tokens",
    )
    .await;
}

// ---------------------------------------------------------------------------
// e. A stream request answered with a whole JSON body.

#[tokio::test]
async fn a_stream_answered_with_a_json_error_gives_its_typed_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            200,
            json!({"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}}),
        ),
    );
    let e = guarded(stream_failure(&no_retries(&server), request()))
        .await
        .0;
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e:?}");
    assert!(e.message().contains("Rate limit reached"), "{e:?}");
}

#[tokio::test]
async fn a_stream_answered_with_a_whole_completion_gives_the_same_response_and_events() {
    let server = MockServer::start().await;
    let client = no_retries(&server);
    let whole = fixture_json("openai", "chat_text.json");
    server.on("POST", CHAT_PATH, MockResponse::json(200, whole));
    let answer = client.chat(request()).await.expect("chat succeeds");

    let collected = client
        .chat_stream(request())
        .await
        .expect("opens")
        .collect_response()
        .await
        .expect("a whole body answers a stream request");
    assert_eq!(collected, answer);

    let (events, error) = drain(client.chat_stream(request()).await.expect("opens")).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events.first(),
        Some(&StreamEvent::Start {
            id: answer.id.clone(),
            model: answer.model.clone()
        }),
        "{events:?}"
    );
    assert_eq!(text_of(&events), answer.text());
    let n = events.len();
    assert!(n >= 4, "Start, TextDelta..., Usage, Finish: {events:?}");
    assert!(
        events[1..n - 2]
            .iter()
            .all(|e| matches!(e, StreamEvent::TextDelta { .. })),
        "{events:?}"
    );
    let usage = answer.usage.expect("the fixture reports usage");
    assert_eq!(events[n - 2], StreamEvent::Usage { usage });
    assert_eq!(
        events[n - 1],
        StreamEvent::Finish {
            reason: answer.finish_reason.clone().expect("a finish reason")
        }
    );
}

// ---------------------------------------------------------------------------
// f. Error messages of every shape, and a huge one.

#[tokio::test]
async fn error_messages_of_every_shape_carry_the_human_text() {
    let pydantic = json!([{"loc": ["body", "messages", 0, "content"], "msg": "field required", "type": "value_error.missing"}]);
    let cases = [
        (422, json!({ "detail": pydantic }), "field required"),
        (
            422,
            json!({ "error": { "detail": pydantic } }),
            "field required",
        ),
        (
            404,
            json!({"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "code": 404}),
            "The model `x` does not exist.",
        ),
        (400, json!({"error": "plain text"}), "plain text"),
    ];
    let server = MockServer::start().await;
    let client = no_retries(&server);
    for (status, body, needle) in cases {
        server.on("POST", CHAT_PATH, MockResponse::json(status, body.clone()));
        let e = client.chat(request()).await.expect_err("an error status");
        assert!(e.message().contains(needle), "{body}: {e:?}");
        assert_eq!(e.status(), Some(status));
        let e = stream_failure(&client, request()).await;
        assert!(e.message().contains(needle), "{body} (stream): {e:?}");
    }
}

#[tokio::test]
async fn a_32_mib_error_message_is_cut_to_a_few_kib() {
    let message = "x".repeat(32 * 1024 * 1024);
    let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, MockResponse::json(400, body));
    let client = no_retries(&server);
    let (e, _) = guarded(client.chat(request())).await;
    let e = e.expect_err("a 400");
    assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{}", e.kind());
    assert!(
        e.message().len() <= 8 * 1024 + 256,
        "message is {} bytes",
        e.message().len()
    );
    assert!(e.to_string().len() <= 8 * 1024 + 512);
    let (e, _) = guarded(stream_failure(&client, request())).await;
    assert!(
        e.message().len() <= 8 * 1024 + 256,
        "stream: message is {} bytes",
        e.message().len()
    );
}

// ---------------------------------------------------------------------------
// g. Timeouts on stalled bodies.

#[tokio::test]
async fn a_stream_that_stalls_after_two_events_times_out_within_the_timeout() {
    let server = MockServer::start().await;
    let events = common::openai_stream_events(&["a", "b", "c"], true);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::sse_data(events).with_fault(Fault::StallAfterChunks(2)),
    );
    let client = config(&server)
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .connect()
        .expect("valid");
    let (outcome, _) = guarded(async {
        let mut stream = client.chat_stream(request()).await.expect("opens");
        let mut texts = 0;
        let mut stall_started = Instant::now();
        loop {
            match stream.next().await {
                Some(Ok(StreamEvent::TextDelta { .. })) => {
                    texts += 1;
                    if texts == 2 {
                        stall_started = Instant::now();
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return (texts, Some(e), stall_started.elapsed()),
                None => return (texts, None, stall_started.elapsed()),
            }
        }
    })
    .await;
    let (texts, error, after_stall) = outcome;
    assert_eq!(texts, 2, "both events arrive before the stall");
    let e = error.expect("a stalled stream must fail, not end");
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e:?}");
    assert!(
        after_stall >= Duration::from_millis(900) && after_stall <= Duration::from_millis(2500),
        "the timeout fired {after_stall:?} after the stall began"
    );
}

#[tokio::test]
async fn the_error_body_of_a_failed_attempt_that_stalls_is_read_within_the_deadline() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::raw_body_chunks([
            &br#"{"error": {"message": "The server had an error", "#[..],
            b"never sent",
        ])
        .status(500)
        .header("content-type", "application/json")
        .with_fault(Fault::StallAfterChunks(1)),
    );
    let client = config(&server)
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .connect()
        .expect("valid");
    let bound = Duration::from_millis(2500);
    let (e, took) = guarded(stream_failure(&client, request())).await;
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::ServerError),
        "{e:?}"
    );
    assert!(took <= bound, "stream: {took:?}");
    let (result, took) = guarded(client.chat(request())).await;
    let e = result.expect_err("a 500");
    assert!(
        matches!(e.kind(), ErrorKind::Timeout | ErrorKind::ServerError),
        "{e:?}"
    );
    assert!(took <= bound, "chat: {took:?}");
}

// ---------------------------------------------------------------------------
// h. Secrets echoed back in every form.

/// A key with characters that JSON and URLs escape.
const ODD_KEY: &str = "sk-+/\"proj-9Zq4Xw7Lr2Vt8Ns5Km3Jh6Gf1Dd0Sa";
/// The part of [`ODD_KEY`] after its escaped characters: the same in every form.
const ODD_KEY_TAIL: &str = "proj-9Zq4Xw7Lr2Vt8Ns5Km3Jh6Gf1Dd0Sa";

/// `key` as an upstream may echo it: raw, JSON-escaped (with and without
/// `\/`) and percent-encoded.
fn echoes(key: &str) -> Vec<String> {
    let json = serde_json::to_string(key).expect("a string serializes");
    let json = json[1..json.len() - 1].to_owned();
    let url: String = url_encode(key);
    vec![key.to_owned(), json.clone(), json.replace('/', "\\/"), url]
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// No form of `key`, whole or its first 8 characters, shows in any text of `e`.
#[track_caller]
fn assert_redacted(e: &Error, key: &str, label: &str) {
    let texts = [
        ("Display", e.to_string()),
        ("Debug", format!("{e:?}")),
        ("alternate Debug", format!("{e:#?}")),
        ("message", e.message().to_owned()),
        ("body", e.body().unwrap_or_default().to_owned()),
        ("code", e.code().unwrap_or_default().to_owned()),
        ("request id", e.request_id().unwrap_or_default().to_owned()),
    ];
    for form in echoes(key) {
        let prefix: String = form.chars().take(8).collect();
        for (what, text) in &texts {
            assert!(
                !text.contains(&prefix),
                "{label}: the key (as {form:?}, or its first 8 characters) leaked in the {what}: {text:.300}"
            );
        }
    }
    if key == ODD_KEY {
        for (what, text) in &texts {
            assert!(
                !text.contains(ODD_KEY_TAIL),
                "{label}: most of the key leaked in the {what}: {text:.300}"
            );
        }
    }
}

fn client_with_key<P: Provider + Default>(
    server: &MockServer,
    base: &str,
    key: &str,
) -> ProviderClient<P> {
    loopback_config::<P>(server, base)
        .api_key(key)
        .connect()
        .expect("valid")
}

/// An OpenAI-shaped 401 body whose key starts `offset` bytes in.
fn key_at(offset: usize, key: &str) -> String {
    let head = r#"{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided: "#;
    let pad = "x".repeat(offset.saturating_sub(head.len()));
    let body = format!(
        "{head}{pad}{key}. You can find your API key at https://platform.openai.com/account/api-keys.\"}}}}"
    );
    assert_eq!(body.find(key), Some(head.len() + pad.len()));
    body
}

#[tokio::test]
async fn a_key_straddling_the_error_body_cut_is_redacted() {
    let server = MockServer::start().await;
    let client = no_retries(&server);
    // The key starts 10 bytes before the 2048-byte body cut, and before the ~8 KiB message cap.
    for offset in [2048 - 10, 2048 - 1, 2048 - 30, 8 * 1024 - 10, 8 * 1024 - 60] {
        server.on(
            "POST",
            CHAT_PATH,
            MockResponse::text(401, "application/json", key_at(offset, KEY)),
        );
        let e = client.chat(request()).await.expect_err("a 401");
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert_redacted(&e, KEY, &format!("chat, key at {offset}"));
        let e = stream_failure(&client, request()).await;
        assert_redacted(&e, KEY, &format!("stream, key at {offset}"));
    }
}

#[tokio::test]
async fn url_encoded_and_json_escaped_echoes_of_the_key_are_redacted() {
    let server = MockServer::start().await;
    let client = client_with_key::<OpenAi>(&server, "/v1", ODD_KEY);
    let encoded = url_encode(ODD_KEY);
    let escaped_slash = echoes(ODD_KEY)[2].clone();
    let bodies = [
        // serde_json escapes the quote: the body holds `sk-+/\"proj...`.
        json!({"error": {"message": format!("Incorrect API key provided: {ODD_KEY}"), "type": "invalid_request_error", "code": "invalid_api_key"}}).to_string(),
        format!(r#"{{"error": {{"message": "Incorrect API key provided: {escaped_slash}", "code": "invalid_api_key"}}}}"#),
        json!({"error": {"message": format!("GET https://api.example.com/v1/models?key={encoded} failed"), "code": "invalid_api_key"}}).to_string(),
        format!("<html>Unauthorized: {encoded} / {ODD_KEY}</html>"),
        key_at(2048 - 8, &echoes(ODD_KEY)[1]),
    ];
    for body in bodies {
        server.on(
            "POST",
            CHAT_PATH,
            MockResponse::text(401, "application/json", body.clone()),
        );
        let e = client.chat(request()).await.expect_err("a 401");
        assert_eq!(e.kind(), ErrorKind::Authentication, "{body:.200}");
        assert_redacted(&e, ODD_KEY, &format!("chat: {body:.120}"));
        let e = stream_failure(&client, request()).await;
        assert_redacted(&e, ODD_KEY, &format!("stream: {body:.120}"));
    }
}

#[tokio::test]
async fn a_code_and_a_request_id_echoing_the_key_are_redacted() {
    let server = MockServer::start().await;
    let client = client_with_key::<OpenAi>(&server, "/v1", ODD_KEY);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(
            401,
            json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": ODD_KEY}}),
        )
        .header("x-request-id", ODD_KEY),
    );
    let e = client.chat(request()).await.expect_err("a 401");
    assert_eq!(e.kind(), ErrorKind::Authentication);
    assert_redacted(&e, ODD_KEY, "chat");
    let e = stream_failure(&client, request()).await;
    assert_redacted(&e, ODD_KEY, "stream");

    let client = connect(&server);
    server.on(
        "POST",
        CHAT_PATH,
        MockResponse::json(401, json!({"error": {"message": "bad key", "code": KEY}}))
            .header("x-request-id", format!("req-{KEY}")),
    );
    let e = client.chat(request()).await.expect_err("a 401");
    assert_redacted(&e, KEY, "chat, plain key");
}

#[tokio::test]
async fn list_models_and_embed_parse_errors_redact_the_key() {
    let server = MockServer::start().await;
    let client = client_with_key::<OpenAi>(&server, "/v1", ODD_KEY);
    let bodies = [
        format!(r#"{{"data": [{{"id": "{ODD_KEY}", "#),
        json!({"data": {"id": ODD_KEY}}).to_string(),
        format!("{}{ODD_KEY} and more", "x".repeat(2040)),
    ];
    for body in bodies {
        server.on(
            "GET",
            "/v1/models",
            MockResponse::text(200, "application/json", body.clone()),
        );
        server.on(
            "POST",
            "/v1/embeddings",
            MockResponse::text(200, "application/json", body.clone()),
        );
        let e = client.list_models().await.expect_err("not a model list");
        assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
        assert_redacted(&e, ODD_KEY, &format!("list_models: {body:.60}"));
        let e = client
            .embed(EmbeddingRequest::new(
                "text-embedding-3-small",
                vec!["hi".to_owned()],
            ))
            .await
            .expect_err("not an embedding");
        assert_eq!(e.kind(), ErrorKind::Decode, "{e:?}");
        assert_redacted(&e, ODD_KEY, &format!("embed: {body:.60}"));
    }
    // The plain test key too.
    let client = connect(&server);
    server.on(
        "GET",
        "/v1/models",
        MockResponse::text(200, "application/json", format!("{{\"oops\": \"{KEY}")),
    );
    let e = client.list_models().await.expect_err("not a model list");
    assert_no_key(&format!("{e:?}"));
    assert_redacted(&e, KEY, "list_models, plain key");
}

// ---------------------------------------------------------------------------
// i. Retry edge cases.

#[tokio::test]
async fn retry_after_zero_still_spaces_the_retries() {
    let server = MockServer::start().await;
    server.on("POST", CHAT_PATH, rate_limited().header("retry-after", "0"));
    let client = config(&server)
        .retry_policy(fast_retries().max_retries(3))
        .connect()
        .expect("valid");
    let started = Instant::now();
    let e = guarded(client.chat(request()))
        .await
        .0
        .expect_err("always 429");
    let took = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(server.request_count(), 4, "one call and three retries");
    assert!(took > Duration::ZERO, "{took:?}");
}

#[tokio::test]
async fn a_retry_after_date_in_the_past_retries_promptly() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        CHAT_PATH,
        vec![
            rate_limited().header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            chat_ok("done"),
        ],
    );
    let (reply, took) = guarded(connect(&server).chat(request())).await;
    assert_eq!(reply.expect("the retry succeeds").text(), "done");
    assert_eq!(server.request_count(), 2);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited_for_and_is_reported() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        CHAT_PATH,
        rate_limited().header("retry-after", "100000"),
    );
    let client = config(&server)
        .retry_policy(RetryPolicy::default())
        .connect()
        .expect("valid");
    let (result, took) = guarded(client.chat(request())).await;
    let e = result.expect_err("a 429");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(server.request_count(), 1, "no retry");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(100_000)));
    assert!(took < PATIENCE, "{took:?}");
}
