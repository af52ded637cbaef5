//! The request path: who is calling (from the snapshot, never the store),
//! may they call this model now (one reservation against their key and
//! team), and what did it cost (settled once, billed behind).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};

use super::Governance;
use super::counters::{Actual, Ask, Refusal, ScopeAsk, Verdict};
use super::model::{KeyRecord, Limits, Nanos, SpendRecord, TeamRecord, now_ms};
use super::secret::{key_from_headers, secrets_equal};
use crate::ids::new_id;

/// Who a request comes from.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The master key: everything allowed, nothing governed or billed.
    Master,
    /// A virtual key, with its team.
    Key {
        /// The key (its hash and settings; never the key itself).
        key: Arc<KeyRecord>,
        /// Its team, when it has one.
        team: Option<Arc<TeamRecord>>,
    },
}

/// A governance refusal, with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// 401, 403, 400 (budget) or 429 (rate), 503 (counters unavailable, fail closed).
    pub status: StatusCode,
    /// A machine code (`invalid_api_key`, `key_blocked`, `budget_exceeded`, ...).
    pub code: &'static str,
    /// What the caller reads (names the scope, never a key).
    pub message: String,
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        status,
        code,
        message: message.into(),
    }
}

/// A model's price per token, in nano-dollars (dollars per million tokens × 1000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenPrice {
    /// Per input token.
    pub input: f64,
    /// Per output token.
    pub output: f64,
}

impl TokenPrice {
    /// From dollars per million tokens (the catalog's unit).
    pub fn per_million(input: f64, output: f64) -> Self {
        TokenPrice {
            input: input * 1000.0,
            output: output * 1000.0,
        }
    }

    /// From dollars per token (LiteLLM's `input_cost_per_token`).
    pub fn per_token(input: f64, output: f64) -> Self {
        TokenPrice {
            input: input * 1e9,
            output: output * 1e9,
        }
    }

    /// The cost of this usage, rounded up to a nano-dollar.
    pub fn cost(&self, prompt_tokens: i64, completion_tokens: i64) -> Nanos {
        (prompt_tokens as f64 * self.input + completion_tokens as f64 * self.output).ceil() as Nanos
    }
}

/// What a call may use at most, known before dispatch.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// The model group called.
    pub model: String,
    /// Counted input tokens.
    pub prompt_tokens: i64,
    /// `max_tokens` (or the model's output limit).
    pub max_tokens: i64,
    /// Its price; `None` when unknown (see [`UnpricedPolicy`]).
    pub price: Option<TokenPrice>,
    /// The call's id, the spend log's `request_id` (`None`: a fresh one).
    pub call_id: Option<String>,
}

/// What to do with a call to a model without a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnpricedPolicy {
    /// Refuse calls of keys or teams with a budget (the default).
    #[default]
    Reject,
    /// Allow, bill $0 marked `unpriced` in the spend log.
    AllowMarked,
}

fn key_scope(k: &KeyRecord) -> ScopeAsk {
    ScopeAsk {
        scope: ["key:", &k.token_hash].concat(),
        limits: k.limits.clone(),
        period_spend: k.spend.period,
        period: k.spend.reset_at.unwrap_or(0),
        tokens: None,
    }
}

fn team_scope(t: &TeamRecord) -> ScopeAsk {
    ScopeAsk {
        scope: ["team:", &t.team_id].concat(),
        limits: t.limits.clone(),
        period_spend: t.spend.period,
        period: t.spend.reset_at.unwrap_or(0),
        tokens: None,
    }
}

fn allows(models: &[String], model: &str) -> bool {
    models.is_empty()
        || models
            .iter()
            .any(|m| m == model || m == "*" || m == "all-proxy-models")
}

impl Governance {
    /// Identify a request's caller from the in-memory snapshot: the master
    /// key, or a virtual key that is known, not blocked, not expired.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Refused> {
        let Some(key) = key_from_headers(headers) else {
            return Err(refused(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "No API key was sent.",
            ));
        };
        if let Some(master) = &self.master_key
            && secrets_equal(key.expose(), master)
        {
            return Ok(Caller::Master);
        }
        let hash = key.hash();
        let snapshot = self.snapshot.load();
        let found = snapshot
            .keys
            .get(&hash)
            .filter(|k| secrets_equal(&k.token_hash, &hash));
        let Some(record) = found else {
            return Err(refused(
                StatusCode::UNAUTHORIZED,
                "invalid_api_key",
                "Invalid API key.",
            ));
        };
        if record.blocked {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "key_blocked",
                "This key is blocked.",
            ));
        }
        if record.expires_at.is_some_and(|at| at <= now_ms()) {
            return Err(refused(
                StatusCode::UNAUTHORIZED,
                "key_expired",
                "This key has expired.",
            ));
        }
        let team = record
            .team_id
            .as_ref()
            .and_then(|t| snapshot.teams.get(t))
            .cloned();
        if team.as_ref().is_some_and(|t| t.blocked) {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "team_blocked",
                "This key's team is blocked.",
            ));
        }
        Ok(Caller::Key {
            key: Arc::clone(record),
            team,
        })
    }

    /// Reserve a call of `caller` against its key's and team's limits, or
    /// refuse it ([`Governance::prepare`], then [`Admission::reserve`]).
    pub async fn admit(
        self: &Arc<Self>,
        caller: &Caller,
        estimate: Estimate,
    ) -> Result<Admission, Refused> {
        let admission = self.prepare(caller, estimate)?;
        admission.reserve().await?;
        Ok(admission)
    }

    /// Check what needs no counter (the key may call the model, the model
    /// has a price or the policy allows it) and build the call's reservation
    /// without making it: [`Admission::reserve`] makes it alone, or a routed
    /// call's router makes it together with the group's and deployment's
    /// scopes ([`super::routed`]).
    pub fn prepare(
        self: &Arc<Self>,
        caller: &Caller,
        estimate: Estimate,
    ) -> Result<Admission, Refused> {
        let Caller::Key { key, team } = caller else {
            return Ok(Admission::ungoverned());
        };
        if !allows(&key.models, &estimate.model)
            || team
                .as_ref()
                .is_some_and(|t| !allows(&t.models, &estimate.model))
        {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "model_not_allowed",
                format!("This key may not call model `{}`.", estimate.model),
            ));
        }
        let mut scopes = vec![key_scope(key)];
        scopes.extend(team.as_deref().map(team_scope));
        scopes.retain(|s| s.limits.any());
        let budgeted = scopes.iter().any(|s| s.limits.max_budget_nanos.is_some());
        let max_cost = match estimate.price {
            Some(p) => p.cost(estimate.prompt_tokens, estimate.max_tokens),
            None if budgeted && self.unpriced == UnpricedPolicy::Reject => {
                return Err(refused(
                    StatusCode::BAD_REQUEST,
                    "unpriced_model",
                    format!(
                        "Model `{}` has no price and this key has a budget.",
                        estimate.model
                    ),
                ));
            }
            None => 0,
        };
        let now = now_ms();
        let id = estimate.call_id.clone().unwrap_or_else(new_id);
        let ask = Ask {
            id: id.clone(),
            scopes,
            tokens: estimate.prompt_tokens + estimate.max_tokens,
            cost: max_cost,
            now,
            expires: now + duration_ms(self.reservation_ttl),
            cooldown: None,
        };
        Ok(Admission(Arc::new(Held {
            governance: Some(Arc::clone(self)),
            key: Some(Arc::clone(key)),
            call_id: id,
            ask: std::sync::Mutex::new(ask),
            estimate,
            started: now,
            held: AtomicBool::new(false),
            settled: AtomicBool::new(false),
            refused: std::sync::Mutex::new(None),
            seen: std::sync::Mutex::new(Seen::default()),
        })))
    }
}

/// The refusal a scope's verdict names, as the caller reads it.
pub(super) fn denial(scope: &str, refusal: Refusal) -> Refused {
    // The scope names a key by its hash, never the key.
    let (status, code, what) = match refusal {
        Refusal::Requests => (
            StatusCode::TOO_MANY_REQUESTS,
            "rpm_limit_exceeded",
            "requests per minute",
        ),
        Refusal::Tokens => (
            StatusCode::TOO_MANY_REQUESTS,
            "tpm_limit_exceeded",
            "tokens per minute",
        ),
        Refusal::Parallel => (
            StatusCode::TOO_MANY_REQUESTS,
            "parallel_limit_exceeded",
            "parallel requests",
        ),
        Refusal::Budget => (StatusCode::BAD_REQUEST, "budget_exceeded", "budget"),
        Refusal::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "limits_unavailable",
            "limit counters (unavailable)",
        ),
        Refusal::Cooling => (
            StatusCode::TOO_MANY_REQUESTS,
            "deployment_cooling_down",
            "availability (cooling down)",
        ),
    };
    refused(status, code, format!("Limit reached: {what} of {scope}."))
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The usage a call reported (or, on a disconnect, what was seen of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
}

/// A call's reservation against its key's and team's limits: made by
/// [`Admission::reserve`] (or by the router, with the group's and
/// deployment's scopes in the same step), then settled once with
/// [`Admission::settle`]. Dropped unsettled (a client disconnect, a panic),
/// it settles itself with the last usage [`Admission::observe`]d, or the
/// counted input when none was.
#[derive(Debug)]
pub struct Admission(pub(super) Arc<Held>);

/// The shared part of an [`Admission`] (the router's admit step reserves
/// through it while the call is routed).
#[derive(Debug)]
pub struct Held {
    pub(super) governance: Option<Arc<Governance>>,
    key: Option<Arc<KeyRecord>>,
    /// The call's id: its spend log's `request_id`.
    call_id: String,
    /// The reservation: its id and time are the step's that made it.
    pub(super) ask: std::sync::Mutex<Ask>,
    estimate: Estimate,
    started: i64,
    /// The counters hold the reservation (made, not yet settled).
    pub(super) held: AtomicBool,
    settled: AtomicBool,
    /// Why the key's or team's counters refused it, when they did.
    pub(super) refused: std::sync::Mutex<Option<Refused>>,
    seen: std::sync::Mutex<Seen>,
}

/// What a call has shown of its usage so far.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    usage: Option<Usage>,
    /// The cost the caller priced it at (the serving deployment's price).
    cost: Option<Nanos>,
    /// The call failed before any usage: release, bill nothing.
    failed: bool,
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Held {
    /// The reservation as it stands.
    pub(super) fn ask(&self) -> Ask {
        lock(&self.ask).clone()
    }

    /// `f` of the reservation as it stands, without copying it.
    pub(super) fn with_ask<T>(&self, f: impl FnOnce(&Ask) -> T) -> T {
        f(&lock(&self.ask))
    }

    /// Record a refusal by the key's or team's counters.
    pub(super) fn refuse(&self, refusal: Refused) {
        self.settled.store(true, Ordering::SeqCst); // nothing reserved
        *lock(&self.refused) = Some(refusal);
    }

    /// The refusal recorded, if any.
    pub fn refusal(&self) -> Option<Refused> {
        lock(&self.refused).clone()
    }
}

impl Admission {
    fn ungoverned() -> Admission {
        Admission(Arc::new(Held {
            governance: None,
            key: None,
            call_id: new_id(),
            ask: std::sync::Mutex::new(Ask {
                id: String::new(),
                scopes: Vec::new(),
                tokens: 0,
                cost: 0,
                now: 0,
                expires: 0,
                cooldown: None,
            }),
            estimate: Estimate {
                model: String::new(),
                prompt_tokens: 0,
                max_tokens: 0,
                price: None,
                call_id: None,
            },
            started: 0,
            held: AtomicBool::new(false),
            settled: AtomicBool::new(true),
            refused: std::sync::Mutex::new(None),
            seen: std::sync::Mutex::new(Seen::default()),
        }))
    }

    /// Reserve against the key's and team's counters now, alone.
    pub async fn reserve(&self) -> Result<(), Refused> {
        let held = &self.0;
        let Some(gov) = &held.governance else {
            return Ok(());
        };
        let ask = held.ask();
        if ask.scopes.is_empty() || held.held.load(Ordering::SeqCst) {
            return Ok(());
        }
        match gov.counters.reserve(&ask).await {
            Ok(Verdict::Granted) => {
                held.held.store(true, Ordering::SeqCst);
                Ok(())
            }
            Ok(Verdict::Denied { scope, refusal }) => {
                let r = denial(&scope, refusal);
                held.refuse(r.clone());
                Err(r)
            }
            Err(e) => {
                let r = refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "limits_unavailable",
                    e.to_string(),
                );
                held.refuse(r.clone());
                Err(r)
            }
        }
    }

    /// Whether it has anything to reserve (a governed key or team with a limit).
    pub fn reserves(&self) -> bool {
        self.0.governance.is_some() && !lock(&self.0.ask).scopes.is_empty()
    }

    /// The shared part, for the router's admit step ([`super::routed`]).
    pub fn held(&self) -> &Arc<Held> {
        &self.0
    }

    /// Why the counters refused the call, when they did (a routed call
    /// learns it only after the router gave up).
    pub fn refusal(&self) -> Option<Refused> {
        self.0.refusal()
    }

    /// The call's id (also its spend log's `request_id`).
    pub fn id(&self) -> &str {
        &self.0.call_id
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        lock(&self.0.seen)
    }

    /// Record usage seen so far (a stream's usage chunk, or counted output).
    pub fn observe(&self, usage: Usage) {
        self.seen().usage = Some(usage);
    }

    /// Record usage and what it cost at the serving deployment's price
    /// (`None`: the estimate's price applies).
    pub fn observe_priced(&self, usage: Usage, cost: Option<Nanos>) {
        let mut seen = self.seen();
        seen.usage = Some(usage);
        seen.cost = cost;
    }

    /// Output tokens counted from a stream so far (until its usage arrives):
    /// what a disconnect is billed for, with the counted input.
    pub fn observe_streamed(&self, completion_tokens: i64) {
        let mut seen = self.seen();
        seen.usage = Some(Usage {
            prompt_tokens: self.0.estimate.prompt_tokens,
            completion_tokens,
        });
        seen.cost = None;
    }

    /// The call failed before the upstream reported any usage: when dropped,
    /// release the reservation and bill nothing.
    pub fn failed(&self) {
        let mut seen = self.seen();
        if seen.usage.is_none() {
            seen.failed = true;
        }
    }

    /// The cost of `usage` at this call's estimated price (`None`: unpriced).
    pub fn cost_of(&self, usage: Usage) -> Option<Nanos> {
        self.0
            .estimate
            .price
            .map(|p| p.cost(usage.prompt_tokens, usage.completion_tokens))
    }

    /// Settle with the actual usage and bill it, once (later calls do nothing).
    pub async fn settle(self, usage: Usage) {
        let cost = self.seen().cost.or_else(|| self.cost_of(usage));
        self.settle_ref(usage, cost, true).await;
    }

    async fn settle_ref(&self, usage: Usage, cost: Option<Nanos>, bill: bool) {
        if let Some((counters, ask, actual)) = self.finish(usage, cost, bill) {
            counters.await_settle(&ask, actual).await;
        }
    }

    /// Bill the call (synchronously: queued or spilled) and say what is left
    /// to settle in the counters; `None` when already settled, ungoverned,
    /// or never reserved.
    fn finish(
        &self,
        usage: Usage,
        cost: Option<Nanos>,
        bill: bool,
    ) -> Option<(Settle, Ask, Actual)> {
        let held = &self.0;
        if held.settled.swap(true, Ordering::SeqCst) {
            return None;
        }
        let (Some(gov), Some(key)) = (&held.governance, &held.key) else {
            return None;
        };
        let cost = if bill { cost } else { Some(0) };
        let actual = Actual {
            tokens: usage.prompt_tokens + usage.completion_tokens,
            cost: cost.unwrap_or(0),
        };
        if bill {
            gov.spend.bill(SpendRecord {
                request_id: held.call_id.clone(),
                token_hash: key.token_hash.clone(),
                team_id: key.team_id.clone(),
                model: held.estimate.model.clone(),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                spend_nanos: actual.cost,
                unpriced: cost.is_none(),
                start_time: held.started,
                end_time: now_ms(),
            });
        }
        let ask = held.ask();
        (held.held.swap(false, Ordering::SeqCst) && !ask.scopes.is_empty())
            .then(|| (Settle(Arc::clone(gov)), ask, actual))
    }
}

/// The counters' half of a settlement (no `Drop` of its own, so a task
/// dropped unrun at runtime shutdown just ends: the reservation lapses).
struct Settle(Arc<Governance>);

impl Settle {
    async fn await_settle(&self, ask: &Ask, actual: Actual) {
        if let Err(e) = self.0.counters.settle(ask, actual).await {
            // The reservation lapses at its expiry; the spend is billed anyway.
            tracing::warn!(error = %e, "governance: settle not counted");
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.0.settled.load(Ordering::SeqCst) {
            return;
        }
        let seen = *self.seen();
        // Nothing reported (a disconnect before any usage): bill the counted
        // input, never zero.
        let usage = seen.usage.unwrap_or(Usage {
            prompt_tokens: self.0.estimate.prompt_tokens,
            completion_tokens: 0,
        });
        let cost = seen.cost.or_else(|| self.cost_of(usage));
        let Some((settle, ask, actual)) = self.finish(usage, cost, !seen.failed) else {
            return;
        };
        if settle.0.counters.settle_in_place(&ask, actual) {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move { settle.await_settle(&ask, actual).await });
        }
    }
}

/// Limits of a key, for display.
pub(crate) fn limits_json(l: &Limits) -> serde_json::Value {
    serde_json::json!({
        "max_budget": l.max_budget_nanos.map(super::model::nanos_to_usd),
        "budget_duration": l.budget_duration_secs.map(|s| format!("{s}s")),
        "rpm_limit": l.rpm_limit,
        "tpm_limit": l.tpm_limit,
        "max_parallel_requests": l.max_parallel_requests,
    })
}
