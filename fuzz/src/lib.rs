//! What every fuzz target checks, so the targets are one line each.

pub mod token_endpoint;
pub mod whole_response;

use llm_runtime::stream::{Framer, SseDecoder};
use llm_runtime::testing::replay_stream;
use llm_runtime::{provider::{RequestContext, Transform}, stream::{Frame, StreamFormat}};

static SPEC: llm_runtime::spec::ProviderSpec = llm_runtime::spec::ProviderSpec::new("fuzz", "https://fuzz.invalid");

/// The first byte picks where the rest is split (so the fuzzer explores splits
/// as well as contents); the rest is the body.
fn split_input(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let Some((&cut, body)) = data.split_first() else {
        return (&[], &[], &[]);
    };
    let at = if body.is_empty() { 0 } else { usize::from(cut) % body.len() };
    let (a, b) = body.split_at(at);
    (body, a, b)
}

/// A dialect's decoders never panic, and its stream gives the same events
/// whole and split.
pub fn dialect<T: Transform>(transform: &T, data: &[u8]) {
    let (body, a, b) = split_input(data);
    let ctx = RequestContext::new(&SPEC, "m", false);
    let _ = transform.parse_response(body, &ctx);
    let _ = transform.parse_embedding_response(body, &ctx);
    let _ = transform.parse_models(body);
    let _ = transform.classify_error(400, &Default::default(), body);
    let whole = replay_stream(transform, [body]);
    let split = replay_stream(transform, [a, b]);
    assert_eq!(format!("{whole:?}"), format!("{split:?}"), "a split changed the stream's result");
}

fn frames(format: StreamFormat, chunks: &[&[u8]]) -> (Vec<Frame>, bool) {
    let mut framer = Framer::new(format, 4096);
    let mut out = Vec::new();
    for chunk in chunks {
        if framer.feed(chunk, &mut out).is_err() {
            return (out, false);
        }
    }
    let ok = framer.finish(&mut out).is_ok();
    (out, ok)
}

/// Framing never panics and gives the same frames whole and split.
pub fn framing(format: StreamFormat, data: &[u8]) {
    let (body, a, b) = split_input(data);
    let whole = frames(format, &[body]);
    let split = frames(format, &[a, b]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    let single = frames(format, &bytes);
    assert_eq!(whole, split, "a split changed the frames");
    assert_eq!(whole, single, "one-byte chunks changed the frames");
    let _ = SseDecoder::new();
}

/// The Converse dialect over a valid AWS event stream: `data` is cut into
/// payloads (at `\n`), each framed as a message whose event type (or
/// exception) its first byte picks, so the fuzzer reaches the dialect's
/// decoders past the CRCs.
pub fn converse(data: &[u8]) {
    const EVENTS: &[&str] = &[
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
        "exception:throttlingException",
        "somethingNew",
    ];
    let mut body = Vec::new();
    for piece in data.split(|b| *b == b'\n') {
        let Some((&pick, payload)) = piece.split_first() else { continue };
        let event = EVENTS[usize::from(pick) % EVENTS.len()];
        let headers = match event.strip_prefix("exception:") {
            Some(kind) => [(":message-type", "exception"), (":exception-type", kind)],
            None => [(":message-type", "event"), (":event-type", event)],
        };
        body.extend(llm_runtime::stream::encode_event_message(&headers, payload));
    }
    let mut framed = vec![data.first().copied().unwrap_or(0)];
    framed.extend(body);
    dialect(&llm_runtime::dialects::converse::ConverseDialect, &framed);
}
