//! The Anthropic Messages API as a client speaks it: `POST /v1/messages`
//! and `POST /v1/messages/count_tokens`.
//!
//! - [`request`]: the body -> the unified [`ChatRequest`]
//!   (system prompt, turns of content blocks, thinking blocks with their
//!   signatures, tool use and results, `cache_control`, tools, tool choice,
//!   thinking budget, structured output), every wrong field a typed 400 that
//!   names it; the body as written rides along as a
//!   [`NativeBody`](llm_runtime::types::NativeBody), which an Anthropic-format
//!   upstream receives unchanged (signed thinking, cache markers, fields
//!   this gateway does not know), while any other upstream gets the
//!   translation.
//! - [`response`]: a whole answer -> the `message` object.
//! - [`stream`]: the answer's events -> Anthropic's event stream.
//! - [`error`]: errors in Anthropic's envelope and status.
//! - [`routes`]: the handlers.
//! - [`count_tokens`]: the prompt's token count, estimated locally (no upstream call).

pub mod error;
pub mod request;
pub mod response;
mod routes;
pub mod stream;
#[cfg(test)]
pub(crate) mod tests;

pub use routes::routes;

use llm_runtime::ChatRequest;
use serde_json::{Value, json};

/// The source name the runtime's Anthropic dialect gives its signed reasoning
/// and its [`NativeBody`](llm_runtime::types::NativeBody) format.
pub const SOURCE: &str = "anthropic";

/// The `count_tokens` answer: `{"input_tokens": N}`, counted with the
/// runtime's tokenizer for the model (an estimate where it has none).
pub fn count_tokens(request: &ChatRequest) -> Value {
    json!({"input_tokens": llm_runtime::tokens::count_request(request).tokens})
}
