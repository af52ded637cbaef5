//! Governance: virtual keys, teams, budgets and limits that hold across
//! replicas, and exact spend, with no database on the request path.
//!
//! - [`store`]: keys, teams and spend in SQLite (a file, the default) or
//!   Postgres (`general_settings.database_url`), migrations applied at start.
//! - [`snapshot`]: the in-memory copy every request authenticates against,
//!   reloaded when the store's change counter moves (polled every
//!   [`GovernanceConfig::refresh_every`]) and, with Redis, woken at once by
//!   a change published by any replica ([`notify`]).
//! - [`counters`] and [`redis_counters`]: one atomic reservation against the
//!   key's and the team's limits, settled with the actual usage; [`lease`]:
//!   with Redis, most calls admitted from a slice of the limits this
//!   replica reserved ahead (exact limits, no round trip); [`routed`]:
//!   for a call to a model group, the same step also reserves the group's
//!   and the deployment's limits (the router's admit step runs it).
//! - [`spend`]: spend written behind in batches, spilled to a local file
//!   while the store is down.
//! - [`gate`]: the request path ([`Governance::authenticate`],
//!   [`Governance::admit`], [`gate::Admission::settle`]); [`api`]: the
//!   LiteLLM-compatible management routes; [`layer`]: the axum middleware.

pub mod api;
pub mod counters;
pub mod gate;
pub mod layer;
pub mod lease;
pub mod model;
pub mod notify;
pub mod redis_counters;
pub mod routed;
pub mod secret;
pub mod snapshot;
pub mod spend;
pub mod store;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use counters::{Counters, InProcessCounters};
use gate::UnpricedPolicy;
use redis_counters::{RedisCounters, RedisCountersConfig};
use snapshot::SnapshotCell;
use spend::{SpendWriter, SpendWriterConfig};
use store::{SqlStore, Store};

/// How governance is set up.
#[derive(Debug, Clone)]
pub struct GovernanceConfig {
    /// The master key (management API; calls with it are not governed).
    pub master_key: Option<String>,
    /// `postgres://...` (or `sqlite://...`); `None`: the SQLite file [`Self::sqlite_path`].
    pub database_url: Option<String>,
    /// The embedded store's file (default `llm-gateway.db` in the working directory).
    pub sqlite_path: PathBuf,
    /// Shared counters; `None`: this process's own.
    pub redis: Option<RedisCountersConfig>,
    /// How often the store's change counter is polled: the staleness bound
    /// of a change made on another replica (plus one read).
    pub refresh_every: Duration,
    /// The spend writer.
    pub spend: SpendWriterConfig,
    /// Calls to a model without a price.
    pub unpriced: UnpricedPolicy,
    /// How long an unsettled reservation holds (a crashed replica's lapse then).
    pub reservation_ttl: Duration,
}

impl GovernanceConfig {
    /// Defaults: SQLite `llm-gateway.db` and spill `llm-gateway-spend.jsonl`
    /// in the working directory, in-process counters, 250 ms refresh.
    pub fn new(master_key: Option<String>) -> Self {
        GovernanceConfig {
            master_key,
            database_url: None,
            sqlite_path: PathBuf::from("llm-gateway.db"),
            redis: None,
            refresh_every: Duration::from_millis(250),
            spend: SpendWriterConfig::new(PathBuf::from("llm-gateway-spend.jsonl")),
            unpriced: UnpricedPolicy::Reject,
            reservation_ttl: Duration::from_secs(600),
        }
    }
}

/// Why governance did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The Redis URL is not valid.
    #[error(transparent)]
    Counters(#[from] counters::CounterError),
}

/// Keys, limits and spend of one gateway replica.
pub struct Governance {
    master_key: Option<String>,
    store: Arc<dyn Store>,
    snapshot: Arc<SnapshotCell>,
    counters: Arc<dyn Counters>,
    spend: SpendWriter,
    changes: Option<(Arc<notify::ChangeChannel>, tokio::task::JoinHandle<()>)>,
    refresher: tokio::task::JoinHandle<()>,
    budget_resets: tokio::task::JoinHandle<()>,
    unpriced: UnpricedPolicy,
    reservation_ttl: Duration,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governance")
            .field("store", &self.store)
            .field("counters", &self.counters)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Governance {
    /// Open the store (migrating it), load the snapshot, start the refresher
    /// and the spend writer.
    pub async fn start(config: GovernanceConfig) -> Result<Arc<Governance>, StartError> {
        let url = config
            .database_url
            .clone()
            .unwrap_or_else(|| SqlStore::sqlite_url(&config.sqlite_path));
        let store: Arc<dyn Store> = Arc::new(SqlStore::connect(&url).await?);
        let counters: Arc<dyn Counters> = match config.redis.clone() {
            Some(redis) => {
                let lease_period = redis.lease_period;
                let shared = RedisCounters::connect(redis)?;
                shared.warm_up().await;
                if lease_period.is_zero() {
                    Arc::new(shared)
                } else {
                    Arc::new(lease::LeasedCounters::new(Arc::new(shared), lease_period))
                }
            }
            None => Arc::new(InProcessCounters::default()),
        };
        let snapshot = Arc::new(SnapshotCell::default());
        snapshot.refresh(store.as_ref(), true).await;
        let wake = Arc::new(tokio::sync::Notify::new());
        let refresher = snapshot::spawn_refresher(
            Arc::clone(&snapshot),
            Arc::clone(&store),
            config.refresh_every,
            Arc::clone(&wake),
        );
        let changes = match &config.redis {
            Some(redis) => {
                let channel = notify::ChangeChannel::new(&redis.url, &redis.prefix, redis.timeout)
                    .map_err(|e| {
                        counters::CounterError(format!("redis pub/sub ({:?})", e.kind()))
                    })?;
                let channel = Arc::new(channel);
                let task = channel.spawn_subscriber(Arc::clone(&wake));
                Some((channel, task))
            }
            None => None,
        };
        let spend = SpendWriter::start(Arc::clone(&store), config.spend.clone());
        let budget_resets = spawn_budget_resets(Arc::clone(&store), Arc::clone(&wake));
        Ok(Arc::new(Governance {
            master_key: config.master_key,
            store,
            snapshot,
            counters,
            spend,
            changes,
            refresher,
            budget_resets,
            unpriced: config.unpriced,
            reservation_ttl: config.reservation_ttl,
        }))
    }

    /// How long an unsettled reservation holds, in ms.
    pub(crate) fn reservation_ttl_ms(&self) -> i64 {
        i64::try_from(self.reservation_ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Reload the snapshot now (after a change made here) and tell the
    /// other replicas (Redis pub/sub, when configured).
    pub async fn reload(&self) {
        self.snapshot.refresh(self.store.as_ref(), true).await;
        if let Some((channel, _)) = &self.changes {
            channel.publish().await;
        }
    }

    /// Wait until every call billed so far is stored (or spilled).
    pub async fn flush_spend(&self) {
        self.spend.flush().await;
    }

    /// At shutdown, after the last call: give back the limits reserved
    /// ahead of calls ([`lease`]) and store the spend.
    pub async fn shutdown(&self) {
        self.counters.release().await;
        self.flush_spend().await;
    }

    /// Start new budget periods that are due (run periodically by any replica).
    pub async fn reset_due_budgets(&self) -> Result<u64, store::StoreError> {
        let n = self.store.reset_budgets(model::now_ms()).await?;
        if n > 0 {
            self.reload().await;
        }
        Ok(n)
    }
}

impl Drop for Governance {
    fn drop(&mut self) {
        self.refresher.abort();
        self.budget_resets.abort();
        if let Some((_, task)) = &self.changes {
            task.abort();
        }
    }
}

/// How often due budget periods are reset (any replica may; the update is
/// idempotent: it only touches rows whose period ended).
const BUDGET_RESET_EVERY: Duration = Duration::from_secs(5);

fn spawn_budget_resets(
    store: Arc<dyn Store>,
    wake: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(BUDGET_RESET_EVERY).await;
            if let Ok(n) = store.reset_budgets(model::now_ms()).await
                && n > 0
            {
                wake.notify_one();
            }
        }
    })
}
