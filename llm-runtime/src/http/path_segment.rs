//! Caller values placed in a URL path: one segment each, whatever they hold.
//!
//! A model id (or an Azure deployment, a Bedrock inference profile ARN) is
//! data, never structure. Pasted raw into `/models/{model}:generateContent`,
//! `x/../../../openai/files?` reaches another path of the same host with the
//! provider's key, and a `#` or `?` cuts the method off. Every wire format and
//! provider that puts a caller value in a path goes through [`path_segment`].

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::error::{Error, Result};

/// `value` as exactly one URL path segment: every byte outside RFC 3986's
/// unreserved set (`A-Z a-z 0-9 - . _ ~`) and `@` percent-encoded (`/` is
/// `%2F`, `?` is `%3F`, `:` is `%3A`, `%` is `%25`, a space `%20`, each UTF-8
/// byte of `é` `%C3%A9`). A value with nothing to encode is returned as it is.
///
/// `@` stays: it means nothing in a path (RFC 3986 §3.3 allows it in a
/// segment), and Vertex AI model versions (`claude-sonnet-4-5@20250929`) are
/// written with it by Google's and Anthropic's own SDKs.
///
/// `what` names the value in the error (`"model id"`, `"Azure deployment"`).
///
/// # Errors
/// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest), before
/// any network call, for an empty value, `.` or `..`: as a whole segment
/// those are no name at all or dot-segments, which URL parsers resolve
/// against the path before them (`%2E%2E` too, so encoding cannot save them).
///
/// ```
/// use llm_runtime::http::path_segment;
/// assert_eq!(path_segment("gemini-2.5-flash", "model id")?, "gemini-2.5-flash");
/// assert_eq!(path_segment("x/../../files?", "model id")?, "x%2F..%2F..%2Ffiles%3F");
/// assert_eq!(path_segment("claude@2025", "model id")?, "claude@2025");
/// assert_eq!(path_segment("us.meta.llama-v1:0", "model id")?, "us.meta.llama-v1%3A0");
/// assert!(path_segment("..", "model id").is_err());
/// # Ok::<(), llm_runtime::Error>(())
/// ```
pub fn path_segment<'a>(value: &'a str, what: &str) -> Result<Cow<'a, str>> {
    if matches!(value, "" | "." | "..") {
        return Err(Error::invalid_request(format!(
            "`{value}` is not a {what}: a {what} goes into the URL path as one segment, which cannot be empty, `.` or `..`"
        )));
    }
    if value.bytes().all(is_kept) {
        return Ok(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if is_kept(byte) {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    Ok(Cow::Owned(out))
}

/// The bytes a segment keeps as they are: RFC 3986 §2.3 unreserved, and `@`.
fn is_kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;

    /// The bytes a percent-encoded segment stands for.
    fn decode(segment: &str) -> Vec<u8> {
        let bytes = segment.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_concrete_inputs() {
        let cases = [
            (
                "x/../../../openai/files?",
                "x%2F..%2F..%2F..%2Fopenai%2Ffiles%3F",
            ),
            ("a#b", "a%23b"),
            ("a?b", "a%3Fb"),
            ("100%", "100%25"),
            ("%2E%2E", "%252E%252E"),
            ("my model", "my%20model"),
            ("modèle-日本", "mod%C3%A8le-%E6%97%A5%E6%9C%AC"),
            ("us.anthropic.claude-v1:0", "us.anthropic.claude-v1%3A0"),
            ("...", "..."),
            ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5@20250929"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(path_segment(raw, "model id").unwrap(), encoded, "{raw}");
        }
        for raw in ["", ".", ".."] {
            let e = path_segment(raw, "model id").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{raw}");
        }
    }

    #[test]
    fn a_plain_id_is_borrowed() {
        assert!(matches!(
            path_segment("gpt-4o_mini.v2~x", "model id"),
            Ok(Cow::Borrowed("gpt-4o_mini.v2~x"))
        ));
    }

    proptest! {
        #[test]
        fn any_value_is_one_segment_that_decodes_back(value in any::<String>()) {
            match path_segment(&value, "model id") {
                Ok(segment) => {
                    prop_assert!(segment.bytes().all(|b| is_kept(b) || b == b'%'));
                    prop_assert!(!matches!(&*segment, "" | "." | ".."));
                    prop_assert_eq!(decode(&segment), value.as_bytes());
                }
                Err(e) => {
                    prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
                    prop_assert!(matches!(value.as_str(), "" | "." | ".."));
                }
            }
        }

        #[test]
        fn the_url_parser_keeps_the_segment(value in "[./%a-zA-Z?#:@ é]{0,12}") {
            if let Ok(segment) = path_segment(&value, "model id") {
                let url = reqwest::Url::parse(&format!("http://127.0.0.1/v1/models/{segment}:go"))
                    .unwrap();
                prop_assert_eq!(url.path(), format!("/v1/models/{segment}:go"));
                let url = reqwest::Url::parse(&format!("http://127.0.0.1/d/{segment}/chat"))
                    .unwrap();
                prop_assert_eq!(url.path(), format!("/d/{segment}/chat"));
            }
        }
    }
}
