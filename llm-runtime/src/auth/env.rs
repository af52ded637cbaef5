//! The token source the environment configures for a provider declared with
//! `auth = "token"`: the declaration's `env` names the credentials variable,
//! and that variable says whose credentials they are.

use std::sync::Arc;

use crate::auth::{EntraId, GoogleCredentials, TokenSource};
use crate::error::Result;
use crate::spec::{AuthScheme, ProviderSpec};

/// The credentials variable of Google's Application Default Credentials.
pub const GOOGLE_CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The variable of an Entra ID client secret (with `AZURE_TENANT_ID` and `AZURE_CLIENT_ID`).
pub const ENTRA_SECRET_ENV: &str = "AZURE_CLIENT_SECRET";

/// What the environment gives a token-auth provider's configuration.
pub(crate) struct EnvAuth {
    /// The token source.
    pub(crate) source: Arc<dyn TokenSource>,
    /// Placeholder values the credentials tell (a service account's `{project}`).
    pub(crate) url_vars: Vec<(String, String)>,
}

/// For a token-auth provider whose placeholders are `url_vars` so far: the
/// source its declared credentials variable calls for. `None` for other
/// providers and for variables no built-in source reads (`connect` then asks
/// for `.token_source(...)`).
pub(crate) fn from_env(
    spec: &ProviderSpec,
    url_vars: &[(String, String)],
) -> Result<Option<EnvAuth>> {
    if spec.auth != AuthScheme::Token {
        return Ok(None);
    }
    let value = |name: &str| {
        url_vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match spec.api_key_env {
        Some(GOOGLE_CREDENTIALS_ENV) => {
            let credentials = GoogleCredentials::from_env()?;
            let declares_project = spec.url_vars.iter().any(|(n, _)| *n == "project");
            let project = credentials
                .project_id()
                .filter(|_| declares_project && value("project").is_none())
                .map(|p| ("project".to_owned(), p.to_owned()));
            Ok(Some(EnvAuth {
                source: Arc::new(credentials),
                url_vars: project.into_iter().collect(),
            }))
        }
        Some(ENTRA_SECRET_ENV) => Ok(Some(EnvAuth {
            source: Arc::new(EntraId::from_env()?),
            url_vars: Vec::new(),
        })),
        _ => Ok(None),
    }
}
