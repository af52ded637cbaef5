//! The operations beyond chat on [`ProviderClient`]: each a typed method that
//! exists only where the provider declares the capability (its marker trait),
//! and an unchecked twin the object-safe [`LlmProvider`](super::LlmProvider)
//! calls after checking the declaration at run time. Every one goes through
//! the one transport: auth, retries, deadlines, hooks, redaction, metadata.

use std::time::{Duration, Instant};

use super::ProviderClient;
use crate::error::{Error, Result};
use crate::http::exchange::{Answer, Deadline, Expect};
use crate::http::{ByteStream, poll};
use crate::options::BatchWait;
use crate::options::ChatOptions;
use crate::provider::{
    HttpParts, Operation, Operations, Provider, RequestContext, SupportsBatch, SupportsImages,
    SupportsModeration, SupportsRerank, SupportsSpeech, SupportsTranscription, Transform as _,
};
use crate::spec::Capability;
use crate::types::ResponseMeta;
use crate::types::{
    BatchJob, BatchOutcome, BatchRequest, BatchResults, ImageEditRequest, ImageRequest,
    ImageResponse, ModerationRequest, ModerationResponse, RerankRequest, RerankResponse,
    SpeechRequest, Transcription, TranscriptionRequest, match_outcomes,
};

impl<P: Provider> ProviderClient<P> {
    /// `Unsupported` unless the provider declares `cap` (the object-safe path).
    pub(crate) fn declared(&self, cap: Capability) -> Result<()> {
        if P::SPEC.supports(cap) {
            return Ok(());
        }
        Err(Error::unsupported(format!(
            "the {} provider does not declare {}",
            P::SPEC.name,
            cap.name()
        ))
        .with_provider(P::SPEC.name))
    }

    /// Build with the wire's operation hooks, rewrite, send (retrying as
    /// configured), and parse the whole answer.
    async fn exchange<T>(
        &self,
        op: Operation,
        model: &str,
        expect: Expect,
        build: impl FnOnce(&dyn Operations, &RequestContext<'_>) -> Result<HttpParts>,
        parse: impl FnOnce(&dyn Operations, &[u8], &RequestContext<'_>) -> Result<T>,
    ) -> Result<(T, ResponseMeta)> {
        let called = Instant::now();
        let finisher = self.finisher(model);
        async {
            let ctx = self.ctx(model, false);
            let parts = self.build(op, &ctx, |w| build(w.operations(), &ctx))?;
            self.within_body_cap(&parts)?;
            let options = ChatOptions::default();
            let hooks = self.hooks(&options);
            let sent = self
                .send(&parts, model, expect, true, &options, &hooks)
                .await?;
            let Answer::Body { body, .. } = sent.answer else {
                return Err(Error::decode("expected a whole body, got a stream"));
            };
            let value = parse(self.provider.wire().operations(), &body, &ctx)
                .map_err(|e| sent.secrets.redact(e))?;
            let mut meta = sent.meta;
            meta.latency = called.elapsed();
            Ok((value, meta))
        }
        .await
        .map_err(|e| finisher.finish(e))
    }

    /// A request body (an upload) larger than the configured body cap is
    /// refused before it is sent.
    fn within_body_cap(&self, parts: &HttpParts) -> Result<()> {
        let len = parts.body.as_ref().map_or(0, bytes::Bytes::len);
        if len > self.transport.max_body {
            return Err(Error::invalid_request(format!(
                "the request body is {len} bytes, over the {}-byte body cap",
                self.transport.max_body
            )));
        }
        Ok(())
    }

    /// The model, or the provider's default when the request names none.
    fn model_or_default(&self, model: &str) -> Result<String> {
        if !model.is_empty() {
            return Ok(model.to_owned());
        }
        P::SPEC.default_model.map(str::to_owned).ok_or_else(|| {
            Error::invalid_request(format!(
                "the request names no model and the {} provider declares no default_model",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name)
        })
    }

    pub(crate) async fn images_unchecked(
        &self,
        mut request: ImageRequest,
    ) -> Result<ImageResponse> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let (mut response, meta) = self
            .exchange(
                Operation::Images,
                &request.model,
                Expect::Full,
                |w, ctx| w.build_image_request(&request, ctx),
                |w, body, ctx| w.parse_image_response(body, ctx),
            )
            .await?;
        response.provider = P::SPEC.name.to_owned();
        response.meta = meta;
        Ok(response)
    }

    pub(crate) async fn image_edit_unchecked(
        &self,
        mut request: ImageEditRequest,
    ) -> Result<ImageResponse> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let (mut response, meta) = self
            .exchange(
                Operation::ImageEdits,
                &request.model,
                Expect::Full,
                |w, ctx| w.build_image_edit_request(&request, ctx),
                |w, body, ctx| w.parse_image_response(body, ctx),
            )
            .await?;
        response.provider = P::SPEC.name.to_owned();
        response.meta = meta;
        Ok(response)
    }

    pub(crate) async fn speech_unchecked(&self, mut request: SpeechRequest) -> Result<ByteStream> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let finisher = self.finisher(&request.model);
        let timeouts = self.transport.timeouts;
        async {
            let ctx = self.ctx(&request.model, true);
            let parts = self.build(Operation::Speech, &ctx, |w| {
                w.operations().build_speech_request(&request, &ctx)
            })?;
            let options = ChatOptions::default();
            let hooks = self.hooks(&options);
            let sent = self
                .send(
                    &parts,
                    &request.model,
                    Expect::Stream,
                    true,
                    &options,
                    &hooks,
                )
                .await?;
            match sent.answer {
                Answer::Stream(response) => Ok(ByteStream::new(
                    response,
                    timeouts.idle(),
                    Deadline::after(timeouts.stream.unwrap_or(Duration::MAX)),
                    sent.meta,
                    {
                        let finisher = finisher.clone().with_call(sent.secrets);
                        Box::new(move |e| finisher.finish(e))
                    },
                )),
                // A 2xx JSON body is not audio (an in-band error was already raised).
                Answer::Body { body, .. } => {
                    Err(Error::decode("the speech answer is JSON, not audio").with_body(&body))
                }
            }
        }
        .await
        .map_err(|e| finisher.finish(e))
    }

    pub(crate) async fn transcribe_unchecked(
        &self,
        mut request: TranscriptionRequest,
    ) -> Result<Transcription> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let (mut transcription, meta) = self
            .exchange(
                Operation::Transcription,
                &request.model,
                Expect::Full,
                |w, ctx| w.build_transcription_request(&request, ctx),
                |w, body, ctx| w.parse_transcription(body, &request, ctx),
            )
            .await?;
        transcription.provider = P::SPEC.name.to_owned();
        if transcription.model.is_empty() {
            transcription.model.clone_from(&request.model);
        }
        transcription.meta = meta;
        Ok(transcription)
    }

    pub(crate) async fn rerank_unchecked(
        &self,
        mut request: RerankRequest,
    ) -> Result<RerankResponse> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let (response, meta) = self
            .exchange(
                Operation::Rerank,
                &request.model,
                Expect::Full,
                |w, ctx| w.build_rerank_request(&request, ctx),
                |w, body, ctx| w.parse_rerank_response(body, ctx),
            )
            .await?;
        let mut response = response
            .checked(&request)
            .map_err(|e| self.finisher(&request.model).finish(e))?;
        response.provider = P::SPEC.name.to_owned();
        if response.model.is_empty() {
            response.model.clone_from(&request.model);
        }
        response.meta = meta;
        Ok(response)
    }

    pub(crate) async fn moderate_unchecked(
        &self,
        mut request: ModerationRequest,
    ) -> Result<ModerationResponse> {
        request.validate()?;
        request.model = self.model_or_default(&request.model)?;
        let (mut response, meta) = self
            .exchange(
                Operation::Moderation,
                &request.model,
                Expect::Full,
                |w, ctx| w.build_moderation_request(&request, ctx),
                |w, body, ctx| w.parse_moderation_response(body, ctx),
            )
            .await?;
        response.provider = P::SPEC.name.to_owned();
        response.meta = meta;
        Ok(response)
    }

    /// Each item through the chat checks (model, validation, the
    /// unsupported-parameter policy), as a chat call would send it.
    fn prepare_batch(&self, request: BatchRequest) -> Result<BatchRequest> {
        request.validate()?;
        let options = ChatOptions::default();
        let mut prepared = request.clone();
        for item in &mut prepared.items {
            let (checked, _) = self.prepare(item.request.clone(), false, &options)?;
            item.request = checked;
        }
        Ok(prepared)
    }

    pub(crate) async fn batch_create_unchecked(&self, request: BatchRequest) -> Result<BatchJob> {
        let request = self.prepare_batch(request)?;
        let upload = {
            let ctx = self.ctx("", false);
            self.provider
                .wire()
                .operations()
                .build_batch_upload(&request, &ctx)?
        };
        let file_id = match upload {
            Some(parts) => {
                let (id, _) = self
                    .exchange(
                        Operation::Batch,
                        "",
                        Expect::Full,
                        |_, _| Ok(parts),
                        |w, body, _| w.parse_batch_upload(body),
                    )
                    .await?;
                Some(id)
            }
            None => None,
        };
        let (mut job, _) = self
            .exchange(
                Operation::Batch,
                "",
                Expect::Full,
                |w, ctx| w.build_batch_create(&request, file_id.as_deref(), ctx),
                |w, body, _| w.parse_batch(body),
            )
            .await?;
        job.provider = P::SPEC.name.to_owned();
        Ok(job)
    }

    pub(crate) async fn batch_get_unchecked(&self, id: &str) -> Result<BatchJob> {
        let (mut job, _) = self
            .exchange(
                Operation::Batch,
                "",
                Expect::Full,
                |w, ctx| w.build_batch_get(id, ctx),
                |w, body, _| w.parse_batch(body),
            )
            .await?;
        job.provider = P::SPEC.name.to_owned();
        Ok(job)
    }

    pub(crate) async fn batch_results_unchecked(
        &self,
        job: &BatchJob,
    ) -> Result<Vec<(String, crate::types::BatchResult)>> {
        let files = {
            let ctx = self.ctx("", false);
            self.provider
                .wire()
                .operations()
                .build_batch_results(job, &ctx)?
        };
        let mut results = Vec::new();
        for parts in files {
            let (listed, _) = self
                .exchange(
                    Operation::Batch,
                    "",
                    Expect::File,
                    |_, _| Ok(parts),
                    |w, body, ctx| w.parse_batch_results(body, ctx),
                )
                .await?;
            results.extend(listed);
        }
        for (_, result) in &mut results {
            if let crate::types::BatchResult::Succeeded(response) = result {
                response.provider = P::SPEC.name.to_owned();
            }
        }
        Ok(results)
    }

    pub(crate) async fn batch_wait_unchecked(&self, id: &str, wait: BatchWait) -> Result<BatchJob> {
        let deadline = Deadline::after(wait.timeout);
        poll::poll(
            wait.poll,
            deadline,
            || async {
                let job = self.batch_get_unchecked(id).await?;
                Ok(if job.status.is_done() {
                    Ok(job)
                } else {
                    Err(job)
                })
            },
            |job: &BatchJob| format!("batch {} is {:?}", job.id, job.status),
        )
        .await
        .map_err(|e| self.finisher("").finish(e))
    }

    pub(crate) async fn batch_unchecked(
        &self,
        request: BatchRequest,
        wait: BatchWait,
    ) -> Result<BatchResults> {
        let ids: Vec<String> = request.items.iter().map(|i| i.custom_id.clone()).collect();
        let job = self.batch_create_unchecked(request).await?;
        let job = if job.status.is_done() {
            job
        } else {
            self.batch_wait_unchecked(&job.id, wait).await?
        };
        let listed = self.batch_results_unchecked(&job).await?;
        let outcomes = match_outcomes(ids.iter().map(String::as_str), listed);
        Ok(BatchResults { job, outcomes })
    }
}

impl<P: SupportsImages> ProviderClient<P> {
    /// Generate images (only for providers that declare `capabilities(images)`).
    pub async fn images(&self, request: ImageRequest) -> Result<ImageResponse> {
        self.images_unchecked(request).await
    }

    /// Edit images (a multipart upload).
    pub async fn image_edit(&self, request: ImageEditRequest) -> Result<ImageResponse> {
        self.image_edit_unchecked(request).await
    }
}

impl<P: SupportsSpeech> ProviderClient<P> {
    /// Speak text: the audio as it arrives (only for providers that declare
    /// `capabilities(speech)`). A gap longer than the idle timeout ends the
    /// stream with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub async fn speech(&self, request: SpeechRequest) -> Result<ByteStream> {
        self.speech_unchecked(request).await
    }
}

impl<P: SupportsTranscription> ProviderClient<P> {
    /// Transcribe (or translate) audio (only for providers that declare
    /// `capabilities(transcription)`). The multipart body is built once: a
    /// retry re-sends the same bytes.
    pub async fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription> {
        self.transcribe_unchecked(request).await
    }
}

impl<P: SupportsRerank> ProviderClient<P> {
    /// Rank documents by relevance (only for providers that declare
    /// `capabilities(rerank)`): most relevant first, indices checked.
    pub async fn rerank(&self, request: RerankRequest) -> Result<RerankResponse> {
        self.rerank_unchecked(request).await
    }
}

impl<P: SupportsModeration> ProviderClient<P> {
    /// Classify texts and images (only for providers that declare `capabilities(moderation)`).
    pub async fn moderate(&self, request: ModerationRequest) -> Result<ModerationResponse> {
        self.moderate_unchecked(request).await
    }
}

impl<P: SupportsBatch> ProviderClient<P> {
    /// Create a batch (uploading its input first where the API needs it).
    pub async fn batch_create(&self, request: BatchRequest) -> Result<BatchJob> {
        self.batch_create_unchecked(request).await
    }

    /// A batch's state.
    pub async fn batch_get(&self, id: &str) -> Result<BatchJob> {
        self.batch_get_unchecked(id).await
    }

    /// Wait until a batch is done, checking with backoff, within `wait.timeout`.
    pub async fn batch_wait(&self, id: &str, wait: BatchWait) -> Result<BatchJob> {
        self.batch_wait_unchecked(id, wait).await
    }

    /// The outcomes of a finished batch, as the provider lists them.
    pub async fn batch_results(&self, job: &BatchJob) -> Result<Vec<BatchOutcome>> {
        let listed = self.batch_results_unchecked(job).await?;
        Ok(listed
            .into_iter()
            .map(|(custom_id, result)| BatchOutcome { custom_id, result })
            .collect())
    }

    /// Create a batch, wait for it within `wait`, and fetch its results,
    /// one per item in the request's order, matched by `custom_id`.
    pub async fn batch(&self, request: BatchRequest, wait: BatchWait) -> Result<BatchResults> {
        self.batch_unchecked(request, wait).await
    }
}
