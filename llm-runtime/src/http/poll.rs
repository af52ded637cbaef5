//! Waiting for a long-running job (a batch): check, wait with exponential
//! backoff, check again, never past the caller's deadline.

use std::future::Future;
use std::time::Duration;

use super::exchange::Deadline;
use crate::error::{Error, ErrorKind, Result};
use crate::types::setters;

/// How often a job is checked: the first wait, the factor each wait grows
/// by, and the longest wait.
///
/// ```
/// use std::time::Duration;
/// use llm_runtime::http::PollPolicy;
/// let policy = PollPolicy::default().initial(Duration::from_millis(10)).max(Duration::from_millis(40));
/// assert_eq!(policy.wait(0), Duration::from_millis(10));
/// assert_eq!(policy.wait(1), Duration::from_millis(20));
/// assert_eq!(policy.wait(5), Duration::from_millis(40));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollPolicy {
    initial: Duration,
    factor: f64,
    max: Duration,
}

impl Default for PollPolicy {
    /// 2 s, doubling, at most a minute apart.
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_secs(2),
            factor: 2.0,
            max: Duration::from_secs(60),
        }
    }
}

impl PollPolicy {
    setters! {
        /// The first wait.
        initial(wait: Duration) { initial = wait }
        /// The longest wait.
        max(wait: Duration) { max = wait }
    }

    /// The factor each wait grows by (at least 1).
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_finite() {
            factor.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The wait after the `checks`-th check (0-based).
    pub fn wait(&self, checks: u32) -> Duration {
        let exponent = i32::try_from(checks).unwrap_or(i32::MAX);
        let grown = self.initial.as_secs_f64() * self.factor.powi(exponent);
        Duration::try_from_secs_f64(grown).map_or(self.max, |d| d.min(self.max))
    }
}

/// Run `check` until it gives a value, waiting as `policy` says between
/// checks, and never waiting past `deadline`: once it passes, the error is
/// [`ErrorKind::Timeout`], naming what was last seen (`describe`).
pub(crate) async fn poll<T, S, F, Fut>(
    policy: PollPolicy,
    deadline: Deadline,
    mut check: F,
    describe: impl Fn(&S) -> String,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<std::result::Result<T, S>>>,
{
    let mut checks = 0u32;
    // What the last finished check saw: a deadline that cuts a later check
    // short still names it.
    let mut last_seen: Option<String> = None;
    loop {
        // A check in flight is bounded by the deadline too.
        let checked = match deadline.remaining() {
            None => check().await?,
            Some(left) => tokio::time::timeout(left, check()).await.map_err(|_| {
                let seen = last_seen
                    .as_deref()
                    .map_or_else(String::new, |s| format!(": {s}"));
                Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the job was not done within the deadline after {checks} check(s){seen}"
                    ),
                )
            })??,
        };
        let state = match checked {
            Ok(done) => return Ok(done),
            Err(state) => state,
        };
        last_seen = Some(describe(&state));
        let wait = policy.wait(checks);
        checks = checks.saturating_add(1);
        match deadline.remaining() {
            Some(left) if left <= wait => {
                tokio::time::sleep(left).await;
                let seen = last_seen.unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the job was not done within the deadline after {checks} check(s): {seen}"
                    ),
                ));
            }
            _ => tokio::time::sleep(wait).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_job_is_checked_until_done() {
        let calls = AtomicU32::new(0);
        let policy = PollPolicy::default().initial(Duration::from_millis(1));
        let value = poll(
            policy,
            Deadline::after(Duration::from_secs(30)),
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                Ok(if n == 2 { Ok(n) } else { Err(n) })
            },
            |n| format!("check {n}"),
        )
        .await
        .expect("done");
        assert_eq!(value, 2);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_deadline_ends_the_wait_with_timeout() {
        let calls = AtomicU32::new(0);
        let policy = PollPolicy::default().initial(Duration::from_millis(20));
        let e = poll(
            policy,
            Deadline::after(Duration::from_millis(50)),
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(Err::<(), _>("in_progress"))
            },
            |s| (*s).to_owned(),
        )
        .await
        .expect_err("never done");
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.message().contains("in_progress"), "{e}");
        // Never a check past the deadline: at most the checks at 0 and 20 ms.
        assert!((1..=2).contains(&calls.load(Ordering::SeqCst)));
    }

    #[tokio::test]
    async fn a_check_cut_short_by_the_deadline_names_the_last_state_seen() {
        let calls = AtomicU32::new(0);
        let policy = PollPolicy::default().initial(Duration::from_millis(5));
        let e = poll(
            policy,
            Deadline::after(Duration::from_millis(80)),
            || async {
                // The first check answers; the second outlives the deadline.
                if calls.fetch_add(1, Ordering::SeqCst) > 0 {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Ok(Err::<(), _>("in_progress"))
            },
            |s| (*s).to_owned(),
        )
        .await
        .expect_err("never done");
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(
            e.message().ends_with("after 1 check(s): in_progress"),
            "{e}"
        );
    }

    #[test]
    fn waits_grow_and_are_capped() {
        let policy = PollPolicy::default()
            .initial(Duration::from_secs(1))
            .factor(3.0)
            .max(Duration::from_secs(10));
        let waits: Vec<u64> = (0..5).map(|i| policy.wait(i).as_secs()).collect();
        assert_eq!(waits, [1, 3, 9, 10, 10]);
        assert_eq!(policy.wait(u32::MAX), Duration::from_secs(10));
    }
}
