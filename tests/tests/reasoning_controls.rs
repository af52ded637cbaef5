//! Issue 23, class 10: requests a caller can now express, checked on the wire
//! the loopback mock records.
//!
//! - every reasoning effort OpenAI takes (`none`, `minimal`, `low`, `medium`,
//!   `high`, `xhigh`) and any later word; budgets where an API takes budgets;
//! - the reasoning summary (`auto`, `concise`, `detailed`, or none);
//! - `include: ["reasoning.encrypted_content"]` whenever reasoning is asked
//!   for, the conversation carries encrypted reasoning, or the caller forces
//!   it, whatever the deployment is called (an Azure deployment keeps its
//!   reasoning state between turns);
//! - a tool result naming its function (Gemini `functionResponse.name` when
//!   the call was trimmed from the history, Mistral's `name`, Ollama's `tool_name`);
//! - Anthropic structured output as `output_config.format`.

mod common;

use llm_runtime::providers::{
    Anthropic, AzureOpenAiResponses, Gemini, Mistral, Ollama, OpenAi, OpenAiResponses,
};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ErrorKind, Message, ToolCall,
    types::{ReasoningEffort, ReasoningSummary, ResponseFormat},
};
use proptest::prelude::*;
use serde_json::{Value, json};

use common::conformance::{fixture_json, loopback_client, loopback_config};

fn openai_answer() -> MockResponse {
    MockResponse::json(200, common::clients::completion("gpt-5", "ok"))
}

#[tokio::test]
async fn every_openai_effort_is_sent_as_its_word() {
    let server = MockServer::start().await;
    server.on("POST", "/v1/chat/completions", openai_answer());
    let client = loopback_client::<OpenAi>(&server, "/v1");
    let mut efforts: Vec<ReasoningEffort> = ReasoningEffort::NAMED.to_vec();
    efforts.push(ReasoningEffort::Other("max".into()));
    for effort in efforts {
        let word = effort.as_str().to_owned();
        client
            .chat(
                ChatRequest::new("gpt-5")
                    .user("hi")
                    .reasoning_effort(effort),
            )
            .await
            .unwrap();
        let body = server.requests().pop().unwrap().body_json();
        assert_eq!(body["reasoning_effort"], json!(word));
    }
    assert_eq!(
        ["none", "minimal", "low", "medium", "high", "xhigh"],
        ReasoningEffort::NAMED.map(|e| e.as_str().to_owned())
    );
}

proptest! {
    /// Any word is an effort that serializes back to itself (a named level
    /// when it names one), so a level added later can be sent today.
    #[test]
    fn any_effort_word_round_trips(word in "[a-z_]{1,12}") {
        let effort: ReasoningEffort = serde_json::from_value(json!(word)).unwrap();
        prop_assert_eq!(serde_json::to_value(&effort).unwrap(), json!(word));
        let named = ReasoningEffort::NAMED.iter().any(|e| e.as_str() == word);
        prop_assert_eq!(named, !matches!(effort, ReasoningEffort::Other(_)));
    }
}

#[tokio::test]
async fn responses_reasoning_carries_effort_and_the_summary_asked_for() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/responses",
        MockResponse::json(200, fixture_json("openai_responses", "text.json")),
    );
    let client = loopback_client::<OpenAiResponses>(&server, "/v1");
    let cases = [
        (
            Some(ReasoningEffort::High),
            None,
            json!({"effort": "high", "summary": "auto"}),
        ),
        (
            Some(ReasoningEffort::XHigh),
            Some(ReasoningSummary::Detailed),
            json!({"effort": "xhigh", "summary": "detailed"}),
        ),
        (
            Some(ReasoningEffort::Minimal),
            Some(ReasoningSummary::None),
            json!({"effort": "minimal"}),
        ),
        (
            None,
            Some(ReasoningSummary::Concise),
            json!({"summary": "concise"}),
        ),
        (
            None,
            Some(ReasoningSummary::Auto),
            json!({"summary": "auto"}),
        ),
        (None, None, Value::Null),
    ];
    for (effort, summary, want) in cases {
        let mut request = ChatRequest::new("gpt-4.1-mini").user("hi");
        request.reasoning_effort = effort.clone();
        request.reasoning_summary = summary;
        client.chat(request).await.unwrap();
        let body = server.requests().pop().unwrap().body_json();
        assert_eq!(body["reasoning"], want, "{effort:?} {summary:?}");
    }
}

#[tokio::test]
async fn a_summary_the_api_cannot_send_is_refused_before_any_call() {
    let server = MockServer::start().await;
    let client = loopback_client::<OpenAi>(&server, "/v1");
    let e = client
        .chat(
            ChatRequest::new("gpt-5")
                .user("hi")
                .reasoning_summary(ReasoningSummary::Concise),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.message().contains("reasoning_summary"), "{}", e.message());
    assert!(server.requests().is_empty());
}

fn includes_encrypted(body: &Value) -> bool {
    body["include"] == json!(["reasoning.encrypted_content"])
}

#[tokio::test]
async fn an_azure_deployment_named_otherwise_keeps_its_reasoning_between_turns() {
    let server = MockServer::start().await;
    // The deployment answers like the reasoning model it serves.
    server.on(
        "POST",
        "/openai/v1/responses",
        MockResponse::json(200, fixture_json("openai_responses", "reasoning.json")),
    );
    let azure = loopback_client::<AzureOpenAiResponses>(&server, "/openai");
    let deployment = "contoso-prod-thinker";

    // Nothing says this deployment reasons: nothing is asked.
    let plain = ChatRequest::new(deployment).user("17 × 23?");
    azure.chat(plain.clone()).await.unwrap();
    assert!(!includes_encrypted(
        &server.requests().pop().unwrap().body_json()
    ));

    // Forced for the first turn, the encrypted reasoning comes back...
    let first = azure
        .chat(plain.clone().encrypted_reasoning(true))
        .await
        .unwrap();
    assert!(includes_encrypted(
        &server.requests().pop().unwrap().body_json()
    ));
    let encrypted = first.message.reasoning[0].encrypted.clone().unwrap();
    // ...and the next turn, which forces nothing, still asks for it (the
    // conversation carries it) and sends the reasoning item back.
    let mut second = plain.clone();
    second.push_reply(&first);
    second = second.user("And 17 × 24?");
    azure.chat(second.clone()).await.unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert!(includes_encrypted(&body), "{body}");
    assert_eq!(body["input"][1]["type"], "reasoning", "{body}");
    assert_eq!(body["input"][1]["encrypted_content"], json!(encrypted));

    // An effort asks for it too; effort `none` does not; `false` never does.
    for (request, want) in [
        (plain.clone().reasoning_effort(ReasoningEffort::Low), true),
        (plain.clone().reasoning_effort(ReasoningEffort::None), false),
        (second.encrypted_reasoning(false), false),
        (
            ChatRequest::new("o4-mini")
                .user("x")
                .encrypted_reasoning(false),
            false,
        ),
        (ChatRequest::new("o4-mini").user("x"), true),
    ] {
        azure.chat(request).await.unwrap();
        let body = server.requests().pop().unwrap().body_json();
        assert_eq!(includes_encrypted(&body), want, "{body}");
    }
}

#[tokio::test]
async fn budget_apis_get_the_budget_of_each_effort_or_a_typed_error() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/messages",
        MockResponse::json(200, fixture_json("anthropic", "text.json")),
    );
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let claude = loopback_client::<Anthropic>(&server, "/v1");
    let gemini = loopback_client::<Gemini>(&server, "/v1beta");
    let thinking = |effort: ReasoningEffort| async {
        claude
            .chat(
                ChatRequest::new("claude-sonnet-4-5")
                    .user("hi")
                    .reasoning_effort(effort),
            )
            .await
            .map(|_| server.requests().pop().unwrap().body_json()["thinking"].clone())
    };
    assert_eq!(
        thinking(ReasoningEffort::XHigh).await.unwrap(),
        json!({"type": "enabled", "budget_tokens": 32768})
    );
    assert_eq!(
        thinking(ReasoningEffort::Minimal).await.unwrap(),
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    assert_eq!(thinking(ReasoningEffort::None).await.unwrap(), Value::Null);
    let before = server.requests().len();
    let e = thinking(ReasoningEffort::Other("max".into()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("`max`"), "{}", e.message());
    assert_eq!(server.requests().len(), before, "refused before any call");

    gemini
        .chat(
            ChatRequest::new("gemini-2.5-flash")
                .user("hi")
                .reasoning_effort(ReasoningEffort::None),
        )
        .await
        .unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(
        body["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 0, "includeThoughts": false})
    );
}

// ---- tool results that name their function ----

fn weather_call() -> ToolCall {
    ToolCall::function("call_7", "get_weather", r#"{"city":"Paris"}"#)
}

#[tokio::test]
async fn gemini_names_a_trimmed_call_from_the_tool_result() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        MockResponse::json(200, fixture_json("gemini", "text.json")),
    );
    let gemini = loopback_client::<Gemini>(&server, "/v1beta");
    // The history was trimmed: the assistant turn with the call is gone.
    let trimmed = ChatRequest::new("gemini-2.5-flash")
        .message(Message::tool_result_for(&weather_call(), r#"{"temp":18}"#));
    gemini.chat(trimmed).await.unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(
        body["contents"][0]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"temp": 18}})
    );
    // Without the name there is nothing to send: a typed error, no call.
    let before = server.requests().len();
    let unnamed = ChatRequest::new("gemini-2.5-flash")
        .message(Message::tool_result("call_7", r#"{"temp":18}"#));
    let e = gemini.chat(unnamed).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert_eq!(server.requests().len(), before);
}

#[tokio::test]
async fn mistral_and_ollama_tool_messages_carry_the_function_name() {
    let server = MockServer::start().await;
    server.on("POST", "/v1/chat/completions", openai_answer());
    server.on(
        "POST",
        "/api/chat",
        MockResponse::json(
            200,
            json!({"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
                   "message": {"role": "assistant", "content": "ok"}, "done": true, "done_reason": "stop"}),
        ),
    );
    let mistral = loopback_client::<Mistral>(&server, "/v1");
    let ollama = loopback_config::<Ollama>(&server, "").connect().unwrap();
    let call = weather_call();
    let conversation = |model: &str| {
        ChatRequest::new(model)
            .user("Weather in Paris?")
            .message(Message::assistant_tool_calls(None, vec![call.clone()]))
            .message(Message::tool_result_for(&call, "18 °C"))
    };
    mistral
        .chat(conversation("mistral-small-latest"))
        .await
        .unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(
        body["messages"][2],
        json!({"role": "tool", "content": "18 °C", "tool_call_id": "call_7", "name": "get_weather"})
    );
    // A result without a name sends none (the field is the caller's to give).
    let unnamed = ChatRequest::new("mistral-small-latest")
        .user("x")
        .message(Message::assistant_tool_calls(None, vec![call.clone()]))
        .message(Message::tool_result("call_7", "18 °C"));
    mistral.chat(unnamed).await.unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert!(body["messages"][2].get("name").is_none(), "{body}");

    // Ollama: the result's own name wins, even when the call was trimmed away.
    let trimmed = ChatRequest::new("llama3.2")
        .message(Message::tool_result("call_9", "18 °C").with_tool_name("get_weather"));
    ollama.chat(trimmed).await.unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(body["messages"][0]["tool_name"], "get_weather");
}

// ---- Anthropic structured output ----

#[tokio::test]
async fn anthropic_structured_output_is_sent_as_output_config() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/v1/messages",
        MockResponse::json(200, fixture_json("anthropic", "text.json")),
    );
    let claude = loopback_client::<Anthropic>(&server, "/v1");
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"], "additionalProperties": false});
    claude
        .chat(
            ChatRequest::new("claude-sonnet-4-5")
                .user("Where is the Louvre?")
                .response_format(ResponseFormat::JsonSchema {
                    name: "place".into(),
                    schema: schema.clone(),
                    strict: true,
                }),
        )
        .await
        .unwrap();
    let body = server.requests().pop().unwrap().body_json();
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": schema}})
    );
    assert!(body.get("response_format").is_none(), "{body}");
    // "Any JSON object" has no Anthropic field: still refused, before any call.
    let before = server.requests().len();
    let e = claude
        .chat(
            ChatRequest::new("claude-sonnet-4-5")
                .user("x")
                .response_format(ResponseFormat::JsonObject),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(server.requests().len(), before);
}
