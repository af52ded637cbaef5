//! Where keys, teams and spend are kept: one trait, one SQL implementation
//! for SQLite (embedded default) and Postgres (shared by replicas).

pub mod background;
mod rows;
mod sql;

use async_trait::async_trait;

pub use sql::SqlStore;

use super::model::{KeyRecord, SpendFilter, SpendRecord, TeamRecord};

/// A store failure (the database is unreachable, or refused a statement).
#[derive(Debug, thiserror::Error)]
#[error("governance store: {message}")]
pub struct StoreError {
    message: String,
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // sqlx's messages name tables and constraints, never bound values
        // (a key only ever reaches the store as its hash anyway).
        StoreError::new(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::new(format!("migration: {e}"))
    }
}

/// The result of a store call.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// Everything the replicas serve from memory.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    /// The change counter these rows were read at.
    pub version: i64,
    /// Every key.
    pub keys: Vec<KeyRecord>,
    /// Every team.
    pub teams: Vec<TeamRecord>,
}

/// The governance store. Every method that changes keys or teams bumps the
/// change counter ([`Store::version`]) in the same transaction.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Add a key (its hash must be new).
    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()>;
    /// Replace a key's settings (not its spend); `false` when absent.
    async fn update_key(&self, key: &KeyRecord) -> StoreResult<bool>;
    /// Give a key a new hash and name, keeping the rest; `false` when absent.
    async fn rehash_key(&self, old_hash: &str, new_hash: &str, new_name: &str)
    -> StoreResult<bool>;
    /// Delete keys; returns how many existed.
    async fn delete_keys(&self, hashes: &[String]) -> StoreResult<u64>;
    /// One key.
    async fn key(&self, hash: &str) -> StoreResult<Option<KeyRecord>>;
    /// Add a team (its id must be new).
    async fn insert_team(&self, team: &TeamRecord) -> StoreResult<()>;
    /// Replace a team's settings (not its spend); `false` when absent.
    async fn update_team(&self, team: &TeamRecord) -> StoreResult<bool>;
    /// Delete teams; returns how many existed.
    async fn delete_teams(&self, ids: &[String]) -> StoreResult<u64>;
    /// One team.
    async fn team(&self, id: &str) -> StoreResult<Option<TeamRecord>>;
    /// The change counter.
    async fn version(&self) -> StoreResult<i64>;
    /// Every key and team, with the counter they were read at.
    async fn contents(&self) -> StoreResult<Contents>;
    /// Bill calls; a request id already billed is skipped. Returns how many
    /// were new. All or nothing.
    async fn record_spend(&self, rows: &[SpendRecord]) -> StoreResult<u64>;
    /// Billed calls, newest first.
    async fn spend_logs(&self, filter: &SpendFilter) -> StoreResult<Vec<SpendRecord>>;
    /// Start a new budget period for every key and team whose period ended
    /// by `now`; returns how many were reset.
    async fn reset_budgets(&self, now: i64) -> StoreResult<u64>;
}
