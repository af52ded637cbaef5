use serde::{Deserialize, Serialize};

/// Token usage of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt (including cached ones).
    pub prompt_tokens: u32,
    /// Tokens generated (including reasoning tokens).
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
    /// Prompt tokens served from the provider's cache, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u32>,
    /// Completion tokens spent reasoning, where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u32>,
}

impl Usage {
    /// Usage from prompt and completion counts; the total is their sum.
    pub fn new(prompt_tokens: u32, completion_tokens: u32) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            cached_tokens: None,
            reasoning_tokens: None,
        }
    }
}
