//! The unified request, response and stream types shared by every provider.

mod batch;
mod check;
mod embedding;
mod images;
mod message;
mod meta;
mod moderation;
mod native;
mod operation_table;
mod param;
mod reasoning;
mod request;
mod rerank;
mod response;
mod setters;
mod speech;
mod stream_event;
mod transcription;
mod upload;
mod usage;

pub use batch::{
    BatchCounts, BatchItem, BatchJob, BatchOutcome, BatchRequest, BatchResult, BatchResults,
    BatchStatus, match_outcomes,
};
pub use embedding::{Embedding, EmbeddingRequest, EmbeddingResponse};
pub use images::{
    GeneratedImage, ImageData, ImageEditRequest, ImageOptions, ImageRequest, ImageResponse,
    ImageResponseFormat,
};
pub use message::{ImageSource, Message, Part, Role, ToolCall, ToolCallKind};
pub use meta::{
    FallbackClass, RateLimit, RateLimits, ResponseMeta, RouteOutcome, RouteStep, RoutingTrace,
};
pub use moderation::{ModerationInput, ModerationRequest, ModerationResponse, ModerationResult};
pub use native::{NativeBody, WireAnswer};
pub(crate) use operation_table::operation_table;
pub use param::{Param, Params};
pub use reasoning::{CacheBreakpoint, CacheTtl, ReasoningAnchor, ReasoningBlock};
pub use request::{
    ChatRequest, ReasoningEffort, ReasoningSummary, ResponseFormat, Tool, ToolChoice,
    UnsupportedParamPolicy,
};
pub use rerank::{RerankRequest, RerankResponse, RerankResult};
pub use response::{ChatResponse, FinishReason, ModelInfo};
pub(crate) use setters::setters;
pub use speech::{AudioFormat, SpeechRequest};
pub use stream_event::StreamEvent;
pub use transcription::{
    TimestampGranularity, TranscriptFormat, TranscriptSegment, TranscriptWord, Transcription,
    TranscriptionRequest, TranscriptionTask,
};
pub use upload::FileUpload;
pub use usage::Usage;
