//! `multipart/form-data` bodies (RFC 7578) built once into bytes, so a retry
//! re-sends exactly the same body (reqwest's `multipart::Form` is a stream
//! that can be sent only once) and its size is known before anything is sent.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method};

use crate::error::{Error, Result};
use crate::provider::HttpParts;
use crate::types::FileUpload;

/// One part: its name, its file name and type when it is a file, its bytes.
#[derive(Clone)]
struct Part {
    name: String,
    file: Option<(String, String)>,
    content: Bytes,
}

/// A `multipart/form-data` body under construction: text fields and files,
/// in order. [`Multipart::into_parts`] writes it once, with a boundary that
/// appears in none of the parts.
///
/// ```
/// use llm_runtime::types::FileUpload;
/// use llm_runtime::http::Multipart;
/// let parts = Multipart::new()
///     .text("model", "whisper-1")
///     .file("file", &FileUpload::new("a.mp3", "audio/mpeg", b"ID3".to_vec()))
///     .into_parts("/audio/transcriptions", 1 << 20)?;
/// let body = parts.body.expect("a body");
/// assert!(std::str::from_utf8(&body).unwrap().contains("name=\"model\"\r\n\r\nwhisper-1\r\n"));
/// # Ok::<(), llm_runtime::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Multipart {
    parts: Vec<Part>,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.parts.iter().map(|p| (&p.name, p.content.len())))
            .finish()
    }
}

impl Multipart {
    /// An empty body.
    pub fn new() -> Self {
        Multipart::default()
    }

    /// A text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.into(),
            file: None,
            content: Bytes::from(value.into()),
        });
        self
    }

    /// A text field when `value` is set.
    pub fn text_opt(self, name: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.text(name, value.to_string()),
            None => self,
        }
    }

    /// A file field (its bytes are shared, not copied, until the body is written).
    pub fn file(mut self, name: impl Into<String>, file: &FileUpload) -> Self {
        self.parts.push(Part {
            name: name.into(),
            file: Some((file.filename.clone(), file.mime.clone())),
            content: file.bytes.clone(),
        });
        self
    }

    /// The body's size once written with a boundary of `boundary_len` bytes.
    fn size(&self, boundary_len: usize) -> usize {
        let per_part = 2 + boundary_len + 2 + 64 + 4 + 2;
        let tail = 2 + boundary_len + 4;
        self.parts.iter().fold(tail, |n, p| {
            let file = p
                .file
                .as_ref()
                .map_or(0, |(name, mime)| escape(name).len() + mime.len() + 32);
            n.saturating_add(per_part + escape(&p.name).len() + file + p.content.len())
        })
    }

    /// A boundary that occurs in no part (random, so one is found at once;
    /// checked, so even a part crafted to hold one cannot break the body).
    fn boundary(&self) -> String {
        loop {
            let boundary = format!(
                "llm-runtime-{:016x}{:016x}",
                fastrand::u64(..),
                fastrand::u64(..)
            );
            let finder = memchr::memmem::Finder::new(boundary.as_bytes());
            if self.parts.iter().all(|p| finder.find(&p.content).is_none()) {
                return boundary;
            }
        }
    }

    /// `POST path` with this body, written once: retries re-send these bytes.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) when the
    /// body would be larger than `max_bytes` (the configured body cap), before
    /// anything is sent.
    pub fn into_parts(self, path: impl Into<String>, max_bytes: usize) -> Result<HttpParts> {
        let boundary = self.boundary();
        let size = self.size(boundary.len());
        if size > max_bytes {
            return Err(Error::invalid_request(format!(
                "the upload is about {size} bytes, over the {max_bytes}-byte body cap"
            )));
        }
        let mut body = BytesMut::with_capacity(size);
        for part in &self.parts {
            body.put_slice(b"--");
            body.put_slice(boundary.as_bytes());
            body.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
            body.put_slice(escape(&part.name).as_bytes());
            body.put_u8(b'"');
            if let Some((filename, mime)) = &part.file {
                body.put_slice(b"; filename=\"");
                body.put_slice(escape(filename).as_bytes());
                body.put_slice(b"\"\r\nContent-Type: ");
                body.put_slice(clean(mime).as_bytes());
            }
            body.put_slice(b"\r\n\r\n");
            body.put_slice(&part.content);
            body.put_slice(b"\r\n");
        }
        body.put_slice(b"--");
        body.put_slice(boundary.as_bytes());
        body.put_slice(b"--\r\n");
        let content_type =
            HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
                .map_err(|e| Error::invalid_request(format!("bad multipart content type: {e}")))?;
        Ok(HttpParts {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            headers: vec![(http::header::CONTENT_TYPE, content_type)],
            body: Some(body.freeze()),
        })
    }
}

/// A name or file name inside a quoted header parameter: `"`, CR and LF
/// percent-encoded, as browsers do (WHATWG's multipart/form-data encoding).
fn escape(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A media type as a header value: control characters dropped.
fn clean(mime: &str) -> String {
    let cleaned: String = mime.chars().filter(|c| !c.is_control()).collect();
    if cleaned.trim().is_empty() {
        "application/octet-stream".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The parts of `body` split at `boundary`: (headers, content) each.
    fn split(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
        let delimiter = format!("--{boundary}");
        let text = body.to_vec();
        let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
        let starts: Vec<usize> = finder.find_iter(&text).collect();
        starts
            .windows(2)
            .map(|w| {
                let part = &text[w[0] + delimiter.len() + 2..w[1] - 2];
                let end = memchr::memmem::find(part, b"\r\n\r\n").expect("headers end");
                (
                    String::from_utf8(part[..end].to_vec()).expect("ascii headers"),
                    part[end + 4..].to_vec(),
                )
            })
            .collect()
    }

    fn boundary_of(parts: &HttpParts) -> String {
        let value = parts.headers[0].1.to_str().expect("ascii");
        value
            .strip_prefix("multipart/form-data; boundary=")
            .expect("a boundary")
            .to_owned()
    }

    proptest! {
        /// Any fields and file bytes come back exactly, in order, and the
        /// size estimate is never below the written size.
        #[test]
        fn parts_round_trip(
            fields in proptest::collection::vec(("[a-z_\\[\\]]{1,12}", any::<Vec<u8>>()), 1..6)
        ) {
            let mut form = Multipart::new();
            for (i, (name, bytes)) in fields.iter().enumerate() {
                form = if i % 2 == 0 {
                    form.file(name.clone(), &FileUpload::new("f\"x.bin", "application/octet-stream", bytes.clone()))
                } else {
                    form.text(name.clone(), String::from_utf8_lossy(bytes).into_owned())
                };
            }
            let estimate = form.size(44);
            let parts = form.into_parts("/x", usize::MAX).expect("fits");
            let body = parts.body.clone().expect("body");
            prop_assert!(body.len() <= estimate, "{} > {estimate}", body.len());
            let boundary = boundary_of(&parts);
            let closing = format!("--{boundary}--\r\n");
            prop_assert!(body.ends_with(closing.as_bytes()));
            let split = split(&body, &boundary);
            prop_assert_eq!(split.len(), fields.len());
            for (i, ((headers, content), (name, bytes))) in split.iter().zip(&fields).enumerate() {
                let disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
                prop_assert!(headers.starts_with(&disposition));
                if i % 2 == 0 {
                    prop_assert!(headers.contains("filename=\"f%22x.bin\""));
                    prop_assert_eq!(content, bytes);
                } else {
                    let text = String::from_utf8_lossy(bytes).into_owned();
                    prop_assert_eq!(content, text.as_bytes());
                }
            }
        }
    }

    #[test]
    fn a_body_over_the_cap_is_refused_before_sending() {
        let form = Multipart::new().file("file", &FileUpload::new("a", "b/c", vec![0u8; 1000]));
        let e = form.into_parts("/x", 999).expect_err("over the cap");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
    }

    #[test]
    fn the_boundary_is_not_in_any_part() {
        let form = Multipart::new().text("a", "llm-runtime-");
        let parts = form.into_parts("/x", usize::MAX).expect("fits");
        let boundary = boundary_of(&parts);
        assert_eq!(split(&parts.body.expect("body"), &boundary).len(), 1);
    }
}
