//! The built-in providers, each declared with `#[derive(Provider)]`.
