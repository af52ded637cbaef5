#![no_main]
//! Whole upstream responses (status, headers, body, chunking, raw wire) through
//! `ProviderClient` over one loopback mock: no panic, no hang, bounded time.
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::whole_response::whole_response(data));
