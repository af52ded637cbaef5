//! What a stream framer yields and how a transform answers it.

/// How a provider frames its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Server-sent events (`data: ...\n\n`).
    Sse,
    /// One JSON document per line (Ollama).
    Ndjson,
}

/// One framed message of a stream: an SSE event, or one NDJSON line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// The SSE `event:` name, if any (always `None` for NDJSON).
    pub event: Option<String>,
    /// The SSE data (multi-line data joined with `\n`), or the NDJSON line.
    pub data: String,
}

/// Whether a stream goes on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// More frames follow.
    Continue,
    /// The provider's terminator was seen (`[DONE]`, `message_stop`, `"done": true`).
    Done,
}
