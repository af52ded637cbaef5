//! Every name `#[provider(...)]` understands, each spelt once (serde_derive's
//! `internals/symbol.rs`): the attribute keys, the dialects, the auth forms
//! and the error kinds. Parsing matches against these constants, "did you
//! mean" suggests from these tables, and the derive's reference docs are
//! rendered from them (`reference.rs`), so nothing else spells a key.

pub(crate) const NAME: &str = "name";
pub(crate) const BASE_URL: &str = "base_url";
pub(crate) const AUTH: &str = "auth";
pub(crate) const ENV: &str = "env";
pub(crate) const BASE_URL_ENV: &str = "base_url_env";
pub(crate) const HEADERS: &str = "headers";
pub(crate) const TIMEOUT_SECS: &str = "timeout_secs";
pub(crate) const MODELS: &str = "models";
pub(crate) const DEFAULT_MODEL: &str = "default_model";
pub(crate) const CAPABILITIES: &str = "capabilities";
pub(crate) const DIALECT: &str = "dialect";
pub(crate) const HEALTH: &str = "health";
pub(crate) const ERROR: &str = "error";
pub(crate) const ERRORS: &str = "errors";
pub(crate) const REWRITE: &str = "rewrite";
pub(crate) const REWRITE_JSON: &str = "rewrite_json";
pub(crate) const ALLOW_HTTP: &str = "allow_http";
pub(crate) const CRATE: &str = "crate";
pub(crate) const DOCS: &str = "docs";
pub(crate) const UNSUPPORTED: &str = "unsupported";
pub(crate) const MAX_TOKENS_FIELD: &str = "max_tokens_field";
pub(crate) const STREAM_OPTIONS: &str = "stream_options";
pub(crate) const URL_VARS: &str = "url_vars";
pub(crate) const ENV_HEADERS: &str = "env_headers";
pub(crate) const MODELS_PATH: &str = "models_path";

/// Which table of the reference docs a key is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// What every declaration says.
    Main,
    /// Where a host differs from the wire format it speaks.
    Quirk,
}

/// One attribute key and its reference row.
pub(crate) struct Key {
    pub(crate) name: &'static str,
    /// How it is written, for error messages and the docs' "Form" column.
    pub(crate) example: &'static str,
    /// The docs' "Default" column (`required` for a required key).
    pub(crate) default: &'static str,
    /// The docs' "Rule" column; `{dialects}`, `{auth_forms}`, `{kinds}` are
    /// filled from the tables below when rendered.
    // Docs only: read when `reference.md` is rendered (by its test).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) rule: &'static str,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) section: Section,
}

impl Key {
    /// A declaration cannot do without it.
    pub(crate) fn required(&self) -> bool {
        self.default == "required"
    }
}

const fn key(
    name: &'static str,
    example: &'static str,
    default: &'static str,
    rule: &'static str,
) -> Key {
    Key {
        name,
        example,
        default,
        rule,
        section: Section::Main,
    }
}

const fn quirk(
    name: &'static str,
    example: &'static str,
    default: &'static str,
    rule: &'static str,
) -> Key {
    Key {
        name,
        example,
        default,
        rule,
        section: Section::Quirk,
    }
}

/// Every key `#[provider(...)]` accepts, in the order the docs list them.
pub(crate) const KEYS: &[Key] = &[
    key(
        NAME,
        r#"name = "groq""#,
        "required",
        "lowercase ASCII letters, digits, `_`, `-`, starting with a letter: the `name/model` routing prefix",
    ),
    key(
        BASE_URL,
        r#"base_url = "https://api.groq.com/openai/v1""#,
        "required",
        "absolute `https://` URL with a host; no query, fragment, credentials or whitespace; a trailing `/` is dropped; plain `http://` only to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`) unless `allow_http = true`",
    ),
    key(
        AUTH,
        r#"auth = "bearer""#,
        "required",
        "one of {auth_forms}; a header name is an RFC 9110 token and not client-managed; a query name uses unreserved URL characters",
    ),
    key(
        ENV,
        r#"env = "GROQ_API_KEY""#,
        "none",
        "SCREAMING_SNAKE_CASE; no effect (an error) with `auth = \"none\"`",
    ),
    key(
        BASE_URL_ENV,
        r#"base_url_env = "GROQ_BASE_URL""#,
        "none",
        "SCREAMING_SNAKE_CASE; the variable overrides `base_url`",
    ),
    key(
        HEADERS,
        r#"headers("x-title" = "my-app")"#,
        "none",
        "names are RFC 9110 tokens (sent lowercased), listed once (case-insensitively), not the header `auth` sets, not client-managed (`host`, `content-length`, `content-type`, `transfer-encoding`, `connection`, `accept-encoding` and hop-by-hop headers); values are ASCII without control characters or leading/trailing whitespace",
    ),
    key(
        TIMEOUT_SECS,
        "timeout_secs = 60",
        "the runtime's default",
        "1 to 3600",
    ),
    key(
        MODELS,
        r#"models("llama-3.3-70b-versatile", "llama-3.1-8b-instant")"#,
        "none",
        "non-empty ids, each listed once",
    ),
    key(
        DEFAULT_MODEL,
        r#"default_model = "llama-3.3-70b-versatile""#,
        "none",
        "one of `models(...)` when that is declared",
    ),
    key(
        CAPABILITIES,
        "capabilities(chat, stream, tools)",
        "`chat, stream`",
        "any of {capabilities}, each once, and each one the dialect can serve (`dialect = anthropic, capabilities(embeddings)` does not compile)",
    ),
    key(
        DIALECT,
        "dialect = openai",
        "none: implement `Transform`",
        "one of {dialects}",
    ),
    key(
        HEALTH,
        r#"health = "GET /models""#,
        "none: the transform's `models_request` (`GET /models`)",
        "`\"METHOD /path\"`, an uppercase HTTP method and a path starting with `/`",
    ),
    key(
        ERROR,
        "error = my_errors::map_error",
        "the transform's `classify_error`",
        "a path to `fn(u16, &HeaderMap, &[u8]) -> llm_runtime::Error`",
    ),
    key(
        ERRORS,
        r#"errors(type_field = "error_type", 424 = server_error, "overloaded" = overloaded, "queue_full" = invalid_request(retry))"#,
        "none: `error`'s classification as it is",
        "a table applied over `error`'s (or the transform's) classification: `type_field = \"a.b\"` names the body field holding the error type (by default the code the body's `error` object carries); `STATUS = kind` (an error status, 300 to 599) and `\"type\" = kind` rows, each once, a type row winning over a status row; a kind is one of {kinds}, optionally with `(retry)` or `(no_retry)` where that changes whether it is retried",
    ),
    key(
        REWRITE,
        "rewrite = Self::deployment",
        "none: the wire's request as built",
        "a path to `fn(&Name, HttpParts, Operation, &RequestContext<'_>) -> llm_runtime::Result<HttpParts>`: the request's path, query, headers and bytes (Azure: the deployment in the path, `api-version` in the query)",
    ),
    key(
        REWRITE_JSON,
        "rewrite_json = Self::strip_prefix",
        "none: the wire's body as built",
        "a path to `fn(&Name, &mut serde_json::Value, Operation, &RequestContext<'_>) -> llm_runtime::Result<()>`: edit the JSON body (the model, one field) without touching bytes; runs before `rewrite`, only on requests with a body",
    ),
    key(
        ALLOW_HTTP,
        "allow_http = true",
        "`false`",
        "only where it has an effect: a plain `http://` URL to a non-loopback host",
    ),
    key(
        CRATE,
        r#"crate = "my_sdk::llm_runtime""#,
        "`::llm_runtime`",
        "a path to `llm_runtime` or a re-export of it, for crates that re-export the derive",
    ),
    key(
        DOCS,
        r#"docs = "https://console.groq.com/docs/api-reference""#,
        "none",
        "an `https://` URL: the provider's API documentation, listed by `providers::specs()` and the README",
    ),
    quirk(
        UNSUPPORTED,
        "unsupported(seed, tool_choice)",
        "none",
        "request parameters the host does not accept ({params}), each once; the unsupported-parameter policy (Reject, Drop, Passthrough) applies to them as to those the wire cannot send",
    ),
    quirk(
        MAX_TOKENS_FIELD,
        r#"max_tokens_field = "max_completion_tokens""#,
        "OpenAI's rule (`max_completion_tokens` for its reasoning models)",
        "`\"max_tokens\"` or `\"max_completion_tokens\"`; only with `dialect = openai`",
    ),
    quirk(
        STREAM_OPTIONS,
        "stream_options = false",
        "`true`: streams ask for usage with `stream_options`",
        "only `false`, only with `dialect = openai` and `capabilities(stream)`",
    ),
    quirk(
        URL_VARS,
        r#"url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID")"#,
        "none",
        "each `{name}` of `base_url` (lowercase names; placeholders may be in the host or the path) is declared once with its SCREAMING_SNAKE_CASE variable, and each declared name is in `base_url`; at run time `with_env()` reads the variable, `.url_var(name, value)` sets it, and an unset one is a `Config` error naming the variable",
    ),
    quirk(
        ENV_HEADERS,
        r#"env_headers("x-portkey-virtual-key" = "PORTKEY_VIRTUAL_KEY")"#,
        "none",
        "a header every request needs, its value read from the variable (or `.header(...)`); the header rules of `headers` apply, across both lists; unset is a `Config` error naming the variable",
    ),
    quirk(
        MODELS_PATH,
        r#"models_path = "/v1/models""#,
        "`/models`",
        "a path below the base URL for the model list and the default health probe; not with a native dialect, which has its own",
    ),
];

/// The key named `name`, if there is one.
pub(crate) fn key_named(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

/// Every key's name.
pub(crate) fn key_names() -> Vec<&'static str> {
    KEYS.iter().map(|key| key.name).collect()
}

/// How `key` is written, for error messages.
pub(crate) fn example(name: &str) -> &'static str {
    key_named(name).map_or("", |key| key.example)
}

/// One dialect `dialect = name` delegates to (`__private::dialect::<name>`).
pub(crate) struct Dialect {
    pub(crate) name: &'static str,
    /// The API it speaks, for the docs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) api: &'static str,
}

/// Every dialect of the runtime.
pub(crate) const DIALECTS: &[Dialect] = &[
    Dialect {
        name: "openai",
        api: "OpenAI Chat Completions",
    },
    Dialect {
        name: "openai_responses",
        api: "OpenAI Responses",
    },
    Dialect {
        name: "anthropic",
        api: "Anthropic Messages (sends `anthropic-version` itself)",
    },
    Dialect {
        name: "gemini",
        api: "Google Gemini `generateContent`",
    },
    Dialect {
        name: "ollama",
        api: "Ollama `/api/chat`",
    },
    Dialect {
        name: "cohere",
        api: "Cohere v2 Chat",
    },
    Dialect {
        name: "converse",
        api: "Amazon Bedrock Converse",
    },
];

/// Every dialect's name.
pub(crate) fn dialect_names() -> Vec<&'static str> {
    DIALECTS.iter().map(|d| d.name).collect()
}

/// How an auth form is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthShape {
    /// `auth = "bearer"`: a scheme on its own.
    Scheme,
    /// `auth(header = "x-api-key")`: a form that needs a name.
    Named {
        /// The name shown in examples.
        placeholder: &'static str,
    },
}

/// One form of `auth`.
pub(crate) struct AuthForm {
    pub(crate) name: &'static str,
    pub(crate) shape: AuthShape,
}

impl AuthForm {
    /// As written in the attribute.
    pub(crate) fn written(&self) -> String {
        match self.shape {
            AuthShape::Scheme => format!("auth = \"{}\"", self.name),
            AuthShape::Named { placeholder } => format!("auth({} = \"{placeholder}\")", self.name),
        }
    }
}

pub(crate) const AUTH_BEARER: &str = "bearer";
pub(crate) const AUTH_NONE: &str = "none";
pub(crate) const AUTH_TOKEN: &str = "token";
pub(crate) const AUTH_HEADER: &str = "header";
pub(crate) const AUTH_QUERY: &str = "query";
pub(crate) const AUTH_SIGV4: &str = "sigv4";

/// Every form of `auth`.
pub(crate) const AUTH_FORMS: &[AuthForm] = &[
    AuthForm {
        name: AUTH_BEARER,
        shape: AuthShape::Scheme,
    },
    AuthForm {
        name: AUTH_NONE,
        shape: AuthShape::Scheme,
    },
    AuthForm {
        name: AUTH_TOKEN,
        shape: AuthShape::Scheme,
    },
    AuthForm {
        name: AUTH_HEADER,
        shape: AuthShape::Named {
            placeholder: "x-api-key",
        },
    },
    AuthForm {
        name: AUTH_QUERY,
        shape: AuthShape::Named { placeholder: "key" },
    },
    AuthForm {
        name: AUTH_SIGV4,
        shape: AuthShape::Named {
            placeholder: "bedrock",
        },
    },
];

/// The auth form named `name`.
pub(crate) fn auth_form(name: &str) -> Option<&'static AuthForm> {
    AUTH_FORMS.iter().find(|form| form.name == name)
}

/// Every form as written, joined for a message: `` `auth = "bearer"`, ... or `auth(sigv4 = "bedrock")` ``.
pub(crate) fn auth_forms_text() -> String {
    let forms: Vec<String> = AUTH_FORMS
        .iter()
        .map(|f| format!("`{}`", f.written()))
        .collect();
    match forms.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => forms.join(""),
    }
}

/// One `ErrorKind` of the runtime, as `errors(...)` names it.
pub(crate) struct Kind {
    /// `ErrorKind::as_str()`.
    pub(crate) name: &'static str,
    /// The `ErrorKind` variant.
    pub(crate) variant: &'static str,
    /// `ErrorKind::is_retryable()`.
    pub(crate) retryable: bool,
}

const fn kind(name: &'static str, variant: &'static str, retryable: bool) -> Kind {
    Kind {
        name,
        variant,
        retryable,
    }
}

/// The kinds an upstream answer can mean (the runtime's own kinds, such as
/// `network` or `decode`, are not an upstream's to declare).
pub(crate) const KINDS: &[Kind] = &[
    kind("authentication", "Authentication", false),
    kind("permission_denied", "PermissionDenied", false),
    kind("rate_limited", "RateLimited", true),
    kind("quota_exceeded", "QuotaExceeded", false),
    kind("invalid_request", "InvalidRequest", false),
    kind("context_window_exceeded", "ContextWindowExceeded", false),
    kind("content_filter", "ContentFilter", false),
    kind("not_found", "NotFound", false),
    kind("timeout", "Timeout", true),
    kind("server_error", "ServerError", true),
    kind("overloaded", "Overloaded", true),
    kind("unsupported", "Unsupported", false),
];

/// The runtime's own kinds: named in an error so the author knows why.
pub(crate) const RUNTIME_KINDS: &[&str] = &["network", "decode", "stream_truncated", "config"];

/// `(retry)` / `(no_retry)` after a kind in `errors(...)`.
pub(crate) const RETRY: &str = "retry";
pub(crate) const NO_RETRY: &str = "no_retry";
/// `type_field = "..."` in `errors(...)`.
pub(crate) const TYPE_FIELD: &str = "type_field";

/// Words authors write for a capability, and the capability they mean: the
/// "did you mean" an edit distance cannot find (`streaming` is three edits
/// from `stream`).
pub(crate) const CAPABILITY_ALIASES: &[(&str, &str)] = &[
    ("streaming", "stream"),
    ("streams", "stream"),
    ("tool_calls", "tools"),
    ("tool_use", "tools"),
    ("function_calling", "tools"),
    ("functions", "tools"),
    ("image", "images"),
    ("image_generation", "images"),
    ("tts", "speech"),
    ("text_to_speech", "speech"),
    ("stt", "transcription"),
    ("speech_to_text", "transcription"),
    ("transcriptions", "transcription"),
    ("translation", "transcription"),
    ("reranking", "rerank"),
    ("moderations", "moderation"),
    ("batches", "batch"),
    ("thinking", "reasoning"),
    ("embed", "embeddings"),
    ("json", "json_mode"),
    ("structured_output", "json_mode"),
    ("structured_outputs", "json_mode"),
    ("response_format", "json_mode"),
    ("completions", "chat"),
];
