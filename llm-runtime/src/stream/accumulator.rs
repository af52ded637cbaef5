//! [`ResponseAccumulator`]: stream events folded back into a [`ChatResponse`].

use std::collections::BTreeMap;

use crate::types::{
    ChatResponse, FinishReason, Part, ReasoningAnchor, ReasoningBlock, StreamEvent, ToolCall,
};

/// Builds a [`ChatResponse`] from stream events.
///
/// Reasoning blocks are assembled as the non-streamed parse gives them:
/// [`StreamEvent::ReasoningDelta`]s open a block (or extend the open one), a
/// [`StreamEvent::ReasoningSignature`] on the reasoning closes it with its
/// signature, and a signature anchored on the answer or a
/// [`StreamEvent::RedactedReasoning`] is a block of its own.
#[derive(Debug, Default)]
pub struct ResponseAccumulator {
    id: String,
    model: String,
    text: String,
    reasoning: String,
    blocks: Vec<ReasoningBlock>,
    /// The last block of `blocks` still takes reasoning text.
    block_open: bool,
    refusal: String,
    calls: BTreeMap<usize, ToolCall>,
    usage: Option<crate::types::Usage>,
    finish: Option<FinishReason>,
}

impl ResponseAccumulator {
    /// Take one event in.
    pub fn push(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Start { id, model } => {
                if self.id.is_empty() {
                    self.id = id;
                }
                if self.model.is_empty() {
                    self.model = model;
                }
            }
            StreamEvent::TextDelta { text } => self.text.push_str(&text),
            StreamEvent::ReasoningDelta { text } => self.reasoning_text(text),
            StreamEvent::ReasoningSignature {
                signature,
                source,
                anchor,
            } => self.reasoning_signature(signature, source, anchor),
            StreamEvent::RedactedReasoning { data, source } => {
                self.blocks.push(ReasoningBlock::redacted(data, source));
                self.block_open = false;
            }
            StreamEvent::ReasoningDone { block } => self.reasoning_done(block),
            StreamEvent::RefusalDelta { text } => self.refusal.push_str(&text),
            StreamEvent::ToolCallStart { index, id, name } => {
                let call = self.call(index);
                if call.id.is_empty() {
                    call.id = id;
                }
                if call.name.is_empty() {
                    call.name = name;
                }
            }
            StreamEvent::CustomToolCall { index } => {
                self.call(index).kind = crate::types::ToolCallKind::Custom;
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                self.call(index).arguments.push_str(&arguments);
            }
            StreamEvent::ToolCallEnd { index, arguments } => self.call(index).arguments = arguments,
            StreamEvent::Usage { usage } => self.usage = Some(usage),
            StreamEvent::Finish { reason } => self.finish = Some(reason),
        }
    }

    /// Reasoning text: into the open block, or a new one.
    fn reasoning_text(&mut self, text: String) {
        self.reasoning.push_str(&text);
        match self.blocks.last_mut() {
            Some(block) if self.block_open => block.text.push_str(&text),
            _ => {
                self.blocks.push(ReasoningBlock::text(text));
                self.block_open = true;
            }
        }
    }

    /// A signature closes the open block it signs, or stands on its own.
    fn reasoning_signature(&mut self, signature: String, source: String, anchor: ReasoningAnchor) {
        let open = self.block_open && anchor == ReasoningAnchor::Own;
        match self.blocks.last_mut() {
            Some(block) if open => {
                block.signature = Some(signature);
                block.source = Some(source);
            }
            _ => self.blocks.push(
                ReasoningBlock::default()
                    .signed(signature, source)
                    .anchored(anchor),
            ),
        }
        self.block_open = false;
    }

    /// A finished block replaces the open one (and its text at the end of `reasoning`).
    fn reasoning_done(&mut self, block: ReasoningBlock) {
        match self.blocks.last_mut() {
            Some(open) if self.block_open => {
                if self.reasoning.ends_with(open.text.as_str()) {
                    let kept = self.reasoning.len() - open.text.len();
                    self.reasoning.truncate(kept);
                }
                self.reasoning.push_str(&block.text);
                *open = block;
            }
            _ => {
                self.reasoning.push_str(&block.text);
                self.blocks.push(block);
            }
        }
        self.block_open = false;
    }

    fn call(&mut self, index: usize) -> &mut ToolCall {
        self.calls.entry(index).or_default()
    }

    /// The assembled response (provider and dropped params left empty).
    pub fn finish(self) -> ChatResponse {
        let mut r = ChatResponse::empty();
        r.id = self.id;
        r.model = self.model;
        if !self.text.is_empty() {
            r.message.content.push(Part::text(self.text));
        }
        r.message.tool_calls = self.calls.into_values().collect();
        r.message.reasoning = self.blocks;
        r.usage = self.usage;
        r.finish_reason = self.finish;
        r.reasoning = (!self.reasoning.is_empty()).then_some(self.reasoning);
        r.refusal = (!self.refusal.is_empty()).then_some(self.refusal);
        r
    }
}
