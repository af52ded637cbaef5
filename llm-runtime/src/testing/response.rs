//! [`MockResponse`]: what the mock upstream answers to one request, and [`Fault`].

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};

/// A transport failure the mock upstream injects instead of (or in the middle of)
/// a well-formed response.
///
/// Every fault happens after the request (headers and body) has been read and
/// recorded, and after any [`MockResponse::delay`].
///
/// "Reset" faults send a real TCP RST (the socket is closed with `SO_LINGER` 0),
/// which a client reports as "connection reset by peer"; "close" faults send a
/// plain FIN, which a client reports as an unexpected end of the message.
/// A reset discards what the server has not yet handed to the kernel, so the
/// chunks before a reset should stay small (well under the socket buffers,
/// hundreds of KiB on loopback) to be sure they all reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Reset the connection without sending a single byte of response.
    ResetBeforeHeaders,
    /// Close the connection (FIN) without sending a single byte of response.
    CloseBeforeHeaders,
    /// Never answer: the connection stays open, silent, until the client gives
    /// up or the server is dropped.
    StallBeforeHeaders,
    /// Send the headers and the first `n` chunks of the scripted body (chunked
    /// transfer encoding), then reset the connection: the body never ends.
    /// A body with fewer chunks is sent whole, still without its end.
    ResetAfterChunks(usize),
    /// Like [`Fault::ResetAfterChunks`], but close the connection with a FIN.
    CloseAfterChunks(usize),
    /// Send the headers and the first `n` chunks of the scripted body, then
    /// stall until the client gives up or the server is dropped.
    StallAfterChunks(usize),
}

impl Fault {
    /// How many chunks go out before the fault, `None` for faults before the headers.
    pub(super) fn chunks_before(self) -> Option<usize> {
        match self {
            Fault::ResetBeforeHeaders | Fault::CloseBeforeHeaders | Fault::StallBeforeHeaders => {
                None
            }
            Fault::ResetAfterChunks(n)
            | Fault::CloseAfterChunks(n)
            | Fault::StallAfterChunks(n) => Some(n),
        }
    }
}

/// The body as scripted, before gzip.
#[derive(Debug, Clone)]
pub(super) enum ScriptedBody {
    /// Sent in one piece with a `content-length`.
    Whole(Bytes),
    /// Sent with chunked transfer encoding, one flushed write per chunk.
    Chunks(Vec<Bytes>),
}

/// One scripted answer of a [`MockServer`](super::MockServer) route.
///
/// Built from a constructor (`json`, `text`, `bytes`, `sse`, `ndjson`,
/// `raw_body_chunks`, `raw`, `redirect`, `empty`, `fault`) and refined with the
/// builder methods.
///
/// Mistakes in the script (an invalid header name, a status outside
/// 100..=999) do not panic: the server answers `500` with a JSON error naming
/// the mistake, so the test fails with an explanation.
///
/// ```
/// use std::time::Duration;
/// use llm_runtime::testing::{Fault, MockResponse};
///
/// let slow_stream = MockResponse::sse(["data: {\"a\":1}\n\n", "data: [DONE]\n\n"])
///     .chunk_delay(Duration::from_millis(20))
///     .header("x-request-id", "req_123");
/// let cut_off = MockResponse::sse(["data: 1\n\n", "data: 2\n\n"])
///     .with_fault(Fault::ResetAfterChunks(1));
/// let rate_limited = MockResponse::json(429, serde_json::json!({"error": {"message": "slow down"}}))
///     .header("retry-after", "1");
/// ```
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    /// Applied only when the script sets no `content-type` itself.
    pub(super) default_content_type: Option<HeaderValue>,
    pub(super) body: ScriptedBody,
    pub(super) delay: Duration,
    pub(super) chunk_delay: Duration,
    pub(super) gzip: bool,
    pub(super) fault: Option<Fault>,
    /// Script mistakes, reported as a `500` when the response is served.
    pub(super) setup_errors: Vec<String>,
    /// The bytes of a [`MockResponse::raw`] response, written as they are
    /// instead of an HTTP response built from the fields above.
    pub(super) raw: Option<Vec<Bytes>>,
}

impl MockResponse {
    fn new(status: u16, content_type: Option<&'static str>, body: ScriptedBody) -> Self {
        MockResponse {
            status,
            headers: HeaderMap::new(),
            default_content_type: content_type.map(HeaderValue::from_static),
            body,
            delay: Duration::ZERO,
            chunk_delay: Duration::ZERO,
            gzip: false,
            fault: None,
            setup_errors: Vec::new(),
            raw: None,
        }
    }

    /// `status` with no body and no `content-type`.
    pub fn empty(status: u16) -> Self {
        MockResponse::new(status, None, ScriptedBody::Whole(Bytes::new()))
    }

    /// `status` with `body` serialized as `application/json`.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        let body = Bytes::from(body.to_string());
        MockResponse::new(status, Some("application/json"), ScriptedBody::Whole(body))
    }

    /// `status` with a text `body` of the given `content_type`.
    pub fn text(status: u16, content_type: impl AsRef<str>, body: impl Into<String>) -> Self {
        let body = Bytes::from(body.into());
        MockResponse::new(status, None, ScriptedBody::Whole(body))
            .header("content-type", content_type.as_ref())
    }

    /// `status` with an `application/octet-stream` body.
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Self {
        let body = ScriptedBody::Whole(body.into());
        MockResponse::new(status, Some("application/octet-stream"), body)
    }

    /// A `200` `text/event-stream` whose body is `chunks`, each written and
    /// flushed separately, exactly as given (no SSE framing is added, so a
    /// chunk may hold half an event, several events or invalid UTF-8).
    ///
    /// See [`MockResponse::sse_data`] to frame whole events.
    pub fn sse<C: Into<Bytes>>(chunks: impl IntoIterator<Item = C>) -> Self {
        MockResponse::new(200, Some("text/event-stream"), chunks_of(chunks))
            .header("cache-control", "no-cache")
    }

    /// A `200` `text/event-stream` with one event per item, one chunk per event:
    /// each line of an item becomes a `data:` line and the event ends with a
    /// blank line.
    ///
    /// ```
    /// # use llm_runtime::testing::MockResponse;
    /// // Sends "data: {\"x\":1}\n\n" then "data: [DONE]\n\n".
    /// let stream = MockResponse::sse_data([r#"{"x":1}"#, "[DONE]"]);
    /// ```
    pub fn sse_data<S: AsRef<str>>(events: impl IntoIterator<Item = S>) -> Self {
        let chunks = events
            .into_iter()
            .map(|data| sse_event(None, data.as_ref()));
        MockResponse::sse(chunks)
    }

    /// A `200` `text/event-stream` with one named event per item, one chunk
    /// per event: `event: {name}`, then each line of the data as a `data:`
    /// line, then a blank line.
    ///
    /// ```
    /// # use llm_runtime::testing::MockResponse;
    /// // Sends "event: ping\ndata: {\"type\":\"ping\"}\n\n".
    /// let stream = MockResponse::sse_events([("ping", r#"{"type":"ping"}"#)]);
    /// ```
    pub fn sse_events<N: AsRef<str>, D: AsRef<str>>(
        events: impl IntoIterator<Item = (N, D)>,
    ) -> Self {
        let chunks = events
            .into_iter()
            .map(|(name, data)| sse_event(Some(name.as_ref()), data.as_ref()));
        MockResponse::sse(chunks)
    }

    /// A `200` `text/event-stream` of JSON events named by their `type`
    /// field, as the Anthropic Messages API and the OpenAI Responses API send
    /// them (`event: message_start` / `data: {"type":"message_start",...}`):
    /// the official SDKs dispatch on the `event:` line.
    ///
    /// An item that is not a JSON object with a string `type` is a script
    /// mistake: the server answers `500` naming it.
    ///
    /// ```
    /// # use llm_runtime::testing::MockResponse;
    /// let stream = MockResponse::sse_typed([
    ///     r#"{"type":"message_start","message":{"id":"msg_1"}}"#,
    ///     r#"{"type":"message_stop"}"#,
    /// ]);
    /// ```
    pub fn sse_typed<D: AsRef<str>>(events: impl IntoIterator<Item = D>) -> Self {
        let mut mistakes = Vec::new();
        let chunks: Vec<String> = events
            .into_iter()
            .map(|data| {
                let data = data.as_ref();
                let name = serde_json::from_str::<serde_json::Value>(data)
                    .ok()
                    .and_then(|v| v.get("type")?.as_str().map(str::to_owned));
                if name.is_none() {
                    mistakes.push(format!("sse_typed: no string `type` in event {data:?}"));
                }
                sse_event(name.as_deref(), data)
            })
            .collect();
        let mut response = MockResponse::sse(chunks);
        response.setup_errors.extend(mistakes);
        response
    }

    /// A `200` `application/x-ndjson` stream with one line per chunk; a `\n`
    /// is appended to a line that does not end with one.
    ///
    /// Use [`MockResponse::raw_body_chunks`] to split lines across chunks.
    pub fn ndjson<L: Into<Bytes>>(lines: impl IntoIterator<Item = L>) -> Self {
        let lines = lines.into_iter().map(|line| {
            let line: Bytes = line.into();
            if line.ends_with(b"\n") {
                line
            } else {
                let mut owned = Vec::with_capacity(line.len() + 1);
                owned.extend_from_slice(&line);
                owned.push(b'\n');
                Bytes::from(owned)
            }
        });
        MockResponse::new(200, Some("application/x-ndjson"), chunks_of(lines))
    }

    /// A `200` with no `content-type` whose body is `chunks`, each written and
    /// flushed separately, byte for byte (invalid UTF-8 included).
    pub fn raw_body_chunks<C: Into<Bytes>>(chunks: impl IntoIterator<Item = C>) -> Self {
        MockResponse::new(200, None, chunks_of(chunks))
    }

    /// A response written to the socket byte for byte: `chunks` hold the
    /// status line, the headers and the body exactly as the upstream would
    /// send them (nothing is added, checked or framed), each written and
    /// flushed separately, with [`MockResponse::chunk_delay`] between two.
    ///
    /// Then the server closes the connection with a FIN (so a body without a
    /// length ends there); a [`Fault`] "after chunks" cuts the response after
    /// that many chunks instead (a reset, a close, or a stall). [`delay`]
    /// holds the first chunk back. The status, headers and gzip set by the
    /// builder methods have no effect, and the connection is never reused.
    ///
    /// [`delay`]: MockResponse::delay
    ///
    /// ```
    /// # use llm_runtime::testing::MockResponse;
    /// // An informational status as the final answer, then the connection closes.
    /// let weird = MockResponse::raw(["HTTP/1.1 103 Early", " Hints\r\nx-a: \x01\r\n\r\n"]);
    /// // A body shorter than its declared length.
    /// let short = MockResponse::raw(["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{}"]);
    /// ```
    pub fn raw<C: Into<Bytes>>(chunks: impl IntoIterator<Item = C>) -> Self {
        let mut response = MockResponse::empty(200);
        response.raw = Some(chunks.into_iter().map(Into::into).collect());
        response
    }

    /// A redirect (`301`, `302`, `303`, `307` or `308`) to `location`, with an empty body.
    pub fn redirect(status: u16, location: impl AsRef<str>) -> Self {
        MockResponse::empty(status).header("location", location.as_ref())
    }

    /// A `200` with an empty body that fails with `fault`; see
    /// [`MockResponse::with_fault`] to fail in the middle of a scripted body.
    pub fn fault(fault: Fault) -> Self {
        MockResponse::empty(200).with_fault(fault)
    }

    /// Fails this response with `fault` (the last call wins).
    ///
    /// For the "after chunks" faults the body is always sent with chunked
    /// transfer encoding; a body built with `json`, `text` or `bytes` is one chunk.
    #[must_use]
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Adds a response header (appended, so a name may repeat); a
    /// `content-type` set here replaces the constructor's.
    ///
    /// The value may hold any byte but control characters (obs-text included).
    #[must_use]
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<[u8]>) -> Self {
        let name = name.as_ref();
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_ref()),
        ) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(_), _) => self
                .setup_errors
                .push(format!("invalid header name {name:?}")),
            (Ok(_), Err(_)) => {
                self.setup_errors
                    .push(format!("invalid value for header {name:?}"));
            }
        }
        self
    }

    /// Replaces the status code.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Waits `delay` before sending the headers (or before the fault).
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Waits `delay` between two chunks of a chunked body (not before the first).
    #[must_use]
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Gzip-encodes the body and sets `content-encoding: gzip`.
    ///
    /// A chunked body stays chunked: each chunk is compressed with a sync flush
    /// so a client can decode it as soon as it arrives.
    #[must_use]
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }
}

/// One SSE event: its `event:` line when named, a `data:` line per line of
/// `data`, and the blank line that ends it.
fn sse_event(name: Option<&str>, data: &str) -> String {
    let mut event = String::new();
    if let Some(name) = name {
        event.push_str("event: ");
        event.push_str(name);
        event.push('\n');
    }
    for line in data.split('\n') {
        event.push_str("data: ");
        event.push_str(line);
        event.push('\n');
    }
    event.push('\n');
    event
}

fn chunks_of<C: Into<Bytes>>(chunks: impl IntoIterator<Item = C>) -> ScriptedBody {
    ScriptedBody::Chunks(chunks.into_iter().map(Into::into).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_mistakes_are_collected_not_panicked() {
        let response = MockResponse::empty(200)
            .header("bad name", "x")
            .header("x-ok", "fine")
            .header("x-bad-value", "line\nbreak");
        assert_eq!(
            response.setup_errors.len(),
            2,
            "{:?}",
            response.setup_errors
        );
        assert_eq!(
            response.headers.get("x-ok").map(HeaderValue::as_bytes),
            Some(&b"fine"[..])
        );
    }

    #[test]
    fn sse_data_frames_each_line() {
        let response = MockResponse::sse_data(["a\nb", "[DONE]"]);
        let ScriptedBody::Chunks(chunks) = response.body else {
            panic!("sse_data must give a chunked body");
        };
        assert_eq!(
            chunks,
            vec![
                Bytes::from("data: a\ndata: b\n\n"),
                Bytes::from("data: [DONE]\n\n")
            ]
        );
    }

    #[test]
    fn typed_events_are_named_by_their_type() {
        let response =
            MockResponse::sse_typed([r#"{"type":"ping"}"#, "{\"type\":\"a\",\n\"x\":1}"]);
        assert!(response.setup_errors.is_empty());
        let ScriptedBody::Chunks(chunks) = response.body else {
            panic!("sse_typed must give a chunked body");
        };
        assert_eq!(
            chunks,
            vec![
                Bytes::from("event: ping\ndata: {\"type\":\"ping\"}\n\n"),
                Bytes::from("event: a\ndata: {\"type\":\"a\",\ndata: \"x\":1}\n\n"),
            ]
        );
        let untyped = MockResponse::sse_typed(["[DONE]", r#"{"type":1}"#]);
        assert_eq!(untyped.setup_errors.len(), 2, "{:?}", untyped.setup_errors);
        let named = MockResponse::sse_events([("error", "{}")]);
        let ScriptedBody::Chunks(chunks) = named.body else {
            panic!("sse_events must give a chunked body");
        };
        assert_eq!(chunks, vec![Bytes::from("event: error\ndata: {}\n\n")]);
    }

    #[test]
    fn ndjson_terminates_each_line_once() {
        let response = MockResponse::ndjson(["{\"a\":1}", "{\"b\":2}\n"]);
        let ScriptedBody::Chunks(chunks) = response.body else {
            panic!("ndjson must give a chunked body");
        };
        assert_eq!(
            chunks,
            vec![Bytes::from("{\"a\":1}\n"), Bytes::from("{\"b\":2}\n")]
        );
    }
}
