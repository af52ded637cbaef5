//! [`SigV4Signer`]: AWS Signature Version 4 over each attempt's final bytes,
//! with AWS's own `aws-sigv4` crate.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::HeaderValue;
use secrecy::SecretString;

use crate::auth::RequestSigner;
use crate::error::{Error, ErrorKind, Result};

/// Credentials from a caller's provider are fetched again this long before
/// they expire.
const REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// Signs every attempt with AWS Signature Version 4 (`Authorization`,
/// `X-Amz-Date`, and `X-Amz-Security-Token` for temporary credentials), over
/// the final method, URL, headers and body: a retry is signed again, with
/// the clock's new date.
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
}

enum Source {
    /// Keys known up front (variables, a profile, the caller's).
    Static(Credentials),
    /// A caller's provider (the AWS SDK's chain, SSO, IMDS, IRSA...), cached
    /// until shortly before the credentials expire.
    Provider {
        provider: SharedCredentialsProvider,
        cached: tokio::sync::Mutex<Option<Credentials>>,
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
            cached: tokio::sync::Mutex::new(None),
        };
        SigV4Signer::from_source(source, region, service)
    }

    fn from_source(source: Source, region: impl Into<String>, service: impl Into<String>) -> Self {
        SigV4Signer {
            source,
            region: region.into(),
            service: service.into(),
            clock: Arc::new(SystemTime::now),
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

    async fn credentials(&self) -> Result<Credentials> {
        match &self.source {
            Source::Static(credentials) => Ok(credentials.clone()),
            Source::Provider { provider, cached } => {
                // The lock is held across the fetch: one fetch at a time.
                let mut cached = cached.lock().await;
                let now = (self.clock)();
                let fresh = |c: &Credentials| {
                    c.expiry().is_none_or(|at| {
                        at.duration_since(now)
                            .is_ok_and(|left| left > REFRESH_AHEAD)
                    })
                };
                if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
                    return Ok(credentials.clone());
                }
                let credentials = provider.provide_credentials().await.map_err(|e| {
                    Error::new(
                        ErrorKind::Authentication,
                        format!("the AWS credentials provider failed: {e}"),
                    )
                })?;
                *cached = Some(credentials.clone());
                Ok(credentials)
            }
        }
    }
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
            .time((self.clock)())
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
}
