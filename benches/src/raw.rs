//! The raw reqwest baseline: what a user writes by hand against the OpenAI
//! chat API, with typed request and response structs (as the peer clients
//! decode), on a client built with the runtime's own settings.
//!
//! It decodes what the runtime's `ChatResponse` carries (id, model, text,
//! finish reason, usage) and no more, so the ratios to it are the runtime's
//! own cost: routing, validation, retries, timeouts, spans, error mapping.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::fixtures::OPENAI_MODEL;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request body, typed.
#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 1],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Completion {
    id: String,
    model: String,
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Answer,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
}

#[derive(Deserialize)]
struct Chunk {
    id: String,
    model: String,
    choices: Vec<ChunkChoice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
}

/// The JSON body of a chat request for `Hello` (`stream: true` when streaming).
pub fn body(stream: bool) -> Result<Vec<u8>, BoxError> {
    let request = Request {
        model: OPENAI_MODEL,
        messages: [Message {
            role: "user",
            content: "Hello",
        }],
        stream,
    };
    Ok(serde_json::to_vec(&request)?)
}

fn post(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    stream: bool,
) -> Result<reqwest::RequestBuilder, BoxError> {
    let mut request = client
        .post(url)
        .bearer_auth(key)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if stream {
        request = request.header(reqwest::header::ACCEPT, "text/event-stream");
    }
    Ok(request.body(body(stream)?))
}

/// One chat call; the length of the answer's text.
pub async fn chat(client: &reqwest::Client, url: &str, key: &str) -> Result<usize, BoxError> {
    let response = post(client, url, key, false)?.send().await?;
    if !response.status().is_success() {
        return Err(format!("raw request got {}", response.status()).into());
    }
    let body = response.bytes().await?;
    let completion: Completion = serde_json::from_slice(&body)?;
    let usage = completion.usage.map_or(0, |u| {
        (u.prompt_tokens + u.completion_tokens + u.total_tokens) as usize
    });
    let choice = completion.choices.into_iter().next().ok_or("no choice")?;
    let text = choice.message.content.unwrap_or_default();
    // Every decoded field is used, so none is optimised away.
    std::hint::black_box((
        completion.id.len(),
        completion.model.len(),
        choice.finish_reason,
        usage,
    ));
    Ok(text.len())
}

/// Open a stream; its body, unread.
pub async fn open_stream(
    client: &reqwest::Client,
    url: &str,
    key: &str,
) -> Result<BoxStream<'static, reqwest::Result<Bytes>>, BoxError> {
    let response = post(client, url, key, true)?.send().await?;
    if !response.status().is_success() {
        return Err(format!("raw stream got {}", response.status()).into());
    }
    Ok(response.bytes_stream().boxed())
}

/// What a hand-written SSE consumer does: split lines, pick `data:` payloads,
/// and (when `typed`) decode each into the chunk struct.
#[derive(Default)]
pub struct SseLines {
    pending: Vec<u8>,
    /// `data:` lines before `[DONE]`.
    pub data_lines: usize,
    /// Text deltas seen (typed decoding only).
    pub text_chunks: usize,
    /// `data: [DONE]` was seen.
    pub done: bool,
}

impl SseLines {
    /// Feed one body chunk.
    pub fn feed(&mut self, mut chunk: &[u8], typed: bool) -> Result<(), BoxError> {
        while let Some(end) = memchr::memchr(b'\n', chunk) {
            let line = if self.pending.is_empty() {
                &chunk[..end]
            } else {
                self.pending.extend_from_slice(&chunk[..end]);
                &self.pending[..]
            };
            if let Some(data) = line.strip_prefix(b"data: ") {
                if data == b"[DONE]" {
                    self.done = true;
                } else {
                    if typed {
                        let chunk: Chunk = serde_json::from_slice(data)?;
                        let text = chunk
                            .choices
                            .first()
                            .and_then(|c| c.delta.content.as_deref())
                            .is_some_and(|t| !t.is_empty());
                        self.text_chunks += usize::from(text);
                        std::hint::black_box((
                            chunk.id.len(),
                            chunk.model.len(),
                            chunk.choices.first().map(|c| c.finish_reason.is_some()),
                            chunk.usage.map(|u| u.total_tokens),
                        ));
                    }
                    self.data_lines += 1;
                }
            }
            self.pending.clear();
            chunk = &chunk[end + 1..];
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }
}

/// Consume a whole stream; the number of text deltas (typed) or data lines.
pub async fn consume(
    mut body: BoxStream<'static, reqwest::Result<Bytes>>,
    typed: bool,
) -> Result<usize, BoxError> {
    let mut lines = SseLines::default();
    // Read to the body's end (past `[DONE]`), so the connection goes back to the pool.
    while let Some(chunk) = body.next().await {
        lines.feed(&chunk?, typed)?;
    }
    if !lines.done {
        return Err("the raw stream ended without [DONE]".into());
    }
    Ok(if typed {
        lines.text_chunks
    } else {
        lines.data_lines
    })
}
