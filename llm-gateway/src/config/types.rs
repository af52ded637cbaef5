//! The typed `config.yaml`: LiteLLM's keys, as LiteLLM means them.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// A secret from the config (a key, a password): never shown by `Debug`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Secret {
    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The whole `config.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GatewayConfig {
    /// The models callers name, each one deployment; duplicate names form a group.
    #[serde(default)]
    pub model_list: Vec<ModelEntry>,
    /// How groups route, retry, cool down and fall back.
    #[serde(default)]
    pub router_settings: RouterSettings,
    /// Call defaults (`drop_params`, `num_retries`, `request_timeout`).
    #[serde(default)]
    pub litellm_settings: LitellmSettings,
    /// The server's own settings (master key, database, request size).
    #[serde(default)]
    pub general_settings: GeneralSettings,
}

/// One entry of `model_list`.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelEntry {
    /// The name callers use (`gpt-4o`, `*`, `openai/*`).
    pub model_name: String,
    /// Where and how to call it.
    pub litellm_params: LitellmParams,
    /// What LiteLLM reports about it (`/v1/model/info`) and its id.
    #[serde(default)]
    pub model_info: ModelInfoConfig,
}

/// `litellm_params` of a model entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LitellmParams {
    /// `provider/model` (`openai/gpt-4o`, `anthropic/claude-sonnet-4-5`); a bare
    /// model is an OpenAI model, as in LiteLLM.
    pub model: String,
    /// The endpoint, as LiteLLM means it for this provider (OpenAI's with `/v1`,
    /// Anthropic's the host, Gemini's ending in `/v1beta`, Azure's the resource).
    pub api_base: Option<String>,
    /// The key (else the provider's variable, `OPENAI_API_KEY`...).
    pub api_key: Option<Secret>,
    /// Azure OpenAI's `api-version`.
    pub api_version: Option<String>,
    /// Requests per minute: this deployment's share of the group's traffic
    /// (and its limit under `usage-based-routing`).
    pub rpm: Option<u64>,
    /// Tokens per minute: the share when `rpm` is not given (and the limit
    /// under `usage-based-routing`).
    pub tpm: Option<u64>,
    /// An explicit shuffle weight (beats `rpm`/`tpm`).
    pub weight: Option<u32>,
    /// The whole call's bound, in seconds.
    pub timeout: Option<f64>,
    /// A stream's bound, in seconds.
    pub stream_timeout: Option<f64>,
    /// Retries of a call on this deployment.
    pub max_retries: Option<u32>,
    /// Headers sent with every call to this deployment.
    #[serde(default)]
    pub extra_headers: BTreeMap<String, String>,
    /// Cost of one prompt token, in dollars.
    pub input_cost_per_token: Option<f64>,
    /// Cost of one completion token, in dollars.
    pub output_cost_per_token: Option<f64>,
    /// AWS access key id (Bedrock).
    pub aws_access_key_id: Option<Secret>,
    /// AWS secret access key (Bedrock).
    pub aws_secret_access_key: Option<Secret>,
    /// AWS session token (Bedrock).
    pub aws_session_token: Option<Secret>,
    /// AWS region (Bedrock).
    pub aws_region_name: Option<String>,
    /// Google Cloud project (Vertex AI).
    pub vertex_project: Option<String>,
    /// Google Cloud location (Vertex AI).
    pub vertex_location: Option<String>,
    /// A service-account or authorized-user JSON file, or its JSON text (Vertex AI).
    pub vertex_credentials: Option<Secret>,
}

/// `model_info` of a model entry.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ModelInfoConfig {
    /// The deployment's id (default: its position, `model_name-N`).
    pub id: Option<String>,
    /// `chat` or `embedding`.
    pub mode: Option<String>,
    /// The model whose catalog entry (context window, price) this one has.
    pub base_model: Option<String>,
    /// Cost of one prompt token (LiteLLM also reads it here).
    pub input_cost_per_token: Option<f64>,
    /// Cost of one completion token.
    pub output_cost_per_token: Option<f64>,
    /// The context window, in tokens.
    pub max_input_tokens: Option<u64>,
    /// The most tokens one answer may have.
    pub max_output_tokens: Option<u64>,
}

/// A fallback list as LiteLLM writes it: `[{"gpt-4o": ["gpt-4o-mini"]}]`.
pub type Fallbacks = Vec<BTreeMap<String, Vec<String>>>;

/// `router_settings`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RouterSettings {
    /// `simple-shuffle` (default), `least-busy`, `latency-based-routing`,
    /// `usage-based-routing`, `usage-based-routing-v2`, `cost-based-routing`.
    pub routing_strategy: Option<String>,
    /// Retries of a call on each deployment.
    pub num_retries: Option<u32>,
    /// Groups to try when every deployment of a group failed.
    #[serde(default)]
    pub fallbacks: Fallbacks,
    /// Groups to try when the prompt is too long for a group.
    #[serde(default)]
    pub context_window_fallbacks: Fallbacks,
    /// Groups to try when a content policy refused the call.
    #[serde(default)]
    pub content_policy_fallbacks: Fallbacks,
    /// Failures in a minute a deployment may have before it cools down.
    pub allowed_fails: Option<u32>,
    /// How long a deployment cools down, in seconds.
    pub cooldown_time: Option<f64>,
    /// Other names for groups: `alias: group` or `alias: {model: group, hidden: true}`.
    #[serde(default)]
    pub model_group_alias: BTreeMap<String, AliasTarget>,
    /// Redis host: limits and cooldowns shared between gateway processes.
    pub redis_host: Option<String>,
    /// Redis port (default 6379).
    pub redis_port: Option<u16>,
    /// Redis password.
    pub redis_password: Option<Secret>,
    /// The whole call's bound, in seconds (for every group).
    pub timeout: Option<f64>,
}

/// The target of a `model_group_alias`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AliasTarget {
    /// `alias: group`.
    Group(String),
    /// `alias: {model: group, hidden: true}` (hidden from `/v1/models`).
    Detailed {
        /// The group.
        model: String,
        /// Left out of `/v1/models`.
        #[serde(default)]
        hidden: bool,
    },
}

impl AliasTarget {
    /// The group it names.
    pub fn group(&self) -> &str {
        match self {
            AliasTarget::Group(g) | AliasTarget::Detailed { model: g, .. } => g,
        }
    }

    /// Whether `/v1/models` leaves it out.
    pub fn hidden(&self) -> bool {
        matches!(self, AliasTarget::Detailed { hidden: true, .. })
    }
}

/// `litellm_settings`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LitellmSettings {
    /// Leave out parameters a provider does not support instead of failing.
    pub drop_params: Option<bool>,
    /// Retries of each call (when `router_settings.num_retries` is not set).
    pub num_retries: Option<u32>,
    /// The whole call's bound, in seconds (default 600).
    pub request_timeout: Option<f64>,
    /// Fallbacks, as in `router_settings` (LiteLLM reads them here too).
    #[serde(default)]
    pub fallbacks: Fallbacks,
    /// Context-window fallbacks, as in `router_settings`.
    #[serde(default)]
    pub context_window_fallbacks: Fallbacks,
    /// Content-policy fallbacks, as in `router_settings`.
    #[serde(default)]
    pub content_policy_fallbacks: Fallbacks,
    /// LiteLLM's logging callbacks: `prometheus` (LiteLLM's metric names on
    /// `/metrics`) and `otel` (OTLP export of the spans) are served; any
    /// other is a warning.
    #[serde(default)]
    pub callbacks: Vec<String>,
}

impl LitellmSettings {
    /// The callbacks the gateway serves.
    pub const SUPPORTED_CALLBACKS: &'static [&'static str] = &["prometheus", "otel"];

    /// Whether `callbacks` names `name`.
    pub fn has_callback(&self, name: &str) -> bool {
        self.callbacks.iter().any(|c| c == name)
    }
}

/// `general_settings`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GeneralSettings {
    /// The key every caller sends as `Authorization: Bearer` (also
    /// `LITELLM_MASTER_KEY`). Required to listen on a non-loopback address.
    pub master_key: Option<Secret>,
    /// The database for keys and spend (governance).
    pub database_url: Option<Secret>,
    /// The largest request body, in MiB (default 32).
    pub max_request_size_mb: Option<f64>,
    /// llm-gateway: seconds a client has to send a request's headers, and
    /// an idle keep-alive connection is kept (default 30).
    pub header_timeout: Option<f64>,
    /// llm-gateway: seconds in-flight calls get to finish after SIGTERM (default 30).
    pub graceful_shutdown_timeout: Option<f64>,
    /// llm-gateway: a call to a model without a price by a key or team with
    /// a budget is refused (`reject`, the default) or served and its spend
    /// log row marked `unpriced` (`allow`); never billed as if it cost $0.
    pub unpriced_models: Option<UnpricedModels>,
    /// llm-gateway: per limit kind, whether it fails open (counted in each
    /// replica) or closed (503) while Redis does not answer.
    #[serde(default)]
    pub redis_fail_open: RedisFailOpen,
}

/// `general_settings.unpriced_models`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnpricedModels {
    /// Refuse the call (400 `unpriced_model`).
    Reject,
    /// Serve it; its spend log row says `unpriced`.
    Allow,
}

/// `general_settings.redis_fail_open`: each limit kind open (`true`, the
/// default) or closed (`false`) while Redis does not answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct RedisFailOpen {
    /// Keys', teams' and deployments' `rpm`.
    pub rpm_limit: Option<bool>,
    /// Keys', teams' and deployments' `tpm`.
    pub tpm_limit: Option<bool>,
    /// Keys' and teams' `max_parallel_requests`.
    pub max_parallel_requests: Option<bool>,
    /// Keys' and teams' `max_budget`.
    pub max_budget: Option<bool>,
}
