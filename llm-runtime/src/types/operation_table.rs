//! The one table of the operations beyond chat and embeddings.
//!
//! Why a macro: every operation appears in five layers that each repeat one
//! shape per operation: the wire hooks with their `Unsupported` defaults
//! ([`Operations`](crate::provider::Operations)), the object-safe methods of
//! [`LlmProvider`](crate::LlmProvider) (defaults and the
//! [`ProviderClient`](crate::ProviderClient) implementation), the typed
//! methods of `ProviderClient<P>` behind each capability marker, and the
//! routed methods of [`Client`](crate::Client). Written by hand, each new
//! operation meant five more copies of the same lines, and a layer could
//! forget one. Here each operation is listed once; every layer expands
//! [`operation_table!`] with its own macro, so a method, its `_with` twin,
//! its docs, its capability and its hooks cannot drift apart.
//!
//! The capability markers (`SupportsImages`...) stay written out in
//! `provider/operations.rs`: a trait defined by a macro makes the
//! diagnostic of an undeclared call point at the macro instead of naming
//! the trait (see the UI test `operations/undeclared_speech`).
//!
//! Names in the table are bare: each layer imports the types its expansion
//! uses, so this file imports nothing and sits below every layer.
//!
//! The grammar, per capability:
//!
//! ```text
//! Capability Marker "key" {
//!     /// docs
//!     fn method / method_with / method_run (arg: Type, ...) -> Answer, route MODE, wire(...);
//!     ...
//! } {
//!     /// docs
//!     fn wire_hook(arg: Type, ...) -> Type, "what the wire format lacks";
//!     ...
//! }
//! ```
//!
//! `wire(Op, build_hook, parse_hook(extra args,), cost)` generates
//! `method_run` for an operation of one request and one whole answer:
//! validate, fill the model, build with the wire hook, send as
//! [`Operation::Op`](crate::provider::Operation), parse, fill the answer's
//! provider, model and metadata, and price it with `catalog::cost`. `wire()`:
//! `method_run` is written by hand (a byte stream, the steps of a batch).
//!
//! `route MODE` is how [`Client`](crate::Client) applies a route's model:
//! `model` replaces the request's model, `items` fills the model of batch
//! items that name none, `none` ignores it (the call names a batch by id).

/// Expand `$layer! { [extra] table }`: `extra` is whatever the layer passes
/// through (e.g. the fixed part of a trait it generates whole).
macro_rules! operation_table {
    ($layer:ident $($extra:tt)*) => {
        $layer! { [$($extra)*]
            Images SupportsImages "images" {
                /// Generate images from a prompt.
                fn images / images_with / images_run (request: ImageRequest) -> ImageResponse, route model,
                    wire(Images, build_image_request, parse_image_response(), images_cost);
                /// Edit images (a multipart upload).
                fn image_edit / image_edit_with / image_edit_run (request: ImageEditRequest) -> ImageResponse, route model,
                    wire(ImageEdits, build_image_edit_request, parse_image_response(), image_edit_cost);
            } {
                /// `POST` an image generation.
                fn build_image_request(request: &ImageRequest, ctx: &RequestContext<'_>) -> HttpParts, "image generation";
                /// `POST` an image edit (a multipart body: see [`crate::http::Multipart`]).
                fn build_image_edit_request(request: &ImageEditRequest, ctx: &RequestContext<'_>) -> HttpParts, "image edit";
                /// Parse the images of a generation or an edit.
                fn parse_image_response(body: &[u8], ctx: &RequestContext<'_>) -> ImageResponse, "image";
            }
            Speech SupportsSpeech "speech" {
                /// Speak text: the audio as it arrives. A gap longer than the
                /// idle timeout ends the stream with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
                fn speech / speech_with / speech_run (request: SpeechRequest) -> ByteStream, route model, wire();
            } {
                /// `POST` a text-to-speech request; the answer's body is the audio,
                /// handed to the caller as a byte stream.
                fn build_speech_request(request: &SpeechRequest, ctx: &RequestContext<'_>) -> HttpParts, "speech";
            }
            Transcription SupportsTranscription "transcription" {
                /// Transcribe (or translate) audio. The multipart body is built
                /// once: a retry re-sends the same bytes.
                fn transcribe / transcribe_with / transcribe_run (request: TranscriptionRequest) -> Transcription, route model,
                    wire(Transcription, build_transcription_request, parse_transcription(&request,), transcription_cost);
            } {
                /// `POST` a transcription or translation (a multipart body).
                fn build_transcription_request(request: &TranscriptionRequest, ctx: &RequestContext<'_>) -> HttpParts, "transcription";
                /// Parse a transcription in the format `request` asked for.
                fn parse_transcription(body: &[u8], request: &TranscriptionRequest, ctx: &RequestContext<'_>) -> Transcription, "transcription";
            }
            Rerank SupportsRerank "rerank" {
                /// Rank documents by relevance: most relevant first, indices checked.
                fn rerank / rerank_with / rerank_run (request: RerankRequest) -> RerankResponse, route model,
                    wire(Rerank, build_rerank_request, parse_rerank_response(), rerank_cost);
            } {
                /// `POST` a rerank request.
                fn build_rerank_request(request: &RerankRequest, ctx: &RequestContext<'_>) -> HttpParts, "rerank";
                /// Parse ranked documents (the runtime then checks them against the request).
                fn parse_rerank_response(body: &[u8], ctx: &RequestContext<'_>) -> RerankResponse, "rerank";
            }
            Moderation SupportsModeration "moderation" {
                /// Classify texts and images.
                fn moderate / moderate_with / moderate_run (request: ModerationRequest) -> ModerationResponse, route model,
                    wire(Moderation, build_moderation_request, parse_moderation_response(), moderation_cost);
            } {
                /// `POST` a moderation request.
                fn build_moderation_request(request: &ModerationRequest, ctx: &RequestContext<'_>) -> HttpParts, "moderation";
                /// Parse moderation verdicts.
                fn parse_moderation_response(body: &[u8], ctx: &RequestContext<'_>) -> ModerationResponse, "moderation";
            }
            Batch SupportsBatch "batch" {
                /// Create a batch (uploading its input first where the API needs it).
                fn batch_create / batch_create_with / batch_create_run (request: BatchRequest) -> BatchJob, route items, wire();
                /// A batch's state.
                fn batch_get / batch_get_with / batch_get_run (id: &str) -> BatchJob, route none, wire();
                /// Wait until a batch is done, checking with backoff, within `wait.timeout`.
                fn batch_wait / batch_wait_with / batch_wait_run (id: &str, wait: BatchWait) -> BatchJob, route none, wire();
                /// The outcomes of a finished batch, as the provider lists them.
                fn batch_results / batch_results_with / batch_results_run (job: &BatchJob) -> Vec<BatchOutcome>, route none, wire();
                /// Create a batch, wait for it within `wait`, and fetch its results,
                /// one per item in the request's order, matched by `custom_id`
                /// (the same call for OpenAI's Batch API and Anthropic's Message Batches).
                fn batch / batch_with / batch_run (request: BatchRequest, wait: BatchWait) -> BatchResults, route items, wire();
            } {
                /// The upload a batch needs before it is created (OpenAI: the JSONL
                /// input file), or `None` when the batch is created in one request.
                fn build_batch_upload(request: &BatchRequest, ctx: &RequestContext<'_>) -> Option<HttpParts>, "batch";
                /// The uploaded file's id, from the upload's answer.
                fn parse_batch_upload(body: &[u8]) -> String, "batch";
                /// `POST` the batch, with the uploaded file's id when there was an upload.
                fn build_batch_create(request: &BatchRequest, file_id: Option<&str>, ctx: &RequestContext<'_>) -> HttpParts, "batch";
                /// `GET` a batch's state.
                fn build_batch_get(id: &str, ctx: &RequestContext<'_>) -> HttpParts, "batch";
                /// Parse a batch's state (the answer to create and to get).
                fn parse_batch(body: &[u8]) -> BatchJob, "batch";
                /// The `GET`s of a finished batch's results (OpenAI: the output file and
                /// the error file, each when there is one); each answer goes to
                /// [`Operations::parse_batch_results`].
                fn build_batch_results(job: &BatchJob, ctx: &RequestContext<'_>) -> Vec<HttpParts>, "batch";
                /// Decode the results (JSONL) into each request's outcome under its
                /// `custom_id`, in any order: the runtime matches them to the caller's ids.
                fn parse_batch_results(body: &[u8], ctx: &RequestContext<'_>) -> Vec<(String, BatchResult)>, "batch";
            }
        }
    };
}

pub(crate) use operation_table;
