//! Authentication beyond a static key: request signing and token sources.
//!
//! Both run in the one transport, on every attempt, after the request is final
//! (per-call headers and hooks included): a [`RequestSigner`] signs the bytes
//! that are sent (a retry is signed again, with a fresh date), and a
//! [`TokenCache`] puts a current token from a [`TokenSource`] in the
//! `Authorization` header, refetching it once when the upstream answers 401.
//! Hooks run before either, so they never see a signature or a token.
//!
//! Getting a credential is part of the call: the transport waits for a token
//! (or for a signer's credentials) at most until the call's deadline. The
//! fetch itself is shared by every caller of the configuration and runs in a
//! task of its own ([`FETCH_TIMEOUT`] bounds it), so a caller that gives up
//! never cancels it for the others; a failure is kept for [`FAILURE_CACHE`].
//!
//! Lifetimes, in one table:
//!
//! | what | kept |
//! |---|---|
//! | a token endpoint's `expires_in` (number, float, or numeric string) | clamped to [`MIN_TOKEN_LIFETIME`]..[`MAX_TOKEN_LIFETIME`] |
//! | `expires_in` absent, `null`, or not a number | [`DEFAULT_TOKEN_LIFETIME`] |
//! | a [`TokenSource`]'s (or AWS provider's) own expiry | clamped to [`MIN_CACHED_LIFETIME`]..[`MAX_TOKEN_LIFETIME`] |
//! | no expiry ([`StaticToken`], static AWS keys) | until refused |
//!
//! A token is refreshed, in the background, `refresh_ahead` before it
//! expires ([`DEFAULT_REFRESH_AHEAD`]), or halfway through its lifetime when
//! that is sooner.

pub mod aws;
mod entra;
pub(crate) mod env;
mod flight;
pub(crate) mod google;
mod oauth;
mod signer;
pub(crate) mod token;

pub use entra::{AZURE_PUBLIC_CLOUD, COGNITIVE_SERVICES_SCOPE, EntraId};
pub use env::{ENTRA_SECRET_ENV, GOOGLE_CREDENTIALS_ENV};
pub use flight::{FAILURE_CACHE, FETCH_TIMEOUT, MAX_TOKEN_LIFETIME, MIN_CACHED_LIFETIME};
pub use google::{CLOUD_PLATFORM_SCOPE, GOOGLE_TOKEN_URI, GoogleCredentials, JWT_BEARER_GRANT};
pub use oauth::{DEFAULT_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, StaticToken};
pub use signer::RequestSigner;
pub use token::{AccessToken, DEFAULT_REFRESH_AHEAD, TokenCache, TokenSource};

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, ErrorKind, Result};

/// How the transport authenticates each attempt beyond its static headers.
#[derive(Clone, Default)]
pub(crate) enum DynamicAuth {
    /// Static headers (or query parameter) only.
    #[default]
    Static,
    /// Sign each attempt.
    Signer(Arc<dyn RequestSigner>),
    /// A cached token in `Authorization: Bearer`.
    Token(Arc<TokenCache>),
}

impl std::fmt::Debug for DynamicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DynamicAuth::Static => "static",
            DynamicAuth::Signer(_) => "signed",
            DynamicAuth::Token(_) => "token",
        })
    }
}

impl DynamicAuth {
    /// Sign `request`, or put the current token in it; the token used, if
    /// any. Getting the credential is part of the call: it is waited for at
    /// most `left` (what remains of the call's deadline; `None`: unbounded),
    /// and a caller that stops waiting leaves the shared fetch running.
    pub(crate) async fn authenticate(
        &self,
        request: &mut reqwest::Request,
        left: Option<Duration>,
    ) -> Result<Option<SecretString>> {
        if matches!(self, DynamicAuth::Static) {
            return Ok(None);
        }
        let authenticate = self.authenticate_now(request);
        match left {
            None => authenticate.await,
            // The future is polled before the timer: a cached credential is
            // used even with no time left (the send then reports the deadline).
            Some(left) => tokio::time::timeout(left, authenticate)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no credentials within the call's deadline ({left:?} were left): the credential fetch is still running"
                        ),
                    ))
                }),
        }
    }

    async fn authenticate_now(
        &self,
        request: &mut reqwest::Request,
    ) -> Result<Option<SecretString>> {
        match self {
            DynamicAuth::Static => Ok(None),
            DynamicAuth::Signer(signer) => signer.sign(request).await.map(|()| None),
            DynamicAuth::Token(cache) => {
                let token = cache.token().await?;
                let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
                    .map_err(|_| {
                        Error::config("the access token has characters a header cannot carry")
                    })?;
                value.set_sensitive(true);
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, value);
                Ok(Some(token))
            }
        }
    }
}
