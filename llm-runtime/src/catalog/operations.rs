//! Per-operation prices (placeholder, filled in by the catalog step).

use crate::types::{
    ImageEditRequest, ImageRequest, ImageResponse, ModerationRequest, ModerationResponse,
    RerankRequest, RerankResponse, Transcription, TranscriptionRequest,
};

/// The cost of generated images.
pub fn images_cost(provider: &str, request: &ImageRequest, answer: &ImageResponse) -> Option<f64> {
    let _ = (provider, request, answer);
    None
}

/// The cost of edited images.
pub fn image_edit_cost(
    provider: &str,
    request: &ImageEditRequest,
    answer: &ImageResponse,
) -> Option<f64> {
    let _ = (provider, request, answer);
    None
}

/// The cost of speaking `input`.
pub fn speech_cost(provider: &str, model: &str, input: &str) -> Option<f64> {
    let _ = (provider, model, input);
    None
}

/// The cost of a transcription.
pub fn transcription_cost(
    provider: &str,
    request: &TranscriptionRequest,
    answer: &Transcription,
) -> Option<f64> {
    let _ = (provider, request, answer);
    None
}

/// The cost of a rerank.
pub fn rerank_cost(
    provider: &str,
    request: &RerankRequest,
    answer: &RerankResponse,
) -> Option<f64> {
    let _ = (provider, request, answer);
    None
}

/// The cost of a moderation.
pub fn moderation_cost(
    provider: &str,
    request: &ModerationRequest,
    answer: &ModerationResponse,
) -> Option<f64> {
    let _ = (provider, request, answer);
    None
}
