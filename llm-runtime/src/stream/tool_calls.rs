use crate::types::ToolCall;

/// Assembles streamed tool calls by index (stub; being written).
#[derive(Debug, Default)]
pub struct ToolCallAssembler {
    calls: Vec<ToolCall>,
}

impl ToolCallAssembler {
    /// The finished calls, in index order.
    pub fn finish(self) -> Vec<ToolCall> {
        self.calls
    }
}
