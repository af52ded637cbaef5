//! One routed call: order the group's deployments, skip what cannot serve it
//! (context window, cooldown, limits), dispatch, move on after a failure, and
//! fall back to another group by the class of the last error.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::options::ChatOptions;
use crate::provider_client::ChatStream;
use crate::provider_client::LlmProvider;
use crate::types::{ChatRequest, ChatResponse};
use crate::types::{FallbackClass, RouteOutcome, RouteStep, RoutingTrace};

use super::health::{Availability, Cooled};
use super::settle::{SettlingStream, Ticket};
use super::state::{Admission, Ask, Denial, DenialReason};
use super::strategy::Candidate;
use super::{GroupEntry, Router};

/// What a dispatched call produced, and how to finish its ticket.
trait Served: Sized + Send {
    /// Dispatch to the provider.
    fn dispatch<'a>(
        provider: &'a dyn LlmProvider,
        request: ChatRequest,
        options: &'a ChatOptions,
    ) -> Pin<Box<dyn Future<Output = Result<Self>> + Send + 'a>>;
    /// Finish the ticket (settle now, or hand it to the stream) and record the trace.
    fn served(self, ticket: Ticket, model: &str, prompt: u64, trace: RoutingTrace) -> Self;
}

impl Served for ChatResponse {
    fn dispatch<'a>(
        provider: &'a dyn LlmProvider,
        request: ChatRequest,
        options: &'a ChatOptions,
    ) -> Pin<Box<dyn Future<Output = Result<Self>> + Send + 'a>> {
        provider.chat_with(request, options)
    }

    fn served(mut self, ticket: Ticket, _model: &str, prompt: u64, trace: RoutingTrace) -> Self {
        let tokens = self.usage.as_ref().map_or(prompt, |u| {
            u64::from(u.total_tokens.max(u.prompt_tokens + u.completion_tokens))
        });
        ticket.succeeded(tokens, self.meta.rate_limits);
        if self.provider.is_empty() {
            self.provider.clone_from(&trace.deployment);
        }
        self.meta.routing = Some(Box::new(trace));
        self
    }
}

impl Served for ChatStream {
    fn dispatch<'a>(
        provider: &'a dyn LlmProvider,
        request: ChatRequest,
        options: &'a ChatOptions,
    ) -> Pin<Box<dyn Future<Output = Result<Self>> + Send + 'a>> {
        provider.chat_stream_with(request, options)
    }

    fn served(self, ticket: Ticket, model: &str, prompt: u64, trace: RoutingTrace) -> Self {
        let mut stream = SettlingStream::wrap(self, ticket, model.to_owned(), prompt);
        stream.meta_mut().routing = Some(Box::new(trace));
        stream
    }
}

/// Why a group gave up without an upstream error.
#[derive(Default)]
struct Skips {
    /// The largest window among deployments skipped for it, and the need.
    too_small: Option<(u64, u64)>,
    /// Shortest wait among cooling or full deployments.
    wait: Option<Duration>,
    /// A fail-closed scope the state could not be asked about.
    unavailable: Option<String>,
    others: usize,
}

impl Router {
    /// Send `request` to the group `group` and wait for the whole answer.
    pub async fn chat(
        &self,
        group: &str,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatResponse> {
        self.route(group, request, options).await
    }

    /// Send `request` to the group `group` and stream the answer. Deployments
    /// and fallbacks are tried while the stream is opened; the reservation
    /// settles when the stream ends or is dropped.
    pub async fn chat_stream(
        &self,
        group: &str,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatStream> {
        self.route(group, request, options).await
    }

    async fn route<T: Served>(
        &self,
        name: &str,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<T> {
        let deadline = options.timeout.map(|t| Instant::now() + t);
        let mut trace = RoutingTrace {
            group: name.to_owned(),
            ..RoutingTrace::default()
        };
        let mut visited: Vec<&str> = Vec::new();
        let mut current = name;
        loop {
            let entry = self.entry(current)?;
            visited.push(current);
            trace.strategy = entry.group.strategy.name().to_owned();
            let error = match self
                .try_group::<T>(entry, &request, options, deadline, &mut trace)
                .await
            {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let next = FallbackClass::of(&error).and_then(|class| {
                let to = entry
                    .group
                    .fallbacks_for(class)
                    .iter()
                    .find(|g| !visited.contains(&g.as_str()))?;
                Some((class, to))
            });
            match next {
                Some((class, to)) if deadline.is_none_or(|d| Instant::now() < d) => {
                    tracing::warn!(from = current, to = %to, kind = %error.kind(), "router: falling back to another group");
                    trace.steps.push(RouteStep {
                        group: current.to_owned(),
                        deployment: to.clone(),
                        outcome: RouteOutcome::FellBack(class),
                    });
                    current = to;
                }
                _ => {
                    return Err(
                        error.context(&format!("model group `{name}` ({})", summary(&trace)))
                    );
                }
            }
        }
    }

    fn entry(&self, name: &str) -> Result<&GroupEntry> {
        self.inner
            .groups
            .get(name)
            .ok_or_else(|| Error::config(format!("no model group named `{name}`")))
    }

    /// Try the deployments of one group in the strategy's order.
    async fn try_group<T: Served>(
        &self,
        entry: &GroupEntry,
        request: &ChatRequest,
        options: &ChatOptions,
        deadline: Option<Instant>,
        trace: &mut RoutingTrace,
    ) -> Result<T> {
        let group = &entry.group;
        let now = Instant::now();
        let mut skips = Skips::default();
        let mut counted: Option<(&str, u64)> = None;
        let mut prompts = vec![0u64; group.deployments.len()];
        let mut eligible = Vec::with_capacity(group.deployments.len());
        for (i, d) in group.deployments.iter().enumerate() {
            let prompt = match counted {
                Some((model, n)) if model == d.model => n,
                _ => {
                    let n = count_prompt(request, &d.model);
                    counted = Some((&d.model, n));
                    n
                }
            };
            prompts[i] = prompt;
            let needed = prompt + u64::from(request.max_tokens.unwrap_or(0));
            if let Some(window) = d.effective_context_window().filter(|w| needed > *w) {
                step(
                    trace,
                    group.name(),
                    &d.id,
                    RouteOutcome::ContextWindowTooSmall { needed, window },
                );
                let largest = skips.too_small.map_or(window, |(w, _)| w.max(window));
                skips.too_small = Some((largest, needed));
                continue;
            }
            eligible.push(i);
        }
        let candidates: Vec<Candidate<'_>> =
            eligible.iter().map(|&i| candidate(entry, i, now)).collect();
        let mut order = Vec::with_capacity(candidates.len());
        group.strategy.order(&candidates, &mut order);
        let mut last_error: Option<Error> = None;
        for i in order.into_iter().filter_map(|k| eligible.get(k).copied()) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let d = &group.deployments[i];
            let health = &entry.health[i];
            let probe = match health.availability(Instant::now()) {
                Availability::Cooling(remaining) => {
                    step(
                        trace,
                        group.name(),
                        &d.id,
                        RouteOutcome::CoolingDown { remaining },
                    );
                    skips.wait = min_wait(skips.wait, Some(remaining));
                    continue;
                }
                Availability::Probe => true,
                Availability::Ready => false,
            };
            let tokens = prompts[i] + u64::from(request.max_tokens.unwrap_or(0));
            let reservation = match self.reserve(entry, i, tokens, deadline).await {
                Ok(r) => r,
                Err(denial) => {
                    if probe {
                        health.release_probe();
                    }
                    denied(trace, &mut skips, (group.name(), &d.id), health, denial);
                    continue;
                }
            };
            let ticket = Ticket::new(reservation, Arc::clone(health));
            let mut req = request.clone();
            req.model.clone_from(&d.model);
            let opts = deployment_options(options, d, deadline);
            match T::dispatch(d.provider.as_ref(), req, &opts).await {
                Ok(value) => {
                    step(trace, group.name(), &d.id, RouteOutcome::Served);
                    trace.served_group = group.name().to_owned();
                    trace.deployment.clone_from(&d.id);
                    return Ok(value.served(ticket, &d.model, prompts[i], trace.clone()));
                }
                Err(e) => {
                    let mut ticket = ticket;
                    ticket.settle(0);
                    drop(ticket);
                    step(trace, group.name(), &d.id, RouteOutcome::Failed(e.kind()));
                    self.record_failure(entry, i, &e, trace).await;
                    let moves_on = tries_next_deployment(&e);
                    last_error = Some(e);
                    if !moves_on {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| exhausted(group.name(), &skips, deadline)))
    }

    /// Reserve against every limited scope of deployment `i`, through the
    /// state, bounded by its own timeout and the caller's deadline.
    async fn reserve(
        &self,
        entry: &GroupEntry,
        i: usize,
        tokens: u64,
        deadline: Option<Instant>,
    ) -> std::result::Result<Option<(super::Reservation, Arc<dyn super::RouterState>)>, Denial>
    {
        let scopes = &entry.scopes[i];
        let state = &self.inner.state;
        if scopes.is_empty() && !state.is_shared() {
            // Nothing to count: a plain group costs no reservation.
            return Ok(None);
        }
        let ask = Ask {
            id: fastrand::u64(..),
            scopes,
            tokens,
            deployment: &entry.keys[i],
            deadline,
        };
        let bound = deadline.map_or(self.inner.state_timeout, |d| {
            d.saturating_duration_since(Instant::now())
                .min(self.inner.state_timeout)
        });
        let failure = match tokio::time::timeout(bound, state.reserve(&ask)).await {
            Ok(Ok(Admission::Granted(r))) => return Ok(Some((r, Arc::clone(state)))),
            Ok(Ok(Admission::Denied(d))) => return Err(d),
            Ok(Err(e)) => e.kind().to_string(),
            Err(_) => format!("no answer within {bound:?}"),
        };
        if let Some(closed) = scopes.iter().find(|s| !s.limits.fail_open) {
            tracing::warn!(scope = %closed.key, failure = %failure, "router: the state is unreachable and a limit is fail-closed");
            return Err(Denial {
                scope: closed.key.clone(),
                reason: DenialReason::Unavailable,
                retry_in: None,
            });
        }
        tracing::warn!(failure = %failure, "router: the state is unreachable; counting fail-open limits in this process");
        // Fail-open: this process's own counters stand in until the state answers.
        match self.inner.local.reserve_now(&ask) {
            Admission::Granted(r) if !scopes.is_empty() => {
                let local: Arc<dyn super::RouterState> = self.inner.local.clone();
                Ok(Some((r, local)))
            }
            Admission::Granted(_) => Ok(None),
            Admission::Denied(d) => Err(d),
        }
    }

    /// Count a failure against deployment `i`: maybe cool it (and tell the
    /// shared state), never silently the last healthy one.
    async fn record_failure(
        &self,
        entry: &GroupEntry,
        i: usize,
        e: &Error,
        trace: &mut RoutingTrace,
    ) {
        if !counts_as_failure(e) {
            return;
        }
        let now = Instant::now();
        let others_healthy = entry
            .health
            .iter()
            .enumerate()
            .any(|(j, h)| j != i && !h.is_cooling(now));
        let retry_after = (e.kind() == ErrorKind::RateLimited)
            .then(|| e.retry_after())
            .flatten();
        let id = &entry.group.deployments[i].id;
        match entry.health[i].failed(&entry.group.cooldown, retry_after, others_healthy, now) {
            Cooled::For(duration) => {
                if !others_healthy {
                    trace.notes.push(format!(
                        "cooled down `{id}`, the last healthy deployment of `{}`, for {duration:?}: the upstream asked to wait",
                        entry.group.name()
                    ));
                }
                let bound = self.inner.state_timeout;
                let shared = self.inner.state.cool_down(&entry.keys[i], duration);
                if !matches!(tokio::time::timeout(bound, shared).await, Ok(Ok(()))) {
                    tracing::warn!(deployment = %id, "router: could not share a cooldown");
                }
            }
            Cooled::Kept => trace.notes.push(format!(
                "kept `{id}` in rotation: it is the last healthy deployment of `{}` (its failures would have cooled it down)",
                entry.group.name()
            )),
            Cooled::No => {}
        }
    }
}

/// Record a refused reservation: a cooldown another process set, a full
/// limit, or a fail-closed limit the state could not be asked about.
fn denied(
    trace: &mut RoutingTrace,
    skips: &mut Skips,
    (group, id): (&str, &str),
    health: &super::health::DeploymentHealth,
    denial: Denial,
) {
    skips.wait = min_wait(skips.wait, denial.retry_in);
    skips.others += 1;
    let outcome = match denial.reason {
        DenialReason::Cooling => {
            let remaining = denial.retry_in.unwrap_or_default();
            health.cool_until(Instant::now() + remaining);
            RouteOutcome::CoolingDown { remaining }
        }
        DenialReason::Unavailable => {
            skips.unavailable = Some(denial.scope.clone());
            RouteOutcome::StateUnavailable {
                scope: denial.scope,
            }
        }
        _ => RouteOutcome::LimitReached {
            scope: denial.scope,
        },
    };
    step(trace, group, id, outcome);
}

fn step(trace: &mut RoutingTrace, group: &str, deployment: &str, outcome: RouteOutcome) {
    trace.steps.push(RouteStep {
        group: group.to_owned(),
        deployment: deployment.to_owned(),
        outcome,
    });
}

fn min_wait(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn count_prompt(request: &ChatRequest, model: &str) -> u64 {
    if request.model == model {
        return crate::tokens::count_request(request).tokens as u64;
    }
    let mut req = request.clone();
    model.clone_into(&mut req.model);
    crate::tokens::count_request(&req).tokens as u64
}

fn candidate<'a>(entry: &'a GroupEntry, i: usize, now: Instant) -> Candidate<'a> {
    let health = &entry.health[i];
    let (recent_requests, recent_tokens) = health.recent_usage(now);
    let deployment = &entry.group.deployments[i];
    Candidate {
        deployment,
        in_flight: health.in_flight.load(std::sync::atomic::Ordering::Relaxed),
        latency: health.latency(),
        recent_requests,
        recent_tokens,
        upstream: health.upstream(),
        price: deployment.catalog_price(),
    }
}

/// The caller's options with the deployment's timeout and retries, the
/// timeout bounded by what is left of the caller's deadline.
fn deployment_options<'o>(
    options: &'o ChatOptions,
    d: &super::Deployment,
    deadline: Option<Instant>,
) -> Cow<'o, ChatOptions> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let timeout = match (d.timeout, left) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    };
    if timeout == options.timeout && d.max_retries.is_none() {
        return Cow::Borrowed(options);
    }
    let mut owned = options.clone();
    owned.timeout = timeout;
    if d.max_retries.is_some() {
        owned.max_retries = d.max_retries;
    }
    Cow::Owned(owned)
}

/// Whether another deployment of the group may succeed where this one failed:
/// the upstream failed, or this deployment's key or model is the problem.
/// Not when the request itself is (validation, window, content policy).
fn tries_next_deployment(e: &Error) -> bool {
    e.is_retryable()
        || matches!(
            e.kind(),
            ErrorKind::Authentication
                | ErrorKind::PermissionDenied
                | ErrorKind::NotFound
                | ErrorKind::QuotaExceeded
        )
}

/// Whether a failure counts toward the deployment's cooldown.
fn counts_as_failure(e: &Error) -> bool {
    tries_next_deployment(e)
}

/// The error of a group none of whose deployments was dispatched to.
fn exhausted(group: &str, skips: &Skips, deadline: Option<Instant>) -> Error {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Error::new(
            ErrorKind::Timeout,
            "the call's deadline passed while routing",
        );
    }
    if let Some(scope) = &skips.unavailable {
        return Error::new(
            ErrorKind::RateLimited,
            format!(
                "the router state did not answer in time and the limit of `{scope}` is fail-closed"
            ),
        );
    }
    match skips {
        Skips {
            too_small: Some((window, needed)),
            wait: None,
            others: 0,
            ..
        } => Error::new(
            ErrorKind::ContextWindowExceeded,
            format!(
                "the prompt needs {needed} tokens (counted prompt + max_tokens); the largest context window in group `{group}` is {window}"
            ),
        ),
        _ => Error::new(
            ErrorKind::RateLimited,
            format!("every deployment of group `{group}` is cooling down or at a limit"),
        )
        .with_retry_after(skips.wait),
    }
}

/// `a: Failed(RateLimited), b: CoolingDown` for an error message.
fn summary(trace: &RoutingTrace) -> String {
    let parts: Vec<String> = trace
        .steps
        .iter()
        .map(|s| match &s.outcome {
            RouteOutcome::FellBack(class) => {
                format!("fell back ({class:?}) to group `{}`", s.deployment)
            }
            RouteOutcome::CoolingDown { remaining } => {
                format!("{}: cooling down ({remaining:?} left)", s.deployment)
            }
            RouteOutcome::LimitReached { scope } => {
                format!("{}: limit of `{scope}` reached", s.deployment)
            }
            RouteOutcome::ContextWindowTooSmall { needed, window } => {
                format!("{}: window {window} < {needed} tokens", s.deployment)
            }
            RouteOutcome::Failed(kind) => format!("{}: {kind}", s.deployment),
            RouteOutcome::StateUnavailable { scope } => {
                format!(
                    "{}: state unreachable, `{scope}` is fail-closed",
                    s.deployment
                )
            }
            other => format!("{}: {other:?}", s.deployment),
        })
        .collect();
    let mut text = parts.join("; ");
    if !trace.notes.is_empty() {
        text.push_str("; ");
        text.push_str(&trace.notes.join("; "));
    }
    text
}
