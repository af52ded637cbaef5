//! A compiled catalog of models: context window, output limit, prices and
//! capabilities, with the cost of a call computed from its reported [`Usage`].
//!
//! The table is plain `static` data compiled into the binary: nothing is read
//! from the network or the disk at startup. Prices drift; the date each row was
//! checked is in `data.rs`, and a model missing from the table (or with an
//! unpublished price) has a cost of `None`, never zero.
//!
//! ```
//! use llm_runtime::{Usage, catalog};
//!
//! let card = catalog::lookup("openai/gpt-4o-mini").expect("in the catalog");
//! assert_eq!(card.context_window, 128_000);
//!
//! let usage = Usage::new(1_000_000, 1_000_000);
//! let cost = catalog::cost("gpt-4o-mini", &usage).expect("priced");
//! assert!((cost.total_usd - 0.75).abs() < 1e-9);
//!
//! assert!(catalog::cost("my-own-finetune", &usage).is_none());
//! ```

mod data;
mod operation_data;
mod operation_price;
mod operations;

pub use operation_price::{ImagePrices, OperationCard, OperationPrice};
pub use operations::{
    image_edit_cost, images_cost, moderation_cost, operation_price, operation_prices, rerank_cost,
    speech_cost, transcription_cost,
};

use crate::spec::{Capabilities, Capability};
use crate::types::{ChatResponse, Usage};

/// What one model costs, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Price {
    /// Uncached prompt tokens.
    pub input: f64,
    /// Completion tokens (reasoning tokens included, as every provider bills them).
    pub output: f64,
    /// Prompt tokens read from the provider's cache, where the provider prices them
    /// separately; `None` bills cached tokens at the `input` rate.
    pub cached_input: Option<f64>,
    /// Prompt tokens written to the provider's cache (Anthropic's five-minute
    /// write, 1.25x `input`), where the provider prices them separately;
    /// `None` bills them at the `input` rate.
    pub cache_write: Option<f64>,
    /// Higher rates that apply to the whole call once the prompt is longer than a threshold.
    pub long_context: Option<LongContextPrice>,
}

/// The rates of a call whose prompt exceeds `above_prompt_tokens` (Gemini 2.5 Pro,
/// Claude Sonnet with the 1M window), in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct LongContextPrice {
    /// The prompt length beyond which these rates apply.
    pub above_prompt_tokens: u32,
    /// Uncached prompt tokens.
    pub input: f64,
    /// Completion tokens.
    pub output: f64,
    /// Cached prompt tokens, where priced.
    pub cached_input: Option<f64>,
    /// Prompt tokens written to the cache, where priced.
    pub cache_write: Option<f64>,
}

/// One model in the catalog.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ModelCard {
    /// The provider's routing name (`openai`, `anthropic`...).
    pub provider: &'static str,
    /// The model id as the provider names it.
    pub id: &'static str,
    /// The most prompt + completion tokens one call may use.
    pub context_window: u32,
    /// The most tokens one completion may have, where published.
    pub max_output_tokens: Option<u32>,
    /// The list price, where published.
    pub price: Option<Price>,
    /// What the model can do.
    pub capabilities: Capabilities,
}

impl ModelCard {
    /// `provider/id`, the name [`Client`](crate::Client) routes.
    pub fn route(&self) -> String {
        format!("{}/{}", self.provider, self.id)
    }

    /// Whether the model can do `cap`.
    pub fn supports(&self, cap: Capability) -> bool {
        self.capabilities.contains(cap)
    }

    /// The cost of a call with this usage, or `None` if the model has no published price.
    pub fn cost(&self, usage: &Usage) -> Option<Cost> {
        let price = self.price?;
        let (input, output, cached, write) = match price.long_context {
            Some(long) if usage.prompt_tokens > long.above_prompt_tokens => {
                (long.input, long.output, long.cached_input, long.cache_write)
            }
            _ => (
                price.input,
                price.output,
                price.cached_input,
                price.cache_write,
            ),
        };
        // Cache reads and writes are both part of the prompt count.
        let cached_tokens = usage.cached_tokens.unwrap_or(0).min(usage.prompt_tokens);
        let write_tokens = usage
            .cache_write_tokens
            .unwrap_or(0)
            .min(usage.prompt_tokens - cached_tokens);
        let uncached_tokens = usage.prompt_tokens - cached_tokens - write_tokens;
        let per_token =
            |tokens: u32, usd_per_million: f64| f64::from(tokens) * usd_per_million / 1_000_000.0;
        let input_usd = per_token(uncached_tokens, input);
        let cached_input_usd = per_token(cached_tokens, cached.unwrap_or(input));
        let cache_write_usd = per_token(write_tokens, write.unwrap_or(input));
        let output_usd = per_token(usage.completion_tokens, output);
        Some(Cost {
            input_usd,
            cached_input_usd,
            cache_write_usd,
            output_usd,
            total_usd: input_usd + cached_input_usd + cache_write_usd + output_usd,
        })
    }
}

/// The cost of one call, in US dollars.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Cost {
    /// Uncached prompt tokens.
    pub input_usd: f64,
    /// Prompt tokens read from the cache.
    pub cached_input_usd: f64,
    /// Prompt tokens written to the cache.
    pub cache_write_usd: f64,
    /// Completion tokens.
    pub output_usd: f64,
    /// The sum.
    pub total_usd: f64,
}

/// Every model in the catalog.
pub fn models() -> &'static [ModelCard] {
    data::MODELS
}

/// Find a model by `provider/id` or by bare id.
///
/// - `openai/gpt-4o` looks under that provider only.
/// - `gpt-4o` looks at every provider.
/// - A dated snapshot (`gpt-4o-mini-2024-07-18`, `claude-sonnet-4-5-20250929`)
///   finds the model it is a snapshot of, as providers report it in responses.
/// - A router's or reseller's prefix the catalog does not know
///   (`openrouter/openai/gpt-4o`, `azure/gpt-4o`) is skipped: the model is
///   looked up as its maker lists it.
pub fn lookup(model: &str) -> Option<&'static ModelCard> {
    if let Some((provider, rest)) = model.split_once('/') {
        if is_catalog_provider(provider) {
            return find(Some(provider), rest);
        }
        if let Some(card) = find(None, model) {
            return Some(card);
        }
        return lookup(rest);
    }
    find(None, model)
}

/// The context window of `model`, if the catalog knows it.
pub fn context_window(model: &str) -> Option<u32> {
    lookup(model).map(|c| c.context_window)
}

/// The cost of a call to `model` with this usage; `None` for a model the catalog
/// does not know or whose price is not published. Cached prompt tokens are billed
/// at the cached rate where the model has one.
///
/// Cache writes are billed at the model's cache-write rate where it has one
/// (Anthropic's five-minute rate; one-hour writes cost more and are not told
/// apart in [`Usage`]). Only token charges are included: per-request fees
/// (web search) and batch discounts are not.
pub fn cost(model: &str, usage: &Usage) -> Option<Cost> {
    lookup(model)?.cost(usage)
}

/// The cost of a response, from its provider, model and reported usage.
pub fn response_cost(response: &ChatResponse) -> Option<Cost> {
    let usage = response.usage.as_ref()?;
    let card = if response.provider.is_empty() {
        lookup(&response.model)
    } else {
        lookup(&format!("{}/{}", response.provider, response.model))
            .or_else(|| lookup(&response.model))
    };
    card?.cost(usage)
}

fn is_catalog_provider(name: &str) -> bool {
    data::MODELS.iter().any(|m| m.provider == name)
}

fn find(provider: Option<&str>, id: &str) -> Option<&'static ModelCard> {
    let in_scope = |m: &&ModelCard| provider.is_none_or(|p| m.provider == p);
    let id = data::ALIASES
        .iter()
        .find(|(alias, _)| *alias == id)
        .map_or(id, |(_, target)| *target);
    if let Some(card) = data::MODELS.iter().filter(in_scope).find(|m| m.id == id) {
        return Some(card);
    }
    // A dated snapshot: the longest catalog id followed by `-` and a date.
    data::MODELS
        .iter()
        .filter(in_scope)
        .filter(|m| {
            id.strip_prefix(m.id)
                .and_then(|s| s.strip_prefix('-'))
                .is_some_and(is_date_suffix)
        })
        .max_by_key(|m| m.id.len())
}

/// The date suffixes providers put on snapshots: `20250929`, `2024-07-18`, `0709`, `08-2024`.
fn is_date_suffix(s: &str) -> bool {
    let digits = |part: &str, n: usize| part.len() == n && part.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = s.split('-').collect();
    match parts.as_slice() {
        [one] => digits(one, 8) || digits(one, 4),
        [year, month, day] => digits(year, 4) && digits(month, 2) && digits(day, 2),
        [month, year] => digits(month, 2) && digits(year, 4),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn at_least_forty_models_across_the_built_in_providers() {
        assert!(models().len() >= 40, "{}", models().len());
        let providers: HashSet<&str> = models().iter().map(|m| m.provider).collect();
        for p in [
            "openai",
            "anthropic",
            "gemini",
            "mistral",
            "groq",
            "deepseek",
            "xai",
            "cohere",
        ] {
            assert!(providers.contains(p), "{p}");
        }
    }

    #[test]
    fn rows_are_unique_and_sane() {
        let mut seen = HashSet::new();
        for m in models() {
            assert!(
                seen.insert((m.provider, m.id)),
                "duplicate {}/{}",
                m.provider,
                m.id
            );
            assert!(m.context_window >= 2048, "{}", m.id);
            if let Some(out) = m.max_output_tokens {
                assert!(out <= m.context_window, "{}", m.id);
            }
            if let Some(p) = m.price {
                assert!(p.input >= 0.0 && p.output >= 0.0, "{}", m.id);
                if let Some(c) = p.cached_input {
                    assert!(c <= p.input, "{}: cached input dearer than input", m.id);
                }
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("gpt-4o").map(|m| m.provider), Some("openai"));
        assert_eq!(
            lookup("openai/gpt-4o-mini").map(|m| m.id),
            Some("gpt-4o-mini")
        );
        assert_eq!(
            lookup("gpt-4o-mini-2024-07-18").map(|m| m.id),
            Some("gpt-4o-mini")
        );
        assert_eq!(lookup("gpt-4o-2024-08-06").map(|m| m.id), Some("gpt-4o"));
        assert_eq!(
            lookup("claude-sonnet-4-5-20250929").map(|m| m.id),
            Some("claude-sonnet-4-5")
        );
        assert_eq!(
            lookup("anthropic/claude-sonnet-4-20250514").map(|m| m.id),
            Some("claude-sonnet-4")
        );
        assert_eq!(
            lookup("claude-sonnet-4-0").map(|m| m.id),
            Some("claude-sonnet-4")
        );
        assert_eq!(lookup("grok-4-0709").map(|m| m.id), Some("grok-4"));
        assert_eq!(lookup("o3-2025-04-16").map(|m| m.id), Some("o3"));
        assert_eq!(
            lookup("openrouter/openai/gpt-4o").map(|m| m.id),
            Some("gpt-4o")
        );
        assert_eq!(
            lookup("groq/openai/gpt-oss-120b").map(|m| m.provider),
            Some("groq")
        );
        // A provider the catalog knows, a model it does not: not someone else's model.
        assert!(lookup("anthropic/gpt-4o").is_none());
        // A suffix that is not a date is a different model.
        assert!(lookup("gpt-4o-audio-preview").is_none());
        assert!(lookup("nobody/knows-this").is_none());
    }

    #[test]
    fn cost_of_plain_and_cached_usage() {
        // gpt-4o: $2.50 in, $1.25 cached in, $10 out per million.
        let mut usage = Usage::new(10_000, 1_000);
        let c = cost("gpt-4o", &usage).expect("priced");
        assert!((c.total_usd - (0.025 + 0.01)).abs() < 1e-12, "{c:?}");
        usage.cached_tokens = Some(4_000);
        let c = cost("gpt-4o", &usage).expect("priced");
        assert!((c.input_usd - 0.015).abs() < 1e-12);
        assert!((c.cached_input_usd - 0.005).abs() < 1e-12);
        assert!((c.total_usd - 0.030).abs() < 1e-12);
    }

    #[test]
    fn cache_reads_and_writes_use_the_cached_prices() {
        // claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out.
        let mut usage = Usage::new(10_000, 1_000);
        usage.cached_tokens = Some(6_000);
        usage.cache_write_tokens = Some(2_000);
        let c = cost("claude-sonnet-4-5", &usage).expect("priced");
        assert!((c.input_usd - 0.006).abs() < 1e-12, "{c:?}");
        assert!((c.cached_input_usd - 0.0018).abs() < 1e-12, "{c:?}");
        assert!((c.cache_write_usd - 0.0075).abs() < 1e-12, "{c:?}");
        assert!((c.output_usd - 0.015).abs() < 1e-12, "{c:?}");
        assert!((c.total_usd - 0.0303).abs() < 1e-12, "{c:?}");
        // Without a cache-write price, writes cost the input rate (gpt-4o).
        let mut usage = Usage::new(10_000, 0);
        usage.cache_write_tokens = Some(10_000);
        let c = cost("gpt-4o", &usage).expect("priced");
        assert!((c.cache_write_usd - 0.025).abs() < 1e-12, "{c:?}");
        assert!((c.total_usd - 0.025).abs() < 1e-12, "{c:?}");
        // Counts past the prompt never bill more than the prompt.
        let mut usage = Usage::new(100, 0);
        usage.cached_tokens = Some(80);
        usage.cache_write_tokens = Some(80);
        let c = cost("claude-sonnet-4-5", &usage).expect("priced");
        assert_eq!(c.input_usd, 0.0);
        assert!(
            (c.cache_write_usd - 20.0 * 3.75 / 1e6).abs() < 1e-15,
            "{c:?}"
        );
    }

    #[test]
    fn long_context_rates() {
        // gemini-2.5-pro: $1.25/$10 up to 200k prompt tokens, $2.50/$15 above.
        let short = cost("gemini-2.5-pro", &Usage::new(200_000, 0)).expect("priced");
        assert!((short.total_usd - 0.25).abs() < 1e-12);
        let long = cost("gemini-2.5-pro", &Usage::new(400_000, 1_000_000)).expect("priced");
        assert!((long.total_usd - (1.0 + 15.0)).abs() < 1e-9);
    }

    #[test]
    fn unknown_cost_is_none_never_zero() {
        assert!(cost("definitely-not-a-model", &Usage::new(1, 1)).is_none());
        let unpriced = models().iter().find(|m| m.price.is_none());
        if let Some(m) = unpriced {
            assert!(m.cost(&Usage::new(1, 1)).is_none());
        }
    }

    #[test]
    fn date_suffixes() {
        assert!(is_date_suffix("20250929"));
        assert!(is_date_suffix("2024-07-18"));
        assert!(is_date_suffix("0709"));
        assert!(!is_date_suffix("mini"));
        assert!(!is_date_suffix("12"));
        assert!(!is_date_suffix("audio-preview"));
        assert!(!is_date_suffix("6-20260101"));
    }
}
