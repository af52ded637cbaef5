//! What happened to one routed call: the trace's steps, why a group gave up
//! without an upstream error, and the errors and messages built from them.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::types::{RouteOutcome, RouteStep, RoutingTrace};

use super::health::DeploymentHealth;
use super::state::{Denial, DenialReason};

/// Why a group gave up without an upstream error.
#[derive(Default)]
pub(super) struct Skips {
    /// The largest window among deployments skipped for it, and the need.
    pub(super) too_small: Option<(u64, u64)>,
    /// Shortest wait among cooling or full deployments.
    pub(super) wait: Option<Duration>,
    /// A fail-closed scope the state could not be asked about.
    pub(super) unavailable: Option<String>,
    pub(super) others: usize,
}

/// Record a refused reservation: a cooldown another process set, a full
/// limit, or a fail-closed limit the state could not be asked about.
pub(super) fn denied(
    trace: &mut RoutingTrace,
    skips: &mut Skips,
    (group, id): (&str, &str),
    health: &DeploymentHealth,
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

pub(super) fn step(trace: &mut RoutingTrace, group: &str, deployment: &str, outcome: RouteOutcome) {
    trace.steps.push(RouteStep {
        group: group.to_owned(),
        deployment: deployment.to_owned(),
        outcome,
    });
}

pub(super) fn min_wait(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether another deployment of the group may succeed where this one failed:
/// the upstream failed, or this deployment's key or model is the problem.
/// Not when the request itself is (validation, window, content policy).
pub(super) fn tries_next_deployment(e: &Error) -> bool {
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
pub(super) fn counts_as_failure(e: &Error) -> bool {
    tries_next_deployment(e)
}

/// The error of a group none of whose deployments was dispatched to.
pub(super) fn exhausted(group: &str, skips: &Skips, deadline: Option<Instant>) -> Error {
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
pub(super) fn summary(trace: &RoutingTrace) -> String {
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
