//! The static description of a provider: what `#[provider(...)]` declares.

use crate::error::{Error, Result};
use crate::types::Params;

/// What to do about the declared variable `var`: "set VAR", or, when it is
/// set but the configuration did not read the environment, say so (an error
/// never asks to set a variable that is set).
pub(crate) fn env_hint(var: &str) -> String {
    if std::env::var(var).is_ok_and(|v| !v.trim().is_empty()) {
        format!(
            "{var} is set, but this configuration does not read the environment: call `.with_env()` (as `from_env()` does)"
        )
    } else {
        format!("set {var}")
    }
}

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// No key (local servers such as Ollama).
    None,
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key as the value of this header (`x-api-key`, `api-key`, `x-goog-api-key`).
    Header(&'static str),
    /// The key as this query parameter (`?key=...`).
    Query(&'static str),
    /// Every attempt is signed over its final bytes by the configuration's
    /// [`RequestSigner`](crate::auth::RequestSigner) (AWS Signature V4 for this service).
    SigV4 {
        /// The signing service name (`bedrock`).
        service: &'static str,
    },
    /// `Authorization: Bearer <token>` with a short-lived token from the
    /// configuration's [`TokenSource`](crate::auth::TokenSource) (OAuth2:
    /// Google service accounts, Microsoft Entra ID), cached and refreshed.
    Token,
}

impl AuthScheme {
    /// Whether this scheme sends a static API key.
    pub const fn needs_key(self) -> bool {
        matches!(
            self,
            AuthScheme::Bearer | AuthScheme::Header(_) | AuthScheme::Query(_)
        )
    }
}

/// One thing a provider can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Chat completions.
    Chat,
    /// Streamed chat completions.
    Stream,
    /// Tool (function) calls.
    Tools,
    /// Images in the request.
    Vision,
    /// Reasoning ("thinking") output or effort control.
    Reasoning,
    /// Text embeddings.
    Embeddings,
    /// JSON mode and JSON-schema response formats.
    JsonMode,
    /// Image generation and edits.
    Images,
    /// Text to speech.
    Speech,
    /// Speech to text (transcription and translation of audio).
    Transcription,
    /// Ranking documents by relevance to a query.
    Rerank,
    /// Classifying text and images against content policies.
    Moderation,
    /// Asynchronous batches of chat requests.
    Batch,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 13] = [
        Capability::Chat,
        Capability::Stream,
        Capability::Tools,
        Capability::Vision,
        Capability::Reasoning,
        Capability::Embeddings,
        Capability::JsonMode,
        Capability::Images,
        Capability::Speech,
        Capability::Transcription,
        Capability::Rerank,
        Capability::Moderation,
        Capability::Batch,
    ];

    /// The name used in `capabilities(...)`.
    pub const fn name(self) -> &'static str {
        match self {
            Capability::Chat => "chat",
            Capability::Stream => "stream",
            Capability::Tools => "tools",
            Capability::Vision => "vision",
            Capability::Reasoning => "reasoning",
            Capability::Embeddings => "embeddings",
            Capability::JsonMode => "json_mode",
            Capability::Images => "images",
            Capability::Speech => "speech",
            Capability::Transcription => "transcription",
            Capability::Rerank => "rerank",
            Capability::Moderation => "moderation",
            Capability::Batch => "batch",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of [`Capability`] values.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u16);

impl Capabilities {
    /// No capabilities.
    pub const NONE: Capabilities = Capabilities(0);

    /// The set holding exactly `caps`.
    pub const fn of(caps: &[Capability]) -> Self {
        Capabilities::NONE.with(caps)
    }

    /// This set and `caps`.
    pub const fn with(self, caps: &[Capability]) -> Self {
        let mut bits = self.0;
        let mut i = 0;
        while i < caps.len() {
            bits |= caps[i].bit();
            i += 1;
        }
        Capabilities(bits)
    }

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    /// The capabilities in the set.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Capability::name))
            .finish()
    }
}

/// A request that costs nothing and proves the key and the upstream work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthProbe {
    /// The HTTP method (`GET`).
    pub method: &'static str,
    /// The path under the base URL (`/models`).
    pub path: &'static str,
}

/// Which field of the OpenAI wire carries [`ChatRequest::max_tokens`](crate::ChatRequest::max_tokens)
/// (`max_tokens_field = "..."` in the declaration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxTokensField {
    /// OpenAI's rule: `max_completion_tokens` for its reasoning models
    /// (`o1`, `o3`, `o4`, `gpt-5`...), `max_tokens` for the others.
    #[default]
    ByModel,
    /// Always `max_tokens` (hosts that do not accept `max_completion_tokens`).
    MaxTokens,
    /// Always `max_completion_tokens` (hosts that deprecate `max_tokens`).
    MaxCompletionTokens,
}

impl MaxTokensField {
    /// The JSON field for a request to `model`.
    pub fn field(self, model: &str) -> &'static str {
        let reasoning = ["o1", "o3", "o4", "gpt-5"]
            .iter()
            .any(|p| model.starts_with(p));
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::ByModel if reasoning => "max_completion_tokens",
            MaxTokensField::ByModel => "max_tokens",
        }
    }
}

/// Everything `#[provider(...)]` declares about a provider: one source of truth
/// for its name, endpoint, key variable and abilities.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ProviderSpec {
    /// The routing name (`openai`, `anthropic`): `"name/model"` selects it.
    pub name: &'static str,
    /// The default base URL, without a trailing slash.
    pub base_url: &'static str,
    /// How the key is sent.
    pub auth: AuthScheme,
    /// The environment variable holding the key.
    pub api_key_env: Option<&'static str>,
    /// The environment variable that overrides the base URL.
    pub base_url_env: Option<&'static str>,
    /// Headers sent with every request.
    pub headers: &'static [(&'static str, &'static str)],
    /// The default whole-request timeout in seconds.
    pub timeout_secs: Option<u64>,
    /// Known model ids.
    pub models: &'static [&'static str],
    /// The model used when a request names none.
    pub default_model: Option<&'static str>,
    /// What the provider can do.
    pub capabilities: Capabilities,
    /// The free health probe.
    pub health: Option<HealthProbe>,
    /// Whether plain `http://` is allowed to a non-loopback host.
    pub allow_http: bool,
    /// The dialect it delegates to (`dialect = openai`), if any.
    pub dialect: Option<&'static str>,
    /// The provider's API documentation (`docs = "https://..."`).
    pub docs: Option<&'static str>,
    /// Request parameters the API does not accept (`unsupported(seed, ...)`),
    /// on top of those its wire format cannot send; the unsupported-parameter
    /// policy applies to both.
    pub unsupported_params: Params,
    /// Which field carries `max_tokens` on the OpenAI wire (`max_tokens_field = "..."`).
    pub max_tokens_field: MaxTokensField,
    /// Whether a streamed OpenAI request asks for usage with
    /// `stream_options: {"include_usage": true}` (`stream_options = false` where the host rejects it).
    pub stream_options: bool,
    /// Placeholders of `base_url` and the variable each is read from
    /// (`url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID")` for `.../accounts/{account_id}/...`).
    pub url_vars: &'static [(&'static str, &'static str)],
    /// Headers every request needs whose value is read from a variable
    /// (`env_headers("x-portkey-virtual-key" = "PORTKEY_VIRTUAL_KEY")`).
    pub env_headers: &'static [(&'static str, &'static str)],
    /// The model-list path below the base URL, where it is not the wire's
    /// (`models_path = "/v1/models"`); also the default health probe.
    pub models_path: Option<&'static str>,
}

impl ProviderSpec {
    /// A spec with the given name and base URL, bearer auth and chat+stream; for tests and hand-written providers.
    ///
    /// The spec is `#[non_exhaustive]` (fields are added as the runtime learns
    /// new quirks): set the fields that differ on this value.
    ///
    /// ```
    /// use llm_runtime::spec::{AuthScheme, ProviderSpec};
    /// const SPEC: ProviderSpec = {
    ///     let mut spec = ProviderSpec::new("corp", "https://llm.corp.example/v1");
    ///     spec.auth = AuthScheme::Header("x-api-key");
    ///     spec
    /// };
    /// assert_eq!(SPEC.name, "corp");
    /// ```
    pub const fn new(name: &'static str, base_url: &'static str) -> Self {
        ProviderSpec {
            name,
            base_url,
            auth: AuthScheme::Bearer,
            api_key_env: None,
            base_url_env: None,
            headers: &[],
            timeout_secs: None,
            models: &[],
            default_model: None,
            capabilities: Capabilities::of(&[Capability::Chat, Capability::Stream]),
            health: None,
            allow_http: false,
            dialect: None,
            docs: None,
            unsupported_params: Params::NONE,
            max_tokens_field: MaxTokensField::ByModel,
            stream_options: true,
            url_vars: &[],
            env_headers: &[],
            models_path: None,
        }
    }

    /// The variables the declaration asks for: the key (or, for a provider
    /// that takes none, the base-URL variable), each URL placeholder's and each
    /// header's. [`Client::from_env`](crate::Client::from_env) registers the
    /// provider when all are set (a set base-URL variable stands in for the
    /// placeholders' variables, since it replaces the whole URL).
    pub fn required_env(&self) -> Vec<&'static str> {
        let mut vars = Vec::new();
        if self.auth.needs_key() {
            vars.extend(self.api_key_env);
        } else {
            vars.extend(self.base_url_env);
        }
        vars.extend(self.url_vars.iter().map(|(_, var)| *var));
        vars.extend(self.env_headers.iter().map(|(_, var)| *var));
        vars
    }

    /// `url` with each `{placeholder}` replaced by its value in `values`
    /// (name, value); a placeholder without a value is a `Config` error naming
    /// the variable it is read from.
    pub(crate) fn fill_url_vars(&self, url: &str, values: &[(String, String)]) -> Result<String> {
        let mut out = String::with_capacity(url.len());
        let mut rest = url;
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                return Err(Error::config(format!(
                    "base URL `{url}` has a `{{` without its `}}`"
                )));
            };
            let name = &rest[open + 1..open + len];
            out.push_str(&rest[..open]);
            let value = values.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
            let var = self
                .url_vars
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v);
            match (value, var) {
                (Some(value), _) if is_url_value(value) => out.push_str(value),
                (Some(_), _) => {
                    return Err(Error::config(format!(
                        "the value of `{{{name}}}` in the {} base URL must be letters, digits, `-`, `.`, `_` or `~` (not `.` or `..` alone)",
                        self.name
                    )));
                }
                (None, Some(_)) => return Err(self.missing_url_vars(url, values)),
                (None, None) => {
                    return Err(Error::config(format!(
                        "base URL `{url}` has the placeholder `{{{name}}}`, which the {} provider does not declare: pass `.url_var(\"{name}\", ...)`",
                        self.name
                    )));
                }
            }
            rest = &rest[open + len + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The error for unset placeholders: every declared one of `url` without
    /// a value, each with its variable, so one run names them all.
    fn missing_url_vars(&self, url: &str, values: &[(String, String)]) -> Error {
        let missing: Vec<(&str, &str)> = self
            .url_vars
            .iter()
            .filter(|(n, _)| {
                url.contains(&format!("{{{n}}}")) && !values.iter().any(|(v, _)| v == n)
            })
            .map(|(n, v)| (*n, *v))
            .collect();
        let list = |f: &dyn Fn(&(&str, &str)) -> String| {
            missing.iter().map(f).collect::<Vec<_>>().join(" and ")
        };
        Error::config(format!(
            "the {} base URL needs {}: {}, or pass {}",
            self.name,
            list(&|(n, _)| format!("`{{{n}}}`")),
            list(&|(_, v)| env_hint(v)),
            list(&|(n, _)| format!("`.url_var(\"{n}\", ...)`")),
        ))
    }

    /// Whether the provider declares `cap`.
    pub const fn supports(&self, cap: Capability) -> bool {
        self.capabilities.contains(cap)
    }
}

/// A placeholder's value stays inside one URL component: no `/`, `?`, `#`,
/// `@` or `:` can move the request to another host or path, and no `.` or
/// `..` segment can take the one before it away.
fn is_url_value(value: &str) -> bool {
    !matches!(value, "" | "." | "..")
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ProviderSpec = ProviderSpec {
        url_vars: &[("account_id", "CF_ACCOUNT")],
        ..ProviderSpec::new("cf", "https://api.example.com/accounts/{account_id}/ai/v1")
    };

    fn fill(url: &str, values: &[(&str, &str)]) -> Result<String> {
        let values: Vec<(String, String)> = values
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        SPEC.fill_url_vars(url, &values)
    }

    #[test]
    fn placeholders_are_filled_or_named() {
        assert_eq!(
            fill(SPEC.base_url, &[("account_id", "abc-1")]).unwrap(),
            "https://api.example.com/accounts/abc-1/ai/v1"
        );
        assert_eq!(
            fill("http://127.0.0.1:9/v1", &[]).unwrap(),
            "http://127.0.0.1:9/v1"
        );
        let missing = fill(SPEC.base_url, &[]).unwrap_err().to_string();
        assert!(missing.contains("set CF_ACCOUNT"), "{missing}");
        assert!(missing.contains(".url_var(\"account_id\""), "{missing}");
        for dots in [".", ".."] {
            let e = fill(SPEC.base_url, &[("account_id", dots)]).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{dots}");
        }
        let injected = fill(SPEC.base_url, &[("account_id", "evil.com/x")]).unwrap_err();
        assert_eq!(injected.kind(), crate::ErrorKind::Config);
        assert!(fill("https://x.dev/{other}", &[]).is_err());
        assert!(fill("https://x.dev/{open", &[]).is_err());
    }

    #[test]
    fn max_tokens_fields() {
        assert_eq!(
            MaxTokensField::ByModel.field("o3-mini"),
            "max_completion_tokens"
        );
        assert_eq!(MaxTokensField::ByModel.field("gpt-4o"), "max_tokens");
        assert_eq!(MaxTokensField::MaxTokens.field("o3-mini"), "max_tokens");
        assert_eq!(
            MaxTokensField::MaxCompletionTokens.field("llama"),
            "max_completion_tokens"
        );
    }
}
