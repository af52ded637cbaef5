//! [`TokenSource`] (fetch a short-lived token) and [`TokenCache`] (the one
//! shared cache per provider configuration, over [`Flight`]: refresh ahead
//! of expiry in the background, single-flight, failures kept briefly,
//! invalidate once on a 401).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::flight::{Fetched, Flight};
use crate::error::Result;
use crate::http::HttpClient;

/// A short-lived access token and when it stops working.
#[derive(Clone)]
pub struct AccessToken {
    /// The token (a secret: never in Debug, errors or logs).
    pub token: SecretString,
    /// When it expires; `None` for a token without a known lifetime.
    pub expires_at: Option<Instant>,
}

impl AccessToken {
    /// A token that expires `lifetime` from now.
    pub fn expiring_in(token: impl Into<String>, lifetime: Duration) -> Self {
        AccessToken {
            token: SecretString::from(token.into()),
            expires_at: Instant::now().checked_add(lifetime),
        }
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Fetches an access token (OAuth2 client credentials, a signed JWT
/// exchange, a metadata server, or a cloud SDK the caller already uses).
///
/// The runtime never calls it concurrently for one configuration, and only
/// when the cached token is missing, near its expiry, or was refused. It runs
/// in a task of its own, bounded by [`FETCH_TIMEOUT`](crate::auth::FETCH_TIMEOUT)
/// (a call waiting for it is bounded by its own deadline), so one caller
/// giving up never cancels it.
#[async_trait]
pub trait TokenSource: Send + Sync + 'static {
    /// Fetch a fresh token, over `http` (the provider's pooled client) if it
    /// needs the network.
    async fn fetch(&self, http: &HttpClient) -> Result<AccessToken>;

    /// The long-lived secrets the source holds (a private key, a client
    /// secret, a refresh token), so the runtime can redact them.
    fn secrets(&self) -> Vec<SecretString> {
        Vec::new()
    }
}

/// The default margin before expiry at which a token is refreshed.
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(60);

/// The one token cache of a provider configuration, shared by every call and
/// clone of its client.
///
/// - Single-flight: however many calls need a token at once, one fetch runs,
///   in its own task, and every waiting call sees its result (an error
///   included). A call that stops waiting (its deadline, a dropped handler)
///   never cancels that fetch; the fetch itself is bounded by
///   [`FETCH_TIMEOUT`](crate::auth::FETCH_TIMEOUT).
/// - A failed fetch is kept for [`FAILURE_CACHE`](crate::auth::FAILURE_CACHE):
///   the calls of that window get its error at once, with a
///   [`retry_after`](crate::Error::retry_after) that ends it.
/// - Refresh ahead: within `refresh_ahead` of its expiry (at most half its
///   lifetime), the cached token is still served while one background fetch
///   replaces it; if that fetch fails, the token serves until it expires.
/// - Lifetimes are kept between [`MIN_CACHED_LIFETIME`](crate::auth::MIN_CACHED_LIFETIME)
///   and [`MAX_TOKEN_LIFETIME`](crate::auth::MAX_TOKEN_LIFETIME); a token
///   without a known expiry is kept until refused.
/// - [`invalidate`](Self::invalidate) drops a token the upstream refused
///   (once: a token fetched since is kept).
///
/// The transport bounds each call's wait for a token by the call's own
/// deadline; [`token`](Self::token) waits for the shared fetch at most
/// [`FETCH_TIMEOUT`](crate::auth::FETCH_TIMEOUT).
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    http: HttpClient,
    refresh_ahead: Duration,
    flight: Flight<SecretString>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("refresh_ahead", &self.refresh_ahead)
            .field("fetches", &self.fetches())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache over `source`, fetching over `http`.
    pub fn new(source: Arc<dyn TokenSource>, http: HttpClient, refresh_ahead: Duration) -> Self {
        TokenCache {
            source,
            http,
            refresh_ahead,
            flight: Flight::new("access token", refresh_ahead),
        }
    }

    /// How many times the source was asked for a token.
    pub fn fetches(&self) -> u64 {
        self.flight.fetches()
    }

    /// The secrets of the source, for redaction.
    pub(crate) fn source_secrets(&self) -> Vec<SecretString> {
        self.source.secrets()
    }

    /// A usable token: the cached one, or the result of the one shared fetch.
    ///
    /// Cancel-safe: dropping the future (a `tokio::time::timeout` around it)
    /// stops this caller's wait only.
    ///
    /// # Errors
    ///
    /// The source's error (shared with every caller of the fetch, and kept
    /// for [`FAILURE_CACHE`](crate::auth::FAILURE_CACHE)), or a `Timeout`
    /// when the source did not answer within [`FETCH_TIMEOUT`](crate::auth::FETCH_TIMEOUT).
    pub async fn token(&self) -> Result<SecretString> {
        self.flight
            .get(|| {
                let source = Arc::clone(&self.source);
                let http = self.http.clone();
                Box::pin(async move {
                    let fresh = source.fetch(&http).await?;
                    let now = Instant::now();
                    Ok(Fetched {
                        value: fresh.token,
                        lifetime: fresh.expires_at.map(|at| at.saturating_duration_since(now)),
                    })
                })
            })
            .await
    }

    /// Forget `refused` if it is still the cached token (a 401 answered it).
    pub async fn invalidate(&self, refused: &SecretString) {
        self.flight
            .invalidate(|t| t.expose_secret() == refused.expose_secret());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(AtomicU32, Duration);

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self, _http: &HttpClient) -> Result<AccessToken> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(AccessToken::expiring_in(format!("tok-{n}"), self.1))
        }
    }

    fn cache(lifetime: Duration, ahead: Duration) -> (Arc<TokenCache>, Arc<Counting>) {
        let source = Arc::new(Counting(AtomicU32::new(0), lifetime));
        let cache = TokenCache::new(
            source.clone(),
            HttpClient::shared().expect("the shared client"),
            ahead,
        );
        (Arc::new(cache), source)
    }

    #[tokio::test]
    async fn one_fetch_for_many_concurrent_callers() {
        let (cache, source) = cache(Duration::from_secs(3600), DEFAULT_REFRESH_AHEAD);
        let calls = (0..50).map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.token().await.map(|t| t.expose_secret().to_owned()) })
        });
        for call in calls {
            assert_eq!(call.await.expect("joined").expect("token"), "tok-0");
        }
        assert_eq!(source.0.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_ahead_of_expiry_in_the_background() {
        let (cache, _) = cache(Duration::from_secs(10), Duration::from_secs(4));
        let first = cache.token().await.expect("token");
        assert_eq!(
            cache.token().await.expect("cached").expose_secret(),
            first.expose_secret()
        );
        tokio::time::sleep(Duration::from_secs(7)).await;
        // 7 s into a 10 s token with a 4 s margin: still served, replaced behind.
        assert_eq!(
            cache.token().await.expect("served").expose_secret(),
            "tok-0"
        );
        assert_eq!(cache.fetches(), 2);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(cache.token().await.expect("fresh").expose_secret(), "tok-1");
        assert_eq!(cache.fetches(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_drops_only_the_refused_token() {
        let (cache, _) = cache(Duration::from_secs(3600), DEFAULT_REFRESH_AHEAD);
        let refused = cache.token().await.expect("token");
        cache.invalidate(&refused).await;
        let fresh = cache.token().await.expect("refetched");
        assert_eq!(fresh.expose_secret(), "tok-1");
        // A second 401 on the old token does not drop the new one.
        cache.invalidate(&refused).await;
        assert_eq!(cache.token().await.expect("kept").expose_secret(), "tok-1");
        assert_eq!(cache.fetches(), 2);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = AccessToken::expiring_in("ya29.secret-token-value", Duration::from_secs(1));
        assert!(!format!("{t:?}").contains("secret-token"));
    }
}
