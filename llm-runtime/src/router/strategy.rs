//! [`Strategy`]: the order a group's deployments are tried in, per call.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::types::RateLimits;

use super::deployment::Deployment;

/// What a strategy knows about one deployment when it orders them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Candidate<'a> {
    /// The deployment.
    pub deployment: &'a Deployment,
    /// Calls this process has in flight on it.
    pub in_flight: u64,
    /// Moving average of its latency (to the whole answer, or to the first
    /// byte of a stream); `None` before its first success.
    pub latency: Option<Duration>,
    /// Requests this process sent it in the last minute.
    pub recent_requests: u64,
    /// Tokens those requests used: the usage each answer reported; for one
    /// that reported none, its prompt (counted, or for a deployment without
    /// limits an upper bound from its length) plus the text received.
    pub recent_tokens: u64,
    /// The upstream's own rate-limit headers, from its last answer.
    pub upstream: RateLimits,
    /// Catalog price per million tokens (input + output), if published.
    pub price: Option<f64>,
}

impl Candidate<'_> {
    /// The smallest fraction left of any known limit (ours or the
    /// upstream's): 1.0 when nothing is known.
    pub fn headroom(&self) -> f64 {
        let limits = self.deployment.limits();
        let ours = |limit: Option<u64>, used: u64| {
            limit.map(|l| (l.saturating_sub(used)) as f64 / l.max(1) as f64)
        };
        let theirs = |l: Option<crate::types::RateLimit>| {
            let l = l?;
            Some(l.remaining? as f64 / l.limit?.max(1) as f64)
        };
        [
            ours(limits.rpm, self.recent_requests),
            ours(limits.tpm, self.recent_tokens),
            theirs(self.upstream.requests),
            theirs(self.upstream.tokens),
        ]
        .into_iter()
        .flatten()
        .fold(1.0, f64::min)
    }
}

/// A caller's own routing: order the candidates (indices into `candidates`)
/// into `order`, best first. Deployments left out are not tried.
pub trait RoutingStrategy: Send + Sync + fmt::Debug {
    /// Its name in [`RoutingTrace::strategy`](crate::types::RoutingTrace::strategy).
    fn name(&self) -> &str;
    /// Fill `order` (empty on entry).
    fn order(&self, candidates: &[Candidate<'_>], order: &mut Vec<usize>);
}

/// How a group orders its deployments for each call. Every strategy puts the
/// others after its pick, so a failure moves on to the next best.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Strategy {
    /// Random, in proportion to each deployment's weight (its rpm, else its
    /// tpm, else 1, when no weight is given).
    #[default]
    WeightedRandom,
    /// The fewest calls in flight (ties at random).
    LeastBusy,
    /// The lowest moving average of latency; an untried deployment first.
    LowestLatency,
    /// The most headroom left under its limits (our counters) and the
    /// upstream's rate-limit headers.
    UsageAware,
    /// The lowest catalog price; unpriced deployments last.
    LowestCost,
    /// A caller's own.
    Custom(Arc<dyn RoutingStrategy>),
}

impl Strategy {
    /// The strategy's name.
    pub fn name(&self) -> &str {
        match self {
            Strategy::WeightedRandom => "weighted-random",
            Strategy::LeastBusy => "least-busy",
            Strategy::LowestLatency => "lowest-latency",
            Strategy::UsageAware => "usage-aware",
            Strategy::LowestCost => "lowest-cost",
            Strategy::Custom(s) => s.name(),
        }
    }

    /// Order `candidates` into `order`.
    pub fn order(&self, candidates: &[Candidate<'_>], order: &mut Vec<usize>) {
        order.clear();
        if let Strategy::Custom(s) = self {
            s.order(candidates, order);
            order.retain(|&i| i < candidates.len());
            return;
        }
        if let Strategy::WeightedRandom = self {
            weighted_shuffle(candidates, order);
            return;
        }
        order.extend(0..candidates.len());
        // Ties broken at random: shuffle first, then a stable sort.
        fastrand::shuffle(order);
        let key = |c: &Candidate<'_>| -> f64 {
            match self {
                Strategy::LeastBusy => c.in_flight as f64,
                Strategy::LowestLatency => c.latency.map_or(-1.0, |l| l.as_secs_f64()),
                Strategy::UsageAware => -c.headroom(),
                Strategy::LowestCost => c.price.unwrap_or(f64::INFINITY),
                _ => 0.0,
            }
        };
        order.sort_by(|&a, &b| key(&candidates[a]).total_cmp(&key(&candidates[b])));
    }
}

/// Weighted sampling without replacement: each next pick in proportion to
/// the weights left.
fn weighted_shuffle(candidates: &[Candidate<'_>], order: &mut Vec<usize>) {
    order.extend(0..candidates.len());
    weighted_order(order, |i| candidates[i].deployment.effective_weight());
}

/// Reorder `items` in place by weighted sampling without replacement: each
/// next position drawn among the items left in proportion to their weights
/// (all alike when every weight left is 0).
pub(crate) fn weighted_order(items: &mut [usize], weight: impl Fn(usize) -> u64) {
    for k in 0..items.len() {
        let left = &mut items[k..];
        let total: u64 = left.iter().map(|&i| weight(i)).sum();
        let pick = if total == 0 {
            fastrand::usize(..left.len())
        } else {
            let mut r = fastrand::u64(0..total);
            left.iter()
                .position(|&i| {
                    let w = weight(i);
                    let hit = r < w;
                    r = r.saturating_sub(w);
                    hit
                })
                .unwrap_or(0)
        };
        left.swap(0, pick);
    }
}
