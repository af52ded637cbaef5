//! [`RouterState`]: where limits are counted (reserve before dispatch,
//! settle after), and [`InProcessState`], the default that counts in this
//! process.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::Result;

use super::deployment::Limits;

/// The window `rpm` and `tpm` are counted over (sliding).
pub const WINDOW: Duration = Duration::from_secs(60);

/// One scope a call is reserved against, with its limits: `group:NAME`
/// or `deployment:GROUP/ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLimit {
    /// The scope's key.
    pub key: String,
    /// Its limits (at least one set).
    pub limits: Limits,
}

/// A reservation to make: one request and `tokens` against every scope.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// A fresh id, unique across processes (random).
    pub id: u64,
    /// The scopes with a limit.
    pub scopes: &'a [ScopeLimit],
    /// Estimated tokens: counted prompt + `max_tokens`.
    pub tokens: u64,
    /// The deployment's scope key, whose shared cooldown the state checks.
    pub deployment: &'a str,
    /// The scope keys of every deployment of its group, whose latency
    /// averages a shared state reports with its answer
    /// ([`RouterState::shared_latency`]).
    pub peers: &'a [String],
    /// The caller's deadline: the state must answer before it.
    pub deadline: Option<Instant>,
}

/// A granted reservation, to settle exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The id of the [`Ask`].
    pub id: u64,
    /// The scope keys reserved against.
    pub scopes: Vec<String>,
    /// Tokens reserved.
    pub tokens: u64,
    /// Whether the shared state granted it (`false`: this process's counters,
    /// including a fail-open grant while the shared state was unreachable).
    pub shared: bool,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenialReason {
    /// `rpm` is full.
    Requests,
    /// `tpm` has no room for the estimate.
    Tokens,
    /// `max_in_flight` calls are in flight.
    InFlight,
    /// Another process put the deployment in cooldown.
    Cooling,
    /// The shared state did not answer in time and the limit is fail-closed.
    Unavailable,
}

/// A refused reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The scope that refused.
    pub scope: String,
    /// Why.
    pub reason: DenialReason,
    /// When room is expected (for `rpm`/`tpm`: when enough of the window
    /// expires; for a cooldown: when it ends), if known.
    pub retry_in: Option<Duration>,
}

/// The answer to an [`Ask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Reserved: dispatch, then settle.
    Granted(Reservation),
    /// Refused: try another deployment.
    Denied(Denial),
}

/// What a scope has used within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeUsage {
    /// Requests reserved within the window.
    pub requests: u64,
    /// Tokens reserved or settled within the window.
    pub tokens: u64,
    /// Reservations not yet settled.
    pub in_flight: u64,
}

/// A reservation granted while the shared state was unreachable (a
/// fail-open limit counted in this process), handed to the shared state
/// when it answers again so that its limits count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// The scope it was reserved against.
    pub scope: String,
    /// The reservation's id.
    pub id: u64,
    /// How long ago it was granted.
    pub age: Duration,
    /// Its tokens: reserved, or settled if it was.
    pub tokens: u64,
    /// Not settled yet: it holds an in-flight slot, and its settle will reach
    /// the shared state too.
    pub in_flight: bool,
}

/// Where limits, and cooldowns shared between processes, are kept.
///
/// [`InProcessState`] is the default; `RedisState` (feature `redis`) shares
/// them between processes. Each method is one atomic step over every scope.
#[async_trait]
pub trait RouterState: Send + Sync + fmt::Debug {
    /// Reserve one request and `ask.tokens` against every scope, or refuse.
    async fn reserve(&self, ask: &Ask<'_>) -> Result<Admission>;
    /// Replace the reservation's tokens with `tokens` actually used (a refund
    /// when fewer) and end it as in flight.
    async fn settle(&self, reservation: &Reservation, tokens: u64) -> Result<()>;
    /// Tell other processes that `deployment` is cooling down for `duration`
    /// (the in-process state has no one to tell).
    async fn cool_down(&self, deployment: &str, duration: Duration) -> Result<()> {
        let _ = (deployment, duration);
        Ok(())
    }
    /// Settle a call that succeeded `latency` after it was dispatched to
    /// `deployment` (its scope key). A shared state also folds the latency
    /// into that deployment's moving average, which every process sees
    /// ([`shared_latency`](Self::shared_latency)), in the same step; the
    /// default only settles.
    async fn settle_success(
        &self,
        reservation: &Reservation,
        tokens: u64,
        deployment: &str,
        latency: Duration,
    ) -> Result<()> {
        let _ = (deployment, latency);
        self.settle(reservation, tokens).await
    }
    /// The moving average of `deployment`'s latency over every process that
    /// shares this state, as of this process's last reservation in its group
    /// (no round trip of its own); `None` when unknown, stale, or not shared.
    fn shared_latency(&self, deployment: &str) -> Option<Duration> {
        let _ = deployment;
        None
    }
    /// Take in reservations this process granted on its own while the state
    /// was unreachable, so that its limits count them. The default has
    /// nothing to do: a state that is never unreachable never has any.
    async fn carry_in(&self, carried: &[Carried]) -> Result<()> {
        let _ = carried;
        Ok(())
    }
    /// What `scope` has used within the window.
    async fn usage(&self, scope: &str) -> Result<ScopeUsage>;
    /// Whether other processes share it (then it is asked even for scopes without limits).
    fn is_shared(&self) -> bool {
        false
    }
}

#[derive(Debug, Default)]
struct Window {
    /// (when, reservation id, tokens), oldest first.
    entries: VecDeque<(Instant, u64, u64)>,
    tokens: u64,
    in_flight: u64,
}

impl Window {
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, _, tokens)) = self.entries.front() {
            if now.duration_since(at) < WINDOW {
                break;
            }
            self.tokens -= tokens;
            self.entries.pop_front();
        }
    }

    /// Why `tokens` more do not fit, if they do not.
    fn refuse(
        &self,
        limits: &Limits,
        tokens: u64,
        now: Instant,
    ) -> Option<(DenialReason, Option<Duration>)> {
        let until_oldest = |n: usize| {
            self.entries
                .get(n)
                .map(|(at, _, _)| WINDOW.saturating_sub(now.duration_since(*at)))
        };
        if limits.max_in_flight.is_some_and(|m| self.in_flight >= m) {
            return Some((DenialReason::InFlight, None));
        }
        if limits.rpm.is_some_and(|r| self.entries.len() as u64 >= r) {
            return Some((DenialReason::Requests, until_oldest(0)));
        }
        if let Some(tpm) = limits.tpm
            && self.tokens + tokens > tpm
        {
            // How many of the oldest entries must expire to make room.
            let mut freed = 0;
            let need = (self.tokens + tokens).saturating_sub(tpm);
            let at = self.entries.iter().position(|(_, _, t)| {
                freed += t;
                freed >= need
            });
            let retry = if tokens > tpm {
                None
            } else {
                at.and_then(until_oldest)
            };
            return Some((DenialReason::Tokens, retry));
        }
        None
    }
}

/// The windows by scope key.
type Windows = HashMap<String, Window, BuildHasherDefault<KeyHasher>>;

/// A multiply-rotate hash (FxHash's) for scope keys: they are the router's
/// own names, looked up a few times on every routed call, where SipHash's
/// resistance to chosen keys costs more than the rest of a reservation.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Limits counted in this process (the default state). Exact: a reserve
/// checks and takes room under one lock, so a limit is never exceeded by
/// reservations; settling with more tokens than reserved can exceed `tpm`
/// by that overrun (see the [module docs](super)).
#[derive(Debug, Default)]
pub struct InProcessState {
    scopes: Mutex<Windows>,
}

impl InProcessState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    fn scopes(&self) -> std::sync::MutexGuard<'_, Windows> {
        // Plain counters: a panic elsewhere leaves them consistent enough to go on.
        self.scopes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`RouterState::reserve`] without the future (it never waits).
    pub fn reserve_now(&self, ask: &Ask<'_>) -> Admission {
        let now = Instant::now();
        let mut scopes = self.scopes();
        for scope in ask.scopes {
            // The key is copied once, when the scope is first seen.
            if !scopes.contains_key(&scope.key) {
                scopes.insert(scope.key.clone(), Window::default());
            }
            let Some(w) = scopes.get_mut(&scope.key) else {
                continue;
            };
            w.expire(now);
            if let Some((reason, retry_in)) = w.refuse(&scope.limits, ask.tokens, now) {
                return Admission::Denied(Denial {
                    scope: scope.key.clone(),
                    reason,
                    retry_in,
                });
            }
        }
        for scope in ask.scopes {
            if let Some(w) = scopes.get_mut(&scope.key) {
                w.entries.push_back((now, ask.id, ask.tokens));
                w.tokens += ask.tokens;
                w.in_flight += 1;
            }
        }
        Admission::Granted(Reservation {
            id: ask.id,
            scopes: ask.scopes.iter().map(|s| s.key.clone()).collect(),
            tokens: ask.tokens,
            shared: false,
        })
    }

    /// [`RouterState::settle`] without the future.
    pub fn settle_now(&self, reservation: &Reservation, tokens: u64) {
        let mut scopes = self.scopes();
        for key in &reservation.scopes {
            let Some(w) = scopes.get_mut(key) else {
                continue;
            };
            w.in_flight = w.in_flight.saturating_sub(1);
            // Newest first: a reservation is settled soon after it was made.
            if let Some(e) = w.entries.iter_mut().rev().find(|e| e.1 == reservation.id) {
                w.tokens = w.tokens - e.2 + tokens;
                e.2 = tokens;
            }
        }
    }

    /// Every reservation within the window, one per scope it holds (not in
    /// flight: the caller knows which are), and forget them all: the counters
    /// start empty again.
    pub(crate) fn take_all(&self, now: Instant) -> Vec<Carried> {
        let mut scopes = self.scopes();
        let mut taken = Vec::new();
        for (scope, mut w) in scopes.drain() {
            w.expire(now);
            taken.extend(w.entries.into_iter().map(|(at, id, tokens)| Carried {
                scope: scope.clone(),
                id,
                age: now.duration_since(at),
                tokens,
                in_flight: false,
            }));
        }
        taken
    }

    /// [`RouterState::usage`] without the future.
    pub fn usage_now(&self, scope: &str) -> ScopeUsage {
        let mut scopes = self.scopes();
        let Some(w) = scopes.get_mut(scope) else {
            return ScopeUsage::default();
        };
        w.expire(Instant::now());
        ScopeUsage {
            requests: w.entries.len() as u64,
            tokens: w.tokens,
            in_flight: w.in_flight,
        }
    }
}

#[async_trait]
impl RouterState for InProcessState {
    async fn reserve(&self, ask: &Ask<'_>) -> Result<Admission> {
        Ok(self.reserve_now(ask))
    }

    async fn settle(&self, reservation: &Reservation, tokens: u64) -> Result<()> {
        self.settle_now(reservation, tokens);
        Ok(())
    }

    async fn usage(&self, scope: &str) -> Result<ScopeUsage> {
        Ok(self.usage_now(scope))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scope(tpm: u64) -> Vec<ScopeLimit> {
        vec![ScopeLimit {
            key: "deployment:g/a".into(),
            limits: Limits {
                tpm: Some(tpm),
                ..Limits::none()
            },
        }]
    }

    fn ask(id: u64, scopes: &[ScopeLimit], tokens: u64) -> Ask<'_> {
        Ask {
            id,
            scopes,
            tokens,
            deployment: "deployment:g/a",
            peers: &[],
            deadline: None,
        }
    }

    proptest! {
        /// Reservations alone never exceed tpm; settling refunds exactly.
        #[test]
        fn tpm_admits_what_fits(tpm in 1u64..5_000, sizes in proptest::collection::vec(1u64..800, 1..40)) {
            let state = InProcessState::new();
            let scopes = scope(tpm);
            let mut admitted = 0;
            for (i, t) in sizes.iter().enumerate() {
                match state.reserve_now(&ask(i as u64, &scopes, *t)) {
                    Admission::Granted(_) => admitted += t,
                    Admission::Denied(d) => {
                        prop_assert_eq!(d.reason, DenialReason::Tokens);
                        prop_assert!(admitted + t > tpm);
                    }
                }
            }
            prop_assert!(admitted <= tpm);
            prop_assert_eq!(state.usage_now("deployment:g/a").tokens, admitted);
        }
    }

    #[test]
    fn settle_refunds_the_difference() {
        let state = InProcessState::new();
        let scopes = scope(1_000);
        let Admission::Granted(r) = state.reserve_now(&ask(1, &scopes, 600)) else {
            panic!("fits")
        };
        assert!(matches!(
            state.reserve_now(&ask(2, &scopes, 600)),
            Admission::Denied(_)
        ));
        state.settle_now(&r, 100);
        let u = state.usage_now("deployment:g/a");
        assert_eq!((u.requests, u.tokens, u.in_flight), (1, 100, 0));
        assert!(matches!(
            state.reserve_now(&ask(3, &scopes, 600)),
            Admission::Granted(_)
        ));
    }
}
