//! LiteLLM's metric names and labels (`litellm_settings.callbacks:
//! ["prometheus"]`), so LiteLLM's Grafana dashboards read the gateway.
//!
//! | LiteLLM metric | labels here | value |
//! |---|---|---|
//! | `litellm_proxy_total_requests_metric_total` | `requested_model`, `status_code`, `route` | requests answered |
//! | `litellm_proxy_failed_requests_metric_total` | `requested_model`, `exception_status`, `exception_class`, `route` | requests answered 4xx/5xx |
//! | `litellm_request_total_latency_metric` | `requested_model` | seconds from request to the end of the answer |
//! | `litellm_llm_api_time_to_first_token_metric` | `requested_model` | seconds to a stream's first token |
//! | `litellm_requests_metric_total` | `model`, `model_id`, `api_provider` | calls a deployment answered with usage |
//! | `litellm_input_tokens_metric_total`, `litellm_output_tokens_metric_total`, `litellm_total_tokens_metric_total` | `requested_model`, `model`, `model_id` | tokens |
//! | `litellm_spend_metric_total` | `model`, `model_id`, `api_provider` | US dollars, where priced |
//! | `litellm_in_flight_requests` | none | requests being answered |
//! | `litellm_deployment_state` | `litellm_model_name`, `model_id`, `api_provider` | 0 healthy, 1 partial outage (failed within the cooldown window, or waiting for a probe after a cooldown), 2 complete outage (cooling down), as this replica's router sees it at the scrape |
//!
//! `requested_model` is the configured group (or alias, or wildcard pattern)
//! the caller named, `other` for any name the config does not serve; `model`
//! is the deployment's upstream model and `model_id` its id. LiteLLM's
//! per-caller labels (`hashed_api_key`, `team`, `user`, `end_user`...) are
//! left out: their values grow with callers, and a label left out reads as
//! an empty one in PromQL, so `sum by (team)` still works. So is
//! `api_base` on `litellm_deployment_state` (`model_id` names the
//! deployment already). The latency buckets are LiteLLM's own.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use llm_runtime::router::DeploymentState;

use super::HistogramFamily;
use crate::models::Models;

/// LiteLLM's `LATENCY_BUCKETS` (seconds), `+Inf` implied.
const LATENCY_BUCKETS: [f64; 35] = [
    0.005, 0.00625, 0.0125, 0.025, 0.05, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0,
    5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 15.0, 20.0, 25.0, 30.0, 60.0, 120.0, 180.0,
    240.0, 300.0,
];

fn litellm_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Labels of `litellm_proxy_total_requests_metric`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProxyRequestLabels {
    requested_model: String,
    status_code: String,
    route: String,
}

/// Labels of `litellm_proxy_failed_requests_metric`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailedRequestLabels {
    requested_model: String,
    exception_status: String,
    exception_class: String,
    route: String,
}

/// Labels of the latency histograms.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestedModel {
    requested_model: String,
}

/// Labels of the token counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    requested_model: String,
    model: String,
    model_id: String,
}

/// Labels of `litellm_requests_metric` and `litellm_spend_metric`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
    model_id: String,
    api_provider: String,
}

/// Labels of `litellm_deployment_state`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeploymentStateLabels {
    litellm_model_name: String,
    model_id: String,
    api_provider: String,
}

/// The upstream model and provider of a deployment.
#[derive(Debug, Clone)]
struct DeploymentInfo {
    model: String,
    provider: String,
}

/// The metrics under LiteLLM's names. A clone counts into the same series.
#[derive(Debug, Clone)]
pub(super) struct LitellmFamilies {
    proxy_requests: Family<ProxyRequestLabels, Counter>,
    proxy_failed: Family<FailedRequestLabels, Counter>,
    total_latency: HistogramFamily<RequestedModel>,
    ttft: HistogramFamily<RequestedModel>,
    llm_requests: Family<ModelLabels, Counter>,
    input_tokens: Family<TokenLabels, Counter>,
    output_tokens: Family<TokenLabels, Counter>,
    total_tokens: Family<TokenLabels, Counter>,
    spend: Family<ModelLabels, Counter<f64, AtomicU64>>,
    in_flight: Gauge,
    deployment_state: Family<DeploymentStateLabels, Gauge>,
    /// Deployment id to its model and provider, from the config.
    deployments: BTreeMap<String, DeploymentInfo>,
}

impl LitellmFamilies {
    /// New series, for the deployments of `models`.
    pub(super) fn new(models: &Models) -> Self {
        LitellmFamilies {
            proxy_requests: Family::default(),
            proxy_failed: Family::default(),
            total_latency: Family::new_with_constructor(litellm_histogram),
            ttft: Family::new_with_constructor(litellm_histogram),
            llm_requests: Family::default(),
            input_tokens: Family::default(),
            output_tokens: Family::default(),
            total_tokens: Family::default(),
            spend: Family::default(),
            in_flight: Gauge::default(),
            deployment_state: Family::default(),
            deployments: deployments(models),
        }
    }

    /// The same series, for the deployments of `models` (a reloaded config).
    pub(super) fn for_models(&self, models: &Models) -> Self {
        LitellmFamilies {
            deployments: deployments(models),
            ..self.clone()
        }
    }

    /// Register every metric in `registry`.
    pub(super) fn register(&self, registry: &mut Registry) {
        let f = self;
        let r = registry;
        r.register(
            "litellm_proxy_total_requests_metric",
            "Total number of requests made to the proxy server",
            f.proxy_requests.clone(),
        );
        r.register(
            "litellm_proxy_failed_requests_metric",
            "Total number of failed responses from proxy",
            f.proxy_failed.clone(),
        );
        r.register(
            "litellm_request_total_latency_metric",
            "Total latency (seconds) for a request to the proxy",
            f.total_latency.clone(),
        );
        r.register(
            "litellm_llm_api_time_to_first_token_metric",
            "Time to first token for LLM API call",
            f.ttft.clone(),
        );
        r.register(
            "litellm_requests_metric",
            "Total number of LLM calls to litellm",
            f.llm_requests.clone(),
        );
        r.register(
            "litellm_input_tokens_metric",
            "Total number of input tokens from LLM requests",
            f.input_tokens.clone(),
        );
        r.register(
            "litellm_output_tokens_metric",
            "Total number of output tokens from LLM requests",
            f.output_tokens.clone(),
        );
        r.register(
            "litellm_total_tokens_metric",
            "Total number of input + output tokens from LLM requests",
            f.total_tokens.clone(),
        );
        r.register(
            "litellm_spend_metric",
            "Total spend on LLM requests",
            f.spend.clone(),
        );
        r.register(
            "litellm_in_flight_requests",
            "Number of HTTP requests currently in flight",
            f.in_flight.clone(),
        );
        r.register(
            "litellm_deployment_state",
            "LLM Deployment Analytics - The state of the deployment: 0 = healthy, 1 = partial outage, 2 = complete outage",
            f.deployment_state.clone(),
        );
    }

    pub(super) fn deployment_states<'a>(
        &self,
        states: impl Iterator<Item = (&'a str, &'a str, DeploymentState)>,
    ) {
        super::set_states(&self.deployment_state, states, |_group, id| {
            let info = self.info(id);
            DeploymentStateLabels {
                litellm_model_name: info.model,
                model_id: id.to_owned(),
                api_provider: info.provider,
            }
        });
    }

    pub(super) fn request(&self, route: &str, group: String, status: u16, elapsed: Duration) {
        self.proxy_requests
            .get_or_create(&ProxyRequestLabels {
                requested_model: group.clone(),
                status_code: status.to_string(),
                route: route.to_owned(),
            })
            .inc();
        if status >= 400 {
            self.proxy_failed
                .get_or_create(&FailedRequestLabels {
                    requested_model: group.clone(),
                    exception_status: status.to_string(),
                    exception_class: exception_class(status).to_owned(),
                    route: route.to_owned(),
                })
                .inc();
        }
        self.total_latency
            .get_or_create(&RequestedModel {
                requested_model: group,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(super) fn first_token(&self, group: String, elapsed: Duration) {
        self.ttft
            .get_or_create(&RequestedModel {
                requested_model: group,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(super) fn usage(
        &self,
        group: String,
        deployment: &str,
        [prompt, completion]: [u32; 2],
        cost: Option<f64>,
    ) {
        let info = self.info(deployment);
        let model = ModelLabels {
            model: info.model,
            model_id: deployment.to_owned(),
            api_provider: info.provider,
        };
        self.llm_requests.get_or_create(&model).inc();
        let tokens = TokenLabels {
            requested_model: group,
            model: model.model.clone(),
            model_id: deployment.to_owned(),
        };
        let total = u64::from(prompt) + u64::from(completion);
        self.input_tokens
            .get_or_create(&tokens)
            .inc_by(u64::from(prompt));
        self.output_tokens
            .get_or_create(&tokens)
            .inc_by(u64::from(completion));
        self.total_tokens.get_or_create(&tokens).inc_by(total);
        if let Some(cost) = cost {
            self.spend.get_or_create(&model).inc_by(cost);
        }
    }

    pub(super) fn in_flight(&self, _group: String, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// The model and provider of `deployment`: from the config for a
    /// group's deployment; a wildcard's (`PATTERN:provider`) model is the
    /// label itself, since the names under a wildcard are the callers'.
    fn info(&self, deployment: &str) -> DeploymentInfo {
        if let Some(info) = self.deployments.get(deployment) {
            return info.clone();
        }
        let provider = deployment
            .rsplit_once(':')
            .map_or("", |(_, p)| p)
            .to_owned();
        DeploymentInfo {
            model: deployment.to_owned(),
            provider,
        }
    }
}

/// Deployment id to model and provider, for every group of `models` (the
/// first group's when two groups share an id).
fn deployments(models: &Models) -> BTreeMap<String, DeploymentInfo> {
    let mut map = BTreeMap::new();
    for d in models.groups.values().flatten() {
        map.entry(d.id.clone()).or_insert_with(|| DeploymentInfo {
            model: d.model.clone(),
            provider: d.provider_name.clone(),
        });
    }
    map
}

/// LiteLLM's exception class for a status the gateway answered (the
/// OpenAI SDK's names, which LiteLLM's exceptions share): a fixed set, so
/// the label stays bounded.
fn exception_class(status: u16) -> &'static str {
    match status {
        400 | 413 => "BadRequestError",
        401 => "AuthenticationError",
        403 => "PermissionDeniedError",
        404 => "NotFoundError",
        408 | 504 => "Timeout",
        422 => "UnprocessableEntityError",
        429 => "RateLimitError",
        499 => "ClientDisconnected",
        503 => "ServiceUnavailableError",
        500..=599 => "InternalServerError",
        _ => "APIError",
    }
}
