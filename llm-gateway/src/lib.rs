//! # llm-gateway
//!
//! An OpenAI- and Anthropic-compatible HTTP gateway on [`llm_runtime`]: one
//! endpoint every language's SDK can call, in front of every provider the
//! runtime has, configured with LiteLLM's `config.yaml`.
//!
//! ```text
//! llm-gateway --config config.yaml --host 127.0.0.1 --port 4000
//! cargo run -p llm-gateway          # no config: offline, on the loopback mock model
//! ```
//!
//! ## Layout
//!
//! - [`config`]: LiteLLM's `config.yaml`, parsed into typed structs with the
//!   line of every key (unknown keys are warnings, wrong types errors).
//! - [`models`]: the model table the config builds (groups on the runtime's
//!   router, wildcards) and how a requested name resolves.
//! - [`state`]: [`AppState`], shared by every handler.
//! - [`app`]: [`app::router`], the axum `Router` with every route and layer.
//! - [`ingress`]: one module per wire format a client speaks. Each has a
//!   `routes(state) -> Router`; [`ingress::routes`] merges them.
//! - [`call`]: one call through the runtime, with its metrics, headers and access log.
//! - [`server`]: the listener (TCP_NODELAY, HTTP/1.1 and h2c, timeouts,
//!   graceful shutdown).
//! - [`reload`]: SIGHUP and `POST /config/reload` swap the config for new
//!   calls; calls in flight finish on the old one.
//! - [`governance`]: virtual keys, teams, budgets and limits across
//!   replicas, spend written behind (SQLite or Postgres, Redis counters).
//! - [`ids`]: the ids the gateway makes (calls, teams, leases), time-ordered.
//! - [`metrics`]: the Prometheus registry behind `/metrics` (the gateway's
//!   names or LiteLLM's).
//! - [`telemetry`]: the log, and OTLP export of the spans (feature `otel`).
#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod call;
pub mod cli;
pub mod config;
pub mod error;
pub mod governance;
pub mod health;
pub mod ids;
pub mod ingress;
pub mod metrics;
pub mod models;
pub mod offline;
pub mod reload;
pub mod server;
pub mod state;
pub mod telemetry;

pub use error::GatewayError;
pub use state::AppState;
