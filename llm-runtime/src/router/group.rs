//! [`ModelGroup`]: a name callers use for several deployments, with its
//! strategy, limits, cooldown policy and fallbacks.

use super::deployment::{Deployment, Limits};
use super::health::CooldownPolicy;
use super::strategy::Strategy;

/// A name callers use (an alias) for several deployments of a model.
///
/// ```
/// # fn demo(a: llm_runtime::ProviderClient<llm_runtime::providers::OpenAi>,
/// #         b: llm_runtime::ProviderClient<llm_runtime::providers::OpenAi>) {
/// use llm_runtime::router::{Deployment, ModelGroup, Strategy};
/// let group = ModelGroup::new("gpt-4o")
///     .deployment(Deployment::new(a, "gpt-4o").weight(1))
///     .deployment(Deployment::new(b, "gpt-4o").id("second").weight(3))
///     .strategy(Strategy::LeastBusy)
///     .rpm(1_000)
///     .fallback("gpt-4o-mini")
///     .context_window_fallback("gpt-4.1");
/// # let _ = group; }
/// ```
#[derive(Debug, Clone)]
pub struct ModelGroup {
    pub(crate) name: String,
    pub(crate) deployments: Vec<Deployment>,
    pub(crate) strategy: Strategy,
    pub(crate) limits: Limits,
    pub(crate) cooldown: CooldownPolicy,
    pub(crate) fallbacks: Vec<String>,
    pub(crate) context_window_fallbacks: Vec<String>,
    pub(crate) content_policy_fallbacks: Vec<String>,
}

impl ModelGroup {
    /// An empty group called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ModelGroup {
            name: name.into(),
            deployments: Vec::new(),
            strategy: Strategy::default(),
            limits: Limits::none(),
            cooldown: CooldownPolicy::default(),
            fallbacks: Vec::new(),
            context_window_fallbacks: Vec::new(),
            content_policy_fallbacks: Vec::new(),
        }
    }

    /// Add a deployment.
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployments.push(deployment);
        self
    }

    /// How deployments are ordered for each call (default: weighted random).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    limit_setters!(" over the whole group");

    /// When a deployment is put in cooldown, and for how long.
    pub fn cooldown(mut self, policy: CooldownPolicy) -> Self {
        self.cooldown = policy;
        self
    }

    /// The group to try when every deployment failed with a retryable error.
    pub fn fallback(mut self, group: impl Into<String>) -> Self {
        self.fallbacks.push(group.into());
        self
    }

    /// The group to try when the prompt does not fit this group's windows.
    pub fn context_window_fallback(mut self, group: impl Into<String>) -> Self {
        self.context_window_fallbacks.push(group.into());
        self
    }

    /// The group to try when a content policy refused the call.
    pub fn content_policy_fallback(mut self, group: impl Into<String>) -> Self {
        self.content_policy_fallbacks.push(group.into());
        self
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its deployments, in declaration order.
    pub fn deployments(&self) -> &[Deployment] {
        &self.deployments
    }

    pub(crate) fn fallbacks_for(&self, class: crate::types::FallbackClass) -> &[String] {
        use crate::types::FallbackClass;
        match class {
            FallbackClass::Generic => &self.fallbacks,
            FallbackClass::ContextWindow => &self.context_window_fallbacks,
            FallbackClass::ContentPolicy => &self.content_policy_fallbacks,
        }
    }
}
