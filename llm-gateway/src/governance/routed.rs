//! One atomic reservation over every scope of a routed call: the caller's
//! key and team, and the model group and deployment the router picked.
//!
//! The runtime's router stays as it is (usable on its own, with its own
//! state): it plans, then for each deployment it tries calls its
//! [`RouterState`]'s `reserve` with that deployment's scopes. When
//! governance runs, the gateway builds its router on a [`GovernedState`],
//! whose `reserve` adds the call's key and team scopes (from the request's
//! [`Admission`](super::gate::Admission), found in a task-local slot) and
//! makes the whole reservation in one step of governance's counters: one
//! Lua script over Redis (the deployment's shared cooldown checked in the
//! same script), or one lock in process. So a deployment that refuses
//! leaves the key's counters untouched, and a key that refuses leaves the
//! deployment's untouched.
//!
//! - The key and team are reserved once per call, with the first
//!   deployment that has room; a deployment that fails is settled with
//!   nothing used (its tokens refunded, its request kept, as the router
//!   does), and the next one is reserved alone while the key's reservation
//!   holds for the whole call, settled with the usage when the call ends.
//! - A key or team that refuses ends the routing: every later `reserve` of
//!   the call answers at once, and the gateway answers the key's refusal
//!   (`429 rpm_limit_exceeded`, `400 budget_exceeded`...), not the router's.
//! - Group and deployment limits are counted in governance's counters, by
//!   every call of the gateway (the master key's too), so they are one set
//!   of counters; `general_settings.redis_fail_open` applies to them.
//! - What the router's own state still does: cooldowns told to the other
//!   replicas, and the whole of a call that has no scope with a limit. A
//!   routed latency average is this replica's own while governance runs.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use foldhash::{HashMap, HashMapExt};
use llm_runtime::router::{
    Admission as RouterAdmission, Ask as RouterAsk, Carried, Denial, DenialReason, Reservation,
    RouterState, ScopeUsage,
};

use super::Governance;
use super::counters::{Actual, Ask, Refusal, ScopeAsk, Verdict};
use super::gate::{Held, denial};
use super::model::{Limits, now_ms};
use crate::ids::lower_hex;

tokio::task_local! {
    /// The admission of the call this request makes (set by the auth layer).
    static CALL: Slot;
}

/// Where a request's admission waits for the router's admit step.
#[derive(Debug, Clone, Default)]
struct Slot(Arc<Mutex<Option<Arc<Held>>>>);

/// Run `future` (a request's handling) with an empty slot for its call's admission.
pub async fn scope<F: std::future::Future>(future: F) -> F::Output {
    CALL.scope(Slot::default(), future).await
}

/// Hand `held` to the router's admit step of this request's call; `false`
/// outside a request's [`scope`] (the caller then reserves it alone).
pub fn route_with(held: &Arc<Held>) -> bool {
    CALL.try_with(|slot| {
        *slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(held));
    })
    .is_ok()
}

fn current() -> Option<Arc<Held>> {
    CALL.try_with(|slot| {
        slot.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    })
    .ok()
    .flatten()
}

/// The router's state when governance runs: reservations through
/// governance's counters, the rest through the router's own state.
pub struct GovernedState {
    inner: Arc<dyn RouterState>,
    governance: OnceLock<Arc<Governance>>,
    /// The router's Redis key prefix, when its state shares cooldowns.
    cooldown_prefix: Option<String>,
    /// Router reservation id → the counters' reservation of its scopes.
    open: Mutex<HashMap<u64, Ask>>,
}

impl std::fmt::Debug for GovernedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GovernedState")
            .field("inner", &self.inner)
            .field("bound", &self.governance.get().is_some())
            .finish_non_exhaustive()
    }
}

impl GovernedState {
    /// Around `inner` (the router's own state); `cooldown_prefix`: the
    /// prefix of its Redis keys when it shares cooldowns.
    pub fn new(inner: Arc<dyn RouterState>, cooldown_prefix: Option<String>) -> Self {
        GovernedState {
            inner,
            governance: OnceLock::new(),
            cooldown_prefix,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Count through `governance` from now on (until then, and in a gateway
    /// without governance, the router's own state counts).
    pub fn bind(&self, governance: &Arc<Governance>) {
        let _ = self.governance.set(Arc::clone(governance));
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Ask>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The router's scopes as the counters' (rpm, tpm, calls in flight).
    fn router_scopes(ask: &RouterAsk<'_>) -> Vec<ScopeAsk> {
        let n = |v: Option<u64>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        ask.scopes
            .iter()
            .map(|s| ScopeAsk {
                scope: s.key.clone(),
                limits: Limits {
                    rpm_limit: n(s.limits.rpm),
                    tpm_limit: n(s.limits.tpm),
                    max_parallel_requests: n(s.limits.max_in_flight),
                    ..Limits::default()
                },
                period_spend: 0,
                period: 0,
                tokens: Some(i64::try_from(ask.tokens).unwrap_or(i64::MAX)),
            })
            .collect()
    }

    /// The counters' reservation of `base`'s scopes (the call's key and
    /// team), then `router`'s, under one id and the current time.
    fn combined(
        &self,
        gov: &Governance,
        ask: &RouterAsk<'_>,
        base: Option<&Ask>,
        router: Vec<ScopeAsk>,
    ) -> Ask {
        let now = now_ms();
        let mut scopes = Vec::with_capacity(base.map_or(0, |b| b.scopes.len()) + router.len());
        scopes.extend(base.iter().flat_map(|b| b.scopes.iter().cloned()));
        scopes.extend(router);
        let tokens = i64::try_from(ask.tokens).unwrap_or(i64::MAX);
        Ask {
            id: [
                base.map_or("router", |b| b.id.as_str()),
                "/",
                &lower_hex(&ask.id.to_be_bytes()),
            ]
            .concat(),
            scopes,
            tokens: base.map_or(tokens, |b| b.tokens),
            cost: base.map_or(0, |b| b.cost),
            now,
            expires: now + gov.reservation_ttl_ms(),
            cooldown: self
                .cooldown_prefix
                .as_ref()
                .map(|p| cooldown_key(p, ask.deployment)),
        }
    }

    async fn reserve_governed(
        &self,
        gov: &Governance,
        ask: &RouterAsk<'_>,
        call: Option<Arc<Held>>,
    ) -> RouterAdmission {
        let router = Self::router_scopes(ask);
        let combined = match &call {
            Some(c) => c.with_ask(|base| self.combined(gov, ask, Some(base), router)),
            None => self.combined(gov, ask, None, router),
        };
        // The router's scopes come after the key's and team's.
        let base = combined.scopes.len() - ask.scopes.len();
        let verdict = gov.counters.reserve(&combined).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "governance: counters failed");
            let first = combined.scopes.first().map(|s| s.scope.clone());
            Verdict::Denied {
                scope: first.unwrap_or_default(),
                refusal: Refusal::Unavailable,
            }
        });
        match verdict {
            Verdict::Granted => self.granted(ask, call.as_deref(), combined, base),
            Verdict::Denied { scope, refusal } => {
                let routers = refusal == Refusal::Cooling
                    || combined.scopes[base..].iter().any(|s| s.scope == scope);
                if !routers && let Some(call) = &call {
                    // The key or team refused: no deployment can take the call.
                    call.refuse(denial(&scope, refusal));
                }
                RouterAdmission::Denied(Denial {
                    scope,
                    reason: reason(refusal),
                    retry_in: None,
                })
            }
        }
    }

    /// `combined` was granted: the call's key and team hold it from now
    /// on, and the router's half (its scopes from `base` on) waits for the
    /// router's settle.
    fn granted(
        &self,
        ask: &RouterAsk<'_>,
        call: Option<&Held>,
        mut combined: Ask,
        base: usize,
    ) -> RouterAdmission {
        if let Some(call) = call {
            let mut held = call.ask.lock().unwrap_or_else(PoisonError::into_inner);
            held.id.clone_from(&combined.id);
            held.now = combined.now;
            held.expires = combined.expires;
            call.held.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let router = combined.scopes.split_off(base);
        let half = Ask {
            scopes: router
                .into_iter()
                .map(|s| ScopeAsk { tokens: None, ..s })
                .collect(),
            tokens: i64::try_from(ask.tokens).unwrap_or(i64::MAX),
            cost: 0,
            cooldown: None,
            ..combined
        };
        self.open().insert(ask.id, half);
        RouterAdmission::Granted(Reservation {
            id: ask.id,
            scopes: ask.scopes.iter().map(|s| s.key.clone()).collect(),
            tokens: ask.tokens,
            shared: true,
        })
    }
}

/// The router's Redis key of `deployment`'s shared cooldown.
fn cooldown_key(prefix: &str, deployment: &str) -> String {
    ["{", prefix, "}:", deployment, ":cool"].concat()
}

fn reason(refusal: Refusal) -> DenialReason {
    match refusal {
        Refusal::Requests | Refusal::Budget => DenialReason::Requests,
        Refusal::Tokens => DenialReason::Tokens,
        Refusal::Parallel => DenialReason::InFlight,
        Refusal::Cooling => DenialReason::Cooling,
        Refusal::Unavailable => DenialReason::Unavailable,
    }
}

#[async_trait]
impl RouterState for GovernedState {
    async fn reserve(&self, ask: &RouterAsk<'_>) -> llm_runtime::Result<RouterAdmission> {
        let Some(gov) = self.governance.get() else {
            return self.inner.reserve(ask).await;
        };
        let call = current().filter(|c| c.governance.is_some());
        if let Some(refused) = call.as_ref().and_then(|c| c.refusal()) {
            return Ok(RouterAdmission::Denied(Denial {
                scope: refused.code.to_owned(),
                reason: DenialReason::Requests,
                retry_in: None,
            }));
        }
        // The key's half: once per call, with the first deployment that has room.
        let call = call.filter(|c| {
            !c.held.load(std::sync::atomic::Ordering::SeqCst)
                && c.with_ask(|a| !a.scopes.is_empty())
        });
        if call.is_none() && ask.scopes.is_empty() {
            return self.inner.reserve(ask).await;
        }
        Ok(self.reserve_governed(gov, ask, call).await)
    }

    async fn settle(&self, reservation: &Reservation, tokens: u64) -> llm_runtime::Result<()> {
        let half = self.open().remove(&reservation.id);
        let Some(half) = half else {
            return self.inner.settle(reservation, tokens).await;
        };
        let (Some(gov), false) = (self.governance.get(), half.scopes.is_empty()) else {
            return Ok(());
        };
        let actual = Actual {
            tokens: i64::try_from(tokens).unwrap_or(i64::MAX),
            cost: 0,
        };
        gov.counters
            .settle(&half, actual)
            .await
            .map_err(|e| llm_runtime::Error::new(llm_runtime::ErrorKind::Network, e.to_string()))
    }

    async fn settle_success(
        &self,
        reservation: &Reservation,
        tokens: u64,
        deployment: &str,
        latency: Duration,
    ) -> llm_runtime::Result<()> {
        if self.open().contains_key(&reservation.id) {
            return self.settle(reservation, tokens).await;
        }
        self.inner
            .settle_success(reservation, tokens, deployment, latency)
            .await
    }

    async fn cool_down(&self, deployment: &str, duration: Duration) -> llm_runtime::Result<()> {
        if let (Some(gov), Some(prefix)) = (self.governance.get(), &self.cooldown_prefix) {
            gov.counters.cooled(&cooldown_key(prefix, deployment)).await;
        }
        self.inner.cool_down(deployment, duration).await
    }

    fn shared_latency(&self, deployment: &str) -> Option<Duration> {
        self.inner.shared_latency(deployment)
    }

    async fn carry_in(&self, carried: &[Carried]) -> llm_runtime::Result<()> {
        self.inner.carry_in(carried).await
    }

    async fn usage(&self, scope: &str) -> llm_runtime::Result<ScopeUsage> {
        self.inner.usage(scope).await
    }

    fn is_shared(&self) -> bool {
        self.inner.is_shared() || (self.governance.get().is_some() && current().is_some())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// A reservation's id keeps its `{:016x}` form, written without the formatter.
        #[test]
        fn reservation_ids_end_in_the_routers_id_as_016x(n in any::<u64>()) {
            prop_assert_eq!(crate::ids::lower_hex(&n.to_be_bytes()), format!("{n:016x}"));
        }
    }

    #[test]
    fn cooldown_keys_keep_the_routers_form() {
        assert_eq!(super::cooldown_key("llm", "dep-1"), "{llm}:dep-1:cool");
    }
}
