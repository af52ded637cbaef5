//! Errors that arrive in-band: an error payload inside a 2xx body or a stream
//! event, where the HTTP status said success.
//!
//! [`in_band_error_status`] finds them (cheaply: it runs on every successful
//! body), and [`classify_http_error`] turns them into an [`Error`] with the same
//! code/type/message tables as any HTTP error, so every dialect converts an
//! in-band error one way.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde_json::{Map, Value};

use super::pick::{Pick, SKIPPED, picked};
use super::{Error, classify_http_error};

/// The status [`in_band_error_status`] gives a payload without an HTTP-like
/// code of its own: a success status, which [`classify_http_error`] reads as
/// "in-band": the payload's code, type and message decide the kind (what no
/// table knows is a server error) and the error records no HTTP status.
pub(crate) const IN_BAND_STATUS: u16 = 200;

/// Whether `body` may hold an error payload, without parsing it.
///
/// Every shape this module detects has the bytes `"error"` (a key, or the whole
/// string value of `type`/`object`); inside a JSON string a quote is escaped, so
/// those bytes are a key or a whole value. An `"error": null` (OpenAI's
/// Responses API on success) is skipped.
fn may_hold_error(body: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"\"error\"";
    // Every 2xx body passes here: the searchers are built once, not per body.
    static DETAIL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"detail\""));
    static ERROR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(NEEDLE));
    if DETAIL.find(body).is_some() {
        return true;
    }
    ERROR.find_iter(body).any(|at| {
        let after = body[at + NEEDLE.len()..].trim_ascii_start();
        match after.strip_prefix(b":") {
            Some(value) => !value.trim_ascii_start().starts_with(b"null"),
            // A value (`"type":"error"`), or an array item.
            None => true,
        }
    })
}

/// What the probe of an error object reads: its HTTP-like `code` (and,
/// through the skipped-keys marker, whether it has anything else).
static ERROR_OBJECT: Pick = Pick {
    keys: &[&["code"]],
    nested: None,
};

/// The top-level fields that mark an error payload; everything else is skipped
/// without being built (a `detail` is an error payload only alone, so the
/// skipped-keys marker says whether there are others).
static PROBE: Pick = Pick {
    keys: &[&["type", "object", "code", "detail"]],
    nested: Some(("error", &ERROR_OBJECT)),
};

/// An HTTP error status written as a number or a string of digits.
fn http_status(v: Option<&Value>) -> Option<u16> {
    let n = match v? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|s| (400..=599).contains(s))
}

fn is_error_marker(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str) == Some("error")
}

/// The status to classify an object with, if it is an error payload.
fn probe_status(probe: &Map<String, Value>) -> Option<u16> {
    let error = probe.get("error").filter(|e| match e {
        Value::Object(o) => !o.is_empty(),
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    });
    let (kind, object) = (probe.get("type"), probe.get("object"));
    let detail = !probe.contains_key(SKIPPED)
        && kind.is_none()
        && object.is_none()
        && match probe.get("detail") {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(items)) => items.iter().any(|i| i.get("msg").is_some()),
            _ => false,
        };
    if error.is_none() && !detail && !is_error_marker(kind) && !is_error_marker(object) {
        return None;
    }
    Some(
        http_status(error.and_then(|e| e.get("code")))
            .or_else(|| http_status(probe.get("code")))
            .unwrap_or(IN_BAND_STATUS),
    )
}

/// The status to classify `body` with if it is an error payload although it
/// came with a success status, `None` for an ordinary body.
///
/// Detected: Anthropic `{"type":"error","error":{..}}`, OpenAI and Google
/// `{"error":{..}}`, `{"error":"text"}` (Ollama and others), vLLM
/// `{"object":"error",..}`, and any of them as the first item of a top-level
/// array (Google). The status is the payload's own HTTP-like `code` when it is
/// 400..=599 (Google's `"code": 429`, vLLM's `"code": 400`), otherwise
/// [`IN_BAND_STATUS`]. A body without the bytes `"error"` costs one `memmem` scan.
///
/// The transport calls it on every 2xx body:
/// `if let Some(status) = in_band_error_status(&body) { return Err(wire.classify_error(status, headers, &body)) }`.
pub(crate) fn in_band_error_status(body: &[u8]) -> Option<u16> {
    if !may_hold_error(body) {
        return None;
    }
    let probe = match picked(body, &PROBE)? {
        Value::Object(probe) => probe,
        // The first item of a top-level array (Google); the rest was skipped.
        Value::Array(mut items) => match items.pop()? {
            Value::Object(probe) => probe,
            _ => return None,
        },
        _ => return None,
    };
    probe_status(&probe)
}

/// The [`Error`] for an error payload that arrived in-band (a 2xx body, a
/// stream event, an `"error"` value a dialect found), classified by the one
/// table; a payload of no known shape is a server error.
pub(crate) fn in_band_error(payload: &[u8]) -> Error {
    let status = in_band_error_status(payload).unwrap_or(IN_BAND_STATUS);
    classify_http_error(status, &http::HeaderMap::new(), payload)
}

/// [`in_band_error`] for an error event that ended a stream which had started:
/// the message says so.
pub(crate) fn stream_error(payload: &[u8]) -> Error {
    in_band_error(payload).context("the stream failed mid-way")
}

/// [`in_band_error`] for the value of an `"error"` field a dialect already
/// parsed; `None` when it is `null`.
pub(crate) fn error_value_error(error: &Value) -> Option<Error> {
    if error.is_null() {
        return None;
    }
    let payload = serde_json::json!({ "error": error }).to_string();
    Some(in_band_error(payload.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use http::HeaderMap;
    use proptest::prelude::*;

    /// (body, status to classify with, kind, code)
    const PAYLOADS: &[(&str, u16, ErrorKind, Option<&str>)] = &[
        (
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            200,
            ErrorKind::Overloaded,
            Some("overloaded_error"),
        ),
        (
            r#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#,
            200,
            ErrorKind::RateLimited,
            Some("rate_limit_error"),
        ),
        (
            r#"{"type":"error","error":{"type":"api_error","message":"Internal"}}"#,
            200,
            ErrorKind::ServerError,
            Some("api_error"),
        ),
        (
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}"#,
            200,
            ErrorKind::InvalidRequest,
            Some("invalid_request_error"),
        ),
        (
            r#"{"type":"error","error":{"type":"some_new_error","message":"?"}}"#,
            200,
            ErrorKind::ServerError,
            Some("some_new_error"),
        ),
        (
            r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#,
            429,
            ErrorKind::RateLimited,
            Some("RESOURCE_EXHAUSTED"),
        ),
        (
            r#"[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]"#,
            503,
            ErrorKind::Overloaded,
            Some("UNAVAILABLE"),
        ),
        (
            r#"{"error":{"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}"#,
            200,
            ErrorKind::RateLimited,
            Some("RESOURCE_EXHAUSTED"),
        ),
        (
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
            200,
            ErrorKind::ContextWindowExceeded,
            Some("context_length_exceeded"),
        ),
        (
            r#"{"error":{"message":"This model's maximum context length is 8192 tokens."}}"#,
            200,
            ErrorKind::ContextWindowExceeded,
            None,
        ),
        (
            r#"{"error":{"message":"overloaded","type":"server_error"}}"#,
            200,
            ErrorKind::ServerError,
            Some("server_error"),
        ),
        (
            r#"{"error":{"message":"Rate limit","code":429}}"#,
            429,
            ErrorKind::RateLimited,
            None,
        ),
        (
            r#"{"error":"model 'nope' not found, try pulling it first"}"#,
            200,
            ErrorKind::NotFound,
            None,
        ),
        (
            r#"{"error":"llama runner process has terminated"}"#,
            200,
            ErrorKind::ServerError,
            None,
        ),
        (
            r#"{"error":"invalid api key"}"#,
            200,
            ErrorKind::Authentication,
            None,
        ),
        (
            r#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
            404,
            ErrorKind::NotFound,
            Some("NotFoundError"),
        ),
        (
            r#"{"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":400}"#,
            400,
            ErrorKind::InvalidRequest,
            Some("BadRequestError"),
        ),
        (
            r#"{"object":"error","message":"boom","type":"InternalServerError","code":"500"}"#,
            500,
            ErrorKind::ServerError,
            Some("InternalServerError"),
        ),
    ];

    #[test]
    fn every_payload_is_found_and_classified() {
        for (body, status, kind, code) in PAYLOADS {
            assert_eq!(
                in_band_error_status(body.as_bytes()),
                Some(*status),
                "{body}"
            );
            let e = classify_http_error(*status, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.kind(), *kind, "{body}");
            assert_eq!(e.code(), *code, "{body}");
            assert!(
                !e.message().contains("no message"),
                "{body}: {}",
                e.message()
            );
            assert_eq!(e.status(), (*status != IN_BAND_STATUS).then_some(*status));
            let e = in_band_error(body.as_bytes());
            assert_eq!(e.kind(), *kind, "{body}");
        }
    }

    #[test]
    fn ordinary_bodies_are_not_errors() {
        for body in [
            r#"{"id":"chatcmpl-1","choices":[{"message":{"role":"assistant","content":"error"}}]}"#,
            r#"{"id":"resp_1","status":"completed","error":null,"output":[]}"#,
            r#"{"id":"resp_1","error" :  null}"#,
            r#"{"type":"message","content":[{"type":"text","text":"the \"error\" was mine"}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"{\"error\":1}"}]}}]}"#,
            r#"{"error":"","done":true}"#,
            r#"{"error":{},"done":true}"#,
            r#"{"error":false}"#,
            r#"{"content":"error"}"#,
            r#"[{"candidates":[]},{"error":{"code":500}}]"#,
            "",
            "not json \"error\"",
            "<html>\"error\"</html>",
            "[1, \"error\"]",
        ] {
            assert_eq!(in_band_error_status(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn the_pre_check_skips_bodies_without_the_bytes() {
        assert!(!may_hold_error(
            br#"{"choices":[{"text":"errors happen"}]}"#
        ));
        assert!(!may_hold_error(br#"{"error":null}"#));
        assert!(!may_hold_error(br#"{"error"  :null, "x": 1}"#));
        assert!(may_hold_error(br#"{"error":null, "type":"error"}"#));
        assert!(may_hold_error(br#"{"error":{"message":"m"}}"#));
    }

    #[test]
    fn stream_errors_say_so_and_keep_the_kind() {
        let e = stream_error(
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(e.status(), None);
        assert_eq!(e.message(), "the stream failed mid-way: Overloaded");
        // An error event of no known shape is still an error, never a success.
        let e = stream_error(br#"{"type":"error"}"#);
        assert_eq!(e.kind(), ErrorKind::ServerError);
        let e = stream_error(b"not json");
        assert_eq!(e.kind(), ErrorKind::ServerError);
        assert!(error_value_error(&Value::Null).is_none());
        let e = error_value_error(&serde_json::json!({"message": "m", "code": 503})).unwrap();
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(e.status(), Some(503));
    }

    proptest! {
        #[test]
        fn never_panics_and_any_hit_is_an_error(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Some(status) = in_band_error_status(&body) {
                prop_assert!(status == IN_BAND_STATUS || (400..=599).contains(&status));
                let _ = classify_http_error(status, &HeaderMap::new(), &body);
            }
        }

        #[test]
        fn an_error_object_with_any_text_is_found(message in ".*", code in any::<u16>()) {
            let body = serde_json::json!({"error": {"message": message, "code": code}}).to_string();
            prop_assert!(in_band_error_status(body.as_bytes()).is_some());
        }
    }
}
