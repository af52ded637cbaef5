//! [`ProviderClient`]: a declared provider running on the shared HTTP client,
//! and [`LlmProvider`], the object-safe interface every provider shares.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::config::ResolvedConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::provider::{HttpParts, Provider, RequestContext, SupportsEmbeddings};
use crate::retry::{Decision, RetryInput, decide};
use crate::spec::{Capabilities, Capability, ProviderSpec};
use crate::stream::ChatStream;
use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo,
    UnsupportedParamPolicy,
};

/// What a provider is: its name, endpoint and abilities.
#[derive(Debug, Clone)]
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

/// The object-safe interface of every provider, built-in or third-party:
/// `Arc<dyn LlmProvider>` is how [`Client`](crate::Client) holds them.
#[async_trait]
pub trait LlmProvider: Send + Sync + fmt::Debug {
    /// What the provider is.
    fn info(&self) -> ProviderInfo;
    /// A complete answer.
    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse>;
    /// A streamed answer.
    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream>;
    /// Embeddings; [`ErrorKind::Unsupported`] where the provider has none.
    async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse>;
    /// The models the provider lists.
    async fn list_models(&self) -> Result<Vec<ModelInfo>>;
    /// A free probe of the key and the upstream.
    async fn health_check(&self) -> HealthStatus;
}

/// A connected provider. Cheap to clone; all clones share one connection pool.
///
/// Build one with `Name::config()...connect()` or `Name::from_env()`.
pub struct ProviderClient<P> {
    inner: Arc<Inner<P>>,
}

pub(crate) struct Inner<P> {
    pub(crate) provider: P,
    pub(crate) config: ResolvedConfig,
}

impl<P> Clone for ProviderClient<P> {
    fn clone(&self) -> Self {
        ProviderClient {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: Provider> fmt::Debug for ProviderClient<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderClient")
            .field("provider", &P::SPEC.name)
            .field("config", &self.inner.config)
            .finish()
    }
}

impl<P: Provider> ProviderClient<P> {
    pub(crate) fn from_parts(provider: P, config: ResolvedConfig) -> Self {
        ProviderClient {
            inner: Arc::new(Inner { provider, config }),
        }
    }

    /// The declaration.
    pub fn spec(&self) -> &'static ProviderSpec {
        &P::SPEC
    }

    /// The provider settings.
    pub fn provider(&self) -> &P {
        &self.inner.provider
    }

    /// What the provider is.
    pub fn info(&self) -> ProviderInfo {
        ProviderInfo {
            name: P::SPEC.name,
            base_url: self.inner.config.base_url.clone(),
            capabilities: P::SPEC.capabilities,
            models: P::SPEC.models,
            default_model: P::SPEC.default_model,
        }
    }

    /// Send a chat request and wait for the whole answer.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        let (request, dropped) = self.prepare(request, false)?;
        let span = tracing::info_span!("llm.chat", provider = P::SPEC.name, model = %request.model, stream = false);
        async {
            let ctx = self.ctx(&request.model, false);
            let parts = self.inner.provider.build_request(&request, &ctx)?;
            let started = Instant::now();
            let deadline = started + self.inner.config.timeout;
            let (_, body) = self.execute(&parts, deadline, true).await?;
            let mut response = self.inner.provider.parse_response(&body, &ctx)?;
            response.provider = P::SPEC.name.to_owned();
            response.dropped_params = dropped;
            tracing::info!(
                latency_ms = started.elapsed().as_millis() as u64,
                "chat done"
            );
            Ok(response)
        }
        .instrument(span)
        .await
        .map_err(|e: Error| self.finish_error(e, &request.model))
    }

    /// Send a chat request and stream the answer as it is generated.
    pub async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        let (request, dropped) = self.prepare(request, true)?;
        let span = tracing::info_span!("llm.chat", provider = P::SPEC.name, model = %request.model, stream = true);
        let result = async {
            let ctx = self.ctx(&request.model, true);
            let parts = self.inner.provider.build_request(&request, &ctx)?;
            let deadline = Instant::now() + self.inner.config.timeout;
            let response = self.execute_streaming(&parts, deadline).await?;
            Ok(crate::stream::chat_stream::from_response(
                Arc::clone(&self.inner),
                response,
                request.model.clone(),
                dropped,
            ))
        }
        .instrument(span)
        .await;
        result.map_err(|e: Error| self.finish_error(e, &request.model))
    }

    /// List the provider's models.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        let ctx = self.ctx("", false);
        let parts = self.inner.provider.models_request(&ctx)?;
        let deadline = Instant::now() + self.inner.config.timeout;
        let (_, body) = self
            .execute(&parts, deadline, true)
            .await
            .map_err(|e| self.finish_error(e, ""))?;
        self.inner.provider.parse_models(&body)
    }

    /// Probe the key and the upstream with a request that costs nothing
    /// (the declared `health` probe, or `GET /models`).
    pub async fn health_check(&self) -> HealthStatus {
        let started = Instant::now();
        let parts = match P::SPEC.health {
            Some(probe) => {
                let method =
                    http::Method::from_bytes(probe.method.as_bytes()).unwrap_or(http::Method::GET);
                let mut parts = HttpParts::get(probe.path);
                parts.method = method;
                Ok(parts)
            }
            None => self.inner.provider.models_request(&self.ctx("", false)),
        };
        let result = match parts {
            Ok(parts) => {
                self.execute(&parts, started + self.inner.config.timeout, false)
                    .await
            }
            Err(e) => Err(e),
        };
        let latency = started.elapsed();
        match result {
            Ok((status, _)) => HealthStatus {
                healthy: true,
                status: Some(status),
                latency,
                error: None,
            },
            Err(e) => HealthStatus {
                healthy: false,
                status: e.status(),
                latency,
                error: Some(self.finish_error(e, "")),
            },
        }
    }

    fn ctx<'a>(&self, model: &'a str, stream: bool) -> RequestContext<'a> {
        RequestContext {
            spec: &P::SPEC,
            model,
            stream,
        }
    }

    /// Fill the default model, validate, and apply the unsupported-parameter policy.
    fn prepare(
        &self,
        mut request: ChatRequest,
        stream: bool,
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
            .unwrap_or(self.inner.config.unsupported_params);
        let unsupported = self.inner.provider.unsupported_params(&request);
        let mut dropped = Vec::new();
        if !unsupported.is_empty() {
            match policy {
                UnsupportedParamPolicy::Reject => {
                    return Err(Error::unsupported(format!(
                        "the {} provider does not support: {} (set the unsupported-parameter policy to Drop or Passthrough to send anyway)",
                        P::SPEC.name,
                        unsupported.join(", ")
                    ))
                    .with_provider(P::SPEC.name)
                    .with_model(request.model.clone()));
                }
                UnsupportedParamPolicy::Drop => {
                    for name in &unsupported {
                        clear_param(&mut request, name);
                    }
                    dropped = unsupported.iter().map(|s| (*s).to_owned()).collect();
                }
                UnsupportedParamPolicy::Passthrough => {
                    passthrough_params(&mut request, &unsupported)
                }
            }
        }
        Ok((request, dropped))
    }

    fn finish_error(&self, e: Error, model: &str) -> Error {
        let e = e.or_context(P::SPEC.name, model);
        match &self.inner.config.api_key {
            Some(k) => e.redact(k.expose_secret()),
            None => e,
        }
    }

    fn build(&self, parts: &HttpParts, timeout: Duration) -> reqwest::RequestBuilder {
        let cfg = &self.inner.config;
        let mut url = String::with_capacity(cfg.base_url.len() + parts.path.len());
        url.push_str(&cfg.base_url);
        url.push_str(&parts.path);
        let mut req = cfg
            .http
            .reqwest()
            .request(parts.method.clone(), url)
            .timeout(timeout);
        // One header at a time: `.headers(map.clone())` clones the whole map
        // only for reqwest to re-insert it entry by entry.
        for (name, value) in &cfg.headers {
            req = req.header(name, value);
        }
        if !parts.query.is_empty() {
            req = req.query(&parts.query);
        }
        if let Some((param, key)) = &cfg.query_auth {
            req = req.query(&[(*param, key.expose_secret())]);
        }
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        if let Some(body) = &parts.body {
            req = req
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        req
    }

    /// Send with retries until a 2xx arrives; read the whole body (bounded).
    pub(crate) async fn execute(
        &self,
        parts: &HttpParts,
        deadline: Instant,
        retry: bool,
    ) -> Result<(u16, Bytes)> {
        self.with_retries(
            deadline,
            retry,
            |(status, _)| *status,
            |remaining| self.attempt_full(parts, remaining),
        )
        .await
    }

    /// The one retry driver: run `attempt` with the time left until `deadline`,
    /// and on failure ask [`decide`] whether and when to try again.
    async fn with_retries<T, Fut>(
        &self,
        deadline: Instant,
        retry: bool,
        status: impl Fn(&T) -> u16,
        mut attempt: impl FnMut(Duration) -> Fut,
    ) -> Result<T>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        let policy = &self.inner.config.retry;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let started = Instant::now();
            let result = attempt(deadline.saturating_duration_since(started)).await;
            let now = Instant::now();
            match result {
                Ok(value) => {
                    tracing::debug!(
                        attempt = attempts,
                        status = status(&value),
                        latency_ms = (now - started).as_millis() as u64,
                        "upstream answered"
                    );
                    return Ok(value);
                }
                Err(e) => {
                    tracing::debug!(attempt = attempts, status = e.status(), kind = %e.kind(), "upstream failed");
                    if !retry {
                        return Err(e);
                    }
                    match decide(
                        policy,
                        &RetryInput::from_error(&e, attempts, now, Some(deadline)),
                    ) {
                        Decision::Retry(wait) => {
                            tracing::info!(attempt = attempts, wait_ms = wait.as_millis() as u64, kind = %e.kind(), "retrying");
                            tokio::time::sleep(wait).await;
                        }
                        Decision::Stop => return Err(e),
                    }
                }
            }
        }
    }

    async fn attempt_full(&self, parts: &HttpParts, remaining: Duration) -> Result<(u16, Bytes)> {
        let cfg = &self.inner.config;
        if remaining.is_zero() {
            return Err(Error::new(
                ErrorKind::Timeout,
                "the deadline passed before the request was sent",
            ));
        }
        let first_byte = cfg.first_byte_timeout.min(remaining);
        let send = self.build(parts, remaining).send();
        // reqwest's own timeout already bounds the whole request; a second timer
        // is armed only when the time-to-headers bound is shorter.
        let sent = if first_byte < remaining {
            tokio::time::timeout(first_byte, send).await
        } else {
            Ok(send.await)
        };
        let response = match sent {
            Ok(r) => r.map_err(crate::http::send_error)?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no response headers within {first_byte:?}"),
                ));
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_body(response, cfg.max_body).await?;
        if (200..300).contains(&status) {
            Ok((status, body))
        } else {
            Err(self.inner.provider.map_error(status, &headers, &body))
        }
    }

    /// Send with retries until a 2xx arrives; hand back the response unread.
    async fn execute_streaming(
        &self,
        parts: &HttpParts,
        deadline: Instant,
    ) -> Result<reqwest::Response> {
        self.with_retries(
            deadline,
            true,
            |r: &reqwest::Response| r.status().as_u16(),
            |remaining| self.attempt_streaming(parts, remaining),
        )
        .await
    }

    async fn attempt_streaming(
        &self,
        parts: &HttpParts,
        remaining: Duration,
    ) -> Result<reqwest::Response> {
        let cfg = &self.inner.config;
        if remaining.is_zero() {
            return Err(Error::new(
                ErrorKind::Timeout,
                "the deadline passed before the request was sent",
            ));
        }
        let first_byte = cfg.first_byte_timeout.min(remaining);
        // No whole-request timeout on a stream: its length is bounded by the idle gap instead.
        let mut builder = self.build(parts, Duration::from_secs(365 * 24 * 3600));
        builder = builder.header(
            http::header::ACCEPT,
            "text/event-stream, application/x-ndjson, application/json",
        );
        let response = match tokio::time::timeout(first_byte, builder.send()).await {
            Ok(r) => r.map_err(crate::http::send_error)?,
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no response headers within {first_byte:?}"),
                ));
            }
        };
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = match tokio::time::timeout(first_byte, read_body(response, cfg.max_body)).await {
            Ok(b) => b.unwrap_or_default(),
            Err(_) => Bytes::new(),
        };
        Err(self.inner.provider.map_error(status, &headers, &body))
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
        let ctx = self.ctx(&request.model, false);
        let parts = self
            .inner
            .provider
            .build_embedding_request(&request, &ctx)?;
        let deadline = Instant::now() + self.inner.config.timeout;
        let (_, body) = self
            .execute(&parts, deadline, true)
            .await
            .map_err(|e| self.finish_error(e, &request.model))?;
        let mut response = self.inner.provider.parse_embedding_response(&body, &ctx)?;
        response.provider = P::SPEC.name.to_owned();
        Ok(response)
    }
}

#[async_trait]
impl<P: Provider + fmt::Debug> LlmProvider for ProviderClient<P> {
    fn info(&self) -> ProviderInfo {
        ProviderClient::info(self)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatResponse> {
        ProviderClient::chat(self, request).await
    }

    async fn chat_stream(&self, request: ChatRequest) -> Result<ChatStream> {
        ProviderClient::chat_stream(self, request).await
    }

    async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse> {
        if !P::SPEC.supports(Capability::Embeddings) {
            return Err(Error::unsupported(format!(
                "the {} provider has no embeddings",
                P::SPEC.name
            ))
            .with_provider(P::SPEC.name));
        }
        self.embed_unchecked(request).await
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        ProviderClient::list_models(self).await
    }

    async fn health_check(&self) -> HealthStatus {
        ProviderClient::health_check(self).await
    }
}

/// Read a whole body, failing once it grows past `max` bytes.
async fn read_body(response: reqwest::Response, max: usize) -> Result<Bytes> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(Error::decode(format!(
            "the response body is larger than the {max}-byte cap"
        )));
    }
    let mut stream = response.bytes_stream();
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(crate::http::body_read_error)?;
        let len = first.as_ref().map_or(0, Bytes::len) + buf.len() + chunk.len();
        if len > max {
            return Err(Error::decode(format!(
                "the response body is larger than the {max}-byte cap"
            )));
        }
        // Most bodies arrive in one chunk: keep it without copying.
        match (&first, buf.is_empty()) {
            (None, true) => first = Some(chunk),
            _ => {
                if let Some(f) = first.take() {
                    buf.extend_from_slice(&f);
                }
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(buf),
    })
}

/// Copy parameters the dialect cannot map into `extra`, under their own names,
/// so they reach the body as-is (`extra` is merged into every dialect's body).
fn passthrough_params(request: &mut ChatRequest, names: &[&'static str]) {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&*request) else {
        return;
    };
    for name in names {
        if let Some(value) = fields.get(*name)
            && !request.extra.contains_key(*name)
        {
            request.extra.insert((*name).to_owned(), value.clone());
        }
    }
}

/// Clear one named request parameter (the names `Transform::unsupported_params` reports).
fn clear_param(request: &mut ChatRequest, name: &str) {
    match name {
        "temperature" => request.temperature = None,
        "top_p" => request.top_p = None,
        "max_tokens" => request.max_tokens = None,
        "stop" => request.stop.clear(),
        "seed" => request.seed = None,
        "tools" => request.tools.clear(),
        "tool_choice" => request.tool_choice = None,
        "response_format" => request.response_format = None,
        "reasoning_effort" => request.reasoning_effort = None,
        "reasoning_budget" => request.reasoning_budget = None,
        "user" => request.user = None,
        other => {
            request.extra.remove(other);
        }
    }
}
