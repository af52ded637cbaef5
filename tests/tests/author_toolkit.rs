//! What an author of a native wire format gets from the runtime, used the way
//! a downstream crate uses it: numbers as written and the `extra` merge from
//! `dialects::toolkit`, an error event inside a stream reported with
//! `toolkit::stream_error`, and the request's model on a collected stream
//! whose API names none.

use std::time::Duration;

use futures_util::StreamExt;
use llm_runtime::dialects::toolkit::{f32_json, merge_extra, stream_error};
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, ErrorKind, FinishReason, Part, Provider, ProviderClient, Result,
    StreamEvent,
    provider::{HttpParts, RequestContext, Transform},
    stream::{Control, Frame, StreamFormat},
};
use serde_json::{Map, Value, json};

/// A made-up native API: `POST /generate`, NDJSON lines `{"delta": ..}`,
/// `{"model": ..}`, `{"error": {..}}` and `{"done": true}`; its answers never
/// name a model unless a `{"model"}` line does.
#[derive(Debug, Default, Provider)]
#[provider(
    name = "lines",
    base_url = "https://lines.example/v1",
    auth = "none",
    capabilities(chat, stream)
)]
struct Lines {
    /// Emit a `Start` (with an empty model) on the first line.
    announce: bool,
}

impl Transform for Lines {
    type StreamState = bool;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let mut body = Map::new();
        body.insert("model".into(), ctx.model.into());
        body.insert("stream".into(), ctx.stream.into());
        if let Some(t) = request.temperature {
            body.insert("temperature".into(), f32_json(t));
        }
        if let Some(p) = request.top_p {
            body.insert("top_p".into(), f32_json(p));
        }
        merge_extra(&mut body, &request.extra, &[]);
        HttpParts::post_json("/generate", &body)
    }

    fn parse_response(&self, body: &[u8], _ctx: &RequestContext<'_>) -> Result<ChatResponse> {
        let v: Value = serde_json::from_slice(body)?;
        // No model: the API names none, and the runtime reports the request's.
        let mut r = ChatResponse::empty();
        r.message
            .content
            .push(Part::text(v["output"].as_str().unwrap_or_default()));
        Ok(r)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        started: &mut bool,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Control> {
        let v: Value = serde_json::from_str(&frame.data)?;
        if v.get("error").is_some() {
            return Err(stream_error(frame.data.as_bytes()));
        }
        let named = v["model"].as_str();
        if (self.announce || named.is_some()) && !*started {
            *started = true;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: named.unwrap_or_default().to_owned(),
            });
        }
        if let Some(text) = v["delta"].as_str() {
            out.push(StreamEvent::TextDelta {
                text: text.to_owned(),
            });
        }
        if v["done"] == true {
            out.push(StreamEvent::Finish {
                reason: FinishReason::Stop,
            });
            return Ok(Control::Done);
        }
        Ok(Control::Continue)
    }

    fn stream_format(&self) -> StreamFormat {
        StreamFormat::Ndjson
    }
}

fn connect(server: &MockServer, announce: bool) -> ProviderClient<Lines> {
    Lines::config()
        .settings(Lines { announce })
        .base_url(server.url())
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .connect()
        .expect("config is valid")
}

#[tokio::test]
async fn a_native_body_writes_numbers_as_given_and_merges_extra() {
    let server = MockServer::start().await;
    server.on(
        "POST",
        "/generate",
        MockResponse::json(200, json!({"output": "ok"})),
    );
    let request = ChatRequest::new("lines-1")
        .user("hi")
        .temperature(0.2)
        .top_p(0.7)
        .extra("top_k", json!(40))
        .extra("stream", json!("overridden"));
    let reply = connect(&server, false).chat(request).await.expect("chat");
    assert_eq!(reply.text(), "ok");
    assert_eq!(reply.model, "lines-1");
    let sent = server.requests()[0].body_json();
    assert_eq!(
        sent,
        json!({"model": "lines-1", "stream": "overridden", "temperature": 0.2, "top_p": 0.7, "top_k": 40})
    );
    // Written as given, not widened: the bytes on the wire say `0.2`.
    let text = server.requests()[0]
        .body_text()
        .expect("a text body")
        .to_owned();
    assert!(text.contains(r#""temperature":0.2,"#), "{text}");
}

#[tokio::test]
async fn a_collected_stream_gets_the_request_model_when_the_api_names_none() {
    // (announces a Start, the lines, the model of the collected answer)
    let cases: [(bool, &[&str], &str); 4] = [
        (false, &[r#"{"delta":"a"}"#, r#"{"done":true}"#], "lines-1"),
        (true, &[r#"{"delta":"a"}"#, r#"{"done":true}"#], "lines-1"),
        (
            false,
            &[r#"{"model":"served-2","delta":"a"}"#, r#"{"done":true}"#],
            "served-2",
        ),
        (
            true,
            &[r#"{"model":"served-2","delta":"a"}"#, r#"{"done":true}"#],
            "served-2",
        ),
    ];
    for (announce, lines, model) in cases {
        let server = MockServer::start().await;
        server.on_sequence(
            "POST",
            "/generate",
            vec![
                MockResponse::ndjson(lines.iter().copied()),
                MockResponse::ndjson(lines.iter().copied()),
            ],
        );
        let client = connect(&server, announce);
        let request = ChatRequest::new("lines-1").user("hi");
        let collected = client
            .chat_stream(request.clone())
            .await
            .expect("stream opens")
            .collect_response()
            .await
            .expect("stream completes");
        assert_eq!(collected.model, model, "announce={announce} {lines:?}");
        assert_eq!(collected.text(), "a");
        assert_eq!(collected.provider, "lines");

        // A `Start` the wire format emits carries the model too.
        let events: Vec<StreamEvent> = client
            .chat_stream(request)
            .await
            .expect("stream opens")
            .map(|e| e.expect("event"))
            .collect()
            .await;
        let starts: Vec<&StreamEvent> = events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Start { .. }))
            .collect();
        let announced = announce || model == "served-2";
        let expected = StreamEvent::Start {
            id: String::new(),
            model: model.to_owned(),
        };
        assert_eq!(
            starts,
            announced
                .then_some(&expected)
                .into_iter()
                .collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn an_error_event_ends_the_stream_with_its_kind() {
    // (error payload, kind, message, the payload's own HTTP-like status)
    let cases = [
        (
            r#"{"error":{"type":"overloaded_error","message":"busy"}}"#,
            ErrorKind::Overloaded,
            "the stream failed mid-way: busy",
            None,
        ),
        (
            r#"{"error":{"code":429,"message":"slow down"}}"#,
            ErrorKind::RateLimited,
            "the stream failed mid-way: slow down",
            Some(429),
        ),
        (
            r#"{"error":"something broke"}"#,
            ErrorKind::ServerError,
            "the stream failed mid-way: something broke",
            None,
        ),
    ];
    for (payload, kind, message, status) in cases {
        let server = MockServer::start().await;
        server.on(
            "POST",
            "/generate",
            MockResponse::ndjson([r#"{"delta":"par"}"#, payload, r#"{"done":true}"#]),
        );
        let mut stream = connect(&server, true)
            .chat_stream(ChatRequest::new("lines-1").user("hi"))
            .await
            .expect("stream opens");
        let mut texts = String::new();
        let error = loop {
            match stream.next().await.expect("the stream ends with the error") {
                Ok(StreamEvent::TextDelta { text }) => texts.push_str(&text),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(texts, "par", "{payload}");
        assert_eq!(error.kind(), kind, "{payload}");
        assert_eq!(error.message(), message);
        assert_eq!(error.provider(), Some("lines"));
        assert_eq!(error.status(), status, "{payload}");
        assert!(stream.next().await.is_none(), "nothing after the error");
    }
}

#[test]
fn http_parts_bodies_are_the_re_exported_bytes() {
    let parts = HttpParts::post_json("/x", &json!({"a": 1})).expect("serializes");
    let body: Option<llm_runtime::provider::bytes::Bytes> = parts.body;
    assert_eq!(
        body,
        Some(llm_runtime::provider::bytes::Bytes::from_static(
            br#"{"a":1}"#
        ))
    );
}
