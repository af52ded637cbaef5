//! [`RequestSigner`]: signs each attempt over its final bytes.

use async_trait::async_trait;
use http::HeaderMap;
use secrecy::SecretString;

use crate::error::{Error, Result};

/// Signs a request over its final method, URL, headers and body (AWS SigV4),
/// on every attempt: a retry is signed again.
///
/// The transport calls it last, after per-call headers and hooks, so what is
/// signed is exactly what is sent.
#[async_trait]
pub trait RequestSigner: Send + Sync + 'static {
    /// Add the signature (and its date, token...) to `request`.
    async fn sign(&self, request: &mut reqwest::Request) -> Result<()>;

    /// The secrets the signer holds (a secret key, a session token), so the
    /// runtime can redact them from errors and logs.
    fn secrets(&self) -> Vec<SecretString> {
        Vec::new()
    }

    /// The region signatures are for, when the scheme has one (SigV4): the
    /// configuration refuses a base URL in another region before any call.
    fn region(&self) -> Option<&str> {
        None
    }

    /// The upstream refused an attempt this signer signed (`error`, and the
    /// answer's `headers`): whether the signer corrected itself, so that the
    /// same request signed again may pass (SigV4: its clock, from the
    /// answer's `Date`, after a clock-skew refusal). The transport then sends
    /// the attempt once more, whatever the retry policy; at most once per call.
    fn refused(&self, error: &Error, headers: &HeaderMap) -> bool {
        let _ = (error, headers);
        false
    }
}
