//! The router: model groups of deployments, strategies, cooldowns, fallbacks
//! by class, and limits with reservations, in this process or shared between
//! processes through Redis.
//!
//! A [`ModelGroup`] is a name callers use for several [`Deployment`]s of a
//! model (three Azure regions and an OpenAI key for `gpt-4o`). A call to the
//! group goes to one deployment, chosen by the group's [`Strategy`], and moves
//! on to the next when that one fails; [`ResponseMeta::routing`](crate::ResponseMeta::routing)
//! says which served it and why.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> llm_runtime::Result<()> {
//! # let mock = llm_runtime::testing::MockServer::start().await;
//! # mock.on("POST", "/v1/chat/completions", llm_runtime::testing::MockResponse::json(200, serde_json::json!({
//! #     "id": "c1", "model": "gpt-4o",
//! #     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]})));
//! # let base_url = format!("{}/v1", mock.url());
//! use llm_runtime::{ChatRequest, Client, providers::OpenAi, router::{Deployment, ModelGroup}};
//!
//! let east = OpenAi::config().api_key("sk-east").base_url(&base_url).connect()?;
//! let west = OpenAi::config().api_key("sk-west").base_url(&base_url).connect()?;
//! let client = Client::builder()
//!     .group(
//!         ModelGroup::new("gpt-4o")
//!             .deployment(Deployment::new(east, "gpt-4o").id("east").rpm(500))
//!             .deployment(Deployment::new(west, "gpt-4o").id("west").rpm(1_500)),
//!     )
//!     .build()?;
//! let reply = client.chat("gpt-4o", ChatRequest::new("").user("Hello")).await?;
//! let route = reply.meta.routing.as_ref().expect("a group call is traced");
//! assert!(route.deployment == "east" || route.deployment == "west");
//! # Ok(()) }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! # Cooldowns
//!
//! See [`CooldownPolicy`]. The last deployment of a group that is not cooling
//! down is never cooled by the failure count: it stays in rotation and the
//! trace's [`notes`](crate::types::RoutingTrace::notes) say so. A 429 with
//! `Retry-After` cools any deployment, the last one too (the upstream said it
//! will refuse); when every deployment is cooling, the call fails at once
//! with [`RateLimited`](crate::ErrorKind::RateLimited), `retry_after` set to
//! the shortest cooldown left, and a message naming each deployment.
//!
//! # Limits and reservations
//!
//! Each deployment and each group may have `rpm`, `tpm` and `max_in_flight`
//! ([`Limits`]). Before a call is dispatched, one request and the estimated
//! tokens (the prompt counted with [`tokens::count_request`](crate::tokens::count_request)
//! plus `max_tokens`) are reserved against every scope that has a limit, in
//! one step; a scope without room refuses and the router tries the next
//! deployment. After the answer the reservation is settled with the usage
//! the provider reported (the difference is refunded); a stream settles at its
//! end, or when it is dropped, with the usage seen (its `Usage` event, else
//! the prompt count plus the text received, counted). A failed call keeps its
//! request and gives back its tokens.
//!
//! The slack, i.e. how far a limit can be exceeded:
//! - `rpm` and `max_in_flight`: none, while the state answers (a reservation
//!   is checked and taken atomically). With `RedisState` (feature `redis`) unreachable,
//!   a fail-open limit counts in each process on its own: up to the limit
//!   once per process during the outage. When the state answers again, each
//!   process carries what it admitted meanwhile into it, so the rest of the
//!   window counts those calls.
//! - `tpm`: reservations never exceed it; a call that then uses more than
//!   it reserved (no `max_tokens`, or an estimated count that was low)
//!   overruns by the difference, which the window carries until it expires.
//! - Windows slide over 60 s; in Redis their clock is the Redis server's.
//!
//! # Shared state
//!
//! [`RouterState`] is where reservations are kept: [`InProcessState`] by
//! default; `RedisState` (feature `redis`) shares limits, cooldowns and
//! latency averages (for [`Strategy::LowestLatency`]) between processes. The
//! in-flight counts and recent usage the other strategies read stay per
//! process.

/// The limit setters a [`Deployment`] and a [`ModelGroup`] share (each keeps
/// its [`Limits`] in a `limits` field); `$scope` ends each setter's doc.
macro_rules! limit_setters {
    ($scope:literal) => {
        crate::types::setters! {
            #[doc = concat!("Requests per minute", $scope, ".")]
            rpm(rpm: u64) { limits.rpm = Some(rpm) }
            #[doc = concat!("Tokens per minute", $scope, ".")]
            tpm(tpm: u64) { limits.tpm = Some(tpm) }
            #[doc = concat!("Calls in flight at once", $scope, ".")]
            max_in_flight(n: u64) { limits.max_in_flight = Some(n) }
            /// Refuse calls when the shared state is unreachable (see [`Limits::fail_open`]).
            fail_closed() { limits.fail_open = false }
        }
    };
}

mod deployment;
mod dispatch;
mod group;
mod health;
mod outage;
mod outcome;
mod plan;
#[cfg(feature = "redis")]
mod redis;
mod settle;
mod state;
mod strategy;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

pub use deployment::{Deployment, Limits};
pub use group::ModelGroup;
pub use health::{CooldownPolicy, DeploymentState};
#[cfg(feature = "redis")]
pub use redis::{RedisConfig, RedisState};
pub use state::{
    Admission, Ask, Carried, Denial, DenialReason, InProcessState, Reservation, RouterState,
    ScopeLimit, ScopeUsage, WINDOW,
};
pub use strategy::{Candidate, RoutingStrategy, Strategy};

use health::DeploymentHealth;
use outage::Outage;

/// Routes calls to model groups. Cheap to clone (shared state).
///
/// Built by [`Router::builder`], or through
/// [`ClientBuilder::group`](crate::ClientBuilder::group).
#[derive(Clone)]
pub struct Router {
    inner: Arc<RouterInner>,
}

struct RouterInner {
    groups: HashMap<String, GroupEntry>,
    state: Arc<dyn RouterState>,
    /// The same state when it is the default in-process one: asked directly,
    /// without a future or a timeout (it never waits).
    in_process: Option<Arc<InProcessState>>,
    /// Where fail-open limits are counted while the state is unreachable.
    outage: Arc<Outage>,
    state_timeout: Duration,
}

/// A group with what the router keeps beside it.
struct GroupEntry {
    group: ModelGroup,
    health: Vec<Arc<DeploymentHealth>>,
    /// Per deployment: the scopes with a limit (group, then deployment).
    scopes: Vec<Vec<ScopeLimit>>,
    /// Per deployment: its scope key (`deployment:GROUP/ID`).
    keys: Vec<String>,
    /// Per deployment: its context window, looked up once (the catalog is static).
    windows: Vec<Option<u64>>,
    /// Per deployment: its catalog price, looked up once.
    prices: Vec<Option<f64>>,
    /// Per deployment: whether a scope it reserves against has a `tpm`
    /// limit (then the prompt is counted for the reservation).
    tpm: Vec<bool>,
    /// Whether a fallback group may follow a failure (then the request is
    /// kept for it, not moved into the last dispatch).
    falls_back: bool,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.inner.groups.keys().collect();
        names.sort();
        f.debug_struct("Router")
            .field("groups", &names)
            .field("state", &self.inner.state)
            .finish()
    }
}

/// Builds a [`Router`].
#[derive(Debug, Default)]
pub struct RouterBuilder {
    groups: Vec<ModelGroup>,
    state: Option<Arc<dyn RouterState>>,
    state_timeout: Option<Duration>,
}

/// How long one call to the shared state may take by default (it is also
/// bounded by the caller's deadline).
pub const DEFAULT_STATE_TIMEOUT: Duration = Duration::from_millis(250);

impl RouterBuilder {
    /// Add a group.
    pub fn group(mut self, group: ModelGroup) -> Self {
        self.groups.push(group);
        self
    }

    /// Keep limits and shared cooldowns in `state` (default: [`InProcessState`]).
    pub fn state(mut self, state: Arc<dyn RouterState>) -> Self {
        self.state = Some(state);
        self
    }

    /// Bound each call to the state (default [`DEFAULT_STATE_TIMEOUT`]).
    pub fn state_timeout(mut self, timeout: Duration) -> Self {
        self.state_timeout = Some(timeout);
        self
    }

    /// Whether no group was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Check the groups (unique names and ids, at least one deployment, no
    /// zero limit, fallbacks that name groups) and build the router.
    pub fn build(self) -> Result<Router> {
        let mut groups = HashMap::new();
        for group in &self.groups {
            check_group(group)?;
            if groups
                .insert(group.name.clone(), entry(group.clone()))
                .is_some()
            {
                return Err(Error::config(format!(
                    "two model groups are named `{}`",
                    group.name
                )));
            }
        }
        for group in &self.groups {
            let all = [
                &group.fallbacks,
                &group.context_window_fallbacks,
                &group.content_policy_fallbacks,
            ];
            if let Some(missing) = all
                .iter()
                .flat_map(|l| l.iter())
                .find(|n| !groups.contains_key(*n))
            {
                return Err(Error::config(format!(
                    "model group `{}` falls back to `{missing}`, which is no group",
                    group.name
                )));
            }
        }
        let (state, in_process) = match self.state {
            Some(state) => (state, None),
            None => {
                let local = Arc::new(InProcessState::new());
                (Arc::clone(&local) as Arc<dyn RouterState>, Some(local))
            }
        };
        Ok(Router {
            inner: Arc::new(RouterInner {
                groups,
                in_process,
                outage: Arc::new(Outage::new(Arc::clone(&state))),
                state,
                state_timeout: self.state_timeout.unwrap_or(DEFAULT_STATE_TIMEOUT),
            }),
        })
    }
}

fn check_group(group: &ModelGroup) -> Result<()> {
    let name = &group.name;
    if name.trim().is_empty() {
        return Err(Error::config("a model group needs a name"));
    }
    if group.deployments.is_empty() {
        return Err(Error::config(format!(
            "model group `{name}` has no deployment"
        )));
    }
    let zero = |l: &Limits| [l.rpm, l.tpm, l.max_in_flight].contains(&Some(0));
    if zero(&group.limits) {
        return Err(Error::config(format!(
            "model group `{name}` has a limit of 0, which admits nothing"
        )));
    }
    for (i, d) in group.deployments.iter().enumerate() {
        if group.deployments[..i].iter().any(|o| o.id == d.id) {
            return Err(Error::config(format!(
                "model group `{name}` has two deployments with id `{}`; name them with `Deployment::id`",
                d.id
            )));
        }
        if zero(&d.limits) {
            return Err(Error::config(format!(
                "deployment `{}` of group `{name}` has a limit of 0, which admits nothing",
                d.id
            )));
        }
    }
    Ok(())
}

fn entry(group: ModelGroup) -> GroupEntry {
    let group_scope = (group.limits.any()).then(|| ScopeLimit {
        key: format!("group:{}", group.name),
        limits: group.limits,
    });
    let keys: Vec<String> = group
        .deployments
        .iter()
        .map(|d| format!("deployment:{}/{}", group.name, d.id))
        .collect();
    let scopes: Vec<Vec<ScopeLimit>> = group
        .deployments
        .iter()
        .zip(&keys)
        .map(|(d, key)| {
            let own = d.limits.any().then(|| ScopeLimit {
                key: key.clone(),
                limits: d.limits,
            });
            group_scope.iter().cloned().chain(own).collect()
        })
        .collect();
    GroupEntry {
        health: keys
            .iter()
            .map(|key| Arc::new(DeploymentHealth::new(key.clone())))
            .collect(),
        windows: group
            .deployments
            .iter()
            .map(Deployment::effective_context_window)
            .collect(),
        prices: group
            .deployments
            .iter()
            .map(Deployment::catalog_price)
            .collect(),
        tpm: scopes
            .iter()
            .map(|s| s.iter().any(|s| s.limits.tpm.is_some()))
            .collect(),
        falls_back: !(group.fallbacks.is_empty()
            && group.context_window_fallbacks.is_empty()
            && group.content_policy_fallbacks.is_empty()),
        group,
        scopes,
        keys,
    }
}

impl Router {
    /// A builder with no groups.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&ModelGroup> {
        self.inner.groups.get(name).map(|e| &e.group)
    }

    /// The group names, in no particular order.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.inner.groups.keys().map(String::as_str)
    }

    /// The state limits are kept in.
    pub fn state(&self) -> &Arc<dyn RouterState> {
        &self.inner.state
    }

    /// How each deployment is doing as this process sees it: `(group,
    /// deployment id, state)`, in no particular order of groups. Read from
    /// memory, without a round trip: a cooldown another process set is seen
    /// once this one has learnt it from the shared state.
    pub fn deployment_states(&self) -> impl Iterator<Item = (&str, &str, DeploymentState)> {
        let now = std::time::Instant::now();
        self.inner.groups.values().flat_map(move |entry| {
            let window = entry.group.cooldown.window;
            entry
                .group
                .deployments
                .iter()
                .zip(&entry.health)
                .map(move |(d, h)| (entry.group.name.as_str(), d.name(), h.state(window, now)))
        })
    }
}
