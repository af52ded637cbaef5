//! Arbitrary bytes never panic any decoder: SSE and NDJSON framing, and each
//! dialect's response, embedding, model-list, error and stream decoders. The
//! same entry points are fuzzed with coverage guidance under `fuzz/`.

use llm_runtime::stream::Framer;
use llm_runtime::testing::replay_stream;
use llm_runtime::{
    dialects::anthropic::AnthropicDialect, dialects::cohere::CohereDialect,
    dialects::gemini::GeminiDialect, dialects::ollama::OllamaDialect,
    dialects::openai::OpenAiDialect,
};
use llm_runtime::{
    provider::{RequestContext, Transform},
    spec::ProviderSpec,
    stream::StreamFormat,
};
use proptest::prelude::*;

static SPEC: ProviderSpec = ProviderSpec::new("proptest", "https://proptest.invalid");

fn exercise<T: Transform>(transform: &T, body: &[u8], cut: usize) {
    let ctx = RequestContext::new(&SPEC, "m", false);
    let _ = transform.parse_response(body, &ctx);
    let _ = transform.parse_embedding_response(body, &ctx);
    let _ = transform.parse_models(body);
    let _ = transform.classify_error(500, &Default::default(), body);
    let cut = cut.min(body.len());
    let whole = replay_stream(transform, [body]);
    let split = replay_stream(transform, [&body[..cut], &body[cut..]]);
    assert_eq!(format!("{whole:?}"), format!("{split:?}"));
}

/// Bytes that look like a stream often enough to reach the parsers' depths:
/// random SSE/NDJSON lines around JSON-ish fragments, or plain random bytes.
fn streamish() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just("data: ".to_owned()),
        Just("event: message_start\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("{\"choices\":[{\"delta\":{\"content\":\"x\",\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]}}]}".to_owned()),
        Just("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\"}}".to_owned()),
        Just("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]},\"finishReason\":\"STOP\"}]}".to_owned()),
        Just("{\"message\":{\"content\":\"x\"},\"done\":true}".to_owned()),
        Just("{\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\"}}".to_owned()),
        Just("[DONE]".to_owned()),
        "\\PC{0,12}",
    ];
    prop_oneof![
        proptest::collection::vec(fragment, 0..16).prop_map(|parts| parts.concat().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn dialects_never_panic(body in streamish(), cut in 0usize..600) {
        exercise(&OpenAiDialect, &body, cut);
        exercise(&AnthropicDialect, &body, cut);
        exercise(&GeminiDialect, &body, cut);
        exercise(&OllamaDialect, &body, cut);
        exercise(&CohereDialect, &body, cut);
    }

    #[test]
    fn framing_never_panics(body in streamish(), cut in 0usize..600) {
        for format in [StreamFormat::Sse, StreamFormat::Ndjson, StreamFormat::AwsEventStream] {
            let run = |chunks: &[&[u8]]| {
                let mut framer = Framer::new(format, 256);
                let mut out = Vec::new();
                let mut ok = true;
                for c in chunks {
                    ok = ok && framer.feed(c, &mut out).is_ok();
                }
                ok = ok && framer.finish(&mut out).is_ok();
                (out, ok)
            };
            let cut = cut.min(body.len());
            prop_assert_eq!(run(&[&body]), run(&[&body[..cut], &body[cut..]]));
        }
    }
}

/// Inputs the fuzzers found (`fuzz/`): a bad frame followed, later in the
/// same chunk, by invalid UTF-8. The earliest error in stream order must win
/// whatever the split (the first byte is the fuzz target's split selector).
#[test]
fn fuzz_findings_decode_the_same_however_split() {
    let cases: [(&str, &[u8]); 5] = [
        (
            "openai",
            include_bytes!("../fixtures/fuzz/openai-split-error-order.bin"),
        ),
        (
            "anthropic",
            include_bytes!("../fixtures/fuzz/anthropic-split-error-order.bin"),
        ),
        (
            "gemini",
            include_bytes!("../fixtures/fuzz/gemini-split-error-order.bin"),
        ),
        (
            "ollama",
            include_bytes!("../fixtures/fuzz/ollama-split-error-order.bin"),
        ),
        (
            "cohere",
            include_bytes!("../fixtures/fuzz/cohere-split-error-order.bin"),
        ),
    ];
    for (dialect, input) in cases {
        let body = &input[1..];
        for cut in 0..=body.len() {
            match dialect {
                "openai" => exercise(&OpenAiDialect, body, cut),
                "anthropic" => exercise(&AnthropicDialect, body, cut),
                "gemini" => exercise(&GeminiDialect, body, cut),
                "ollama" => exercise(&OllamaDialect, body, cut),
                _ => exercise(&CohereDialect, body, cut),
            }
        }
    }
}
