#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use serde_json::{Value, json};

use super::*;
use crate::dialects::test_support::{collect, sse_frames};
use crate::error::ErrorKind;
use crate::stream::{Control, Frame};
use crate::types::StreamEvent;
use crate::types::{
    Embedding, FinishReason, Message, Part, ReasoningEffort, ResponseFormat, Tool, ToolCall,
    ToolCallKind, ToolChoice, Usage,
};

static SPEC: crate::spec::ProviderSpec =
    crate::spec::ProviderSpec::new("gemini", "https://generativelanguage.googleapis.com/v1beta");

fn ctx(model: &'static str, stream: bool) -> RequestContext<'static> {
    RequestContext::new(&SPEC, model, stream)
}

fn body_of(request: &ChatRequest) -> Value {
    let parts = GeminiDialect
        .build_request(request, &ctx("gemini-2.5-flash", false))
        .unwrap();
    serde_json::from_slice(parts.body.as_deref().unwrap()).unwrap()
}

/// Run an SSE body through the real framer and the dialect, then end it.
fn stream(sse: &str) -> (Vec<StreamEvent>, Result<()>) {
    let frames = sse_frames(sse);
    let mut state = GeminiStreamState::default();
    let mut out = Vec::new();
    for frame in &frames {
        match GeminiDialect.parse_stream_event(frame, &mut state, &mut out) {
            Ok(control) => assert_eq!(control, Control::Continue),
            Err(e) => return (out, Err(e)),
        }
    }
    let end = GeminiDialect.finish_stream(&mut state, &mut out);
    (out, end)
}

fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| format!("data: {e}\r\n\r\n"))
        .collect()
}

// ---- request ----

#[test]
fn paths_and_query() {
    let request = ChatRequest::new("gemini-2.5-flash").user("hi");
    let parts = GeminiDialect
        .build_request(&request, &ctx("gemini-2.5-flash", false))
        .unwrap();
    assert_eq!(parts.path, "/models/gemini-2.5-flash:generateContent");
    assert!(parts.query.is_empty());
    let parts = GeminiDialect
        .build_request(&request, &ctx("gemini-2.5-flash", true))
        .unwrap();
    assert_eq!(parts.path, "/models/gemini-2.5-flash:streamGenerateContent");
    assert_eq!(parts.query, [("alt".to_owned(), "sse".to_owned())]);
    let parts = GeminiDialect
        .build_request(&request, &ctx("tunedModels/mine", false))
        .unwrap();
    assert_eq!(parts.path, "/tunedModels/mine:generateContent");
}

#[test]
fn request_maps_system_contents_and_generation_config() {
    let request = ChatRequest::new("gemini-2.5-flash")
        .system("Be brief.")
        .user("Hello")
        .user("Still there?")
        .assistant("Yes.")
        .temperature(0.25)
        .top_p(0.5)
        .max_tokens(100)
        .stop("END")
        .seed(7)
        .reasoning_budget(512)
        .extra("safetySettings", json!([]));
    let body = body_of(&request);
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hello"}, {"text": "Still there?"}]},
            {"role": "model", "parts": [{"text": "Yes."}]},
        ])
    );
    assert_eq!(
        body["generationConfig"],
        json!({
            "temperature": 0.25, "topP": 0.5, "maxOutputTokens": 100, "stopSequences": ["END"], "seed": 7,
            "thinkingConfig": {"thinkingBudget": 512, "includeThoughts": true},
        })
    );
    assert_eq!(body["safetySettings"], json!([]));
    assert!(
        body_of(&ChatRequest::new("m").user("x"))
            .get("generationConfig")
            .is_none()
    );
    let effort = body_of(
        &ChatRequest::new("m")
            .user("x")
            .reasoning_effort(ReasoningEffort::High),
    );
    assert_eq!(
        effort["generationConfig"]["thinkingConfig"]["thinkingBudget"],
        24576
    );
}

#[test]
fn request_maps_response_formats() {
    let body = body_of(
        &ChatRequest::new("m")
            .user("x")
            .response_format(ResponseFormat::JsonObject),
    );
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json"})
    );
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false});
    let body = body_of(&ChatRequest::new("m").user("x").response_format(
        ResponseFormat::JsonSchema {
            name: "n".into(),
            schema: schema.clone(),
            strict: true,
        },
    ));
    assert_eq!(
        body["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema})
    );
}

#[test]
fn request_maps_images() {
    let request = ChatRequest::new("m").user_parts(vec![
        Part::text("Describe"),
        Part::image_base64("image/png", "iVBORw0KGgo="),
        Part::image_url("data:image/jpeg;base64,/9j/4AA="),
        Part::image_url("https://example.com/a/cat.JPG?size=large"),
        Part::image_url("gs://bucket/object"),
    ]);
    assert_eq!(
        body_of(&request)["contents"][0]["parts"],
        json!([
            {"text": "Describe"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AA="}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/a/cat.JPG?size=large"}},
            {"fileData": {"fileUri": "gs://bucket/object"}},
        ])
    );
}

#[test]
fn request_maps_tools_calls_and_results() {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let request = ChatRequest::new("m")
        .user("Weather?")
        .message(Message::assistant_tool_calls(
            None,
            vec![
                ToolCall::function("call_0", "weather", r#"{"city":"Paris"}"#),
                ToolCall::function("call_1", "time", "{}"),
            ],
        ))
        .message(Message::tool_result("call_0", r#"{"temp": 18}"#))
        .message(Message::tool_result("call_1", "12:00"))
        .tool(Tool::function("weather", "Current weather", schema.clone()))
        .tool_choice(ToolChoice::Auto);
    let body = body_of(&request);
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [{"name": "weather", "description": "Current weather", "parametersJsonSchema": schema}]}])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "AUTO"}})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "time", "args": {}}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "weather", "response": {"temp": 18}}},
                {"functionResponse": {"name": "time", "response": {"result": "12:00"}}},
            ]},
        ])
    );
}

#[test]
fn tool_results_are_wrapped_into_objects() {
    let result = |content: &str| {
        let request = ChatRequest::new("m")
            .message(Message::assistant_tool_calls(
                None,
                vec![ToolCall::function("c", "f", "{}")],
            ))
            .message(Message::tool_result("c", content));
        body_of(&request)["contents"][1]["parts"][0]["functionResponse"]["response"].clone()
    };
    assert_eq!(result("[1,2]"), json!({"result": [1, 2]}));
    assert_eq!(result("42"), json!({"result": 42}));
    assert_eq!(result("plain text"), json!({"result": "plain text"}));
    assert_eq!(result(r#"{"ok":true}"#), json!({"ok": true}));
}

#[test]
fn a_tool_result_for_an_unknown_call_is_rejected() {
    let request = ChatRequest::new("m").message(Message::tool_result("nope", "x"));
    let e = GeminiDialect
        .build_request(&request, &ctx("m", false))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
    assert!(e.message().contains("nope"), "{}", e.message());
}

#[test]
fn tool_choice_forms() {
    let config = |c: ToolChoice| {
        body_of(&ChatRequest::new("m").user("x").tool_choice(c))["toolConfig"].clone()
    };
    assert_eq!(
        config(ToolChoice::None),
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
    assert_eq!(
        config(ToolChoice::Required),
        json!({"functionCallingConfig": {"mode": "ANY"}})
    );
    assert_eq!(
        config(ToolChoice::Tool("f".into())),
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}})
    );
}

#[test]
fn unsupported_params_are_named() {
    let request = ChatRequest::new("m")
        .user("x")
        .seed(1)
        .response_format(ResponseFormat::JsonObject);
    assert!(GeminiDialect.unsupported_params(&request).is_empty());
    assert_eq!(
        GeminiDialect.unsupported_params(&request.end_user("u")),
        ["user"]
    );
}

// ---- response ----

pub(in crate::dialects) const RESPONSE: &str = r#"{
  "candidates": [{
    "content": {"role": "model", "parts": [
      {"text": "Thinking about weather.", "thought": true},
      {"text": "Checking "},
      {"text": "both."},
      {"functionCall": {"name": "weather", "args": {"city": "Paris", "unit": "c"}}},
      {"functionCall": {"id": "fc_9", "name": "weather", "args": {"city": "Rome"}}}
    ]},
    "finishReason": "STOP", "index": 0,
    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
  }],
  "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": 80,
                    "cachedContentTokenCount": 8, "thoughtsTokenCount": 28},
  "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"
}"#;

#[test]
fn response_maps_parts_usage_and_finish() {
    let r = GeminiDialect
        .parse_response(RESPONSE.as_bytes(), &ctx("m", false))
        .unwrap();
    assert_eq!(r.id, "resp-1");
    assert_eq!(r.model, "gemini-2.5-flash");
    assert_eq!(r.message.content, [Part::text("Checking both.")]);
    assert_eq!(r.reasoning.as_deref(), Some("Thinking about weather."));
    assert_eq!(
        r.message.tool_calls,
        [
            ToolCall {
                kind: ToolCallKind::Function,
                id: "call_0".into(),
                name: "weather".into(),
                arguments: r#"{"city":"Paris","unit":"c"}"#.into()
            },
            ToolCall {
                kind: ToolCallKind::Function,
                id: "fc_9".into(),
                name: "weather".into(),
                arguments: r#"{"city":"Rome"}"#.into()
            },
        ]
    );
    assert_eq!(r.finish_reason, Some(FinishReason::ToolCalls));
    let mut usage = Usage::new(40, 40);
    usage.cached_tokens = Some(8);
    usage.reasoning_tokens = Some(28);
    assert_eq!(r.usage, Some(usage));
}

#[test]
fn finish_reasons_map() {
    for (raw, expected) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("BLOCKLIST", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("SPII", FinishReason::ContentFilter),
        (
            "MALFORMED_FUNCTION_CALL",
            FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
        ),
        ("SOMETHING_NEW", FinishReason::Other("SOMETHING_NEW".into())),
    ] {
        // A candidate stopped by a filter may have no content at all.
        let body = json!({"candidates": [{"finishReason": raw}]});
        let r = GeminiDialect
            .parse_response(body.to_string().as_bytes(), &ctx("m", false))
            .unwrap();
        assert_eq!(r.finish_reason, Some(expected), "{raw}");
        assert!(r.message.content.is_empty());
    }
}

#[test]
fn a_blocked_prompt_is_a_content_filter_finish() {
    let body = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}});
    let r = GeminiDialect
        .parse_response(body.to_string().as_bytes(), &ctx("m", false))
        .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(r.usage, Some(Usage::new(7, 0)));
    assert!(r.message.content.is_empty() && r.message.tool_calls.is_empty());

    let (events, end) = stream(&sse(&[body]));
    end.unwrap();
    assert_eq!(collect(events), r);
}

#[test]
fn malformed_response_is_a_decode_error() {
    for body in [
        &b"{\"candidates\": ["[..],
        b"",
        b"<!DOCTYPE html>",
        b"{\"candidates\": {}}",
    ] {
        let e = GeminiDialect
            .parse_response(body, &ctx("m", false))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.message().contains("Gemini"), "{}", e.message());
    }
}

// ---- stream ----

pub(in crate::dialects) fn tool_stream() -> String {
    sse(&[
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Thinking about ", "thought": true}]}, "index": 0}],
               "usageMetadata": {"promptTokenCount": 40, "totalTokenCount": 40}, "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "weather.", "thought": true}]}, "index": 0}],
               "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking "}]}, "index": 0}],
               "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "both."}, {"functionCall": {"name": "weather", "args": {"unit": "c", "city": "Paris"}}}]}, "index": 0}],
               "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"id": "fc_9", "name": "weather", "args": {"city": "Rome"}}}]}, "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": 80, "cachedContentTokenCount": 8, "thoughtsTokenCount": 28},
               "modelVersion": "gemini-2.5-flash", "responseId": "resp-1"}),
    ])
}

#[test]
fn stream_events_in_order() {
    let (events, end) = stream(&tool_stream());
    end.unwrap();
    let mut usage = Usage::new(40, 40);
    usage.cached_tokens = Some(8);
    usage.reasoning_tokens = Some(28);
    assert_eq!(
        events,
        [
            StreamEvent::Start {
                id: "resp-1".into(),
                model: "gemini-2.5-flash".into()
            },
            StreamEvent::ReasoningDelta {
                text: "Thinking about ".into()
            },
            StreamEvent::ReasoningDelta {
                text: "weather.".into()
            },
            StreamEvent::TextDelta {
                text: "Checking ".into()
            },
            StreamEvent::TextDelta {
                text: "both.".into()
            },
            StreamEvent::ToolCallStart {
                index: 0,
                id: "call_0".into(),
                name: "weather".into()
            },
            StreamEvent::ToolCallDelta {
                index: 0,
                arguments: r#"{"city":"Paris","unit":"c"}"#.into()
            },
            StreamEvent::ToolCallStart {
                index: 1,
                id: "fc_9".into(),
                name: "weather".into()
            },
            StreamEvent::ToolCallDelta {
                index: 1,
                arguments: r#"{"city":"Rome"}"#.into()
            },
            StreamEvent::Usage { usage },
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
}

#[test]
fn collected_stream_equals_the_non_streamed_response() {
    let (events, end) = stream(&tool_stream());
    end.unwrap();
    let whole = GeminiDialect
        .parse_response(RESPONSE.as_bytes(), &ctx("m", false))
        .unwrap();
    assert_eq!(collect(events), whole);
}

#[test]
fn a_stream_without_finish_reason_is_truncated() {
    let (events, end) = stream(&sse(&[
        json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}),
    ]));
    assert_eq!(events.len(), 2);
    let e = end.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StreamTruncated);
    assert!(e.message().contains("finishReason"), "{}", e.message());
    let (events, end) = stream("");
    assert!(events.is_empty());
    assert_eq!(end.unwrap_err().kind(), ErrorKind::StreamTruncated);
}

#[test]
fn a_mid_stream_error_event_fails_with_its_kind() {
    let body = sse(&[
        json!({"candidates": [{"content": {"parts": [{"text": "Hel"}]}}]}),
        json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}),
    ]);
    let (events, end) = stream(&body);
    assert_eq!(events.len(), 2);
    let e = end.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.code(), Some("RESOURCE_EXHAUSTED"));
    assert!(e.message().contains("exhausted"), "{}", e.message());
    let body = sse(&[
        json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
    ]);
    assert_eq!(stream(&body).1.unwrap_err().kind(), ErrorKind::Overloaded);
}

#[test]
fn malformed_stream_events_are_decode_errors() {
    for data in ["{\"candidates\": [", "[DONE]", "{\"candidates\": 3}"] {
        let frame = Frame {
            event: None,
            data: data.into(),
        };
        let e = GeminiDialect
            .parse_stream_event(&frame, &mut GeminiStreamState::default(), &mut Vec::new())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{data}");
        assert!(e.message().contains("Gemini"), "{}", e.message());
    }
}

// ---- errors, embeddings, models ----

#[test]
fn errors_take_the_retry_delay_google_gives() {
    let body = br#"{"error":{"code":429,"message":"Quota exceeded for metric generate_content_free_tier_requests.","status":"RESOURCE_EXHAUSTED",
        "details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},
                   {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#;
    let e = GeminiDialect.classify_error(429, &HeaderMap::new(), body);
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(37)));
    let mut headers = HeaderMap::new();
    headers.insert("retry-after", http::HeaderValue::from_static("2"));
    assert_eq!(
        GeminiDialect
            .classify_error(429, &headers, body)
            .retry_after(),
        Some(Duration::from_secs(2))
    );
    for (status, body, kind) in [
        (
            400,
            r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#,
            ErrorKind::Authentication,
        ),
        (
            400,
            r#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#,
            ErrorKind::ContextWindowExceeded,
        ),
        (
            403,
            r#"{"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}"#,
            ErrorKind::PermissionDenied,
        ),
        (
            404,
            r#"{"error":{"code":404,"message":"models/nope is not found.","status":"NOT_FOUND"}}"#,
            ErrorKind::NotFound,
        ),
    ] {
        let e = GeminiDialect.classify_error(status, &HeaderMap::new(), body.as_bytes());
        assert_eq!(e.kind(), kind, "{body}");
        assert_eq!(e.retry_after(), None);
    }
}

#[test]
fn embeddings_round_trip() {
    let request = EmbeddingRequest::new("gemini-embedding-001", ["a", "b"]).dimensions(3);
    let ctx = ctx("gemini-embedding-001", false);
    let parts = GeminiDialect
        .build_embedding_request(&request, &ctx)
        .unwrap();
    assert_eq!(
        parts.path,
        "/models/gemini-embedding-001:batchEmbedContents"
    );
    let body: Value = serde_json::from_slice(parts.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 3},
        ]})
    );
    let r = GeminiDialect
        .parse_embedding_response(
            br#"{"embeddings":[{"values":[0.1,0.2,0.3]},{"values":[0.4,0.5,0.6]}]}"#,
            &ctx,
        )
        .unwrap();
    assert_eq!(r.model, "gemini-embedding-001");
    assert_eq!(
        r.embeddings[1],
        Embedding {
            index: 1,
            vector: vec![0.4, 0.5, 0.6]
        }
    );
    let e = GeminiDialect
        .parse_embedding_response(b"{\"embeddings\": [", &ctx)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    let e = GeminiDialect
        .build_embedding_request(
            &EmbeddingRequest::new("", ["a"]),
            &super::tests::ctx("", false),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn models_are_listed_without_their_prefix() {
    let parts = GeminiDialect.models_request(&ctx("", false)).unwrap();
    assert_eq!(
        (parts.method, parts.path.as_str()),
        (http::Method::GET, "/models")
    );
    let models = GeminiDialect
        .parse_models(br#"{"models":[{"name":"models/gemini-2.5-flash","displayName":"Gemini 2.5 Flash","supportedGenerationMethods":["generateContent"]},{"name":"models/gemini-embedding-001"}],"nextPageToken":"x"}"#)
        .unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["gemini-2.5-flash", "gemini-embedding-001"]);
    assert_eq!(
        GeminiDialect.parse_models(b"nope").unwrap_err().kind(),
        ErrorKind::Decode
    );
}
