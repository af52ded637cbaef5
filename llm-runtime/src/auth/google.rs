//! [`GoogleCredentials`]: Google OAuth2 access tokens for Vertex AI, from a
//! service-account key (an RS256-signed JWT exchanged at the key's
//! `token_uri`), a gcloud authorized-user file (a refresh-token exchange), or
//! the GCE / Cloud Run metadata server, found the way Google's own libraries
//! find Application Default Credentials.

use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::oauth::{self, Field};
use crate::auth::{AccessToken, TokenSource};
use crate::error::{Error, Result};
use crate::http::HttpClient;

/// The scope Vertex AI needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Google's OAuth2 token endpoint (for files that name none).
pub const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The JWT-bearer grant (RFC 7523) a service account's assertion is exchanged with.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The metadata server's host on GCE, GKE, Cloud Run and Cloud Functions.
const METADATA_HOST: &str = "metadata.google.internal";

/// How long a signed assertion is valid (Google's maximum is one hour).
#[cfg(feature = "google")]
const ASSERTION_LIFETIME_SECS: u64 = 3600;

/// Google credentials as a [`TokenSource`]: each fetch returns a fresh
/// OAuth2 access token; the provider's token cache decides when to fetch.
///
/// ```
/// use llm_runtime::auth::GoogleCredentials;
/// let adc = r#"{"type": "authorized_user", "client_id": "id.apps.googleusercontent.com",
///               "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0refresh"}"#;
/// let creds = GoogleCredentials::from_json(adc).unwrap();
/// assert!(!format!("{creds:?}").contains("1//0refresh"));
/// ```
#[derive(Clone)]
pub struct GoogleCredentials {
    kind: Kind,
    scopes: Vec<String>,
}

#[derive(Clone)]
enum Kind {
    ServiceAccount(Box<ServiceAccount>),
    AuthorizedUser {
        client_id: String,
        client_secret: SecretString,
        refresh_token: SecretString,
        token_uri: String,
        quota_project_id: Option<String>,
    },
    Metadata {
        host: String,
    },
}

#[derive(Clone)]
struct ServiceAccount {
    client_email: String,
    #[cfg_attr(not(feature = "google"), allow(dead_code))]
    private_key_id: Option<String>,
    /// The PEM, kept for redaction.
    private_key: SecretString,
    #[cfg(feature = "google")]
    signing_key: jsonwebtoken::EncodingKey,
    token_uri: String,
    project_id: Option<String>,
}

/// A credentials file as Google writes it (`gcloud auth application-default
/// login`, or a key downloaded from the console).
#[derive(Deserialize)]
struct File {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    token_uri: Option<String>,
    project_id: Option<String>,
    quota_project_id: Option<String>,
}

impl GoogleCredentials {
    /// Credentials from the text of a credentials JSON file: a
    /// service-account key (`"type": "service_account"`, which needs the
    /// `google` feature for its RS256 signature) or an authorized-user file
    /// (`"type": "authorized_user"`).
    ///
    /// # Errors
    ///
    /// A `Config` error when the JSON is not one of those, or the key is not
    /// an RSA private key in PEM.
    pub fn from_json(json: &str) -> Result<Self> {
        let file: File = serde_json::from_str(json).map_err(|e| {
            // The error's text may quote the file, which holds a key: say where, not what.
            Error::config(format!(
                "the Google credentials are not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let kind = match file.kind.as_deref() {
            Some("service_account") => Kind::ServiceAccount(Box::new(service_account(file)?)),
            Some("authorized_user") => {
                let token_uri = file
                    .token_uri
                    .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned());
                oauth::check_endpoint(&token_uri, "Google token URI")?;
                Kind::AuthorizedUser {
                    client_id: required(file.client_id, "client_id", "authorized_user")?,
                    client_secret: required(
                        file.client_secret,
                        "client_secret",
                        "authorized_user",
                    )?
                    .into(),
                    refresh_token: required(
                        file.refresh_token,
                        "refresh_token",
                        "authorized_user",
                    )?
                    .into(),
                    token_uri,
                    quota_project_id: file.quota_project_id,
                }
            }
            Some(other) => {
                return Err(Error::config(format!(
                    "Google credentials of type `{other}` are not supported: use a service-account key or `gcloud auth application-default login`, or pass your own `TokenSource`"
                )));
            }
            None => {
                return Err(Error::config(
                    "the Google credentials JSON has no `type` (expected `service_account` or `authorized_user`)",
                ));
            }
        };
        Ok(GoogleCredentials {
            kind,
            scopes: vec![CLOUD_PLATFORM_SCOPE.to_owned()],
        })
    }

    /// Credentials from a credentials JSON file on disk.
    ///
    /// # Errors
    ///
    /// A `Config` error when the file cannot be read or is not valid credentials.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "cannot read the Google credentials file `{}`: {e}",
                path.display()
            ))
        })?;
        Self::from_json(&text).map_err(|e| e.context(&format!("`{}`", path.display())))
    }

    /// The default service account of the GCE / GKE / Cloud Run metadata
    /// server (`GCE_METADATA_HOST` overrides its host, e.g. for an emulator).
    pub fn metadata_server() -> Self {
        Self::metadata_server_at(
            &read_env("GCE_METADATA_HOST").unwrap_or_else(|| METADATA_HOST.to_owned()),
        )
    }

    fn metadata_server_at(host: &str) -> Self {
        GoogleCredentials {
            kind: Kind::Metadata {
                host: host.trim_end_matches('/').to_owned(),
            },
            scopes: vec![CLOUD_PLATFORM_SCOPE.to_owned()],
        }
    }

    /// Application Default Credentials, found as Google's libraries find
    /// them: `GOOGLE_APPLICATION_CREDENTIALS` (a file's path, or the JSON
    /// itself), else gcloud's file (`gcloud auth application-default login`),
    /// else the metadata server, asked when the first token is needed.
    ///
    /// # Errors
    ///
    /// A `Config` error when a file named or found is not valid credentials.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&|name| read_env(name))
    }

    /// [`from_env`](Self::from_env) over `var` instead of the process environment.
    fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        if let Some(value) = var("GOOGLE_APPLICATION_CREDENTIALS") {
            return if value.trim_start().starts_with('{') {
                Self::from_json(&value).map_err(|e| e.context("GOOGLE_APPLICATION_CREDENTIALS"))
            } else {
                Self::from_file(value.trim())
                    .map_err(|e| e.context("GOOGLE_APPLICATION_CREDENTIALS"))
            };
        }
        if let Some(path) = gcloud_file(var).filter(|p| p.is_file()) {
            return Self::from_file(path);
        }
        Ok(Self::metadata_server_at(
            &var("GCE_METADATA_HOST").unwrap_or_else(|| METADATA_HOST.to_owned()),
        ))
    }

    /// Ask for these OAuth2 scopes instead of `cloud-platform`.
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The project the credentials name (a service-account key's
    /// `project_id`, an authorized-user file's `quota_project_id`), if any.
    pub fn project_id(&self) -> Option<&str> {
        match &self.kind {
            Kind::ServiceAccount(sa) => sa.project_id.as_deref(),
            Kind::AuthorizedUser {
                quota_project_id, ..
            } => quota_project_id.as_deref(),
            Kind::Metadata { .. } => None,
        }
    }

    async fn fetch_service_account(
        &self,
        sa: &ServiceAccount,
        http: &HttpClient,
    ) -> Result<AccessToken> {
        let assertion = SecretString::from(sign(sa, &self.scopes.join(" "))?);
        oauth::exchange(
            http,
            &sa.token_uri,
            &[
                Field::Plain("grant_type", JWT_BEARER_GRANT),
                Field::Secret("assertion", &assertion),
            ],
            "Google token endpoint",
        )
        .await
    }

    async fn fetch_metadata(&self, host: &str, http: &HttpClient) -> Result<AccessToken> {
        let mut url = url::Url::parse(&format!(
            "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
        ))
        .map_err(|e| Error::config(format!("GCE_METADATA_HOST `{host}` is not a host: {e}")))?;
        url.query_pairs_mut()
            .append_pair("scopes", &self.scopes.join(","));
        let (name, value) = oauth::header("metadata-flavor", "Google");
        let request = http.get(url.as_str()).header(name, value);
        oauth::fetch(request, "GCE metadata server", &[])
            .await
            .map_err(|e| {
                e.context(
                    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS, run `gcloud auth application-default login`, or run on Google Cloud (the metadata server did not answer)",
                )
            })
    }
}

#[async_trait]
impl TokenSource for GoogleCredentials {
    async fn fetch(&self, http: &HttpClient) -> Result<AccessToken> {
        match &self.kind {
            Kind::ServiceAccount(sa) => self.fetch_service_account(sa, http).await,
            Kind::AuthorizedUser {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
                ..
            } => {
                oauth::exchange(
                    http,
                    token_uri,
                    &[
                        Field::Plain("grant_type", "refresh_token"),
                        Field::Plain("client_id", client_id),
                        Field::Secret("client_secret", client_secret),
                        Field::Secret("refresh_token", refresh_token),
                    ],
                    "Google token endpoint",
                )
                .await
            }
            Kind::Metadata { host } => self.fetch_metadata(host, http).await,
        }
    }

    fn secrets(&self) -> Vec<SecretString> {
        match &self.kind {
            Kind::ServiceAccount(sa) => pem_secrets(&sa.private_key),
            Kind::AuthorizedUser {
                client_secret,
                refresh_token,
                ..
            } => vec![client_secret.clone(), refresh_token.clone()],
            Kind::Metadata { .. } => Vec::new(),
        }
    }
}

impl fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("GoogleCredentials");
        match &self.kind {
            Kind::ServiceAccount(sa) => d
                .field("kind", &"service_account")
                .field("client_email", &sa.client_email)
                .field("token_uri", &sa.token_uri),
            Kind::AuthorizedUser {
                client_id,
                token_uri,
                ..
            } => d
                .field("kind", &"authorized_user")
                .field("client_id", client_id)
                .field("token_uri", token_uri),
            Kind::Metadata { host } => d.field("kind", &"metadata_server").field("host", host),
        };
        d.field("scopes", &self.scopes).finish_non_exhaustive()
    }
}

fn service_account(file: File) -> Result<ServiceAccount> {
    let what = "service_account";
    let private_key = SecretString::from(required(file.private_key, "private_key", what)?);
    let token_uri = file
        .token_uri
        .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_owned());
    oauth::check_endpoint(&token_uri, "Google token URI")?;
    Ok(ServiceAccount {
        client_email: required(file.client_email, "client_email", what)?,
        private_key_id: file.private_key_id,
        #[cfg(feature = "google")]
        signing_key: jsonwebtoken::EncodingKey::from_rsa_pem(
            private_key.expose_secret().as_bytes(),
        )
        .map_err(|_| {
            Error::config("the service account's `private_key` is not an RSA private key in PEM")
        })?,
        private_key,
        token_uri,
        project_id: file.project_id,
    })
}

/// The host template of a regional Vertex AI location.
const VERTEX_REGIONAL_HOST: &str = "https://{location}-aiplatform.googleapis.com/";

/// The host of Vertex AI's `global` location, which has no regional host.
const VERTEX_GLOBAL_HOST: &str = "https://aiplatform.googleapis.com/";

/// `declared` (a regional Vertex AI base URL template) on the global host,
/// when `location` is `global`.
pub(crate) fn vertex_base_url(declared: &str, location: &str) -> Option<String> {
    (location == "global" && declared.starts_with(VERTEX_REGIONAL_HOST))
        .then(|| declared.replacen(VERTEX_REGIONAL_HOST, VERTEX_GLOBAL_HOST, 1))
}

/// The signed assertion: `{iss, scope, aud, iat, exp}`, RS256, `kid` = the key's id.
#[cfg(feature = "google")]
fn sign(sa: &ServiceAccount, scope: &str) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        scope: &'a str,
        aud: &'a str,
        iat: u64,
        exp: u64,
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Error::config("the system clock is before 1970"))?
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid.clone_from(&sa.private_key_id);
    let claims = Claims {
        iss: &sa.client_email,
        scope,
        aud: &sa.token_uri,
        iat: now,
        exp: now + ASSERTION_LIFETIME_SECS,
    };
    encode_rs256(&header, &claims, &sa.signing_key)
        .map_err(|e| Error::config(format!("signing the service-account assertion failed: {e}")))
}

/// `jsonwebtoken::encode` with aws-lc-rs (rustls' own crypto) named here:
/// `encode` takes the process-wide provider, which a library must not install
/// (it is the application's choice, once per process), and which is missing
/// when another crate in the build also enables jsonwebtoken's RustCrypto backend.
#[cfg(feature = "google")]
fn encode_rs256(
    header: &jsonwebtoken::Header,
    claims: &impl serde::Serialize,
    key: &jsonwebtoken::EncodingKey,
) -> std::result::Result<String, String> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header_json = serde_json::to_vec(header).map_err(|e| e.to_string())?;
    let claims_json = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let message = format!("{}.{}", b64(&header_json), b64(&claims_json));
    let signer = (jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.signer_factory)(&header.alg, key)
        .map_err(|e| e.to_string())?;
    let signature = signer
        .try_sign(message.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(format!("{message}.{}", b64(&signature)))
}

#[cfg(not(feature = "google"))]
fn sign(_sa: &ServiceAccount, _scope: &str) -> Result<String> {
    Err(Error::config(
        "service-account credentials need the `google` feature of llm-runtime (RS256 signing)",
    ))
}

/// The PEM and each of its base64 lines: a leak of part of the key is
/// redacted too.
fn pem_secrets(pem: &SecretString) -> Vec<SecretString> {
    let lines = pem
        .expose_secret()
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
        .map(|l| SecretString::from(l.to_owned()));
    std::iter::once(pem.clone()).chain(lines).collect()
}

fn required(value: Option<String>, field: &str, kind: &str) -> Result<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::config(format!("the `{kind}` Google credentials have no `{field}`")))
}

/// gcloud's Application Default Credentials file.
fn gcloud_file(var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let dir = match var("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None if cfg!(windows) => PathBuf::from(var("APPDATA")?).join("gcloud"),
        None => PathBuf::from(var("HOME")?).join(".config").join("gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

fn read_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"{"type": "authorized_user", "client_id": "cid",
        "client_secret": "user-secret-value", "refresh_token": "1//refresh-token-value",
        "quota_project_id": "quota-proj"}"#;

    fn vars(pairs: &[(&'static str, String)]) -> impl Fn(&str) -> Option<String> {
        let pairs = pairs.to_vec();
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn authorized_user_files_parse_and_hide_their_secrets() {
        let creds = GoogleCredentials::from_json(USER).unwrap();
        assert_eq!(creds.project_id(), Some("quota-proj"));
        let shown = format!("{creds:?}");
        assert!(shown.contains("authorized_user"), "{shown}");
        assert!(!shown.contains("user-secret-value") && !shown.contains("refresh-token-value"));
        let secrets: Vec<String> = creds
            .secrets()
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .collect();
        assert_eq!(secrets, ["user-secret-value", "1//refresh-token-value"]);
    }

    #[test]
    fn bad_files_are_config_errors_that_quote_nothing() {
        for (json, needle) in [
            ("{\"type\": \"external_account\"}", "external_account"),
            ("{\"client_id\": \"x\"}", "no `type`"),
            (
                "{\"type\": \"authorized_user\", \"client_id\": \"x\"}",
                "client_secret",
            ),
            ("{\"private_key\": \"-----BEGIN", "not valid JSON"),
            (
                "{\"type\": \"service_account\", \"client_email\": \"a@b\", \"private_key\": \"nope-secret\"}",
                "private_key",
            ),
        ] {
            let e = GoogleCredentials::from_json(json).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{json}");
            assert!(e.message().contains(needle), "{json}: {e}");
            assert!(!e.message().contains("nope-secret") && !e.message().contains("BEGIN"));
        }
        let plain_http = USER.replace(
            "\"cid\"",
            "\"cid\", \"token_uri\": \"http://evil.example/token\"",
        );
        assert!(GoogleCredentials::from_json(&plain_http).is_err());
    }

    #[test]
    fn adc_order_env_then_gcloud_file_then_metadata() {
        let inline = GoogleCredentials::from_vars(&vars(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            USER.to_owned(),
        )]))
        .unwrap();
        assert!(matches!(inline.kind, Kind::AuthorizedUser { .. }));

        let dir = std::env::temp_dir().join(format!("llm-runtime-adc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("application_default_credentials.json"), USER).unwrap();
        let gcloud =
            GoogleCredentials::from_vars(&vars(&[("CLOUDSDK_CONFIG", dir.display().to_string())]))
                .unwrap();
        assert!(matches!(gcloud.kind, Kind::AuthorizedUser { .. }));
        let path = dir.join("application_default_credentials.json");
        let by_path = GoogleCredentials::from_vars(&vars(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            path.display().to_string(),
        )]))
        .unwrap();
        assert!(matches!(by_path.kind, Kind::AuthorizedUser { .. }));
        std::fs::remove_dir_all(&dir).unwrap();

        let missing = GoogleCredentials::from_vars(&vars(&[(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "/nonexistent/key.json".to_owned(),
        )]))
        .unwrap_err();
        assert!(
            missing.message().contains("/nonexistent/key.json"),
            "{missing}"
        );

        let metadata = GoogleCredentials::from_vars(&vars(&[
            ("HOME", "/nonexistent".to_owned()),
            ("GCE_METADATA_HOST", "127.0.0.1:9".to_owned()),
        ]))
        .unwrap();
        assert!(matches!(metadata.kind, Kind::Metadata { ref host } if host == "127.0.0.1:9"));
    }

    #[test]
    fn pem_lines_are_secrets_too() {
        let pem = SecretString::from(
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nabc\n-----END PRIVATE KEY-----\n"
                .to_owned(),
        );
        let secrets: Vec<String> = pem_secrets(&pem)
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .collect();
        assert_eq!(secrets.len(), 2);
        assert_eq!(secrets[1], "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
    }
}
