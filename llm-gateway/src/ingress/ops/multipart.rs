//! A `multipart/form-data` request body (RFC 7578), read from the bytes the
//! body limit already bounded: the parts in order, each with its name, its
//! file name and type when it is a file, and its bytes (shared, not copied).

use bytes::Bytes;
use http::HeaderMap;
use llm_runtime::types::FileUpload;

use crate::error::GatewayError;

/// One part of the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field name (`file`, `image[]`, `model`...).
    pub name: String,
    /// The file name, when the part is a file.
    pub filename: Option<String>,
    /// The part's `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Bytes,
}

impl Part {
    /// The part as a file upload (`application/octet-stream` when no type was sent).
    pub fn upload(&self) -> FileUpload {
        FileUpload::new(
            self.filename.clone().unwrap_or_else(|| self.name.clone()),
            self.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            self.data.clone(),
        )
    }

    /// The part as text (a form field), or a 400 naming it.
    pub fn text(&self) -> Result<&str, GatewayError> {
        std::str::from_utf8(&self.data).map_err(|_| {
            GatewayError::bad_request(format!("the form field `{}` is not UTF-8 text", self.name))
                .param(self.name.clone())
        })
    }
}

fn malformed(what: &str) -> GatewayError {
    GatewayError::bad_request(format!("The multipart/form-data body is malformed: {what}"))
}

/// The boundary of a `multipart/form-data` request, or a 400.
pub fn boundary(headers: &HeaderMap) -> Result<String, GatewayError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(GatewayError::bad_request(format!(
            "This route takes a multipart/form-data body, not `{}`",
            mime.trim()
        )));
    }
    params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| malformed("the content-type names no boundary"))
}

/// The parts of `body`, framed by `boundary`.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, GatewayError> {
    let delimiter = format!("--{boundary}");
    let next = format!("\r\n--{boundary}");
    let finder = memchr::memmem::Finder::new(next.as_bytes());
    // The preamble before the first delimiter is ignored (RFC 2046).
    let start = memchr::memmem::find(body, delimiter.as_bytes())
        .ok_or_else(|| malformed("no boundary delimiter"))?;
    let mut at = start + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| malformed("no CRLF after a delimiter"))?;
        let header_end = memchr::memmem::find(rest, b"\r\n\r\n");
        let (head, data_start) = match header_end {
            Some(0) => ("", 4),
            Some(end) => (
                std::str::from_utf8(&rest[..end])
                    .map_err(|_| malformed("a part's headers are not text"))?,
                end + 4,
            ),
            // A part without headers: the blank line comes first.
            None if rest.starts_with(b"\r\n") => ("", 2),
            None => return Err(malformed("a part's headers do not end")),
        };
        let data_at = at + 2 + data_start;
        let len = finder
            .find(&body[data_at..])
            .ok_or_else(|| malformed("the closing delimiter is missing"))?;
        parts.push(part(head, body.slice(data_at..data_at + len))?);
        at = data_at + len + next.len();
    }
}

fn part(head: &str, data: Bytes) -> Result<Part, GatewayError> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| malformed("a part header has no colon"))?;
        let key = key.trim();
        if key.eq_ignore_ascii_case("content-disposition") {
            for (k, v) in disposition_params(value) {
                match k.to_ascii_lowercase().as_str() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        } else if key.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    let name = name.ok_or_else(|| malformed("a part has no Content-Disposition name"))?;
    Ok(Part {
        name,
        filename,
        content_type,
        data,
    })
}

/// `form-data; name="a"; filename="b.png"` as `(key, value)` pairs, quoted
/// values unescaped (`\"` and `\\`), `;` inside quotes kept.
fn disposition_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        // Skip to the next parameter's key.
        let mut key = String::new();
        for c in chars.by_ref() {
            match c {
                ';' => key.clear(),
                '=' => break,
                c => key.push(c),
            }
        }
        if chars.peek().is_none() && key.trim().is_empty() {
            return out;
        }
        let mut val = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => val.extend(chars.next()),
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ';' {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        // A quoted value is kept as written; a bare one ends at whitespace.
        let val = if quoted {
            val
        } else {
            val.trim_end().to_owned()
        };
        out.push((key.trim().to_owned(), val));
        if chars.peek().is_none() {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn build(boundary: &str, parts: &[(String, Option<String>, Vec<u8>)]) -> Bytes {
        let mut body = b"preamble\r\n".to_vec();
        for (name, filename, data) in parts {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").bytes(),
            );
            if let Some(f) = filename {
                body.extend(format!("; filename=\"{f}\"\r\nContent-Type: image/png").bytes());
            }
            body.extend(b"\r\n\r\n");
            body.extend(data);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").bytes());
        Bytes::from(body)
    }

    proptest! {
        /// Any parts (binary data included) come back as sent, in order.
        #[test]
        fn parts_round_trip(
            parts in proptest::collection::vec(
                ("[a-z\\[\\]_]{1,12}", proptest::option::of("[a-zA-Z0-9 ;._-]{1,16}"),
                 proptest::collection::vec(any::<u8>(), 0..200)),
                0..6,
            )
        ) {
            let boundary = "XyZ-boundary-0123456789";
            let body = build(boundary, &parts);
            let parsed = parse(&body, boundary).expect("a well-formed body");
            prop_assert_eq!(parsed.len(), parts.len());
            for (p, (name, filename, data)) in parsed.iter().zip(&parts) {
                prop_assert_eq!(&p.name, name);
                prop_assert_eq!(&p.filename, filename);
                prop_assert_eq!(&p.data[..], &data[..]);
                prop_assert_eq!(p.content_type.is_some(), filename.is_some());
            }
        }

        /// Cut anywhere, a body is a typed 400 or a prefix of its parts, never a panic.
        #[test]
        fn truncated_bodies_never_panic(cut in 0usize..400, data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let body = build("b0", &[("file".into(), Some("a.png".into()), data), ("model".into(), None, b"m".to_vec())]);
            let cut = body.slice(..cut.min(body.len()));
            if let Err(e) = parse(&cut, "b0") {
                prop_assert_eq!(e.status, http::StatusCode::BAD_REQUEST);
            }
        }
    }

    #[test]
    fn boundaries_from_the_content_type() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            "multipart/form-data; boundary=\"abc\""
                .parse()
                .expect("valid"),
        );
        assert_eq!(boundary(&h).expect("a boundary"), "abc");
        h.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().expect("valid"),
        );
        assert_eq!(boundary(&h).expect_err("not multipart").status, 400);
    }

    #[test]
    fn quoted_parameters_keep_semicolons() {
        assert_eq!(
            disposition_params(r#"form-data; name="file"; filename="a;b \"c\".wav""#),
            [
                ("name".into(), "file".into()),
                ("filename".into(), "a;b \"c\".wav".into())
            ]
        );
    }
}
