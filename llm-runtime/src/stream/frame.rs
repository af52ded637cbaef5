//! What a stream framer yields and how a transform answers it.

/// How a provider frames its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// Server-sent events (`data: ...\n\n`).
    Sse,
    /// One JSON document per line (Ollama).
    Ndjson,
    /// AWS event stream: binary messages with a prelude, headers, a payload
    /// and CRCs (Bedrock's `ConverseStream`); each message is a frame whose
    /// event is its `:event-type` (or `exception:<type>`) and whose data is its JSON payload.
    AwsEventStream,
}

/// One framed message of a stream: an SSE event, one NDJSON line, or one AWS
/// event stream message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frame {
    /// The SSE `event:` name, if any (always `None` for NDJSON; the event type,
    /// or `exception:<type>`, for an AWS event stream message).
    pub event: Option<String>,
    /// The SSE data (multi-line data joined with `\n`), the NDJSON line, or
    /// the event stream message's payload.
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
