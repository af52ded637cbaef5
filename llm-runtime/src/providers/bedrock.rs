//! Amazon Bedrock: every request signed with AWS Signature V4 (or a Bedrock
//! API key as a bearer token), the Converse wire format, and the AWS event
//! stream for streamed answers.

use crate::Provider;

/// Amazon Bedrock's Converse API, for every model Bedrock hosts (Claude,
/// Llama, Mistral, Amazon Nova...). Model ids are Bedrock's, inference
/// profiles (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) and ARNs included.
///
/// `from_env()` reads the region (`AWS_REGION`, `AWS_DEFAULT_REGION`, or the
/// profile's) into `https://bedrock-runtime.{region}.amazonaws.com`
/// (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` replaces it), and the credentials: a
/// Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`), else static keys
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else
/// the static keys of the profile `AWS_PROFILE` (or `default`) in the shared
/// files. Anything else (SSO, roles, instance metadata) is a caller's
/// `ProvideCredentials` given as
/// `.signer(Arc::new(SigV4Signer::with_provider(provider, region, "bedrock")))`;
/// see [`crate::auth::aws`].
///
/// ```
/// use llm_runtime::providers::Bedrock;
/// let client = Bedrock::config()
///     .url_var("region", "eu-west-1")
///     .api_key("bedrock-api-key")
///     .connect()
///     .unwrap();
/// assert_eq!(client.info().base_url, "https://bedrock-runtime.eu-west-1.amazonaws.com");
/// ```
#[derive(Debug, Clone, Copy, Default, Provider)]
#[provider(name = "bedrock", base_url = "https://bedrock-runtime.{region}.amazonaws.com",
           auth(sigv4 = "bedrock"), env = "AWS_BEARER_TOKEN_BEDROCK",
           base_url_env = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url_vars(region = "AWS_REGION"),
           models("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                  "anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0",
                  "meta.llama3-3-70b-instruct-v1:0", "mistral.mistral-large-2407-v1:0"),
           docs = "https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html",
           capabilities(chat, stream, tools, vision, reasoning), dialect = converse)]
pub struct Bedrock;
