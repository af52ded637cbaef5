//! The one table of supported `config.yaml` keys: the README's table is
//! generated from it, and the tests load each key.

/// One supported key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Its path; `[]` is any item of a list (`model_list[].litellm_params.rpm`).
    pub path: &'static str,
    /// The YAML type it takes.
    pub kind: &'static str,
    /// A value it may have, as YAML (JSON) text.
    pub example: &'static str,
    /// What it does (LiteLLM's meaning, unless it says `llm-gateway:`).
    pub meaning: &'static str,
}

const fn key(
    path: &'static str,
    kind: &'static str,
    example: &'static str,
    meaning: &'static str,
) -> Key {
    Key {
        path,
        kind,
        example,
        meaning,
    }
}

/// Every supported key, in the README's order.
pub const KEYS: &[Key] = &[
    key(
        "model_list[].model_name",
        "string",
        r#""gpt-4o""#,
        "The name callers use. Entries with the same name are one load-balanced group; `*` matches any `provider/model`, `openai/*` any OpenAI model.",
    ),
    key(
        "model_list[].litellm_params.model",
        "string",
        r#""openai/gpt-4o""#,
        "`provider/model` for a provider the runtime has; a bare model is an OpenAI model.",
    ),
    key(
        "model_list[].litellm_params.api_base",
        "string",
        r#""http://127.0.0.1:8000/v1""#,
        "The endpoint as LiteLLM means it per provider: OpenAI's includes `/v1`; Anthropic's is the host (`/v1/messages` is added); Gemini's ends in `/v1beta`; Azure's is the resource (`/openai` is added).",
    ),
    key(
        "model_list[].litellm_params.api_key",
        "string",
        r#""sk-test""#,
        "The key; else the provider's variable (`OPENAI_API_KEY`...).",
    ),
    key(
        "model_list[].litellm_params.api_version",
        "string",
        r#""2024-10-21""#,
        "Azure OpenAI's `api-version`.",
    ),
    key(
        "model_list[].litellm_params.rpm",
        "integer",
        "600",
        "Requests per minute: the deployment's shuffle weight (its limit under `usage-based-routing`).",
    ),
    key(
        "model_list[].litellm_params.tpm",
        "integer",
        "100000",
        "Tokens per minute: the shuffle weight when `rpm` is not given (the limit under `usage-based-routing`).",
    ),
    key(
        "model_list[].litellm_params.weight",
        "integer",
        "3",
        "An explicit shuffle weight.",
    ),
    key(
        "model_list[].litellm_params.timeout",
        "number",
        "30",
        "Seconds a whole call to this deployment may take.",
    ),
    key(
        "model_list[].litellm_params.stream_timeout",
        "number",
        "60",
        "Seconds a whole stream from this deployment may take.",
    ),
    key(
        "model_list[].litellm_params.max_retries",
        "integer",
        "1",
        "Retries of a call on this deployment.",
    ),
    key(
        "model_list[].litellm_params.extra_headers",
        "mapping",
        r#"{"x-team": "search"}"#,
        "Headers sent with every call to this deployment.",
    ),
    key(
        "model_list[].litellm_params.input_cost_per_token",
        "number",
        "0.000002",
        "Dollars per prompt token: the `x-litellm-response-cost` header and the cost metric.",
    ),
    key(
        "model_list[].litellm_params.output_cost_per_token",
        "number",
        "0.000008",
        "Dollars per completion token.",
    ),
    key(
        "model_list[].litellm_params.aws_access_key_id",
        "string",
        r#""AKIDEXAMPLE""#,
        "Bedrock: the access key id (with `aws_secret_access_key`).",
    ),
    key(
        "model_list[].litellm_params.aws_secret_access_key",
        "string",
        r#""secret""#,
        "Bedrock: the secret access key.",
    ),
    key(
        "model_list[].litellm_params.aws_session_token",
        "string",
        r#""token""#,
        "Bedrock: the session token of temporary credentials.",
    ),
    key(
        "model_list[].litellm_params.aws_region_name",
        "string",
        r#""eu-west-1""#,
        "Bedrock: the region.",
    ),
    key(
        "model_list[].litellm_params.vertex_project",
        "string",
        r#""my-project""#,
        "Vertex AI: the project.",
    ),
    key(
        "model_list[].litellm_params.vertex_location",
        "string",
        r#""europe-west4""#,
        "Vertex AI: the location.",
    ),
    key(
        "model_list[].litellm_params.vertex_credentials",
        "string",
        r#""/secrets/sa.json""#,
        "Vertex AI: a credentials JSON file, or its text.",
    ),
    key(
        "model_list[].model_info.id",
        "string",
        r#""east""#,
        "The deployment's id (headers, metrics, traces); default `model_name-N`.",
    ),
    key(
        "model_list[].model_info.mode",
        "string",
        r#""embedding""#,
        "`chat` or `embedding`, as `/v1/model/info` reports.",
    ),
    key(
        "model_list[].model_info.base_model",
        "string",
        r#""gpt-4o""#,
        "The catalog model whose context window this deployment has.",
    ),
    key(
        "model_list[].model_info.input_cost_per_token",
        "number",
        "0.000002",
        "As in `litellm_params`.",
    ),
    key(
        "model_list[].model_info.output_cost_per_token",
        "number",
        "0.000008",
        "As in `litellm_params`.",
    ),
    key(
        "model_list[].model_info.max_input_tokens",
        "integer",
        "128000",
        "The context window, in tokens (the context-window pre-check).",
    ),
    key(
        "model_list[].model_info.max_output_tokens",
        "integer",
        "16384",
        "Reported by `/v1/model/info`.",
    ),
    key(
        "router_settings.routing_strategy",
        "string",
        r#""least-busy""#,
        "`simple-shuffle` (default), `least-busy`, `latency-based-routing`, `usage-based-routing`, `usage-based-routing-v2`, `cost-based-routing`.",
    ),
    key(
        "router_settings.num_retries",
        "integer",
        "2",
        "Retries of a call on each deployment.",
    ),
    key(
        "router_settings.fallbacks",
        "list",
        r#"[{"gpt-4o": ["gpt-4o-mini"]}]"#,
        "Groups to try, in order, when every deployment of a group failed with a retryable error.",
    ),
    key(
        "router_settings.context_window_fallbacks",
        "list",
        r#"[{"gpt-4o": ["gpt-4.1"]}]"#,
        "Groups to try when the prompt does not fit the group's context window.",
    ),
    key(
        "router_settings.content_policy_fallbacks",
        "list",
        r#"[{"gpt-4o": ["claude"]}]"#,
        "Groups to try when a content policy refused the call.",
    ),
    key(
        "router_settings.allowed_fails",
        "integer",
        "3",
        "Failures in a minute before a deployment cools down.",
    ),
    key(
        "router_settings.cooldown_time",
        "number",
        "5",
        "Seconds a deployment cools down.",
    ),
    key(
        "router_settings.model_group_alias",
        "mapping",
        r#"{"gpt4": "gpt-4o"}"#,
        "Other names for groups; `{model: group, hidden: true}` leaves the alias out of `/v1/models`.",
    ),
    key(
        "router_settings.redis_host",
        "string",
        r#""127.0.0.1""#,
        "Redis: limits and cooldowns shared between gateway processes.",
    ),
    key(
        "router_settings.redis_port",
        "integer",
        "6379",
        "Redis port.",
    ),
    key(
        "router_settings.redis_password",
        "string",
        r#""secret""#,
        "Redis password.",
    ),
    key(
        "router_settings.timeout",
        "number",
        "60",
        "Seconds a whole call may take, every group.",
    ),
    key(
        "litellm_settings.drop_params",
        "boolean",
        "true",
        "Leave out parameters a provider does not support instead of failing with 400.",
    ),
    key(
        "litellm_settings.num_retries",
        "integer",
        "2",
        "Retries of each call, when `router_settings.num_retries` is not set.",
    ),
    key(
        "litellm_settings.request_timeout",
        "number",
        "600",
        "Seconds a whole call may take (default 600).",
    ),
    key(
        "litellm_settings.fallbacks",
        "list",
        r#"[{"gpt-4o": ["gpt-4o-mini"]}]"#,
        "As `router_settings.fallbacks`.",
    ),
    key(
        "litellm_settings.context_window_fallbacks",
        "list",
        r#"[{"gpt-4o": ["gpt-4.1"]}]"#,
        "As `router_settings.context_window_fallbacks`.",
    ),
    key(
        "litellm_settings.content_policy_fallbacks",
        "list",
        r#"[{"gpt-4o": ["claude"]}]"#,
        "As `router_settings.content_policy_fallbacks`.",
    ),
    key(
        "litellm_settings.callbacks",
        "list",
        r#"["prometheus", "otel"]"#,
        "`prometheus`: `/metrics` uses LiteLLM's `litellm_*` names and labels (default: `llm_gateway_*`). `otel`: spans exported over OTLP/HTTP to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT` or LiteLLM's `OTEL_ENDPOINT` (default `http://localhost:4318`). Other callbacks warn.",
    ),
    key(
        "general_settings.master_key",
        "string",
        r#""sk-master""#,
        "Every caller sends it as `Authorization: Bearer` (also `LITELLM_MASTER_KEY`); required on a non-loopback address.",
    ),
    key(
        "general_settings.database_url",
        "string",
        r#""sqlite://gateway.db""#,
        "The database of keys and spend (governance).",
    ),
    key(
        "general_settings.max_request_size_mb",
        "number",
        "32",
        "The largest request body in MiB (default 32); past it, 413.",
    ),
    key(
        "general_settings.header_timeout",
        "number",
        "30",
        "llm-gateway: seconds a client has to send a request's headers, and an idle keep-alive connection is kept.",
    ),
    key(
        "general_settings.graceful_shutdown_timeout",
        "number",
        "30",
        "llm-gateway: seconds in-flight calls get to finish after SIGTERM.",
    ),
    key(
        "general_settings.unpriced_models",
        "string",
        r#""allow""#,
        "llm-gateway (LiteLLM has no such key): a call to a model without a price (config or catalog) by a key or team with a budget is refused with 400 `unpriced_model` (`reject`, the default) or served and its spend log row marked `unpriced` (`allow`); never billed as a silent $0.",
    ),
    key(
        "general_settings.redis_fail_open",
        "mapping",
        r#"{"max_budget": false, "rpm_limit": true}"#,
        "llm-gateway (LiteLLM has no such key): per limit kind (`rpm_limit`, `tpm_limit`, `max_parallel_requests`, `max_budget`), whether it fails open (`true`, the default: counted in each replica, slack up to the limit per replica) or closed (`false`: 503 `limits_unavailable`) while Redis does not answer. Covers keys, teams and deployments. A change needs a restart.",
    ),
];

/// The README's table of supported keys, from [`KEYS`].
pub fn markdown_table() -> String {
    let mut out = String::from("| key | type | meaning |\n|---|---|---|\n");
    for k in KEYS {
        out.push_str(&format!("| `{}` | {} | {} |\n", k.path, k.kind, k.meaning));
    }
    out
}
