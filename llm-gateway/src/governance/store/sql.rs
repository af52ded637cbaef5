//! [`SqlStore`]: the [`Store`] over sqlx's `Any` driver, one query text for
//! SQLite and Postgres (numbered `$N` parameters, `ON CONFLICT`, integer
//! columns only).

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{Any, AnyPool, AssertSqlSafe, Transaction};

use super::rows::{self, KEY_COLUMNS, SPEND_COLUMNS, TEAM_COLUMNS};
use super::{Contents, Store, StoreResult};
use crate::governance::model::{KeyRecord, Limits, SpendFilter, SpendRecord, TeamRecord};

/// The migrations in `llm-gateway/migrations/`, compiled in.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement may wait for a pooled connection: the management API
/// and the background writers are the only callers, never a proxied call.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The store on a SQL database: `sqlite://PATH` or `postgres://...`.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// The spend inserts' texts, made once: `[read_back][rows - 1]`.
    /// SQLite's use anonymous `?` parameters (it finds a numbered one's
    /// name by a linear search, quadratic in a long insert).
    spend_inserts: std::sync::Arc<[Vec<String>; 2]>,
    /// Postgres: `$N` parameters.
    numbered: bool,
}

impl SqlStore {
    /// Connect to `url` and apply the migrations. A SQLite file is created
    /// when missing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let url = sqlite_create_mode(url);
        let sqlite = url.starts_with("sqlite:");
        let mut options = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 8 })
            .acquire_timeout(ACQUIRE_TIMEOUT);
        if sqlite {
            // Write-ahead log, synced at every commit: a spend batch is one
            // append and one fsync (the default rollback journal: several
            // writes and fsyncs), and as durable. The connection's thread
            // runs below the calls' priority.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    super::background::lower_sqlite_threads();
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA synchronous = FULL")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await?;
        MIGRATOR.run(&pool).await?;
        let texts = |read_back| {
            (1..=ROWS_PER_INSERT)
                .map(|rows| spend_insert(rows, !sqlite, read_back))
                .collect()
        };
        let spend_inserts = std::sync::Arc::new([texts(false), texts(true)]);
        Ok(SqlStore {
            pool,
            spend_inserts,
            numbered: !sqlite,
        })
    }

    /// The SQLite URL of a file path.
    pub fn sqlite_url(path: &std::path::Path) -> String {
        format!("sqlite://{}", path.display())
    }

    /// Run `statement` once per id in one transaction; how many rows went.
    async fn delete(&self, statement: &'static str, ids: &[String]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for id in ids {
            deleted += sqlx::query(statement)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// The insert of `rows` (1 to [`ROWS_PER_INSERT`]: the batches' chunks) spend rows.
    fn spend_insert(&self, rows: usize, read_back: bool) -> String {
        match self.spend_inserts[usize::from(read_back)].get(rows.wrapping_sub(1)) {
            Some(text) => text.clone(),
            None => spend_insert(rows, self.numbered, read_back),
        }
    }

    /// Store `batch`, reading back which rows went in (the others were
    /// billed before, or stand twice in the batch): only they are counted.
    async fn record_spend_read_back(&self, batch: &[SpendRecord]) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut inserted = std::collections::HashSet::new();
        for chunk in batch.chunks(ROWS_PER_INSERT) {
            let text = self.spend_insert(chunk.len(), true);
            for row in bind_spend(sqlx::query(sql(text)), chunk)
                .fetch_all(&mut *tx)
                .await?
            {
                inserted.insert(sqlx::Row::try_get::<String, _>(&row, 0)?);
            }
        }
        let new: Vec<&SpendRecord> = batch
            .iter()
            .filter(|s| inserted.remove(&s.request_id))
            .collect();
        let count = add_batch_spend(&mut tx, &new).await?;
        tx.commit().await?;
        Ok(count)
    }

    /// Run `change` and bump the version (what the snapshots poll) in one
    /// transaction.
    async fn change<'q>(&self, change: AnyQuery<'q>) -> StoreResult<AnyQueryResult> {
        let mut tx = self.pool.begin().await?;
        let result = change.execute(&mut *tx).await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn bump(tx: &mut Transaction<'_, Any>) -> StoreResult<()> {
        sqlx::query("UPDATE gateway_version SET version = version + 1 WHERE id = 1")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

/// A SQLite URL without a `mode` creates its file (`mode=rwc`), so that the
/// default store needs no setup.
fn sqlite_create_mode(url: &str) -> String {
    if url.starts_with("sqlite:") && !url.contains("mode=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}mode=rwc")
    } else {
        url.to_owned()
    }
}

/// A statement built from this file's own constants (column lists, table
/// names): never from input, which is always bound.
fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Spend rows per insert statement: a few statement texts (prepared once,
/// then cached), 320 parameters at most.
const ROWS_PER_INSERT: usize = 32;

/// One insert of `rows` spend rows (a row billed before is skipped), which
/// returns the ids it inserted when `read_back`; parameters `$N`
/// (`numbered`) or `?`.
fn spend_insert(rows: usize, numbered: bool, read_back: bool) -> String {
    use std::fmt::Write as _;
    let mut text = format!("INSERT INTO gateway_spend_logs ({SPEND_COLUMNS}) VALUES ");
    for r in 0..rows {
        text.push_str(if r == 0 { "(" } else { ",(" });
        for c in 1..=10 {
            let sep = if c == 1 { "" } else { "," };
            if numbered {
                let _ = write!(text, "{sep}${}", r * 10 + c);
            } else {
                let _ = write!(text, "{sep}?");
            }
        }
        text.push(')');
    }
    text.push_str(" ON CONFLICT (request_id) DO NOTHING");
    if read_back {
        text.push_str(" RETURNING request_id");
    }
    text
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// The limit columns every key and team row has, bound in their order:
/// `max_budget_nanos, budget_duration_secs, budget_reset_at, rpm_limit,
/// tpm_limit, max_parallel_requests`.
trait BindLimits {
    fn bind_limits(self, limits: &Limits, reset_at: Option<i64>) -> Self;
}

impl BindLimits for AnyQuery<'_> {
    fn bind_limits(self, limits: &Limits, reset_at: Option<i64>) -> Self {
        self.bind(limits.max_budget_nanos)
            .bind(limits.budget_duration_secs)
            .bind(reset_at)
            .bind(limits.rpm_limit)
            .bind(limits.tpm_limit)
            .bind(limits.max_parallel_requests)
    }
}

/// `query` with the ten columns of each row of `rows` bound in order.
fn bind_spend<'q>(mut query: AnyQuery<'q>, rows: &'q [SpendRecord]) -> AnyQuery<'q> {
    for s in rows {
        query = query
            .bind(&s.request_id)
            .bind(&s.token_hash)
            .bind(&s.team_id)
            .bind(&s.model)
            .bind(s.prompt_tokens)
            .bind(s.completion_tokens)
            .bind(s.spend_nanos)
            .bind(i64::from(s.unpriced))
            .bind(s.start_time)
            .bind(s.end_time);
    }
    query
}

/// Add the spend of `rows` (each stored just now) to their keys and teams,
/// one update per key and per team; how many rows.
async fn add_batch_spend(tx: &mut Transaction<'_, Any>, rows: &[&SpendRecord]) -> StoreResult<u64> {
    let mut keys: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    let mut teams: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for s in rows {
        *keys.entry(&s.token_hash).or_default() += s.spend_nanos;
        if let Some(team) = &s.team_id {
            *teams.entry(team).or_default() += s.spend_nanos;
        }
    }
    for (key, nanos) in keys {
        add_spend(tx, "gateway_keys", "token_hash", key, nanos).await?;
    }
    for (team, nanos) in teams {
        add_spend(tx, "gateway_teams", "team_id", team, nanos).await?;
    }
    Ok(rows.len() as u64)
}

fn changed(result: &AnyQueryResult) -> bool {
    result.rows_affected() > 0
}

#[async_trait]
impl Store for SqlStore {
    async fn insert_key(&self, k: &KeyRecord) -> StoreResult<()> {
        self.change(
            sqlx::query(sql(format!(
                "INSERT INTO gateway_keys ({KEY_COLUMNS}) VALUES \
                 ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)"
            )))
            .bind(&k.token_hash)
            .bind(&k.key_name)
            .bind(&k.key_alias)
            .bind(&k.team_id)
            .bind(&k.user_id)
            .bind(json(&k.models))
            .bind_limits(&k.limits, k.spend.reset_at)
            .bind(k.spend.total)
            .bind(k.spend.period)
            .bind(k.expires_at)
            .bind(i64::from(k.blocked))
            .bind(json(&k.metadata))
            .bind(k.created_at)
            .bind(k.updated_at),
        )
        .await?;
        Ok(())
    }

    async fn update_key(&self, k: &KeyRecord) -> StoreResult<bool> {
        let result = self
            .change(
                sqlx::query(
                    "UPDATE gateway_keys SET key_alias=$2, team_id=$3, user_id=$4, models=$5, \
                     max_budget_nanos=$6, budget_duration_secs=$7, budget_reset_at=$8, rpm_limit=$9, \
                     tpm_limit=$10, max_parallel_requests=$11, expires_at=$12, blocked=$13, \
                     metadata=$14, updated_at=$15 WHERE token_hash=$1",
                )
                .bind(&k.token_hash)
                .bind(&k.key_alias)
                .bind(&k.team_id)
                .bind(&k.user_id)
                .bind(json(&k.models))
                .bind_limits(&k.limits, k.spend.reset_at)
                .bind(k.expires_at)
                .bind(i64::from(k.blocked))
                .bind(json(&k.metadata))
                .bind(k.updated_at),
            )
            .await?;
        Ok(changed(&result))
    }

    async fn rehash_key(&self, old: &str, new: &str, name: &str) -> StoreResult<bool> {
        let result = self
            .change(
                sqlx::query(
                    "UPDATE gateway_keys SET token_hash=$2, key_name=$3 WHERE token_hash=$1",
                )
                .bind(old)
                .bind(new)
                .bind(name),
            )
            .await?;
        Ok(changed(&result))
    }

    async fn delete_keys(&self, hashes: &[String]) -> StoreResult<u64> {
        self.delete("DELETE FROM gateway_keys WHERE token_hash=$1", hashes)
            .await
    }

    async fn key(&self, hash: &str) -> StoreResult<Option<KeyRecord>> {
        let row = sqlx::query(sql(format!(
            "SELECT {KEY_COLUMNS} FROM gateway_keys WHERE token_hash=$1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::key).transpose()
    }

    async fn insert_team(&self, t: &TeamRecord) -> StoreResult<()> {
        self.change(
            sqlx::query(sql(format!(
                "INSERT INTO gateway_teams ({TEAM_COLUMNS}) VALUES \
                 ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
            )))
            .bind(&t.team_id)
            .bind(&t.team_alias)
            .bind(json(&t.models))
            .bind_limits(&t.limits, t.spend.reset_at)
            .bind(t.spend.total)
            .bind(t.spend.period)
            .bind(i64::from(t.blocked))
            .bind(json(&t.metadata))
            .bind(t.created_at)
            .bind(t.updated_at),
        )
        .await?;
        Ok(())
    }

    async fn update_team(&self, t: &TeamRecord) -> StoreResult<bool> {
        let result = self
            .change(
                sqlx::query(
                    "UPDATE gateway_teams SET team_alias=$2, models=$3, max_budget_nanos=$4, \
                     budget_duration_secs=$5, budget_reset_at=$6, rpm_limit=$7, tpm_limit=$8, \
                     max_parallel_requests=$9, blocked=$10, metadata=$11, updated_at=$12 \
                     WHERE team_id=$1",
                )
                .bind(&t.team_id)
                .bind(&t.team_alias)
                .bind(json(&t.models))
                .bind_limits(&t.limits, t.spend.reset_at)
                .bind(i64::from(t.blocked))
                .bind(json(&t.metadata))
                .bind(t.updated_at),
            )
            .await?;
        Ok(changed(&result))
    }

    async fn delete_teams(&self, ids: &[String]) -> StoreResult<u64> {
        self.delete("DELETE FROM gateway_teams WHERE team_id=$1", ids)
            .await
    }

    async fn team(&self, id: &str) -> StoreResult<Option<TeamRecord>> {
        let row = sqlx::query(sql(format!(
            "SELECT {TEAM_COLUMNS} FROM gateway_teams WHERE team_id=$1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::team).transpose()
    }

    async fn version(&self) -> StoreResult<i64> {
        let version: i64 = sqlx::query_scalar("SELECT version FROM gateway_version WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(version)
    }

    async fn contents(&self) -> StoreResult<Contents> {
        // One transaction: the counter and the rows are one consistent read.
        let mut tx = self.pool.begin().await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM gateway_version WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let keys = sqlx::query(sql(format!("SELECT {KEY_COLUMNS} FROM gateway_keys")))
            .fetch_all(&mut *tx)
            .await?;
        let teams = sqlx::query(sql(format!("SELECT {TEAM_COLUMNS} FROM gateway_teams")))
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Contents {
            version,
            keys: keys.iter().map(rows::key).collect::<StoreResult<_>>()?,
            teams: teams.iter().map(rows::team).collect::<StoreResult<_>>()?,
        })
    }

    async fn record_spend(&self, batch: &[SpendRecord]) -> StoreResult<u64> {
        // Every statement is a round trip to the database (SQLite: to its
        // worker thread, a thread wake-up each way): rows go in a few
        // multi-row inserts, and the spend updates once per key and team.
        // A batch is almost always new: insert it without reading anything
        // back; a row billed before (a replayed spill, or a batch whose
        // commit answered with an error) makes an insert count short, and
        // the batch is then done again, reading back which rows went in.
        let mut tx = self.pool.begin().await?;
        for chunk in batch.chunks(ROWS_PER_INSERT) {
            let text = self.spend_insert(chunk.len(), false);
            let done = bind_spend(sqlx::query(sql(text)), chunk)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != chunk.len() as u64 {
                tx.rollback().await?;
                return self.record_spend_read_back(batch).await;
            }
        }
        let all: Vec<&SpendRecord> = batch.iter().collect();
        let new = add_batch_spend(&mut tx, &all).await?;
        tx.commit().await?;
        Ok(new)
    }

    async fn spend_logs(&self, filter: &SpendFilter) -> StoreResult<Vec<SpendRecord>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {SPEND_COLUMNS} FROM gateway_spend_logs \
             WHERE ($1 IS NULL OR token_hash = $1) AND ($2 IS NULL OR team_id = $2) \
             ORDER BY end_time DESC, request_id LIMIT $3"
        )))
        .bind(&filter.token_hash)
        .bind(&filter.team_id)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::spend).collect()
    }

    async fn reset_budgets(&self, now: i64) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let mut reset = 0;
        for table in ["gateway_keys", "gateway_teams"] {
            reset += sqlx::query(sql(format!(
                "UPDATE {table} SET period_spend_nanos = 0, \
                 budget_reset_at = $1 + budget_duration_secs * 1000 \
                 WHERE budget_duration_secs IS NOT NULL AND budget_reset_at <= $1"
            )))
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        if reset > 0 {
            Self::bump(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(reset)
    }
}

async fn add_spend(
    tx: &mut Transaction<'_, Any>,
    table: &str,
    id_column: &str,
    id: &str,
    nanos: i64,
) -> StoreResult<()> {
    sqlx::query(sql(format!(
        "UPDATE {table} SET spend_nanos = spend_nanos + $1, \
         period_spend_nanos = period_spend_nanos + $1 WHERE {id_column} = $2"
    )))
    .bind(nanos)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
