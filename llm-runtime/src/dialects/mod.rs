//! Transforms for each wire format; `dialect = name` delegates to one.

pub mod openai;

pub use openai::OpenAiDialect;
