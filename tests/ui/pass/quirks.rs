use llm_runtime::{Provider, spec::MaxTokensField, types::{Param, Params}};

/// Every quirk key at once.
#[derive(Debug, Default, Provider)]
#[provider(name = "gateway", base_url = "https://{workspace}.example.com/accounts/{account_id}/v1",
           auth = "bearer", env = "GATEWAY_KEY", dialect = openai,
           url_vars(workspace = "GATEWAY_WORKSPACE", account_id = "GATEWAY_ACCOUNT"),
           env_headers("x-gateway-team" = "GATEWAY_TEAM"), unsupported(seed, user),
           max_tokens_field = "max_tokens", stream_options = false, models_path = "/catalog/models",
           docs = "https://docs.example.com/gateway")]
pub struct Gateway;

fn main() {
    let spec = Gateway::SPEC;
    assert_eq!(spec.base_url, "https://{workspace}.example.com/accounts/{account_id}/v1");
    assert_eq!(spec.url_vars, &[("workspace", "GATEWAY_WORKSPACE"), ("account_id", "GATEWAY_ACCOUNT")]);
    assert_eq!(spec.env_headers, &[("x-gateway-team", "GATEWAY_TEAM")]);
    assert_eq!(spec.unsupported_params, Params::of(&[Param::Seed, Param::User]));
    assert_eq!(spec.max_tokens_field, MaxTokensField::MaxTokens);
    assert!(!spec.stream_options);
    assert_eq!(spec.models_path, Some("/catalog/models"));
    assert_eq!(spec.docs, Some("https://docs.example.com/gateway"));
    assert_eq!(spec.dialect, Some("openai"));
    let error = Gateway::config().api_key("k").connect().unwrap_err();
    assert!(error.to_string().contains("GATEWAY_WORKSPACE"), "{error}");
    let error = Gateway::config()
        .api_key("k")
        .url_var("workspace", "w1")
        .url_var("account_id", "a1")
        .connect()
        .unwrap_err();
    assert!(error.to_string().contains("GATEWAY_TEAM"), "the required header: {error}");
    let client = Gateway::config()
        .api_key("k")
        .url_var("workspace", "w1")
        .url_var("account_id", "a1")
        .header("x-gateway-team", "t")
        .connect()
        .unwrap();
    assert_eq!(client.info().base_url, "https://w1.example.com/accounts/a1/v1");
}
