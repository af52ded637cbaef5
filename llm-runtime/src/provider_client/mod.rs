//! [`ProviderClient`]: a declared provider running on the shared HTTP client,
//! and [`LlmProvider`], the object-safe interface every provider shares.

mod batch;
mod chat_stream;
mod connect;
mod hand_written;
mod object_safe;
mod operations;
mod outcome;

pub use chat_stream::ChatStream;
use chat_stream::FrameTap;
use chat_stream::{OwnedContext, StreamSetup, StreamSource};
pub use object_safe::LlmProvider;
pub(crate) use outcome::Outcome;

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::http::exchange::{Answer, Deadline, Expect, millis, probe_method};
use crate::options::ChatOptions;
use crate::provider::{
    HealthStatus, HttpParts, Operation, Provider, ProviderInfo, RequestContext, SupportsEmbeddings,
    Transform,
};
use crate::spec::{Capability, ProviderSpec};
use crate::telemetry::{chat_span, completed, record_error, record_response};
use crate::transport::{Call, ErrorFinisher, Sent, Transport};
use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo,
    UnsupportedParamPolicy,
};

/// The format whose wire bytes `options` asks to keep, when `P` speaks it.
fn kept_format<P: Provider>(options: &ChatOptions) -> Option<&'static str> {
    P::SPEC.dialect.filter(|d| options.keep_wire == Some(*d))
}

/// A connected provider. Cheap to clone; all clones share one connection pool.
///
/// Build one with `Name::config()...connect()` or `Name::from_env()`.
pub struct ProviderClient<P> {
    provider: Arc<P>,
    transport: Arc<Transport>,
    policy: UnsupportedParamPolicy,
    max_line: usize,
}

impl<P> Clone for ProviderClient<P> {
    fn clone(&self) -> Self {
        ProviderClient {
            provider: Arc::clone(&self.provider),
            transport: Arc::clone(&self.transport),
            policy: self.policy,
            max_line: self.max_line,
        }
    }
}

impl<P: Provider> fmt::Debug for ProviderClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderClient")
            .field("provider", &P::SPEC.name)
            .field("transport", &self.transport)
            .finish()
    }
}

impl<P: Provider> ProviderClient<P> {
    pub(crate) fn from_parts(
        provider: P,
        transport: Transport,
        policy: UnsupportedParamPolicy,
        max_line: usize,
    ) -> Self {
        ProviderClient {
            provider: Arc::new(provider),
            transport: Arc::new(transport),
            policy,
            max_line,
        }
    }

    /// The declaration.
    pub fn spec(&self) -> &'static ProviderSpec {
        &P::SPEC
    }

    /// The provider settings.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// What the provider is.
    pub fn info(&self) -> ProviderInfo {
        ProviderInfo {
            name: P::SPEC.name,
            base_url: self.transport.base_url.clone(),
            capabilities: P::SPEC.capabilities,
            models: P::SPEC.models,
            default_model: P::SPEC.default_model,
        }
    }

    /// Send a chat request and wait for the whole answer.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        self.chat_with(request, &ChatOptions::default()).await
    }

    /// [`chat`](Self::chat) with per-call options (headers, timeout, retries,
    /// idempotency key, hooks, unsupported-parameter policy).
    pub async fn chat_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatResponse> {
        let called = Instant::now();
        let (request, dropped) = self.prepare(request, false, options)?;
        let span = chat_span(
            P::SPEC.name,
            &request.model,
            false,
            &self.transport.base_url,
        );
        let hooks = self.hooks(options);
        async {
            let ctx = self.ctx(&request.model, false);
            let parts = self.build(Operation::Chat, &ctx, |w| w.build_request(&request, &ctx))?;
            let sent = self
                .send(&parts, &request.model, Expect::Full, true, options, &hooks)
                .await?;
            let Answer::Body { body, .. } = sent.answer else {
                return Err(Error::decode("expected a whole body, got a stream"));
            };
            // A body that quotes the call's token or per-call key is redacted too.
            let redact = |e: Error| sent.secrets.redact(e);
            let mut response = self
                .provider
                .wire()
                .parse_response(&body, &ctx)
                .map_err(redact)?;
            if !holds_an_answer(&response) {
                return Err(redact(
                    Error::decode(
                        "the response holds no answer: no text, tool call, reasoning or finish reason",
                    )
                    .with_body(&body),
                ));
            }
            // An API that names no model answered with the one asked for (a
            // collected stream gets the same).
            if response.model.is_empty() {
                response.model.clone_from(&request.model);
            }
            response.provider = P::SPEC.name.to_owned();
            response.dropped_params = dropped;
            response.meta = sent.meta;
            response.meta.latency = called.elapsed();
            if let Some(format) = kept_format::<P>(options) {
                response.meta.wire = Some(crate::types::WireAnswer::new(format, body));
            }
            record_response(&response);
            completed(&hooks, P::SPEC.name, &request.model, &response, false);
            tracing::info!(latency_ms = millis(response.meta.latency), "chat done");
            Ok(response)
        }
        .instrument(span.clone())
        .await
        // The finisher (a copy of the model name) only when there is an error.
        .map_err(|e: Error| record_error(&span, self.finisher(&request.model).finish(e)))
    }

    /// Send a chat request and stream the answer as it is generated.
    pub async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        self.chat_stream_with(request, &ChatOptions::default())
            .await
    }

    /// [`chat_stream`](Self::chat_stream) with per-call options.
    pub async fn chat_stream_with(
        &self,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatStream> {
        let called = Instant::now();
        let (request, dropped) = self.prepare(request, true, options)?;
        let finisher = self.finisher(&request.model);
        let span = chat_span(P::SPEC.name, &request.model, true, &self.transport.base_url);
        let timeouts = self
            .transport
            .timeouts
            .with(options.timeout, options.idle_timeout);
        let hooks = self.hooks(options);
        async {
            let whole = timeouts.stream.map(Deadline::after);
            let ctx = self.ctx(&request.model, true);
            let parts = self.build(Operation::Chat, &ctx, |w| w.build_request(&request, &ctx))?;
            let sent = self
                .send(
                    &parts,
                    &request.model,
                    Expect::Stream,
                    true,
                    options,
                    &hooks,
                )
                .await?;
            let (source, tap) = match sent.answer {
                Answer::Stream(response) => (
                    StreamSource::Body(response),
                    kept_format::<P>(options).map(FrameTap::new),
                ),
                // One JSON document has no frames to keep: the caller renders it.
                Answer::Body { body, .. } => (StreamSource::Whole(body), None),
            };
            let setup = StreamSetup {
                format: self.provider.wire().stream_format(),
                max_line: self.max_line,
                idle: timeouts.idle(),
                deadline: whole,
                finisher: finisher.clone().with_call(sent.secrets),
                hooks: hooks.clone(),
                attempts: sent.meta.attempts,
                called,
                tap,
            };
            let ctx = OwnedContext::new(&P::SPEC, &request.model);
            Ok(
                ChatStream::drive(Arc::clone(&self.provider), source, setup, ctx)
                    .with_dropped_params(dropped)
                    .with_meta(sent.meta),
            )
        }
        .instrument(span.clone())
        .await
        .map_err(|e: Error| record_error(&span, finisher.finish(e)))
    }

    /// List the provider's models.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let finisher = self.finisher("");
        async {
            let ctx = self.ctx("", false);
            let parts = self.build(Operation::Models, &ctx, |w| w.models_request(&ctx))?;
            let body = self.full(&parts, "").await?;
            self.provider.wire().parse_models(&body)
        }
        .await
        .map_err(|e| finisher.finish(e))
    }

    /// Probe the key and the upstream with a request that costs nothing
    /// (the declared `health` probe, or `GET /models`).
    pub async fn health_check(&self) -> HealthStatus {
        let started = Instant::now();
        let ctx = self.ctx("", false);
        let parts = match P::SPEC.health {
            Some(probe) => {
                let mut parts = HttpParts::get(probe.path);
                parts.method = probe_method(probe.method);
                Ok(parts)
            }
            None => self.build(Operation::Models, &ctx, |w| w.models_request(&ctx)),
        };
        let options = ChatOptions::default();
        let result = match parts {
            Ok(parts) => {
                let hooks = &self.transport.hooks;
                self.send(&parts, "", Expect::Full, false, &options, hooks)
                    .await
            }
            Err(e) => Err(e),
        };
        let latency = started.elapsed();
        match result {
            Ok(sent) => HealthStatus {
                healthy: true,
                status: match sent.answer {
                    Answer::Body { status, .. } => Some(status),
                    Answer::Stream(r) => Some(r.status().as_u16()),
                },
                latency,
                error: None,
            },
            Err(e) => HealthStatus {
                healthy: false,
                status: e.status(),
                latency,
                error: Some(self.finisher("").finish(e)),
            },
        }
    }

    fn ctx<'a>(&self, model: &'a str, stream: bool) -> RequestContext<'a> {
        RequestContext::new(&P::SPEC, model, stream)
    }

    fn finisher(&self, model: &str) -> ErrorFinisher {
        ErrorFinisher {
            provider: P::SPEC.name,
            model: model.to_owned(),
            redactor: Arc::clone(&self.transport.redactor),
            call: Default::default(),
        }
    }

    /// The wire builds the request, then the provider's rewrite hook adjusts it.
    fn build(
        &self,
        operation: Operation,
        ctx: &RequestContext<'_>,
        build: impl FnOnce(&P::Wire) -> Result<HttpParts>,
    ) -> Result<HttpParts> {
        let parts = build(self.provider.wire())?;
        self.provider.rewrite_request(parts, operation, ctx)
    }

    /// This call's hooks: the configured ones, then the call's.
    fn hooks(&self, options: &ChatOptions) -> Hooks {
        if options.hooks.is_empty() {
            self.transport.hooks.clone()
        } else {
            self.transport.hooks.then(&options.hooks)
        }
    }

    /// Send through the one transport with this call's options.
    async fn send(
        &self,
        parts: &HttpParts,
        model: &str,
        expect: Expect,
        retry: bool,
        options: &ChatOptions,
        hooks: &Hooks,
    ) -> Result<Sent> {
        options.check()?;
        let timeouts = self
            .transport
            .timeouts
            .with(options.timeout, options.idle_timeout);
        let call = Call {
            provider: P::SPEC.name,
            model,
            expect,
            deadline: Deadline::after(timeouts.call),
            timeouts,
            retry: retry.then(|| options.retry_over(&self.transport.retry)),
            headers: &options.headers,
            hooks,
            classify: &|s, h, b| self.provider.map_error(s, h, b),
        };
        // Boxed: the transport's future (attempts, auth, exchange, body read)
        // is kilobytes, and every future that awaits it inline is copied
        // whole each time it moves (into a span, into `async_trait`'s box);
        // one allocation is cheaper than those copies.
        Box::pin(self.transport.send(parts, &call)).await
    }

    /// Send with retries until a 2xx arrives; the whole body (bounded).
    async fn full(&self, parts: &HttpParts, model: &str) -> Result<Bytes> {
        let options = ChatOptions::default();
        let sent = self
            .send(
                parts,
                model,
                Expect::Full,
                true,
                &options,
                &self.transport.hooks,
            )
            .await?;
        match sent.answer {
            Answer::Body { body, .. } => Ok(body),
            Answer::Stream(_) => Err(Error::decode("expected a whole body, got a stream")),
        }
    }

    /// Fill the default model, validate, and apply the unsupported-parameter policy.
    fn prepare(
        &self,
        mut request: ChatRequest,
        stream: bool,
        options: &ChatOptions,
    ) -> Result<(ChatRequest, Vec<String>)> {
        if request.model.is_empty() {
            match P::SPEC.default_model {
                Some(m) => request.model = m.to_owned(),
                None => {
                    return Err(Error::invalid_request(format!(
                        "the request names no model and the {} provider declares no default_model",
                        P::SPEC.name
                    ))
                    .with_provider(P::SPEC.name));
                }
            }
        }
        if !P::SPEC.supports(Capability::Chat) {
            return Err(Error::unsupported(format!(
                "the {} provider has no chat API",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name));
        }
        if stream && !P::SPEC.supports(Capability::Stream) {
            return Err(Error::unsupported(format!(
                "the {} provider does not stream",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name));
        }
        crate::validate::validate_request(&request, &P::SPEC)?;
        let policy = request
            .unsupported_params
            .or(options.unsupported_params)
            .unwrap_or(self.policy);
        let dropped = self.apply_policy(&mut request, policy)?;
        Ok((request, dropped))
    }

    /// Reject, drop or pass through what the wire format cannot send and what
    /// this host does not accept; the names of the dropped parameters.
    fn apply_policy(
        &self,
        request: &mut ChatRequest,
        policy: UnsupportedParamPolicy,
    ) -> Result<Vec<String>> {
        let unsupported = self
            .provider
            .wire()
            .unsupported_params(request)
            .union(P::SPEC.unsupported_params.set_in(request));
        if unsupported.is_empty() {
            return Ok(Vec::new());
        }
        match policy {
            UnsupportedParamPolicy::Reject => Err(Error::unsupported(format!(
                "the {} provider does not support: {} (set the unsupported-parameter policy to Drop or Passthrough to send anyway)",
                P::SPEC.name,
                unsupported.names().join(", ")
            ))
            .with_provider(P::SPEC.name)
            .with_model(request.model.clone())),
            UnsupportedParamPolicy::Drop => {
                unsupported.clear_from(request);
                Ok(unsupported.iter().map(|p| p.name().to_owned()).collect())
            }
            UnsupportedParamPolicy::Passthrough => {
                unsupported.passthrough_into(request);
                Ok(Vec::new())
            }
        }
    }
}

impl<P: SupportsEmbeddings> ProviderClient<P> {
    /// Embed texts (only for providers that declare `capabilities(embeddings)`).
    pub async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        self.embed_unchecked(request).await
    }
}

impl<P: Provider> ProviderClient<P> {
    async fn embed_unchecked(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        if request.input.is_empty() {
            return Err(
                Error::invalid_request("an embedding request needs at least one input")
                    .with_provider(P::SPEC.name),
            );
        }
        let finisher = self.finisher(&request.model);
        async {
            let ctx = self.ctx(&request.model, false);
            let parts = self.build(Operation::Embeddings, &ctx, |w| {
                w.build_embedding_request(&request, &ctx)
            })?;
            let body = self.full(&parts, &request.model).await?;
            let mut response = self
                .provider
                .wire()
                .parse_embedding_response(&body, &ctx)?
                .in_input_order(request.input.len())?;
            response.provider = P::SPEC.name.to_owned();
            Ok(response)
        }
        .await
        .map_err(|e| finisher.finish(e))
    }
}

/// Whether a parsed response holds anything a caller asked for: a body that
/// decodes to nothing (`{}`, a model list, an unknown shape) is not a success.
fn holds_an_answer(r: &ChatResponse) -> bool {
    !r.message.content.is_empty()
        || !r.message.tool_calls.is_empty()
        || !r.message.reasoning.is_empty()
        || r.finish_reason.is_some()
        || r.reasoning.is_some()
        || r.refusal.is_some()
}
