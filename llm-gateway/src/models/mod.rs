//! The model table a config builds: groups of deployments on the runtime's
//! router, aliases, and wildcards; and how a requested model name resolves.

mod build;
pub mod provider;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use llm_runtime::{Client, LlmProvider, Usage};

use crate::config::LitellmParams;

pub use build::{build, build_governed};

/// Dollars per token, prompt and completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    /// Per prompt token.
    pub input: f64,
    /// Per completion token.
    pub output: f64,
}

impl Price {
    /// The cost of `usage`, in dollars.
    pub fn cost(&self, usage: &Usage) -> f64 {
        f64::from(usage.prompt_tokens) * self.input
            + f64::from(usage.completion_tokens) * self.output
    }
}

/// One deployment of a group: what the gateway reports and prices.
#[derive(Debug)]
pub struct Deployed {
    /// Its id, unique in its group (`model_info.id`, else `NAME-N`).
    pub id: String,
    /// The runtime provider name (`openai`).
    pub provider_name: String,
    /// The upstream model.
    pub model: String,
    /// The connected provider (shared with the router's deployment).
    pub provider: Arc<dyn LlmProvider>,
    /// Its price, when configured or in the catalog.
    pub price: Option<Price>,
    /// `model_info.mode`.
    pub mode: Option<String>,
    /// `model_info.max_input_tokens`.
    pub max_input_tokens: Option<u64>,
    /// `model_info.max_output_tokens`.
    pub max_output_tokens: Option<u64>,
    /// The shuffle weight (embeddings pick by it too).
    pub weight: u64,
    /// The wire format its provider speaks (`openai`, `anthropic`...).
    pub dialect: Option<&'static str>,
}

/// The wire format the built-in provider `name` speaks.
pub fn dialect_of(name: &str) -> Option<&'static str> {
    llm_runtime::providers::specs()
        .find(|s| s.name == name)
        .and_then(|s| s.dialect)
}

/// A `*` or `provider/*` entry: any model of its provider(s), connected on
/// first use with the entry's params.
#[derive(Debug)]
pub struct Wildcard {
    /// The pattern callers' names are matched against (`*`, `openai/*`).
    pub pattern: String,
    /// The entry's params (`model: "*"` or `model: "openai/*"`).
    pub params: LitellmParams,
    /// Connection defaults.
    pub defaults: provider::Defaults,
    /// Providers connected so far, by runtime name: at most one per provider.
    connected: Mutex<HashMap<String, Arc<dyn LlmProvider>>>,
}

impl Wildcard {
    /// Whether `name` (`provider/model`) matches.
    pub fn matches(&self, name: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => {
                name.starts_with(prefix) && name.len() > prefix.len() && name.contains('/')
            }
            None => self.pattern == name,
        }
    }

    /// The provider and model for `name`, connecting the provider on first use.
    pub fn target(
        &self,
        name: &str,
    ) -> Result<(Arc<dyn LlmProvider>, String, String), crate::config::ConfigError> {
        let (provider_name, model) = provider::split_model(name);
        let mut connected = self
            .connected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = connected.get(&provider_name) {
            return Ok((Arc::clone(p), provider_name, model));
        }
        let mut params = self.params.clone();
        params.model = name.to_owned();
        let p = provider::connect(&provider_name, &params, self.defaults)?;
        connected.insert(provider_name.clone(), Arc::clone(&p));
        Ok((p, provider_name, model))
    }
}

/// Every model the gateway serves.
#[derive(Debug)]
pub struct Models {
    /// The runtime client whose router holds the groups.
    pub client: Client,
    /// Group name to its deployments, in config order.
    pub groups: BTreeMap<String, Vec<Arc<Deployed>>>,
    /// Alias to (group, hidden).
    pub aliases: BTreeMap<String, (String, bool)>,
    /// Wildcard entries, most specific first.
    pub wildcards: Vec<Wildcard>,
    /// The router's state when governance runs (a master key is set): it
    /// reserves the key's, team's, group's and deployment's limits in one step.
    pub governed: Option<Arc<crate::governance::routed::GovernedState>>,
}

/// What a requested model name resolves to.
#[derive(Debug)]
pub enum Target<'a> {
    /// A group on the router (after aliases).
    Group {
        /// The group's name.
        name: &'a str,
        /// Its deployments.
        deployments: &'a [Arc<Deployed>],
    },
    /// A model under a wildcard.
    Wildcard(&'a Wildcard),
}

impl Models {
    /// Resolve the name a caller sent: a group, an alias of one, or a wildcard match.
    pub fn resolve<'a>(&'a self, name: &str) -> Option<Target<'a>> {
        let group = self.aliases.get(name).map_or(name, |(g, _)| g.as_str());
        if let Some((name, deployments)) = self.groups.get_key_value(group) {
            return Some(Target::Group { name, deployments });
        }
        self.wildcards
            .iter()
            .find(|w| w.matches(name))
            .map(Target::Wildcard)
    }

    /// Whether every deployment `name` may reach speaks `dialect` (fields the
    /// runtime does not know can then be forwarded as the caller wrote them).
    /// `true` for a name that resolves to nothing (it fails as not found).
    pub fn speaks(&self, name: &str, dialect: &str) -> bool {
        match self.resolve(name) {
            None => true,
            Some(Target::Group { deployments, .. }) => {
                deployments.iter().all(|d| d.dialect == Some(dialect))
            }
            Some(Target::Wildcard(_)) => {
                dialect_of(&provider::split_model(name).0) == Some(dialect)
            }
        }
    }

    /// The names `/v1/models` lists: groups and visible aliases.
    pub fn listed(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.groups.keys().map(String::as_str).collect();
        names.extend(
            self.aliases
                .iter()
                .filter(|(_, (_, hidden))| !hidden)
                .map(|(a, _)| a.as_str()),
        );
        names.sort_unstable();
        names.dedup();
        names
    }
}
