use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use secrecy::{ExposeSecret, SecretString};

use super::exchange::{Answer, Deadline, Exchange, Expect, Observer};
use crate::error::{Error, Redactor, Result, classify_http_error};

/// A request being built on the shared client: `http.post(url).bearer_auth(k).json(&body)?.send().await`.
#[derive(Debug)]
pub struct HttpRequest {
    client: reqwest::Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Bytes>,
    timeout: Option<Duration>,
    /// The values of sensitive headers (the bearer key...), redacted from errors.
    secrets: Vec<SecretString>,
}

impl HttpRequest {
    pub(crate) fn new(client: reqwest::Client, method: Method, url: &str) -> Self {
        HttpRequest {
            client,
            method,
            url: url.to_owned(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            secrets: Vec::new(),
        }
    }

    /// Add a header. A header that carries a credential (by its name: see
    /// [`is_sensitive_header`](crate::http::is_sensitive_header)) is marked
    /// sensitive and its value is redacted from errors.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        let value = super::mark_sensitive(&name, value);
        if value.is_sensitive() {
            self.secrets.extend(super::value_secrets(&value));
        }
        self.headers.append(name, value);
        self
    }

    /// `Authorization: Bearer <key>`, marked sensitive so it never reaches logs.
    pub fn bearer_auth(mut self, key: &str) -> Self {
        if let Ok(mut v) = HeaderValue::try_from(format!("Bearer {key}")) {
            v.set_sensitive(true);
            self.headers.insert(http::header::AUTHORIZATION, v);
            self.secrets.push(SecretString::from(key.to_owned()));
        }
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_request(format!("request body could not be serialized: {e}"))
        })?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Bound the whole request.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Send it through the runtime's one transport, with the same bounds as a
    /// provider's calls: the timeout (default
    /// [`DEFAULT_TIMEOUT`](super::exchange::DEFAULT_TIMEOUT)) bounds the whole
    /// exchange, the body is capped at
    /// [`DEFAULT_MAX_BODY`](crate::config::DEFAULT_MAX_BODY), a non-2xx status
    /// (or an error payload inside a 2xx) becomes a classified [`Error`], and
    /// the bearer key is redacted from it.
    pub async fn send(self) -> Result<HttpResponse> {
        let mut req = self
            .client
            .request(self.method, &self.url)
            .headers(self.headers);
        if let Some(body) = self.body {
            req = req.body(body);
        }
        let request = req.build().map_err(Error::from)?;
        let timeout = self.timeout.unwrap_or(super::exchange::DEFAULT_TIMEOUT);
        let redactor = Redactor::new(self.secrets.iter().map(|k| k.expose_secret()));
        let exchange = Exchange {
            http: &self.client,
            first_byte: timeout,
            max_body: super::exchange::DEFAULT_MAX_BODY,
            redactor: &redactor,
            classify: &classify_http_error,
            observer: Observer::none(),
        };
        let (answer, _) = exchange
            .run(request, Expect::Full, Deadline::after(timeout))
            .await
            .map_err(|e| redactor.error(e))?;
        match answer {
            Answer::Body {
                status,
                headers,
                body,
            } => Ok(HttpResponse {
                status,
                headers,
                body,
            }),
            Answer::Stream(_) => Err(Error::decode("expected a whole body, got a stream")),
        }
    }
}

/// A successful response, fully read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status (2xx).
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// Decode the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::decode(format!("the response body is not the expected JSON: {e}"))
                .with_body(&self.body)
        })
    }
}
