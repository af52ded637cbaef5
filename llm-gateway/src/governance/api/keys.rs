//! `/key/*`: virtual keys. A key is shown in clear only in the answer to
//! `/key/generate` and `/key/regenerate`; everywhere else it is its hash.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiResult, Body, LimitFields, parse_duration_secs};
use crate::governance::Governance;
use crate::governance::gate::limits_json;
use crate::governance::model::{KeyRecord, Limits, Spend, nanos_to_usd, now_ms};
use crate::governance::secret::{ApiKey, hash_key};

/// A key as a request names it: in clear (`sk-...`) or by its hash.
fn key_hash(text: &str) -> String {
    if text.starts_with("sk-") {
        hash_key(text)
    } else {
        text.to_owned()
    }
}

/// The display of a stored key (no secret in it).
pub(super) fn key_json(k: &KeyRecord) -> serde_json::Value {
    json!({
        "token": k.token_hash,
        "key_name": k.key_name,
        "key_alias": k.key_alias,
        "team_id": k.team_id,
        "user_id": k.user_id,
        "models": k.models,
        "spend": nanos_to_usd(k.spend.total),
        "budget_spend": nanos_to_usd(k.spend.period),
        "budget_reset_at": k.spend.reset_at,
        "expires": k.expires_at,
        "blocked": k.blocked,
        "metadata": k.metadata,
        "created_at": k.created_at,
        "updated_at": k.updated_at,
    })
    .as_object()
    .cloned()
    .map(|mut o| {
        if let Some(l) = limits_json(&k.limits).as_object() {
            o.extend(l.clone());
        }
        serde_json::Value::Object(o)
    })
    .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct KeyFields {
    #[serde(flatten)]
    limits: LimitFields,
    models: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    duration: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    key_alias: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    team_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::present")]
    user_id: Option<Option<String>>,
    metadata: Option<serde_json::Value>,
    /// `/key/update`, `/key/regenerate`, `/key/block`: which key.
    key: Option<String>,
}

impl KeyFields {
    fn apply(&self, k: &mut KeyRecord, now: i64) -> Result<(), ApiError> {
        if self.limits.apply(&mut k.limits)? {
            k.spend.reset_at = k.limits.budget_duration_secs.map(|s| now + s * 1000);
        }
        if let Some(m) = &self.models {
            k.models.clone_from(m);
        }
        if let Some(d) = &self.duration {
            k.expires_at = match d {
                Some(text) => Some(
                    now + 1000
                        * parse_duration_secs(text).ok_or_else(|| {
                            ApiError::bad(format!(
                                "duration `{text}` is not a duration like 30s, 1h, 30d"
                            ))
                        })?,
                ),
                None => None,
            };
        }
        if let Some(v) = &self.key_alias {
            k.key_alias.clone_from(v);
        }
        if let Some(v) = &self.team_id {
            k.team_id.clone_from(v);
        }
        if let Some(v) = &self.user_id {
            k.user_id.clone_from(v);
        }
        if let Some(m) = &self.metadata {
            if !m.is_object() {
                return Err(ApiError::bad("metadata must be a JSON object"));
            }
            k.metadata = m.clone();
        }
        k.updated_at = now;
        Ok(())
    }
}

async fn check_team(gov: &Governance, team: Option<&String>) -> Result<(), ApiError> {
    if let Some(t) = team
        && gov.store().team(t).await?.is_none()
    {
        return Err(ApiError::bad(format!("team_id `{t}` does not exist")));
    }
    Ok(())
}

pub(super) async fn generate(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<KeyFields>,
) -> ApiResult {
    let now = now_ms();
    let key = ApiKey::generate();
    let mut record = KeyRecord {
        token_hash: key.hash(),
        key_name: key.display_name(),
        key_alias: None,
        team_id: None,
        user_id: None,
        models: Vec::new(),
        limits: Limits::default(),
        spend: Spend::default(),
        expires_at: None,
        blocked: false,
        metadata: json!({}),
        created_at: now,
        updated_at: now,
    };
    fields.apply(&mut record, now)?;
    check_team(&gov, record.team_id.as_ref()).await?;
    gov.store().insert_key(&record).await?;
    gov.reload().await;
    let mut body = key_json(&record);
    body["key"] = json!(key.expose());
    Ok(Json(body))
}

#[derive(Debug, Deserialize)]
pub(super) struct KeyQuery {
    key: Option<String>,
}

pub(super) async fn info(
    State(gov): State<Arc<Governance>>,
    Query(q): Query<KeyQuery>,
) -> ApiResult {
    let key = q
        .key
        .ok_or_else(|| ApiError::bad("give the key as ?key="))?;
    let hash = key_hash(&key);
    let record = gov
        .store()
        .key(&hash)
        .await?
        .ok_or_else(|| ApiError::not_found("key"))?;
    Ok(Json(json!({"key": hash, "info": key_json(&record)})))
}

async fn load(gov: &Governance, fields: &KeyFields) -> Result<KeyRecord, ApiError> {
    let key = fields
        .key
        .as_deref()
        .ok_or_else(|| ApiError::bad("give the key as \"key\""))?;
    gov.store()
        .key(&key_hash(key))
        .await?
        .ok_or_else(|| ApiError::not_found("key"))
}

pub(super) async fn update(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<KeyFields>,
) -> ApiResult {
    let mut record = load(&gov, &fields).await?;
    fields.apply(&mut record, now_ms())?;
    check_team(&gov, record.team_id.as_ref()).await?;
    if !gov.store().update_key(&record).await? {
        return Err(ApiError::not_found("key"));
    }
    gov.reload().await;
    Ok(Json(key_json(&record)))
}

#[derive(Debug, Deserialize)]
pub(super) struct DeleteKeys {
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    key_aliases: Vec<String>,
}

pub(super) async fn delete(
    State(gov): State<Arc<Governance>>,
    Body(req): Body<DeleteKeys>,
) -> ApiResult {
    let mut hashes: Vec<String> = req.keys.iter().map(|k| key_hash(k)).collect();
    if !req.key_aliases.is_empty() {
        let contents = gov.store().contents().await?;
        hashes.extend(
            contents
                .keys
                .into_iter()
                .filter(|k| {
                    k.key_alias
                        .as_ref()
                        .is_some_and(|a| req.key_aliases.contains(a))
                })
                .map(|k| k.token_hash),
        );
    }
    if hashes.is_empty() {
        return Err(ApiError::bad(
            "give \"keys\" (or \"key_aliases\") to delete",
        ));
    }
    let deleted = gov.store().delete_keys(&hashes).await?;
    gov.reload().await;
    if deleted == 0 {
        return Err(ApiError::not_found("key"));
    }
    Ok(Json(
        json!({"deleted_keys": req.keys, "deleted_count": deleted}),
    ))
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    team_id: Option<String>,
    user_id: Option<String>,
    page: Option<usize>,
    size: Option<usize>,
}

pub(super) async fn list(
    State(gov): State<Arc<Governance>>,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let mut keys = gov.store().contents().await?.keys;
    keys.retain(|k| {
        q.team_id
            .as_ref()
            .is_none_or(|t| k.team_id.as_ref() == Some(t))
            && q.user_id
                .as_ref()
                .is_none_or(|u| k.user_id.as_ref() == Some(u))
    });
    keys.sort_by(|a, b| (a.created_at, &a.token_hash).cmp(&(b.created_at, &b.token_hash)));
    let size = q.size.unwrap_or(100).clamp(1, 1000);
    let page = q.page.unwrap_or(1).max(1);
    let total = keys.len();
    let hashes: Vec<&str> = keys
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|k| k.token_hash.as_str())
        .collect();
    Ok(Json(json!({
        "keys": hashes,
        "total_count": total,
        "current_page": page,
        "total_pages": total.div_ceil(size),
    })))
}

pub(super) async fn regenerate(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<KeyFields>,
) -> ApiResult {
    let record = load(&gov, &fields).await?;
    let key = ApiKey::generate();
    if !gov
        .store()
        .rehash_key(&record.token_hash, &key.hash(), &key.display_name())
        .await?
    {
        return Err(ApiError::not_found("key"));
    }
    gov.reload().await;
    let fresh = gov
        .store()
        .key(&key.hash())
        .await?
        .ok_or_else(|| ApiError::not_found("key"))?;
    let mut body = key_json(&fresh);
    body["key"] = json!(key.expose());
    Ok(Json(body))
}

async fn set_blocked(gov: &Governance, fields: &KeyFields, blocked: bool) -> ApiResult {
    let mut record = load(gov, fields).await?;
    record.blocked = blocked;
    record.updated_at = now_ms();
    if !gov.store().update_key(&record).await? {
        return Err(ApiError::not_found("key"));
    }
    gov.reload().await;
    Ok(Json(key_json(&record)))
}

pub(super) async fn block(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<KeyFields>,
) -> ApiResult {
    set_blocked(&gov, &fields, true).await
}

pub(super) async fn unblock(
    State(gov): State<Arc<Governance>>,
    Body(fields): Body<KeyFields>,
) -> ApiResult {
    set_blocked(&gov, &fields, false).await
}
