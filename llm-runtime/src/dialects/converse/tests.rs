//! Unit checks of the Converse request shape and error mapping; the
//! behaviour over HTTP is in `tests/tests/conformance_bedrock.rs`.

use http::{HeaderMap, HeaderValue};
use serde_json::json;

use super::*;
use crate::provider::Provider;
use crate::types::{Message, Part, ReasoningBlock, Tool, ToolCall};
use crate::{ErrorKind, providers::Bedrock};

fn ctx(model: &str, stream: bool) -> RequestContext<'_> {
    RequestContext::new(&Bedrock::SPEC, model, stream)
}

fn body_of(request: &ChatRequest) -> serde_json::Value {
    let parts = ConverseDialect
        .build_request(request, &ctx(&request.model, false))
        .expect("builds");
    serde_json::from_slice(parts.body.as_deref().expect("a body")).expect("JSON")
}

#[test]
fn the_model_id_is_one_encoded_path_segment() {
    let model = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let parts = ConverseDialect
        .build_request(&ChatRequest::new(model).user("hi"), &ctx(model, true))
        .expect("builds");
    assert_eq!(
        parts.path,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    );
    let model = "arn:aws:bedrock:us-east-1:1:inference-profile/x";
    let parts = ConverseDialect
        .build_request(&ChatRequest::new(model).user("hi"), &ctx(model, false))
        .expect("builds");
    assert_eq!(
        parts.path,
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse"
    );
}

#[test]
fn request_fields() {
    let mut request = ChatRequest::new("anthropic.claude-3-5-haiku-20241022-v1:0")
        .system("Be brief.")
        .user("Weather in Paris?")
        .temperature(0.2)
        .max_tokens(100)
        .stop("END")
        .reasoning_budget(2048)
        .tool(Tool::function(
            "get_weather",
            "Weather",
            json!({"type": "object"}),
        ))
        .tool_choice(ToolChoice::Tool("get_weather".into()));
    request.extra.insert("top_k".into(), json!(5));
    request.extra.insert(
        "guardrailConfig".into(),
        json!({"guardrailIdentifier": "g"}),
    );
    let mut reply = Message::assistant("");
    reply.reasoning = vec![
        ReasoningBlock::text("think").signed("sig", SOURCE),
        ReasoningBlock::text("foreign").signed("other", "anthropic"),
        ReasoningBlock::redacted("b64", SOURCE),
    ];
    reply.tool_calls = vec![ToolCall::function(
        "t1",
        "get_weather",
        r#"{"city":"Paris"}"#,
    )];
    request.messages.push(reply);
    request.messages.push(Message::tool_result("t1", "18C"));
    let body = body_of(&request);
    assert_eq!(body["system"], json!([{"text": "Be brief."}]));
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 100, "temperature": 0.2, "stopSequences": ["END"]})
    );
    assert_eq!(
        body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"],
        json!({"json": {"type": "object"}})
    );
    assert_eq!(
        body["toolConfig"]["toolChoice"],
        json!({"tool": {"name": "get_weather"}})
    );
    assert_eq!(
        body["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 5})
    );
    assert_eq!(body["guardrailConfig"], json!({"guardrailIdentifier": "g"}));
    let assistant = &body["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"],
        json!([
            {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig"}}},
            {"reasoningContent": {"redactedContent": "b64"}},
            {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}}
        ])
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "18C"}]}}]})
    );
}

#[test]
fn images_are_bytes_or_s3() {
    let request = ChatRequest::new("amazon.nova-pro-v1:0").message(Message::user_parts(vec![
        Part::text("what is this?"),
        Part::image_url("data:image/png;base64,iVBORw0KGgo="),
    ]));
    let body = body_of(&request);
    assert_eq!(
        body["messages"][0]["content"][1],
        json!({"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}})
    );
    let web = ChatRequest::new("amazon.nova-pro-v1:0").message(Message::user_parts(vec![
        Part::image_url("https://example.com/a.png"),
    ]));
    let err = ConverseDialect
        .build_request(&web, &ctx("amazon.nova-pro-v1:0", false))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn exception_names_from_every_place_aws_puts_them() {
    assert_eq!(exception_name("throttlingException"), "ThrottlingException");
    assert_eq!(
        exception_name("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        "ValidationException"
    );
    assert_eq!(
        exception_name("com.amazon.coral.service#AccessDeniedException"),
        "AccessDeniedException"
    );
}

#[test]
fn errors_take_the_amzn_error_type_and_request_id() {
    let cases = [
        (429, "ThrottlingException", ErrorKind::RateLimited),
        (400, "ValidationException", ErrorKind::InvalidRequest),
        (403, "AccessDeniedException", ErrorKind::PermissionDenied),
        (408, "ModelTimeoutException", ErrorKind::Timeout),
        (503, "ServiceUnavailableException", ErrorKind::Overloaded),
        (424, "ModelErrorException", ErrorKind::ServerError),
        (500, "InternalServerException", ErrorKind::ServerError),
        (404, "ResourceNotFoundException", ErrorKind::NotFound),
    ];
    for (status, kind, expected) in cases {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amzn-errortype",
            HeaderValue::from_str(&format!(
                "{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
            ))
            .expect("header"),
        );
        headers.insert("x-amzn-requestid", HeaderValue::from_static("req-123"));
        let error = ConverseDialect.classify_error(status, &headers, br#"{"message":"nope"}"#);
        assert_eq!(error.kind(), expected, "{kind}");
        assert_eq!(error.code(), Some(kind));
        assert_eq!(error.request_id(), Some("req-123"));
        assert_eq!(error.message(), "nope");
        assert_eq!(error.status(), Some(status));
    }
    let error = ConverseDialect.classify_error(
        400,
        &HeaderMap::new(),
        br#"{"message":"Input is too long for requested model."}"#,
    );
    assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
}
