//! A request body's JSON read field by field, each error naming the field's
//! path (`messages[2].content[0].type`), so a wrong or missing field is a
//! typed 400 that says where, never a panic.
//!
//! `null` in an optional field reads as the field left out, as the providers'
//! APIs and SDKs treat it.

use llm_runtime::{Error, Result};
use serde_json::{Map, Value};

/// A request body as JSON and as its text (UTF-8 JSON, or a typed 400).
pub(crate) fn json_body(body: &[u8]) -> Result<(Value, String)> {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| Error::invalid_request("the request body is not UTF-8 text"))?;
    let value = serde_json::from_str(&text)
        .map_err(|e| Error::invalid_request(format!("the request body is not valid JSON: {e}")))?;
    Ok((value, text))
}

/// One JSON object of the body and where it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    path: &'a Path<'a>,
}

/// Where a value is: a chain of field names and indexes, written only when an
/// error needs it.
#[derive(Debug)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => f.write_str("the body"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// The error for the value at `path`: `messages[0].role: must be ...`.
pub(crate) fn invalid(path: &Path<'_>, what: &str) -> Error {
    Error::invalid_request(format!("{path}: {what}"))
}

/// The JSON type a value is, as an error says it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value` as an object, or the error that says what it is instead.
pub(crate) fn object<'a>(value: &'a Value, path: &'a Path<'a>) -> Result<Fields<'a>> {
    match value {
        Value::Object(object) => Ok(Fields { object, path }),
        other => Err(invalid(
            path,
            &format!("must be an object, not {}", kind(other)),
        )),
    }
}

/// `value` as a string, or the error.
pub(crate) fn string<'a>(value: &'a Value, path: &Path<'_>) -> Result<&'a str> {
    value
        .as_str()
        .ok_or_else(|| invalid(path, &format!("must be a string, not {}", kind(value))))
}

/// `value` as an array, or the error.
pub(crate) fn array<'a>(value: &'a Value, path: &Path<'_>) -> Result<&'a [Value]> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(invalid(
            path,
            &format!("must be an array, not {}", kind(other)),
        )),
    }
}

impl<'a> Fields<'a> {
    /// The path of the field `name` of this object.
    pub(crate) fn path_of(&self, name: &'a str) -> Path<'a> {
        Path::Field(self.path, name)
    }

    /// The field's value; `None` when it is missing or `null`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    /// The field, which must be there (and not `null`).
    pub(crate) fn required(&self, name: &'a str) -> Result<&'a Value> {
        self.get(name)
            .ok_or_else(|| invalid(&self.path_of(name), "is required"))
    }

    /// A required string field.
    pub(crate) fn str(&self, name: &'a str) -> Result<&'a str> {
        string(self.required(name)?, &self.path_of(name))
    }

    /// An optional string field.
    pub(crate) fn opt_str(&self, name: &'a str) -> Result<Option<&'a str>> {
        self.get(name)
            .map(|v| string(v, &self.path_of(name)))
            .transpose()
    }

    /// An optional boolean field.
    pub(crate) fn opt_bool(&self, name: &'a str) -> Result<Option<bool>> {
        self.get(name)
            .map(|v| {
                v.as_bool().ok_or_else(|| {
                    invalid(
                        &self.path_of(name),
                        &format!("must be a boolean, not {}", kind(v)),
                    )
                })
            })
            .transpose()
    }

    /// An optional number field, as `f32` (a sampling parameter).
    pub(crate) fn opt_f32(&self, name: &'a str) -> Result<Option<f32>> {
        self.get(name)
            .map(|v| {
                let n = v.as_f64().ok_or_else(|| {
                    invalid(
                        &self.path_of(name),
                        &format!("must be a number, not {}", kind(v)),
                    )
                })?;
                // The text a caller wrote, at f32 precision: 0.2 stays 0.2 when sent on.
                #[allow(clippy::cast_possible_truncation)]
                let n = n as f32;
                if n.is_finite() {
                    Ok(n)
                } else {
                    Err(invalid(&self.path_of(name), "is out of range"))
                }
            })
            .transpose()
    }

    /// An optional whole number field that fits a `u32`.
    pub(crate) fn opt_u32(&self, name: &'a str) -> Result<Option<u32>> {
        self.get(name)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        invalid(
                            &self.path_of(name),
                            &format!("must be a whole number from 0 to {}, not {v}", u32::MAX),
                        )
                    })
            })
            .transpose()
    }

    /// An optional array field.
    pub(crate) fn opt_array(&self, name: &'a str) -> Result<Option<&'a [Value]>> {
        self.get(name)
            .map(|v| array(v, &self.path_of(name)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn errors_name_the_field_and_nulls_read_as_missing() {
        let body = json!({"a": null, "n": -1, "s": 3, "list": [{"x": 1}]});
        let root = Path::Root;
        let fields = object(&body, &root).unwrap();
        assert_eq!(fields.opt_str("a").unwrap(), None);
        assert_eq!(
            fields.required("a").unwrap_err().message(),
            "a: is required"
        );
        assert_eq!(
            fields.opt_u32("n").unwrap_err().message(),
            "n: must be a whole number from 0 to 4294967295, not -1"
        );
        assert_eq!(
            fields.str("s").unwrap_err().message(),
            "s: must be a string, not a number"
        );
        let list = fields.opt_array("list").unwrap().unwrap();
        let list_path = fields.path_of("list");
        let item_path = Path::Index(&list_path, 0);
        let item = object(&list[0], &item_path).unwrap();
        let e = item.str("x").unwrap_err();
        assert_eq!(e.kind(), llm_runtime::ErrorKind::InvalidRequest);
        assert_eq!(e.message(), "list[0].x: must be a string, not a number");
        assert_eq!(
            object(&json!([]), &root).unwrap_err().message(),
            "the body: must be an object, not an array"
        );
    }
}
