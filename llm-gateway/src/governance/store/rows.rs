//! Rows to records: the column lists and their decoding, in one place for
//! every query that reads keys, teams or spend.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::StoreResult;
use crate::governance::model::{KeyRecord, Limits, Spend, SpendRecord, TeamRecord};

/// The key columns, in the order [`key`] reads them.
pub(super) const KEY_COLUMNS: &str = "token_hash, key_name, key_alias, team_id, user_id, models, \
    max_budget_nanos, budget_duration_secs, budget_reset_at, rpm_limit, tpm_limit, \
    max_parallel_requests, spend_nanos, period_spend_nanos, expires_at, blocked, metadata, \
    created_at, updated_at";

/// The team columns, in the order [`team`] reads them.
pub(super) const TEAM_COLUMNS: &str = "team_id, team_alias, models, max_budget_nanos, \
    budget_duration_secs, budget_reset_at, rpm_limit, tpm_limit, max_parallel_requests, \
    spend_nanos, period_spend_nanos, blocked, metadata, created_at, updated_at";

/// The spend columns, in the order [`spend`] reads them.
pub(super) const SPEND_COLUMNS: &str = "request_id, token_hash, team_id, model, prompt_tokens, \
    completion_tokens, spend_nanos, unpriced, start_time, end_time";

fn limits(row: &AnyRow) -> StoreResult<Limits> {
    Ok(Limits {
        max_budget_nanos: row.try_get("max_budget_nanos")?,
        budget_duration_secs: row.try_get("budget_duration_secs")?,
        rpm_limit: row.try_get("rpm_limit")?,
        tpm_limit: row.try_get("tpm_limit")?,
        max_parallel_requests: row.try_get("max_parallel_requests")?,
    })
}

fn spend_counters(row: &AnyRow) -> StoreResult<Spend> {
    Ok(Spend {
        total: row.try_get("spend_nanos")?,
        period: row.try_get("period_spend_nanos")?,
        reset_at: row.try_get("budget_reset_at")?,
    })
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

/// A key row.
pub(super) fn key(row: &AnyRow) -> StoreResult<KeyRecord> {
    Ok(KeyRecord {
        token_hash: row.try_get("token_hash")?,
        key_name: row.try_get("key_name")?,
        key_alias: row.try_get("key_alias")?,
        team_id: row.try_get("team_id")?,
        user_id: row.try_get("user_id")?,
        models: json_list(&row.try_get::<String, _>("models")?),
        limits: limits(row)?,
        spend: spend_counters(row)?,
        expires_at: row.try_get("expires_at")?,
        blocked: row.try_get::<i64, _>("blocked")? != 0,
        metadata: json_value(&row.try_get::<String, _>("metadata")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A team row.
pub(super) fn team(row: &AnyRow) -> StoreResult<TeamRecord> {
    Ok(TeamRecord {
        team_id: row.try_get("team_id")?,
        team_alias: row.try_get("team_alias")?,
        models: json_list(&row.try_get::<String, _>("models")?),
        limits: limits(row)?,
        spend: spend_counters(row)?,
        blocked: row.try_get::<i64, _>("blocked")? != 0,
        metadata: json_value(&row.try_get::<String, _>("metadata")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A spend row.
pub(super) fn spend(row: &AnyRow) -> StoreResult<SpendRecord> {
    Ok(SpendRecord {
        request_id: row.try_get("request_id")?,
        token_hash: row.try_get("token_hash")?,
        team_id: row.try_get("team_id")?,
        model: row.try_get("model")?,
        prompt_tokens: row.try_get("prompt_tokens")?,
        completion_tokens: row.try_get("completion_tokens")?,
        spend_nanos: row.try_get("spend_nanos")?,
        unpriced: row.try_get::<i64, _>("unpriced")? != 0,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
    })
}
