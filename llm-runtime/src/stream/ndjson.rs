use crate::error::Result;
use crate::provider::Frame;

/// Incremental NDJSON decoder (stub; being written).
#[derive(Debug, Default)]
pub struct NdjsonDecoder {
    _max_line: usize,
}

impl NdjsonDecoder {
    /// A decoder with the default line cap.
    pub fn new() -> Self {
        Self::with_max_line(super::DEFAULT_MAX_LINE)
    }

    /// A decoder that fails on a line longer than `max_line` bytes.
    pub fn with_max_line(max_line: usize) -> Self {
        NdjsonDecoder { _max_line: max_line }
    }

    /// Feed bytes; complete events are pushed to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Frame>) -> Result<()> {
        let _ = (chunk, out);
        Ok(())
    }

    /// The byte stream ended.
    pub fn finish(&mut self, out: &mut Vec<Frame>) -> Result<()> {
        let _ = out;
        Ok(())
    }
}
