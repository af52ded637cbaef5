//! One module per wire format a client speaks.

pub mod anthropic_messages;
pub(crate) mod fields;
pub mod openai_responses;

/// A request body as JSON and as its text (UTF-8 JSON, or a typed 400).
pub(crate) fn json_body(body: &[u8]) -> llm_runtime::Result<(serde_json::Value, String)> {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| llm_runtime::Error::invalid_request("the request body is not UTF-8 text"))?;
    let value = serde_json::from_str(&text).map_err(|e| {
        llm_runtime::Error::invalid_request(format!("the request body is not valid JSON: {e}"))
    })?;
    Ok((value, text))
}

/// One server-sent event with its `event:` line: `event: NAME\ndata: JSON\n\n`.
pub(crate) fn sse_event(name: &str, data: &serde_json::Value) -> bytes::Bytes {
    let mut frame = format!("event: {name}\ndata: ").into_bytes();
    // A `Value` always serializes; its text has no raw newline, so one `data:` line holds it.
    let _ = serde_json::to_writer(&mut frame, data);
    frame.extend_from_slice(b"\n\n");
    bytes::Bytes::from(frame)
}
