//! Settling a reservation exactly once: after a whole answer, at the end of a
//! stream, or when the call or the stream is dropped half-way.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use futures_util::FutureExt;

use crate::error::Result;
use crate::provider_client::ChatStream;
use crate::types::RateLimits;
use crate::types::{StreamEvent, Usage};

use super::health::DeploymentHealth;
use super::state::{InProcessState, Reservation, RouterState};

/// The state a reservation was granted by, to settle it with.
pub(crate) enum Settler {
    /// The default state: settled in place, no future.
    InProcess(Arc<InProcessState>),
    /// Any other (shared, a caller's own, or the outage counters).
    State(Arc<dyn RouterState>),
}

/// One dispatched call's claim on a deployment: its in-flight slot and its
/// reservation. Dropped unsettled (the caller gave up), it settles with the
/// tokens reserved: the upstream may still bill for the answer.
pub(crate) struct Ticket {
    /// The reservation and the state that granted it.
    reservation: Option<(Reservation, Settler)>,
    pub(crate) health: Arc<DeploymentHealth>,
    pub(crate) started: Instant,
}

impl Ticket {
    pub(crate) fn new(
        reservation: Option<(Reservation, Settler)>,
        health: Arc<DeploymentHealth>,
    ) -> Self {
        health.in_flight.fetch_add(1, Ordering::Relaxed);
        Ticket {
            reservation,
            health,
            started: Instant::now(),
        }
    }

    /// A success: feed the deployment's health (and, through a shared
    /// state, every process's view of its latency) and settle with `tokens`.
    pub(crate) fn succeeded(mut self, tokens: u64, upstream: RateLimits) {
        let latency = self.started.elapsed();
        self.health.succeeded(latency, upstream, tokens);
        self.finish(tokens, Some(latency));
    }

    /// Settle with `tokens` (the health is the caller's business).
    pub(crate) fn settle(&mut self, tokens: u64) {
        self.finish(tokens, None);
    }

    fn finish(&mut self, tokens: u64, latency: Option<Duration>) {
        let Some((reservation, settler)) = self.reservation.take() else {
            return;
        };
        let state = match settler {
            Settler::InProcess(local) => return local.settle_now(&reservation, tokens),
            Settler::State(state) => state,
        };
        let health = Arc::clone(&self.health);
        let mut settle = Box::pin(async move {
            let result = match latency {
                Some(latency) => {
                    state
                        .settle_success(&reservation, tokens, health.key(), latency)
                        .await
                }
                None => state.settle(&reservation, tokens).await,
            };
            let _ = log_failure(result);
        });
        // A remote state finishes in a task, so neither a drop nor a caller
        // waits on it; one that answers at once is done here.
        if (&mut settle).now_or_never().is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(settle);
        }
    }
}

fn log_failure(result: Result<()>) -> Result<()> {
    if let Err(e) = &result {
        tracing::warn!(kind = %e.kind(), "router: settling a reservation failed; it expires with its window");
    }
    result
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.health.in_flight.fetch_sub(1, Ordering::Relaxed);
        let reserved = self.reservation.as_ref().map_or(0, |(r, _)| r.tokens);
        self.settle(reserved);
    }
}

/// A routed stream: passes events through, counts what it sees, and settles
/// its ticket at the end or when dropped.
pub(crate) struct SettlingStream {
    inner: ChatStream,
    ticket: Option<Ticket>,
    model: String,
    prompt_tokens: u64,
    text: String,
    usage: Option<Usage>,
}

impl SettlingStream {
    pub(crate) fn wrap(
        inner: ChatStream,
        ticket: Ticket,
        model: String,
        prompt_tokens: u64,
    ) -> ChatStream {
        inner.wrap_events(|inner| SettlingStream {
            inner,
            ticket: Some(ticket),
            model,
            prompt_tokens,
            text: String::new(),
            usage: None,
        })
    }

    /// The tokens seen: the reported usage, else the prompt plus the text so far, counted.
    fn seen(&self) -> u64 {
        match &self.usage {
            Some(u) => u64::from(u.total_tokens.max(u.prompt_tokens + u.completion_tokens)),
            None => {
                self.prompt_tokens
                    + crate::tokens::count_text(&self.model, &self.text).tokens as u64
            }
        }
    }

    fn finish(&mut self, ok: bool) {
        let tokens = self.seen();
        if let Some(mut ticket) = self.ticket.take() {
            if ok {
                ticket.succeeded(tokens, RateLimits::default());
            } else {
                ticket.settle(tokens);
            }
        }
    }
}

impl Stream for SettlingStream {
    type Item = Result<StreamEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(StreamEvent::TextDelta { text }))) => self.text.push_str(text),
            Poll::Ready(Some(Ok(StreamEvent::Usage { usage }))) => self.usage = Some(*usage),
            Poll::Ready(Some(Err(_))) => self.finish(false),
            Poll::Ready(None) => self.finish(true),
            _ => {}
        }
        item
    }
}

impl Drop for SettlingStream {
    fn drop(&mut self) {
        // Dropped half-way: settle with what was seen, not what was reserved.
        self.finish(false);
    }
}
