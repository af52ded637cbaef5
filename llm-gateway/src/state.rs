//! [`AppState`]: what every handler shares.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{ConfigError, GatewayConfig, Secret, seconds};
use crate::metrics::Metrics;
use crate::models::{self, Models};

/// The default request body limit: 32 MiB, Anthropic's own.
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// The default time a client has to send a request's headers (and an idle
/// keep-alive connection is kept).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The default time in-flight calls get to finish after SIGTERM.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The server's own limits, from `general_settings`.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// Time to send a request's headers; idle keep-alive time.
    pub header_timeout: Duration,
    /// Time in-flight calls get after SIGTERM.
    pub shutdown_grace: Duration,
}

/// Everything the handlers share, behind an `Arc` ([`SharedState`]).
#[derive(Debug)]
pub struct AppState {
    /// The config it was built from (governance reads `database_url` here).
    pub config: GatewayConfig,
    /// The models and the runtime client.
    pub models: Models,
    /// The master key, when one is configured.
    pub master_key: Option<Secret>,
    /// The Prometheus metrics.
    pub metrics: Metrics,
    /// Body, header and shutdown limits.
    pub limits: ServerLimits,
    /// Virtual keys, limits and spend, once started (with a master key).
    pub governance: std::sync::OnceLock<Arc<crate::governance::Governance>>,
    /// The file the config was read from: what SIGHUP and `POST /config/reload`
    /// read again ([`crate::reload`]); `None` for a config given as text.
    pub source: Option<std::path::PathBuf>,
}

/// The state as handlers extract it.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Build the models and metrics of `config`. The master key is
    /// `general_settings.master_key`, else `LITELLM_MASTER_KEY`.
    pub fn from_config(config: GatewayConfig) -> Result<SharedState, ConfigError> {
        Self::build(config, None, None)
    }

    /// Read `path` and build its state; it keeps `path` as its
    /// [`source`](Self::source), to be reloaded. Also returns the config's warnings.
    pub fn from_file(path: &std::path::Path) -> Result<(SharedState, Vec<String>), ConfigError> {
        let loaded = GatewayConfig::load(path)?;
        let state = Self::build(loaded.config, Some(path.to_owned()), None)?;
        Ok((state, loaded.warnings))
    }

    /// [`AppState::from_file`] for a reload of `previous`: its metrics go on
    /// counting in the same series ([`Metrics::carried_over`]).
    pub fn reloaded(
        path: &std::path::Path,
        previous: &AppState,
    ) -> Result<(SharedState, Vec<String>), ConfigError> {
        let loaded = GatewayConfig::load(path)?;
        let state = Self::build(
            loaded.config,
            Some(path.to_owned()),
            Some(&previous.metrics),
        )?;
        Ok((state, loaded.warnings))
    }

    fn build(
        config: GatewayConfig,
        source: Option<std::path::PathBuf>,
        previous: Option<&Metrics>,
    ) -> Result<SharedState, ConfigError> {
        let gs = &config.general_settings;
        let master_key = gs
            .master_key
            .clone()
            .or_else(|| std::env::var("LITELLM_MASTER_KEY").ok().map(Secret))
            .filter(|k| !k.expose().is_empty());
        // A master key starts governance, whose counters the router then reserves through.
        let models = models::build_governed(&config, master_key.is_some())?;
        let gs = &config.general_settings;
        let body_limit = match gs.max_request_size_mb {
            Some(mb) if mb.is_finite() && mb > 0.0 => (mb * 1024.0 * 1024.0) as usize,
            Some(mb) => {
                return Err(ConfigError::Invalid(format!(
                    "general_settings.max_request_size_mb must be a positive number, got {mb}"
                )));
            }
            None => DEFAULT_BODY_LIMIT,
        };
        let limits = ServerLimits {
            body_limit,
            header_timeout: seconds(gs.header_timeout).unwrap_or(DEFAULT_HEADER_TIMEOUT),
            shutdown_grace: seconds(gs.graceful_shutdown_timeout).unwrap_or(DEFAULT_SHUTDOWN_GRACE),
        };
        Ok(Arc::new(AppState {
            metrics: match previous {
                Some(m) => m.carried_over(&models, crate::metrics::Naming::of(&config)),
                None => Metrics::with_naming(&models, crate::metrics::Naming::of(&config)),
            },
            config,
            models,
            master_key,
            limits,
            governance: std::sync::OnceLock::new(),
            source,
        }))
    }
}
