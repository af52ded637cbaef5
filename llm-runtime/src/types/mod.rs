//! The unified request, response and stream types shared by every provider.

mod embedding;
mod message;
mod meta;
mod native;
mod param;
mod reasoning;
mod request;
mod response;
mod stream_event;
mod usage;

pub use embedding::{Embedding, EmbeddingRequest, EmbeddingResponse};
pub use message::{ImageSource, Message, Part, Role, ToolCall, ToolCallKind};
pub use meta::{
    FallbackClass, RateLimit, RateLimits, ResponseMeta, RouteOutcome, RouteStep, RoutingTrace,
};
pub use native::{NativeBody, WireAnswer};
pub use param::{Param, Params};
pub use reasoning::{CacheBreakpoint, CacheTtl, ReasoningAnchor, ReasoningBlock};
pub use request::{
    ChatRequest, ReasoningEffort, ReasoningSummary, ResponseFormat, Tool, ToolChoice,
    UnsupportedParamPolicy,
};
pub use response::{ChatResponse, FinishReason, ModelInfo};
pub use stream_event::StreamEvent;
pub use usage::Usage;
