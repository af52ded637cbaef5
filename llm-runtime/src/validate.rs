//! Request validation that runs before any network call.
//!
//! [`ProviderClient`](crate::ProviderClient) calls [`validate_request`] on every
//! chat and stream call, so a request with a bad parameter never costs a round trip:
//!
//! - [`ErrorKind::InvalidRequest`] for what no provider accepts: no messages,
//!   a temperature outside `0..=2`, a `top_p` outside `0..=1`, `max_tokens = 0`,
//!   tool parameters that are not a JSON-schema object, a tool result without the
//!   id of its call, a `tool_choice` naming a tool that is not offered;
//! - [`ErrorKind::Unsupported`] for what this provider cannot do: images without
//!   the `vision` capability, tools without the `tools` capability.
//!
//! Capability errors are not subject to the unsupported-parameter policy:
//! silently dropping an image or a tool would change what the model is asked.
//!
//! ```
//! use llm_runtime::{ChatRequest, ErrorKind, spec::ProviderSpec};
//! use llm_runtime::validate::validate_request;
//!
//! const SPEC: ProviderSpec = ProviderSpec::new("example", "https://api.example.com/v1");
//! let err = validate_request(&ChatRequest::new("m").user("hi").temperature(3.0), &SPEC)
//!     .expect_err("out of range");
//! assert_eq!(err.kind(), ErrorKind::InvalidRequest);
//! assert!(validate_request(&ChatRequest::new("m").user("hi"), &SPEC).is_ok());
//! ```

use std::collections::HashSet;

use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::spec::{Capability, ProviderSpec};
use crate::types::{ChatRequest, ResponseFormat, Role, ToolChoice};

/// Check `request` against the rules every provider shares and against the
/// capabilities `spec` declares. The error names the provider and the model.
pub fn validate_request(request: &ChatRequest, spec: &ProviderSpec) -> Result<()> {
    check(request, spec).map_err(|e| e.with_provider(spec.name).with_model(request.model.clone()))
}

fn check(request: &ChatRequest, spec: &ProviderSpec) -> Result<()> {
    check_messages(request)?;
    check_sampling(request)?;
    check_tools(request)?;
    check_response_format(request)?;
    check_capabilities(request, spec)
}

fn check_messages(request: &ChatRequest) -> Result<()> {
    if request.messages.is_empty() {
        return Err(Error::invalid_request(
            "the request has no messages: add at least one, e.g. `.user(\"...\")`",
        ));
    }
    for (i, message) in request.messages.iter().enumerate() {
        if message.role == Role::Tool && message.tool_call_id.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_request(format!(
                "message {i} is a tool result without the id of the call it answers (use `Message::tool_result(call_id, ...)`)"
            )));
        }
    }
    Ok(())
}

fn check_sampling(request: &ChatRequest) -> Result<()> {
    if let Some(t) = request.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(Error::invalid_request(format!(
            "temperature must be between 0 and 2, got {t}"
        )));
    }
    if let Some(p) = request.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return Err(Error::invalid_request(format!(
            "top_p must be between 0 and 1, got {p}"
        )));
    }
    if request.max_tokens == Some(0) {
        return Err(Error::invalid_request("max_tokens must be at least 1"));
    }
    Ok(())
}

fn check_tools(request: &ChatRequest) -> Result<()> {
    let mut names = HashSet::with_capacity(request.tools.len());
    for tool in &request.tools {
        if tool.name.trim().is_empty() {
            return Err(Error::invalid_request("a tool has an empty name"));
        }
        if !names.insert(tool.name.as_str()) {
            return Err(Error::invalid_request(format!(
                "the tool `{}` is declared twice",
                tool.name
            )));
        }
        check_schema_object(&tool.parameters).map_err(|why| {
            Error::invalid_request(format!(
                "the parameters of tool `{}` must be a JSON-schema object such as {{\"type\":\"object\",\"properties\":{{...}}}}: {why}",
                tool.name
            ))
        })?;
    }
    match &request.tool_choice {
        Some(ToolChoice::Tool(name)) if !names.contains(name.as_str()) => {
            Err(Error::invalid_request(format!(
                "tool_choice names the tool `{name}`, which is not among the request's tools"
            )))
        }
        Some(ToolChoice::Required) if request.tools.is_empty() => Err(Error::invalid_request(
            "tool_choice is `required` but the request offers no tools",
        )),
        _ => Ok(()),
    }
}

fn check_response_format(request: &ChatRequest) -> Result<()> {
    if let Some(ResponseFormat::JsonSchema { name, schema, .. }) = &request.response_format {
        if name.trim().is_empty() {
            return Err(Error::invalid_request(
                "the JSON-schema response format needs a name",
            ));
        }
        if !schema.is_object() {
            return Err(Error::invalid_request(
                "the JSON-schema response format needs a schema that is a JSON object",
            ));
        }
    }
    Ok(())
}

/// Why `schema` is not a JSON-schema object (`{"type":"object", ...}`), if it is not.
fn check_schema_object(schema: &Value) -> std::result::Result<(), String> {
    let Some(map) = schema.as_object() else {
        return Err(format!("got {}", json_kind(schema)));
    };
    match map.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => return Err(format!("`type` is {other}, not \"object\"")),
        None => return Err("it has no `\"type\": \"object\"`".to_owned()),
    }
    match map.get("properties") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(other) => Err(format!(
            "`properties` is {}, not an object",
            json_kind(other)
        )),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn check_capabilities(request: &ChatRequest, spec: &ProviderSpec) -> Result<()> {
    if !spec.supports(Capability::Vision) && request.messages.iter().any(|m| m.has_images()) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the {} provider does not accept images (it does not declare the `vision` capability)",
                spec.name
            ),
        ));
    }
    if !spec.supports(Capability::Tools) && !request.tools.is_empty() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the {} provider does not accept tools (it does not declare the `tools` capability)",
                spec.name
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Capabilities;
    use crate::types::{Message, Part, Tool};
    use serde_json::json;

    const PLAIN: ProviderSpec = ProviderSpec::new("plain", "https://plain.example/v1");
    const FULL: ProviderSpec = {
        let mut s = ProviderSpec::new("full", "https://full.example/v1");
        s.capabilities =
            Capabilities::of(&[Capability::Chat, Capability::Tools, Capability::Vision]);
        s
    };

    fn kind(req: &ChatRequest, spec: &ProviderSpec) -> Option<ErrorKind> {
        validate_request(req, spec).err().map(|e| e.kind())
    }

    fn weather(params: Value) -> Tool {
        Tool::function("weather", "Weather for a city", params)
    }

    #[test]
    fn a_plain_request_passes() {
        let req = ChatRequest::new("m")
            .system("s")
            .user("u")
            .temperature(0.0)
            .top_p(1.0)
            .max_tokens(1);
        assert_eq!(kind(&req, &PLAIN), None);
        assert_eq!(kind(&req.clone().temperature(2.0), &PLAIN), None);
    }

    #[test]
    fn empty_messages_are_invalid() {
        assert_eq!(
            kind(&ChatRequest::new("m"), &PLAIN),
            Some(ErrorKind::InvalidRequest)
        );
    }

    #[test]
    fn sampling_ranges() {
        let base = ChatRequest::new("m").user("u");
        for t in [-0.1, 2.01, f32::NAN, f32::INFINITY] {
            assert_eq!(
                kind(&base.clone().temperature(t), &PLAIN),
                Some(ErrorKind::InvalidRequest),
                "{t}"
            );
        }
        for p in [-0.01, 1.01, f32::NAN] {
            assert_eq!(
                kind(&base.clone().top_p(p), &PLAIN),
                Some(ErrorKind::InvalidRequest),
                "{p}"
            );
        }
        assert_eq!(
            kind(&base.clone().max_tokens(0), &PLAIN),
            Some(ErrorKind::InvalidRequest)
        );
    }

    #[test]
    fn tool_schemas_must_be_objects() {
        let base = ChatRequest::new("m").user("u");
        let good = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        assert_eq!(kind(&base.clone().tool(weather(good)), &FULL), None);
        assert_eq!(
            kind(
                &base.clone().tool(weather(json!({"type": "object"}))),
                &FULL
            ),
            None
        );
        for bad in [
            json!("object"),
            json!([]),
            json!(null),
            json!({"properties": {}}),
            json!({"type": "string"}),
            json!({"type": "object", "properties": []}),
        ] {
            let err = validate_request(&base.clone().tool(weather(bad.clone())), &FULL)
                .expect_err("not a schema object");
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad}");
            assert!(err.message().contains("weather"), "{}", err.message());
        }
    }

    #[test]
    fn tool_names_and_choice() {
        let schema = json!({"type": "object"});
        let base = ChatRequest::new("m")
            .user("u")
            .tool(weather(schema.clone()));
        assert_eq!(
            kind(&base.clone().tool(weather(schema)), &FULL),
            Some(ErrorKind::InvalidRequest)
        );
        assert_eq!(
            kind(
                &base.clone().tool_choice(ToolChoice::Tool("nope".into())),
                &FULL
            ),
            Some(ErrorKind::InvalidRequest)
        );
        assert_eq!(
            kind(
                &base.clone().tool_choice(ToolChoice::Tool("weather".into())),
                &FULL
            ),
            None
        );
        assert_eq!(
            kind(
                &ChatRequest::new("m")
                    .user("u")
                    .tool_choice(ToolChoice::Required),
                &FULL
            ),
            Some(ErrorKind::InvalidRequest)
        );
    }

    #[test]
    fn capabilities_are_unsupported_errors() {
        let tools = ChatRequest::new("m")
            .user("u")
            .tool(weather(json!({"type": "object"})));
        assert_eq!(kind(&tools, &PLAIN), Some(ErrorKind::Unsupported));
        let image = ChatRequest::new("m").user_parts(vec![
            Part::text("what is it?"),
            Part::image_url("https://x/y.png"),
        ]);
        assert_eq!(kind(&image, &PLAIN), Some(ErrorKind::Unsupported));
        assert_eq!(kind(&image, &FULL), None);
    }

    #[test]
    fn tool_results_need_their_call_id() {
        let mut orphan = Message::tool_result("", "42");
        let req = ChatRequest::new("m").user("u").message(orphan.clone());
        assert_eq!(kind(&req, &FULL), Some(ErrorKind::InvalidRequest));
        orphan.tool_call_id = None;
        let req = ChatRequest::new("m").user("u").message(orphan);
        assert_eq!(kind(&req, &FULL), Some(ErrorKind::InvalidRequest));
    }

    #[test]
    fn json_schema_response_format_needs_an_object() {
        let req = ChatRequest::new("m")
            .user("u")
            .response_format(ResponseFormat::JsonSchema {
                name: "answer".into(),
                schema: json!("x"),
                strict: true,
            });
        assert_eq!(kind(&req, &PLAIN), Some(ErrorKind::InvalidRequest));
    }

    #[test]
    fn errors_name_provider_and_model() {
        let err = validate_request(&ChatRequest::new("gpt-x"), &PLAIN).expect_err("no messages");
        assert_eq!(err.provider(), Some("plain"));
        assert_eq!(err.model(), Some("gpt-x"));
    }
}
