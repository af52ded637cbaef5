//! The process's tracing: the log on stderr (`LLM_GATEWAY_LOG`, default
//! `info`) and, with the `otel` feature, OTLP export of the spans (the
//! `otel` module).

#[cfg(feature = "otel")]
pub mod otel;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

use crate::config::GatewayConfig;

/// What [`init`] installed that has to be shut down: the exporter, whose
/// queued spans [`Telemetry::shutdown`] flushes.
#[derive(Debug, Default)]
#[must_use = "shut it down to flush the spans still queued"]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    exporter: Option<otel::Exporter>,
}

impl Telemetry {
    /// Flush the spans still queued and stop the exporter (bounded by the
    /// exporter's `SHUTDOWN_TIMEOUT` when the collector does not answer).
    pub async fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(exporter) = self.exporter {
            exporter.shutdown().await;
        }
    }
}

/// Install the process's subscriber: the stderr log, and the OTLP exporter
/// when `config` or the environment ask for it (see `otel::Settings`).
/// A second call installs nothing (the first subscriber stays).
pub fn init(config: &GatewayConfig) -> Telemetry {
    let filter =
        EnvFilter::try_from_env("LLM_GATEWAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter);
    #[cfg(feature = "otel")]
    {
        let env = |var: &str| std::env::var(var).ok();
        if let Some(settings) = otel::Settings::from_env(config, &env) {
            match otel::Exporter::start(&settings) {
                Ok((exporter, layer)) => {
                    if tracing_subscriber::registry()
                        .with(log)
                        .with(layer)
                        .try_init()
                        .is_ok()
                    {
                        otel::mark_active();
                    }
                    return Telemetry {
                        exporter: Some(exporter),
                    };
                }
                Err(e) => eprintln!("llm-gateway: warning: OTLP export is off: {e}"),
            }
        }
    }
    // Asked for, but not built in: say so rather than ignore it.
    #[cfg(not(feature = "otel"))]
    if config.litellm_settings.has_callback("otel")
        || std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
    {
        eprintln!(
            "llm-gateway: warning: OTLP export asked for, but this build has no `otel` feature"
        );
    }
    let _ = tracing_subscriber::registry().with(log).try_init();
    Telemetry::default()
}
