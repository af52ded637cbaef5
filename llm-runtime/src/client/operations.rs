//! The operations beyond chat on [`Client`], routed as `"provider/model"`
//! like chat: the route's model replaces the request's (an empty model part
//! keeps the request's, or the provider's default). No fallbacks: images,
//! voices, scores and batches from another model are not the same answer.

use super::Client;
use crate::error::Result;
use crate::http::ByteStream;
use crate::options::BatchWait;
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResults, ImageEditRequest, ImageRequest,
    ImageResponse, ModerationRequest, ModerationResponse, RerankRequest, RerankResponse,
    SpeechRequest, Transcription, TranscriptionRequest,
};

/// `model` replaced by the route's, when the route names one.
fn routed(route_model: String, model: &mut String) {
    if !route_model.is_empty() {
        *model = route_model;
    }
}

impl Client {
    /// Generate images with the provider and model of `route`.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `images`; the call's error otherwise.
    pub async fn images(&self, route: &str, mut request: ImageRequest) -> Result<ImageResponse> {
        let (route, provider) = self.inner.resolve(route)?;
        let served = route.to_string();
        routed(route.model, &mut request.model);
        let mut response = provider.images(request).await?;
        response.meta.route = Some(served);
        Ok(response)
    }

    /// Edit images with the provider and model of `route`.
    ///
    /// # Errors
    /// As [`Client::images`].
    pub async fn image_edit(
        &self,
        route: &str,
        mut request: ImageEditRequest,
    ) -> Result<ImageResponse> {
        let (route, provider) = self.inner.resolve(route)?;
        let served = route.to_string();
        routed(route.model, &mut request.model);
        let mut response = provider.image_edit(request).await?;
        response.meta.route = Some(served);
        Ok(response)
    }

    /// Speak text with the provider and model of `route`: the audio as it arrives.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `speech`.
    pub async fn speech(&self, route: &str, mut request: SpeechRequest) -> Result<ByteStream> {
        let (route, provider) = self.inner.resolve(route)?;
        routed(route.model, &mut request.model);
        provider.speech(request).await
    }

    /// Transcribe or translate audio with the provider and model of `route`.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `transcription`.
    pub async fn transcribe(
        &self,
        route: &str,
        mut request: TranscriptionRequest,
    ) -> Result<Transcription> {
        let (route, provider) = self.inner.resolve(route)?;
        let served = route.to_string();
        routed(route.model, &mut request.model);
        let mut response = provider.transcribe(request).await?;
        response.meta.route = Some(served);
        Ok(response)
    }

    /// Rank documents with the provider and model of `route`.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `rerank`.
    pub async fn rerank(&self, route: &str, mut request: RerankRequest) -> Result<RerankResponse> {
        let (route, provider) = self.inner.resolve(route)?;
        let served = route.to_string();
        routed(route.model, &mut request.model);
        let mut response = provider.rerank(request).await?;
        response.meta.route = Some(served);
        Ok(response)
    }

    /// Classify content with the provider and model of `route`.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `moderation`.
    pub async fn moderate(
        &self,
        route: &str,
        mut request: ModerationRequest,
    ) -> Result<ModerationResponse> {
        let (route, provider) = self.inner.resolve(route)?;
        let served = route.to_string();
        routed(route.model, &mut request.model);
        let mut response = provider.moderate(request).await?;
        response.meta.route = Some(served);
        Ok(response)
    }

    /// Create a batch on the provider of `route` (its model, when named,
    /// fills in items that name none).
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `batch`.
    pub async fn batch_create(&self, route: &str, request: BatchRequest) -> Result<BatchJob> {
        let (route, provider) = self.inner.resolve(route)?;
        provider
            .batch_create(with_model(request, &route.model))
            .await
    }

    /// A batch's state, on the provider of `route`.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `batch`.
    pub async fn batch_get(&self, route: &str, id: &str) -> Result<BatchJob> {
        let (_, provider) = self.inner.resolve(route)?;
        provider.batch_get(id).await
    }

    /// Wait for a batch on the provider of `route`, within `wait.timeout`.
    ///
    /// # Errors
    /// `Timeout` once the wait is over; `Unsupported` without `batch`.
    pub async fn batch_wait(&self, route: &str, id: &str, wait: BatchWait) -> Result<BatchJob> {
        let (_, provider) = self.inner.resolve(route)?;
        provider.batch_wait(id, wait).await
    }

    /// A finished batch's outcomes, as the provider of `route` lists them.
    ///
    /// # Errors
    /// `Unsupported` when the provider does not declare `batch`.
    pub async fn batch_results(&self, route: &str, job: &BatchJob) -> Result<Vec<BatchOutcome>> {
        let (_, provider) = self.inner.resolve(route)?;
        provider.batch_results(job).await
    }

    /// Create a batch on the provider of `route`, wait for it within `wait`,
    /// and fetch its results matched to the items' `custom_id`s, in order.
    /// The same call for every provider that declares `batch` (OpenAI's
    /// Batch API, Anthropic's Message Batches).
    ///
    /// # Errors
    /// `Timeout` when the batch is not done within `wait.timeout`;
    /// `Unsupported` without `batch`.
    pub async fn batch(
        &self,
        route: &str,
        request: BatchRequest,
        wait: BatchWait,
    ) -> Result<BatchResults> {
        let (route, provider) = self.inner.resolve(route)?;
        provider
            .batch(with_model(request, &route.model), wait)
            .await
    }
}

/// Items without a model get the route's.
fn with_model(mut request: BatchRequest, model: &str) -> BatchRequest {
    if !model.is_empty() {
        for item in &mut request.items {
            if item.request.model.is_empty() {
                model.clone_into(&mut item.request.model);
            }
        }
    }
    request
}
