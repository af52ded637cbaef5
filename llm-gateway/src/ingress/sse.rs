//! Server-sent events with an `event:` line, as the Anthropic and Responses
//! streams frame every event.

/// One server-sent event: `event: NAME\ndata: JSON\n\n`.
pub(crate) fn sse_event(name: &str, data: &serde_json::Value) -> bytes::Bytes {
    let mut frame = format!("event: {name}\ndata: ").into_bytes();
    // A `Value` always serializes; its text has no raw newline, so one `data:` line holds it.
    let _ = serde_json::to_writer(&mut frame, data);
    frame.extend_from_slice(b"\n\n");
    bytes::Bytes::from(frame)
}
