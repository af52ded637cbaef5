//! Governance in the gateway: started from the config when a master key is
//! set, the auth layer in place of the master-key-only check, the
//! management routes, and the reservation of each call (settled through
//! the call's [`crate::call::CallRecord`], so every route that records a
//! call bills it, once).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use llm_runtime::{ChatRequest, EmbeddingRequest};

use super::counters::FailOpen;
use super::gate::{Admission, Estimate, Refused, TokenPrice, UnpricedPolicy};
use super::redis_counters::RedisCountersConfig;
use super::{Governance, GovernanceConfig, StartError, layer};
use crate::config::{RedisFailOpen, UnpricedModels};
use crate::error::GatewayError;
use crate::models::Target;
use crate::state::SharedState;

/// The output tokens reserved for a call without `max_tokens`.
pub const DEFAULT_MAX_TOKENS: i64 = 4096;

/// Start governance for `state` when it has a master key (virtual keys are
/// managed with it): the store is `general_settings.database_url`, else the
/// SQLite file `llm-gateway.db` in the working directory; the counters are
/// shared through `router_settings.redis_host` when set.
pub async fn start(state: &SharedState) -> Result<Option<Arc<Governance>>, StartError> {
    let Some(master) = &state.master_key else {
        return Ok(None);
    };
    let mut config = GovernanceConfig::new(Some(master.expose().to_owned()));
    config.database_url = state
        .config
        .general_settings
        .database_url
        .as_ref()
        .map(|s| s.expose().to_owned());
    let gs = &state.config.general_settings;
    if gs.unpriced_models == Some(UnpricedModels::Allow) {
        config.unpriced = UnpricedPolicy::AllowMarked;
    }
    let rs = &state.config.router_settings;
    config.redis = rs.redis_host.as_ref().map(|host| {
        let auth = rs
            .redis_password
            .as_ref()
            .map(|p| format!(":{}@", p.expose()))
            .unwrap_or_default();
        let mut redis = RedisCountersConfig::new(format!(
            "redis://{auth}{host}:{}/",
            rs.redis_port.unwrap_or(6379)
        ));
        redis.fail_open = fail_open(&gs.redis_fail_open);
        redis
    });
    let gov = Governance::start(config).await?;
    if let Some(governed) = &state.models.governed {
        governed.bind(&gov);
    }
    preload_vocabularies(&state.models).await;
    Ok(Some(gov))
}

/// Governance counts the prompt of every governed call: build the token
/// vocabularies the configured names are counted with before serving, not
/// in the first calls (a fraction of a second each, blocking the worker
/// thread that builds it and every call that waits for it).
async fn preload_vocabularies(models: &crate::models::Models) {
    let names: Vec<String> = models
        .groups
        .keys()
        .chain(models.aliases.keys())
        .cloned()
        .chain(models.groups.values().flatten().map(|d| d.model.clone()))
        .chain(models.wildcards.iter().map(|w| w.pattern.clone()))
        .collect();
    let started = std::time::Instant::now();
    let built = tokio::task::spawn_blocking(move || {
        llm_runtime::tokens::preload(names.iter().map(String::as_str))
    })
    .await
    .unwrap_or_default();
    tracing::info!(
        vocabularies = ?built,
        ms = started.elapsed().as_millis() as u64,
        "governance: token vocabularies built"
    );
}

/// `general_settings.redis_fail_open` as the counters take it (unset: open).
pub fn fail_open(config: &RedisFailOpen) -> FailOpen {
    FailOpen {
        requests: config.rpm_limit.unwrap_or(true),
        tokens: config.tpm_limit.unwrap_or(true),
        parallel: config.max_parallel_requests.unwrap_or(true),
        budget: config.max_budget.unwrap_or(true),
    }
}

fn gateway_error(r: Refused) -> GatewayError {
    let kind = match r.status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "invalid_request_error",
    };
    GatewayError::new(r.status, kind, r.message).code(r.code)
}

/// The model routes' auth: governance's keys when it runs, else the
/// master-key check ([`crate::auth::authorize`]).
pub async fn authorize(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let Some(gov) = state.governance.get() else {
        return crate::auth::authorize(State(state), request, next).await;
    };
    match gov.authenticate(request.headers()) {
        Ok(caller) => layer::run_as(caller, request, next).await,
        Err(refused) => {
            let e = gateway_error(refused);
            if request.uri().path().starts_with("/v1/messages") {
                crate::auth::anthropic_error(&e)
            } else {
                e.into_openai_response()
            }
        }
    }
}

/// The highest price among a group's deployments (the reservation must
/// cover whichever serves), `None` when one has no price.
fn price_of(state: &SharedState, model: &str) -> Option<TokenPrice> {
    match state.models.resolve(model)? {
        Target::Group { deployments, .. } => deployments.iter().try_fold(
            TokenPrice {
                input: 0.0,
                output: 0.0,
            },
            |max, d| {
                let p = d.price?;
                Some(TokenPrice {
                    input: max.input.max(p.input * 1e9),
                    output: max.output.max(p.output * 1e9),
                })
            },
        ),
        Target::Wildcard(_) => llm_runtime::catalog::lookup(model)
            .and_then(|card| card.price)
            .map(|p| TokenPrice::per_million(p.input, p.output)),
    }
}

/// The group name a model resolves to (what keys' `models` lists name).
fn group_of(state: &SharedState, model: &str) -> String {
    match state.models.resolve(model) {
        Some(Target::Group { name, .. }) => name.to_owned(),
        _ => model.to_owned(),
    }
}

async fn admit(
    state: &SharedState,
    call_id: &str,
    model: &str,
    prompt_tokens: i64,
    max_tokens: i64,
    routed: bool,
) -> Result<Option<Admission>, GatewayError> {
    let (Some(gov), Some(caller)) = (state.governance.get(), layer::current_caller()) else {
        return Ok(None);
    };
    let estimate = Estimate {
        model: group_of(state, model),
        prompt_tokens,
        max_tokens,
        price: price_of(state, model),
        call_id: Some(call_id.to_owned()),
    };
    let admission = gov.prepare(&caller, estimate).map_err(gateway_error)?;
    if !admission.reserves() {
        return Ok(Some(admission)); // the master key, or a key without limits
    }
    // A call the router serves is reserved by its admit step, with the
    // group's and deployment's scopes, in one step (`routed`).
    let by_router = routed
        && state.models.governed.is_some()
        && matches!(state.models.resolve(model), Some(Target::Group { .. }))
        && super::routed::route_with(admission.held());
    if !by_router {
        admission.reserve().await.map_err(gateway_error)?;
    }
    Ok(Some(admission))
}

/// The refusal a routed call's key or team gave, when it gave one (the
/// router then gave up on every deployment): what the caller is answered.
pub fn refusal_of(admission: Option<&Admission>) -> Option<GatewayError> {
    admission.and_then(Admission::refusal).map(gateway_error)
}

/// Reserve a chat call (`call_id`: the gateway's, the spend log's `request_id`): counted input and `max_tokens` (else
/// [`DEFAULT_MAX_TOKENS`]) at the group's highest price.
pub async fn admit_chat(
    state: &SharedState,
    call_id: &str,
    model: &str,
    request: &ChatRequest,
) -> Result<Option<Admission>, GatewayError> {
    let prompt = llm_runtime::tokens::count_request(request).tokens;
    let max = request.max_tokens.map_or(DEFAULT_MAX_TOKENS, i64::from);
    admit(
        state,
        call_id,
        model,
        i64::try_from(prompt).unwrap_or(i64::MAX),
        max,
        true,
    )
    .await
}

/// Reserve an embeddings call: its counted input, no output.
pub async fn admit_embeddings(
    state: &SharedState,
    call_id: &str,
    model: &str,
    request: &EmbeddingRequest,
) -> Result<Option<Admission>, GatewayError> {
    let prompt: usize = request
        .input
        .iter()
        .map(|t| llm_runtime::tokens::count_text(model, t).tokens)
        .sum();
    admit(
        state,
        call_id,
        model,
        i64::try_from(prompt).unwrap_or(i64::MAX),
        0,
        false,
    )
    .await
}

/// Reserve a call of another operation (images, audio, moderation, rerank,
/// batches): the key's allowed models and limits, `prompt_tokens` of counted
/// input, no output estimate.
pub async fn admit_operation(
    state: &SharedState,
    call_id: &str,
    model: &str,
    prompt_tokens: i64,
) -> Result<Option<Admission>, GatewayError> {
    // Operations try the group's deployments themselves, not through the
    // router's admit step, so the key and team are reserved here.
    admit(state, call_id, model, prompt_tokens, 0, false).await
}
