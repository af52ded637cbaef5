//! Helpers of the operation suites (`ops_*`): providers connected to a
//! [`MockServer`], and a strict `multipart/form-data` reader, so uploads are
//! checked field by field as the upstream would read them.
#![allow(dead_code)]

use std::time::Duration;

use llm_runtime::testing::{MockServer, RecordedRequest};
use llm_runtime::{Provider, ProviderClient, ProviderConfig, retry::RetryPolicy};

/// A key no output may contain.
pub(crate) const KEY: &str = "sk-ops-5d1e9b7c3a-never-print-me";

/// `P` at `server` under `base_path`, with the test key, millisecond retries
/// and a 10 s bound.
pub(crate) fn config<P: Provider + Default>(
    server: &MockServer,
    base_path: &str,
) -> ProviderConfig<P> {
    ProviderConfig::new(P::default())
        .api_key(KEY)
        .base_url(format!("{}{base_path}", server.url()))
        .retry_policy(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .timeout(Duration::from_secs(10))
}

/// [`config`], connected.
pub(crate) fn client<P: Provider + Default>(
    server: &MockServer,
    base_path: &str,
) -> ProviderClient<P> {
    config::<P>(server, base_path)
        .connect()
        .expect("a loopback config is valid")
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Vec<u8>,
}

impl Field {
    /// A text field.
    pub(crate) fn text(name: &str, value: &str) -> Field {
        Field {
            name: name.to_owned(),
            filename: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        }
    }

    /// A file field.
    pub(crate) fn file(name: &str, filename: &str, content_type: &str, data: &[u8]) -> Field {
        Field {
            name: name.to_owned(),
            filename: Some(filename.to_owned()),
            content_type: Some(content_type.to_owned()),
            data: data.to_vec(),
        }
    }
}

/// The fields of a recorded `multipart/form-data` request, read strictly
/// (RFC 7578): the boundary from the `content-type`, CRLF framing, a
/// `Content-Disposition: form-data; name=...` on each part, the closing
/// delimiter last. Panics on anything else.
pub(crate) fn form(request: &RecordedRequest) -> Vec<Field> {
    let content_type = request.header("content-type").expect("a content-type");
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("not multipart: {content_type}"));
    let body = &request.body[..];
    let delimiter = format!("--{boundary}").into_bytes();
    let closing = format!("--{boundary}--\r\n").into_bytes();
    assert!(
        body.ends_with(&closing),
        "the body ends with the closing delimiter"
    );
    let mut rest = &body[..body.len() - closing.len()];
    let mut fields = Vec::new();
    while !rest.is_empty() {
        assert!(
            rest.starts_with(&delimiter),
            "a part starts with the delimiter"
        );
        rest = &rest[delimiter.len()..];
        assert!(rest.starts_with(b"\r\n"), "CRLF after the delimiter");
        rest = &rest[2..];
        let headers_end = find(rest, b"\r\n\r\n").expect("the part's headers end");
        let headers = std::str::from_utf8(&rest[..headers_end]).expect("ASCII headers");
        rest = &rest[headers_end + 4..];
        let mut next = delimiter.clone();
        next.splice(0..0, b"\r\n".iter().copied());
        let end = find(rest, &next).unwrap_or(rest.len() - 2);
        let data = rest[..end].to_vec();
        rest = &rest[(end + 2).min(rest.len())..];
        fields.push(field(headers, data));
    }
    fields
}

fn field(headers: &str, data: Vec<u8>) -> Field {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let (key, value) = line.split_once(": ").expect("a header line");
        match key.to_ascii_lowercase().as_str() {
            "content-disposition" => {
                let params = value.strip_prefix("form-data; ").expect("form-data");
                for param in params.split("; ") {
                    let (k, v) = param.split_once('=').expect("a parameter");
                    let v = v.trim_matches('"').to_owned();
                    match k {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        other => panic!("unexpected parameter {other}"),
                    }
                }
            }
            "content-type" => content_type = Some(value.to_owned()),
            other => panic!("unexpected part header {other}"),
        }
    }
    Field {
        name: name.expect("a name"),
        filename,
        content_type,
        data,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
