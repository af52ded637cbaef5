//! One call through the runtime: resolve the model name, call the group (or
//! the wildcard's provider), and keep what the response headers, the metrics
//! and the access log say about it ([`CallRecord`]).
//!
//! Every ingress calls [`chat`], [`chat_stream`] or [`embed`] with the
//! unified types and renders the result in its own wire format.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::Stream;
use http::{HeaderMap, HeaderName, HeaderValue};
use llm_runtime::types::{RateLimit, RateLimits, ResponseMeta, RouteOutcome};
use llm_runtime::{
    ChatOptions, ChatRequest, ChatResponse, ChatStream, EmbeddingRequest, EmbeddingResponse,
    LlmProvider, StreamEvent, Usage, types::UnsupportedParamPolicy,
};

use crate::error::GatewayError;
use crate::models::{Deployed, Price, Target};
use crate::state::SharedState;

/// What the gateway knows about one call; logged and counted when dropped.
#[derive(Debug)]
pub struct CallRecord {
    state: SharedState,
    /// A random id, sent back as `x-litellm-call-id`.
    pub call_id: String,
    /// The route's name in metrics and the log (`chat_completions`).
    pub route: &'static str,
    /// The model group (or wildcard pattern) the name resolved to; the
    /// requested name when it resolved to nothing.
    pub group: String,
    /// The deployment that served it.
    pub deployment: Option<String>,
    /// Provider attempts of the serving deployment (1: no retry).
    pub attempts: u32,
    /// Groups fallen back to.
    pub fallbacks: u32,
    /// Tokens used, where reported.
    pub usage: Option<Usage>,
    /// Dollars, when priced.
    pub cost: Option<f64>,
    /// The upstream's rate-limit headers.
    pub rate_limits: RateLimits,
    /// The HTTP status answered (499: the client went away first).
    pub status: u16,
    started: Instant,
    first_token: Option<Duration>,
    price: Option<Price>,
    /// The call's governance reservation: settled when the record drops,
    /// from the usage seen (so each call is billed once, on every path).
    admission: Option<crate::governance::gate::Admission>,
    /// Output tokens counted from a stream's text (the bill of a
    /// disconnect before the upstream's usage chunk).
    streamed_tokens: i64,
}

impl CallRecord {
    /// A record for a call on `route` starting now.
    pub fn start(state: &SharedState, route: &'static str, requested: &str) -> Self {
        state.metrics.in_flight(route, requested, 1);
        CallRecord {
            state: Arc::clone(state),
            call_id: crate::ids::new_id(),
            route,
            group: requested.to_owned(),
            deployment: None,
            attempts: 0,
            fallbacks: 0,
            usage: None,
            cost: None,
            rate_limits: RateLimits::default(),
            status: 200,
            started: Instant::now(),
            first_token: None,
            price: None,
            admission: None,
            streamed_tokens: 0,
        }
    }

    /// The response headers: call id, model group, deployment, attempts,
    /// fallbacks, cost, and the upstream's `x-ratelimit-*`.
    pub fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("x-litellm-call-id", self.call_id.clone());
        put("x-litellm-model-group", self.group.clone());
        if let Some(d) = &self.deployment {
            put("x-litellm-model-id", d.clone());
        }
        put(
            "x-litellm-attempted-retries",
            self.attempts.saturating_sub(1).to_string(),
        );
        put("x-litellm-attempted-fallbacks", self.fallbacks.to_string());
        if let Some(cost) = self.cost {
            put("x-litellm-response-cost", format!("{cost:.10}"));
        }
        let mut limit = |kind: &str, l: Option<RateLimit>| {
            let Some(l) = l else { return };
            for (what, value) in [
                ("limit", l.limit.map(|n| n.to_string())),
                ("remaining", l.remaining.map(|n| n.to_string())),
                ("reset", l.reset.map(|d| format!("{}s", d.as_secs_f64()))),
            ] {
                if let (Some(value), Ok(name)) = (
                    value,
                    HeaderName::try_from(format!("x-ratelimit-{what}-{kind}")),
                ) && let Ok(v) = HeaderValue::from_str(&value)
                {
                    h.insert(name, v);
                }
            }
        };
        limit("requests", self.rate_limits.requests);
        limit("tokens", self.rate_limits.tokens);
        h
    }

    /// Take what the runtime's metadata says (deployment, attempts, limits).
    fn served(&mut self, meta: &ResponseMeta, wildcard: Option<&str>) {
        self.attempts = meta.attempts.max(1);
        self.rate_limits = meta.rate_limits;
        if let Some(route) = &meta.routing {
            self.deployment = Some(route.deployment.clone());
            self.fallbacks = route
                .steps
                .iter()
                .filter(|s| matches!(s.outcome, RouteOutcome::FellBack(_)))
                .count() as u32;
            let served_group = route.served_group.clone();
            self.price = self.state.models.groups.get(&served_group).and_then(|ds| {
                ds.iter()
                    .find(|d| d.id == route.deployment)
                    .and_then(|d| d.price)
            });
        } else if let Some(d) = wildcard {
            self.deployment = Some(d.to_owned());
        }
    }

    /// Usage seen (priced when the deployment has a price).
    pub fn set_usage(&mut self, usage: Usage) {
        self.usage = Some(usage);
        self.cost = self.price.map(|p| p.cost(&usage));
        if let Some(a) = &self.admission {
            a.observe_priced(
                crate::governance::gate::Usage {
                    prompt_tokens: i64::from(usage.prompt_tokens),
                    completion_tokens: i64::from(usage.completion_tokens),
                },
                self.cost.map(crate::governance::model::usd_to_nanos),
            );
        }
    }

    /// A routed call's error: the key's or team's refusal when that is why
    /// the router gave up, else the router's own error.
    fn routed_error(&self, e: llm_runtime::Error) -> GatewayError {
        crate::governance::wire::refusal_of(self.admission.as_ref())
            .unwrap_or_else(|| GatewayError::from(e))
    }

    /// Hold `admission` until the call ends.
    pub fn govern(&mut self, admission: Option<crate::governance::gate::Admission>) {
        self.admission = admission;
    }

    /// Count a stream's text toward the usage billed if the stream ends
    /// before the upstream reports its usage.
    fn streamed(&mut self, text: &str) {
        if self.usage.is_some() {
            return;
        }
        let Some(a) = &self.admission else { return };
        self.streamed_tokens +=
            i64::try_from(llm_runtime::tokens::count_text(&self.group, text).tokens).unwrap_or(0);
        a.observe_streamed(self.streamed_tokens);
    }

    /// Mark the first token of a stream.
    pub fn first_token(&mut self) {
        if self.first_token.is_none() {
            let elapsed = self.started.elapsed();
            self.first_token = Some(elapsed);
            self.state
                .metrics
                .first_token(self.route, &self.group, elapsed);
        }
    }

    /// Record a failure's status.
    pub fn failed(&mut self, error: &GatewayError) {
        self.status = error.status.as_u16();
        if let Some(a) = &self.admission {
            a.failed();
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let m = &self.state.metrics;
        m.in_flight(self.route, &self.group, -1);
        m.request(self.route, &self.group, self.status, elapsed);
        let deployment = self.deployment.as_deref().unwrap_or("none");
        if let Some(u) = self.usage {
            m.usage(
                &self.group,
                deployment,
                u.prompt_tokens,
                u.completion_tokens,
                self.cost,
            );
        }
        // The access log: one line per call, no prompt text, no key.
        tracing::info!(
            target: "llm_gateway::access",
            call_id = %self.call_id,
            route = self.route,
            model_group = %self.group,
            deployment = deployment,
            status = self.status,
            latency_ms = elapsed.as_secs_f64() * 1e3,
            ttft_ms = self.first_token.map(|d| d.as_secs_f64() * 1e3),
            prompt_tokens = self.usage.map(|u| u.prompt_tokens),
            completion_tokens = self.usage.map(|u| u.completion_tokens),
            cost_usd = self.cost,
            attempts = self.attempts,
            fallbacks = self.fallbacks,
            "call"
        );
    }
}

/// Apply the config's call defaults (`drop_params`) to a request.
fn prepare(state: &SharedState, mut request: ChatRequest) -> ChatRequest {
    if state.config.litellm_settings.drop_params == Some(true)
        && request.unsupported_params.is_none()
    {
        request.unsupported_params = Some(UnsupportedParamPolicy::Drop);
    }
    request
}

/// The wire format each chat route's callers speak (a provider's dialect
/// name): when the provider that serves a call speaks it too, the answer is
/// kept as the upstream sent it and passed on unchanged (same-dialect
/// passthrough); a route not listed always renders.
const ROUTE_DIALECTS: [(&str, &str); 3] = [
    ("chat_completions", "openai"),
    ("anthropic_messages", "anthropic"),
    ("responses", "openai_responses"),
];

/// The options of a chat call on `route`: keep the answer's wire bytes when
/// the provider speaks the route's format.
fn call_options(route: &str) -> ChatOptions {
    match ROUTE_DIALECTS.iter().find(|(r, _)| *r == route) {
        Some((_, dialect)) => ChatOptions::default().keep_wire(dialect),
        None => ChatOptions::default(),
    }
}

/// The upstream's answer body when it is in `route`'s own format (to pass
/// on unchanged), else `None` (render the unified answer).
pub fn same_dialect_body<'a>(route: &str, answer: &'a ChatResponse) -> Option<&'a bytes::Bytes> {
    let wire = answer.meta.wire.as_ref()?;
    ROUTE_DIALECTS
        .iter()
        .any(|(r, d)| *r == route && *d == wire.format)
        .then_some(&wire.body)
}

/// Where a chat call goes, once its model name is resolved.
enum Dispatch<'a> {
    /// A group on the runtime's router.
    Group(&'a str),
    /// A wildcard's provider: the deployment label, the upstream model.
    Direct(Arc<dyn LlmProvider>, String),
}

/// Resolve `model`, naming the group (or pattern) and pricing a wildcard
/// call in `record`; `request.model` becomes the upstream model for a wildcard.
fn dispatch<'a>(
    state: &'a SharedState,
    record: &mut CallRecord,
    model: &str,
    request: &mut ChatRequest,
) -> Result<Dispatch<'a>, GatewayError> {
    match state.models.resolve(model) {
        None => Err(GatewayError::model_not_found(model)),
        Some(Target::Group { name, .. }) => {
            record.group = name.to_owned();
            Ok(Dispatch::Group(name))
        }
        Some(Target::Wildcard(w)) => {
            record.group.clone_from(&w.pattern);
            let (provider, provider_name, upstream) = w
                .target(model)
                .map_err(|e| GatewayError::bad_request(e.to_string()).param("model"))?;
            let label = format!("{}:{provider_name}", w.pattern);
            record.price = catalog_price(&provider_name, &upstream);
            request.model = upstream;
            Ok(Dispatch::Direct(provider, label))
        }
    }
}

/// A whole chat answer from the model `model` names.
pub async fn chat(
    state: &SharedState,
    route: &'static str,
    model: &str,
    request: ChatRequest,
) -> (Result<ChatResponse, GatewayError>, CallRecord) {
    let mut record = CallRecord::start(state, route, model);
    match crate::governance::wire::admit_chat(state, &record.call_id, model, &request).await {
        Ok(admission) => record.govern(admission),
        Err(e) => {
            record.failed(&e);
            return (Err(e), record);
        }
    }
    let mut request = prepare(state, request);
    let options = call_options(route);
    let result = match dispatch(state, &mut record, model, &mut request) {
        Err(e) => Err(e),
        Ok(Dispatch::Group(name)) => {
            let r = state.models.client.chat_with(name, request, &options).await;
            r.inspect(|resp| record.served(&resp.meta, None))
                .map_err(|e| record.routed_error(e))
        }
        Ok(Dispatch::Direct(provider, label)) => {
            let r = provider.chat_with(request, &options).await;
            r.inspect(|resp| record.served(&resp.meta, Some(&label)))
                .map_err(GatewayError::from)
        }
    };
    match &result {
        Ok(resp) => {
            if let Some(u) = resp.usage {
                record.set_usage(u);
            }
        }
        Err(e) => record.failed(e),
    }
    (result, record)
}

/// The catalog price of `provider/model`, per token.
pub(crate) fn catalog_price(provider: &str, model: &str) -> Option<Price> {
    let card = llm_runtime::catalog::lookup(&format!("{provider}/{model}"))?;
    let p = card.price?;
    Some(Price {
        input: p.input / 1e6,
        output: p.output / 1e6,
    })
}

/// A streamed chat answer; the record travels with the stream.
pub async fn chat_stream(
    state: &SharedState,
    route: &'static str,
    model: &str,
    request: ChatRequest,
) -> Result<ObservedStream, (GatewayError, CallRecord)> {
    let mut record = CallRecord::start(state, route, model);
    match crate::governance::wire::admit_chat(state, &record.call_id, model, &request).await {
        Ok(admission) => record.govern(admission),
        Err(e) => {
            record.failed(&e);
            return Err((e, record));
        }
    }
    let mut request = prepare(state, request);
    let options = call_options(route);
    let opened = match dispatch(state, &mut record, model, &mut request) {
        Err(e) => Err(e),
        Ok(Dispatch::Group(name)) => {
            let r = state
                .models
                .client
                .chat_stream_with(name, request, &options)
                .await;
            r.inspect(|s| record.served(s.meta(), None))
                .map_err(|e| record.routed_error(e))
        }
        Ok(Dispatch::Direct(provider, label)) => {
            let r = provider.chat_stream_with(request, &options).await;
            r.inspect(|s| record.served(s.meta(), Some(&label)))
                .map_err(GatewayError::from)
        }
    };
    match opened {
        Ok(inner) => Ok(ObservedStream {
            inner,
            record,
            ended: false,
        }),
        Err(e) => {
            record.failed(&e);
            Err((e, record))
        }
    }
}

/// Embeddings from the model `model` names: a group's deployments are
/// tried in weighted-random order, the next after a retryable error.
pub async fn embed(
    state: &SharedState,
    model: &str,
    request: EmbeddingRequest,
) -> (Result<EmbeddingResponse, GatewayError>, CallRecord) {
    let mut record = CallRecord::start(state, "embeddings", model);
    match crate::governance::wire::admit_embeddings(state, &record.call_id, model, &request).await {
        Ok(admission) => record.govern(admission),
        Err(e) => {
            record.failed(&e);
            return (Err(e), record);
        }
    }
    let result = match state.models.resolve(model) {
        None => Err(GatewayError::model_not_found(model)),
        Some(Target::Group { name, deployments }) => {
            record.group = name.to_owned();
            embed_group(&mut record, deployments, request).await
        }
        Some(Target::Wildcard(w)) => {
            record.group.clone_from(&w.pattern);
            match w.target(model) {
                Err(e) => Err(GatewayError::bad_request(e.to_string()).param("model")),
                Ok((provider, provider_name, upstream)) => {
                    record.deployment = Some(format!("{}:{provider_name}", w.pattern));
                    record.price = catalog_price(&provider_name, &upstream);
                    record.attempts = 1;
                    let mut request = request;
                    request.model = upstream;
                    provider.embed(request).await.map_err(GatewayError::from)
                }
            }
        }
    };
    match &result {
        Ok(r) => {
            if let Some(u) = r.usage {
                record.set_usage(u);
            }
        }
        Err(e) => record.failed(e),
    }
    (result, record)
}

async fn embed_group(
    record: &mut CallRecord,
    deployments: &[Arc<Deployed>],
    request: EmbeddingRequest,
) -> Result<EmbeddingResponse, GatewayError> {
    let order = weighted_order(deployments);
    let mut last = None;
    for (tries, i) in order.into_iter().enumerate() {
        let d = &deployments[i];
        let mut req = request.clone();
        req.model.clone_from(&d.model);
        record.deployment = Some(d.id.clone());
        record.price = d.price;
        record.attempts = tries as u32 + 1;
        match d.provider.embed(req).await {
            Ok(r) => return Ok(r),
            Err(e) if e.is_retryable() => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(
        || GatewayError::bad_request("the group has no deployment"),
        GatewayError::from,
    ))
}

/// Indices of `deployments`, each next pick in proportion to the weights left.
pub(crate) fn weighted_order(deployments: &[Arc<Deployed>]) -> Vec<usize> {
    let mut left: Vec<(usize, u64)> = deployments
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d.weight.max(1)))
        .collect();
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let total: u64 = left.iter().map(|(_, w)| w).sum();
        let mut r = fastrand::u64(0..total.max(1));
        let pick = left
            .iter()
            .position(|(_, w)| {
                let hit = r < *w;
                r = r.saturating_sub(*w);
                hit
            })
            .unwrap_or(0);
        order.push(left.remove(pick).0);
    }
    order
}

/// A chat stream that keeps its [`CallRecord`] up to date (first token,
/// usage, a mid-stream error's status) and logs the call when dropped, so a
/// client that goes away mid-stream is logged (status 499) and the upstream
/// connection closes with it.
#[derive(Debug)]
pub struct ObservedStream {
    inner: ChatStream,
    /// The call's record.
    pub record: CallRecord,
    ended: bool,
}

impl ObservedStream {
    /// The response headers, as known when the stream opened.
    pub fn headers(&self) -> HeaderMap {
        self.record.headers()
    }

    /// The wire format whose frames the stream keeps (see
    /// [`ChatStream::wire_format`]): the route's own when the provider speaks it.
    pub fn wire_format(&self) -> Option<&'static str> {
        self.inner.wire_format()
    }

    /// The upstream's frames read so far (see [`ChatStream::take_frames`]).
    pub fn take_frames(&self, into: &mut Vec<llm_runtime::stream::Frame>) {
        self.inner.take_frames(into);
    }
}

impl Stream for ObservedStream {
    type Item = llm_runtime::Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = Pin::new(&mut this.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(event))) => match event {
                StreamEvent::TextDelta { text } => {
                    this.record.first_token();
                    this.record.streamed(text);
                }
                StreamEvent::ReasoningDelta { .. }
                | StreamEvent::ToolCallStart { .. }
                | StreamEvent::RefusalDelta { .. } => this.record.first_token(),
                StreamEvent::Usage { usage } => this.record.set_usage(*usage),
                _ => {}
            },
            Poll::Ready(Some(Err(e))) => {
                let status = GatewayError::from(e.clone_for_status()).status.as_u16();
                this.record.status = status;
                this.ended = true;
            }
            Poll::Ready(None) => this.ended = true,
            Poll::Pending => {}
        }
        item
    }
}

impl Drop for ObservedStream {
    fn drop(&mut self) {
        if !self.ended {
            // Dropped before its end: the client went away (nginx's 499).
            self.record.status = 499;
        }
    }
}

/// The parts of a runtime error the status needs (errors are not `Clone`).
trait StatusOf {
    fn clone_for_status(&self) -> llm_runtime::Error;
}

impl StatusOf for llm_runtime::Error {
    fn clone_for_status(&self) -> llm_runtime::Error {
        let mut e = llm_runtime::Error::new(self.kind(), "");
        if let Some(s) = self.status() {
            e = e.with_status(s);
        }
        e
    }
}
