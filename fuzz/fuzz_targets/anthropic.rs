#![no_main]
//! The anthropic dialect's response, embedding, model-list and stream decoders on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::dialect(&llm_runtime::dialects::anthropic::AnthropicDialect, data));
