//! The OAuth2 token-endpoint exchange the concrete sources share: a
//! form-encoded `POST` over the provider's pooled client, an
//! `{"access_token", "expires_in"}` answer, and errors that name the endpoint
//! and never carry a secret.

use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::{AccessToken, MAX_TOKEN_LIFETIME};
use crate::error::{Error, ErrorKind, Redactor, Result};
use crate::http::{HttpClient, HttpRequest, is_loopback_host};

/// The bound on one token request (the shared fetch's own bound).
pub(crate) const TOKEN_TIMEOUT: Duration = super::FETCH_TIMEOUT;

/// The shortest lifetime a token endpoint's `expires_in` is taken to mean:
/// `0`, a negative number or a few seconds would otherwise refetch on (almost)
/// every call. A token that really lives shorter is refused with a 401, which
/// drops it and fetches another once.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(30);

/// The lifetime of a token whose endpoint answered no `expires_in`, `null`,
/// or one that is not a number: unknown is neither "expired" nor "forever".
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// What a token endpoint (RFC 6749 §5.1) or a metadata server answers.
#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    /// Seconds; some servers send it as a string, or with a fraction.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// A form field: its name and value, the value a secret when it is one.
pub(crate) enum Field<'a> {
    /// A value that may be shown.
    Plain(&'static str, &'a str),
    /// A value that is redacted from every error (a client secret, a refresh
    /// token, a signed assertion).
    Secret(&'static str, &'a SecretString),
}

/// `application/x-www-form-urlencoded` of `fields`, in their order.
pub(crate) fn form(fields: &[Field<'_>]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for field in fields {
        match field {
            Field::Plain(name, value) => out.append_pair(name, value),
            Field::Secret(name, value) => out.append_pair(name, value.expose_secret()),
        };
    }
    out.finish()
}

/// The endpoint is https, or plain http only to loopback (a test's mock, the
/// metadata server is the one other exception and does not come here).
pub(crate) fn check_endpoint(url: &str, what: &str) -> Result<()> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::config(format!("the {what} `{url}` is not a valid URL: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(parsed.host_str().unwrap_or("")) => Ok(()),
        _ => Err(Error::config(format!(
            "the {what} `{url}` must be https: the credentials would cross the network in clear text"
        ))),
    }
}

/// `POST url` with the form `fields`; the token it answers.
pub(crate) async fn exchange(
    http: &HttpClient,
    url: &str,
    fields: &[Field<'_>],
    what: &str,
) -> Result<AccessToken> {
    let secrets: Vec<&SecretString> = fields
        .iter()
        .filter_map(|f| match f {
            Field::Secret(_, s) => Some(*s),
            Field::Plain(..) => None,
        })
        .collect();
    let request = http
        .post(url)
        .header(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
        .header(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        )
        .body(form(fields));
    fetch(request, what, &secrets).await
}

/// Send a token request; the token it answers, expiring `expires_in` after
/// the request was sent (so never later than the server meant).
pub(crate) async fn fetch(
    request: HttpRequest,
    what: &str,
    secrets: &[&SecretString],
) -> Result<AccessToken> {
    let redactor = Redactor::new(secrets.iter().map(|s| s.expose_secret()));
    let sent = Instant::now();
    let response = request
        .timeout(TOKEN_TIMEOUT)
        .send()
        .await
        .map_err(|e| refused(redactor.error(e), what))?;
    let reply = parse_reply(&response.body, what)?;
    Ok(AccessToken {
        token: reply.token,
        expires_at: sent.checked_add(reply.lifetime),
    })
}

/// A token endpoint's 2xx answer, read.
pub(crate) struct Reply {
    /// The access token.
    pub(crate) token: SecretString,
    /// How long it is taken to live, from when the request was sent.
    pub(crate) lifetime: Duration,
}

/// Read a token endpoint's 2xx body: the token and its lifetime (see
/// [`lifetime`]), or an `Authentication` error that quotes nothing of the
/// body (it may hold the token).
pub(crate) fn parse_reply(body: &[u8], what: &str) -> Result<Reply> {
    let reply: TokenReply = serde_json::from_slice(body).map_err(|e| {
        let problem = match e.classify() {
            serde_json::error::Category::Data => "without an access token string",
            _ => "with a body that is not JSON",
        };
        Error::new(
            ErrorKind::Authentication,
            format!(
                "the {what} answered {problem} (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if reply.access_token.trim().is_empty() {
        return Err(Error::new(
            ErrorKind::Authentication,
            format!("the {what} answered an empty access token"),
        ));
    }
    // Checked here, once, rather than failing every call that sends it.
    if !reply.access_token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::new(
            ErrorKind::Authentication,
            format!("the {what} answered an access token with characters a header cannot carry"),
        ));
    }
    Ok(Reply {
        lifetime: lifetime(reply.expires_in.as_ref()),
        token: SecretString::from(reply.access_token),
    })
}

/// A refused credential is an authentication failure whatever status said
/// so (`invalid_grant` comes as a 400); other failures keep their kind, so a
/// 503 from the endpoint is retried like any other.
fn refused(e: Error, what: &str) -> Error {
    match e.status() {
        Some(400 | 401 | 403) => e
            .with_kind(ErrorKind::Authentication)
            .context(&format!("the {what} refused the credentials")),
        _ => e.context(&format!("the {what} failed")),
    }
}

/// The lifetime `expires_in` means, in seconds: an integer, a float or a
/// numeric string, clamped to [`MIN_TOKEN_LIFETIME`]..[`MAX_TOKEN_LIFETIME`]
/// (negative means the minimum, too large to represent the maximum);
/// [`DEFAULT_TOKEN_LIFETIME`] when it is absent, `null`, or not a number.
pub(crate) fn lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let secs = match expires_in {
        Some(serde_json::Value::Number(n)) => Some(n.as_f64().unwrap_or_else(|| {
            // Only a number past f64's range has no f64: its sign says which end.
            if n.to_string().starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        })),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs.filter(|s| !s.is_nan()) {
        None => DEFAULT_TOKEN_LIFETIME,
        Some(secs) => Duration::from_secs_f64(secs.clamp(
            MIN_TOKEN_LIFETIME.as_secs_f64(),
            MAX_TOKEN_LIFETIME.as_secs_f64(),
        )),
    }
}

/// A header for a token request (`Metadata-Flavor: Google`).
pub(crate) fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_static(value),
    )
}

/// A token the caller already has (`gcloud auth print-access-token`, a cloud
/// SDK's credential), as a [`TokenSource`](crate::auth::TokenSource) with no
/// known expiry: the transport sends it until the upstream refuses it.
///
/// ```
/// use std::sync::Arc;
/// use llm_runtime::auth::StaticToken;
/// use llm_runtime::providers::VertexGemini;
/// let vertex = VertexGemini::config()
///     .url_var("project", "my-project")
///     .url_var("location", "us-central1")
///     .token_source(Arc::new(StaticToken::new("ya29.a0-token")))
///     .connect()
///     .unwrap();
/// assert!(!format!("{vertex:?}").contains("ya29"));
/// ```
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// The token `token`.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(SecretString::from(token.into()))
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

#[async_trait::async_trait]
impl crate::auth::TokenSource for StaticToken {
    async fn fetch(&self, _http: &HttpClient) -> Result<AccessToken> {
        Ok(AccessToken {
            token: self.0.clone(),
            expires_at: None,
        })
    }

    fn secrets(&self) -> Vec<SecretString> {
        vec![self.0.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_url_encoded_in_order() {
        let secret = SecretString::from("s3cr3t/+=&".to_owned());
        assert_eq!(
            form(&[
                Field::Plain("grant_type", "client_credentials"),
                Field::Plain("scope", "https://x.dev/.default"),
                Field::Secret("client_secret", &secret),
            ]),
            "grant_type=client_credentials&scope=https%3A%2F%2Fx.dev%2F.default&client_secret=s3cr3t%2F%2B%3D%26"
        );
    }

    #[test]
    fn endpoints_are_https_or_loopback() {
        assert!(check_endpoint("https://oauth2.googleapis.com/token", "token URI").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080/token", "token URI").is_ok());
        let e = check_endpoint("http://evil.example/token", "token URI").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(check_endpoint("not a url", "token URI").is_err());
    }

    #[test]
    fn lifetimes_from_numbers_floats_or_strings_clamped() {
        use serde_json::json;
        let secs = |v: serde_json::Value| lifetime(Some(&v));
        assert_eq!(secs(json!(3599)), Duration::from_secs(3599));
        assert_eq!(secs(json!("3599")), Duration::from_secs(3599));
        assert_eq!(secs(json!(3599.5)), Duration::from_millis(3_599_500));
        assert_eq!(secs(json!(" 120.25 ")), Duration::from_millis(120_250));
        for short in [json!(-1), json!(0), json!(1), json!("-inf"), json!(-1e300)] {
            assert_eq!(secs(short.clone()), MIN_TOKEN_LIFETIME, "{short}");
        }
        for long in [json!(u64::MAX), json!(1e300), json!("inf"), json!(i64::MAX)] {
            assert_eq!(secs(long.clone()), MAX_TOKEN_LIFETIME, "{long}");
        }
        for unknown in [
            json!(null),
            json!("soon"),
            json!({}),
            json!([]),
            json!(true),
            json!("NaN"),
        ] {
            assert_eq!(secs(unknown.clone()), DEFAULT_TOKEN_LIFETIME, "{unknown}");
        }
        assert_eq!(lifetime(None), DEFAULT_TOKEN_LIFETIME);
    }

    #[test]
    fn replies_without_a_token_quote_nothing() {
        for body in [
            &br#"{"access_token": 12345678901, "expires_in": 1}"#[..],
            br#"{"token": "ya29.secret-in-body"}"#,
            br#"<html>ya29.secret-in-body</html>"#,
            br#"{"access_token": "   "}"#,
            "{\"access_token\": \"ya29.secret-in-body\\n\"}".as_bytes(),
        ] {
            let e = parse_reply(body, "token endpoint").err().expect("refused");
            assert_eq!(e.kind(), ErrorKind::Authentication);
            assert!(!e.to_string().contains("secret-in-body"), "{e}");
            assert!(!e.to_string().contains("12345678901"), "{e}");
        }
        let ok = parse_reply(br#"{"access_token": "t", "expires_in": "60"}"#, "x").expect("ok");
        assert_eq!(ok.lifetime, Duration::from_secs(60));
    }
}
