//! The OpenAI Responses API (`POST /responses`), stateless by default.
//!
//! Request: the system messages become `instructions`; the other messages
//! become `input` items: user messages (`input_text` and `input_image`
//! parts), assistant turns as the items the API returned (its `reasoning`
//! items with their summary and `encrypted_content`, its message, its
//! `function_call`s), tool results as `function_call_output`. Tools are
//! `{"type": "function", name, description, parameters, "strict": false}`
//! (the API's default is strict, which rejects most hand-written schemas),
//! `max_tokens` is `max_output_tokens`, a JSON schema is `text.format`, a
//! reasoning effort and summary are `reasoning: {effort, summary}` (the
//! summary `auto` unless the request names one, left out for
//! [`ReasoningSummary::None`](crate::types::ReasoningSummary::None)). Every request
//! says `store: false` and asks for `include: ["reasoning.encrypted_content"]`
//! when it asks for reasoning (an effort other than `none`, or a summary), when
//! its conversation already carries this API's encrypted reasoning, or when
//! the model is one of OpenAI's reasoning models (`o1`, `o3`, `o4`, `gpt-5`
//! but not `gpt-5-chat`); [`ChatRequest::include_encrypted_reasoning`](crate::ChatRequest::include_encrypted_reasoning)
//! decides instead when set (a reasoning deployment under a name of its own).
//! So the reasoning comes back encrypted and goes back with the next turn
//! without server state. `extra`
//! fields are merged last: `extra("previous_response_id", json!(id))` (with
//! `extra("store", json!(true))` on the turns to continue from) is how a
//! caller asks for server-side state instead, and `include`, `reasoning`,
//! `truncation`, `parallel_tool_calls`... replace what the dialect would send.
//!
//! A request that carries the caller's own body in this format
//! ([`NativeBody`](crate::types::NativeBody), a gateway's same-dialect passthrough)
//! is sent as written instead: its fields byte for byte, with the route's
//! `model`, the call's `stream` and the request's `extra` fields.
//!
//! Response: `output` items in order. `output_text` parts are the answer's
//! text, `refusal` parts its [`ChatResponse::refusal`](crate::types::ChatResponse::refusal), `function_call`s its
//! tool calls (the id is the `call_id` a result answers). A `reasoning` item
//! gives one [`ReasoningBlock`](crate::types::ReasoningBlock) per summary part (text,
//! the item's `id`, source `openai_responses`; the last one holds the
//! `encrypted_content`), or one without text when it has no summary. The API
//! pairs a reasoning item with the items that follow it by their ids, so an
//! item after a reasoning item leaves its id in a block anchored on it
//! ([`ReasoningAnchor::ToolCall`](crate::types::ReasoningAnchor) for a call,
//! [`ReasoningAnchor::Text`](crate::types::ReasoningAnchor) for a message): the
//! blocks keep the output's order, and the next request sends the items back
//! in it, exactly. `status` gives the finish reason (`completed`: stop, or
//! tool calls; `incomplete`: `max_output_tokens` is length, `content_filter`
//! content filter); usage counts cached input and reasoning tokens.
//!
//! Stream: the typed events. `response.created` is `Start`, text, refusal and
//! reasoning-summary deltas are handed on as they come, a function call
//! starts at its `response.output_item.added` (calls are told apart by
//! `output_index`) and its `function_call_arguments.delta` pieces follow; its
//! `response.output_item.done` gives the whole arguments. The stream ends
//! with `response.completed` or `response.incomplete`, whose response gives
//! the reasoning blocks, the usage and the finish reason (as
//! [`StreamEvent::ReasoningDone`](crate::types::StreamEvent::ReasoningDone)s, `Usage` and `Finish`), so
//! [`ChatStream::collect_response`](crate::ChatStream::collect_response)
//! equals the non-streamed answer. `response.failed` and `error` events are
//! typed errors (the events before them were handed on); a stream that stops
//! before its terminal event, or says `[DONE]` first, is
//! [`ErrorKind::StreamTruncated`](crate::ErrorKind::StreamTruncated).

mod request;
mod response;
mod stream;
#[cfg(test)]
mod tests;

use crate::dialects::raw_json::RawBody;
use crate::error::Result;
use crate::provider::{HttpParts, RequestContext, Transform};
use crate::types::{ChatRequest, Param, Params};

pub use stream::{MAX_OUTPUT_ITEMS, OpenAiResponsesStreamState};

/// The wire format that issues this dialect's reasoning blocks
/// ([`ReasoningBlock::source`](crate::types::ReasoningBlock::source)).
pub const SOURCE: &str = "openai_responses";

/// The OpenAI Responses dialect (`dialect = openai_responses`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenAiResponsesDialect;

impl Transform for OpenAiResponsesDialect {
    type StreamState = OpenAiResponsesStreamState;

    /// The Responses API has no embeddings (they are `dialect = openai`'s `/embeddings`).
    const SERVES: crate::spec::Capabilities = super::CONVERSATION_JSON;

    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let model = ctx.model_or(&request.model);
        let body = request::body(request, model, ctx.stream)?;
        HttpParts::post_json("/responses", &RawBody(&body))
    }

    parse_via_modules!();

    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        Params::of(&[
            Param::Stop,
            Param::Seed,
            Param::ReasoningBudget,
            Param::CachedContent,
        ])
        .set_in(request)
    }
}
