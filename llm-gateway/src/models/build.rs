//! [`build`]: a [`GatewayConfig`] to the runtime client and the model table.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llm_runtime::router::{CooldownPolicy, RedisConfig, RedisState};
use llm_runtime::{
    Client,
    router::{Deployment, ModelGroup, Strategy},
    types::UnsupportedParamPolicy,
};

use super::provider::{self, Defaults};
use super::{Deployed, Models, Price, Wildcard};
use crate::config::{ConfigError, Fallbacks, GatewayConfig, ModelEntry, seconds};

/// A `routing_strategy` name, the runtime's strategy for it, and whether
/// rpm/tpm are limits as well as weights.
type StrategyRow = (&'static str, fn() -> Strategy, bool);

/// Whether deployments' `rpm`/`tpm` are limits (not only weights), and
/// which limit kinds fail closed while Redis does not answer.
#[derive(Debug, Clone, Copy)]
struct Limiting {
    limits: bool,
    fail_open: crate::config::RedisFailOpen,
}

/// LiteLLM's `routing_strategy` names.
const STRATEGIES: &[StrategyRow] = &[
    ("simple-shuffle", || Strategy::WeightedRandom, false),
    ("least-busy", || Strategy::LeastBusy, false),
    ("latency-based-routing", || Strategy::LowestLatency, false),
    ("usage-based-routing", || Strategy::UsageAware, true),
    ("usage-based-routing-v2", || Strategy::UsageAware, true),
    ("cost-based-routing", || Strategy::LowestCost, false),
];

/// The runtime client and model table of `config` (no governance).
pub fn build(config: &GatewayConfig) -> Result<Models, ConfigError> {
    build_governed(config, false)
}

/// [`build`]; with `governed`, the router reserves through governance's
/// counters once they are bound ([`crate::governance::routed`]).
pub fn build_governed(config: &GatewayConfig, governed: bool) -> Result<Models, ConfigError> {
    let rs = &config.router_settings;
    let ls = &config.litellm_settings;
    let (strategy, limits) = strategy(rs.routing_strategy.as_deref())?;
    let defaults = Defaults {
        max_retries: rs.num_retries.or(ls.num_retries),
        timeout: rs.timeout.or(ls.request_timeout),
    };
    let mut entries: BTreeMap<String, Vec<(usize, &ModelEntry)>> = BTreeMap::new();
    let mut wildcards = Vec::new();
    for (i, entry) in config.model_list.iter().enumerate() {
        if entry.model_name.ends_with('*') {
            wildcards.push(Wildcard {
                pattern: entry.model_name.clone(),
                params: entry.litellm_params.clone(),
                defaults,
                connected: Mutex::default(),
            });
        } else {
            entries
                .entry(entry.model_name.clone())
                .or_default()
                .push((i, entry));
        }
    }
    // The longest pattern is the most specific: `openai/*` before `*`.
    wildcards.sort_by_key(|w| std::cmp::Reverse(w.pattern.len()));

    let mut builder = Client::builder();
    if ls.drop_params == Some(true) {
        builder = builder.unsupported_params(UnsupportedParamPolicy::Drop);
    }
    let shared = match &rs.redis_host {
        Some(host) => Some(redis_state(host, rs)?),
        None => None,
    };
    let governed = governed.then(|| {
        let prefix = shared.as_ref().map(|(_, prefix)| prefix.clone());
        let inner: Arc<dyn llm_runtime::router::RouterState> = match &shared {
            Some((state, _)) => Arc::clone(state),
            None => Arc::new(llm_runtime::router::InProcessState::new()),
        };
        Arc::new(crate::governance::routed::GovernedState::new(inner, prefix))
    });
    match (&governed, shared) {
        (Some(g), _) => builder = builder.router_state(Arc::clone(g) as _),
        (None, Some((state, _))) => builder = builder.router_state(state),
        (None, None) => {}
    }
    let cooldown = cooldown(config);
    let fallbacks = [
        merged(&rs.fallbacks, &ls.fallbacks),
        merged(&rs.context_window_fallbacks, &ls.context_window_fallbacks),
        merged(&rs.content_policy_fallbacks, &ls.content_policy_fallbacks),
    ];
    let mut groups = BTreeMap::new();
    for (name, list) in &entries {
        let (group, deployed) = group(
            name,
            list,
            &strategy,
            cooldown,
            &fallbacks,
            defaults,
            Limiting {
                limits,
                fail_open: config.general_settings.redis_fail_open,
            },
        )?;
        builder = builder.group(group);
        groups.insert(name.clone(), deployed);
    }
    let client = builder
        .build()
        .map_err(|e| ConfigError::Invalid(format!("router_settings: {}", e.message())))?;
    let mut aliases = BTreeMap::new();
    for (alias, target) in &rs.model_group_alias {
        if !groups.contains_key(target.group()) {
            return Err(ConfigError::Invalid(format!(
                "router_settings.model_group_alias: `{alias}` names `{}`, which is no model_name",
                target.group()
            )));
        }
        aliases.insert(alias.clone(), (target.group().to_owned(), target.hidden()));
    }
    Ok(Models {
        client,
        groups,
        aliases,
        wildcards,
        governed,
    })
}

/// The runtime group `name` of `list`'s entries, and what the gateway keeps of each.
fn group(
    name: &str,
    list: &[(usize, &ModelEntry)],
    strategy: &Strategy,
    cooldown: CooldownPolicy,
    fallbacks: &[BTreeMap<String, Vec<String>>; 3],
    defaults: Defaults,
    limits: Limiting,
) -> Result<(ModelGroup, Vec<Arc<Deployed>>), ConfigError> {
    let mut group = ModelGroup::new(name)
        .strategy(strategy.clone())
        .cooldown(cooldown);
    let mut deployed = Vec::new();
    for (n, (index, entry)) in list.iter().enumerate() {
        let (d, runtime) = deployment(name, n, *index, entry, defaults, limits)?;
        group = group.deployment(runtime);
        deployed.push(Arc::new(d));
    }
    for target in fallbacks[0].get(name).into_iter().flatten() {
        group = group.fallback(target.clone());
    }
    for target in fallbacks[1].get(name).into_iter().flatten() {
        group = group.context_window_fallback(target.clone());
    }
    for target in fallbacks[2].get(name).into_iter().flatten() {
        group = group.content_policy_fallback(target.clone());
    }
    Ok((group, deployed))
}

fn strategy(name: Option<&str>) -> Result<(Strategy, bool), ConfigError> {
    let name = name.unwrap_or("simple-shuffle");
    STRATEGIES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, s, limits)| (s(), *limits))
        .ok_or_else(|| {
            let known: Vec<&str> = STRATEGIES.iter().map(|(n, _, _)| *n).collect();
            ConfigError::Invalid(format!(
                "router_settings.routing_strategy: `{name}` is not one of {}",
                known.join(", ")
            ))
        })
}

fn cooldown(config: &GatewayConfig) -> CooldownPolicy {
    let rs = &config.router_settings;
    let mut policy = CooldownPolicy::default();
    if let Some(n) = rs.allowed_fails {
        policy.allowed_fails = n;
    }
    if let Some(d) = seconds(rs.cooldown_time) {
        policy.cooldown_time = d;
    }
    policy
}

/// The router's Redis state, and its key prefix (the shared cooldowns' keys).
type SharedState = (Arc<dyn llm_runtime::router::RouterState>, String);

fn redis_state(host: &str, rs: &crate::config::RouterSettings) -> Result<SharedState, ConfigError> {
    let port = rs.redis_port.unwrap_or(6379);
    let auth = rs
        .redis_password
        .as_ref()
        .map(|p| format!(":{}@", p.expose()))
        .unwrap_or_default();
    let config = RedisConfig::new(format!("redis://{auth}{host}:{port}/"));
    let prefix = config.prefix.clone();
    let state = RedisState::connect(config).map_err(|e| {
        ConfigError::Invalid(format!("router_settings.redis_host: {}", e.message()))
    })?;
    Ok((Arc::new(state), prefix))
}

/// `router_settings` fallbacks, then `litellm_settings`' for groups not named there.
fn merged(primary: &Fallbacks, secondary: &Fallbacks) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for map in secondary.iter().chain(primary) {
        for (group, targets) in map {
            out.insert(group.clone(), targets.clone());
        }
    }
    out
}

fn deployment(
    group: &str,
    n: usize,
    index: usize,
    entry: &ModelEntry,
    defaults: Defaults,
    Limiting { limits, fail_open }: Limiting,
) -> Result<(Deployed, Deployment), ConfigError> {
    let params = &entry.litellm_params;
    let info = &entry.model_info;
    let (provider_name, model) = provider::split_model(&params.model);
    let provider = provider::connect(&provider_name, params, defaults).map_err(|e| match e {
        ConfigError::Invalid(m) => ConfigError::Invalid(format!("model_list[{index}]: {m}")),
        other => other,
    })?;
    let id = info.id.clone().unwrap_or_else(|| format!("{group}-{n}"));
    let mut d = Deployment::from_arc(Arc::clone(&provider), model.clone()).id(id.clone());
    if let Some(w) = params.weight {
        d = d.weight(w);
    } else if let Some(w) = params.rpm.or(params.tpm) {
        d = d.weight(u32::try_from(w).unwrap_or(u32::MAX));
    }
    if limits {
        if let Some(rpm) = params.rpm {
            d = d.rpm(rpm);
        }
        if let Some(tpm) = params.tpm {
            d = d.tpm(tpm);
        }
        // `general_settings.redis_fail_open`: a limit kind that fails closed.
        let open = crate::governance::wire::fail_open(&fail_open);
        if (params.rpm.is_some() && !open.requests) || (params.tpm.is_some() && !open.tokens) {
            d = d.fail_closed();
        }
    }
    if let Some(t) = seconds(params.timeout.or(defaults.timeout)) {
        d = d.timeout(t.max(Duration::from_millis(1)));
    }
    if let Some(r) = params.max_retries.or(defaults.max_retries) {
        d = d.max_retries(r);
    }
    if let Some(w) = info.max_input_tokens {
        d = d.context_window(w);
    }
    let weight = d.effective_weight();
    let price = price(entry, &provider_name, &model);
    let dialect = super::dialect_of(&provider_name);
    let deployed = Deployed {
        id,
        provider_name,
        model,
        provider,
        price,
        mode: info.mode.clone(),
        max_input_tokens: info.max_input_tokens,
        max_output_tokens: info.max_output_tokens,
        weight,
        dialect,
    };
    Ok((deployed, d))
}

/// The configured per-token price, else the catalog's (per million tokens).
fn price(entry: &ModelEntry, provider: &str, model: &str) -> Option<Price> {
    let p = &entry.litellm_params;
    let i = &entry.model_info;
    let input = p.input_cost_per_token.or(i.input_cost_per_token);
    let output = p.output_cost_per_token.or(i.output_cost_per_token);
    if input.is_some() || output.is_some() {
        return Some(Price {
            input: input.unwrap_or(0.0),
            output: output.unwrap_or(0.0),
        });
    }
    let base = i
        .base_model
        .clone()
        .unwrap_or_else(|| format!("{provider}/{model}"));
    let card = llm_runtime::catalog::lookup(&base)?;
    let price = card.price?;
    Some(Price {
        input: price.input / 1e6,
        output: price.output / 1e6,
    })
}
