//! Issue 23, class 7: answers that do not match what was asked are typed
//! errors or are read whole, over real HTTP on the loopback mock.
//!
//! - an embeddings answer with fewer or more vectors than inputs, or with an
//!   index out of range or used twice, is `Decode` for every dialect with
//!   embeddings (OpenAI, Gemini, Ollama, Cohere);
//! - an OpenAI custom tool call (`type: "custom"`) comes back with its name and
//!   raw input, streamed or not, and goes back as a custom call next turn;
//! - every Gemini `finishReason` that says a filter stopped the answer (image
//!   ones included) is `ContentFilter`, streamed or not;
//! - an error status whose body is server-sent events keeps its kind and message.

mod common;

use futures_util::StreamExt;
use llm_runtime::providers::{Anthropic, Cohere, Gemini, Ollama, OpenAi};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, EmbeddingRequest, ErrorKind, FinishReason, Message, ProviderClient, StreamEvent,
    ToolCall, types::ToolCallKind,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

use common::conformance::{loopback_client, loopback_config};

// ---- embeddings: one vector per input ----

/// What each dialect's embeddings endpoint answers with `vectors` (OpenAI
/// numbers them with `indexes`, the others by position).
fn openai_embeddings(indexes: &[usize]) -> Value {
    let data: Vec<Value> = indexes
        .iter()
        .map(|&i| json!({"object": "embedding", "index": i, "embedding": [i as f32, 0.5]}))
        .collect();
    json!({"object": "list", "data": data, "model": "text-embedding-3-small",
           "usage": {"prompt_tokens": 2, "total_tokens": 2}})
}

fn vectors(n: usize) -> Vec<Vec<f32>> {
    (0..n).map(|i| vec![i as f32, 0.25]).collect()
}

async fn embed_with<P: llm_runtime::Provider + llm_runtime::provider::SupportsEmbeddings>(
    client: &ProviderClient<P>,
    model: &str,
    inputs: usize,
) -> llm_runtime::Result<llm_runtime::EmbeddingResponse> {
    let texts: Vec<String> = (0..inputs).map(|i| format!("text {i}")).collect();
    client.embed(EmbeddingRequest::new(model, texts)).await
}

#[tokio::test]
async fn two_inputs_answered_with_one_vector_are_decode_errors_for_every_dialect() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/embeddings",
        MockResponse::json(200, openai_embeddings(&[0])),
    );
    server.on(
        "POST",
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        MockResponse::json(200, json!({"embeddings": [{"values": [0.1, 0.2]}]})),
    );
    server.on(
        "POST",
        "/api/embed",
        MockResponse::json(
            200,
            json!({"model": "all-minilm", "embeddings": vectors(1)}),
        ),
    );
    server.on(
        "POST",
        "/v2/embed",
        MockResponse::json(
            200,
            json!({"id": "e1", "embeddings": {"float": vectors(1)}, "texts": ["a"]}),
        ),
    );
    let openai = loopback_client::<OpenAi>(&server, "/v1");
    let gemini = loopback_client::<Gemini>(&server, "/v1beta");
    let ollama = loopback_config::<Ollama>(&server, "").connect().unwrap();
    let cohere = loopback_client::<Cohere>(&server, "");
    let errors = [
        embed_with(&openai, "text-embedding-3-small", 2).await,
        embed_with(&gemini, "gemini-embedding-001", 2).await,
        embed_with(&ollama, "all-minilm", 2).await,
        embed_with(&cohere, "embed-v4.0", 2).await,
    ];
    for (provider, result) in ["openai", "gemini", "ollama", "cohere"].iter().zip(errors) {
        let e = result.expect_err(provider);
        assert_eq!(e.kind(), ErrorKind::Decode, "{provider}: {e}");
        assert!(
            e.message()
                .contains("2 input(s) were sent, 1 vector(s) came back"),
            "{provider}: {}",
            e.message()
        );
        assert_eq!(e.provider(), Some(*provider), "{e:?}");
    }
    // The same endpoints answering one input with one vector succeed.
    assert_eq!(
        embed_with(&cohere, "embed-v4.0", 1)
            .await
            .unwrap()
            .embeddings
            .len(),
        1
    );
    assert_eq!(
        embed_with(&ollama, "all-minilm", 1)
            .await
            .unwrap()
            .embeddings
            .len(),
        1
    );
}

/// The outcome the indexes of an answer to `inputs` texts must have: vectors
/// in input order when they are a permutation of `0..inputs`, else `Decode`.
fn expected(inputs: usize, indexes: &[usize]) -> Option<Vec<usize>> {
    let mut sorted = indexes.to_vec();
    sorted.sort_unstable();
    (sorted == (0..inputs).collect::<Vec<_>>()).then_some(sorted)
}

#[test]
fn openai_indexes_out_of_range_duplicated_or_missing_are_decode_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(MockServer::start());
    let client = rt.block_on(async { loopback_client::<OpenAi>(&server, "/v1") });
    // Hand-picked first: the shapes named in the issue.
    let mut cases: Vec<(usize, Vec<usize>)> = vec![
        (2, vec![0]),
        (2, vec![0, 0]),
        (2, vec![0, 2]),
        (2, vec![1, 0]),
        (3, vec![0, 1, 2, 2]),
        (1, vec![]),
    ];
    // Then generated ones: any count of inputs, any indexes.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (1usize..6).prop_flat_map(|n| (Just(n), prop::collection::vec(0usize..7, 0..8)));
    for _ in 0..40 {
        cases.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for (inputs, indexes) in cases {
        server.on(
            "POST",
            "/v1/embeddings",
            MockResponse::json(200, openai_embeddings(&indexes)),
        );
        let result = rt.block_on(embed_with(&client, "text-embedding-3-small", inputs));
        match (expected(inputs, &indexes), result) {
            (Some(order), Ok(r)) => {
                let got: Vec<usize> = r.embeddings.iter().map(|e| e.index).collect();
                assert_eq!(got, order, "{inputs} inputs, indexes {indexes:?}");
                // Each vector is the one the provider numbered so.
                for e in &r.embeddings {
                    assert_eq!(e.vector[0], e.index as f32);
                }
            }
            (None, Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::Decode, "{inputs} / {indexes:?}: {e}");
            }
            (want, got) => {
                panic!("{inputs} inputs, indexes {indexes:?}: want {want:?}, got {got:?}")
            }
        }
    }
}

// ---- OpenAI custom tool calls ----

fn custom_call_completion() -> Value {
    json!({"id": "chatcmpl-c1", "object": "chat.completion", "created": 1_756_000_000, "model": "gpt-5",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
            "role": "assistant", "content": null, "refusal": null,
            "tool_calls": [
                {"id": "call_c1", "type": "custom", "custom": {"name": "code_exec", "input": "print('hi')\nx = {\"a\": 1}"}},
                {"id": "call_f1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
}

fn expected_custom_calls() -> Vec<ToolCall> {
    vec![
        ToolCall::custom("call_c1", "code_exec", "print('hi')\nx = {\"a\": 1}"),
        ToolCall::function("call_f1", "get_weather", "{\"city\":\"Paris\"}"),
    ]
}

fn custom_call_chunks() -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-c1", "object": "chat.completion.chunk", "created": 1_756_000_000,
               "model": "gpt-5", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
    };
    vec![
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_c1", "type": "custom", "custom": {"name": "code_exec", "input": ""}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "custom": {"input": "print('hi')\n"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "custom": {"input": "x = {\"a\": 1}"}}]}),
            Value::Null,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_f1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}),
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls")),
        "[DONE]".to_owned(),
    ]
}

#[tokio::test]
async fn an_openai_custom_tool_call_comes_back_with_its_name_and_input() {
    let server = MockServer::start().await;
    server.on_sequence(
        "POST",
        "/v1/chat/completions",
        vec![
            MockResponse::json(200, custom_call_completion()),
            MockResponse::sse_data(custom_call_chunks()),
            MockResponse::json(200, common::clients::completion("gpt-5", "done")),
        ],
    );
    let client = loopback_client::<OpenAi>(&server, "/v1");
    let request = ChatRequest::new("gpt-5").user("Run it");
    let whole = client.chat(request.clone()).await.unwrap();
    assert_eq!(whole.message.tool_calls, expected_custom_calls());
    assert_eq!(whole.finish_reason, Some(FinishReason::ToolCalls));

    let mut stream = client.chat_stream(request.clone()).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.unwrap());
    }
    let marked: Vec<usize> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::CustomToolCall { index } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(marked, [0], "one custom call, marked once: {events:?}");
    let start = events
        .iter()
        .position(|e| matches!(e, StreamEvent::ToolCallStart { index: 0, .. }))
        .unwrap();
    assert_eq!(
        events[start + 1],
        StreamEvent::CustomToolCall { index: 0 },
        "the mark follows the start"
    );
    let mut streamed = llm_runtime::stream::ResponseAccumulator::default();
    for e in events {
        streamed.push(e);
    }
    let streamed = streamed.finish();
    assert_eq!(streamed.message.tool_calls, expected_custom_calls());

    // Next turn: the custom call goes back as a custom call, its result named.
    let mut next = request;
    next.push_reply(&whole);
    for call in &whole.message.tool_calls {
        next.messages.push(Message::tool_result_for(call, "ok"));
    }
    client.chat(next).await.unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(
        body["messages"][1]["tool_calls"],
        json!([
            {"id": "call_c1", "type": "custom", "custom": {"name": "code_exec", "input": "print('hi')\nx = {\"a\": 1}"}},
            {"id": "call_f1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        ])
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "ok", "tool_call_id": "call_c1", "name": "code_exec"})
    );
}

#[test]
fn a_custom_call_round_trips_through_serde_and_defaults_to_function() {
    let custom = ToolCall::custom("c", "n", "raw text");
    let text = serde_json::to_string(&custom).unwrap();
    assert_eq!(
        text,
        r#"{"id":"c","name":"n","arguments":"raw text","kind":"custom"}"#
    );
    assert_eq!(serde_json::from_str::<ToolCall>(&text).unwrap(), custom);
    let function: ToolCall =
        serde_json::from_str(r#"{"id":"c","name":"n","arguments":"{}"}"#).unwrap();
    assert_eq!(function.kind, ToolCallKind::Function);
}

// ---- Gemini finish reasons ----

/// Google's finish reasons (Gemini API and Vertex AI references) and whether
/// each says a filter stopped the answer.
const GEMINI_REASONS: &[(&str, bool)] = &[
    ("SAFETY", true),
    ("RECITATION", true),
    ("BLOCKLIST", true),
    ("PROHIBITED_CONTENT", true),
    ("SPII", true),
    ("MODEL_ARMOR", true),
    ("IMAGE_SAFETY", true),
    ("IMAGE_PROHIBITED_CONTENT", true),
    ("IMAGE_RECITATION", true),
    ("LANGUAGE", false),
    ("OTHER", false),
    ("IMAGE_OTHER", false),
    ("NO_IMAGE", false),
    ("MALFORMED_FUNCTION_CALL", false),
    ("UNEXPECTED_TOOL_CALL", false),
    ("TOO_MANY_TOOL_CALLS", false),
    ("MISSING_THOUGHT_SIGNATURE", false),
    ("MALFORMED_RESPONSE", false),
    ("FINISH_REASON_UNSPECIFIED", false),
];

#[tokio::test]
async fn every_gemini_filter_reason_is_content_filter_streamed_or_not() {
    let server = MockServer::start().await;
    let client = loopback_client::<Gemini>(&server, "/v1beta");
    for (raw, filtered) in GEMINI_REASONS {
        let answer = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "partial"}]},
            "finishReason": raw, "index": 0}], "modelVersion": "gemini-2.5-flash-image", "responseId": "r1"});
        server.on(
            "POST",
            "/v1beta/models/gemini-2.5-flash-image:generateContent",
            MockResponse::json(200, answer.clone()),
        );
        server.on(
            "POST",
            "/v1beta/models/gemini-2.5-flash-image:streamGenerateContent",
            MockResponse::sse_data([answer.to_string()]),
        );
        let request = ChatRequest::new("gemini-2.5-flash-image").user("Draw a cat");
        let whole = client.chat(request.clone()).await.unwrap();
        let streamed = client
            .chat_stream(request)
            .await
            .unwrap()
            .collect_response()
            .await
            .unwrap();
        let want = if *filtered {
            FinishReason::ContentFilter
        } else {
            FinishReason::Other((*raw).to_owned())
        };
        assert_eq!(whole.finish_reason, Some(want.clone()), "{raw}");
        assert_eq!(streamed.finish_reason, Some(want), "{raw} streamed");
        assert_eq!(whole.text(), "partial");
    }
}

// ---- error statuses with server-sent-event bodies ----

#[tokio::test]
async fn a_500_sent_as_server_sent_events_keeps_its_kind_and_message() {
    let server = MockServer::start().await;
    let anthropic_error = r#"{"type":"error","error":{"type":"api_error","message":"Internal server error: shard 7 unavailable"}}"#;
    let openai_error = r#"{"error":{"message":"The server had an error while processing your request.","type":"server_error","code":null}}"#;
    let gemini_error =
        r#"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#;
    let sse_500 = |data: &str| {
        MockResponse::sse_events([("error", data)])
            .status(500)
            .header("x-should-retry", "false")
    };
    server.on("POST", "/v1/messages", sse_500(anthropic_error));
    server.on("POST", "/v1/chat/completions", sse_500(openai_error));
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        sse_500(gemini_error),
    );
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        sse_500(gemini_error),
    );
    let anthropic = loopback_client::<Anthropic>(&server, "/v1");
    let openai = loopback_client::<OpenAi>(&server, "/v1");
    let gemini = loopback_client::<Gemini>(&server, "/v1beta");
    let cases = [
        (
            anthropic
                .chat(ChatRequest::new("claude-sonnet-4-5").user("hi"))
                .await
                .err(),
            anthropic
                .chat_stream(ChatRequest::new("claude-sonnet-4-5").user("hi"))
                .await
                .err(),
            "Internal server error: shard 7 unavailable",
            "api_error",
        ),
        (
            openai
                .chat(ChatRequest::new("gpt-4o").user("hi"))
                .await
                .err(),
            openai
                .chat_stream(ChatRequest::new("gpt-4o").user("hi"))
                .await
                .err(),
            "The server had an error while processing your request.",
            "server_error",
        ),
        (
            gemini
                .chat(ChatRequest::new("gemini-2.5-flash").user("hi"))
                .await
                .err(),
            gemini
                .chat_stream(ChatRequest::new("gemini-2.5-flash").user("hi"))
                .await
                .err(),
            "An internal error has occurred.",
            "INTERNAL",
        ),
    ];
    for (whole, streamed, message, code) in cases {
        for e in [whole.expect("an error"), streamed.expect("an error")] {
            assert_eq!(e.kind(), ErrorKind::ServerError, "{e:?}");
            assert_eq!(e.status(), Some(500));
            assert_eq!(e.message(), message);
            assert_eq!(e.code(), Some(code));
        }
    }
}
