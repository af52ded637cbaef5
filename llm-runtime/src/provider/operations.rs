//! The operations beyond chat and embeddings: the wire hooks of
//! [`Operations`] (each answering `Unsupported` by default, so a wire format
//! implements only what it serves) and the capability markers that give
//! [`ProviderClient`](crate::ProviderClient) its typed methods.

use super::{HttpParts, Provider, RequestContext};
use crate::error::{Error, Result};
use crate::types::{
    BatchJob, BatchRequest, BatchResult, ImageEditRequest, ImageRequest, ImageResponse,
    ModerationRequest, ModerationResponse, RerankRequest, RerankResponse, SpeechRequest,
    Transcription, TranscriptionRequest,
};

/// `Unsupported`, naming what the wire format lacks.
fn unserved<T>(what: &str) -> Result<T> {
    Err(Error::unsupported(format!(
        "this provider's wire format has no {what} API"
    )))
}

/// The wire hooks of the operations beyond chat: images, speech,
/// transcription, rerank, moderation and batches. Every hook has a default
/// that answers [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported):
/// a wire format overrides the ones it serves and returns itself from
/// [`Transform::operations`](crate::provider::Transform::operations).
///
/// The runtime sends what a `build_*` hook returns through the one transport
/// (auth, retries, deadlines, hooks, redaction) and hands the successful
/// body to the matching `parse_*` hook.
pub trait Operations: Send + Sync {
    /// `POST` an image generation.
    fn build_image_request(
        &self,
        request: &ImageRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("image generation")
    }

    /// `POST` an image edit (a multipart body: see [`crate::http::Multipart`]).
    fn build_image_edit_request(
        &self,
        request: &ImageEditRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("image edit")
    }

    /// Parse the images of a generation or an edit.
    fn parse_image_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ImageResponse> {
        let _ = (body, ctx);
        unserved("image")
    }

    /// `POST` a text-to-speech request; the answer's body is the audio,
    /// handed to the caller as a byte stream.
    fn build_speech_request(
        &self,
        request: &SpeechRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("speech")
    }

    /// `POST` a transcription or translation (a multipart body).
    fn build_transcription_request(
        &self,
        request: &TranscriptionRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("transcription")
    }

    /// Parse a transcription in the format `request` asked for.
    fn parse_transcription(
        &self,
        body: &[u8],
        request: &TranscriptionRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<Transcription> {
        let _ = (body, request, ctx);
        unserved("transcription")
    }

    /// `POST` a rerank request.
    fn build_rerank_request(
        &self,
        request: &RerankRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("rerank")
    }

    /// Parse ranked documents (the runtime then checks them against the request).
    fn parse_rerank_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<RerankResponse> {
        let _ = (body, ctx);
        unserved("rerank")
    }

    /// `POST` a moderation request.
    fn build_moderation_request(
        &self,
        request: &ModerationRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        unserved("moderation")
    }

    /// Parse moderation verdicts.
    fn parse_moderation_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<ModerationResponse> {
        let _ = (body, ctx);
        unserved("moderation")
    }

    /// The upload a batch needs before it is created (OpenAI: the JSONL
    /// input file), or `None` when the batch is created in one request.
    fn build_batch_upload(
        &self,
        request: &BatchRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<Option<HttpParts>> {
        let _ = (request, ctx);
        unserved("batch")
    }

    /// The uploaded file's id, from the upload's answer.
    fn parse_batch_upload(&self, body: &[u8]) -> Result<String> {
        let _ = body;
        unserved("batch")
    }

    /// `POST` the batch, with the uploaded file's id when there was an upload.
    fn build_batch_create(
        &self,
        request: &BatchRequest,
        file_id: Option<&str>,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, file_id, ctx);
        unserved("batch")
    }

    /// `GET` a batch's state.
    fn build_batch_get(&self, id: &str, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        let _ = (id, ctx);
        unserved("batch")
    }

    /// Parse a batch's state (the answer to create and to get).
    fn parse_batch(&self, body: &[u8]) -> Result<BatchJob> {
        let _ = body;
        unserved("batch")
    }

    /// The `GET`s of a finished batch's results (OpenAI: the output file and
    /// the error file, each when there is one); each answer goes to
    /// [`Operations::parse_batch_results`].
    fn build_batch_results(
        &self,
        job: &BatchJob,
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<HttpParts>> {
        let _ = (job, ctx);
        unserved("batch")
    }

    /// Decode the results (JSONL) into each request's outcome under its
    /// `custom_id`, in any order: the runtime matches them to the caller's ids.
    fn parse_batch_results(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<Vec<(String, BatchResult)>> {
        let _ = (body, ctx);
        unserved("batch")
    }
}

/// The wire of a format with none of these operations: every hook answers
/// `Unsupported` (the default of [`Transform::operations`](crate::provider::Transform::operations)).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOperations;

impl Operations for NoOperations {}

/// Marker: the provider declares `capabilities(images)`, so
/// [`ProviderClient::images`](crate::ProviderClient::images) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare images",
    label = "add `images` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsImages: Provider {}

/// Marker: the provider declares `capabilities(speech)`, so
/// [`ProviderClient::speech`](crate::ProviderClient::speech) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare speech",
    label = "add `speech` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsSpeech: Provider {}

/// Marker: the provider declares `capabilities(transcription)`, so
/// [`ProviderClient::transcribe`](crate::ProviderClient::transcribe) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare transcription",
    label = "add `transcription` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsTranscription: Provider {}

/// Marker: the provider declares `capabilities(rerank)`, so
/// [`ProviderClient::rerank`](crate::ProviderClient::rerank) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare rerank",
    label = "add `rerank` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsRerank: Provider {}

/// Marker: the provider declares `capabilities(moderation)`, so
/// [`ProviderClient::moderate`](crate::ProviderClient::moderate) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare moderation",
    label = "add `moderation` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsModeration: Provider {}

/// Marker: the provider declares `capabilities(batch)`, so
/// [`ProviderClient::batch`](crate::ProviderClient::batch) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare batch",
    label = "add `batch` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsBatch: Provider {}
