//! [`Deployment`] and its [`Limits`]: one provider/model a group routes to.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::provider_client::LlmProvider;

/// Limits of one scope (a deployment or a whole group). `None` is no limit.
///
/// Requests and tokens are counted over a sliding window of one minute; the
/// in-flight count is the number of calls reserved and not yet settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests per minute.
    pub rpm: Option<u64>,
    /// Tokens (counted prompt + `max_tokens` when reserved, actual usage once
    /// settled) per minute.
    pub tpm: Option<u64>,
    /// Calls in flight at once.
    pub max_in_flight: Option<u64>,
    /// What to do when the shared state (Redis) cannot be asked in time:
    /// `true` admits the call against this process's own counters (fail-open,
    /// the default), `false` refuses it (fail-closed).
    pub fail_open: bool,
}

impl Limits {
    /// No limit, fail-open.
    pub const fn none() -> Self {
        Limits {
            rpm: None,
            tpm: None,
            max_in_flight: None,
            fail_open: true,
        }
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some() || self.max_in_flight.is_some()
    }
}

/// One provider/model a group routes to, with its own weight, limits,
/// timeout and retries. The provider carries its own config (key, base URL,
/// region).
///
/// ```
/// # use std::time::Duration;
/// # fn demo(eu: llm_runtime::ProviderClient<llm_runtime::providers::OpenAi>) {
/// use llm_runtime::router::Deployment;
/// let d = Deployment::new(eu, "gpt-4o")
///     .id("openai-eu")
///     .weight(2)
///     .rpm(600)
///     .tpm(200_000)
///     .max_in_flight(20)
///     .timeout(Duration::from_secs(30))
///     .max_retries(1);
/// # let _ = d; }
/// ```
#[derive(Clone)]
pub struct Deployment {
    pub(crate) id: String,
    pub(crate) provider: Arc<dyn LlmProvider>,
    pub(crate) model: String,
    pub(crate) weight: Option<u32>,
    pub(crate) limits: Limits,
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) context_window: Option<u64>,
}

impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deployment")
            .field("id", &self.id)
            .field("model", &self.model)
            .field("weight", &self.weight)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// `model` on `provider`; its id is `provider/model` until [`Deployment::id`] names it.
    pub fn new(provider: impl LlmProvider + 'static, model: impl Into<String>) -> Self {
        Deployment::from_arc(Arc::new(provider), model)
    }

    /// [`Deployment::new`] with a provider that is already shared.
    pub fn from_arc(provider: Arc<dyn LlmProvider>, model: impl Into<String>) -> Self {
        let model = model.into();
        Deployment {
            id: format!("{}/{model}", provider.info().name),
            provider,
            model,
            weight: None,
            limits: Limits::none(),
            timeout: None,
            max_retries: None,
            context_window: None,
        }
    }

    /// The id the trace, the errors and the shared state name it by (unique in its group).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Its share under weighted-random routing (default: its rpm, else its tpm, else 1).
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = Some(weight);
        self
    }

    limit_setters!("");

    /// Bound each call to this deployment (instead of the provider's configured timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries of the provider client on this deployment before the router moves on.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Its context window in tokens, where the catalog does not know the model
    /// (or knows a different one for this deployment).
    pub fn context_window(mut self, tokens: u64) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// The deployment's id.
    pub fn name(&self) -> &str {
        &self.id
    }

    /// The model it serves.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The weight weighted-random routing uses: the given one, else rpm, else tpm, else 1.
    pub fn effective_weight(&self) -> u64 {
        self.weight
            .map(u64::from)
            .or(self.limits.rpm)
            .or(self.limits.tpm)
            .unwrap_or(1)
    }

    /// Its context window: the configured one, else the catalog's for
    /// `provider/model`, else `None` (unknown: never skipped by the pre-check).
    pub fn effective_context_window(&self) -> Option<u64> {
        self.context_window.or_else(|| {
            let route = format!("{}/{}", self.provider.info().name, self.model);
            crate::catalog::context_window(&route).map(u64::from)
        })
    }

    /// The catalog's price per million tokens, input plus output, if published.
    pub(crate) fn catalog_price(&self) -> Option<f64> {
        let route = format!("{}/{}", self.provider.info().name, self.model);
        let price = crate::catalog::lookup(&route)?.price?;
        Some(price.input + price.output)
    }
}
