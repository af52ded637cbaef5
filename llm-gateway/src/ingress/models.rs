//! `GET /v1/models` (and `/models`) and `GET /v1/model/info` (and `/model/info`).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::SharedState;

/// The model-listing routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/models", get(list))
        .route("/models", get(list))
        .route("/v1/model/info", get(info))
        .route("/model/info", get(info))
}

/// OpenAI's list: the groups and visible aliases (wildcards list nothing:
/// their models are whatever the caller names).
async fn list(State(state): State<SharedState>) -> Json<Value> {
    let data: Vec<Value> = state
        .models
        .listed()
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_677_610_602, "owned_by": "openai"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// LiteLLM's `/model/info`: every deployment, without its key.
async fn info(State(state): State<SharedState>) -> Json<Value> {
    let mut data = Vec::new();
    for (group, deployments) in &state.models.groups {
        for d in deployments {
            data.push(json!({
                "model_name": group,
                "litellm_params": {"model": format!("{}/{}", d.provider_name, d.model)},
                "model_info": {
                    "id": d.id,
                    "mode": d.mode.as_deref().unwrap_or("chat"),
                    "input_cost_per_token": d.price.map(|p| p.input),
                    "output_cost_per_token": d.price.map(|p| p.output),
                    "max_input_tokens": d.max_input_tokens,
                    "max_output_tokens": d.max_output_tokens,
                    "litellm_provider": d.provider_name,
                },
            }));
        }
    }
    for w in &state.models.wildcards {
        data.push(json!({"model_name": w.pattern, "litellm_params": {"model": w.params.model}, "model_info": {"id": w.pattern}}));
    }
    Json(json!({"data": data}))
}
