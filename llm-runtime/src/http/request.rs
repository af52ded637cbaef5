use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result, classify_http_error};

/// A request being built on the shared client: `http.post(url).bearer_auth(k).json(&body)?.send().await`.
#[derive(Debug)]
pub struct HttpRequest {
    client: reqwest::Client,
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Bytes>,
    timeout: Option<Duration>,
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
        }
    }

    /// Add a header (an invalid name or value is ignored and reported at `send`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// `Authorization: Bearer <key>`, marked sensitive so it never reaches logs.
    pub fn bearer_auth(mut self, key: &str) -> Self {
        if let Ok(mut v) = HeaderValue::try_from(format!("Bearer {key}")) {
            v.set_sensitive(true);
            self.headers.insert(http::header::AUTHORIZATION, v);
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

    /// Send it; a non-2xx status becomes a classified [`Error`].
    pub async fn send(self) -> Result<HttpResponse> {
        let mut req = self
            .client
            .request(self.method, &self.url)
            .headers(self.headers);
        if let Some(body) = self.body {
            req = req.body(body);
        }
        if let Some(t) = self.timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        if !(200..300).contains(&status) {
            return Err(classify_http_error(status, &headers, &body));
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
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
