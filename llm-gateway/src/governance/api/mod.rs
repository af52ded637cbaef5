//! The management API, LiteLLM-compatible, under the master key:
//! `/key/*`, `/team/*`, `/spend/logs`. These routes read and write the store
//! (the request path never does); each change reloads this replica's
//! snapshot at once, the others' within their refresh interval.

mod keys;
mod teams;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Governance;
use super::gate::Caller;
use super::model::{Limits, usd_to_nanos};
use super::store::StoreError;

/// The management routes, each behind the master key.
pub fn routes(governance: Arc<Governance>) -> Router {
    Router::new()
        .route("/key/generate", post(keys::generate))
        .route("/key/info", get(keys::info))
        .route("/key/update", post(keys::update))
        .route("/key/delete", post(keys::delete))
        .route("/key/list", get(keys::list))
        .route("/key/regenerate", post(keys::regenerate))
        .route("/key/block", post(keys::block))
        .route("/key/unblock", post(keys::unblock))
        .route("/team/new", post(teams::new))
        .route("/team/info", get(teams::info))
        .route("/team/update", post(teams::update))
        .route("/team/delete", post(teams::delete))
        .route("/spend/logs", get(teams::spend_logs))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&governance),
            master_only,
        ))
        .with_state(governance)
}

async fn master_only(State(gov): State<Arc<Governance>>, request: Request, next: Next) -> Response {
    match gov.authenticate(request.headers()) {
        Ok(Caller::Master) => next.run(request).await,
        Ok(Caller::Key { .. }) => ApiError::new(
            StatusCode::FORBIDDEN,
            "The management API needs the master key.",
        )
        .into_response(),
        Err(e) => ApiError::new(e.status, e.message).into_response(),
    }
}

/// A management error in OpenAI's envelope.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(what: &str) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {
            "message": self.message,
            "type": "invalid_request_error",
            "code": self.status.as_u16().to_string(),
        }});
        (self.status, Json(body)).into_response()
    }
}

pub(crate) type ApiResult = Result<Json<serde_json::Value>, ApiError>;

/// A JSON body, whatever its `content-type` says (`curl -d` sends
/// `application/x-www-form-urlencoded`); an empty body is `{}`.
pub(crate) struct Body<T>(pub(crate) T);

impl<S, T> axum::extract::FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad(format!("the request body could not be read: {e}")))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(Body)
            .map_err(|e| ApiError::bad(format!("the request body is not the expected JSON: {e}")))
    }
}

/// A LiteLLM duration: `30s`, `10m`, `1h`, `7d`, `2w`, `1mo` (30 days).
pub fn parse_duration_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).filter(|s| *s > 0)
}

/// The limit fields shared by keys and teams, as a request sends them
/// (absent: unchanged on update; `null`: removed).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LimitFields {
    #[serde(default, deserialize_with = "present")]
    max_budget: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    budget_duration: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    rpm_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    tpm_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    max_parallel_requests: Option<Option<i64>>,
}

/// `Some(None)` for an explicit `null`, so that absent and null differ.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn non_negative(name: &str, v: Option<i64>) -> Result<Option<i64>, ApiError> {
    match v {
        Some(n) if n < 0 => Err(ApiError::bad(format!("{name} must be >= 0, got {n}"))),
        other => Ok(other),
    }
}

impl LimitFields {
    /// Apply these fields to `limits`; returns whether the budget period changed.
    pub(crate) fn apply(&self, limits: &mut Limits) -> Result<bool, ApiError> {
        if let Some(b) = self.max_budget {
            limits.max_budget_nanos = match b {
                Some(usd) if !usd.is_finite() || usd < 0.0 => {
                    return Err(ApiError::bad(format!(
                        "max_budget must be a non-negative number, got {usd}"
                    )));
                }
                Some(usd) => Some(usd_to_nanos(usd)),
                None => None,
            };
        }
        let mut period_changed = false;
        if let Some(d) = &self.budget_duration {
            limits.budget_duration_secs = match d {
                Some(text) => Some(parse_duration_secs(text).ok_or_else(|| {
                    ApiError::bad(format!(
                        "budget_duration `{text}` is not a duration like 30s, 10m, 1h, 7d, 1mo"
                    ))
                })?),
                None => None,
            };
            period_changed = true;
        }
        if let Some(v) = self.rpm_limit {
            limits.rpm_limit = non_negative("rpm_limit", v)?;
        }
        if let Some(v) = self.tpm_limit {
            limits.tpm_limit = non_negative("tpm_limit", v)?;
        }
        if let Some(v) = self.max_parallel_requests {
            limits.max_parallel_requests = non_negative("max_parallel_requests", v)?;
        }
        Ok(period_changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn durations_scale_by_their_unit(n in 1i64..100_000, unit in 0usize..6) {
            let (suffix, secs) = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800), ("mo", 2_592_000)][unit];
            prop_assert_eq!(parse_duration_secs(&format!("{n}{suffix}")), Some(n * secs));
        }

        #[test]
        fn anything_else_is_not_a_duration(text in "[a-z ]{0,4}|[0-9]{1,5}[a-z]{3,5}|[0-9]{1,5}") {
            prop_assert_eq!(parse_duration_secs(&text), None);
        }
    }
}
