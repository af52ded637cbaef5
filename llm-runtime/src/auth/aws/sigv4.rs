//! [`SigV4Signer`]: AWS Signature Version 4 over each attempt's final bytes,
//! with AWS's own `aws-sigv4` crate.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::{HeaderMap, HeaderValue};
use secrecy::SecretString;

use crate::auth::RequestSigner;
use crate::auth::flight::{Fetched, Flight};
use crate::error::{Error, ErrorKind, Result};

/// Credentials from a caller's provider are fetched again this long before
/// they expire (at most halfway through their lifetime).
const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// The error codes AWS answers a request signed at the wrong time with (the
/// AWS SDKs' list of clock-skew errors).
const SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
];

/// What AWS's messages say when the signing time is too far off.
const SKEW_MESSAGES: &[&str] = &[
    "Signature expired",
    "Signature not yet current",
    "RequestTimeTooSkewed",
];

/// A server clock this close to ours is not skew (the `Date` header has
/// one-second resolution, and the answer took some time to arrive).
const SKEW_THRESHOLD: Duration = Duration::from_secs(60);

/// A `Date` further off than this is not a clock to follow.
const MAX_SKEW: Duration = Duration::from_secs(24 * 3600);

/// Signs every attempt with AWS Signature Version 4 (`Authorization`,
/// `X-Amz-Date`, and `X-Amz-Security-Token` for temporary credentials), over
/// the final method, URL, headers and body: a retry is signed again, with
/// the clock's new date.
///
/// Clock skew: when AWS refuses an attempt as signed at the wrong time (a
/// 403 `InvalidSignatureException` "Signature expired", `RequestTimeTooSkewed`
/// and the other codes the AWS SDKs treat as skew) and the answer's `Date` is
/// more than a minute (and less than a day) from the signer's clock, the
/// signer keeps that offset for every later signature and the transport
/// sends the attempt once more, signed again.
///
/// Credentials from a provider ([`with_provider`](Self::with_provider)) are
/// fetched once for every concurrent call, in a task of their own (bounded
/// by [`FETCH_TIMEOUT`](crate::auth::FETCH_TIMEOUT); each call waits at most
/// until its deadline), refreshed in the background five minutes before they
/// expire (or halfway through a shorter lifetime), and a failure is kept for
/// [`FAILURE_CACHE`](crate::auth::FAILURE_CACHE).
///
/// The secret key and the session token never appear in `Debug`, errors or
/// logs; the headers the signer adds are marked sensitive.
///
/// ```
/// use std::sync::Arc;
/// use llm_runtime::auth::aws::{Credentials, SigV4Signer};
/// use llm_runtime::providers::Bedrock;
/// let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "docs");
/// let signer = SigV4Signer::new(credentials, "us-east-1", "bedrock");
/// assert!(!format!("{signer:?}").contains("wJalr"));
/// let client = Bedrock::config().url_var("region", "us-east-1").signer(Arc::new(signer)).connect().unwrap();
/// assert_eq!(client.info().base_url, "https://bedrock-runtime.us-east-1.amazonaws.com");
/// ```
pub struct SigV4Signer {
    source: Source,
    region: String,
    service: String,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
    /// The server's clock minus ours, in milliseconds, learnt from a skew refusal.
    skew_ms: AtomicI64,
}

enum Source {
    /// Keys known up front (variables, a profile, the caller's).
    Static(Credentials),
    /// A caller's provider (the AWS SDK's chain, SSO, IMDS, IRSA...), cached
    /// until shortly before the credentials expire.
    Provider {
        provider: SharedCredentialsProvider,
        cached: Flight<Credentials>,
    },
}

impl SigV4Signer {
    /// Sign with `credentials` for `region` and the signing `service` (`bedrock`).
    pub fn new(
        credentials: Credentials,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        SigV4Signer::from_source(Source::Static(credentials), region, service)
    }

    /// Sign with credentials from `provider`, fetched when first needed and
    /// again shortly before they expire (any `ProvideCredentials`: the AWS
    /// SDK's default chain, SSO, web identity, instance metadata...).
    pub fn with_provider(
        provider: impl ProvideCredentials + 'static,
        region: impl Into<String>,
        service: impl Into<String>,
    ) -> Self {
        let source = Source::Provider {
            provider: SharedCredentialsProvider::new(provider),
            cached: Flight::new("AWS credentials", REFRESH_AHEAD),
        };
        SigV4Signer::from_source(source, region, service)
    }

    fn from_source(source: Source, region: impl Into<String>, service: impl Into<String>) -> Self {
        SigV4Signer {
            source,
            region: region.into(),
            service: service.into(),
            clock: Arc::new(SystemTime::now),
            skew_ms: AtomicI64::new(0),
        }
    }

    /// Read the signing time from `clock` instead of the system clock (replay
    /// of recorded requests, tests of re-signing).
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The time a signature made now carries: the clock, corrected by the skew.
    fn signing_time(&self) -> SystemTime {
        let now = (self.clock)();
        let ms = self.skew_ms.load(Ordering::Relaxed);
        let skew = Duration::from_millis(ms.unsigned_abs());
        let corrected = if ms < 0 {
            now.checked_sub(skew)
        } else {
            now.checked_add(skew)
        };
        corrected.unwrap_or(now)
    }

    async fn credentials(&self) -> Result<Credentials> {
        match &self.source {
            Source::Static(credentials) => Ok(credentials.clone()),
            Source::Provider { provider, cached } => {
                cached
                    .get(|| {
                        let provider = provider.clone();
                        let clock = Arc::clone(&self.clock);
                        Box::pin(async move {
                            let credentials =
                                provider.provide_credentials().await.map_err(|e| {
                                    Error::new(
                                        ErrorKind::Authentication,
                                        format!("the AWS credentials provider failed: {e}"),
                                    )
                                })?;
                            let now = clock();
                            let lifetime = credentials
                                .expiry()
                                .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO));
                            Ok(Fetched {
                                value: credentials,
                                lifetime,
                            })
                        })
                    })
                    .await
            }
        }
    }
}

/// Whether AWS refused the attempt as signed at the wrong time.
fn is_skew_refusal(error: &Error) -> bool {
    matches!(error.status(), Some(400 | 401 | 403))
        && (error.code().is_some_and(|c| SKEW_CODES.contains(&c))
            || SKEW_MESSAGES.iter().any(|m| error.message().contains(m)))
}

/// `server - local` in milliseconds, when it is a skew worth following.
fn skew_between(server: SystemTime, local: SystemTime) -> Option<i64> {
    let (offset, behind) = match server.duration_since(local) {
        Ok(ahead) => (ahead, false),
        Err(e) => (e.duration(), true),
    };
    if offset > MAX_SKEW {
        return None;
    }
    let ms = i64::try_from(offset.as_millis()).ok()?;
    Some(if behind { -ms } else { ms })
}

impl fmt::Debug for SigV4Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Static(c) => format!("static({})", c.access_key_id()),
            Source::Provider { provider, .. } => format!("provider({provider:?})"),
        };
        f.debug_struct("SigV4Signer")
            .field("credentials", &source)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("clock_skew_ms", &self.skew_ms.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RequestSigner for SigV4Signer {
    async fn sign(&self, request: &mut reqwest::Request) -> Result<()> {
        let identity = self.credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(self.signing_time())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Error::config(format!("SigV4 signing parameters: {e}")))?
            .into();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| value.to_str().map(|v| (name.as_str(), v)))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::invalid_request(
                    "a header value is not visible ASCII, so it cannot be signed",
                )
            })?;
        let body = match request.body() {
            None => SignableBody::Bytes(&[]),
            Some(body) => SignableBody::Bytes(body.as_bytes().ok_or_else(|| {
                Error::invalid_request("a streamed request body cannot be signed")
            })?),
        };
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.url().as_str(),
            headers.into_iter(),
            body,
        )
        .and_then(|signable| sign(signable, &params))
        .map_err(|e| Error::invalid_request(format!("the request cannot be signed: {e}")))?;
        let (instructions, _signature) = signable.into_parts();
        let (headers, _query) = instructions.into_parts();
        for header in headers {
            let mut value = HeaderValue::from_str(header.value()).map_err(|_| {
                Error::config("a SigV4 header has characters a header cannot carry")
            })?;
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            request.headers_mut().insert(header.name(), value);
        }
        Ok(())
    }

    fn secrets(&self) -> Vec<SecretString> {
        match &self.source {
            Source::Static(c) => std::iter::once(c.secret_access_key())
                .chain(c.session_token())
                .map(|s| SecretString::from(s.to_owned()))
                .collect(),
            // Fetched later; the signer never writes the secret key anywhere and
            // marks the session token's header sensitive.
            Source::Provider { .. } => Vec::new(),
        }
    }

    fn region(&self) -> Option<&str> {
        Some(&self.region)
    }

    fn refused(&self, error: &Error, headers: &HeaderMap) -> bool {
        if !is_skew_refusal(error) {
            return false;
        }
        let Some(server) = headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        else {
            return false;
        };
        let Some(skew) = skew_between(server, (self.clock)()) else {
            return false;
        };
        let current = self.skew_ms.load(Ordering::Relaxed);
        let threshold = u64::try_from(SKEW_THRESHOLD.as_millis()).unwrap_or(u64::MAX);
        if skew.abs_diff(current) < threshold {
            return false;
        }
        tracing::info!(
            skew_ms = skew,
            "AWS refused the signing time: signing with the server's clock"
        );
        self.skew_ms.store(skew, Ordering::Relaxed);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future;
    use std::sync::atomic::AtomicU32;
    use std::time::UNIX_EPOCH;

    const T0: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn request() -> reqwest::Request {
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse";
        reqwest::Request::new(http::Method::POST, url.parse().expect("url"))
    }

    async fn amz_date(signer: &SigV4Signer) -> String {
        let mut request = request();
        signer.sign(&mut request).await.expect("signed");
        let date = request.headers().get("x-amz-date").expect("dated");
        date.to_str().expect("ascii").to_owned()
    }

    fn refusal(code: &str, date: Option<SystemTime>) -> (Error, HeaderMap) {
        let error = Error::new(
            ErrorKind::Authentication,
            "Signature expired: 20260101T000000Z is now earlier than 20260101T005500Z (20260101T010000Z - 5 min.)",
        )
        .with_status(403)
        .with_code(code);
        let mut headers = HeaderMap::new();
        if let Some(date) = date {
            let value = httpdate::fmt_http_date(date);
            headers.insert(http::header::DATE, value.parse().expect("date"));
        }
        (error, headers)
    }

    fn fixed() -> SigV4Signer {
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        SigV4Signer::new(credentials, "us-east-1", "bedrock").with_clock(|| at(T0))
    }

    #[tokio::test]
    async fn a_skew_refusal_moves_the_signing_clock_to_the_servers() {
        let signer = fixed();
        assert_eq!(amz_date(&signer).await, "20260101T000000Z");
        let (e, headers) = refusal("InvalidSignatureException", Some(at(T0 + 3600)));
        assert!(signer.refused(&e, &headers), "corrected");
        assert_eq!(amz_date(&signer).await, "20260101T010000Z");
        // The same refusal again changes nothing: no second retry.
        assert!(!signer.refused(&e, &headers));
        // A server behind us works the same way.
        let (e, headers) = refusal("RequestTimeTooSkewed", Some(at(T0 - 7200)));
        assert!(signer.refused(&e, &headers));
        assert_eq!(amz_date(&signer).await, "20251231T220000Z");
    }

    #[tokio::test]
    async fn refusals_that_are_not_skew_change_nothing() {
        let signer = fixed();
        let ahead = Some(at(T0 + 3600));
        let cases = [
            // Not a skew code, and a message that says nothing of time.
            (
                Error::new(ErrorKind::PermissionDenied, "not authorized")
                    .with_status(403)
                    .with_code("AccessDeniedException"),
                ahead,
            ),
            // A skew code without a Date to follow.
            (refusal("InvalidSignatureException", None).0, None),
            // Within a minute of our clock: not skew.
            (
                refusal("InvalidSignatureException", None).0,
                Some(at(T0 + 30)),
            ),
            // A Date days away is not a clock to follow.
            (
                refusal("InvalidSignatureException", None).0,
                Some(at(T0 + 3 * 86_400)),
            ),
            // Not a refusal status.
            (
                refusal("InvalidSignatureException", None)
                    .0
                    .with_status(500),
                ahead,
            ),
        ];
        for (error, date) in cases {
            let headers = refusal("x", date).1;
            assert!(!signer.refused(&error, &headers), "{error:?}");
        }
        assert_eq!(amz_date(&signer).await, "20260101T000000Z");
        let mut garbage = HeaderMap::new();
        garbage.insert(http::header::DATE, "yesterday-ish".parse().expect("value"));
        assert!(!signer.refused(&refusal("RequestExpired", None).0, &garbage));
    }

    /// A provider whose credentials live ten minutes, counting its calls.
    #[derive(Debug, Default)]
    struct Counting(Arc<AtomicU32>);

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                Some(SystemTime::now() + Duration::from_secs(600)),
                "counting",
            )))
        }
    }

    fn access_key(request: &reqwest::Request) -> String {
        let auth = request.headers()["authorization"].to_str().expect("ascii");
        let credential = auth.split("Credential=").nth(1).expect("credential");
        credential.split('/').next().expect("key").to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn a_providers_credentials_are_shared_and_refreshed_behind_the_calls() {
        let calls = Arc::new(AtomicU32::new(0));
        let signer = Arc::new(SigV4Signer::with_provider(
            Counting(Arc::clone(&calls)),
            "us-east-1",
            "bedrock",
        ));
        let signs: Vec<_> = (0..20)
            .map(|_| {
                let signer = Arc::clone(&signer);
                tokio::spawn(async move {
                    let mut request = request();
                    signer
                        .sign(&mut request)
                        .await
                        .map(|()| access_key(&request))
                })
            })
            .collect();
        for sign in signs {
            assert_eq!(sign.await.expect("joined").expect("signed"), "AKID0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one fetch for all");
        // Ten-minute credentials, refreshed five minutes ahead, behind the calls.
        tokio::time::sleep(Duration::from_secs(301)).await;
        let mut request = request();
        signer.sign(&mut request).await.expect("signed");
        assert_eq!(access_key(&request), "AKID0", "still valid: served");
        tokio::task::yield_now().await;
        signer.sign(&mut request).await.expect("signed");
        assert_eq!(access_key(&request), "AKID1", "replaced");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
