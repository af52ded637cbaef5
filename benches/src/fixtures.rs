//! Response bodies in each provider's wire shape, rendered once and served or
//! decoded many times.
//!
//! Streams take `n`, the number of text-delta events; each shape adds its own
//! opening and closing events (role chunk, finish, usage, terminator), so a
//! stream decodes to about `n` [`StreamEvent::TextDelta`](llm_runtime::StreamEvent)s.

use bytes::Bytes;

/// The model every fixture names.
pub const OPENAI_MODEL: &str = "gpt-4o-mini";

/// The text of delta number `i`: short, like one token.
fn token(i: usize) -> String {
    format!("tok{} ", i % 1000)
}

/// A non-streamed OpenAI chat completion, shaped like the real one.
pub fn openai_chat_json() -> Bytes {
    Bytes::from_static(
        br#"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_06737a9306"}"#,
    )
}

/// A non-streamed Anthropic message.
pub fn anthropic_message_json() -> Bytes {
    Bytes::from_static(
        br#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello! How can I help you today?"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}"#,
    )
}

/// The SSE events of an OpenAI chat stream with `n` text deltas, one
/// `data: ...\n\n` event per element (as each arrives in its own HTTP chunk).
pub fn openai_sse_events(n: usize) -> Vec<Bytes> {
    const HEAD: &str = r#"{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":["#;
    let mut events = Vec::with_capacity(n + 4);
    events.push(format!(
        "data: {HEAD}{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"
    ));
    for i in 0..n {
        events.push(format!(
            "data: {HEAD}{{\"index\":0,\"delta\":{{\"content\":\"{}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n",
            token(i)
        ));
    }
    events.push(format!(
        "data: {HEAD}{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":null}}\n\n"
    ));
    events.push(format!(
        "data: {HEAD}],\"usage\":{{\"prompt_tokens\":19,\"completion_tokens\":{n},\"total_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":0,\"audio_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0,\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}}}}\n\n",
        n + 19
    ));
    events.push("data: [DONE]\n\n".to_owned());
    events.into_iter().map(Bytes::from).collect()
}

/// The SSE events of an Anthropic message stream with `n` text deltas.
pub fn anthropic_sse_events(n: usize) -> Vec<Bytes> {
    let mut events = Vec::with_capacity(n + 6);
    events.push(r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}

"#.to_owned());
    events.push(
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            .to_owned(),
    );
    for i in 0..n {
        events.push(format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{}\"}}}}\n\n",
            token(i)
        ));
    }
    events.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_owned(),
    );
    events.push(format!(
        "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{n}}}}}\n\n"
    ));
    events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_owned());
    events.into_iter().map(Bytes::from).collect()
}

/// The SSE events of a Gemini `streamGenerateContent?alt=sse` stream with `n`
/// text deltas (CRLF line ends, as Google sends them).
pub fn gemini_sse_events(n: usize) -> Vec<Bytes> {
    let mut events = Vec::with_capacity(n + 1);
    for i in 0..n {
        events.push(format!(
            "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{}\"}}],\"role\":\"model\"}},\"index\":0}}],\"usageMetadata\":{{\"promptTokenCount\":12,\"totalTokenCount\":12}},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc123\"}}\r\n\r\n",
            token(i)
        ));
    }
    events.push(format!(
        "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"\"}}],\"role\":\"model\"}},\"finishReason\":\"STOP\",\"index\":0}}],\"usageMetadata\":{{\"promptTokenCount\":12,\"candidatesTokenCount\":{n},\"totalTokenCount\":{}}},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"abc123\"}}\r\n\r\n",
        n + 12
    ));
    events.into_iter().map(Bytes::from).collect()
}

/// The NDJSON lines of an Ollama `/api/chat` stream with `n` text deltas.
pub fn ollama_ndjson_lines(n: usize) -> Vec<Bytes> {
    let mut lines = Vec::with_capacity(n + 1);
    for i in 0..n {
        lines.push(format!(
            "{{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:00.000000Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"{}\"}},\"done\":false}}\n",
            token(i)
        ));
    }
    lines.push(format!(
        "{{\"model\":\"llama3.2\",\"created_at\":\"2025-01-01T00:00:01.000000Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"\"}},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":1000,\"prompt_eval_count\":12,\"eval_count\":{n}}}\n"
    ));
    lines.into_iter().map(Bytes::from).collect()
}

/// The SSE events of a Cohere v2 chat stream with `n` text deltas.
pub fn cohere_sse_events(n: usize) -> Vec<Bytes> {
    let mut events = Vec::with_capacity(n + 4);
    events.push(
        "event: message-start\ndata: {\"id\":\"m1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\n"
            .to_owned(),
    );
    events.push(
        "event: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\n"
            .to_owned(),
    );
    for i in 0..n {
        events.push(format!(
            "event: content-delta\ndata: {{\"type\":\"content-delta\",\"index\":0,\"delta\":{{\"message\":{{\"content\":{{\"text\":\"{}\"}}}}}}}}\n\n",
            token(i)
        ));
    }
    events.push("event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n".to_owned());
    events.push(format!(
        "event: message-end\ndata: {{\"type\":\"message-end\",\"delta\":{{\"finish_reason\":\"COMPLETE\",\"usage\":{{\"billed_units\":{{\"input_tokens\":12,\"output_tokens\":{n}}},\"tokens\":{{\"input_tokens\":70,\"output_tokens\":{n}}}}}}}}}\n\n"
    ));
    events.into_iter().map(Bytes::from).collect()
}

/// All events joined into one body.
pub fn join(events: &[Bytes]) -> Vec<u8> {
    let mut body = Vec::with_capacity(events.iter().map(Bytes::len).sum());
    for e in events {
        body.extend_from_slice(e);
    }
    body
}
