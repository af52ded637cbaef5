//! Stream framing (SSE, NDJSON, AWS event stream), tool-call assembly and the
//! accumulator that folds events back into a response.

mod accumulator;
mod eventstream;
pub(crate) mod frame;
mod framer;
mod ndjson;
pub(crate) mod read_ahead;
mod replay;
mod sse;
mod tool_calls;
mod utf8_text;

pub use accumulator::ResponseAccumulator;
pub use eventstream::{EventStreamDecoder, encode_event_message};
pub use frame::{Control, Frame, StreamFormat};
pub use framer::Framer;
pub use ndjson::NdjsonDecoder;
pub(crate) use replay::response_events;
pub use sse::SseDecoder;
pub use tool_calls::{MAX_TOOL_ARGUMENT_BYTES, MAX_TOOL_CALLS, ToolCallAssembler};

/// The longest line (or NDJSON document) a decoder buffers before it fails
/// with [`ErrorKind::Decode`](crate::ErrorKind::Decode): 8 MiB.
pub const DEFAULT_MAX_LINE: usize = 8 * 1024 * 1024;
