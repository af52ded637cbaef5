//! OTLP/HTTP export of the spans (feature `otel`): a server span per
//! request (`POST /v1/chat/completions`), parent of the runtime's GenAI span
//! (`chat {model}`, with `gen_ai.request.model`, `gen_ai.usage.*`...).
//!
//! On when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, or with LiteLLM's
//! `litellm_settings.callbacks: ["otel"]` (then also LiteLLM's
//! `OTEL_ENDPOINT`; default `http://localhost:4318/v1/traces`);
//! `OTEL_SDK_DISABLED=true` turns it off. The exporter reads the other
//! standard variables itself (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`
//! by default, or `http/json`; `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT`, `OTEL_BSP_*`); `OTEL_SERVICE_NAME` names the
//! service (default `llm-gateway`).
//!
//! Spans are queued (bounded, the SDK's batch processor) and sent from a
//! thread of their own, so a slow or dead collector never delays a call:
//! when the queue is full, spans are dropped. Neither span carries prompt
//! or completion text, nor any key.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::config::GatewayConfig;

/// The longest a shutdown waits for the last spans to be sent.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The service name when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "llm-gateway";

/// Where and as what the spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The traces URL when the config named it (LiteLLM's `OTEL_ENDPOINT`);
    /// `None`: the exporter's own resolution of the standard variables.
    pub endpoint: Option<String>,
    /// `service.name`.
    pub service_name: String,
}

impl Settings {
    /// The settings `config` and the environment (`env`) ask for, or
    /// `None` when export is off.
    pub fn from_env(config: &GatewayConfig, env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let set = |var: &str| env(var).filter(|v| !v.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return None;
        }
        let standard = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .is_some();
        let callback = config.litellm_settings.has_callback("otel");
        if !standard && !callback {
            return None;
        }
        let endpoint = if standard {
            None
        } else {
            Some(set("OTEL_ENDPOINT").map_or_else(
                || "http://localhost:4318/v1/traces".to_owned(),
                |e| traces_url(&e),
            ))
        };
        Some(Settings {
            endpoint,
            service_name: set("OTEL_SERVICE_NAME")
                .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
        })
    }
}

/// LiteLLM's `OTEL_ENDPOINT` as a traces URL: `/v1/traces` added unless
/// it is there.
fn traces_url(endpoint: &str) -> String {
    let trimmed = endpoint.trim().trim_end_matches('/');
    if trimmed.ends_with("/v1/traces") {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/v1/traces")
    }
}

/// A running exporter.
#[derive(Debug)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(String);

impl Exporter {
    /// Start the exporter and the `tracing` layer that feeds it the
    /// gateway's and the runtime's spans.
    pub fn start<S>(
        settings: &Settings,
    ) -> Result<(Exporter, impl Layer<S> + Send + Sync + 'static), StartError>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let mut builder = SpanExporter::builder().with_http();
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint.clone());
        }
        let exporter = builder.build().map_err(|e| StartError(e.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name(settings.service_name.clone())
                    .build(),
            )
            .with_batch_exporter(exporter)
            .build();
        let tracer = provider.tracer("llm-gateway");
        // The gateway's server spans and the runtime's call spans, at info.
        let targets = Targets::new()
            .with_target("llm_gateway", tracing::Level::INFO)
            .with_target("llm_runtime", tracing::Level::INFO);
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(targets);
        Ok((Exporter { provider }, layer))
    }

    /// Send what is queued and stop, within [`SHUTDOWN_TIMEOUT`].
    pub async fn shutdown(self) {
        let provider = self.provider;
        // The SDK blocks while it flushes: off the async threads.
        let done =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT))
                .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "OTLP exporter shutdown");
        }
    }
}

static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Note that the exporter's layer is installed (the app then adds
/// [`server_span`]).
pub fn mark_active() {
    ACTIVE.store(true, Ordering::Release);
}

/// Whether spans are exported from this process.
pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// Middleware: run the request in a server span named by its route
/// (`POST /v1/chat/completions`), so the runtime's call span is its child.
/// Only the route template is recorded, never the path's values or a header.
pub async fn server_span(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        target: "llm_gateway::http",
        "http.server",
        "otel.name" = %format_args!("{method} {route}"),
        "otel.kind" = "server",
        "http.request.method" = %method,
        "http.route" = %route,
        "http.response.status_code" = Empty,
        "otel.status_code" = Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config(callbacks: &[&str]) -> GatewayConfig {
        let mut c = GatewayConfig::default();
        c.litellm_settings.callbacks = callbacks.iter().map(|s| (*s).to_owned()).collect();
        c
    }

    fn settings(callbacks: &[&str], vars: &[(&str, &str)]) -> Option<Settings> {
        let env = |v: &str| {
            vars.iter()
                .find(|(k, _)| *k == v)
                .map(|(_, value)| (*value).to_owned())
        };
        Settings::from_env(&config(callbacks), &env)
    }

    #[test]
    fn off_without_an_endpoint_or_the_callback() {
        assert_eq!(settings(&[], &[]), None);
        assert_eq!(
            settings(&["prometheus"], &[("OTEL_SERVICE_NAME", "x")]),
            None
        );
    }

    #[test]
    fn the_standard_variables_leave_the_endpoint_to_the_exporter() {
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            assert_eq!(
                settings(&[], &[(var, "http://127.0.0.1:4318")]),
                Some(Settings {
                    endpoint: None,
                    service_name: "llm-gateway".into()
                })
            );
        }
    }

    #[test]
    fn the_callback_uses_litellms_variable_or_the_default() {
        assert_eq!(
            settings(&["otel"], &[("OTEL_SERVICE_NAME", "gw")]),
            Some(Settings {
                endpoint: Some("http://localhost:4318/v1/traces".into()),
                service_name: "gw".into()
            })
        );
        assert_eq!(
            settings(&["otel"], &[("OTEL_ENDPOINT", "http://c:4318/")]).and_then(|s| s.endpoint),
            Some("http://c:4318/v1/traces".into())
        );
    }

    #[test]
    fn sdk_disabled_wins() {
        assert_eq!(
            settings(
                &["otel"],
                &[
                    ("OTEL_SDK_DISABLED", "true"),
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x")
                ]
            ),
            None
        );
    }

    proptest! {
        #[test]
        fn traces_url_ends_in_the_traces_path_once(host in "[a-z]{1,12}", port in 1u16.., slash in any::<bool>(), with_path in any::<bool>()) {
            let mut e = format!("http://{host}:{port}");
            if with_path { e.push_str("/v1/traces"); }
            if slash { e.push('/'); }
            prop_assert_eq!(traces_url(&e), format!("http://{host}:{port}/v1/traces"));
        }
    }
}
