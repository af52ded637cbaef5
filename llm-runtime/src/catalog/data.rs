//! The catalog rows. Prices are list prices in US dollars per million tokens,
//! standard (non-batch) tier.
//!
//! Looked up on 2026-11-26 with the project's search tool over stored copies of
//! the providers' pricing pages (docs.anthropic.com/en/docs/about-claude/pricing,
//! api-docs.deepseek.com/quick_start/pricing, docs.x.ai/docs/models) and of
//! price summaries quoting them (OpenAI, Gemini, Mistral, Groq, Cohere, Perplexity;
//! the summaries were dated March-June 2026). Where sources disagreed, the
//! provider's own page won; where no price could be confirmed the row has
//! `price: None`, so its cost is unknown rather than zero.
//! Re-check before relying on a figure for billing.

use super::{LongContextPrice, ModelCard, Price};
use crate::spec::{Capabilities, Capability as C};

const TEXT: Capabilities = Capabilities::of(&[C::Chat, C::Stream, C::Tools, C::JsonMode]);
const TEXT_REASONING: Capabilities =
    Capabilities::of(&[C::Chat, C::Stream, C::Tools, C::JsonMode, C::Reasoning]);
const VISION: Capabilities =
    Capabilities::of(&[C::Chat, C::Stream, C::Tools, C::Vision, C::JsonMode]);
const VISION_REASONING: Capabilities = Capabilities::of(&[
    C::Chat,
    C::Stream,
    C::Tools,
    C::Vision,
    C::JsonMode,
    C::Reasoning,
]);
/// Chat without tool calls (search-grounded and plain completion models).
const CHAT_ONLY: Capabilities = Capabilities::of(&[C::Chat, C::Stream, C::JsonMode]);
const EMBEDDINGS: Capabilities = Capabilities::of(&[C::Embeddings]);

const fn price(input: f64, output: f64, cached_input: Option<f64>) -> Option<Price> {
    Some(Price {
        input,
        output,
        cached_input,
        cache_write: None,
        long_context: None,
    })
}

/// An Anthropic price: cache reads at `cached_input`, five-minute cache
/// writes at 1.25x `input` (the published multiplier for every Claude model).
const fn anthropic(input: f64, output: f64, cached_input: f64) -> Option<Price> {
    Some(Price {
        input,
        output,
        cached_input: Some(cached_input),
        cache_write: Some(input * 1.25),
        long_context: None,
    })
}

const fn tiered(
    input: f64,
    output: f64,
    cached_input: Option<f64>,
    cache_write: Option<f64>,
    long: LongContextPrice,
) -> Option<Price> {
    Some(Price {
        input,
        output,
        cached_input,
        cache_write,
        long_context: Some(long),
    })
}

const fn model(
    provider: &'static str,
    id: &'static str,
    context_window: u32,
    max_output_tokens: Option<u32>,
    price: Option<Price>,
    capabilities: Capabilities,
) -> ModelCard {
    ModelCard {
        provider,
        id,
        context_window,
        max_output_tokens,
        price,
        capabilities,
    }
}

/// Claude Sonnet 4 and 4.5 prompts over 200k tokens (the 1M-context beta).
const SONNET_OVER_200K: LongContextPrice = LongContextPrice {
    above_prompt_tokens: 200_000,
    input: 6.0,
    output: 22.50,
    cached_input: Some(0.60),
    cache_write: Some(7.50),
};

/// Gemini 2.5 Pro prompts over 200k tokens.
const GEMINI_PRO_OVER_200K: LongContextPrice = LongContextPrice {
    above_prompt_tokens: 200_000,
    input: 2.50,
    output: 15.0,
    cached_input: Some(0.25),
    cache_write: None,
};

#[rustfmt::skip]
pub(super) static MODELS: &[ModelCard] = &[
    // ---- OpenAI (checked 2026-11-26) ----
    model("openai", "gpt-5", 400_000, Some(128_000), price(1.25, 10.0, Some(0.125)), VISION_REASONING),
    model("openai", "gpt-5-mini", 400_000, Some(128_000), price(0.25, 2.0, Some(0.025)), VISION_REASONING),
    model("openai", "gpt-5-nano", 400_000, Some(128_000), price(0.05, 0.40, Some(0.005)), VISION_REASONING),
    model("openai", "gpt-5.1", 400_000, Some(128_000), price(1.25, 10.0, Some(0.125)), VISION_REASONING),
    model("openai", "gpt-4.1", 1_047_576, Some(32_768), price(2.0, 8.0, Some(0.50)), VISION),
    model("openai", "gpt-4.1-mini", 1_047_576, Some(32_768), price(0.40, 1.60, Some(0.10)), VISION),
    model("openai", "gpt-4.1-nano", 1_047_576, Some(32_768), price(0.10, 0.40, Some(0.025)), VISION),
    model("openai", "gpt-4o", 128_000, Some(16_384), price(2.50, 10.0, Some(1.25)), VISION),
    model("openai", "gpt-4o-mini", 128_000, Some(16_384), price(0.15, 0.60, Some(0.075)), VISION),
    model("openai", "o1", 200_000, Some(100_000), price(15.0, 60.0, Some(7.50)), VISION_REASONING),
    model("openai", "o3", 200_000, Some(100_000), price(2.0, 8.0, Some(0.50)), VISION_REASONING),
    model("openai", "o3-mini", 200_000, Some(100_000), price(1.10, 4.40, Some(0.55)), TEXT_REASONING),
    model("openai", "o4-mini", 200_000, Some(100_000), price(1.10, 4.40, Some(0.275)), VISION_REASONING),
    model("openai", "gpt-3.5-turbo", 16_385, Some(4_096), price(0.50, 1.50, None), TEXT),
    model("openai", "text-embedding-3-small", 8_191, None, price(0.02, 0.0, None), EMBEDDINGS),
    model("openai", "text-embedding-3-large", 8_191, None, price(0.13, 0.0, None), EMBEDDINGS),
    // ---- Anthropic (docs.anthropic.com pricing, checked 2026-11-26) ----
    // Cache writes: 1.25x input for the five-minute cache (`Usage::cache_write_tokens`).
    model("anthropic", "claude-opus-4-5", 200_000, Some(64_000), anthropic(5.0, 25.0, 0.50), VISION_REASONING),
    model("anthropic", "claude-opus-4-1", 200_000, Some(32_000), anthropic(15.0, 75.0, 1.50), VISION_REASONING),
    model("anthropic", "claude-opus-4", 200_000, Some(32_000), anthropic(15.0, 75.0, 1.50), VISION_REASONING),
    model("anthropic", "claude-sonnet-4-5", 200_000, Some(64_000), tiered(3.0, 15.0, Some(0.30), Some(3.75), SONNET_OVER_200K), VISION_REASONING),
    model("anthropic", "claude-sonnet-4", 200_000, Some(64_000), tiered(3.0, 15.0, Some(0.30), Some(3.75), SONNET_OVER_200K), VISION_REASONING),
    model("anthropic", "claude-haiku-4-5", 200_000, Some(64_000), anthropic(1.0, 5.0, 0.10), VISION_REASONING),
    model("anthropic", "claude-3-5-haiku", 200_000, Some(8_192), anthropic(0.80, 4.0, 0.08), VISION),
    model("anthropic", "claude-3-haiku", 200_000, Some(4_096), anthropic(0.25, 1.25, 0.03), VISION),
    // ---- Google Gemini (checked 2026-11-26) ----
    model("gemini", "gemini-2.5-pro", 1_048_576, Some(65_536), tiered(1.25, 10.0, Some(0.125), None, GEMINI_PRO_OVER_200K), VISION_REASONING),
    model("gemini", "gemini-2.5-flash", 1_048_576, Some(65_536), price(0.30, 2.50, Some(0.03)), VISION_REASONING),
    model("gemini", "gemini-2.5-flash-lite", 1_048_576, Some(65_536), price(0.10, 0.40, Some(0.01)), VISION_REASONING),
    model("gemini", "gemini-2.0-flash", 1_048_576, Some(8_192), price(0.10, 0.40, Some(0.025)), VISION),
    model("gemini", "gemini-embedding-001", 2_048, None, price(0.15, 0.0, None), EMBEDDINGS),
    // ---- Mistral (checked 2026-11-26; Mistral publishes no cached-input rate) ----
    model("mistral", "mistral-large-latest", 256_000, None, price(0.50, 1.50, None), VISION),
    model("mistral", "mistral-medium-latest", 128_000, None, price(0.40, 2.0, None), VISION),
    model("mistral", "mistral-small-latest", 128_000, None, price(0.10, 0.30, None), VISION),
    model("mistral", "magistral-medium-latest", 128_000, None, price(2.0, 5.0, None), TEXT_REASONING),
    model("mistral", "magistral-small-latest", 128_000, None, price(0.50, 1.50, None), TEXT_REASONING),
    model("mistral", "codestral-latest", 256_000, None, price(0.30, 0.90, None), TEXT),
    model("mistral", "ministral-8b-latest", 128_000, None, None, TEXT),
    model("mistral", "mistral-embed", 8_192, None, price(0.10, 0.0, None), EMBEDDINGS),
    // ---- Groq (checked 2026-11-26) ----
    model("groq", "llama-3.3-70b-versatile", 131_072, Some(32_768), price(0.59, 0.79, None), TEXT),
    model("groq", "llama-3.1-8b-instant", 131_072, Some(131_072), price(0.05, 0.08, None), TEXT),
    model("groq", "openai/gpt-oss-120b", 131_072, Some(65_536), price(0.15, 0.60, Some(0.075)), TEXT_REASONING),
    model("groq", "openai/gpt-oss-20b", 131_072, Some(65_536), price(0.075, 0.30, Some(0.0375)), TEXT_REASONING),
    model("groq", "meta-llama/llama-4-scout-17b-16e-instruct", 131_072, Some(8_192), price(0.11, 0.34, None), VISION),
    model("groq", "meta-llama/llama-4-maverick-17b-128e-instruct", 131_072, Some(8_192), price(0.20, 0.60, None), VISION),
    // ---- DeepSeek (api-docs.deepseek.com, V3.2 prices, checked 2026-11-26) ----
    model("deepseek", "deepseek-chat", 128_000, Some(8_192), price(0.28, 0.42, Some(0.028)), TEXT),
    model("deepseek", "deepseek-reasoner", 128_000, Some(65_536), price(0.28, 0.42, Some(0.028)), TEXT_REASONING),
    // ---- xAI (docs.x.ai, checked 2026-11-26; output limits are not published) ----
    model("xai", "grok-4", 256_000, None, price(3.0, 15.0, Some(0.75)), VISION_REASONING),
    model("xai", "grok-4-fast-reasoning", 2_000_000, None, price(0.20, 0.50, Some(0.05)), VISION_REASONING),
    model("xai", "grok-4-fast-non-reasoning", 2_000_000, None, price(0.20, 0.50, Some(0.05)), VISION),
    model("xai", "grok-code-fast-1", 256_000, None, price(0.20, 1.50, Some(0.02)), TEXT_REASONING),
    model("xai", "grok-3", 131_072, None, price(3.0, 15.0, Some(0.75)), TEXT),
    model("xai", "grok-3-mini", 131_072, None, price(0.30, 0.50, Some(0.075)), TEXT_REASONING),
    // ---- Cohere (checked 2026-11-26) ----
    model("cohere", "command-a-03-2025", 256_000, Some(8_000), price(2.50, 10.0, None), TEXT),
    model("cohere", "command-a-reasoning-08-2025", 256_000, Some(32_000), None, TEXT_REASONING),
    model("cohere", "command-r-plus-08-2024", 128_000, Some(4_000), price(2.50, 10.0, None), TEXT),
    model("cohere", "command-r-08-2024", 128_000, Some(4_000), price(0.15, 0.60, None), TEXT),
    model("cohere", "command-r7b-12-2024", 128_000, Some(4_000), price(0.0375, 0.15, None), TEXT),
    // ---- Perplexity (checked 2026-11-26; per-request search fees are not included) ----
    model("perplexity", "sonar", 128_000, None, price(1.0, 1.0, None), CHAT_ONLY),
    model("perplexity", "sonar-pro", 200_000, Some(8_000), price(3.0, 15.0, None), CHAT_ONLY),
];

/// Other names providers accept for a catalog model (`alias`, `id`).
pub(super) static ALIASES: &[(&str, &str)] = &[
    ("claude-opus-4-0", "claude-opus-4"),
    ("claude-sonnet-4-0", "claude-sonnet-4"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("grok-4-latest", "grok-4"),
    ("grok-3-latest", "grok-3"),
    ("grok-3-mini-latest", "grok-3-mini"),
    ("command-a", "command-a-03-2025"),
    ("command-r-plus", "command-r-plus-08-2024"),
    ("command-r", "command-r-08-2024"),
    ("command-r7b", "command-r7b-12-2024"),
];
