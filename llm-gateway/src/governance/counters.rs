//! Hot counters: one atomic reservation against every governed scope of a
//! call (its key and its team), settled once with the actual usage.
//!
//! Per scope: requests and tokens in a sliding minute of one-second buckets,
//! calls in flight (each with an expiry, so a crashed replica's reservations
//! lapse), and spend in the current budget period plus the maximum cost of
//! the calls in flight. [`InProcessCounters`] counts in this process; the
//! Redis implementation (`RedisCounters`) shares the same rules between
//! replicas in one Lua script per step.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use foldhash::HashMap;

use super::model::{Limits, Nanos};

/// The sliding window of `rpm_limit` and `tpm_limit`, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// One scope of a reservation, with its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeAsk {
    /// `key:HASH` or `team:ID`.
    pub scope: String,
    /// Its limits.
    pub limits: Limits,
    /// Spend already billed in its budget period, as the store last said:
    /// seeds the counter when it has none (first use, or Redis lost it).
    pub period_spend: Nanos,
    /// The budget period's end (unix ms), naming the period's counter.
    pub period: i64,
    /// This scope's estimated tokens, when not the [`Ask`]'s (a router
    /// scope reserved with a key's: each counts tokens its own way).
    pub tokens: Option<i64>,
}

impl ScopeAsk {
    /// The tokens reserved against this scope.
    pub fn tokens_of(&self, ask: &Ask) -> i64 {
        self.tokens.unwrap_or(ask.tokens)
    }
}

/// A reservation to make.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The call's id, unique across replicas.
    pub id: String,
    /// Every governed scope of the call.
    pub scopes: Vec<ScopeAsk>,
    /// Estimated tokens (counted input + `max_tokens`).
    pub tokens: i64,
    /// The most the call can cost.
    pub cost: Nanos,
    /// Now (unix ms).
    pub now: i64,
    /// When the reservation lapses if never settled (unix ms).
    pub expires: i64,
    /// A shared cooldown to honour (the router's Redis key of the
    /// deployment asked for): while it lives the answer is
    /// [`Refusal::Cooling`]. In-process counters have none to see.
    pub cooldown: Option<String>,
}

/// Which limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `rpm_limit`.
    Requests,
    /// `tpm_limit`.
    Tokens,
    /// `max_parallel_requests`.
    Parallel,
    /// `max_budget`.
    Budget,
    /// The shared counters did not answer and the limits fail closed.
    Unavailable,
    /// Another replica put the deployment in cooldown ([`Ask::cooldown`]).
    Cooling,
}

/// The answer to an [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reserved against every scope.
    Granted,
    /// Refused by `scope`; nothing was reserved.
    Denied {
        /// The scope that refused.
        scope: String,
        /// Which of its limits.
        refusal: Refusal,
    },
}

/// What a call actually used, to settle its reservation with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actual {
    /// Tokens used.
    pub tokens: i64,
    /// What it cost.
    pub cost: Nanos,
}

/// Per limit kind, whether it fails open (counted in this replica alone)
/// while the shared counters do not answer; a closed kind refuses the calls
/// of every scope that has such a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOpen {
    /// `rpm_limit`.
    pub requests: bool,
    /// `tpm_limit`.
    pub tokens: bool,
    /// `max_parallel_requests`.
    pub parallel: bool,
    /// `max_budget`.
    pub budget: bool,
}

impl FailOpen {
    /// Every kind open (`true`) or closed (`false`).
    pub const fn all(open: bool) -> Self {
        FailOpen {
            requests: open,
            tokens: open,
            parallel: open,
            budget: open,
        }
    }

    /// The first scope with a limit of a kind that fails closed.
    pub fn closed_scope<'a>(&self, scopes: &'a [ScopeAsk]) -> Option<&'a ScopeAsk> {
        scopes.iter().find(|s| {
            let l = &s.limits;
            (l.rpm_limit.is_some() && !self.requests)
                || (l.tpm_limit.is_some() && !self.tokens)
                || (l.max_parallel_requests.is_some() && !self.parallel)
                || (l.max_budget_nanos.is_some() && !self.budget)
        })
    }
}

impl Default for FailOpen {
    fn default() -> Self {
        FailOpen::all(true)
    }
}

/// A counter failure (the shared store did not answer in time).
#[derive(Debug, thiserror::Error)]
#[error("governance counters: {0}")]
pub struct CounterError(pub String);

/// Where the hot counters live.
#[async_trait]
pub trait Counters: Send + Sync + std::fmt::Debug {
    /// Reserve `ask` against every scope, all or nothing.
    async fn reserve(&self, ask: &Ask) -> Result<Verdict, CounterError>;
    /// End the reservation: free its in-flight slot, replace its estimate by
    /// `actual` (tokens refunded in the bucket it was reserved in, cost added
    /// to the period's spend).
    async fn settle(&self, ask: &Ask, actual: Actual) -> Result<(), CounterError>;
    /// Settle without waiting, when these counters can (`false`: call
    /// [`Counters::settle`]); a dropped call's settlement then needs no task.
    fn settle_in_place(&self, _ask: &Ask, _actual: Actual) -> bool {
        false
    }
    /// This replica put the deployment of `cooldown` (an [`Ask::cooldown`]
    /// key) in cooldown: stop admitting its calls from anything reserved
    /// before (counters that hold nothing ahead do nothing).
    async fn cooled(&self, _cooldown: &str) {}
    /// Give back whatever is reserved ahead of calls (at shutdown).
    async fn release(&self) {}
}

#[derive(Debug, Default)]
struct ScopeState {
    /// second → (requests, tokens)
    buckets: BTreeMap<i64, (i64, i64)>,
    /// call id → (expires, cost)
    in_flight: HashMap<String, (i64, Nanos)>,
    /// period → spend
    spent: HashMap<i64, Nanos>,
}

impl ScopeState {
    fn prune(&mut self, now: i64) {
        let sec = now / 1000;
        self.buckets = self.buckets.split_off(&(sec - WINDOW_SECS + 1));
        self.in_flight.retain(|_, (expires, _)| *expires > now);
    }

    fn refuse(&mut self, ask: &Ask, s: &ScopeAsk) -> Option<Refusal> {
        self.prune(ask.now);
        let (requests, tokens) = self
            .buckets
            .values()
            .fold((0, 0), |(r, t), (br, bt)| (r + br, t + bt));
        let l = &s.limits;
        if l.rpm_limit.is_some_and(|max| requests + 1 > max) {
            return Some(Refusal::Requests);
        }
        if l.tpm_limit
            .is_some_and(|max| tokens + s.tokens_of(ask) > max)
        {
            return Some(Refusal::Tokens);
        }
        let flying = i64::try_from(self.in_flight.len()).unwrap_or(i64::MAX);
        if l.max_parallel_requests.is_some_and(|max| flying + 1 > max) {
            return Some(Refusal::Parallel);
        }
        if let Some(budget) = l.max_budget_nanos {
            let spent = *self.spent.entry(s.period).or_insert(s.period_spend);
            let reserved: Nanos = self.in_flight.values().map(|(_, c)| c).sum();
            if spent + reserved + ask.cost > budget {
                return Some(Refusal::Budget);
            }
        }
        None
    }

    fn take(&mut self, ask: &Ask, s: &ScopeAsk) {
        let bucket = self.buckets.entry(ask.now / 1000).or_default();
        bucket.0 += 1;
        bucket.1 += s.tokens_of(ask);
        self.in_flight
            .insert(ask.id.clone(), (ask.expires, ask.cost));
    }

    fn settle(&mut self, ask: &Ask, s: &ScopeAsk, actual: Actual) {
        if self.in_flight.remove(&ask.id).is_some()
            && let Some(bucket) = self.buckets.get_mut(&(ask.now / 1000))
        {
            bucket.1 += actual.tokens - s.tokens_of(ask);
        }
        if s.limits.max_budget_nanos.is_some() {
            *self.spent.entry(s.period).or_insert(s.period_spend) += actual.cost;
        }
    }
}

/// The counters of this process alone: exact for one replica, and the
/// fail-open fallback of the shared ones.
#[derive(Debug, Default)]
pub struct InProcessCounters {
    scopes: Mutex<HashMap<String, ScopeState>>,
}

impl InProcessCounters {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, ScopeState>) -> T) -> T {
        let mut guard = match self.scopes.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Reserve synchronously (the lock is never held across an await).
    pub fn reserve_now(&self, ask: &Ask) -> Verdict {
        self.with(|scopes| {
            for s in &ask.scopes {
                let state = scopes.entry(s.scope.clone()).or_default();
                if let Some(refusal) = state.refuse(ask, s) {
                    return Verdict::Denied {
                        scope: s.scope.clone(),
                        refusal,
                    };
                }
            }
            for s in &ask.scopes {
                scopes.entry(s.scope.clone()).or_default().take(ask, s);
            }
            Verdict::Granted
        })
    }

    /// Settle synchronously.
    pub fn settle_now(&self, ask: &Ask, actual: Actual) {
        self.with(|scopes| {
            for s in &ask.scopes {
                scopes
                    .entry(s.scope.clone())
                    .or_default()
                    .settle(ask, s, actual);
            }
        });
    }
}

#[async_trait]
impl Counters for InProcessCounters {
    async fn reserve(&self, ask: &Ask) -> Result<Verdict, CounterError> {
        Ok(self.reserve_now(ask))
    }

    async fn settle(&self, ask: &Ask, actual: Actual) -> Result<(), CounterError> {
        self.settle_now(ask, actual);
        Ok(())
    }

    fn settle_in_place(&self, ask: &Ask, actual: Actual) -> bool {
        self.settle_now(ask, actual);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ask(id: usize, now: i64, tokens: i64, cost: Nanos, limits: &Limits) -> Ask {
        Ask {
            id: format!("call-{id}"),
            scopes: vec![ScopeAsk {
                scope: "key:k".into(),
                limits: limits.clone(),
                period_spend: 0,
                period: 0,
                tokens: None,
            }],
            tokens,
            cost,
            now,
            expires: now + 600_000,
            cooldown: None,
        }
    }

    /// (requests, tokens, in flight) a scope counts now.
    fn counted(counters: &InProcessCounters, scope: &str) -> (i64, i64, usize) {
        counters.with(|scopes| {
            scopes.get(scope).map_or((0, 0, 0), |s| {
                let (r, t) = s
                    .buckets
                    .values()
                    .fold((0, 0), |(r, t), (br, bt)| (r + br, t + bt));
                (r, t, s.in_flight.len())
            })
        })
    }

    proptest! {
        /// A key's and a deployment's scopes in one reservation, each with
        /// its own tokens: a refusal by either reserves nothing in the
        /// other, so after every call is settled each scope counts exactly
        /// the granted calls and the tokens they used, and neither limit
        /// is passed.
        #[test]
        fn a_refusal_by_one_scope_leaves_the_other_untouched(
            calls in prop::collection::vec((0i64..400, 0i64..400, 0u8..=100), 1..60),
            key_rpm in 1i64..40, dep_rpm in 1i64..40, dep_tpm in 1i64..4_000,
        ) {
            let key = Limits { rpm_limit: Some(key_rpm), ..Limits::default() };
            let dep = Limits { rpm_limit: Some(dep_rpm), tpm_limit: Some(dep_tpm), ..Limits::default() };
            let counters = InProcessCounters::default();
            let (mut granted, mut dep_tokens) = (0i64, 0i64);
            for (i, (key_tokens, router_tokens, used)) in calls.into_iter().enumerate() {
                let mut a = ask(i, 1_000_000, key_tokens, 0, &key);
                a.scopes.push(ScopeAsk {
                    scope: "deployment:g/d".into(),
                    limits: dep.clone(),
                    period_spend: 0,
                    period: 0,
                    tokens: Some(router_tokens),
                });
                if counters.reserve_now(&a) != Verdict::Granted {
                    continue;
                }
                granted += 1;
                // Each half settles on its own (the router's, then the call's).
                let used = router_tokens * i64::from(used) / 100;
                let mut dep_half = a.clone();
                dep_half.scopes.remove(0);
                dep_half.tokens = router_tokens;
                dep_half.scopes[0].tokens = None;
                let mut key_half = a;
                key_half.scopes.truncate(1);
                counters.settle_now(&dep_half, Actual { tokens: used, cost: 0 });
                counters.settle_now(&key_half, Actual { tokens: used, cost: 0 });
                dep_tokens += used;
            }
            prop_assert!(granted <= key_rpm.min(dep_rpm));
            prop_assert!(dep_tokens <= dep_tpm);
            prop_assert_eq!(counted(&counters, "key:k"), (granted, dep_tokens, 0));
            prop_assert_eq!(counted(&counters, "deployment:g/d"), (granted, dep_tokens, 0));
        }

        /// Any interleaving of reservations and settlements (actual usage at
        /// most the estimate): in flight never exceeds `max_parallel_requests`,
        /// requests in the window never exceed `rpm_limit`, and settled plus
        /// reserved spend never exceeds the budget.
        #[test]
        fn limits_hold_under_any_interleaving(
            steps in prop::collection::vec((any::<bool>(), 0i64..50, 0i64..1_000, 0u8..=100, 0i64..3_000), 1..200),
            rpm in 1i64..30, par in 1i64..8, budget in 0i64..20_000,
        ) {
            let limits = Limits { rpm_limit: Some(rpm), max_parallel_requests: Some(par), max_budget_nanos: Some(budget), ..Limits::default() };
            let counters = InProcessCounters::default();
            let mut open: Vec<Ask> = Vec::new();
            let (mut granted_in_window, mut spent) = (0i64, 0i64);
            let mut now = 1_000_000;
            for (i, (reserve, tokens, cost, fraction, advance)) in steps.into_iter().enumerate() {
                now += advance.min(10); // stays within one window
                if reserve || open.is_empty() {
                    let a = ask(i, now, tokens, cost, &limits);
                    if counters.reserve_now(&a) == Verdict::Granted {
                        granted_in_window += 1;
                        open.push(a);
                    }
                } else {
                    let a = open.remove(i % open.len());
                    let actual = Actual { tokens: a.tokens, cost: a.cost * i64::from(fraction) / 100 };
                    spent += actual.cost;
                    counters.settle_now(&a, actual);
                }
                prop_assert!(i64::try_from(open.len()).unwrap_or(i64::MAX) <= par);
                prop_assert!(granted_in_window <= rpm);
                prop_assert!(spent + open.iter().map(|a| a.cost).sum::<i64>() <= budget);
            }
        }
    }
}
