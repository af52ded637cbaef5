//! The governed things as stored: keys, teams, their limits, and billed calls.
//!
//! Money is an integer count of nano-dollars ([`Nanos`]) so that sums are
//! exact; times are unix milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// An amount of US dollars in units of 10⁻⁹ dollar.
pub type Nanos = i64;

/// Nano-dollars per dollar.
pub const NANOS_PER_USD: f64 = 1e9;

/// Dollars to [`Nanos`], rounded to the nearest unit.
pub fn usd_to_nanos(usd: f64) -> Nanos {
    (usd * NANOS_PER_USD).round() as Nanos
}

/// [`Nanos`] to dollars.
pub fn nanos_to_usd(nanos: Nanos) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The limits a key or a team may carry (each `None` = no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Limits {
    /// Spend allowed per budget period (or in total without `budget_duration_secs`).
    pub max_budget_nanos: Option<Nanos>,
    /// The budget period; spend resets when it ends.
    pub budget_duration_secs: Option<i64>,
    /// Requests per minute (sliding, one-second buckets).
    pub rpm_limit: Option<i64>,
    /// Tokens per minute (sliding, one-second buckets).
    pub tpm_limit: Option<i64>,
    /// Calls in flight at once.
    pub max_parallel_requests: Option<i64>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.max_budget_nanos.is_some()
            || self.rpm_limit.is_some()
            || self.tpm_limit.is_some()
            || self.max_parallel_requests.is_some()
    }
}

/// Spend counters of a key or team, maintained by the spend writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    /// Everything billed, ever.
    pub total: Nanos,
    /// Billed in the current budget period.
    pub period: Nanos,
    /// When the current budget period ends (unix ms), if it has a duration.
    pub reset_at: Option<i64>,
}

/// A virtual key as stored: its secret only as a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// Hex SHA-256 of the key: its identity in the store.
    pub token_hash: String,
    /// A display form that cannot be used (`sk-...` and the last four characters).
    pub key_name: String,
    /// The owner's name for it.
    pub key_alias: Option<String>,
    /// The team whose budget and limits also apply.
    pub team_id: Option<String>,
    /// The user it was made for.
    pub user_id: Option<String>,
    /// Model groups it may call (empty: all).
    pub models: Vec<String>,
    /// Its limits.
    pub limits: Limits,
    /// Its spend.
    pub spend: Spend,
    /// When it stops working (unix ms).
    pub expires_at: Option<i64>,
    /// Blocked keys are refused until unblocked.
    pub blocked: bool,
    /// The caller's JSON object.
    pub metadata: serde_json::Value,
    /// Created (unix ms).
    pub created_at: i64,
    /// Last changed (unix ms).
    pub updated_at: i64,
}

/// A team: a budget and limits shared by its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamRecord {
    /// Its id.
    pub team_id: String,
    /// Its display name.
    pub team_alias: Option<String>,
    /// Model groups its keys may call (empty: all).
    pub models: Vec<String>,
    /// Its limits, applied to the sum of its keys' calls.
    pub limits: Limits,
    /// Its spend.
    pub spend: Spend,
    /// Blocked teams' keys are refused.
    pub blocked: bool,
    /// The caller's JSON object.
    pub metadata: serde_json::Value,
    /// Created (unix ms).
    pub created_at: i64,
    /// Last changed (unix ms).
    pub updated_at: i64,
}

/// One billed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRecord {
    /// The gateway's call id: billing the same id twice is a no-op.
    pub request_id: String,
    /// The key's hash.
    pub token_hash: String,
    /// The key's team.
    pub team_id: Option<String>,
    /// The model group called.
    pub model: String,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// Its cost.
    pub spend_nanos: Nanos,
    /// No price was known (allowed by policy): `spend_nanos` is 0 and means "unknown".
    pub unpriced: bool,
    /// When the call started (unix ms).
    pub start_time: i64,
    /// When it ended (unix ms).
    pub end_time: i64,
}

/// Which spend rows to read.
#[derive(Debug, Clone, Default)]
pub struct SpendFilter {
    /// Only this key's.
    pub token_hash: Option<String>,
    /// Only this team's.
    pub team_id: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}
