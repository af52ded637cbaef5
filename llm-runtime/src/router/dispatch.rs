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
use super::outcome::{
    Skips, counts_as_failure, denied, exhausted, min_wait, step, summary, tries_next_deployment,
};
use super::plan::{Plan, plan};
use super::settle::{Settler, SettlingStream, Ticket};
use super::state::{Admission, Ask, Denial, DenialReason, Reservation, RouterState};
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
        let mut request = Some(request);
        // The groups fallen back to (with `name`, every group tried).
        let mut visited: Vec<&str> = Vec::new();
        let mut current = name;
        loop {
            let entry = self.entry(current)?;
            trace.strategy = entry.group.strategy.name().to_owned();
            let turn = Turn {
                entry,
                options,
                deadline,
            };
            let error = match self.try_group::<T>(&turn, &mut request, &mut trace).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            match fallback(entry, &error, name, &visited) {
                Some((class, to)) if deadline.is_none_or(|d| Instant::now() < d) => {
                    tracing::warn!(from = current, to = %to, kind = %error.kind(), "router: falling back to another group");
                    trace.steps.push(RouteStep {
                        group: current.to_owned(),
                        deployment: to.to_owned(),
                        outcome: RouteOutcome::FellBack(class),
                    });
                    visited.push(to);
                    current = to;
                }
                _ => {
                    let summary = summary(&trace);
                    return Err(error.context(&format!("model group `{name}` ({summary})")));
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

    /// Try the deployments of one group in the strategy's order. The request
    /// is moved into the last dispatch nothing can follow (no deployment
    /// left, no fallback group), cloned into the others.
    async fn try_group<T: Served>(
        &self,
        turn: &Turn<'_>,
        request: &mut Option<ChatRequest>,
        trace: &mut RoutingTrace,
    ) -> Result<T> {
        let entry = turn.entry;
        let mut skips = Skips::default();
        let state = &*self.inner.state;
        let shared = state.is_shared().then_some(state);
        let Plan { order, mut prompts } = match request.as_ref() {
            Some(request) => plan(entry, request, shared, trace, &mut skips),
            None => return Err(Error::config("the router has no request left to send")),
        };
        let mut last_error: Option<Error> = None;
        for (k, &i) in order.iter().enumerate() {
            let Some(current) = request.as_ref() else {
                break;
            };
            if turn.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            // Only a `tpm` limit needs the prompt counted; other reservations
            // record its upper bound until they settle with the usage.
            let max_tokens = u64::from(current.max_tokens.unwrap_or(0));
            let estimate = match entry.tpm[i] {
                true => prompts.count(entry, i, current) + max_tokens,
                false => prompts.known(i) + max_tokens,
            };
            let Some(ticket) = self.admit(turn, i, estimate, trace, &mut skips).await else {
                continue;
            };
            let last = k + 1 == order.len() && !entry.falls_back;
            let req = if last {
                request.take()
            } else {
                request.clone()
            };
            let Some(req) = req else { break };
            match self
                .serve::<T>(turn, i, req, ticket, prompts.known(i), trace)
                .await
            {
                Ok(value) => return Ok(value),
                Err(e) => {
                    let moves_on = tries_next_deployment(&e);
                    last_error = Some(e);
                    if !moves_on {
                        break;
                    }
                }
            }
        }
        Err(last_error.unwrap_or_else(|| exhausted(entry.group.name(), &skips, turn.deadline)))
    }

    /// Whether deployment `i` may take the call now: not cooling down (or
    /// this call is its half-open probe), and room reserved under its
    /// limits. A skip is recorded in `trace` and `skips`.
    async fn admit(
        &self,
        turn: &Turn<'_>,
        i: usize,
        estimate: u64,
        trace: &mut RoutingTrace,
        skips: &mut Skips,
    ) -> Option<Ticket> {
        let group = &turn.entry.group;
        let d = &group.deployments[i];
        let health = &turn.entry.health[i];
        let probe = match health.availability(Instant::now()) {
            Availability::Cooling(remaining) => {
                let outcome = RouteOutcome::CoolingDown { remaining };
                step(trace, group.name(), &d.id, outcome);
                skips.wait = min_wait(skips.wait, Some(remaining));
                return None;
            }
            Availability::Probe => true,
            Availability::Ready => false,
        };
        match self.reserve(turn.entry, i, estimate, turn.deadline).await {
            Ok(reservation) => Some(Ticket::new(reservation, Arc::clone(health))),
            Err(denial) => {
                if probe {
                    health.release_probe();
                }
                denied(trace, skips, (group.name(), &d.id), health, denial);
                None
            }
        }
    }

    /// Dispatch to deployment `i` with its model, timeout and retries; on
    /// success finish the ticket and hand the trace to the answer, on failure
    /// settle, record it and maybe cool the deployment down.
    async fn serve<T: Served>(
        &self,
        turn: &Turn<'_>,
        i: usize,
        mut request: ChatRequest,
        ticket: Ticket,
        prompt: u64,
        trace: &mut RoutingTrace,
    ) -> Result<T> {
        let group = &turn.entry.group;
        let d = &group.deployments[i];
        request.model.clone_from(&d.model);
        let options = deployment_options(turn.options, d, turn.deadline);
        match T::dispatch(d.provider.as_ref(), request, &options).await {
            Ok(value) => {
                step(trace, group.name(), &d.id, RouteOutcome::Served);
                group.name().clone_into(&mut trace.served_group);
                trace.deployment.clone_from(&d.id);
                Ok(value.served(ticket, &d.model, prompt, std::mem::take(trace)))
            }
            Err(e) => {
                let mut ticket = ticket;
                ticket.settle(0);
                drop(ticket);
                step(trace, group.name(), &d.id, RouteOutcome::Failed(e.kind()));
                self.record_failure(turn.entry, i, &e, trace).await;
                Err(e)
            }
        }
    }

    /// Reserve against every limited scope of deployment `i`, through the
    /// state, bounded by its own timeout and the caller's deadline.
    async fn reserve(
        &self,
        entry: &GroupEntry,
        i: usize,
        tokens: u64,
        deadline: Option<Instant>,
    ) -> std::result::Result<Option<Granted>, Denial> {
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
            peers: &entry.keys,
            deadline,
        };
        if let Some(local) = &self.inner.in_process {
            // The default state never waits: no future, no timer.
            return match local.reserve_now(&ask) {
                Admission::Granted(r) => Ok(Some((r, Settler::InProcess(Arc::clone(local))))),
                Admission::Denied(d) => Err(d),
            };
        }
        let bound = self.state_bound(deadline);
        let failure = match tokio::time::timeout(bound, state.reserve(&ask)).await {
            Ok(Ok(admission)) => {
                if self.inner.outage.pending() {
                    self.inner
                        .outage
                        .hand_over(self.state_bound(deadline))
                        .await;
                }
                return match admission {
                    Admission::Granted(r) => Ok(Some((r, Settler::State(Arc::clone(state))))),
                    Admission::Denied(d) => Err(d),
                };
            }
            Ok(Err(e)) => e.kind().to_string(),
            Err(_) => format!("no answer within {bound:?}"),
        };
        self.fail_open(&ask, &failure)
    }

    /// The state did not answer: refuse for a fail-closed limit, else count
    /// in this process until it answers again (see `outage`).
    fn fail_open(
        &self,
        ask: &Ask<'_>,
        failure: &str,
    ) -> std::result::Result<Option<Granted>, Denial> {
        if let Some(closed) = ask.scopes.iter().find(|s| !s.limits.fail_open) {
            tracing::warn!(scope = %closed.key, failure = %failure, "router: the state is unreachable and a limit is fail-closed");
            return Err(Denial {
                scope: closed.key.clone(),
                reason: DenialReason::Unavailable,
                retry_in: None,
            });
        }
        tracing::warn!(failure = %failure, "router: the state is unreachable; counting fail-open limits in this process");
        match self.inner.outage.reserve_now(ask) {
            Admission::Granted(r) if !ask.scopes.is_empty() => {
                let local: Arc<dyn RouterState> = self.inner.outage.clone();
                Ok(Some((r, Settler::State(local))))
            }
            Admission::Granted(_) => Ok(None),
            Admission::Denied(d) => Err(d),
        }
    }

    /// How long a call to the state may take: its timeout, within the deadline.
    fn state_bound(&self, deadline: Option<Instant>) -> Duration {
        let timeout = self.inner.state_timeout;
        deadline.map_or(timeout, |d| {
            d.saturating_duration_since(Instant::now()).min(timeout)
        })
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

/// A reservation and the state to settle it with.
type Granted = (Reservation, Settler);

/// What one group's turn of a routed call has at hand.
struct Turn<'a> {
    entry: &'a GroupEntry,
    options: &'a ChatOptions,
    deadline: Option<Instant>,
}

/// The fallback group for `error`'s class not visited yet, if any.
fn fallback<'e>(
    entry: &'e GroupEntry,
    error: &Error,
    first: &str,
    visited: &[&str],
) -> Option<(FallbackClass, &'e str)> {
    let class = FallbackClass::of(error)?;
    let to = entry
        .group
        .fallbacks_for(class)
        .iter()
        .find(|g| *g != first && !visited.contains(&g.as_str()))?;
    Some((class, to))
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
