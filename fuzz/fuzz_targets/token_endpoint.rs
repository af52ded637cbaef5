#![no_main]
//! Token-endpoint answers (status, raw body, `expires_in` and `access_token`
//! of any JSON text) through an Entra ID source and a provider's token cache
//! over one loopback mock: no panic, no hang, a sane lifetime or a typed error.
libfuzzer_sys::fuzz_target!(|data: &[u8]| llm_runtime_fuzz::token_endpoint::token_endpoint(data));
