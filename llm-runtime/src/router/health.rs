//! What a router remembers about each deployment in this process: calls in
//! flight, a moving average of latency, recent usage, the upstream's last
//! rate-limit headers, and the cooldown state machine (healthy -> cooling ->
//! half-open probe -> healthy).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::types::RateLimits;

/// When a deployment is taken out of rotation, and for how long.
///
/// `allowed_fails` failures within `window` put it in cooldown for
/// `cooldown_time` (the next failure, the `allowed_fails + 1`-th, does); a
/// 429 with `Retry-After` cools it for exactly that long. When the cooldown
/// ends one call probes it (half-open): success brings it back, failure cools
/// it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownPolicy {
    /// Failures tolerated within `window`.
    pub allowed_fails: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a deployment stays out of rotation.
    pub cooldown_time: Duration,
}

impl Default for CooldownPolicy {
    /// LiteLLM's defaults: 3 failures a minute, 5 seconds of cooldown.
    fn default() -> Self {
        CooldownPolicy {
            allowed_fails: 3,
            window: Duration::from_secs(60),
            cooldown_time: Duration::from_secs(5),
        }
    }
}

/// Whether a deployment may be dispatched to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Availability {
    /// Healthy.
    Ready,
    /// Half-open: this call is the probe.
    Probe,
    /// Cooling down for this much longer (zero: a probe is already in flight).
    Cooling(Duration),
}

/// How a deployment is doing, as this process sees it (LiteLLM's
/// `litellm_deployment_state`: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeploymentState {
    /// In rotation, no failure within its group's cooldown window.
    Healthy,
    /// In rotation, but it failed within the window, or its cooldown ended
    /// and no call has succeeded on it since (half-open).
    Failing,
    /// Out of rotation: cooling down (here, or shared by another process
    /// through the router's state and seen by this one).
    CoolingDown,
}

impl DeploymentState {
    /// LiteLLM's value: 0 healthy, 1 partial outage, 2 complete outage.
    pub fn litellm_value(self) -> i64 {
        match self {
            DeploymentState::Healthy => 0,
            DeploymentState::Failing => 1,
            DeploymentState::CoolingDown => 2,
        }
    }
}

/// What a failure did to a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cooled {
    /// Still within `allowed_fails`.
    No,
    /// Cooled down for this long.
    For(Duration),
    /// Would have been cooled, but it is the last healthy deployment of its group.
    Kept,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: VecDeque<Instant>,
    cooled_until: Option<Instant>,
    half_open: bool,
    probing: bool,
    upstream: RateLimits,
    /// (when, tokens) of calls in the last minute, for usage-aware routing.
    recent: VecDeque<(Instant, u64)>,
    /// The sum of `recent`'s tokens, kept beside it so that reading the usage
    /// on every routed call costs the same however busy the minute was.
    recent_tokens: u64,
}

/// One deployment's in-process record.
#[derive(Debug, Default)]
pub(crate) struct DeploymentHealth {
    /// Its scope key (`deployment:GROUP/ID`).
    key: String,
    pub(crate) in_flight: AtomicU64,
    /// Latency moving average in microseconds; 0 until the first success.
    latency_us: AtomicU64,
    breaker: Mutex<Breaker>,
}

/// The weight of the newest sample in the latency moving average.
pub(crate) const EWMA_ALPHA: f64 = 0.3;
const MINUTE: Duration = Duration::from_secs(60);

impl DeploymentHealth {
    /// The record of the deployment whose scope key is `key`.
    pub(crate) fn new(key: String) -> Self {
        DeploymentHealth {
            key,
            ..DeploymentHealth::default()
        }
    }

    /// Its scope key (`deployment:GROUP/ID`).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // A panic while holding this lock leaves plain counters behind: still usable.
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latency moving average, `None` before the first success.
    pub(crate) fn latency(&self) -> Option<Duration> {
        match self.latency_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    pub(crate) fn upstream(&self) -> RateLimits {
        self.breaker().upstream
    }

    /// (requests, tokens) this process sent it in the last minute.
    pub(crate) fn recent_usage(&self, now: Instant) -> (u64, u64) {
        let mut b = self.breaker();
        while b
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= MINUTE)
        {
            if let Some((_, tokens)) = b.recent.pop_front() {
                b.recent_tokens = b.recent_tokens.saturating_sub(tokens);
            }
        }
        (b.recent.len() as u64, b.recent_tokens)
    }

    /// Whether it may be dispatched to; claims the probe when half-open.
    pub(crate) fn availability(&self, now: Instant) -> Availability {
        let mut b = self.breaker();
        match b.cooled_until {
            Some(until) if until > now => return Availability::Cooling(until - now),
            Some(_) => {
                b.cooled_until = None;
                b.half_open = true;
            }
            None => {}
        }
        if !b.half_open {
            return Availability::Ready;
        }
        if b.probing {
            return Availability::Cooling(Duration::ZERO);
        }
        b.probing = true;
        Availability::Probe
    }

    /// Whether it is out of rotation now (cooling, or half-open with a probe out).
    pub(crate) fn is_cooling(&self, now: Instant) -> bool {
        let b = self.breaker();
        b.cooled_until.is_some_and(|u| u > now) || (b.half_open && b.probing)
    }

    /// How it is doing at `now`, failures counted within `window`.
    pub(crate) fn state(&self, window: Duration, now: Instant) -> DeploymentState {
        let b = self.breaker();
        if b.cooled_until.is_some_and(|u| u > now) {
            DeploymentState::CoolingDown
        } else if b.cooled_until.is_some()
            || b.half_open
            || b.failures.iter().any(|at| now.duration_since(*at) < window)
        {
            DeploymentState::Failing
        } else {
            DeploymentState::Healthy
        }
    }

    /// Give back a probe claimed by [`availability`](Self::availability) that
    /// was never sent (its reservation was refused).
    pub(crate) fn release_probe(&self) {
        self.breaker().probing = false;
    }

    /// A success: closes the breaker, feeds the latency average.
    pub(crate) fn succeeded(&self, latency: Duration, upstream: RateLimits, tokens: u64) {
        let sample = latency.as_micros().max(1) as f64;
        let old = self.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            EWMA_ALPHA * sample + (1.0 - EWMA_ALPHA) * old as f64
        };
        self.latency_us.store(new as u64, Ordering::Relaxed);
        let mut b = self.breaker();
        b.failures.clear();
        b.half_open = false;
        b.probing = false;
        if upstream != RateLimits::default() {
            b.upstream = upstream;
        }
        b.recent.push_back((Instant::now(), tokens));
        b.recent_tokens = b.recent_tokens.saturating_add(tokens);
    }

    /// A failure. `retry_after` (a 429's) cools it for exactly that long;
    /// otherwise the `allowed_fails + 1`-th failure within the window cools
    /// it for `cooldown_time`, unless `may_cool` is false (it is the last
    /// healthy deployment of its group: the caller says so instead).
    pub(crate) fn failed(
        &self,
        policy: &CooldownPolicy,
        retry_after: Option<Duration>,
        may_cool: bool,
        now: Instant,
    ) -> Cooled {
        let mut b = self.breaker();
        b.probing = false;
        if let Some(after) = retry_after {
            b.cooled_until = Some(now + after);
            b.half_open = false;
            b.failures.clear();
            return Cooled::For(after);
        }
        while b
            .failures
            .front()
            .is_some_and(|at| now.duration_since(*at) >= policy.window)
        {
            b.failures.pop_front();
        }
        b.failures.push_back(now);
        let over = b.failures.len() > policy.allowed_fails as usize || b.half_open;
        if over && may_cool {
            b.cooled_until = Some(now + policy.cooldown_time);
            b.half_open = false;
            b.failures.clear();
            return Cooled::For(policy.cooldown_time);
        }
        if over {
            return Cooled::Kept;
        }
        Cooled::No
    }

    /// Cool it down because the shared state says another process did.
    pub(crate) fn cool_until(&self, until: Instant) {
        let mut b = self.breaker();
        if b.cooled_until.is_none_or(|u| u < until) {
            b.cooled_until = Some(until);
        }
        b.probing = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_failures_cooldowns_and_the_probe() {
        let policy = policy();
        let h = DeploymentHealth::new("d".into());
        let t0 = Instant::now();
        let state = |at: Instant| h.state(policy.window, at);
        assert_eq!(state(t0), DeploymentState::Healthy);
        assert_eq!(h.failed(&policy, None, true, t0), Cooled::No);
        assert_eq!(state(t0), DeploymentState::Failing);
        // The failure leaves the window: healthy again.
        assert_eq!(state(t0 + policy.window), DeploymentState::Healthy);
        let cooled = h.failed(&policy, Some(Duration::from_secs(2)), true, t0);
        assert_eq!(cooled, Cooled::For(Duration::from_secs(2)));
        assert_eq!(
            state(t0 + Duration::from_secs(1)),
            DeploymentState::CoolingDown
        );
        // Its cooldown over, it waits for a probe: failing until one succeeds.
        let after = t0 + Duration::from_secs(3);
        assert_eq!(state(after), DeploymentState::Failing);
        assert_eq!(h.availability(after), Availability::Probe);
        assert_eq!(state(after), DeploymentState::Failing);
        h.succeeded(Duration::from_millis(5), RateLimits::default(), 1);
        assert_eq!(state(after), DeploymentState::Healthy);
        assert_eq!(
            [
                DeploymentState::Healthy,
                DeploymentState::Failing,
                DeploymentState::CoolingDown
            ]
            .map(DeploymentState::litellm_value),
            [0, 1, 2]
        );
    }

    fn policy() -> CooldownPolicy {
        CooldownPolicy {
            allowed_fails: 2,
            window: Duration::from_secs(10),
            cooldown_time: Duration::from_secs(5),
        }
    }

    #[test]
    fn the_fail_after_the_allowed_ones_cools_and_a_probe_reopens() {
        let h = DeploymentHealth::default();
        let t = Instant::now();
        assert_eq!(h.failed(&policy(), None, true, t), Cooled::No);
        assert_eq!(h.failed(&policy(), None, true, t), Cooled::No);
        assert_eq!(
            h.failed(&policy(), None, true, t),
            Cooled::For(Duration::from_secs(5))
        );
        assert_eq!(
            h.availability(t + Duration::from_secs(1)),
            Availability::Cooling(Duration::from_secs(4))
        );
        let later = t + Duration::from_secs(5);
        assert_eq!(h.availability(later), Availability::Probe);
        assert_eq!(
            h.availability(later),
            Availability::Cooling(Duration::ZERO),
            "one probe at a time"
        );
        // A failed probe cools it again at once.
        assert_eq!(
            h.failed(&policy(), None, true, later),
            Cooled::For(Duration::from_secs(5))
        );
        let after = later + Duration::from_secs(5);
        assert_eq!(h.availability(after), Availability::Probe);
        h.succeeded(Duration::from_millis(3), RateLimits::default(), 1);
        assert_eq!(h.availability(after), Availability::Ready);
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let h = DeploymentHealth::default();
        let t = Instant::now();
        for i in 0..10 {
            let at = t + Duration::from_secs(6 * i);
            assert_eq!(h.failed(&policy(), None, true, at), Cooled::No, "{i}");
        }
    }

    #[test]
    fn retry_after_cools_exactly_that_long_and_last_healthy_is_kept() {
        let h = DeploymentHealth::default();
        let t = Instant::now();
        let two = Duration::from_secs(2);
        assert_eq!(h.failed(&policy(), Some(two), true, t), Cooled::For(two));
        assert_eq!(h.availability(t + two), Availability::Probe);
        let k = DeploymentHealth::default();
        assert_eq!(k.failed(&policy(), None, false, t), Cooled::No);
        assert_eq!(k.failed(&policy(), None, false, t), Cooled::No);
        for _ in 0..3 {
            assert_eq!(k.failed(&policy(), None, false, t), Cooled::Kept);
        }
        assert_eq!(k.availability(t), Availability::Ready);
    }
}
