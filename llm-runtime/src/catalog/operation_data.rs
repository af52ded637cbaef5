//! The per-operation price rows, from the providers' pricing pages
//! (OpenAI: platform.openai.com/docs/pricing; Groq: groq.com/pricing;
//! Cohere: cohere.com/pricing), as published when these rows were written
//! (2026-12-07). Models billed by tokens for these operations
//! (gpt-4o-mini-tts, Jina/Voyage/Together rerank) have no row: unpriced.

use super::operation_price::{ImagePrices, OperationCard, OperationPrice};

const fn card(provider: &'static str, model: &'static str, price: OperationPrice) -> OperationCard {
    OperationCard {
        provider,
        model,
        price,
    }
}

const fn per_minute(usd: f64, minimum_seconds: f64) -> OperationPrice {
    OperationPrice::PerMinute {
        usd,
        minimum_seconds,
    }
}

#[cfg(test)]
pub(super) const DALL_E_3_ROWS: usize = DALL_E_3.rows.len();

#[rustfmt::skip]
const DALL_E_3: ImagePrices = ImagePrices {
    default_quality: "standard",
    default_size: "1024x1024",
    rows: &[
        ("standard", "1024x1024", 0.040), ("standard", "1024x1792", 0.080), ("standard", "1792x1024", 0.080),
        ("hd", "1024x1024", 0.080), ("hd", "1024x1792", 0.120), ("hd", "1792x1024", 0.120),
    ],
};

/// dall-e-2 has one quality.
#[rustfmt::skip]
const DALL_E_2: ImagePrices = ImagePrices {
    default_quality: "standard",
    default_size: "1024x1024",
    rows: &[("standard", "256x256", 0.016), ("standard", "512x512", 0.018), ("standard", "1024x1024", 0.020)],
};

/// gpt-image-1 defaults to `auto` quality and size: the model chooses, so
/// a request that names neither is unpriced.
#[rustfmt::skip]
const GPT_IMAGE_1: ImagePrices = ImagePrices {
    default_quality: "auto",
    default_size: "auto",
    rows: &[
        ("low", "1024x1024", 0.011), ("low", "1024x1536", 0.016), ("low", "1536x1024", 0.016),
        ("medium", "1024x1024", 0.042), ("medium", "1024x1536", 0.063), ("medium", "1536x1024", 0.063),
        ("high", "1024x1024", 0.167), ("high", "1024x1536", 0.25), ("high", "1536x1024", 0.25),
    ],
};

#[rustfmt::skip]
pub(super) static OPERATION_PRICES: &[OperationCard] = &[
    // ---- images ----
    card("openai", "dall-e-3", OperationPrice::PerImage(DALL_E_3)),
    card("openai", "dall-e-2", OperationPrice::PerImage(DALL_E_2)),
    card("openai", "gpt-image-1", OperationPrice::PerImage(GPT_IMAGE_1)),
    // ---- speech ----
    card("openai", "tts-1", OperationPrice::PerMillionCharacters(15.0)),
    card("openai", "tts-1-hd", OperationPrice::PerMillionCharacters(30.0)),
    // ---- transcription ----
    card("openai", "whisper-1", per_minute(0.006, 0.0)),
    card("openai", "gpt-4o-transcribe", per_minute(0.006, 0.0)),
    card("openai", "gpt-4o-mini-transcribe", per_minute(0.003, 0.0)),
    card("groq", "whisper-large-v3", per_minute(0.111 / 60.0, 10.0)),
    card("groq", "whisper-large-v3-turbo", per_minute(0.04 / 60.0, 10.0)),
    // ---- rerank ----
    card("cohere", "rerank-v3.5", OperationPrice::PerThousandSearches(2.0)),
    card("cohere", "rerank-english-v3.0", OperationPrice::PerThousandSearches(2.0)),
    card("cohere", "rerank-multilingual-v3.0", OperationPrice::PerThousandSearches(2.0)),
    // ---- moderation: free ----
    card("openai", "omni-moderation-latest", OperationPrice::Free),
    card("openai", "omni-moderation-2024-09-26", OperationPrice::Free),
    card("openai", "text-moderation-latest", OperationPrice::Free),
    card("openai", "text-moderation-stable", OperationPrice::Free),
];
