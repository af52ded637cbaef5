use super::frame::{Frame, StreamFormat};
use crate::error::Result;

use super::{EventStreamDecoder, NdjsonDecoder, SseDecoder};

/// The decoder for a [`StreamFormat`].
#[derive(Debug)]
pub enum Framer {
    /// Server-sent events.
    Sse(SseDecoder),
    /// Newline-delimited JSON.
    Ndjson(NdjsonDecoder),
    /// AWS event stream messages.
    AwsEventStream(EventStreamDecoder),
}

impl Framer {
    /// A framer for `format` that fails on lines (or event stream messages)
    /// longer than `max_line` bytes.
    pub fn new(format: StreamFormat, max_line: usize) -> Self {
        match format {
            StreamFormat::Sse => Framer::Sse(SseDecoder::with_max_line(max_line)),
            StreamFormat::Ndjson => Framer::Ndjson(NdjsonDecoder::with_max_line(max_line)),
            StreamFormat::AwsEventStream => {
                Framer::AwsEventStream(EventStreamDecoder::with_max_message(max_line))
            }
        }
    }

    /// Feed bytes; complete frames are pushed to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        match self {
            Framer::Sse(d) => d.feed(chunk, out),
            Framer::Ndjson(d) => d.feed(chunk, out),
            Framer::AwsEventStream(d) => d.feed(chunk, out),
        }
    }

    /// The byte stream ended: push what is complete.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        match self {
            Framer::Sse(d) => d.finish(out),
            Framer::Ndjson(d) => d.finish(out),
            Framer::AwsEventStream(d) => d.finish(out),
        }
    }
}
