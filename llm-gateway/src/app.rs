//! [`router`]: the axum `Router` with every route and layer.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::state::SharedState;

/// Every route: the ingress routes behind the master-key check and the
/// body limit, the health and metrics routes open.
pub fn router(state: SharedState) -> Router {
    let models = crate::ingress::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::governance::wire::authorize,
        ))
        .layer(DefaultBodyLimit::max(state.limits.body_limit));
    let management = state
        .governance
        .get()
        .map(|gov| crate::governance::api::routes(Arc::clone(gov)));
    let app = Router::new()
        .merge(models)
        .merge(crate::health::routes())
        .with_state(state);
    let app = match management {
        Some(routes) => app.merge(routes),
        None => app,
    };
    // A server span per request only when spans are exported: no cost otherwise.
    #[cfg(feature = "otel")]
    if crate::telemetry::otel::active() {
        return app.layer(axum::middleware::from_fn(
            crate::telemetry::otel::server_span,
        ));
    }
    app
}
