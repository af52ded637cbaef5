#![no_main]
//! SSE framing on arbitrary bytes, whole, split in two and byte by byte.
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::framing(llm_runtime::stream::StreamFormat::Sse, data));
