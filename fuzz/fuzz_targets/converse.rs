#![no_main]
//! The Converse dialect over well-framed AWS event stream messages with arbitrary payloads.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::converse(data));
