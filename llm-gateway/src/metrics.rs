//! The Prometheus metrics behind `/metrics`.
//!
//! Label values come only from the config (group names, deployment ids,
//! wildcard patterns, runtime provider names), fixed route names and HTTP
//! statuses, so their number is bounded whatever callers send: a model
//! name no entry serves is counted as `model_group="other"`.
//!
//! Two namings, one set of values: the gateway's own (`llm_gateway_*`, the
//! default) and LiteLLM's (`litellm_*`, with `litellm_settings.callbacks:
//! ["prometheus"]`, as in LiteLLM), so LiteLLM's dashboards read the gateway
//! (the module `metrics/litellm.rs` maps each metric). The label values are the same bounded set
//! in both.

mod litellm;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use llm_runtime::router::DeploymentState;

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

pub(crate) type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Which names `/metrics` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Naming {
    /// The gateway's own: `llm_gateway_requests_total`...
    #[default]
    Gateway,
    /// LiteLLM's: `litellm_proxy_total_requests_metric_total`...
    Litellm,
}

impl Naming {
    /// LiteLLM's names when `litellm_settings.callbacks` has `prometheus`
    /// (LiteLLM's own switch for its metrics), else the gateway's.
    pub fn of(config: &crate::config::GatewayConfig) -> Self {
        if config.litellm_settings.has_callback("prometheus") {
            Naming::Litellm
        } else {
            Naming::Gateway
        }
    }
}

/// Every metric, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    known_groups: BTreeSet<String>,
    families: Families,
}

/// The metrics of one naming.
#[derive(Debug, Clone)]
enum Families {
    Gateway(GatewayFamilies),
    Litellm(Box<litellm::LitellmFamilies>),
}

/// The gateway's own metrics (`llm_gateway_*`). A clone counts into the
/// same series.
#[derive(Debug, Clone)]
struct GatewayFamilies {
    requests: Family<RequestLabels, Counter>,
    duration: HistogramFamily<GroupLabels>,
    ttft: HistogramFamily<GroupLabels>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<DeploymentLabels, Counter<f64, AtomicU64>>,
    in_flight: Family<GroupLabels, Gauge>,
    deployment_state: Family<DeploymentLabels, Gauge>,
}

pub(crate) fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~4.6 min.
    Histogram::new(exponential_buckets(0.0005, 2.0, 20))
}

impl GatewayFamilies {
    fn new() -> Self {
        GatewayFamilies {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
            ttft: Family::new_with_constructor(latency_histogram),
            tokens: Family::default(),
            cost: Family::default(),
            in_flight: Family::default(),
            deployment_state: Family::default(),
        }
    }

    fn register(&self, registry: &mut Registry) {
        let GatewayFamilies {
            requests,
            duration,
            ttft,
            tokens,
            cost,
            in_flight,
            deployment_state,
        } = self;
        let registry = registry.sub_registry_with_prefix("llm_gateway");
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
        registry.register(
            "deployment_state",
            "How each deployment is doing in this replica's router: 0 healthy, 1 failing (failed within the cooldown window, or waiting for a probe after a cooldown), 2 cooling down",
            deployment_state.clone(),
        );
    }

    fn request(&self, route: &str, group: String, status: u16, elapsed: Duration) {
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

    fn first_token(&self, route: &str, group: String, elapsed: Duration) {
        self.ttft
            .get_or_create(&GroupLabels {
                route: route.to_owned(),
                model_group: group,
            })
            .observe(elapsed.as_secs_f64());
    }

    fn usage(&self, group: String, deployment: &str, tokens: [u32; 2], cost: Option<f64>) {
        for (kind, n) in [("prompt", tokens[0]), ("completion", tokens[1])] {
            self.tokens
                .get_or_create(&TokenLabels {
                    model_group: group.clone(),
                    deployment: deployment.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc_by(u64::from(n));
        }
        if let Some(cost) = cost {
            self.cost
                .get_or_create(&DeploymentLabels {
                    model_group: group,
                    deployment: deployment.to_owned(),
                })
                .inc_by(cost);
        }
    }

    fn in_flight(&self, route: &str, group: String, delta: i64) {
        self.in_flight
            .get_or_create(&GroupLabels {
                route: route.to_owned(),
                model_group: group,
            })
            .inc_by(delta);
    }
}

/// Set `family` to exactly the deployments of `states` (a deployment gone
/// from a reloaded config leaves no stale series), each labelled by `labels`.
fn set_states<'a, L>(
    family: &Family<L, Gauge>,
    states: impl Iterator<Item = (&'a str, &'a str, DeploymentState)>,
    labels: impl Fn(&str, &str) -> L,
) where
    L: Clone + std::hash::Hash + Eq,
{
    family.clear();
    for (group, deployment, state) in states {
        family
            .get_or_create(&labels(group, deployment))
            .set(state.litellm_value());
    }
}

impl Metrics {
    /// Metrics for the groups and wildcards of `models`, with the gateway's names.
    pub fn new(models: &Models) -> Self {
        Metrics::with_naming(models, Naming::Gateway)
    }

    /// Metrics for the groups and wildcards of `models`, named by `naming`.
    pub fn with_naming(models: &Models, naming: Naming) -> Self {
        let families = match naming {
            Naming::Gateway => Families::Gateway(GatewayFamilies::new()),
            Naming::Litellm => Families::Litellm(Box::new(litellm::LitellmFamilies::new(models))),
        };
        Metrics::over(models, families)
    }

    /// The metrics of a reloaded config (`models`, `naming`): the same
    /// series as these, so counters go on counting and the calls in flight
    /// on the old config are still counted, unless the naming changed.
    pub fn carried_over(&self, models: &Models, naming: Naming) -> Self {
        let families = match (&self.families, naming) {
            (Families::Gateway(f), Naming::Gateway) => Families::Gateway(f.clone()),
            (Families::Litellm(f), Naming::Litellm) => {
                Families::Litellm(Box::new(f.for_models(models)))
            }
            _ => return Metrics::with_naming(models, naming),
        };
        Metrics::over(models, families)
    }

    /// `families` registered, for the groups and wildcards of `models`.
    fn over(models: &Models, families: Families) -> Self {
        let mut registry = Registry::default();
        match &families {
            Families::Gateway(f) => f.register(&mut registry),
            Families::Litellm(f) => f.register(&mut registry),
        }
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
            families,
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
        match &self.families {
            Families::Gateway(f) => f.request(route, group, status, elapsed),
            Families::Litellm(f) => f.request(route, group, status, elapsed),
        }
    }

    /// The first token of a stream arrived `elapsed` after the request.
    pub fn first_token(&self, route: &str, group: &str, elapsed: Duration) {
        let group = self.group_label(group);
        match &self.families {
            Families::Gateway(f) => f.first_token(route, group, elapsed),
            Families::Litellm(f) => f.first_token(group, elapsed),
        }
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
        let cost = cost.filter(|c| c.is_finite() && *c >= 0.0);
        match &self.families {
            Families::Gateway(f) => f.usage(group, deployment, [prompt, completion], cost),
            Families::Litellm(f) => f.usage(group, deployment, [prompt, completion], cost),
        }
    }

    /// A request began (`+1`) or ended (`-1`).
    pub fn in_flight(&self, route: &str, group: &str, delta: i64) {
        let group = self.group_label(group);
        match &self.families {
            Families::Gateway(f) => f.in_flight(route, group, delta),
            Families::Litellm(f) => f.in_flight(group, delta),
        }
    }

    /// How each deployment is doing ([`Router::deployment_states`]), set
    /// just before a scrape renders them.
    ///
    /// [`Router::deployment_states`]: llm_runtime::router::Router::deployment_states
    pub fn deployment_states<'a>(
        &self,
        states: impl Iterator<Item = (&'a str, &'a str, DeploymentState)>,
    ) {
        match &self.families {
            Families::Gateway(f) => {
                set_states(&f.deployment_state, states, |group, id| DeploymentLabels {
                    model_group: group.to_owned(),
                    deployment: id.to_owned(),
                })
            }
            Families::Litellm(f) => f.deployment_states(states),
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn models() -> Models {
        let yaml = "model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_base: http://127.0.0.1:9/v1\n      api_key: k\n";
        let loaded = crate::config::GatewayConfig::parse(yaml, &|_| None).unwrap();
        crate::models::build(&loaded.config).unwrap()
    }

    /// Every label value of `text`.
    fn label_values(text: &str) -> Vec<String> {
        text.split("=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
            .collect()
    }

    /// The sum of the request counters in `text`, either naming.
    fn requests(text: &str) -> f64 {
        text.lines()
            .filter(|l| {
                l.starts_with("llm_gateway_requests_total")
                    || l.starts_with("litellm_proxy_total_requests_metric_total")
            })
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
            .sum()
    }

    #[test]
    fn deployment_states_are_set_whole_at_each_scrape() {
        let models = models();
        for naming in [Naming::Gateway, Naming::Litellm] {
            let metrics = Metrics::with_naming(&models, naming);
            let state_lines = |m: &Metrics| -> Vec<String> {
                m.render()
                    .lines()
                    .filter(|l| l.contains("deployment_state{"))
                    .map(str::to_owned)
                    .collect()
            };
            metrics.deployment_states(
                [
                    ("m", "m-0", DeploymentState::Failing),
                    ("m", "gone", DeploymentState::Healthy),
                ]
                .into_iter(),
            );
            let first = state_lines(&metrics);
            assert_eq!(first.len(), 2, "{naming:?}: {first:?}");
            assert!(
                first
                    .iter()
                    .any(|l| l.contains("\"m-0\"") && l.ends_with(" 1"))
            );
            // A reload dropped `gone`, and `m-0` cools down.
            let reloaded = metrics.carried_over(&models, naming);
            reloaded.deployment_states([("m", "m-0", DeploymentState::CoolingDown)].into_iter());
            let second = state_lines(&reloaded);
            assert_eq!(second.len(), 1, "{naming:?}: {second:?}");
            assert!(
                second[0].contains("\"m-0\"") && second[0].ends_with(" 2"),
                "{second:?}"
            );
        }
    }

    #[test]
    fn a_reload_keeps_counting_in_the_same_series_unless_the_naming_changes() {
        let models = models();
        for naming in [Naming::Gateway, Naming::Litellm] {
            let before = Metrics::with_naming(&models, naming);
            before.in_flight("chat_completions", "m", 1);
            before.request("chat_completions", "m", 200, Duration::from_millis(5));
            let after = before.carried_over(&models, naming);
            after.request("chat_completions", "m", 200, Duration::from_millis(5));
            // The call in flight on the old config ends after the reload.
            before.in_flight("chat_completions", "m", -1);
            let text = after.render();
            assert_eq!(requests(&text), 2.0, "{naming:?}: {text}");
            let in_flight: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("in_flight") && !l.starts_with('#'))
                .collect();
            assert!(!in_flight.is_empty(), "{naming:?}: {text}");
            assert!(in_flight.iter().all(|l| l.ends_with(" 0")), "{in_flight:?}");
            let other = match naming {
                Naming::Gateway => Naming::Litellm,
                Naming::Litellm => Naming::Gateway,
            };
            assert_eq!(requests(&before.carried_over(&models, other).render()), 0.0);
        }
    }

    proptest! {
        /// Whatever names callers send, both namings label only with the
        /// config's names, fixed words, statuses and bucket bounds, and
        /// count every request once.
        #[test]
        fn labels_stay_bounded_and_counts_agree(
            calls in proptest::collection::vec(("[a-z0-9/*:.-]{0,10}", 100u16..600, 0u32..1000), 1..30)
        ) {
            let models = models();
            let allowed = [
                "chat_completions", "m", "other", "m-0", "gpt-4o-mini", "openai", "prompt", "completion",
            ];
            for naming in [Naming::Gateway, Naming::Litellm] {
                let m = Metrics::with_naming(&models, naming);
                for (name, status, tokens) in &calls {
                    m.in_flight("chat_completions", name, 1);
                    m.first_token("chat_completions", name, Duration::from_millis(3));
                    m.usage(name, "m-0", *tokens, *tokens, Some(0.5));
                    m.request("chat_completions", name, *status, Duration::from_millis(7));
                    m.in_flight("chat_completions", name, -1);
                }
                let text = m.render();
                for value in label_values(&text) {
                    let fixed = allowed.contains(&value.as_str())
                        || value.parse::<f64>().is_ok()
                        || value == "+Inf"
                        || value.ends_with("Error")
                        || value == "Timeout"
                        || value == "ClientDisconnected";
                    prop_assert!(fixed, "label value {value:?} ({naming:?})");
                }
                let requests: f64 = text
                    .lines()
                    .filter(|l| l.starts_with("llm_gateway_requests_total") || l.starts_with("litellm_proxy_total_requests_metric_total"))
                    .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
                    .sum();
                prop_assert_eq!(requests, calls.len() as f64);
            }
        }
    }
}
