//! AWS authentication for providers declared with `auth(sigv4 = "...")`
//! (Bedrock): Signature V4 with credentials from the environment, a named
//! profile of the shared files or a caller's provider, or a Bedrock API key
//! sent as a bearer token.
//!
//! What `from_env()` picks, first match wins:
//!
//! | source | variables |
//! |---|---|
//! | a signer given with `.signer(...)` | |
//! | a Bedrock API key (bearer) | `.api_key(...)`, or the declared key variable (`AWS_BEARER_TOKEN_BEDROCK`) |
//! | static keys | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` |
//! | a profile's static keys | `AWS_PROFILE` (else `default`) in `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` (else `~/.aws/credentials`, `~/.aws/config`) |
//!
//! A profile that names another source of credentials (`role_arn`,
//! `source_profile`, `credential_source`, `credential_process`, SSO, web
//! identity) is a `Config` error, static keys or not: the AWS SDKs would use
//! that source (the keys of a `role_arn` profile only assume the role), so
//! signing with the keys would act as another identity.
//!
//! The region is `.url_var("region", ...)`, else `AWS_REGION`, else
//! `AWS_DEFAULT_REGION`, else the profile's `region`. Anything else (SSO,
//! assumed roles, instance metadata, web identity) comes from the AWS SDK's
//! own providers: `SigV4Signer::with_provider(provider, region, "bedrock")`.

mod profile;
#[cfg(feature = "bedrock")]
mod sigv4;

#[cfg(feature = "bedrock")]
pub use aws_credential_types::Credentials;
#[cfg(feature = "bedrock")]
pub use aws_credential_types::provider::{
    ProvideCredentials, error::CredentialsError,
    future::ProvideCredentials as ProvideCredentialsFuture,
};
#[cfg(feature = "bedrock")]
pub use sigv4::SigV4Signer;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::RequestSigner;
use crate::error::{Error, Result};
use crate::spec::ProviderSpec;

/// A static bearer token on every attempt (`Authorization: Bearer <token>`):
/// a Bedrock API key, for a provider whose declaration signs.
///
/// ```
/// use llm_runtime::auth::{RequestSigner, aws::BearerToken};
/// let token = BearerToken::new("bedrock-api-key-abc");
/// assert!(!format!("{token:?}").contains("abc"));
/// assert_eq!(token.secrets().len(), 1);
/// ```
pub struct BearerToken {
    token: SecretString,
}

impl BearerToken {
    /// Send `token` as the bearer credential.
    pub fn new(token: impl Into<String>) -> Self {
        BearerToken {
            token: SecretString::from(token.into()),
        }
    }

    pub(crate) fn from_secret(token: SecretString) -> Self {
        BearerToken { token }
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

#[async_trait]
impl RequestSigner for BearerToken {
    async fn sign(&self, request: &mut reqwest::Request) -> Result<()> {
        let mut value = HeaderValue::try_from(format!("Bearer {}", self.token.expose_secret()))
            .map_err(|_| Error::config("the API key has characters a header cannot carry"))?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
        Ok(())
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.token.clone()]
    }
}

/// A set, non-blank environment variable.
fn env_var(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The region from the environment: `AWS_REGION`, `AWS_DEFAULT_REGION`, then
/// the `region` of the profile (`AWS_PROFILE`, else `default`).
///
/// ```no_run
/// let region = llm_runtime::auth::aws::region_from_env()?.unwrap_or_else(|| "us-east-1".into());
/// # Ok::<(), llm_runtime::Error>(())
/// ```
pub fn region_from_env() -> Result<Option<String>> {
    if let Some(region) = env_var("AWS_REGION").or_else(|| env_var("AWS_DEFAULT_REGION")) {
        return Ok(Some(region));
    }
    Ok(profile::load(&env_var)?.and_then(|(_, p)| p.region))
}

/// Static keys from the variables, else from the profile.
enum Keys {
    Found {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        from: String,
    },
    None,
}

fn keys_from_env() -> Result<Keys> {
    keys_from(&env_var)
}

/// [`keys_from_env`] over `env` instead of the process environment.
fn keys_from(env: &dyn Fn(&str) -> Option<String>) -> Result<Keys> {
    match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Keys::Found {
                access_key_id,
                secret_access_key,
                session_token: env("AWS_SESSION_TOKEN"),
                from: "the environment".to_owned(),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::config(
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
            ));
        }
        (None, None) => {}
    }
    let Some((name, profile)) = profile::load(env)? else {
        return Ok(Keys::None);
    };
    // A profile that names another source (`role_arn`, SSO, a process, web
    // identity) is that source for the AWS SDKs, even when it also has keys:
    // those only start it. Signing with them would act as another identity.
    if let Some(key) = profile.other_source {
        let keys = if profile.access_key_id.is_some() {
            " (its static keys are only the source identity)"
        } else {
            ""
        };
        return Err(Error::config(format!(
            "AWS profile `{name}` gets its credentials through `{key}`{keys}, which needs the AWS SDK: pass its provider with `.signer(Arc::new(SigV4Signer::with_provider(provider, region, \"bedrock\")))`"
        )));
    }
    match (profile.access_key_id, profile.secret_access_key) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Keys::Found {
            access_key_id,
            secret_access_key,
            session_token: profile.session_token,
            from: format!("profile `{name}`"),
        }),
        _ => Err(Error::config(format!(
            "AWS profile `{name}` has no `aws_access_key_id` and `aws_secret_access_key`"
        ))),
    }
}

/// What the environment gives a signing provider: the same shape for every
/// scheme ([`EnvAuth`](crate::auth::env::EnvAuth) is the token form), applied by
/// `ProviderConfig::with_env`.
#[derive(Default)]
pub(crate) struct AwsEnv {
    /// The `{region}` placeholder, when the declaration has one and none was given.
    pub(crate) url_vars: Vec<(String, String)>,
    /// A Bedrock API key (bearer) from the declared key variable.
    pub(crate) api_key: Option<SecretString>,
    /// SigV4 credentials from the environment or a profile.
    pub(crate) signer: Option<Arc<dyn RequestSigner>>,
}

/// `with_env()` of a signing provider whose placeholders are `url_vars` so
/// far: the region from the environment (when the declaration has a `{region}`
/// placeholder and none was given), then, unless `has_credentials` (a signer
/// or key was given), a bearer key or SigV4 credentials.
pub(crate) fn from_env(
    spec: &ProviderSpec,
    url_vars: &[(String, String)],
    has_credentials: bool,
    service: &'static str,
) -> Result<AwsEnv> {
    let mut found = AwsEnv::default();
    let mut region = url_vars
        .iter()
        .rev()
        .find(|(n, _)| n == "region")
        .map(|(_, v)| v.clone());
    if region.is_none() {
        region = region_from_env()?;
        if let Some(region) = &region
            && spec.url_vars.iter().any(|(n, _)| *n == "region")
        {
            found.url_vars.push(("region".to_owned(), region.clone()));
        }
    }
    if has_credentials {
        return Ok(found);
    }
    if let Some(key) = spec.api_key_env.and_then(env_var) {
        found.api_key = Some(SecretString::from(key));
        return Ok(found);
    }
    match keys_from_env()? {
        Keys::Found {
            access_key_id,
            secret_access_key,
            session_token,
            from,
        } => {
            let Some(region) = region else {
                return Err(Error::config(format!(
                    "no AWS region to sign the {} requests for: set AWS_REGION, or pass `.url_var(\"region\", ...)`",
                    spec.name
                )));
            };
            found.signer = Some(sigv4_signer(
                access_key_id,
                secret_access_key,
                session_token,
                &from,
                region,
                service,
            )?);
            Ok(found)
        }
        // Not an error yet: a `.signer(...)` or `.api_key(...)` after
        // `with_env()` may still give them; `connect()` says what is missing.
        Keys::None => Ok(found),
    }
}

#[cfg(feature = "bedrock")]
fn sigv4_signer(
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    from: &str,
    region: String,
    service: &'static str,
) -> Result<Arc<dyn RequestSigner>> {
    let _ = from;
    let credentials = Credentials::new(
        access_key_id,
        secret_access_key,
        session_token,
        None,
        "llm-runtime-env",
    );
    Ok(Arc::new(SigV4Signer::new(credentials, region, service)))
}

#[cfg(not(feature = "bedrock"))]
fn sigv4_signer(
    _access_key_id: String,
    _secret_access_key: String,
    _session_token: Option<String>,
    from: &str,
    _region: String,
    _service: &'static str,
) -> Result<Arc<dyn RequestSigner>> {
    Err(Error::config(format!(
        "AWS credentials were found in {from}, but llm-runtime was built without its `bedrock` feature (SigV4 signing)"
    )))
}

/// The bearer signer for a key given to a signing provider.
pub(crate) fn bearer(key: &SecretString) -> Arc<dyn RequestSigner> {
    Arc::new(BearerToken::from_secret(key.clone()))
}

/// Whether [`Client::from_env`](crate::Client::from_env) can build this
/// signing provider: a region and some credentials are in the environment.
pub(crate) fn env_configured(spec: &ProviderSpec) -> bool {
    let url_given = spec.base_url_env.and_then(env_var).is_some();
    let region = region_from_env().is_ok_and(|r| r.is_some());
    let bearer = spec.api_key_env.and_then(env_var).is_some();
    // A bearer key needs only the URL; a signature also needs the region.
    (bearer && (region || url_given))
        || (region && matches!(keys_from_env(), Ok(Keys::Found { .. })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keys_from` over a credentials file holding `credentials`.
    fn keys_with(tag: &str, credentials: &str) -> Result<Keys> {
        let dir =
            std::env::temp_dir().join(format!("llm-runtime-keys-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("credentials");
        std::fs::write(&path, credentials).expect("write");
        let path = path.display().to_string();
        let env = move |var: &str| match var {
            "AWS_SHARED_CREDENTIALS_FILE" => Some(path.clone()),
            "AWS_CONFIG_FILE" | "HOME" => Some("/nonexistent-llm-runtime".to_owned()),
            _ => None,
        };
        keys_from(&env)
    }

    #[test]
    fn a_profile_with_keys_and_another_source_is_a_config_error() {
        for other in [
            "role_arn = arn:aws:iam::123456789012:role/Admin",
            "credential_process = /bin/creds",
            "web_identity_token_file = /var/token",
            "sso_session = corp",
        ] {
            let file = format!(
                "[default]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = source-secret\n{other}\n"
            );
            let Err(e) = keys_with("other", &file) else {
                panic!("{other}: signed with the source user's keys");
            };
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{other}");
            let key = other.split(' ').next().unwrap_or_default();
            assert!(e.message().contains(&format!("`{key}`")), "{e}");
            assert!(e.message().contains("source identity"), "{e}");
            assert!(!e.message().contains("source-secret"), "{e}");
        }
        let plain = "[default]\naws_access_key_id = AKIDPLAIN\naws_secret_access_key = s\n";
        assert!(matches!(
            keys_with("plain", plain),
            Ok(Keys::Found { ref access_key_id, .. }) if access_key_id == "AKIDPLAIN"
        ));
    }
}
