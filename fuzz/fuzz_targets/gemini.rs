#![no_main]
//! The gemini dialect's response, embedding, model-list and stream decoders on arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::dialect(&llm_runtime::dialects::gemini::GeminiDialect, data));
