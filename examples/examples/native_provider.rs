//! A provider with its own wire format: write the transforms, the runtime does
//! the rest (pooled HTTP, retries, NDJSON framing, timeouts, errors).
//!
//! `cargo run --example native_provider` (offline, on the loopback mock).
//!
//! The made-up "EchoLM" API: `POST /generate {"model","prompt"}` answers
//! `{"output","tokens_in","tokens_out"}`; streamed, it sends NDJSON lines
//! `{"delta":"..."}` and ends with `{"done":true,"tokens_in":..,"tokens_out":..}`.

use futures_util::StreamExt;
use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, Error, FinishReason, Part, Provider, StreamEvent, Usage,
    provider::{HttpParts, RequestContext, Transform},
    stream::{Control, Frame, StreamFormat},
};
use serde_json::{Value, json};

/// EchoLM, declared with the derive; the transforms below are all the code it needs.
#[derive(Debug, Default, Provider)]
#[provider(
    name = "echolm",
    base_url = "https://api.echolm.example/v1",
    auth(header = "x-echo-key"),
    env = "ECHOLM_API_KEY",
    capabilities(chat, stream)
)]
struct EchoLm;

/// What the stream parser remembers between lines.
#[derive(Default)]
struct EchoState {
    started: bool,
}

impl Transform for EchoLm {
    type StreamState = EchoState;

    fn build_request(
        &self,
        req: &ChatRequest,
        ctx: &RequestContext<'_>,
    ) -> llm_runtime::Result<HttpParts> {
        let prompt: Vec<String> = req.messages.iter().map(|m| m.text()).collect();
        HttpParts::post_json(
            "/generate",
            &json!({"model": ctx.model, "prompt": prompt.join("\n"), "stream": ctx.stream}),
        )
    }

    fn parse_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> llm_runtime::Result<ChatResponse> {
        let v: Value = serde_json::from_slice(body)?;
        let mut r = ChatResponse::empty();
        r.model = ctx.model.to_owned();
        let text = v["output"]
            .as_str()
            .ok_or_else(|| Error::decode("EchoLM response has no `output`"))?;
        r.message.content.push(Part::text(text));
        r.finish_reason = Some(FinishReason::Stop);
        r.usage = Some(usage(&v));
        Ok(r)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        state: &mut EchoState,
        out: &mut Vec<StreamEvent>,
    ) -> llm_runtime::Result<Control> {
        let v: Value = serde_json::from_str(&frame.data)?;
        if !state.started {
            state.started = true;
            out.push(StreamEvent::Start {
                id: String::new(),
                model: String::new(),
            });
        }
        if let Some(delta) = v["delta"].as_str() {
            out.push(StreamEvent::TextDelta {
                text: delta.to_owned(),
            });
        }
        if v["done"] == true {
            out.push(StreamEvent::Usage { usage: usage(&v) });
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

fn usage(v: &Value) -> Usage {
    let n = |k: &str| {
        v[k].as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    };
    Usage::new(n("tokens_in"), n("tokens_out"))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mock = MockServer::start().await;
    mock.on_sequence(
        "POST",
        "/generate",
        vec![
            MockResponse::json(
                200,
                json!({"output": "echo: hi", "tokens_in": 1, "tokens_out": 2}),
            ),
            MockResponse::ndjson([
                r#"{"delta":"echo"}"#,
                r#"{"delta":": hi"}"#,
                r#"{"done":true,"tokens_in":1,"tokens_out":2}"#,
            ]),
        ],
    );
    let client = EchoLm::config()
        .api_key("demo")
        .base_url(mock.url())
        .connect()?;

    let reply = client.chat(ChatRequest::new("echo-1").user("hi")).await?;
    println!("chat   > {}", reply.text());

    let mut stream = client
        .chat_stream(ChatRequest::new("echo-1").user("hi"))
        .await?;
    print!("stream > ");
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text } = event? {
            print!("{text}");
        }
    }
    println!();
    assert_eq!(mock.requests()[0].header("x-echo-key"), Some("demo"));
    Ok(())
}
