//! The Prometheus metrics behind `/metrics`.
//!
//! Label values come only from the config (group names, deployment ids,
//! wildcard patterns, runtime provider names), fixed route names and HTTP
//! statuses, so their number is bounded whatever callers send: a model
//! name no entry serves is counted as `model_group="other"`.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::models::Models;

/// Labels of a request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's name (`chat_completions`, `embeddings`...).
    pub route: String,
    /// The model group (or wildcard pattern) named, `other` when none.
    pub model_group: String,
    /// The HTTP status answered.
    pub status: String,
}

/// Labels of a latency.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    /// The route's name.
    pub route: String,
    /// The model group.
    pub model_group: String,
}

/// Labels of tokens and cost.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeploymentLabels {
    /// The model group.
    pub model_group: String,
    /// The deployment id (wildcards: `PATTERN:provider`).
    pub deployment: String,
}

/// Labels of token counts.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// The model group.
    pub model_group: String,
    /// The deployment id.
    pub deployment: String,
    /// `prompt` or `completion`.
    pub kind: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    known_groups: BTreeSet<String>,
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily<GroupLabels>,
    ttft: HistogramFamily<GroupLabels>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<DeploymentLabels, Counter<f64, AtomicU64>>,
    in_flight: Family<GroupLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~4.6 min.
    Histogram::new(exponential_buckets(0.0005, 2.0, 20))
}

impl Metrics {
    /// Metrics for the groups and wildcards of `models`.
    pub fn new(models: &Models) -> Self {
        let mut registry = Registry::with_prefix("llm_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let duration: HistogramFamily<GroupLabels> =
            Family::new_with_constructor(latency_histogram);
        let ttft: HistogramFamily<GroupLabels> = Family::new_with_constructor(latency_histogram);
        let tokens = Family::<TokenLabels, Counter>::default();
        let cost = Family::<DeploymentLabels, Counter<f64, AtomicU64>>::default();
        let in_flight = Family::<GroupLabels, Gauge>::default();
        registry.register(
            "requests",
            "Requests answered, by route, model group and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request to the end of the answer",
            duration.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "Time from the request to the first streamed token",
            ttft.clone(),
        );
        registry.register(
            "tokens",
            "Tokens used, by model group, deployment and kind",
            tokens.clone(),
        );
        registry.register(
            "cost_usd",
            "Cost of the calls in US dollars, where priced",
            cost.clone(),
        );
        registry.register(
            "in_flight_requests",
            "Requests being answered",
            in_flight.clone(),
        );
        let known_groups = models
            .groups
            .keys()
            .cloned()
            .chain(models.aliases.keys().cloned())
            .chain(models.wildcards.iter().map(|w| w.pattern.clone()))
            .collect();
        Metrics {
            registry,
            known_groups,
            requests,
            duration,
            ttft,
            tokens,
            cost,
            in_flight,
        }
    }

    /// `name` if it is a configured group, alias or wildcard pattern, else `other`.
    pub fn group_label(&self, name: &str) -> String {
        if self.known_groups.contains(name) {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// One request answered.
    pub fn request(&self, route: &str, group: &str, status: u16, elapsed: Duration) {
        let group = self.group_label(group);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                model_group: group.clone(),
                status: status.to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&GroupLabels {
                route: route.to_owned(),
                model_group: group,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The first token of a stream arrived `elapsed` after the request.
    pub fn first_token(&self, route: &str, group: &str, elapsed: Duration) {
        let group = self.group_label(group);
        self.ttft
            .get_or_create(&GroupLabels {
                route: route.to_owned(),
                model_group: group,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Tokens and cost of one call served by `deployment`.
    pub fn usage(
        &self,
        group: &str,
        deployment: &str,
        prompt: u32,
        completion: u32,
        cost: Option<f64>,
    ) {
        let group = self.group_label(group);
        for (kind, n) in [("prompt", prompt), ("completion", completion)] {
            self.tokens
                .get_or_create(&TokenLabels {
                    model_group: group.clone(),
                    deployment: deployment.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc_by(u64::from(n));
        }
        if let Some(cost) = cost.filter(|c| c.is_finite() && *c >= 0.0) {
            self.cost
                .get_or_create(&DeploymentLabels {
                    model_group: group,
                    deployment: deployment.to_owned(),
                })
                .inc_by(cost);
        }
    }

    /// A request began (`+1`) or ended (`-1`).
    pub fn in_flight(&self, route: &str, group: &str, delta: i64) {
        let group = self.group_label(group);
        self.in_flight
            .get_or_create(&GroupLabels {
                route: route.to_owned(),
                model_group: group,
            })
            .inc_by(delta);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
