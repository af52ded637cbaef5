//! Tool-call arguments exactly as the model wrote them, read and sent back.
//!
//! A `serde_json::Value` re-encodes what it holds: a float becomes its
//! shortest `f64` text (`-98533050.73064269` comes out `-98533050.73064268`),
//! an integer past `u64` a float, an object's keys sorted. serde_json's
//! `arbitrary_precision` and `preserve_order` features would keep them, but
//! they change every JSON value of the whole dependency graph. So the wires
//! that carry arguments as a JSON object (Anthropic `input`, Gemini `args`,
//! Converse `input`, Ollama `arguments`) never hold them as a `Value`:
//! - reading, the object is a [`RawValue`] and [`arguments_text`] keeps its
//!   text, only the whitespace between tokens taken out ([`compact`]), so a
//!   streamed call (the model's own spacing) and a whole one agree;
//! - sending, [`raw_arguments`] puts the text in the request `Value` as a
//!   placeholder string, and [`RawBody`] writes the text itself in its place
//!   when the body is serialized.
//!
//! The placeholder starts with a NUL and a random per-process nonce, which no
//! caller text can contain without reading this process's memory.

use std::borrow::Cow;
use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;

use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// The placeholder's prefix: NUL, a name, a 128-bit per-process nonce, NUL.
static MARKER: LazyLock<String> = LazyLock::new(|| {
    let nonce = |n: u8| RandomState::new().hash_one(n);
    format!(
        "\u{0}llm-runtime raw JSON {:016x}{:016x}\u{0}",
        nonce(0),
        nonce(1)
    )
});

/// `json` (valid JSON text) without the whitespace between its tokens; the
/// tokens themselves (number text, escapes, key order) are kept byte for byte.
pub(crate) fn compact(json: &str) -> Cow<'_, str> {
    let json = json.trim_matches(is_json_space);
    if !json.bytes().any(|b| is_json_space(char::from(b))) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !is_json_space(c) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON's insignificant whitespace (RFC 8259 §2).
fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A tool call's arguments as the text the provider sent: `{}` when absent
/// or `null`, else the value's text, [`compact`]ed.
pub(crate) fn arguments_text(raw: Option<&RawValue>) -> String {
    match raw.map(RawValue::get) {
        None | Some("null") => "{}".to_owned(),
        Some(text) => compact(text).into_owned(),
    }
}

/// The arguments streamed in pieces, as [`arguments_text`] gives a whole
/// call's: compacted when they are one JSON value, `None` when they are not
/// (checked without building a tree, whatever their size).
pub(crate) fn streamed_arguments(pieces: &str) -> Option<String> {
    let raw: &RawValue = serde_json::from_str(pieces).ok()?;
    Some(arguments_text(Some(raw)))
}

/// A tool call's arguments for a request body that wants them as a JSON
/// value (`{}` when empty): a placeholder that [`RawBody`] writes as the
/// text itself.
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when the
/// text is not JSON.
pub(crate) fn raw_arguments(name: &str, arguments: &str) -> Result<Value> {
    if arguments.trim_matches(is_json_space).is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    let raw: &RawValue = serde_json::from_str(arguments).map_err(|e| {
        Error::invalid_request(format!(
            "the arguments of tool call `{name}` are not JSON, so they cannot be sent back: {e}"
        ))
    })?;
    Ok(Value::String(format!("{}{}", *MARKER, raw.get())))
}

/// A JSON value for a request body that [`RawBody`] writes as `raw`'s text.
pub(crate) fn raw_value(raw: &RawValue) -> Value {
    Value::String(format!("{}{}", *MARKER, raw.get()))
}

/// A request body whose [`raw_arguments`] placeholders are written as the
/// JSON text they carry; everything else is serialized as the `Value` is.
pub(crate) struct RawBody<'a>(pub(crate) &'a Value);

impl Serialize for RawBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0 {
            Value::String(text) => match text.strip_prefix(MARKER.as_str()) {
                Some(json) => RawValue::from_string(json.to_owned())
                    .map_err(S::Error::custom)?
                    .serialize(serializer),
                None => serializer.serialize_str(text),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&RawBody(item))?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, &RawBody(value))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const HARD: &str = r#"{"b":1,"a":{"d":2,"c":3},"x":-98533050.73064269,"n":123456789012345678901234567890,"s":"\u00e9\ud83d\ude00 \" \\"}"#;

    #[test]
    fn arguments_keep_their_text() {
        let raw: Box<RawValue> = serde_json::from_str(HARD).unwrap();
        assert_eq!(arguments_text(Some(&raw)), HARD);
        let spaced = "{ \"b\" : 1 ,\n \"a\": {\"d\":2,\"c\":3}, \"x\":-98533050.73064269,\"n\":123456789012345678901234567890,\"s\":\"\\u00e9\\ud83d\\ude00 \\\" \\\\\" }";
        assert_eq!(streamed_arguments(spaced).as_deref(), Some(HARD));
        assert_eq!(streamed_arguments("{\"a\":"), None);
        assert_eq!(arguments_text(None), "{}");
        let null: Box<RawValue> = serde_json::from_str("null").unwrap();
        assert_eq!(arguments_text(Some(&null)), "{}");
    }

    #[test]
    fn a_body_carries_the_text_unchanged() {
        let body = json!({
            "z": [1.5, {"input": raw_arguments("f", HARD).unwrap()}],
            "a": "text",
            "empty": raw_arguments("f", "  ").unwrap(),
        });
        let sent = serde_json::to_string(&RawBody(&body)).unwrap();
        assert_eq!(
            sent,
            format!(r#"{{"a":"text","empty":{{}},"z":[1.5,{{"input":{HARD}}}]}}"#)
        );
        let e = raw_arguments("f", "{oops").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
    }

    #[test]
    fn a_string_that_looks_like_a_marker_without_the_nonce_is_text() {
        let body =
            json!({"s": "\u{0}llm-runtime raw JSON 00000000000000000000000000000000\u{0}{}"});
        let sent = serde_json::to_string(&RawBody(&body)).unwrap();
        assert_eq!(sent, serde_json::to_string(&body).unwrap());
    }

    proptest! {
        #[test]
        fn a_body_without_placeholders_serializes_as_the_value(
            text in any::<String>(), n in any::<i64>(), f in any::<f64>()
        ) {
            let body = json!({"t": text, "a": [n, f, null, true, {"k": text}]});
            prop_assert_eq!(
                serde_json::to_string(&RawBody(&body)).unwrap(),
                serde_json::to_string(&body).unwrap()
            );
        }

        #[test]
        fn compact_keeps_every_token(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let compacted = compact(&text);
            prop_assert_eq!(&*compacted, serde_json::to_string(&value).unwrap());
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[ \"\\\\a]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z ]{0,4}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
