//! `/health/liveliness`, `/health/liveness`, `/health/readiness` (no
//! upstream call) and `/metrics`.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::state::SharedState;

/// The health and metrics routes (no key needed, as in LiteLLM).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/health/liveliness", get(alive))
        .route("/health/liveness", get(alive))
        .route("/health/readiness", get(ready))
        .route("/metrics", get(metrics))
}

async fn alive() -> Json<&'static str> {
    Json("I'm alive!")
}

async fn ready(State(state): State<SharedState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "healthy",
        "db": if state.config.general_settings.database_url.is_some() { "configured" } else { "Not connected" },
        "model_groups": state.models.groups.len(),
        "litellm_version": concat!("llm-gateway ", env!("CARGO_PKG_VERSION")),
    }))
}

async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    if let Some(router) = state.models.client.router() {
        state.metrics.deployment_states(router.deployment_states());
    }
    (
        [(
            http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
