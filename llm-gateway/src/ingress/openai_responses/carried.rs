//! Another API's reasoning state, carried in a Responses `encrypted_content`.
//!
//! An Anthropic upstream signs its thinking and wants the signed block back
//! on the next tool-use turn; a Responses client sends back only the
//! reasoning items it got. So a signed (or redacted) block of another API
//! goes out as a reasoning item whose `encrypted_content` is
//! `llm-gateway.v1.{sig|redacted}.{source}.{payload}`, and comes back in as
//! the same block. The payload is the upstream's own opaque text, unchanged.

use llm_runtime::types::{ReasoningAnchor, ReasoningBlock};

const PREFIX: &str = "llm-gateway.v1.";

/// The `encrypted_content` that carries `block`, when it is another API's
/// signed or redacted reasoning on a block of its own.
pub(super) fn wrap(block: &ReasoningBlock) -> Option<String> {
    let source = block.source.as_deref().filter(|s| !s.contains('.'))?;
    if block.anchor != ReasoningAnchor::Own {
        return None;
    }
    match (&block.signature, &block.encrypted) {
        (_, Some(data)) if block.redacted => Some(format!("{PREFIX}redacted.{source}.{data}")),
        (Some(signature), _) => Some(format!("{PREFIX}sig.{source}.{signature}")),
        _ => None,
    }
}

/// The block an `encrypted_content` carries, with the item's summary `text`;
/// `None` for a Responses upstream's own payload.
pub(super) fn unwrap(text: String, encrypted: &str) -> Option<ReasoningBlock> {
    let rest = encrypted.strip_prefix(PREFIX)?;
    let (kind, rest) = rest.split_once('.')?;
    let (source, payload) = rest.split_once('.')?;
    match kind {
        "sig" => Some(ReasoningBlock::text(text).signed(payload, source)),
        "redacted" => Some(ReasoningBlock::redacted(payload, source)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_carried_block_comes_back_as_it_went(
            text in "\\PC{0,12}", payload in "[A-Za-z0-9+/=.]{1,24}", redacted in any::<bool>(),
        ) {
            let block = if redacted {
                ReasoningBlock::redacted(payload, "anthropic")
            } else {
                ReasoningBlock::text(text.clone()).signed(payload, "anthropic")
            };
            let carried = wrap(&block).unwrap();
            let back = unwrap(if redacted { String::new() } else { text }, &carried).unwrap();
            prop_assert_eq!(back, block);
        }
    }

    #[test]
    fn plain_and_own_reasoning_is_not_carried() {
        assert_eq!(wrap(&ReasoningBlock::text("t")), None);
        assert_eq!(unwrap("t".into(), "gAAAAB=="), None);
        let anchored = ReasoningBlock::text("")
            .signed("s", "gemini")
            .anchored(ReasoningAnchor::Text);
        assert_eq!(wrap(&anchored), None);
    }
}
