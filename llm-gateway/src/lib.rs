//! llm-gateway: an OpenAI- and Anthropic-compatible server on llm-runtime.
#![warn(missing_docs)]

pub mod governance;
