//! Stream framing (SSE, NDJSON, AWS event stream) and the [`ChatStream`] callers consume.

pub(crate) mod chat_stream;
mod eventstream;
pub(crate) mod frame;
mod framer;
mod ndjson;
mod read_ahead;
mod sse;
mod tool_calls;
mod utf8_text;

pub use chat_stream::{ChatStream, ResponseAccumulator};
pub use eventstream::{EventStreamDecoder, encode_event_message};
pub use frame::{Control, Frame, StreamFormat};
pub use framer::Framer;
pub use ndjson::NdjsonDecoder;
pub use sse::SseDecoder;
pub use tool_calls::{MAX_TOOL_ARGUMENT_BYTES, MAX_TOOL_CALLS, ToolCallAssembler};

/// The longest line (or NDJSON document) a decoder buffers before it fails
/// with [`ErrorKind::Decode`](crate::ErrorKind::Decode): 8 MiB.
pub const DEFAULT_MAX_LINE: usize = 8 * 1024 * 1024;
