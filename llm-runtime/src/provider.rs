//! The traits a provider is made of: [`Transform`] (what an author writes),
//! [`Provider`] (what `#[derive(Provider)]` implements) and the capability markers.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

mod operations;

pub use operations::{
    NoOperations, Operations, SupportsBatch, SupportsImages, SupportsModeration, SupportsRerank,
    SupportsSpeech, SupportsTranscription,
};

use crate::error::{Error, Result, classify_http_error};
use crate::spec::{Capabilities, Capability, ProviderSpec};
use crate::stream::{Control, Frame, StreamFormat};

use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo, Params, StreamEvent,
};
/// The `bytes` crate, whose [`Bytes`] is [`HttpParts`]' body.
pub use ::bytes;

/// What a transform knows about the call it builds or parses.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RequestContext<'a> {
    /// The provider's declaration.
    pub spec: &'static ProviderSpec,
    /// The model asked for (the request's, or the provider's default).
    pub model: &'a str,
    /// Whether this is a streamed call.
    pub stream: bool,
}

impl<'a> RequestContext<'a> {
    /// The context of a call to `model` of the provider `spec` (the runtime
    /// builds it; a transform's own tests build one here).
    pub const fn new(spec: &'static ProviderSpec, model: &'a str, stream: bool) -> Self {
        RequestContext {
            spec,
            model,
            stream,
        }
    }

    /// The model to send: the context's, or `requested` (the request's own
    /// field) when the context has none.
    pub fn model_or<'s>(&'s self, requested: &'s str) -> &'s str {
        if self.model.is_empty() {
            requested
        } else {
            self.model
        }
    }
}

/// The provider-specific parts of an HTTP request; the runtime adds the base URL,
/// auth, static and configured headers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpParts {
    /// The method.
    pub method: Method,
    /// The path below the base URL, starting with `/`.
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// Extra headers for this request.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The JSON body, already serialized.
    pub body: Option<Bytes>,
}

impl HttpParts {
    /// `POST path` with `body` serialized as JSON.
    pub fn post_json(path: impl Into<String>, body: &impl Serialize) -> Result<Self> {
        let body = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_request(format!("request body could not be serialized: {e}"))
        })?;
        Ok(HttpParts {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Some(Bytes::from(body)),
        })
    }

    /// `GET path` with no body.
    pub fn get(path: impl Into<String>) -> Self {
        HttpParts {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Add a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Edit the JSON body as a value: parsed once, handed to `edit`, written
    /// back. A request without a body (`GET /models`) is left as it is.
    ///
    /// This is what `rewrite_json = path` runs; a byte-level `rewrite` can
    /// call it too.
    ///
    /// ```
    /// use llm_runtime::provider::HttpParts;
    /// let mut parts = HttpParts::post_json("/messages", &serde_json::json!({"model": "corp-claude"}))?;
    /// parts.edit_json(|body| {
    ///     body["model"] = "claude".into();
    ///     Ok(())
    /// })?;
    /// assert_eq!(parts.body.as_deref(), Some(&br#"{"model":"claude"}"#[..]));
    /// # Ok::<(), llm_runtime::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `edit`'s error; an `InvalidRequest` error when the body is not JSON
    /// (edit such a body's bytes in a `rewrite`).
    pub fn edit_json(
        &mut self,
        edit: impl FnOnce(&mut serde_json::Value) -> Result<()>,
    ) -> Result<()> {
        let Some(bytes) = &self.body else {
            return Ok(());
        };
        // A multipart upload names its own type: there is no JSON to edit.
        if self.headers.iter().any(|(name, value)| {
            name == http::header::CONTENT_TYPE && !value.as_bytes().starts_with(b"application/json")
        }) {
            return Ok(());
        }
        let mut body: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            Error::invalid_request(format!(
                "the request body is not JSON, so `rewrite_json` cannot edit it (use `rewrite`): {e}"
            ))
        })?;
        edit(&mut body)?;
        let bytes = serde_json::to_vec(&body).map_err(|e| {
            Error::invalid_request(format!("request body could not be serialized: {e}"))
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(())
    }
}

/// The signature of a `rewrite = path` hook: the request the wire built, changed
/// (path, query, headers, bytes). The derive coerces the path to it, so a hook
/// of another shape is a compile error naming this signature.
pub type RewriteFn<P> =
    for<'a, 'b, 'c> fn(&'a P, HttpParts, Operation, &'b RequestContext<'c>) -> Result<HttpParts>;

/// The signature of a `rewrite_json = path` hook: an edit of the JSON body the
/// wire built (the model, one field), run through [`HttpParts::edit_json`].
pub type RewriteJsonFn<P> = for<'a, 'b, 'c, 'd> fn(
    &'a P,
    &'b mut serde_json::Value,
    Operation,
    &'c RequestContext<'d>,
) -> Result<()>;

/// The signature of an `error = path` mapper (see [`Provider::map_error`]).
pub type MapErrorFn = for<'a, 'b> fn(u16, &'a HeaderMap, &'b [u8]) -> Error;

/// The request/response transforms of a provider: what an author writes for a
/// native API. An OpenAI-compatible provider writes none (`dialect = openai`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is declared as a provider but has no transforms",
    label = "implement `llm_runtime::provider::Transform` for `{Self}`, or add `dialect = openai` (or another dialect) to `#[provider(...)]`"
)]
pub trait Transform: Send + Sync + 'static {
    /// What the stream parser keeps between frames (open tool calls, usage seen...).
    type StreamState: Default + Send + 'static;

    /// The capabilities this wire format can serve. A provider declared with
    /// `dialect = x` may list only these in `capabilities(...)`: the derive
    /// checks it at compile time. A hand-written transform may narrow it;
    /// by default it is every capability.
    const SERVES: Capabilities = Capabilities::of(&Capability::ALL);

    /// Build the HTTP request for a chat call (`ctx.stream` says whether streamed).
    fn build_request(&self, request: &ChatRequest, ctx: &RequestContext<'_>) -> Result<HttpParts>;

    /// Parse a successful non-streamed response body.
    fn parse_response(&self, body: &[u8], ctx: &RequestContext<'_>) -> Result<ChatResponse>;

    /// Turn one stream frame into zero or more events.
    ///
    /// An error event inside the stream is an `Err`: return
    /// [`toolkit::stream_error(payload)`](crate::dialects::toolkit::stream_error)
    /// (classified like any HTTP error) or an [`Error`] of your own; the
    /// stream ends with it after the events already pushed to `out`.
    /// [`StreamEvent::Start`]'s `model` may be left empty when the API does
    /// not send one: the runtime fills in the model of the request.
    fn parse_stream_event(
        &self,
        frame: &Frame,
        state: &mut Self::StreamState,
        out: &mut Vec<StreamEvent>,
    ) -> Result<Control>;

    /// Called when the byte stream ends before [`Control::Done`]: emit what is
    /// pending, or fail. The default is [`ErrorKind::StreamTruncated`](crate::ErrorKind::StreamTruncated),
    /// for APIs whose streams end with a terminator.
    fn finish_stream(
        &self,
        state: &mut Self::StreamState,
        out: &mut Vec<StreamEvent>,
    ) -> Result<()> {
        let _ = (state, out);
        Err(Error::new(
            crate::ErrorKind::StreamTruncated,
            "the stream ended before its terminator",
        ))
    }

    /// How the stream is framed.
    fn stream_format(&self) -> StreamFormat {
        StreamFormat::Sse
    }

    /// Map a non-success response to an [`Error`].
    fn classify_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        classify_http_error(status, headers, body)
    }

    /// Request parameters that are set on `request` but this API cannot send
    /// (checked against the unsupported-parameter policy before any network call,
    /// which then rejects the request, clears them or passes them through `extra`).
    /// Typically `Params::of(&[Param::Seed]).set_in(request)`.
    fn unsupported_params(&self, request: &ChatRequest) -> Params {
        let _ = request;
        Params::NONE
    }

    /// Build an embeddings request.
    fn build_embedding_request(
        &self,
        request: &EmbeddingRequest,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (request, ctx);
        Err(Error::unsupported("this provider has no embeddings API"))
    }

    /// Parse an embeddings response.
    fn parse_embedding_response(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
    ) -> Result<EmbeddingResponse> {
        let _ = (body, ctx);
        Err(Error::unsupported("this provider has no embeddings API"))
    }

    /// The wire hooks of the operations beyond chat and embeddings (images,
    /// speech, transcription, rerank, moderation, batches). The default
    /// serves none of them; a wire format that serves some returns itself.
    fn operations(&self) -> &dyn Operations {
        &NoOperations
    }

    /// The request that lists models (OpenAI shape: `GET /models`, or the
    /// declared `models_path`).
    fn models_request(&self, ctx: &RequestContext<'_>) -> Result<HttpParts> {
        Ok(HttpParts::get(ctx.spec.models_path.unwrap_or("/models")))
    }

    /// Parse the model list (OpenAI shape: `{"data":[{"id":...}]}`).
    fn parse_models(&self, body: &[u8]) -> Result<Vec<ModelInfo>> {
        parse_model_list(body)
    }
}

/// Which call a request is built for (what a [`Provider::rewrite_request`] hook sees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// A chat call, streamed or not.
    Chat,
    /// An embeddings call.
    Embeddings,
    /// The model list (also the default health probe).
    Models,
    /// An image generation.
    Images,
    /// An image edit.
    ImageEdits,
    /// Text to speech.
    Speech,
    /// A transcription or translation of audio.
    Transcription,
    /// A rerank.
    Rerank,
    /// A moderation.
    Moderation,
    /// A step of a batch: the input upload, create, get, or the results.
    Batch,
}

/// A declared provider: its [`ProviderSpec`], its wire format and the one
/// request rewrite where it differs from that format.
///
/// Implemented by `#[derive(Provider)]`; the runtime's
/// [`ProviderClient`](crate::ProviderClient) runs it on the shared HTTP client.
/// Delegation is structural: the runtime calls every [`Transform`] method
/// through [`Provider::wire`], so a provider declared with `dialect = x` gets
/// every method of that dialect, including ones added later.
pub trait Provider: Sized + Send + Sync + 'static {
    /// The declaration.
    const SPEC: ProviderSpec;

    /// The wire format: the dialect for `dialect = x`, otherwise the provider itself.
    type Wire: Transform;

    /// The wire format's transforms.
    fn wire(&self) -> &Self::Wire;

    /// Rewrite a request the wire format built (`rewrite = path` in the
    /// declaration): a path, a query parameter, a header. Azure puts the
    /// deployment in the path and adds `api-version` here.
    fn rewrite_request(
        &self,
        parts: HttpParts,
        operation: Operation,
        ctx: &RequestContext<'_>,
    ) -> Result<HttpParts> {
        let _ = (operation, ctx);
        Ok(parts)
    }

    /// Map a non-success response to an [`Error`]: the wire format's
    /// [`Transform::classify_error`], or the declaration's `error = path`.
    fn map_error(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> Error {
        self.wire().classify_error(status, headers, body)
    }
}

/// Marker: the provider declares `capabilities(embeddings)`, so
/// [`ProviderClient::embed`](crate::ProviderClient::embed) exists for it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not declare embeddings",
    label = "add `embeddings` to `capabilities(...)` in its `#[provider]` attribute"
)]
pub trait SupportsEmbeddings: Provider {}

/// Marker: the provider declares `capabilities(tools)`.
pub trait SupportsTools: Provider {}

/// Marker: the provider declares `capabilities(vision)`.
pub trait SupportsVision: Provider {}

/// Marker: the provider declares `capabilities(stream)`.
pub trait SupportsStreaming: Provider {}

/// Marker: the provider declares `capabilities(reasoning)`.
pub trait SupportsReasoning: Provider {}

/// Parse an OpenAI-shaped model list, `{"data":[{"id":...}]}` (the default of
/// [`Transform::parse_models`]).
pub fn parse_model_list(body: &[u8]) -> Result<Vec<ModelInfo>> {
    #[derive(serde::Deserialize)]
    struct List {
        data: Vec<ModelInfo>,
    }
    let list: List = serde_json::from_slice(body).map_err(|e| {
        Error::decode(format!("the model list is not the expected JSON: {e}")).with_body(body)
    })?;
    Ok(list.data)
}

/// What a provider is: its name, endpoint and abilities.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderInfo {
    /// The routing name.
    pub name: &'static str,
    /// The base URL in use.
    pub base_url: String,
    /// What it can do.
    pub capabilities: Capabilities,
    /// Known models.
    pub models: &'static [&'static str],
    /// The default model.
    pub default_model: Option<&'static str>,
}

/// The result of a health check.
#[derive(Debug)]
#[non_exhaustive]
pub struct HealthStatus {
    /// Whether the probe succeeded.
    pub healthy: bool,
    /// The probe's HTTP status, if it got a response.
    pub status: Option<u16>,
    /// How long the probe took.
    pub latency: Duration,
    /// Why it failed.
    pub error: Option<Error>,
}

impl ProviderInfo {
    /// A provider named `name` at `base_url` that can do `capabilities`, with no
    /// known models (a hand-written [`LlmProvider`](crate::LlmProvider)'s `info()`).
    pub fn new(
        name: &'static str,
        base_url: impl Into<String>,
        capabilities: Capabilities,
    ) -> Self {
        ProviderInfo {
            name,
            base_url: base_url.into(),
            capabilities,
            models: &[],
            default_model: None,
        }
    }
}

impl HealthStatus {
    /// A probe that answered (`healthy`) or not, after `latency`; no status, no error.
    pub fn new(healthy: bool, latency: Duration) -> Self {
        HealthStatus {
            healthy,
            status: None,
            latency,
            error: None,
        }
    }
}
