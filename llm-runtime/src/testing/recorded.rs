//! [`RecordedRequest`]: what a client sent to the mock upstream.

use bytes::Bytes;
use http::HeaderMap;

/// One request as the [`MockServer`](super::MockServer) received it, in arrival order.
///
/// ```
/// # async fn check(server: &llm_runtime::testing::MockServer) {
/// let sent = &server.requests()[0];
/// assert_eq!(sent.method, "POST");
/// assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
/// assert_eq!(sent.body_json()["model"], "gpt-4o-mini");
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The path without the query, e.g. `"/v1/chat/completions"`.
    pub path: String,
    /// The raw query after `?` (still percent-encoded), `None` without a `?`.
    pub query: Option<String>,
    /// The query decoded as `application/x-www-form-urlencoded` pairs, in order.
    pub query_pairs: Vec<(String, String)>,
    /// The headers; names are lowercase, a repeated name keeps every value.
    pub headers: HeaderMap,
    /// The body bytes, exactly as received (after chunked decoding).
    pub body: Bytes,
    /// Which connection carried the request: the n-th accepted connection is `n`
    /// (from 1), so equal ids mean the client reused a connection.
    pub connection_id: usize,
}

impl RecordedRequest {
    pub(super) fn new(parts: &http::request::Parts, body: Bytes, connection_id: usize) -> Self {
        let query = parts.uri.query().map(str::to_owned);
        let query_pairs = query
            .as_deref()
            .map(|raw| {
                url::form_urlencoded::parse(raw.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        RecordedRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query,
            query_pairs,
            headers: parts.headers.clone(),
            body,
            connection_id,
        }
    }

    /// The first value of header `name` (any case), `None` when absent or not
    /// visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The first decoded value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query_pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, or [`serde_json::Value::Null`] when it is not
    /// JSON (see [`RecordedRequest::try_body_json`] for the reason).
    pub fn body_json(&self) -> serde_json::Value {
        self.try_body_json().unwrap_or(serde_json::Value::Null)
    }

    /// The body parsed as JSON.
    pub fn try_body_json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text, `None` when it is not UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(uri: &str, body: &'static [u8]) -> RecordedRequest {
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("X-Trace", "abc")
            .body(())
            .expect("a valid request literal")
            .into_parts();
        RecordedRequest::new(&parts, Bytes::from_static(body), 7)
    }

    #[test]
    fn splits_and_decodes_the_query() {
        let request = recorded("/v1/models?api-version=2024%2D10&q=a+b&q=c", b"");
        assert_eq!(request.path, "/v1/models");
        assert_eq!(
            request.query.as_deref(),
            Some("api-version=2024%2D10&q=a+b&q=c")
        );
        assert_eq!(request.query_param("api-version"), Some("2024-10"));
        assert_eq!(request.query_param("q"), Some("a b"));
        assert_eq!(request.query_pairs.len(), 3);
        assert_eq!(recorded("/x", b"").query, None);
    }

    #[test]
    fn header_lookup_ignores_case() {
        let request = recorded("/", b"");
        assert_eq!(request.header("x-trace"), Some("abc"));
        assert_eq!(request.header("X-TRACE"), Some("abc"));
        assert_eq!(request.header("missing"), None);
        assert!(request.headers.contains_key("x-trace"));
    }

    #[test]
    fn body_helpers_never_panic_on_bad_bodies() {
        assert_eq!(recorded("/", b"{\"a\":1}").body_json()["a"], 1);
        assert_eq!(
            recorded("/", b"not json").body_json(),
            serde_json::Value::Null
        );
        assert!(recorded("/", b"not json").try_body_json().is_err());
        assert_eq!(recorded("/", b"\xff\xfe").body_text(), None);
    }
}
