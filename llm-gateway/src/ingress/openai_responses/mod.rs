//! The OpenAI Responses API as a client speaks it: `POST /v1/responses`.
//!
//! - [`request`]: the body -> the unified [`ChatRequest`](llm_runtime::ChatRequest)
//!   (`instructions`, `input` items with their reasoning items, function
//!   calls and outputs, tools, tool choice, `text.format`, `reasoning`),
//!   every wrong field a typed 400 that names it; the body as written rides
//!   along as a [`NativeBody`](llm_runtime::types::NativeBody), which an OpenAI
//!   Responses upstream receives unchanged (encrypted reasoning,
//!   `previous_response_id`, built-in tools, fields this gateway does not
//!   know), while any other upstream gets the translation.
//! - [`response`]: a whole answer -> the `response` object.
//! - [`stream`]: the answer's events -> the Responses event stream.
//! - [`routes`]: the handler; errors are the gateway's own, in OpenAI's
//!   envelope ([`GatewayError`](crate::error::GatewayError)).

mod carried;
pub mod request;
pub mod response;
mod routes;
pub mod stream;

pub use routes::routes;
#[cfg(test)]
mod tests;
