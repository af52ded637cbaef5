//! The one transport: every attempt of every call (full or streaming, chat,
//! embeddings, models, health, the public chain API) is sent, bounded, read and
//! classified here, once.
//!
//! An attempt is: build the final request (the place where request signing
//! hooks in, after the body is final), wait for the headers within the
//! time-to-headers bound, and then either read the whole body under the body
//! cap, hand a stream back unread, or read the error body within what is left
//! of the deadline, redact it, and classify it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::DynamicAuth;
use crate::error::{Error, Redactor, Result};
use crate::hooks::{AttemptFailure, AttemptRequest, Hooks};
use crate::http::HttpClient;
use crate::http::endpoint_urls::EndpointUrls;
use crate::http::exchange::{
    Answer, Classify, Deadline, Exchange, Expect, Observer, Timeouts, millis,
};
use crate::provider::HttpParts;
use crate::retry::{Decision, RetryInput, RetryPolicy, decide};
use crate::types::ResponseMeta;

/// Everything a provider's calls need to reach it, validated.
pub(crate) struct Transport {
    pub(crate) http: HttpClient,
    /// The base URL, without a trailing `/`.
    pub(crate) base_url: String,
    /// `base_url` joined with the paths called so far, parsed once each.
    pub(crate) endpoints: EndpointUrls,
    /// Static, configured and auth headers (auth marked sensitive).
    pub(crate) headers: HeaderMap,
    /// `auth(query = ...)`: the parameter and the key.
    pub(crate) query_auth: Option<(&'static str, SecretString)>,
    pub(crate) redactor: Arc<Redactor>,
    pub(crate) timeouts: Timeouts,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_body: usize,
    /// The configured hooks.
    pub(crate) hooks: Hooks,
    /// Signing or a token, beyond the static headers.
    pub(crate) auth: DynamicAuth,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url)
            .field(
                "api_key",
                &(!self.redactor.is_empty()).then_some("[redacted]"),
            )
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("max_body", &self.max_body)
            .field("hooks", &self.hooks)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// One call as the transport sends it: who, what to expect, its bounds, its
/// retries, its extra headers and hooks, and how to classify a failure.
pub(crate) struct Call<'a> {
    pub(crate) provider: &'static str,
    pub(crate) model: &'a str,
    pub(crate) expect: Expect,
    pub(crate) deadline: Deadline,
    /// The bounds, with the call's overrides.
    pub(crate) timeouts: Timeouts,
    /// The retry policy; `None` sends once.
    pub(crate) retry: Option<RetryPolicy>,
    /// Per-call headers, after the configured ones.
    pub(crate) headers: &'a [(HeaderName, HeaderValue)],
    pub(crate) hooks: &'a Hooks,
    pub(crate) classify: Classify<'a>,
}

/// A successful call: the answer and what the transport knows about it.
#[derive(Debug)]
pub(crate) struct Sent {
    pub(crate) answer: Answer,
    pub(crate) meta: ResponseMeta,
    /// The call's own secrets, for errors found after the answer arrived
    /// (a stream's error event quoting the access token).
    pub(crate) secrets: CallSecrets,
}

/// The secrets of one call the configuration's redactor cannot know: the
/// access token an attempt used, the values of the call's sensitive headers.
/// Empty (and free) for a static key without per-call credentials. The
/// redactor is built on the first error only: most calls never need one, and
/// building it (every encoded form of every secret) is not free.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallSecrets(Option<Arc<LazyRedactor>>);

/// Secrets and the redactor built from them when first asked for.
#[derive(Debug)]
struct LazyRedactor {
    secrets: Vec<SecretString>,
    redactor: std::sync::OnceLock<Redactor>,
}

impl CallSecrets {
    /// The secrets of one attempt, if there is any.
    fn of(secrets: &[SecretString], token: Option<&SecretString>) -> Self {
        if secrets.is_empty() && token.is_none() {
            return CallSecrets(None);
        }
        let secrets = secrets.iter().chain(token).cloned().collect();
        CallSecrets(Some(Arc::new(LazyRedactor {
            secrets,
            redactor: std::sync::OnceLock::new(),
        })))
    }

    /// `e` without these secrets.
    pub(crate) fn redact(&self, e: Error) -> Error {
        match &self.0 {
            Some(lazy) => lazy
                .redactor
                .get_or_init(|| Redactor::new(lazy.secrets.iter().map(|s| s.expose_secret())))
                .error(e),
            None => e,
        }
    }
}

impl Transport {
    /// Send `parts` until a 2xx arrives (retrying as the call's policy
    /// allows), within the call's deadline.
    pub(crate) async fn send(&self, parts: &HttpParts, call: &Call<'_>) -> Result<Sent> {
        let called = Instant::now();
        let mut attempts = 0u32;
        let mut renewed = false;
        let header_secrets: Vec<SecretString> = call
            .headers
            .iter()
            .filter(|(_, v)| v.is_sensitive())
            .flat_map(|(_, v)| crate::http::value_secrets(v))
            .collect();
        loop {
            attempts = attempts.saturating_add(1);
            let started = Instant::now();
            let Tried {
                result,
                token,
                resign,
            } = self.attempt(parts, call, attempts).await;
            let now = Instant::now();
            let e = match result {
                Ok((answer, headers_at)) => {
                    tracing::debug!(
                        attempt = attempts,
                        latency_ms = millis(now - started),
                        "upstream answered"
                    );
                    let mut meta = ResponseMeta::from_headers(answer.headers());
                    meta.attempts = attempts;
                    meta.latency_to_headers = headers_at - called;
                    meta.latency = now - called;
                    let secrets = CallSecrets::of(&header_secrets, token.as_ref());
                    return Ok(Sent {
                        answer,
                        meta,
                        secrets,
                    });
                }
                Err(e) => {
                    CallSecrets::of(&header_secrets, token.as_ref()).redact(self.redactor.error(e))
                }
            };
            tracing::debug!(attempt = attempts, status = e.status(), kind = %e.kind(), "upstream failed");
            let retry_in = self
                .next_wait(
                    &e,
                    call,
                    attempts,
                    now,
                    (token.as_ref(), resign),
                    &mut renewed,
                )
                .await;
            call.hooks.each(|h| {
                h.on_error(&AttemptFailure {
                    provider: call.provider,
                    model: call.model,
                    attempt: attempts,
                    error: &e,
                    retry_in,
                })
            });
            let Some(wait) = retry_in else {
                return Err(e);
            };
            tracing::info!(attempt = attempts, wait_ms = millis(wait), kind = %e.kind(), "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Whether and when to try again after `e`: a refused credential is
    /// renewed once per call, whatever the retry policy (a refused token is
    /// dropped and fetched again, it may have been rotated; a signer that
    /// corrected itself, its clock, signs again); otherwise the policy decides.
    async fn next_wait(
        &self,
        e: &Error,
        call: &Call<'_>,
        attempts: u32,
        now: Instant,
        (token, resign): (Option<&SecretString>, bool),
        renewed: &mut bool,
    ) -> Option<Duration> {
        if !*renewed && resign {
            *renewed = true;
            return Some(Duration::ZERO);
        }
        if let (DynamicAuth::Token(cache), Some(t)) = (&self.auth, token)
            && e.status() == Some(401)
            && !*renewed
        {
            cache.invalidate(t).await;
            *renewed = true;
            return Some(Duration::ZERO);
        }
        let policy = call.retry.as_ref()?;
        let input = RetryInput::from_error(e, attempts, now, call.deadline.instant());
        match decide(policy, &input) {
            Decision::Retry(wait) => Some(wait),
            Decision::Stop => None,
        }
    }

    /// One attempt: build, authenticate, exchange; with the token it used,
    /// and whether the signer corrected itself after a refusal.
    async fn attempt(&self, parts: &HttpParts, call: &Call<'_>, attempt: u32) -> Tried {
        let resign = AtomicBool::new(false);
        // A signer sees the refusals of what it signed (with the answer's
        // headers), and may correct itself (a clock skew) for one more attempt.
        let signed_classify = |status: u16, headers: &HeaderMap, body: &[u8]| {
            let e = (call.classify)(status, headers, body);
            if let DynamicAuth::Signer(signer) = &self.auth
                && signer.refused(&e, headers)
            {
                resign.store(true, Ordering::Relaxed);
            }
            e
        };
        let classify: Classify<'_> = match &self.auth {
            DynamicAuth::Signer(_) => &signed_classify,
            _ => call.classify,
        };
        let exchange = Exchange {
            http: self.http.reqwest(),
            first_byte: call.timeouts.first_byte(),
            max_body: self.max_body,
            redactor: &self.redactor,
            classify,
            observer: Observer {
                provider: call.provider,
                model: call.model,
                attempt,
                hooks: call.hooks,
            },
        };
        let mut request = match self.request(parts, call, attempt) {
            Ok(request) => request,
            Err(e) => return Tried::failed(e),
        };
        // Getting the credential is part of the call: bounded by its deadline.
        let authenticated = self
            .auth
            .authenticate(&mut request, call.deadline.remaining())
            .await;
        let (result, token) = match authenticated {
            Ok(token) => (
                exchange.run(request, call.expect, call.deadline).await,
                token,
            ),
            Err(e) => (Err(e), None),
        };
        Tried {
            result,
            token,
            resign: resign.into_inner(),
        }
    }

    /// The final request of one attempt: base URL, headers, query auth, body,
    /// per-call headers, then what the hooks add.
    fn request(
        &self,
        parts: &HttpParts,
        call: &Call<'_>,
        attempt: u32,
    ) -> Result<reqwest::Request> {
        let client = self.http.reqwest();
        let mut req = match self.endpoints.get(&self.base_url, &parts.path) {
            Some(url) => client.request(parts.method.clone(), url),
            // Not a URL: reqwest gets the text and reports it its own way.
            None => client.request(
                parts.method.clone(),
                format!("{}{}", self.base_url, parts.path),
            ),
        };
        // One header at a time: `.headers(map.clone())` clones the whole map
        // only for reqwest to re-insert it entry by entry.
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        if !parts.query.is_empty() {
            req = req.query(&parts.query);
        }
        if let Some((param, key)) = &self.query_auth {
            req = req.query(&[(*param, key.expose_secret())]);
        }
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        if let Some(body) = &parts.body {
            // JSON unless the wire named the type (a multipart upload's boundary).
            if !parts
                .headers
                .iter()
                .any(|(name, _)| name == http::header::CONTENT_TYPE)
            {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
            }
            req = req.body(body.clone());
        }
        let mut request = req.build().map_err(Error::from)?;
        for (name, value) in call.headers {
            request.headers_mut().insert(name, value.clone());
        }
        if !call.hooks.is_empty() {
            let mut view = AttemptRequest::new(
                call.provider,
                call.model,
                attempt,
                &request,
                parts.body.as_ref(),
                &self.redactor,
            );
            call.hooks.each(|h| h.before_send(&mut view));
            for (name, value) in view.into_added() {
                request.headers_mut().insert(name, value);
            }
        }
        // Signing and tokens come after this, over the final request.
        Ok(request)
    }
}

/// What one attempt of [`Transport::send`] gives back.
struct Tried {
    result: Result<(Answer, Instant)>,
    /// The token the attempt carried, if any.
    token: Option<SecretString>,
    /// The signer corrected itself after a refusal: sign and send once more.
    resign: bool,
}

impl Tried {
    fn failed(e: Error) -> Self {
        Tried {
            result: Err(e),
            token: None,
            resign: false,
        }
    }
}

/// Adds the call's context to an error and redacts the secrets: the one
/// finishing step every error of a provider's calls takes, streams included.
#[derive(Debug, Clone)]
pub(crate) struct ErrorFinisher {
    pub(crate) provider: &'static str,
    pub(crate) model: String,
    pub(crate) redactor: Arc<Redactor>,
    /// The call's own secrets (its access token, its sensitive headers).
    pub(crate) call: CallSecrets,
}

impl ErrorFinisher {
    /// Context, then redaction.
    pub(crate) fn finish(&self, e: Error) -> Error {
        self.call.redact(
            self.redactor
                .error(e.or_context(self.provider, &self.model)),
        )
    }

    /// This finisher, also redacting the secrets of the call that succeeded.
    pub(crate) fn with_call(mut self, call: CallSecrets) -> Self {
        self.call = call;
        self
    }
}
