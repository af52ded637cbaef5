//! `with_env()`: what the environment gives a configuration, filling only
//! what no builder call set (the precedence table is on [`ProviderConfig`]).

use secrecy::SecretString;

use super::ProviderConfig;
use crate::error::Result;
use crate::http::is_loopback_host;
use crate::provider::Provider;
use crate::spec::{AuthScheme, ProviderSpec};

impl<P: Provider> ProviderConfig<P> {
    /// Read the declared environment variables into every setting no builder
    /// call gave, before or after this one: the key (`env = ...`), the base
    /// URL (`base_url_env = ...`), the URL placeholders (`url_vars(...)`),
    /// the headers read from variables (`env_headers(...)`), and the
    /// credentials of token and signing auth. A builder call always wins,
    /// whatever the order (see the table on [`ProviderConfig`]).
    ///
    /// A missing value is not an error here (a later builder call may give
    /// it): [`connect`](Self::connect) names what is missing. A variable that
    /// is set but unusable (a credentials file that does not parse) is.
    ///
    /// # Errors
    ///
    /// A `Config` error when a set variable cannot be used.
    pub fn with_env(mut self) -> Result<Self> {
        let spec = &P::SPEC;
        if self.base_url.is_none()
            && let Some(url) = spec.base_url_env.and_then(read_env)
        {
            self.base_url = Some(url);
        }
        for (name, var) in spec.url_vars {
            if !self.url_vars.iter().any(|(n, _)| n == name)
                && let Some(value) = read_env(var)
            {
                self.url_vars.push(((*name).to_owned(), value));
            }
        }
        for (header, var) in spec.env_headers {
            if !self.has_header(header)
                && let Some(value) = read_env(var)
            {
                self.headers.push(((*header).to_owned(), value));
            }
        }
        // Token auth: the source the declared credentials variable calls for.
        if self.token_source.is_none()
            && let Some(env) = crate::auth::env::from_env(spec, &self.url_vars)?
        {
            self.token_source = Some(env.source);
            self.url_vars.extend(env.url_vars);
        }
        // Signing auth: the region, and a key or credentials, from the environment.
        if let AuthScheme::SigV4 { service } = spec.auth {
            let had_signer = self.signer.is_some();
            let has_credentials = had_signer || self.api_key.is_some();
            let found = crate::auth::aws::from_env(spec, &self.url_vars, has_credentials, service)
                .map_err(|e| e.with_provider(spec.name))?;
            self.url_vars.extend(found.url_vars);
            self.api_key = self.api_key.take().or(found.api_key);
            self.signer = self.signer.take().or(found.signer);
            self.signer_from_env |= !had_signer && self.signer.is_some();
        }
        // A token source given instead of a key needs no key variable.
        if spec.auth.needs_key()
            && self.api_key.is_none()
            && self.token_source.is_none()
            && let Some(key) = spec.api_key_env.and_then(read_env)
        {
            self.api_key = Some(SecretString::from(key));
        }
        Ok(self)
    }
}

/// Whether `spec`'s key may be left out: a provider that sends a key but
/// whose declared default endpoint is on loopback is a server the user runs
/// (`openai_compatible` for vLLM, TGI, LM Studio...), which may check no key
/// at all. Without a key it is built (`from_env()` included) and sends none.
pub(crate) fn key_optional(spec: &ProviderSpec) -> bool {
    spec.auth.needs_key()
        && url::Url::parse(spec.base_url).is_ok_and(|u| u.host_str().is_some_and(is_loopback_host))
}

/// The value of `var`, when it is set and not blank.
pub(crate) fn read_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}
