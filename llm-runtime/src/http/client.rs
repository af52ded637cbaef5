use std::sync::OnceLock;
use std::time::Duration;

use http::Method;
use reqwest::redirect;

use super::request::HttpRequest;
use crate::error::{Error, Result};

/// One pooled HTTP client, shared by every provider unless one is injected.
///
/// Cloning is cheap (an `Arc` inside reqwest); all clones share one connection pool.
///
/// ```no_run
/// # async fn demo() -> llm_runtime::Result<()> {
/// use llm_runtime::http::HttpClient;
/// let http = HttpClient::shared()?;
/// let reply: serde_json::Value = http
///     .post("https://api.example.com/v1/echo")
///     .bearer_auth("sk-...")
///     .json(&serde_json::json!({"hello": "world"}))?
///     .send()
///     .await?
///     .json()?;
/// # let _ = reply; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
}

/// The process-wide client, or why it could not be built (kept, so every
/// later call reports the same cause).
static SHARED: OnceLock<std::result::Result<HttpClient, String>> = OnceLock::new();

impl HttpClient {
    /// The process-wide client, built on first use.
    ///
    /// # Errors
    ///
    /// A [`Config`](crate::ErrorKind::Config) error when it cannot be built
    /// (the TLS backend could not initialise), on this call and every later
    /// one. There is no silent fallback to a client with other settings (no
    /// same-origin redirect policy, no connect timeout): a client that cannot
    /// keep the key on its origin is not used at all.
    pub fn shared() -> Result<HttpClient> {
        SHARED
            .get_or_init(|| {
                HttpClient::builder()
                    .build()
                    .map_err(|e| e.message().to_owned())
            })
            .clone()
            .map_err(Error::config)
    }

    /// A builder with this crate's defaults, for a private pool.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// Use a client you configured (proxies, mTLS, custom DNS, tests).
    ///
    /// Its redirect policy is the one it was built with: reqwest's default
    /// follows a redirect to another host and strips only `authorization`
    /// and cookies there, not `x-api-key` or `api-key`. Start from
    /// [`HttpClient::builder`]`().`[`into_reqwest`](HttpClientBuilder::into_reqwest)`()`
    /// to keep this crate's policy (same origin only) and add your settings.
    pub fn from_reqwest(client: reqwest::Client) -> HttpClient {
        HttpClient { inner: client }
    }

    /// The underlying reqwest client.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Start a request.
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> HttpRequest {
        HttpRequest::new(self.inner.clone(), method, url.as_ref())
    }

    /// Start a `POST`.
    pub fn post(&self, url: impl AsRef<str>) -> HttpRequest {
        self.request(Method::POST, url)
    }

    /// Start a `GET`.
    pub fn get(&self, url: impl AsRef<str>) -> HttpRequest {
        self.request(Method::GET, url)
    }
}

/// Settings of a pooled client.
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle_per_host: usize,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 64,
        }
    }
}

impl HttpClientBuilder {
    /// The TCP+TLS connect bound (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// How long an idle pooled connection is kept (default 90 s).
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// The most idle connections kept per host (default 64).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// The reqwest builder with these settings, to add your own (proxy, TLS...).
    pub fn into_reqwest(self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .tcp_nodelay(true)
            .gzip(true)
            .redirect(same_origin_redirects())
            .user_agent(concat!("llm-runtime/", env!("CARGO_PKG_VERSION")))
    }

    /// Build the client.
    pub fn build(self) -> Result<HttpClient> {
        let client = self
            .into_reqwest()
            .build()
            .map_err(|e| Error::config(format!("the HTTP client could not be built: {e}")))?;
        Ok(HttpClient::from_reqwest(client))
    }
}

/// Follow at most 5 redirects, and only to the same scheme, host and port:
/// provider keys travel in headers (`x-api-key`, `api-key`) that reqwest does
/// not strip on a cross-host redirect, so such a redirect is an error instead.
fn same_origin_redirects() -> redirect::Policy {
    redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("too many redirects");
        }
        let same_origin = attempt.previous().first().is_some_and(|first| {
            let next = attempt.url();
            first.scheme() == next.scheme()
                && first.host_str() == next.host_str()
                && first.port_or_known_default() == next.port_or_known_default()
        });
        if same_origin {
            attempt.follow()
        } else {
            attempt.error("refused a redirect to another origin: it would carry the API key there")
        }
    })
}

/// Whether `host` is a loopback name or address: exactly `localhost`, an
/// address in `127.0.0.0/8`, or `::1`. A name under `.localhost`
/// (`api.localhost`) is not: RFC 6761 only asks resolvers to treat it so, and
/// a resolver (or `/etc/hosts`) that does not sends plain http off the host.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "::1",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "10.0.0.1",
            "192.168.1.1",
            "localhost.example.com",
            "[::2]",
            "api.localhost",
            "localhost.",
            "127.0.0.1.nip.io",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn the_shared_client_builds() {
        let shared = HttpClient::shared();
        assert!(shared.is_ok(), "{shared:?}");
    }
}
