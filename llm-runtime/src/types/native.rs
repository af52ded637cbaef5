//! A request's fields as the caller wrote them in one wire format, for the
//! dialect of that format to send unchanged, and an answer's body as the
//! upstream sent it (a gateway's same-dialect passthrough, both ways).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// The top-level fields of a request body as a caller wrote them in the wire
/// format `format` (a dialect's source name: `"anthropic"`,
/// `"openai_responses"`), kept as JSON text byte for byte.
///
/// A gateway that received a request in a provider's own format sets it on the
/// unified [`ChatRequest`](crate::ChatRequest) it translated from that body.
/// The dialect of that format then sends each of these fields as written, in
/// place of its own translation of the field (signed thinking blocks,
/// `cache_control` markers, fields this runtime does not know yet all reach
/// the upstream unchanged); `model` and `stream` stay the dialect's, since the
/// route and the call decide them. Every other dialect ignores it and sends
/// its translation of the unified fields, so a fallback to another format
/// still works.
///
/// ```
/// use llm_runtime::{ChatRequest, types::NativeBody};
/// let body = r#"{"model":"claude","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"top_k":3}"#;
/// let native = NativeBody::new("anthropic", body).unwrap();
/// assert_eq!(native.fields(), body);
/// let request = ChatRequest::new("claude").user("hi").native(native);
/// assert!(request.native_for("anthropic").is_some());
/// assert!(request.native_for("openai_responses").is_none());
/// assert!(NativeBody::new("anthropic", "[1]").is_err());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NativeBody {
    /// The wire format the fields are written in.
    pub format: String,
    /// The body: one JSON object.
    fields: Box<RawValue>,
}

impl NativeBody {
    /// The fields of `body` (a JSON object's text) in the wire format `format`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when
    /// `body` is not one JSON object.
    pub fn new(format: impl Into<String>, body: impl Into<String>) -> Result<Self> {
        let fields = RawValue::from_string(body.into())
            .map_err(|e| Error::invalid_request(format!("the request body is not JSON: {e}")))?;
        if !fields.get().trim_start().starts_with('{') {
            return Err(Error::invalid_request(
                "the request body is not a JSON object",
            ));
        }
        Ok(NativeBody {
            format: format.into(),
            fields,
        })
    }

    /// The body's JSON text, as given.
    pub fn fields(&self) -> &str {
        self.fields.get()
    }
}

/// Two bodies are equal when their format and text are.
impl PartialEq for NativeBody {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format && self.fields.get() == other.fields.get()
    }
}

/// An answer's body as the upstream sent it, kept for a call that asked for
/// its format with [`ChatOptions::keep_wire`](crate::ChatOptions::keep_wire)
/// when the provider that served it speaks that format
/// ([`ResponseMeta::wire`](crate::types::ResponseMeta::wire)): a gateway
/// whose caller speaks the same format passes it on unchanged (signed
/// thinking, cache markers, fields this runtime does not know yet).
#[derive(Clone)]
#[non_exhaustive]
pub struct WireAnswer {
    /// The wire format: the provider's dialect (`"openai"`, `"anthropic"`, `"openai_responses"`).
    pub format: &'static str,
    /// The body, byte for byte.
    pub body: bytes::Bytes,
}

impl WireAnswer {
    /// The body `body` in the wire format `format`.
    pub fn new(format: &'static str, body: bytes::Bytes) -> Self {
        WireAnswer { format, body }
    }
}

/// The format and size only: the body is the answer's content.
impl std::fmt::Debug for WireAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireAnswer")
            .field("format", &self.format)
            .field("bytes", &self.body.len())
            .finish()
    }
}
