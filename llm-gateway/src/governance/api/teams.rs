//! `/team/*` and `/spend/logs`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, Body, LimitFields};
use crate::governance::Governance;
use crate::governance::gate::limits_json;
use crate::governance::model::{Limits, Spend, SpendFilter, TeamRecord, nanos_to_usd, now_ms};
use crate::governance::secret::hash_key;
use crate::ids::new_id;

fn team_json(t: &TeamRecord) -> serde_json::Value {
    let mut body = json!({
        "team_id": t.team_id,
        "team_alias": t.team_alias,
        "models": t.models,
        "spend": nanos_to_usd(t.spend.total),
        "budget_spend": nanos_to_usd(t.spend.period),
        "budget_reset_at": t.spend.reset_at,
        "blocked": t.blocked,
        "metadata": t.metadata,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    });
    if let (Some(o), Some(l)) = (body.as_object_mut(), limits_json(&t.limits).as_object()) {
        o.extend(l.clone());
    }
    body
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TeamFields {
    #[serde(flatten)]
    limits: LimitFields,
    team_id: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    team_alias: Option<Option<String>>,
    models: Option<Vec<String>>,
    blocked: Option<bool>,
    metadata: Option<serde_json::Value>,
}

impl TeamFields {
    fn apply(&self, t: &mut TeamRecord, now: i64) -> Result<(), ApiError> {
        if self.limits.apply(&mut t.limits)? {
            t.spend.reset_at = t.limits.budget_duration_secs.map(|s| now + s * 1000);
        }
        if let Some(v) = &self.team_alias {
            t.team_alias.clone_from(v);
        }
        if let Some(m) = &self.models {
            t.models.clone_from(m);
        }
        if let Some(b) = self.blocked {
            t.blocked = b;
        }
        if let Some(m) = &self.metadata {
            if !m.is_object() {
                return Err(ApiError::bad("metadata must be a JSON object"));
            }
            t.metadata = m.clone();
        }
        t.updated_at = now;
        Ok(())
    }
}

pub(super) async fn new(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<TeamFields>,
) -> ApiResult {
    let now = now_ms();
    let mut team = TeamRecord {
        team_id: fields
            .team_id
            .clone()
            .unwrap_or_else(|| format!("team-{}", new_id())),
        team_alias: None,
        models: Vec::new(),
        limits: Limits::default(),
        spend: Spend::default(),
        blocked: false,
        metadata: json!({}),
        created_at: now,
        updated_at: now,
    };
    fields.apply(&mut team, now)?;
    if gov.store().team(&team.team_id).await?.is_some() {
        return Err(ApiError::bad(format!(
            "team_id `{}` already exists",
            team.team_id
        )));
    }
    gov.store().insert_team(&team).await?;
    gov.reload().await;
    Ok(Json(team_json(&team)))
}

#[derive(Debug, Deserialize)]
pub(super) struct TeamQuery {
    team_id: Option<String>,
}

pub(super) async fn info(
    State(gov): State<Arc<Governance>>,
    Query(q): Query<TeamQuery>,
) -> ApiResult {
    let id = q
        .team_id
        .ok_or_else(|| ApiError::bad("give the team as ?team_id="))?;
    let team = gov
        .store()
        .team(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    let keys: Vec<serde_json::Value> = gov
        .store()
        .contents()
        .await?
        .keys
        .iter()
        .filter(|k| k.team_id.as_deref() == Some(id.as_str()))
        .map(super::keys::key_json)
        .collect();
    Ok(Json(
        json!({"team_id": id, "team_info": team_json(&team), "keys": keys}),
    ))
}

pub(super) async fn update(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<TeamFields>,
) -> ApiResult {
    let id = fields
        .team_id
        .clone()
        .ok_or_else(|| ApiError::bad("give \"team_id\""))?;
    let mut team = gov
        .store()
        .team(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    fields.apply(&mut team, now_ms())?;
    if !gov.store().update_team(&team).await? {
        return Err(ApiError::not_found("team"));
    }
    gov.reload().await;
    Ok(Json(team_json(&team)))
}

#[derive(Debug, Deserialize)]
pub(super) struct DeleteTeams {
    team_ids: Vec<String>,
}

pub(super) async fn delete(
    State(gov): State<Arc<Governance>>,
    Body(req): Body<DeleteTeams>,
) -> ApiResult {
    let deleted = gov.store().delete_teams(&req.team_ids).await?;
    gov.reload().await;
    if deleted == 0 {
        return Err(ApiError::not_found("team"));
    }
    Ok(Json(
        json!({"deleted_teams": req.team_ids, "deleted_count": deleted}),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct SpendQuery {
    api_key: Option<String>,
    team_id: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn spend_logs(
    State(gov): State<Arc<Governance>>,
    Query(q): Query<SpendQuery>,
) -> ApiResult {
    let filter = SpendFilter {
        token_hash: q.api_key.map(|k| {
            if k.starts_with("sk-") {
                hash_key(&k)
            } else {
                k
            }
        }),
        team_id: q.team_id,
        limit: q.limit.unwrap_or(1000).clamp(1, 100_000),
    };
    let rows = gov.store().spend_logs(&filter).await?;
    let body: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "request_id": r.request_id,
                "api_key": r.token_hash,
                "team_id": r.team_id,
                "model": r.model,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "total_tokens": r.prompt_tokens + r.completion_tokens,
                "spend": nanos_to_usd(r.spend_nanos),
                "spend_nanos": r.spend_nanos,
                "unpriced": r.unpriced,
                "startTime": r.start_time,
                "endTime": r.end_time,
            })
        })
        .collect();
    Ok(Json(serde_json::Value::Array(body)))
}
