use serde::{Deserialize, Serialize};

/// Token usage of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt (including cached ones).
    pub prompt_tokens: u32,
    /// Tokens generated (including reasoning tokens).
    pub completion_tokens: u32,
    /// Their sum.
    pub total_tokens: u32,
    /// Prompt tokens served from the provider's cache (cache reads), where reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u32>,
    /// Prompt tokens written to the provider's cache (Anthropic
    /// `cache_creation_input_tokens`), where reported; part of `prompt_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u32>,
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
            cache_write_tokens: None,
            reasoning_tokens: None,
        }
    }
}

/// As a person reads it: `19 tokens (12 in, 7 out)`, plus the cached and
/// reasoning counts where reported.
///
/// ```
/// let mut u = llm_runtime::Usage::new(12, 7);
/// assert_eq!(u.to_string(), "19 tokens (12 in, 7 out)");
/// u.cached_tokens = Some(8);
/// assert_eq!(u.to_string(), "19 tokens (12 in, 7 out, 8 cached)");
/// ```
impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} tokens ({} in, {} out",
            self.total_tokens, self.prompt_tokens, self.completion_tokens
        )?;
        if let Some(n) = self.cached_tokens {
            write!(f, ", {n} cached")?;
        }
        if let Some(n) = self.cache_write_tokens {
            write!(f, ", {n} written to the cache")?;
        }
        if let Some(n) = self.reasoning_tokens {
            write!(f, ", {n} reasoning")?;
        }
        f.write_str(")")
    }
}
