//! What the operations beyond chat cost, from the providers' published
//! per-operation prices (`operation_data.rs`): images per image by quality
//! and size, speech per million characters, transcription per minute of
//! audio, rerank per thousand searches, moderation free.
//!
//! As for chat, a model without a row, or an answer that lacks what its
//! price counts (a transcript without its duration, an image whose quality
//! the model chose), costs `None`, never zero; a free operation costs
//! `Some(0.0)`. [`ProviderClient`](crate::ProviderClient) puts the figure in
//! each answer's [`ResponseMeta::cost_usd`](crate::types::ResponseMeta::cost_usd)
//! and hands it to the completion hooks.
//!
//! ```
//! use llm_runtime::catalog;
//! use llm_runtime::types::SpeechRequest;
//!
//! // tts-1: $15 per million characters.
//! let request = SpeechRequest::new("tts-1", "alloy", "x".repeat(1_000));
//! let cost = catalog::speech_cost("openai", &request).expect("priced");
//! assert!((cost - 0.015).abs() < 1e-12);
//! // Moderation is free, which is not the same as unpriced.
//! assert_eq!(catalog::operation_price("openai", "omni-moderation-latest").map(|c| c.price),
//!            Some(catalog::OperationPrice::Free));
//! assert!(catalog::operation_price("openai", "my-own-tts").is_none());
//! ```

use super::operation_data::OPERATION_PRICES;
use super::operation_price::{OperationCard, OperationPrice};
use crate::types::{
    ImageEditRequest, ImageOptions, ImageRequest, ImageResponse, ModerationRequest,
    ModerationResponse, RerankRequest, RerankResponse, SpeechRequest, Transcription,
    TranscriptionRequest,
};

/// Every priced operation model.
pub fn operation_prices() -> &'static [OperationCard] {
    OPERATION_PRICES
}

/// The price of `model` at `provider`, if the catalog lists it.
pub fn operation_price(provider: &str, model: &str) -> Option<&'static OperationCard> {
    OPERATION_PRICES
        .iter()
        .find(|c| c.provider == provider && c.model == model)
}

fn price(provider: &str, model: &str) -> Option<OperationPrice> {
    operation_price(provider, model).map(|c| c.price)
}

/// The cost of a call to `model` at `provider`: `bill` prices the kinds of
/// price that apply to the operation (any other kind is unpriced), a free
/// model costs zero, a model without a row is unpriced.
fn billed(
    provider: &str,
    model: &str,
    bill: impl FnOnce(OperationPrice) -> Option<f64>,
) -> Option<f64> {
    match price(provider, model)? {
        OperationPrice::Free => Some(0.0),
        price => bill(price),
    }
}

/// The cost of the images of a generation.
pub fn images_cost(provider: &str, request: &ImageRequest, answer: &ImageResponse) -> Option<f64> {
    per_image(provider, &request.model, &request.options, answer)
}

/// The cost of the images of an edit (billed as generated images).
pub fn image_edit_cost(
    provider: &str,
    request: &ImageEditRequest,
    answer: &ImageResponse,
) -> Option<f64> {
    per_image(provider, &request.model, &request.options, answer)
}

fn per_image(
    provider: &str,
    model: &str,
    options: &ImageOptions,
    answer: &ImageResponse,
) -> Option<f64> {
    billed(provider, model, |price| match price {
        OperationPrice::PerImage(prices) => {
            Some(prices.per_image(options)? * answer.images.len() as f64)
        }
        _ => None,
    })
}

/// The cost of speaking a request's text (its characters, as billed).
pub fn speech_cost(provider: &str, request: &SpeechRequest) -> Option<f64> {
    billed(provider, &request.model, |price| match price {
        OperationPrice::PerMillionCharacters(usd) => {
            Some(request.input.chars().count() as f64 * usd / 1_000_000.0)
        }
        _ => None,
    })
}

/// The cost of a transcription, from the duration the answer reports
/// (`verbose_json`); `None` without one.
pub fn transcription_cost(
    provider: &str,
    request: &TranscriptionRequest,
    answer: &Transcription,
) -> Option<f64> {
    billed(provider, &request.model, |price| match price {
        OperationPrice::PerMinute {
            usd,
            minimum_seconds,
        } => {
            let seconds = answer.duration.filter(|d| d.is_finite() && *d >= 0.0)?;
            Some(seconds.max(minimum_seconds) * usd / 60.0)
        }
        _ => None,
    })
}

/// The cost of a rerank: the search units the provider billed, or one
/// search per 100 documents.
pub fn rerank_cost(
    provider: &str,
    request: &RerankRequest,
    answer: &RerankResponse,
) -> Option<f64> {
    match price(provider, &request.model)? {
        OperationPrice::PerThousandSearches(usd) => {
            let searches = answer.search_units.map_or_else(
                || request.documents.len().div_ceil(100).max(1),
                |u| u as usize,
            );
            Some(searches as f64 * usd / 1_000.0)
        }
        OperationPrice::Free => Some(0.0),
        _ => None,
    }
}

/// The cost of a moderation: zero where the catalog lists the model as free.
pub fn moderation_cost(
    provider: &str,
    request: &ModerationRequest,
    answer: &ModerationResponse,
) -> Option<f64> {
    let _ = answer;
    billed(provider, &request.model, |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{FileUpload, GeneratedImage, ImageData};
    use proptest::prelude::*;

    fn images(n: usize) -> ImageResponse {
        let image = GeneratedImage {
            data: ImageData::Url("https://img.example/1.png".into()),
            revised_prompt: None,
        };
        ImageResponse {
            created: None,
            model: String::new(),
            provider: String::new(),
            images: vec![image; n],
            usage: None,
            meta: Default::default(),
        }
    }

    fn transcript(duration: Option<f64>) -> Transcription {
        let mut t: Transcription = serde_json::from_value(serde_json::json!({
            "text": "x", "format": "verbose_json", "model": "", "provider": ""
        }))
        .expect("a transcription");
        t.duration = duration;
        t
    }

    #[test]
    fn every_row_is_priced_sanely_and_once() {
        let mut seen = std::collections::HashSet::new();
        for card in operation_prices() {
            assert!(seen.insert((card.provider, card.model)), "{card:?}");
            match card.price {
                OperationPrice::PerImage(p) => {
                    assert!(p.rows.iter().all(|(_, _, usd)| *usd > 0.0), "{card:?}")
                }
                OperationPrice::PerMillionCharacters(usd)
                | OperationPrice::PerThousandSearches(usd)
                | OperationPrice::PerMinute { usd, .. } => assert!(usd > 0.0, "{card:?}"),
                OperationPrice::Free => {}
            }
        }
    }

    #[test]
    fn documented_prices() {
        let request = ImageRequest::new("dall-e-3", "fox");
        assert_eq!(images_cost("openai", &request, &images(1)), Some(0.04));
        let wide = ImageRequest::new("dall-e-3", "fox")
            .quality("hd")
            .size("1792x1024");
        assert_eq!(images_cost("openai", &wide, &images(2)), Some(0.24));
        // gpt-image-1 chooses its quality unless told: unpriced, not free.
        let auto = ImageRequest::new("gpt-image-1", "fox");
        assert_eq!(images_cost("openai", &auto, &images(1)), None);
        let high = ImageRequest::new("gpt-image-1", "fox")
            .quality("high")
            .size("1024x1024");
        assert_eq!(images_cost("openai", &high, &images(1)), Some(0.167));
        let file = FileUpload::new("a.mp3", "audio/mpeg", vec![1]);
        let whisper = TranscriptionRequest::new("whisper-1", file.clone());
        let cost = transcription_cost("openai", &whisper, &transcript(Some(90.0)));
        assert!((cost.expect("priced") - 0.009).abs() < 1e-12);
        assert_eq!(
            transcription_cost("openai", &whisper, &transcript(None)),
            None
        );
        // Groq bills at least ten seconds.
        let groq = TranscriptionRequest::new("whisper-large-v3-turbo", file);
        let cost = transcription_cost("groq", &groq, &transcript(Some(1.0)));
        assert!((cost.expect("priced") - 10.0 * 0.04 / 3600.0).abs() < 1e-12);
        let moderation = ModerationRequest::new("omni-moderation-latest").text("x");
        let answer: ModerationResponse = serde_json::from_value(serde_json::json!({
            "id": "m", "model": "omni-moderation-latest", "provider": "openai", "results": []
        }))
        .expect("a moderation");
        assert_eq!(moderation_cost("openai", &moderation, &answer), Some(0.0));
        let unknown = ModerationRequest::new("someone-elses-moderation").text("x");
        assert_eq!(moderation_cost("openai", &unknown, &answer), None);
        // The same model at a provider the row does not name is unpriced.
        assert_eq!(moderation_cost("azure_openai", &moderation, &answer), None);
    }

    proptest! {
        #[test]
        fn image_costs_are_the_row_price_times_the_images_made(
            row in 0..DALL_E_3_ROWS,
            n in 0usize..10,
        ) {
            let OperationPrice::PerImage(prices) = price("openai", "dall-e-3").expect("listed") else {
                panic!("dall-e-3 is priced per image");
            };
            let (quality, size, usd) = prices.rows[row];
            let request = ImageRequest::new("dall-e-3", "fox").quality(quality).size(size);
            let cost = images_cost("openai", &request, &images(n)).expect("listed");
            prop_assert!((cost - usd * n as f64).abs() < 1e-12);
            let unlisted = ImageRequest::new("dall-e-3", "fox").quality(quality).size("7x7");
            prop_assert_eq!(images_cost("openai", &unlisted, &images(n)), None);
        }

        #[test]
        fn speech_is_billed_per_character(text in "\\PC{0,300}") {
            let request = SpeechRequest::new("tts-1-hd", "alloy", text.clone());
            let cost = speech_cost("openai", &request).expect("listed");
            let expected = text.chars().count() as f64 * 30.0 / 1_000_000.0;
            prop_assert!((cost - expected).abs() < 1e-15);
        }

        #[test]
        fn reranks_bill_reported_units_or_one_search_per_hundred_documents(
            docs in 1usize..450,
            reported in proptest::option::of(1u32..20),
        ) {
            let request = RerankRequest::new("rerank-v3.5", "q", vec!["d"; docs]);
            let mut answer: RerankResponse = serde_json::from_value(serde_json::json!({
                "model": "rerank-v3.5", "provider": "cohere", "results": []
            })).expect("a rerank");
            answer.search_units = reported;
            let searches = reported.map_or(docs.div_ceil(100), |u| u as usize);
            let cost = rerank_cost("cohere", &request, &answer).expect("listed");
            prop_assert!((cost - searches as f64 * 0.002).abs() < 1e-12);
        }

        #[test]
        fn a_transcript_is_billed_by_its_duration(seconds in 0.0f64..7200.0) {
            let file = FileUpload::new("a.mp3", "audio/mpeg", vec![1]);
            let request = TranscriptionRequest::new("gpt-4o-mini-transcribe", file);
            let cost = transcription_cost("openai", &request, &transcript(Some(seconds))).expect("listed");
            prop_assert!((cost - seconds * 0.003 / 60.0).abs() < 1e-12);
            for bad in [f64::NAN, -1.0, f64::INFINITY] {
                prop_assert_eq!(transcription_cost("openai", &request, &transcript(Some(bad))), None);
            }
        }
    }

    const DALL_E_3_ROWS: usize = super::super::operation_data::DALL_E_3_ROWS;
}
