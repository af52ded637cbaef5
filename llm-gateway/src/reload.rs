//! Config reload: SIGHUP or `POST /config/reload` (master key) reads the
//! config file again and swaps the model table, router and settings for new
//! calls; calls in flight, streams included, finish on the state they began
//! with (each handler holds its own `Arc` of it).
//!
//! A config that does not load (bad YAML, a wrong type, an unknown provider)
//! keeps the old one: the error, with its line, is logged and answered.
//! Settings that only a restart can change (the master key, the database,
//! governance's Redis, the listener's timeouts) must stay as they are; a
//! reload that changes one is refused, never half applied.
//!
//! Governance (the store, the snapshot, the counters) carries over to the new
//! state unchanged. The Prometheus registry is the new state's: its counters
//! start again from zero, which Prometheus reads as a counter reset.

use std::convert::Infallible;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::StatusCode;
use serde_json::json;
use tower::ServiceExt;

use crate::config::{ConfigError, GatewayConfig};
use crate::error::GatewayError;
use crate::state::{AppState, SharedState};

/// Why a reload kept the old config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The gateway was not started from a file (`--config`).
    #[error("the gateway was started without a config file: there is nothing to reload")]
    NoSource,
    /// The file does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The new config changes settings only a restart applies.
    #[error("these settings change only on restart, restart the gateway to apply them: {}", .0.join(", "))]
    NeedsRestart(Vec<&'static str>),
}

impl ReloadError {
    /// The config line at fault, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ReloadError::Config(ConfigError::Syntax { line, .. })
            | ReloadError::Config(ConfigError::Type { line, .. }) => Some(*line),
            _ => None,
        }
    }

    /// The machine code answered with it.
    pub fn code(&self) -> &'static str {
        match self {
            ReloadError::NoSource => "no_config_file",
            ReloadError::Config(ConfigError::Read { .. }) => "config_unreadable",
            ReloadError::Config(_) => "invalid_config",
            ReloadError::NeedsRestart(_) => "restart_required",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ReloadError::NoSource => StatusCode::CONFLICT,
            ReloadError::Config(ConfigError::Read { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// What a reload applied.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// Model groups now served.
    pub model_groups: usize,
    /// The new config's warnings (unknown keys, each with its line).
    pub warnings: Vec<String>,
}

/// The state new requests are served with, swapped by a reload.
#[derive(Debug)]
pub struct Live {
    current: RwLock<Current>,
    /// One reload at a time: a second waits, then reads the file again.
    reloading: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct Current {
    state: SharedState,
    app: Router,
}

impl Live {
    /// Serve `state` until the first reload.
    pub fn new(state: SharedState) -> Arc<Live> {
        let app = crate::app::router(Arc::clone(&state));
        Arc::new(Live {
            current: RwLock::new(Current { state, app }),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The state new requests get now.
    pub fn state(&self) -> SharedState {
        self.current().state
    }

    /// Read the config file again and serve new requests with it; on any
    /// error keep the current config (and log the error with its line).
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _one = self.reloading.lock().await;
        let result = self.swap();
        match &result {
            Ok(r) => {
                for w in &r.warnings {
                    tracing::warn!(target: "llm_gateway::config", "{w}");
                }
                tracing::info!(
                    model_groups = r.model_groups,
                    "config reloaded: new calls use it, calls in flight finish on the old one"
                );
            }
            Err(e) => tracing::error!(
                line = e.line(),
                error = %e,
                "config reload failed: the old config stays in use"
            ),
        }
        result
    }

    fn swap(&self) -> Result<Reloaded, ReloadError> {
        let old = self.state();
        let path = old.source.as_ref().ok_or(ReloadError::NoSource)?;
        let (state, warnings) = AppState::reloaded(path, &old)?;
        let changed = restart_only_changes(&old.config, &state.config);
        if !changed.is_empty() {
            return Err(ReloadError::NeedsRestart(changed));
        }
        if let Some(gov) = old.governance.get() {
            if let Some(governed) = &state.models.governed {
                governed.bind(gov);
            }
            let _ = state.governance.set(Arc::clone(gov));
        }
        let reloaded = Reloaded {
            model_groups: state.models.groups.len(),
            warnings,
        };
        let app = crate::app::router(Arc::clone(&state));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Current { state, app };
        Ok(reloaded)
    }

    /// Every route: `POST /config/reload`, and each other request served by
    /// the state current when it arrives.
    pub fn app(self: &Arc<Self>) -> Router {
        let live = Arc::clone(self);
        let current = tower::service_fn(move |request: Request| {
            let app = live.current().app;
            async move { Ok::<_, Infallible>(app.oneshot(request).await.into_response()) }
        });
        Router::new()
            .route("/config/reload", post(reload_route))
            .with_state(Arc::clone(self))
            .fallback_service(current)
    }

    /// Reload on every SIGHUP while the task runs (a gateway started from a file).
    pub fn reload_on_sighup(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        self.state().source.as_ref()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hup = match signal(SignalKind::hangup()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "SIGHUP cannot be handled: reload with POST /config/reload");
                    return None;
                }
            };
            let live = Arc::clone(self);
            Some(tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading the config");
                    let _ = live.reload().await;
                }
            }))
        }
        #[cfg(not(unix))]
        None
    }
}

/// The `general_settings`/`router_settings` a running gateway cannot change
/// (the listener's, and governance's, set up once at start):
/// the names of those `new` changes.
fn restart_only_changes(old: &GatewayConfig, new: &GatewayConfig) -> Vec<&'static str> {
    let secret = |s: &Option<crate::config::Secret>| s.as_ref().map(|s| s.expose().to_owned());
    let (og, ng) = (&old.general_settings, &new.general_settings);
    let (or, nr) = (&old.router_settings, &new.router_settings);
    let checks = [
        (
            "general_settings.master_key",
            secret(&og.master_key) != secret(&ng.master_key),
        ),
        (
            "general_settings.database_url",
            secret(&og.database_url) != secret(&ng.database_url),
        ),
        (
            "general_settings.header_timeout",
            og.header_timeout != ng.header_timeout,
        ),
        (
            "general_settings.graceful_shutdown_timeout",
            og.graceful_shutdown_timeout != ng.graceful_shutdown_timeout,
        ),
        (
            "general_settings.unpriced_models",
            og.unpriced_models != ng.unpriced_models,
        ),
        (
            "general_settings.redis_fail_open",
            og.redis_fail_open != ng.redis_fail_open,
        ),
        ("router_settings.redis_host", or.redis_host != nr.redis_host),
        ("router_settings.redis_port", or.redis_port != nr.redis_port),
        (
            "router_settings.redis_password",
            secret(&or.redis_password) != secret(&nr.redis_password),
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
}

/// `POST /config/reload`: the master key (when one is configured), then a reload.
async fn reload_route(State(live): State<Arc<Live>>, request: Request) -> Response {
    let state = live.state();
    if let Some(master) = &state.master_key {
        let presented = crate::auth::presented_key(request.headers());
        if !presented.is_some_and(|p| crate::governance::secret::secrets_equal(p, master.expose()))
        {
            return GatewayError::new(
                StatusCode::FORBIDDEN,
                "permission_error",
                "Reloading the config needs the master key.",
            )
            .code("master_key_required")
            .into_openai_response();
        }
    }
    match live.reload().await {
        Ok(r) => axum::Json(json!({
            "status": "reloaded",
            "model_groups": r.model_groups,
            "warnings": r.warnings,
        }))
        .into_response(),
        Err(e) => {
            let body = json!({"error": {
                "message": e.to_string(),
                "type": "invalid_request_error",
                "code": e.code(),
                "param": null,
                "line": e.line(),
            }});
            (e.status(), axum::Json(body)).into_response()
        }
    }
}
