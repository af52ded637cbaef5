#![no_main]
//! AWS event stream framing on arbitrary bytes: no panic, the same frames however split.

libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::framing(llm_runtime::stream::StreamFormat::AwsEventStream, data));
