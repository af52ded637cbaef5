//! [`Client`]: every registered provider behind one `"provider/model"` router,
//! with fallbacks.
//!
//! Providers are held as `Arc<dyn LlmProvider>` by name, so a provider declared
//! in another crate registers exactly like a built-in one:
//!
//! ```no_run
//! use llm_runtime::{ChatRequest, Client};
//! use llm_runtime::providers::{Anthropic, OpenAi};
//!
//! # async fn run() -> llm_runtime::Result<()> {
//! let client = Client::builder()
//!     .register(OpenAi::from_env()?)?
//!     .register(Anthropic::from_env()?)?
//!     .fallback("openai/gpt-4o-mini")
//!     .build()?;
//! let reply = client
//!     .chat("anthropic/claude-sonnet-4-5", ChatRequest::new("").user("Hello"))
//!     .await?;
//! println!("{} answered: {}", reply.provider, reply.text());
//! # Ok(()) }
//! ```

mod operations;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::error::{Error, ErrorKind, Result};
use crate::hooks::Hook;
use crate::provider_client::ChatStream;
use crate::providers::Builtin;
use crate::router::{ModelGroup, Router, RouterBuilder, RouterState};
use crate::spec::ProviderSpec;
use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo,
    UnsupportedParamPolicy,
};
use crate::{provider::HealthStatus, provider_client::LlmProvider};

/// Where a call goes: a registered provider and one of its models.
///
/// Written `provider/model` and split at the first `/`, so the model may itself
/// contain slashes (`openrouter/anthropic/claude-3.5-sonnet`). A bare `provider`
/// (or `provider/`) selects the provider's default model.
///
/// ```
/// use llm_runtime::client::Route;
/// let r: Route = "openrouter/anthropic/claude-3.5-sonnet".parse()?;
/// assert_eq!((r.provider.as_str(), r.model.as_str()), ("openrouter", "anthropic/claude-3.5-sonnet"));
/// # Ok::<(), llm_runtime::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// The provider's registered name.
    pub provider: String,
    /// The model as the provider names it; empty for the provider's default.
    pub model: String,
}

impl Route {
    /// Parse `provider/model`.
    pub fn parse(route: &str) -> Result<Route> {
        let (provider, model) = Route::split(route)?;
        Ok(Route {
            provider: provider.to_owned(),
            model: model.to_owned(),
        })
    }

    /// `provider/model` as its two parts, borrowed.
    fn split(route: &str) -> Result<(&str, &str)> {
        let (provider, model) = route.split_once('/').unwrap_or((route, ""));
        if provider.trim().is_empty() {
            return Err(Error::config(format!(
                "`{route}` does not name a provider: write `provider/model`, e.g. `openai/gpt-4o-mini`"
            )));
        }
        Ok((provider, model))
    }
}

/// A resolved route, borrowed for one call: no allocation per call.
#[derive(Clone, Copy)]
struct Target<'a> {
    provider_name: &'a str,
    model: &'a str,
    provider: &'a Arc<dyn LlmProvider>,
}

/// Where one try of a call goes.
enum Hop<'a> {
    /// A model group's router (its deployments, then its group fallbacks).
    Group(&'a Router, &'a str),
    /// A registered provider.
    Provider(Arc<dyn LlmProvider>),
}

impl Target<'_> {
    fn same_route(&self, other: &Target<'_>) -> bool {
        self.provider_name == other.provider_name && self.model == other.model
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider_name, self.model)
    }
}

impl std::str::FromStr for Route {
    type Err = Error;

    fn from_str(s: &str) -> Result<Route> {
        Route::parse(s)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

use crate::options::ChatOptions;

/// Routes calls to registered providers by `"provider/model"`, with fallbacks.
///
/// Cheap to clone: clones share the providers and their connection pools.
/// Build one with [`Client::builder`] or [`Client::from_env`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    providers: BTreeMap<&'static str, Arc<dyn LlmProvider>>,
    fallbacks: Vec<Route>,
    /// `fallbacks` resolved once, at build time.
    fallback_plan: Vec<(Route, Arc<dyn LlmProvider>)>,
    unsupported_params: Option<UnsupportedParamPolicy>,
    hooks: Vec<Arc<dyn Hook>>,
    /// The model groups, when any was added.
    router: Option<Router>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "providers",
                &self.inner.providers.keys().collect::<Vec<_>>(),
            )
            .field("fallbacks", &self.inner.fallbacks)
            .field("unsupported_params", &self.inner.unsupported_params)
            .finish()
    }
}

/// Builds a [`Client`]: register providers, then set fallbacks and defaults.
#[derive(Default)]
pub struct ClientBuilder {
    providers: BTreeMap<&'static str, Arc<dyn LlmProvider>>,
    fallbacks: Vec<String>,
    unsupported_params: Option<UnsupportedParamPolicy>,
    hooks: Vec<Arc<dyn Hook>>,
    router: RouterBuilder,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("fallbacks", &self.fallbacks)
            .finish()
    }
}

impl ClientBuilder {
    /// Register a provider under its declared name (a `ProviderClient<P>`, or any
    /// other [`LlmProvider`]). A second provider with the same name is a
    /// [`ErrorKind::Config`] error.
    pub fn register(self, provider: impl LlmProvider + 'static) -> Result<Self> {
        self.register_arc(Arc::new(provider))
    }

    /// Register a provider that is already shared.
    pub fn register_arc(mut self, provider: Arc<dyn LlmProvider>) -> Result<Self> {
        let name = provider.info().name;
        if name.is_empty() || name.contains('/') {
            return Err(Error::config(format!(
                "a provider name must be non-empty and without `/`, got `{name}`"
            )));
        }
        if self.providers.contains_key(name) {
            return Err(Error::config(format!(
                "a provider named `{name}` is already registered; each name routes to one provider"
            ))
            .with_provider(name));
        }
        self.providers.insert(name, provider);
        Ok(self)
    }

    /// Register every built-in provider whose key variable is set (see [`Client::from_env`]).
    pub fn register_from_env(mut self) -> Result<Self> {
        for builtin in builtins() {
            if env_configured(builtin.spec) && !self.providers.contains_key(builtin.spec.name) {
                self = self.register_arc((builtin.connect)()?)?;
            }
        }
        Ok(self)
    }

    /// Add a fallback route (`provider/model`), tried in order when a call fails
    /// with a retryable error (after the provider's own retries) or because the
    /// prompt exceeds the model's context window. Never tried on authentication,
    /// permission, validation or unsupported-parameter errors. A call to a
    /// model group falls back here too, once its router has tried the group's
    /// deployments and its own group fallbacks.
    pub fn fallback(mut self, route: impl Into<String>) -> Self {
        self.fallbacks.push(route.into());
        self
    }

    /// The unsupported-parameter policy for calls whose request sets none
    /// (default: each provider's configured policy, which defaults to Reject).
    pub fn unsupported_params(mut self, policy: UnsupportedParamPolicy) -> Self {
        self.unsupported_params = Some(policy);
        self
    }

    /// Run `hook` on every attempt of every call through this client (after
    /// each provider's configured hooks, before the call's own).
    pub fn hook(mut self, hook: Arc<dyn Hook>) -> Self {
        self.hooks.push(hook);
        self
    }

    /// Add a model group: `client.chat("NAME", ..)` then routes between its
    /// deployments (see [`crate::router`]). A group name wins over a provider name.
    pub fn group(mut self, group: ModelGroup) -> Self {
        self.router = self.router.group(group);
        self
    }

    /// Keep the groups' limits and shared cooldowns in `state` (default: in
    /// this process; `RedisState` with the `redis` feature shares them).
    pub fn router_state(mut self, state: Arc<dyn RouterState>) -> Self {
        self.router = self.router.state(state);
        self
    }

    /// Check the fallbacks name registered providers and build the client.
    pub fn build(self) -> Result<Client> {
        let router = match self.router.is_empty() {
            true => None,
            false => Some(self.router.build()?),
        };
        let inner = Inner {
            providers: self.providers,
            fallbacks: Vec::new(),
            fallback_plan: Vec::new(),
            unsupported_params: self.unsupported_params,
            hooks: self.hooks,
            router,
        };
        let fallback_plan = self
            .fallbacks
            .iter()
            .map(|r| inner.resolve(r))
            .collect::<Result<Vec<_>>>()?;
        let fallbacks = fallback_plan.iter().map(|(r, _)| r.clone()).collect();
        Ok(Client {
            inner: Arc::new(Inner {
                fallbacks,
                fallback_plan,
                ..inner
            }),
        })
    }
}

impl Client {
    /// A builder with no providers.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client with every built-in provider whose variables are set
    /// (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...); a keyless provider such as
    /// Ollama registers when its base-URL variable is set, and an account-scoped
    /// one such as Cloudflare when its placeholder variable (`CLOUDFLARE_ACCOUNT_ID`)
    /// is set too. A variable that is set but unusable (e.g. a provider that also
    /// needs a base URL) is an error.
    pub fn from_env() -> Result<Client> {
        Client::builder().register_from_env()?.build()
    }

    /// The registered provider names, sorted.
    pub fn providers(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.providers.keys().copied()
    }

    /// The provider registered as `name`.
    pub fn provider(&self, name: &str) -> Option<&Arc<dyn LlmProvider>> {
        self.inner.providers.get(name)
    }

    /// The router of the client's model groups, if it has any.
    pub fn router(&self) -> Option<&Router> {
        self.inner.router.as_ref()
    }

    /// The client's fallback routes, in order.
    pub fn fallbacks(&self) -> &[Route] {
        &self.inner.fallbacks
    }

    /// Send `request` to `route` (`provider/model`; it replaces `request.model`)
    /// and wait for the whole answer, falling back as configured.
    /// [`ChatResponse::provider`] and [`ChatResponse::model`] say who answered.
    pub async fn chat(&self, route: &str, request: ChatRequest) -> Result<ChatResponse> {
        self.chat_with(route, request, &ChatOptions::default())
            .await
    }

    /// [`Client::chat`] with per-call options.
    pub async fn chat_with(
        &self,
        route: &str,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatResponse> {
        let options = self.inner.with_hooks(options);
        let call = |hop, req| {
            let options = &options;
            async move {
                match hop {
                    Hop::Group(router, group) => router.chat(group, req, options).await,
                    Hop::Provider(provider) => provider.chat_with(req, options).await,
                }
            }
        };
        self.with_fallbacks(route, request, &options, call, |response, route| {
            // A hand-written provider may leave it empty: say who served it.
            if response.provider.is_empty() {
                route.provider_name.clone_into(&mut response.provider);
            }
            response.meta.route = Some(route.to_string());
        })
        .await
    }

    /// Try `call` on the primary route (a model group, whose router tries
    /// its deployments and group fallbacks, or a provider route), then on
    /// each fallback route while the error allows it; `served` sees a result
    /// with the provider route that served it (a group's router says so in
    /// its own metadata).
    async fn with_fallbacks<'a, T, F, Fut>(
        &'a self,
        route: &'a str,
        request: ChatRequest,
        options: &'a ChatOptions,
        call: F,
        served: impl Fn(&mut T, &Target<'_>),
    ) -> Result<T>
    where
        F: Fn(Hop<'a>, ChatRequest) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let group = self.inner.group_router(route);
        let primary = match group {
            Some(_) => None,
            None => Some(self.inner.target(route)?),
        };
        let rest = self.inner.fallbacks_for(primary.as_ref(), options)?;
        let request = self.inner.with_policy(request, options);
        let last = rest.len();
        let mut request = Some(request);
        for i in 0..=last {
            let mut req = if i == last {
                request.take()
            } else {
                request.clone()
            }
            .unwrap_or_default();
            let (hop, target) = match (i, group, &primary) {
                (0, Some(router), _) => (Hop::Group(router, route), None),
                (0, None, Some(target)) => {
                    (Hop::Provider(Arc::clone(target.provider)), Some(target))
                }
                // Not a group, and no target: `target` returned its error above.
                (0, None, None) => break,
                _ => match rest.get(i - 1) {
                    Some(target) => (Hop::Provider(Arc::clone(target.provider)), Some(target)),
                    None => break,
                },
            };
            if let Some(target) = target
                && req.model != target.model
            {
                target.model.clone_into(&mut req.model);
            }
            match call(hop, req).await {
                Ok(mut value) => {
                    if let Some(target) = target {
                        served(&mut value, target);
                    }
                    return Ok(value);
                }
                Err(e) if i < last && falls_back(&e) => {
                    let from = target.map_or_else(|| route.to_owned(), Target::to_string);
                    log_fallback(&from, &rest[i], &e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::config("no route to try"))
    }

    /// Send `request` to `route` and stream the answer. Fallbacks apply while the
    /// stream is being opened; once events flow, an error ends the stream.
    pub async fn chat_stream(&self, route: &str, request: ChatRequest) -> Result<ChatStream> {
        self.chat_stream_with(route, request, &ChatOptions::default())
            .await
    }

    /// [`Client::chat_stream`] with per-call options.
    pub async fn chat_stream_with(
        &self,
        route: &str,
        request: ChatRequest,
        options: &ChatOptions,
    ) -> Result<ChatStream> {
        let options = self.inner.with_hooks(options);
        let call = |hop, req| {
            let options = &options;
            async move {
                match hop {
                    Hop::Group(router, group) => router.chat_stream(group, req, options).await,
                    Hop::Provider(provider) => provider.chat_stream_with(req, options).await,
                }
            }
        };
        self.with_fallbacks(route, request, &options, call, |stream, route| {
            stream.meta_mut().route = Some(route.to_string());
        })
        .await
    }

    /// Embed with the provider and model of `route` (no fallbacks: vectors from
    /// different models are not comparable).
    pub async fn embed(
        &self,
        route: &str,
        mut request: EmbeddingRequest,
    ) -> Result<EmbeddingResponse> {
        let (route, provider) = self.inner.resolve(route)?;
        if !route.model.is_empty() {
            request.model = route.model;
        }
        provider.embed(request).await
    }

    /// The models a registered provider lists.
    pub async fn list_models(&self, provider: &str) -> Result<Vec<ModelInfo>> {
        let (_, provider) = self.inner.resolve(provider)?;
        provider.list_models().await
    }

    /// Probe every registered provider concurrently, by name.
    pub async fn health_check_all(&self) -> BTreeMap<String, HealthStatus> {
        let checks =
            self.inner
                .providers
                .iter()
                .map(|(name, provider)| async move {
                    ((*name).to_owned(), provider.health_check().await)
                });
        join_all(checks).await.into_iter().collect()
    }
}

impl Inner {
    /// The router, when `route` names one of its groups.
    fn group_router(&self, route: &str) -> Option<&Router> {
        self.router.as_ref().filter(|r| r.group(route).is_some())
    }

    fn resolve(&self, route: &str) -> Result<(Route, Arc<dyn LlmProvider>)> {
        let route = Route::parse(route)?;
        match self.providers.get(route.provider.as_str()) {
            Some(p) => Ok((route, Arc::clone(p))),
            None => Err(self.unknown_provider(&route.provider)),
        }
    }

    fn unknown_provider(&self, name: &str) -> Error {
        let registered = if self.providers.is_empty() {
            "none".to_owned()
        } else {
            self.providers
                .keys()
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let hint = builtins()
            .iter()
            .find(|b| b.spec.name == name)
            .and_then(|b| b.spec.api_key_env.or(b.spec.base_url_env))
            .map(|var| format!(" (set {var} and use `Client::from_env()`, or register it)"))
            .unwrap_or_default();
        Error::config(format!(
            "no provider named `{name}` is registered{hint}; registered providers: {registered}"
        ))
    }

    /// `route` resolved, borrowed from it and from the registry.
    fn target<'a>(&'a self, route: &'a str) -> Result<Target<'a>> {
        let (provider_name, model) = Route::split(route)?;
        match self.providers.get(provider_name) {
            Some(provider) => Ok(Target {
                provider_name,
                model,
                provider,
            }),
            None => Err(self.unknown_provider(provider_name)),
        }
    }

    /// The routes to try after `primary` (`None`: a model group), in order:
    /// the call's fallbacks (or the client's, resolved at build time) that
    /// differ from it and from each other. Allocates nothing when there are none.
    fn fallbacks_for<'a>(
        &'a self,
        primary: Option<&Target<'_>>,
        options: &'a ChatOptions,
    ) -> Result<Vec<Target<'a>>> {
        let candidates: Vec<Target<'a>> = match &options.fallbacks {
            Some(list) => list.iter().map(|r| self.target(r)).collect::<Result<_>>()?,
            None => self
                .fallback_plan
                .iter()
                .map(|(route, provider)| Target {
                    provider_name: &route.provider,
                    model: &route.model,
                    provider,
                })
                .collect(),
        };
        let mut rest: Vec<Target<'a>> = Vec::new();
        for c in candidates {
            if !primary.is_some_and(|p| c.same_route(p)) && rest.iter().all(|r| !r.same_route(&c)) {
                rest.push(c);
            }
        }
        Ok(rest)
    }

    /// The call's options with the client's hooks first (no copy without hooks).
    fn with_hooks<'a>(&self, options: &'a ChatOptions) -> std::borrow::Cow<'a, ChatOptions> {
        if self.hooks.is_empty() {
            return std::borrow::Cow::Borrowed(options);
        }
        let mut owned = options.clone();
        owned.hooks = self
            .hooks
            .iter()
            .cloned()
            .chain(options.hooks.iter().cloned())
            .collect();
        std::borrow::Cow::Owned(owned)
    }

    fn with_policy(&self, mut request: ChatRequest, options: &ChatOptions) -> ChatRequest {
        if request.unsupported_params.is_none() {
            request.unsupported_params = options.unsupported_params.or(self.unsupported_params);
        }
        request
    }
}

/// Whether a failed call should move on to the next route: the upstream is
/// failing (after its own retries) or the prompt does not fit this model.
/// Never for authentication, permission, validation or configuration errors,
/// which another route would only repeat or hide.
fn falls_back(e: &Error) -> bool {
    e.is_retryable() || e.kind() == ErrorKind::ContextWindowExceeded
}

fn log_fallback(from: &str, to: &Target<'_>, e: &Error) {
    tracing::warn!(from = %from, to = %to, kind = %e.kind(), status = e.status(), "falling back");
}

/// Whether the environment asks for this provider: every variable it declares
/// is set ([`ProviderSpec::required_env`]). A set base-URL variable replaces the
/// whole URL, so it stands in for the URL placeholders' variables.
fn env_configured(spec: &ProviderSpec) -> bool {
    // A signing provider takes credentials from any of several sources.
    if let crate::spec::AuthScheme::SigV4 { .. } = spec.auth {
        return crate::auth::aws::env_configured(spec);
    }
    let set = |var: &str| std::env::var(var).is_ok_and(|v| !v.trim().is_empty());
    let url_given = spec.base_url_env.is_some_and(set);
    spec.required_env()
        .into_iter()
        .all(|var| set(var) || (url_given && spec.url_vars.iter().any(|(_, v)| *v == var)))
}

/// The built-in providers, in registration order: the one table in [`crate::providers`].
fn builtins() -> &'static [Builtin] {
    crate::providers::BUILTINS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_split_at_the_first_slash() {
        let r = Route::parse("openai/gpt-4o").expect("valid");
        assert_eq!(
            (r.provider.as_str(), r.model.as_str()),
            ("openai", "gpt-4o")
        );
        let r = Route::parse("openrouter/anthropic/claude-3").expect("valid");
        assert_eq!(
            (r.provider.as_str(), r.model.as_str()),
            ("openrouter", "anthropic/claude-3")
        );
        let r = Route::parse("ollama").expect("valid");
        assert_eq!((r.provider.as_str(), r.model.as_str()), ("ollama", ""));
        assert_eq!(
            Route::parse("/gpt-4o").map_err(|e| e.kind()).err(),
            Some(ErrorKind::Config)
        );
        assert_eq!(
            Route::parse("").map_err(|e| e.kind()).err(),
            Some(ErrorKind::Config)
        );
    }

    #[test]
    fn what_falls_back() {
        for kind in [
            ErrorKind::RateLimited,
            ErrorKind::ServerError,
            ErrorKind::Overloaded,
            ErrorKind::Timeout,
            ErrorKind::Network,
            ErrorKind::ContextWindowExceeded,
        ] {
            assert!(falls_back(&Error::new(kind, "x")), "{kind}");
        }
        for kind in [
            ErrorKind::Authentication,
            ErrorKind::PermissionDenied,
            ErrorKind::InvalidRequest,
            ErrorKind::Unsupported,
            ErrorKind::Config,
            ErrorKind::ContentFilter,
        ] {
            assert!(!falls_back(&Error::new(kind, "x")), "{kind}");
        }
    }

    #[test]
    fn unknown_provider_lists_the_registered_ones() {
        let client = Client::builder().build().expect("empty client");
        let err = client.inner.resolve("openai/gpt-4o").expect_err("unknown");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(
            err.message().contains("registered providers: none"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn built_in_names_are_unique_and_cover_the_catalog() {
        let names: Vec<&str> = builtins().iter().map(|b| b.spec.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for card in crate::catalog::models() {
            assert!(
                names.contains(&card.provider),
                "catalog provider `{}` is no built-in",
                card.provider
            );
        }
    }

    #[test]
    fn fallbacks_must_name_registered_providers() {
        let err = Client::builder()
            .fallback("nobody/model")
            .build()
            .expect_err("unknown fallback");
        assert_eq!(err.kind(), ErrorKind::Config);
    }
}
