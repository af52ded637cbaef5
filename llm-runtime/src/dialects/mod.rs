//! Transforms for each wire format; `dialect = name` delegates to one.

pub mod anthropic;
pub mod cohere;
pub mod converse;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod openai_responses;
pub(crate) mod operation_wire;
pub(crate) mod raw_json;
pub mod toolkit;
pub(crate) mod wire;

#[cfg(test)]
mod null_fields;
#[cfg(test)]
mod serves;

pub use anthropic::AnthropicDialect;
pub use cohere::CohereDialect;
pub use converse::ConverseDialect;
pub use gemini::GeminiDialect;
pub use ollama::OllamaDialect;
pub use openai::OpenAiDialect;
pub use openai_responses::OpenAiResponsesDialect;
