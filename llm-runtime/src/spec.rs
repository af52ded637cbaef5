//! The static description of a provider: what `#[provider(...)]` declares.

/// How the API key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// No key (local servers such as Ollama).
    None,
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key as the value of this header (`x-api-key`, `api-key`, `x-goog-api-key`).
    Header(&'static str),
    /// The key as this query parameter (`?key=...`).
    Query(&'static str),
}

impl AuthScheme {
    /// Whether this scheme sends a key at all.
    pub const fn needs_key(self) -> bool {
        !matches!(self, AuthScheme::None)
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
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 7] = [
        Capability::Chat,
        Capability::Stream,
        Capability::Tools,
        Capability::Vision,
        Capability::Reasoning,
        Capability::Embeddings,
        Capability::JsonMode,
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
        let mut bits = 0;
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

/// Everything `#[provider(...)]` declares about a provider: one source of truth
/// for its name, endpoint, key variable and abilities.
#[derive(Debug, Clone, Copy)]
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
}

impl ProviderSpec {
    /// A spec with the given name and base URL, bearer auth and chat+stream; for tests and hand-written providers.
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
        }
    }

    /// Whether the provider declares `cap`.
    pub const fn supports(&self, cap: Capability) -> bool {
        self.capabilities.contains(cap)
    }
}
