//! The parameters of a [`ChatRequest`] by name, and sets of them: what a
//! transform reports it cannot send, and what the unsupported-parameter
//! policy then clears or passes through.

use serde::Serialize;
use serde_json::Value;

use super::request::ChatRequest;

/// A parameter of a [`ChatRequest`] that an API may not support.
///
/// ```
/// use llm_runtime::{ChatRequest, types::Param};
/// let req = ChatRequest::new("m").seed(7);
/// assert!(Param::Seed.is_set(&req));
/// assert_eq!(Param::Seed.name(), "seed");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    /// [`ChatRequest::temperature`].
    Temperature,
    /// [`ChatRequest::top_p`].
    TopP,
    /// [`ChatRequest::max_tokens`].
    MaxTokens,
    /// [`ChatRequest::stop`].
    Stop,
    /// [`ChatRequest::seed`].
    Seed,
    /// [`ChatRequest::tools`].
    Tools,
    /// [`ChatRequest::tool_choice`].
    ToolChoice,
    /// [`ChatRequest::response_format`].
    ResponseFormat,
    /// [`ChatRequest::reasoning_effort`].
    ReasoningEffort,
    /// [`ChatRequest::reasoning_budget`].
    ReasoningBudget,
    /// [`ChatRequest::user`].
    User,
    /// [`ChatRequest::cache_key`].
    CacheKey,
    /// [`ChatRequest::cached_content`].
    CachedContent,
    /// [`ChatRequest::reasoning_summary`].
    ReasoningSummary,
}

impl Param {
    /// Every parameter, in declaration order (the order sets list them in).
    pub const ALL: [Param; 14] = [
        Param::Temperature,
        Param::TopP,
        Param::MaxTokens,
        Param::Stop,
        Param::Seed,
        Param::Tools,
        Param::ToolChoice,
        Param::ResponseFormat,
        Param::ReasoningEffort,
        Param::ReasoningBudget,
        Param::User,
        Param::CacheKey,
        Param::CachedContent,
        Param::ReasoningSummary,
    ];

    /// The field's name in [`ChatRequest`] (and in its JSON form): `"top_p"`.
    pub const fn name(self) -> &'static str {
        match self {
            Param::Temperature => "temperature",
            Param::TopP => "top_p",
            Param::MaxTokens => "max_tokens",
            Param::Stop => "stop",
            Param::Seed => "seed",
            Param::Tools => "tools",
            Param::ToolChoice => "tool_choice",
            Param::ResponseFormat => "response_format",
            Param::ReasoningEffort => "reasoning_effort",
            Param::ReasoningBudget => "reasoning_budget",
            Param::User => "user",
            Param::CacheKey => "cache_key",
            Param::CachedContent => "cached_content",
            Param::ReasoningSummary => "reasoning_summary",
        }
    }

    /// Whether `request` sets this parameter (a list parameter: is not empty).
    pub fn is_set(self, request: &ChatRequest) -> bool {
        match self {
            Param::Temperature => request.temperature.is_some(),
            Param::TopP => request.top_p.is_some(),
            Param::MaxTokens => request.max_tokens.is_some(),
            Param::Stop => !request.stop.is_empty(),
            Param::Seed => request.seed.is_some(),
            Param::Tools => !request.tools.is_empty(),
            Param::ToolChoice => request.tool_choice.is_some(),
            Param::ResponseFormat => request.response_format.is_some(),
            Param::ReasoningEffort => request.reasoning_effort.is_some(),
            Param::ReasoningBudget => request.reasoning_budget.is_some(),
            Param::User => request.user.is_some(),
            Param::CacheKey => request.cache_key.is_some(),
            Param::CachedContent => request.cached_content.is_some(),
            Param::ReasoningSummary => request.reasoning_summary.is_some(),
        }
    }

    /// Unset this parameter of `request`.
    fn clear(self, request: &mut ChatRequest) {
        match self {
            Param::Temperature => request.temperature = None,
            Param::TopP => request.top_p = None,
            Param::MaxTokens => request.max_tokens = None,
            Param::Stop => request.stop.clear(),
            Param::Seed => request.seed = None,
            Param::Tools => request.tools.clear(),
            Param::ToolChoice => request.tool_choice = None,
            Param::ResponseFormat => request.response_format = None,
            Param::ReasoningEffort => request.reasoning_effort = None,
            Param::ReasoningBudget => request.reasoning_budget = None,
            Param::User => request.user = None,
            Param::CacheKey => request.cache_key = None,
            Param::CachedContent => request.cached_content = None,
            Param::ReasoningSummary => request.reasoning_summary = None,
        }
    }

    /// This parameter of `request` as JSON, as [`ChatRequest`] serializes it;
    /// `None` when it is not set.
    fn value(self, request: &ChatRequest) -> Option<Value> {
        fn json(value: &impl Serialize) -> Option<Value> {
            serde_json::to_value(value).ok()
        }
        if !self.is_set(request) {
            return None;
        }
        match self {
            Param::Temperature => json(&request.temperature),
            Param::TopP => json(&request.top_p),
            Param::MaxTokens => json(&request.max_tokens),
            Param::Stop => json(&request.stop),
            Param::Seed => json(&request.seed),
            Param::Tools => json(&request.tools),
            Param::ToolChoice => json(&request.tool_choice),
            Param::ResponseFormat => json(&request.response_format),
            Param::ReasoningEffort => json(&request.reasoning_effort),
            Param::ReasoningBudget => json(&request.reasoning_budget),
            Param::User => json(&request.user),
            Param::CacheKey => json(&request.cache_key),
            Param::CachedContent => json(&request.cached_content),
            Param::ReasoningSummary => json(&request.reasoning_summary),
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Param`]s, listed in declaration order.
///
/// ```
/// use llm_runtime::{ChatRequest, types::{Param, Params}};
/// let mut req = ChatRequest::new("m").seed(7).end_user("u1").temperature(0.5);
/// let unsupported = Params::of(&[Param::Seed, Param::User, Param::TopP]).set_in(&req);
/// assert_eq!(unsupported, ["seed", "user"]);
/// unsupported.passthrough_into(&mut req);
/// assert_eq!(req.extra["seed"], 7);
/// unsupported.clear_from(&mut req);
/// assert_eq!((req.seed, req.user.as_deref()), (None, None));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Params(u16);

impl Params {
    /// The empty set.
    pub const NONE: Params = Params(0);

    /// The set holding exactly `params`.
    pub const fn of(params: &[Param]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < params.len() {
            bits |= params[i].bit();
            i += 1;
        }
        Params(bits)
    }

    /// The parameters in either set.
    pub const fn union(self, other: Params) -> Params {
        Params(self.0 | other.0)
    }

    /// Add `param`.
    pub fn insert(&mut self, param: Param) {
        self.0 |= param.bit();
    }

    /// Whether `param` is in the set.
    pub const fn contains(self, param: Param) -> bool {
        self.0 & param.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many parameters the set holds.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The parameters of the set that `request` sets.
    pub fn set_in(self, request: &ChatRequest) -> Self {
        if self.is_empty() {
            return self;
        }
        self.iter().filter(|p| p.is_set(request)).collect()
    }

    /// The parameters, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Param> {
        Param::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// Their names ([`Param::name`]), in declaration order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Param::name).collect()
    }

    /// Unset every parameter of the set in `request` (the Drop policy).
    pub fn clear_from(&self, request: &mut ChatRequest) {
        for param in self.iter() {
            param.clear(request);
        }
    }

    /// Copy every parameter of the set that `request` sets into its `extra`,
    /// under its own name, so it reaches the body as-is (the Passthrough
    /// policy: `extra` is merged into every dialect's body). A key `extra`
    /// already has is left alone. Only these fields are serialized.
    pub fn passthrough_into(&self, request: &mut ChatRequest) {
        for param in self.iter() {
            if request.extra.contains_key(param.name()) {
                continue;
            }
            if let Some(value) = param.value(request) {
                request.extra.insert(param.name().to_owned(), value);
            }
        }
    }
}

impl FromIterator<Param> for Params {
    fn from_iter<I: IntoIterator<Item = Param>>(iter: I) -> Self {
        let mut params = Params::NONE;
        for param in iter {
            params.insert(param);
        }
        params
    }
}

impl From<Param> for Params {
    fn from(param: Param) -> Self {
        Params(param.bit())
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(Param::name)).finish()
    }
}

/// A set equals the list of its names in declaration order.
impl<const N: usize> PartialEq<[&str; N]> for Params {
    fn eq(&self, names: &[&str; N]) -> bool {
        self.iter().map(Param::name).eq(names.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::types::{ReasoningEffort, ReasoningSummary, ResponseFormat, Tool, ToolChoice};

    fn everything() -> ChatRequest {
        ChatRequest::new("m")
            .user("hi")
            .temperature(0.5)
            .top_p(0.25)
            .max_tokens(9)
            .stop("END")
            .seed(7)
            .tool(Tool::function("f", "F", json!({"type": "object"})))
            .tool_choice(ToolChoice::Required)
            .response_format(ResponseFormat::JsonObject)
            .reasoning_effort(ReasoningEffort::High)
            .reasoning_budget(100)
            .end_user("u1")
            .cache_key("k")
            .cached_content("cachedContents/c1")
            .reasoning_summary(ReasoningSummary::Concise)
    }

    #[test]
    fn every_param_is_named_set_and_cleared() {
        let all: Params = Param::ALL.into_iter().collect();
        assert_eq!(all.len(), Param::ALL.len());
        let mut req = everything();
        assert_eq!(all.set_in(&req), all);
        assert_eq!(all.set_in(&ChatRequest::new("m")), Params::NONE);
        all.clear_from(&mut req);
        assert_eq!(req, ChatRequest::new("m").user("hi"));
        // The names are the JSON field names of a request.
        let fields = serde_json::to_value(everything()).unwrap();
        for param in Param::ALL {
            assert!(fields.get(param.name()).is_some(), "{}", param.name());
        }
    }

    #[test]
    fn passthrough_copies_only_the_named_fields_as_serialized() {
        let mut req = everything().extra("user", json!("kept"));
        let fields = serde_json::to_value(&req).unwrap();
        Params::of(&[
            Param::ToolChoice,
            Param::ResponseFormat,
            Param::User,
            Param::Stop,
        ])
        .passthrough_into(&mut req);
        assert_eq!(req.extra["tool_choice"], fields["tool_choice"]);
        assert_eq!(req.extra["response_format"], json!({"type": "json_object"}));
        assert_eq!(req.extra["stop"], json!(["END"]));
        assert_eq!(req.extra["user"], "kept");
        assert_eq!(req.extra.len(), 4);
        let mut unset = ChatRequest::new("m");
        Params::of(&[Param::Seed]).passthrough_into(&mut unset);
        assert!(unset.extra.is_empty());
    }

    #[test]
    fn sets_list_and_compare_in_declaration_order() {
        let set = Params::of(&[Param::User, Param::Seed]);
        assert_eq!(set, ["seed", "user"]);
        assert_ne!(set, ["user", "seed"]);
        assert_eq!(set.names().join(", "), "seed, user");
        assert_eq!(format!("{set:?}"), r#"{"seed", "user"}"#);
        assert!(Params::NONE.is_empty());
        assert_eq!(Params::from(Param::TopP), ["top_p"]);
    }
}
