//! OpenAI Responses API end to end over real HTTP on 127.0.0.1, against
//! fixtures written from OpenAI's API reference (`tests/fixtures/openai_responses`).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use llm_runtime::dialects::openai_responses::OpenAiResponsesDialect;
use llm_runtime::providers::{AzureOpenAiResponses, OpenAiResponses};
use llm_runtime::testing::{MockResponse, RecordedRequest};
use llm_runtime::{
    ChatRequest, Client, ErrorKind, FinishReason, Message, Part, ProviderConfig, StreamEvent, Tool,
    Usage,
    types::{ReasoningEffort, ResponseFormat, ToolChoice},
};
use serde_json::{Value, json};

use common::KEY;
use common::conformance::{Suite, loopback_client, stream_events};

const PATH: &str = "/v1/responses";

const SUITE: Suite<OpenAiResponses> = Suite::new("openai_responses", "/v1", PATH, PATH);

fn hello() -> ChatRequest {
    ChatRequest::new("gpt-4.1-mini")
        .system("Answer in French.")
        .user("Say hello.")
}

fn assert_request_head(sent: &RecordedRequest) {
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, PATH);
    assert_eq!(sent.query, None);
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
}

fn output(name: &str) -> Value {
    SUITE.fixture_json(name)["output"].clone()
}

// ---- text ----

#[tokio::test]
async fn text_non_stream() {
    let (r, sent) = SUITE.chat("text.json", hello()).await;
    assert_request_head(&sent);
    assert_eq!(
        sent.body_json(),
        json!({
            "model": "gpt-4.1-mini",
            "instructions": "Answer in French.",
            "input": [{"role": "user", "content": "Say hello."}],
            "store": false,
        })
    );
    assert_eq!(
        r.id,
        "resp_68af0b3a5f3c8193b1f0e5d2c7a9b8e60c9e8c1f5a2b3c4d"
    );
    assert_eq!(r.model, "gpt-4.1-mini-2025-04-14");
    assert_eq!(r.provider, "openai_responses");
    assert_eq!(
        r.text(),
        "Bonjour ! Voilà une réponse courte — avec un emoji 🌍."
    );
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let mut usage = Usage::new(24, 18);
    usage.cached_tokens = Some(0);
    usage.reasoning_tokens = Some(0);
    assert_eq!(r.usage, Some(usage));
    assert!(r.message.tool_calls.is_empty() && r.message.reasoning.is_empty());
    assert_eq!((r.reasoning, r.refusal), (None, None));
}

#[tokio::test]
async fn text_stream() {
    let (events, error, sent) = SUITE.stream("text.sse", hello().max_tokens(64)).await;
    assert!(error.is_none(), "{error:?}");
    assert_request_head(&sent);
    let body = sent.body_json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_output_tokens"], 64);
    let mut usage = Usage::new(24, 18);
    usage.cached_tokens = Some(0);
    usage.reasoning_tokens = Some(0);
    let text = |t: &str| StreamEvent::TextDelta { text: t.into() };
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "resp_68af0b3a5f3c8193b1f0e5d2c7a9b8e60c9e8c1f5a2b3c4d".into(),
                model: "gpt-4.1-mini-2025-04-14".into()
            },
            text("Bonjour"),
            text(" ! Voilà"),
            text(" une réponse"),
            text(" courte —"),
            text(" avec un emoji 🌍."),
            StreamEvent::Usage { usage },
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
}

// ---- tools ----

fn forecast_tool() -> Tool {
    Tool::function(
        "get_forecast",
        "Weather forecast for a city",
        json!({"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}}, "required": ["location"]}),
    )
}

fn weather_question() -> ChatRequest {
    ChatRequest::new("o4-mini")
        .system("You are a weather bot.")
        .user_parts(vec![
            Part::text("The weather in Paris and Tōkyō? This is my view:"),
            Part::image_url("https://example.com/photos/skyline.jpg"),
        ])
        .tool(forecast_tool())
        .tool_choice(ToolChoice::Auto)
        .reasoning_effort(ReasoningEffort::Medium)
}

#[tokio::test]
async fn parallel_tool_calls_non_stream_and_request_mapping() {
    let (r, sent) = SUITE.chat("tools.json", weather_question()).await;
    assert_request_head(&sent);
    assert_eq!(
        sent.body_json(),
        json!({
            "model": "o4-mini",
            "instructions": "You are a weather bot.",
            "input": [{"role": "user", "content": [
                {"type": "input_text", "text": "The weather in Paris and Tōkyō? This is my view:"},
                {"type": "input_image", "image_url": "https://example.com/photos/skyline.jpg", "detail": "auto"},
            ]}],
            "tools": [{"type": "function", "name": "get_forecast", "description": "Weather forecast for a city",
                       "parameters": forecast_tool().parameters, "strict": false}],
            "tool_choice": "auto",
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": false,
            "include": ["reasoning.encrypted_content"],
        })
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let calls = &r.message.tool_calls;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].id.as_str(), calls[0].name.as_str()),
        ("call_Hn4QZ2vXk8aP0sLm3RtY6wEd", "get_forecast")
    );
    assert_eq!(
        calls[0].arguments_json().unwrap(),
        json!({"location": "Paris, France", "unit": "celsius", "days": 3})
    );
    assert_eq!(calls[1].id, "call_Jq7WbX1nK5cR9tVy2UeM4oLa");
    assert_eq!(
        calls[1].arguments_json().unwrap(),
        json!({"location": "Tōkyō", "unit": "celsius", "days": 1})
    );
    let mut usage = Usage::new(312, 214);
    usage.cached_tokens = Some(128);
    usage.reasoning_tokens = Some(128);
    assert_eq!(r.usage, Some(usage));
}

#[tokio::test]
async fn parallel_tool_calls_stream_by_output_index() {
    let (events, error, sent) = SUITE.stream("tools.sse", weather_question()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(sent.body_json()["stream"], true);
    let starts: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, StreamEvent::ToolCallStart { .. }))
        .collect();
    assert_eq!(
        starts,
        [
            &StreamEvent::ToolCallStart {
                index: 0,
                id: "call_Hn4QZ2vXk8aP0sLm3RtY6wEd".into(),
                name: "get_forecast".into()
            },
            &StreamEvent::ToolCallStart {
                index: 1,
                id: "call_Jq7WbX1nK5cR9tVy2UeM4oLa".into(),
                name: "get_forecast".into()
            },
        ]
    );
    let pieces = |index: usize| -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::ToolCallDelta {
                    index: i,
                    arguments,
                } if *i == index => Some(arguments.as_str()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        pieces(0),
        [
            "{\"loc",
            "ation\":\"Pa",
            "ris, France\",",
            "\"unit\":\"cel",
            "sius\",\"days\":3}"
        ]
    );
    assert_eq!(pieces(1).len(), 4);
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Finish {
            reason: FinishReason::ToolCalls
        })
    ));
}

// ---- reasoning ----

#[tokio::test]
async fn reasoning_summary_and_encrypted_content() {
    let request = ChatRequest::new("gpt-5-mini")
        .user("17 × 23?")
        .reasoning_effort(ReasoningEffort::Low);
    let (r, sent) = SUITE.chat("reasoning.json", request.clone()).await;
    let body = sent.body_json();
    assert_eq!(
        body["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    let summary =
        "**Multiplying 17 by 23**\n\n17 × 20 = 340 and 17 × 3 = 51, so the product is 391.";
    assert_eq!(r.reasoning.as_deref(), Some(summary));
    assert_eq!(r.text(), "17 × 23 = 391.");
    let item = &output("reasoning.json")[0];
    let block = &r.message.reasoning[0];
    assert_eq!(block.text, summary);
    assert_eq!(block.id.as_deref(), item["id"].as_str());
    assert_eq!(
        block.encrypted.as_deref(),
        item["encrypted_content"].as_str()
    );
    assert_eq!(block.source.as_deref(), Some("openai_responses"));
    assert!(!block.redacted);
    // The message after the reasoning keeps its id, anchored on the text.
    assert_eq!(r.message.reasoning.len(), 2);
    assert_eq!(
        r.message.reasoning[1].id.as_deref(),
        output("reasoning.json")[1]["id"].as_str()
    );
    assert_eq!(r.usage.unwrap().reasoning_tokens, Some(192));

    let (events, error, _) = SUITE.stream("reasoning.sse", request).await;
    assert!(error.is_none(), "{error:?}");
    let deltas: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        deltas,
        [
            "**Multiplying 17 by 23**\n\n",
            "17 × 20 = 340 and 17 × 3 = 51,",
            " so the product is 391."
        ]
    );
}

// ---- refusal, JSON schema, incomplete ----

#[tokio::test]
async fn refusal_is_its_own_field() {
    let (r, _) = SUITE.chat("refusal.json", hello()).await;
    assert_eq!(
        r.refusal.as_deref(),
        Some("I'm sorry, but I can't help with that.")
    );
    assert!(r.message.content.is_empty());
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let (events, _, _) = SUITE.stream("refusal.sse", hello()).await;
    assert!(events.contains(&StreamEvent::RefusalDelta {
        text: "I'm sorry, but I can't".into()
    }));
}

#[tokio::test]
async fn json_schema_output() {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "temperature_c": {"type": "number"}}, "required": ["city", "temperature_c"], "additionalProperties": false});
    let request = ChatRequest::new("gpt-4o")
        .user("Weather in Paris as JSON")
        .response_format(ResponseFormat::JsonSchema {
            name: "weather".into(),
            schema: schema.clone(),
            strict: true,
        });
    let (r, sent) = SUITE.chat("json_schema.json", request).await;
    assert_eq!(
        sent.body_json()["text"],
        json!({"format": {"type": "json_schema", "name": "weather", "schema": schema, "strict": true}})
    );
    let answer: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(answer, json!({"city": "Paris", "temperature_c": 18.5}));
}

#[tokio::test]
async fn incomplete_for_max_output_tokens_is_length() {
    let request = hello().max_tokens(16);
    let (r, sent) = SUITE.chat("incomplete.json", request.clone()).await;
    assert_eq!(sent.body_json()["max_output_tokens"], 16);
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    assert_eq!(
        r.text(),
        "Once upon a time, in a valley far away, there lived a"
    );
    let (events, error, _) = SUITE.stream("incomplete.sse", request).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Finish {
            reason: FinishReason::Length
        })
    );
}

// ---- streamed == non-streamed, and byte splits ----

#[tokio::test]
async fn collected_streams_equal_the_non_streamed_answers() {
    for (name, reason) in [
        ("text", FinishReason::Stop),
        ("tools", FinishReason::ToolCalls),
        ("reasoning", FinishReason::Stop),
        ("refusal", FinishReason::Stop),
        ("json_schema", FinishReason::Stop),
        ("incomplete", FinishReason::Length),
    ] {
        let whole = SUITE.same_both_ways(name, weather_question()).await;
        assert_eq!(whole.finish_reason, Some(reason), "{name}");
    }
}

const STREAMS: [&str; 6] = [
    "text.sse",
    "tools.sse",
    "reasoning.sse",
    "refusal.sse",
    "json_schema.sse",
    "incomplete.sse",
];

#[test]
fn every_stream_fixture_decodes_the_same_split_at_every_byte() {
    SUITE.assert_fixtures_decode_however_split(&OpenAiResponsesDialect, &ctx(), &STREAMS);
}

fn ctx() -> llm_runtime::provider::RequestContext<'static> {
    static SPEC: llm_runtime::spec::ProviderSpec = <OpenAiResponses as llm_runtime::Provider>::SPEC;
    llm_runtime::provider::RequestContext::new(&SPEC, "o4-mini", false)
}

#[tokio::test]
async fn every_stream_fixture_gives_the_same_events_over_http_however_split() {
    SUITE
        .assert_same_events_over_http_however_split(&STREAMS, hello)
        .await;
}

#[test]
fn the_error_streams_fail_the_same_split_at_every_byte() {
    use llm_runtime::testing::replay_stream;
    for name in ["failed.sse", "error_event.sse"] {
        let body = SUITE.fixture(name);
        let whole = replay_stream(&OpenAiResponsesDialect, [body.as_bytes()]).unwrap_err();
        for cut in 1..body.len() {
            let (a, b) = body.as_bytes().split_at(cut);
            let e = replay_stream(&OpenAiResponsesDialect, [a, b]).unwrap_err();
            assert_eq!(
                (e.kind(), e.message()),
                (whole.kind(), whole.message()),
                "{name} at {cut}"
            );
        }
    }
}

// ---- errors ----

#[tokio::test]
async fn response_failed_mid_stream_is_a_typed_error_after_the_partial_text() {
    let (events, error, _) = SUITE.stream("failed.sse", hello()).await;
    assert_eq!(common::text_of(&events), "Partial answer");
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::ServerError);
    assert_eq!(e.code(), Some("server_error"));
    assert_eq!(e.provider(), Some("openai_responses"));
    assert!(e.message().contains("invalid content"), "{e}");
    assert!(e.message().contains("mid-way"), "{e}");
}

#[tokio::test]
async fn an_error_event_is_a_typed_error_after_the_partial_text() {
    let (events, error, _) = SUITE.stream("error_event.sse", hello()).await;
    assert_eq!(common::text_of(&events), "Partial");
    let e = error.unwrap();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.code(), Some("rate_limit_exceeded"));
    assert!(e.message().contains("Rate limit reached"), "{e}");
}

#[tokio::test]
async fn http_errors_map_to_their_kinds() {
    for (status, name, kind, words, code) in [
        (
            400,
            "error_400.json",
            ErrorKind::InvalidRequest,
            "Invalid type",
            "invalid_type",
        ),
        (
            400,
            "error_400_context.json",
            ErrorKind::ContextWindowExceeded,
            "context window",
            "context_length_exceeded",
        ),
        (
            401,
            "error_401.json",
            ErrorKind::Authentication,
            "Incorrect API key",
            "invalid_api_key",
        ),
        (
            429,
            "error_429.json",
            ErrorKind::RateLimited,
            "Rate limit reached",
            "rate_limit_exceeded",
        ),
    ] {
        let response = MockResponse::json(status, SUITE.fixture_json(name))
            .header("x-request-id", "req_fixture_1")
            .header("retry-after", "7");
        let (plain, streamed) = SUITE.errors_of(response, &hello()).await;
        for e in [&plain, &streamed] {
            assert_eq!(e.kind(), kind, "{status}: {e}");
            assert_eq!(e.status(), Some(status));
            assert_eq!(e.code(), Some(code));
            assert_eq!(e.provider(), Some("openai_responses"));
            assert_eq!(e.request_id(), Some("req_fixture_1"));
            assert!(e.to_string().contains(words), "{status}: {e}");
            assert!(!e.to_string().contains(KEY));
            if status == 429 {
                assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
                assert!(e.is_retryable());
            } else {
                assert!(!e.is_retryable());
            }
        }
    }
}

#[tokio::test]
async fn a_stream_cut_before_its_terminal_event_is_truncated() {
    let body = SUITE.fixture("text.sse");
    let cut = body.find("event: response.completed").unwrap();
    let (events, error, _) = SUITE
        .stream_chunks(vec![body.as_bytes()[..cut].to_vec()], hello())
        .await;
    assert_eq!(common::text_deltas(&events), 5);
    assert_eq!(error.unwrap().kind(), ErrorKind::StreamTruncated);
}

// ---- the two-turn tool loop ----

/// The second turn: the question, the reply as it came, and both results.
fn second_turn(reply: llm_runtime::ChatResponse) -> ChatRequest {
    let calls = reply.message.tool_calls.clone();
    let mut request = weather_question();
    request.messages.push(reply.into_message());
    for (call, result) in calls.iter().zip(["18 °C, sunny", "24 °C, light rain"]) {
        request
            .messages
            .push(Message::tool_result(&call.id, result));
    }
    request
}

#[tokio::test]
async fn a_two_turn_tool_loop_sends_back_the_items_exactly() {
    let first = output("tools.json");
    // The items the second request must carry: the first turn's output as
    // the API gave it, then one `function_call_output` per call.
    let expected_input = json!([
        {"role": "user", "content": [
            {"type": "input_text", "text": "The weather in Paris and Tōkyō? This is my view:"},
            {"type": "input_image", "image_url": "https://example.com/photos/skyline.jpg", "detail": "auto"},
        ]},
        first[0],
        first[1],
        first[2],
        {"type": "function_call_output", "call_id": "call_Hn4QZ2vXk8aP0sLm3RtY6wEd", "output": "18 °C, sunny"},
        {"type": "function_call_output", "call_id": "call_Jq7WbX1nK5cR9tVy2UeM4oLa", "output": "24 °C, light rain"},
    ]);
    assert!(
        first[0]["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("gAAAA")
    );
    for streamed in [false, true] {
        let (server, client) = SUITE.setup().await;
        let reply = if streamed {
            server.on(
                "POST",
                PATH,
                MockResponse::sse([SUITE.fixture("tools.sse")]),
            );
            client
                .chat_stream(weather_question())
                .await
                .unwrap()
                .collect_response()
                .await
                .unwrap()
        } else {
            server.on(
                "POST",
                PATH,
                MockResponse::json(200, SUITE.fixture_json("tools.json")),
            );
            client.chat(weather_question()).await.unwrap()
        };
        server.on(
            "POST",
            PATH,
            MockResponse::json(200, SUITE.fixture_json("tools_answer.json")),
        );
        let answer = client.chat(second_turn(reply)).await.unwrap();
        assert_eq!(
            answer.text(),
            "Paris: 18 °C and sunny for three days. Tōkyō: 24 °C, light rain tomorrow."
        );
        let sent = server.requests().remove(1).body_json();
        assert_eq!(
            sent["input"], expected_input,
            "streamed first turn: {streamed}"
        );
        assert_eq!(sent["store"], false);
        assert_eq!(sent["include"], json!(["reasoning.encrypted_content"]));
    }
}

// ---- server state, routing, Azure ----

#[tokio::test]
async fn previous_response_id_rides_in_extra() {
    let request = ChatRequest::new("gpt-5-mini")
        .user("And in Tokyo?")
        .extra(
            "previous_response_id",
            json!("resp_68af0b3a5f3c8193b1f0e5d2c7a9b8e6"),
        )
        .extra("store", json!(true));
    let (_, sent) = SUITE.chat("text.json", request).await;
    let body = sent.body_json();
    assert_eq!(
        body["previous_response_id"],
        "resp_68af0b3a5f3c8193b1f0e5d2c7a9b8e6"
    );
    assert_eq!(body["store"], true);
    assert_eq!(
        body["input"],
        json!([{"role": "user", "content": "And in Tokyo?"}])
    );
}

#[tokio::test]
async fn the_client_routes_to_it() {
    let (server, provider) = SUITE.setup().await;
    server.on(
        "POST",
        PATH,
        MockResponse::json(200, SUITE.fixture_json("text.json")),
    );
    let client = Client::builder()
        .register(provider)
        .unwrap()
        .build()
        .unwrap();
    let r = client
        .chat(
            "openai_responses/gpt-4.1-mini",
            ChatRequest::new("").user("Say hello."),
        )
        .await
        .unwrap();
    assert_eq!(r.provider, "openai_responses");
    assert_eq!(server.requests()[0].body_json()["model"], "gpt-4.1-mini");
}

#[tokio::test]
async fn azure_speaks_it_on_the_v1_path() {
    let server = llm_runtime::testing::MockServer::start().await;
    let path = "/openai/v1/responses";
    server.on(
        "POST",
        path,
        MockResponse::json(200, SUITE.fixture_json("text.json")),
    );
    let client = loopback_client::<AzureOpenAiResponses>(&server, "/openai");
    let mut request = hello();
    request.model = "my-gpt-5-deployment".into();
    let r = client.chat(request).await.unwrap();
    assert_eq!(r.provider, "azure_openai_responses");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, path);
    assert_eq!(sent.query, None);
    assert_eq!(sent.header("api-key"), Some(KEY));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body_json()["model"], "my-gpt-5-deployment");

    let versioned = AzureOpenAiResponses {
        api_version: Some("preview".into()),
    };
    let client = ProviderConfig::new(versioned)
        .api_key(KEY)
        .base_url(format!("{}/openai", server.url()))
        .max_retries(0)
        .connect()
        .unwrap();
    server.on("POST", path, MockResponse::sse([SUITE.fixture("text.sse")]));
    let (events, error) = stream_events(&client, hello()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(common::text_deltas(&events), 5);
    assert_eq!(
        server.requests()[1].query_param("api-version"),
        Some("preview")
    );
}
