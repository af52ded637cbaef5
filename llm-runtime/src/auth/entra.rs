//! [`EntraId`]: Microsoft Entra ID access tokens by the OAuth2
//! client-credentials grant, for Azure OpenAI (and any Azure service).

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

use super::oauth::{self, Field};
use crate::auth::{AccessToken, TokenSource};
use crate::error::{Error, Result};
use crate::http::HttpClient;

/// The scope of Azure AI services (Azure OpenAI).
pub const COGNITIVE_SERVICES_SCOPE: &str = "https://cognitiveservices.azure.com/.default";

/// The public cloud's authority host.
pub const AZURE_PUBLIC_CLOUD: &str = "https://login.microsoftonline.com";

/// An app registration's client secret as a [`TokenSource`]: each fetch
/// `POST`s `client_id`, `scope`, `client_secret` and
/// `grant_type=client_credentials` to
/// `{authority}/{tenant}/oauth2/v2.0/token`, as Microsoft documents the
/// client-credentials flow.
///
/// ```
/// use std::sync::Arc;
/// use llm_runtime::auth::EntraId;
/// use llm_runtime::providers::AzureOpenAi;
/// let entra = EntraId::new("contoso.onmicrosoft.com", "app-id", "client-secret-value").unwrap();
/// assert!(!format!("{entra:?}").contains("client-secret-value"));
/// let azure = AzureOpenAi::config()
///     .base_url("https://my-resource.openai.azure.com/openai")
///     .token_source(Arc::new(entra))
///     .connect()
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct EntraId {
    tenant_id: String,
    client_id: String,
    client_secret: SecretString,
    scope: String,
    authority: String,
}

impl EntraId {
    /// Client credentials of the app registration `client_id` in `tenant_id`
    /// (a GUID or a domain), for the Azure AI services scope on the public cloud.
    ///
    /// # Errors
    ///
    /// A `Config` error when a value is empty or the tenant is not a GUID or domain.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self> {
        let (tenant_id, client_id) = (tenant_id.into(), client_id.into());
        let client_secret = client_secret.into();
        if !is_tenant(&tenant_id) {
            return Err(Error::config(format!(
                "the Entra tenant `{tenant_id}` is not a tenant id or domain"
            )));
        }
        if client_id.trim().is_empty() || client_secret.trim().is_empty() {
            return Err(Error::config(
                "Entra ID client credentials need a client id and a client secret",
            ));
        }
        Ok(EntraId {
            tenant_id,
            client_id,
            client_secret: SecretString::from(client_secret),
            scope: COGNITIVE_SERVICES_SCOPE.to_owned(),
            authority: AZURE_PUBLIC_CLOUD.to_owned(),
        })
    }

    /// From `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_CLIENT_SECRET`
    /// (the variables of Azure's own SDKs), and `AZURE_AUTHORITY_HOST` for a
    /// sovereign cloud when it is set.
    ///
    /// # Errors
    ///
    /// A `Config` error naming the variable that is not set.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| {
            var(name).ok_or_else(|| {
                Error::config(format!(
                    "{name} is not set: Entra ID client credentials need AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                ))
            })
        };
        let entra = Self::new(
            get("AZURE_TENANT_ID")?,
            get("AZURE_CLIENT_ID")?,
            get("AZURE_CLIENT_SECRET")?,
        )?;
        match var("AZURE_AUTHORITY_HOST") {
            Some(host) => entra.authority_host(host),
            None => Ok(entra),
        }
    }

    /// Ask for `scope` instead of the Azure AI services scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Use this authority host (`https://login.microsoftonline.us` for Azure
    /// Government, a loopback mock in tests) instead of the public cloud's.
    ///
    /// # Errors
    ///
    /// A `Config` error when it is not https (plain http only to loopback).
    pub fn authority_host(mut self, host: impl Into<String>) -> Result<Self> {
        let host = host.into();
        oauth::check_endpoint(&host, "Entra authority host")?;
        self.authority = host.trim_end_matches('/').to_owned();
        Ok(self)
    }

    /// The token endpoint: `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant_id)
    }
}

#[async_trait]
impl TokenSource for EntraId {
    async fn fetch(&self, http: &HttpClient) -> Result<AccessToken> {
        oauth::exchange(
            http,
            &self.token_url(),
            &[
                Field::Plain("client_id", &self.client_id),
                Field::Plain("scope", &self.scope),
                Field::Secret("client_secret", &self.client_secret),
                Field::Plain("grant_type", "client_credentials"),
            ],
            "Entra ID token endpoint",
        )
        .await
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.client_secret.clone()]
    }
}

impl fmt::Debug for EntraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraId")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scope", &self.scope)
            .field("authority", &self.authority)
            .finish()
    }
}

/// A tenant GUID or domain: one path segment, nothing that moves the request.
fn is_tenant(tenant: &str) -> bool {
    !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn from_vars_names_what_is_missing() {
        let e = EntraId::from_vars(&|name| (name == "AZURE_TENANT_ID").then(|| "t".to_owned()))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().starts_with("AZURE_CLIENT_ID is not set"), "{e}");
        let all = |name: &str| match name {
            "AZURE_TENANT_ID" => Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned()),
            "AZURE_CLIENT_ID" => Some("app".to_owned()),
            "AZURE_CLIENT_SECRET" => Some("shh-secret".to_owned()),
            "AZURE_AUTHORITY_HOST" => Some("https://login.microsoftonline.us/".to_owned()),
            _ => None,
        };
        let entra = EntraId::from_vars(&all).unwrap();
        assert_eq!(
            entra.token_url(),
            "https://login.microsoftonline.us/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        );
        assert!(!format!("{entra:?}").contains("shh-secret"));
    }

    #[test]
    fn bad_values_are_config_errors() {
        assert!(EntraId::new("evil.com/x?", "a", "b").is_err());
        assert!(EntraId::new("t", "", "b").is_err());
        assert!(EntraId::new("t", "a", " ").is_err());
        let entra = EntraId::new("t", "a", "b").unwrap();
        assert!(
            entra
                .clone()
                .authority_host("http://login.example")
                .is_err()
        );
        assert!(entra.authority_host("http://127.0.0.1:1").is_ok());
    }
}
