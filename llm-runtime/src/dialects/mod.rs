//! Transforms for each wire format; `dialect = name` delegates to one.

pub mod anthropic;
pub mod cohere;
pub mod converse;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod openai_responses;
pub(crate) mod raw_json;
pub mod toolkit;
pub(crate) mod wire;

#[cfg(test)]
mod null_fields;
#[cfg(test)]
mod serves;
#[cfg(test)]
pub(crate) mod test_support;
