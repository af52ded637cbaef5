//! When to try a failed call again, and how long to wait first.
//!
//! [`decide`] is a pure function of the failure and the clock, so every rule is
//! tested as a table; the provider client is its only driver.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::types::setters;

/// Retry settings.
///
/// ```
/// use std::time::Duration;
/// use llm_runtime::retry::RetryPolicy;
/// let policy = RetryPolicy::default().max_retries(5).initial_backoff(Duration::from_millis(100));
/// assert_eq!(policy.max_retries, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The backoff cap of the first retry; it doubles each retry.
    pub initial_backoff: Duration,
    /// The most a backoff may grow to.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one stops retrying and
    /// hands the error (with its `retry_after`) to the caller. A header too
    /// large to represent reads as [`crate::error::MAX_DELAY`].
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    setters! {
        /// Set the number of retries.
        max_retries(n: u32) { max_retries = n }
        /// Set the first backoff cap.
        initial_backoff(d: Duration) { initial_backoff = d }
        /// Set the backoff ceiling.
        max_backoff(d: Duration) { max_backoff = d }
        /// Set the longest honoured `Retry-After`.
        max_retry_after(d: Duration) { max_retry_after = d }
    }

    /// The backoff ceiling before the `retry`-th retry (1-based): `initial * 2^(retry-1)`, capped.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// What [`decide`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct RetryInput {
    /// The failure's kind.
    pub kind: ErrorKind,
    /// The provider's `x-should-retry` hint.
    pub should_retry: Option<bool>,
    /// Attempts made so far, counting the one that just failed (1 after the first).
    pub attempts: u32,
    /// Whether a stream event has already reached the caller.
    pub stream_started: bool,
    /// The wait the provider asked for.
    pub retry_after: Option<Duration>,
    /// Now.
    pub now: Instant,
    /// When the whole call must be over.
    pub deadline: Option<Instant>,
}

impl RetryInput {
    /// The input for `error` after `attempts` attempts.
    pub fn from_error(
        error: &Error,
        attempts: u32,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Self {
        RetryInput {
            kind: error.kind(),
            should_retry: error.should_retry_hint(),
            attempts,
            stream_started: false,
            retry_after: error.retry_after(),
            now,
            deadline,
        }
    }
}

/// The verdict of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Give the error to the caller.
    Stop,
}

/// Decide whether to retry, with full-jitter exponential backoff.
///
/// Never retries once a stream event reached the caller (its text would be
/// duplicated), never authentication or validation errors (unless the provider
/// says `x-should-retry: true`), never when the provider says
/// `x-should-retry: false`, never past `max_retries`, never when the provider
/// asks for a wait longer than `max_retry_after` (the error keeps the wait in
/// [`Error::retry_after`]), and never when the wait would end past the deadline.
///
/// A `Retry-After` shorter than the backoff (`0`, or an HTTP-date in the past)
/// is raised to a jittered minimum, half to all of the backoff cap, so a server
/// that keeps answering `Retry-After: 0` cannot drive a tight loop.
pub fn decide(policy: &RetryPolicy, input: &RetryInput) -> Decision {
    decide_with_jitter(policy, input, fastrand::f64())
}

/// [`decide`] with the jitter draw given (`0.0..1.0`), for tests.
pub fn decide_with_jitter(policy: &RetryPolicy, input: &RetryInput, jitter: f64) -> Decision {
    if input.stream_started || input.attempts > policy.max_retries {
        return Decision::Stop;
    }
    let retryable = match input.should_retry {
        Some(hint) => hint,
        None => input.kind.is_retryable(),
    };
    if !retryable {
        return Decision::Stop;
    }
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    let cap = policy.backoff_cap(input.attempts);
    let wait = match input.retry_after {
        Some(after) if after > policy.max_retry_after => return Decision::Stop,
        // The server's wait, with a floor of half to all of the first backoff
        // (equal jitter): never a tight loop on `Retry-After: 0`, clients do not
        // return together, and a wait the server asked for is never stretched
        // by the exponential growth of later attempts.
        Some(after) => after.max(scale(policy.initial_backoff.min(cap), 0.5 + jitter / 2.0)),
        None => scale(cap, jitter),
    };
    if let Some(deadline) = input.deadline {
        match input.now.checked_add(wait) {
            Some(end) if end < deadline => {}
            // Past the deadline, or so far ahead that the clock cannot say.
            _ => return Decision::Stop,
        }
    }
    Decision::Retry(wait)
}

/// `d * factor` for `factor` in `0.0..=1.0`, without `Duration::mul_f64`'s
/// panic when `d` is near `Duration::MAX` (its `f64` rounds up past it).
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor)
        .unwrap_or(d)
        .min(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: ErrorKind, attempts: u32) -> RetryInput {
        RetryInput {
            kind,
            should_retry: None,
            attempts,
            stream_started: false,
            retry_after: None,
            now: Instant::now(),
            deadline: None,
        }
    }

    #[test]
    fn table() {
        let p = RetryPolicy::default();
        let retry = |kind| decide_with_jitter(&p, &input(kind, 1), 1.0);
        // (kind, retried?)
        let rows = [
            (ErrorKind::RateLimited, true),
            (ErrorKind::ServerError, true),
            (ErrorKind::Overloaded, true),
            (ErrorKind::Timeout, true),
            (ErrorKind::Network, true),
            (ErrorKind::Authentication, false),
            (ErrorKind::PermissionDenied, false),
            (ErrorKind::InvalidRequest, false),
            (ErrorKind::ContextWindowExceeded, false),
            (ErrorKind::QuotaExceeded, false),
            (ErrorKind::NotFound, false),
            (ErrorKind::Decode, false),
            (ErrorKind::StreamTruncated, false),
            (ErrorKind::Config, false),
            (ErrorKind::Unsupported, false),
            (ErrorKind::ContentFilter, false),
        ];
        for (kind, expected) in rows {
            assert_eq!(
                matches!(retry(kind), Decision::Retry(_)),
                expected,
                "{kind}"
            );
        }
    }

    #[test]
    fn stops_after_max_retries() {
        let p = RetryPolicy::default().max_retries(2);
        assert!(matches!(
            decide_with_jitter(&p, &input(ErrorKind::ServerError, 2), 0.5),
            Decision::Retry(_)
        ));
        assert_eq!(
            decide_with_jitter(&p, &input(ErrorKind::ServerError, 3), 0.5),
            Decision::Stop
        );
        let none = RetryPolicy::none();
        assert_eq!(
            decide_with_jitter(&none, &input(ErrorKind::ServerError, 1), 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn never_after_stream_started() {
        let mut i = input(ErrorKind::Network, 1);
        i.stream_started = true;
        assert_eq!(
            decide_with_jitter(&RetryPolicy::default(), &i, 0.5),
            Decision::Stop
        );
    }

    #[test]
    fn full_jitter_within_exponential_cap() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350))
            .max_retries(10);
        assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(3), Duration::from_millis(350));
        assert_eq!(p.backoff_cap(40), Duration::from_millis(350));
        assert_eq!(
            decide_with_jitter(&p, &input(ErrorKind::Network, 2), 0.5),
            Decision::Retry(Duration::from_millis(100))
        );
        assert_eq!(
            decide_with_jitter(&p, &input(ErrorKind::Network, 2), 0.0),
            Decision::Retry(Duration::ZERO)
        );
        for _ in 0..100 {
            match decide(&p, &input(ErrorKind::Network, 3)) {
                Decision::Retry(d) => assert!(d <= Duration::from_millis(350)),
                Decision::Stop => panic!("should retry"),
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let mut i = input(ErrorKind::RateLimited, 1);
        i.retry_after = Some(Duration::from_secs(3));
        assert_eq!(
            decide_with_jitter(&p, &i, 0.1),
            Decision::Retry(Duration::from_secs(3))
        );
        i.retry_after = Some(Duration::from_secs(3600));
        assert_eq!(decide_with_jitter(&p, &i, 0.1), Decision::Stop);
    }

    #[test]
    fn should_retry_header_overrides_kind() {
        let p = RetryPolicy::default();
        let mut i = input(ErrorKind::ServerError, 1);
        i.should_retry = Some(false);
        assert_eq!(decide_with_jitter(&p, &i, 0.5), Decision::Stop);
        let mut i = input(ErrorKind::InvalidRequest, 1);
        i.should_retry = Some(true);
        assert!(matches!(
            decide_with_jitter(&p, &i, 0.5),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn deadline_is_respected() {
        let p = RetryPolicy::default();
        let mut i = input(ErrorKind::RateLimited, 1);
        i.retry_after = Some(Duration::from_secs(2));
        i.deadline = Some(i.now + Duration::from_secs(1));
        assert_eq!(decide_with_jitter(&p, &i, 0.5), Decision::Stop);
        i.deadline = Some(i.now + Duration::from_secs(5));
        assert_eq!(
            decide_with_jitter(&p, &i, 0.5),
            Decision::Retry(Duration::from_secs(2))
        );
    }

    fn rate_limited_with(header: &str, value: &str) -> Error {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
        crate::error::classify_http_error(429, &h, b"")
    }

    #[test]
    fn retry_after_zero_keeps_a_jittered_minimum() {
        let p = RetryPolicy::default().max_retries(5);
        for attempts in 1..=5 {
            // The floor is the first backoff, however many attempts came before.
            let cap = p.initial_backoff.min(p.backoff_cap(attempts));
            let mut i = input(ErrorKind::RateLimited, attempts);
            i.retry_after = Some(Duration::ZERO);
            // (jitter, wait)
            for (jitter, wait) in [
                (0.0, cap / 2),
                (1.0, cap),
                (f64::NAN, cap / 2),
                (-3.0, cap / 2),
            ] {
                assert_eq!(
                    decide_with_jitter(&p, &i, jitter),
                    Decision::Retry(wait),
                    "attempt {attempts}, jitter {jitter}"
                );
            }
            for _ in 0..50 {
                match decide(&p, &i) {
                    Decision::Retry(d) => assert!(d >= cap / 2 && d <= cap, "{d:?}"),
                    Decision::Stop => panic!("should retry"),
                }
            }
        }
        // A longer Retry-After than the floor is honoured as given.
        let mut i = input(ErrorKind::RateLimited, 1);
        i.retry_after = Some(Duration::from_millis(400));
        assert_eq!(
            decide_with_jitter(&p, &i, 0.0),
            Decision::Retry(Duration::from_millis(400))
        );
    }

    #[test]
    fn a_date_in_the_past_retries_promptly() {
        let p = RetryPolicy::default();
        let past = std::time::SystemTime::now() - Duration::from_secs(3600);
        let e = rate_limited_with("retry-after", &httpdate::fmt_http_date(past));
        assert_eq!(e.retry_after(), Some(Duration::ZERO));
        let i = RetryInput::from_error(&e, 1, Instant::now(), None);
        assert_eq!(
            decide_with_jitter(&p, &i, 0.0),
            Decision::Retry(p.backoff_cap(1) / 2)
        );
    }

    #[test]
    fn a_wait_past_the_cap_stops_and_the_error_keeps_it() {
        let p = RetryPolicy::default();
        // (header, value, the wait the error reports)
        let rows = [
            ("retry-after", "3600", Duration::from_secs(3600)),
            ("retry-after", "61", Duration::from_secs(61)),
            ("retry-after", "1e20", crate::error::MAX_DELAY),
            (
                "retry-after",
                "18446744073709551616",
                crate::error::MAX_DELAY,
            ),
            ("retry-after-ms", "1e23", crate::error::MAX_DELAY),
            ("retry-after-ms", "60001", Duration::from_millis(60_001)),
        ];
        for (header, value, wait) in rows {
            let e = rate_limited_with(header, value);
            assert_eq!(e.retry_after(), Some(wait), "{header}: {value}");
            let i = RetryInput::from_error(&e, 1, Instant::now(), None);
            assert_eq!(
                decide_with_jitter(&p, &i, 0.5),
                Decision::Stop,
                "{header}: {value}"
            );
            assert_eq!(e.retry_after(), Some(wait));
        }
        // Garbage is no wait at all: plain backoff.
        for value in ["-1", "NaN", "inf", "soon", "1e-400x"] {
            let e = rate_limited_with("retry-after", value);
            assert_eq!(e.retry_after(), None, "{value}");
            let i = RetryInput::from_error(&e, 1, Instant::now(), None);
            assert!(matches!(
                decide_with_jitter(&p, &i, 0.5),
                Decision::Retry(_)
            ));
        }
    }

    #[test]
    fn extreme_settings_do_not_panic() {
        let now = Instant::now();
        let max = RetryPolicy::default()
            .max_retries(u32::MAX)
            .initial_backoff(Duration::MAX)
            .max_backoff(Duration::MAX)
            .max_retry_after(Duration::MAX);
        assert_eq!(max.backoff_cap(u32::MAX), Duration::MAX);
        assert_eq!(max.backoff_cap(0), Duration::MAX);
        // (retry_after, deadline, jitter, decision)
        let rows = [
            (None, None, 1.0, Decision::Retry(Duration::MAX)),
            (None, None, 0.0, Decision::Retry(Duration::ZERO)),
            (
                None,
                Some(now + Duration::from_secs(1)),
                1.0,
                Decision::Stop,
            ),
            (
                Some(Duration::MAX),
                None,
                0.5,
                Decision::Retry(Duration::MAX),
            ),
            (Some(Duration::MAX), Some(now), 0.5, Decision::Stop),
            (
                Some(crate::error::MAX_DELAY),
                Some(now + Duration::from_secs(1)),
                0.5,
                Decision::Stop,
            ),
            (
                Some(Duration::ZERO),
                Some(now),
                f64::INFINITY,
                Decision::Stop,
            ),
        ];
        for (retry_after, deadline, jitter, expected) in rows {
            let mut i = input(ErrorKind::Overloaded, u32::MAX);
            i.now = now;
            i.retry_after = retry_after;
            i.deadline = deadline;
            assert_eq!(
                decide_with_jitter(&max, &i, jitter),
                expected,
                "{retry_after:?} {deadline:?} {jitter}"
            );
        }
        // The default policy with u32::MAX attempts simply stops.
        let i = input(ErrorKind::Overloaded, u32::MAX);
        assert_eq!(
            decide_with_jitter(&RetryPolicy::default(), &i, 0.5),
            Decision::Stop
        );
        let zero = RetryPolicy::default()
            .initial_backoff(Duration::ZERO)
            .max_backoff(Duration::ZERO);
        let mut i = input(ErrorKind::Overloaded, 1);
        i.retry_after = Some(Duration::ZERO);
        assert_eq!(
            decide_with_jitter(&zero, &i, 0.5),
            Decision::Retry(Duration::ZERO)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_retry_header_never_panics(
            header in proptest::sample::select(vec!["retry-after", "retry-after-ms", "x-should-retry"]),
            value in "[ -~]{0,40}",
            attempts in proptest::prelude::any::<u32>(),
            deadline_secs in proptest::option::of(proptest::prelude::any::<u64>()),
            big in proptest::prelude::any::<bool>(),
        ) {
            let mut h = http::HeaderMap::new();
            if let Ok(v) = http::HeaderValue::from_str(&value) {
                h.insert(header, v);
            }
            let e = crate::error::classify_http_error(429, &h, b"");
            let now = Instant::now();
            let deadline = deadline_secs.and_then(|s| now.checked_add(Duration::from_secs(s)));
            let policy = if big {
                RetryPolicy::default()
                    .max_retries(u32::MAX)
                    .max_backoff(Duration::MAX)
                    .initial_backoff(Duration::MAX)
                    .max_retry_after(Duration::MAX)
            } else {
                RetryPolicy::default().max_retries(u32::MAX)
            };
            let _ = decide(&policy, &RetryInput::from_error(&e, attempts, now, deadline));
        }
    }
}
