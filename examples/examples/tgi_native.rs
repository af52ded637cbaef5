//! A native API that streams SSE: Hugging Face Text Generation Inference's
//! own `/generate` and `/generate_stream`, its error table declared.
//! `cargo run --example tgi_native` (offline, on the loopback mock).
//!
//! Each streamed event carries one `token` (a `special` one is not text); the
//! last also carries `generated_text` and `details.finish_reason`, and there
//! is no other terminator. Errors are `{"error", "error_type"}`; a 424 is a
//! generation that failed on the server, worth a retry.

use llm_runtime::testing::{MockResponse, MockServer};
use llm_runtime::{
    ChatRequest, ChatResponse, Error, FinishReason, Part, Provider, StreamEvent,
    provider::{HttpParts, RequestContext, Transform},
    stream::{Control, Frame},
};
use serde_json::{Value, json};

/// A TGI server; `TGI_BASE_URL` points at it.
#[derive(Debug, Default, Provider)]
#[provider(name = "tgi", base_url = "http://127.0.0.1:8080", base_url_env = "TGI_BASE_URL",
           auth = "none", capabilities(chat, stream), health = "GET /health",
           errors(type_field = "error_type", 424 = server_error,
                  "validation" = invalid_request, "overloaded" = overloaded))]
struct Tgi;

impl Transform for Tgi {
    type StreamState = ();

    fn build_request(
        &self,
        req: &ChatRequest,
        ctx: &RequestContext<'_>,
    ) -> llm_runtime::Result<HttpParts> {
        let inputs: Vec<String> = req.messages.iter().map(|m| m.text()).collect();
        let path = format!("/generate{}", if ctx.stream { "_stream" } else { "" });
        HttpParts::post_json(
            path,
            &json!({
                "inputs": inputs.join("\n"),
                "parameters": {
                    "max_new_tokens": req.max_tokens, "temperature": req.temperature,
                    "top_p": req.top_p, "stop": req.stop, "seed": req.seed, "details": true,
                },
            }),
        )
    }

    fn parse_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> llm_runtime::Result<ChatResponse> {
        let v: Value = serde_json::from_slice(body)?;
        let text = v["generated_text"].as_str().ok_or_else(|| {
            Error::decode("the TGI answer has no `generated_text`").with_body(body)
        })?;
        let mut reply = ChatResponse::empty();
        reply.model = ctx.model.to_owned();
        reply.message.content.push(Part::text(text));
        reply.finish_reason = finish(&v["details"]);
        Ok(reply)
    }

    fn parse_stream_event(
        &self,
        frame: &Frame,
        _: &mut (),
        out: &mut Vec<StreamEvent>,
    ) -> llm_runtime::Result<Control> {
        let v: Value = serde_json::from_str(&frame.data)?;
        if v.get("error").is_some() {
            // An error event, classified by the declared table like an HTTP error.
            return Err(self.map_error(200, &Default::default(), frame.data.as_bytes()));
        }
        let token = &v["token"];
        if let (Some(text), false) = (token["text"].as_str(), token["special"] == true) {
            out.push(StreamEvent::TextDelta {
                text: text.to_owned(),
            });
        }
        match finish(&v["details"]) {
            Some(reason) => {
                out.push(StreamEvent::Finish { reason });
                Ok(Control::Done)
            }
            None => Ok(Control::Continue),
        }
    }
}

/// `details.finish_reason`, once the generation is over.
fn finish(details: &Value) -> Option<FinishReason> {
    Some(match details["finish_reason"].as_str()? {
        "length" => FinishReason::Length,
        "eos_token" | "stop_sequence" => FinishReason::Stop,
        other => FinishReason::Other(other.to_owned()),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let done = json!({"finish_reason": "eos_token", "generated_tokens": 3});
    let token = |text: &str, special: bool, done: &Value| {
        let last = done.is_object().then_some("Hello there!");
        let token = json!({"id": 1, "text": text, "logprob": -0.1, "special": special});
        json!({"token": token, "generated_text": last, "details": done}).to_string()
    };
    let mock = MockServer::start().await;
    let whole = json!({"generated_text": "Hello there!", "details": done});
    mock.on("POST", "/generate", MockResponse::json(200, whole));
    let events = [
        token("Hello", false, &Value::Null),
        token(" there!", false, &Value::Null),
        token("</s>", true, &done),
    ];
    mock.on("POST", "/generate_stream", MockResponse::sse_data(events));
    let config = Tgi::config().base_url(mock.url());
    let tgi = config.max_retries(1).connect()?;

    let request = ChatRequest::new("tgi").user("Say hello").max_tokens(20);
    let reply = tgi.chat(request.clone()).await?;
    println!("chat   > {}", reply.text());
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));

    let streamed = tgi.chat_stream(request.clone()).await?;
    let streamed = streamed.collect_response().await?.text();
    println!("stream > {streamed}");
    assert_eq!(
        (streamed.as_str(), reply.text().as_str()),
        ("Hello there!", "Hello there!")
    );

    // A 424 is a failed generation: retried, then reported as a server error.
    let failed = json!({"error": "Request failed during generation", "error_type": "generation"});
    mock.on("POST", "/generate", MockResponse::json(424, failed));
    let error = tgi.chat(request).await.expect_err("the generation fails");
    println!("error  > {:?}: {}", error.kind(), error.message());
    let expected = (llm_runtime::ErrorKind::ServerError, Some("generation"));
    assert_eq!((error.kind(), error.code()), expected);
    assert_eq!(
        mock.request_count(),
        4,
        "two calls, a failing one and its retry"
    );
    Ok(())
}
