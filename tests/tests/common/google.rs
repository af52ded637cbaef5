//! The Google side of the Vertex AI tests: the test service account (a key
//! pair generated once, `tests/fixtures/google`), a loopback token endpoint
//! that issues short-lived tokens, and the check of every assertion it
//! received (RS256 signature with the test public key, `iss`, `aud`,
//! `scope`, `iat`/`exp`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use llm_runtime::auth::{CLOUD_PLATFORM_SCOPE, GoogleCredentials, JWT_BEARER_GRANT};
use llm_runtime::testing::{MockResponse, MockServer, RecordedRequest};
use llm_runtime::{Provider, ProviderClient, ProviderConfig};
use serde::Deserialize;
use serde_json::json;

/// The token endpoint's path on the mock.
pub(crate) const TOKEN_PATH: &str = "/token";

/// The project and location every Vertex test uses.
pub(crate) const PROJECT: &str = "test-project-42";
pub(crate) const LOCATION: &str = "us-east5";

/// The base path Vertex requests go under on the mock.
pub(crate) const VERTEX_BASE: &str = "/v1/projects/test-project-42/locations/us-east5";

/// The prefix of every token the mock endpoint issues (`{prefix}{n}`).
pub(crate) const TOKEN_PREFIX: &str = "ya29.c.vertex-test-token-";

/// The service account's email in the fixture.
pub(crate) const CLIENT_EMAIL: &str = "llm-runtime-test@test-project-42.iam.gserviceaccount.com";

/// The text of `tests/fixtures/google/{name}`.
pub(crate) fn google_fixture(name: &str) -> String {
    let path = format!("{}/fixtures/google/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The test service-account key file with its `token_uri` on `server`.
pub(crate) fn service_account_json(server: &MockServer) -> String {
    let mut key: serde_json::Value =
        serde_json::from_str(&google_fixture("service_account.json")).expect("JSON");
    key["token_uri"] = json!(token_uri(server));
    key.to_string()
}

/// The private key of the test service account (what must never leak).
pub(crate) fn private_key() -> String {
    let key: serde_json::Value =
        serde_json::from_str(&google_fixture("service_account.json")).expect("JSON");
    key["private_key"].as_str().expect("a PEM").to_owned()
}

pub(crate) fn token_uri(server: &MockServer) -> String {
    format!("{}{TOKEN_PATH}", server.url())
}

/// The test service account's credentials, exchanging at `server`.
pub(crate) fn credentials(server: &MockServer) -> Arc<GoogleCredentials> {
    Arc::new(GoogleCredentials::from_json(&service_account_json(server)).expect("valid key file"))
}

/// The token endpoint answers each exchange with `{TOKEN_PREFIX}{n}`,
/// `expires_in` seconds long (the last one repeats).
pub(crate) fn serve_tokens(server: &MockServer, expires_in: u64, count: usize) {
    let replies = (0..count)
        .map(|n| {
            MockResponse::json(
                200,
                json!({"access_token": format!("{TOKEN_PREFIX}{n}"), "expires_in": expires_in, "token_type": "Bearer"}),
            )
        })
        .collect();
    server.on_sequence("POST", TOKEN_PATH, replies);
}

/// A Vertex provider on `server` with the test service account, no retries
/// and a 10 s bound.
pub(crate) fn vertex_config<P: Provider + Default>(server: &MockServer) -> ProviderConfig<P> {
    ProviderConfig::new(P::default())
        .base_url(format!(
            "{}/v1/projects/{{project}}/locations/{{location}}",
            server.url()
        ))
        .url_var("project", PROJECT)
        .url_var("location", LOCATION)
        .token_source(credentials(server))
        .max_retries(0)
        .timeout(Duration::from_secs(10))
}

pub(crate) fn vertex_client<P: Provider + Default>(server: &MockServer) -> ProviderClient<P> {
    vertex_config::<P>(server)
        .connect()
        .expect("a loopback config is valid")
}

/// The claims of a Google service-account assertion.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) scope: String,
    pub(crate) aud: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

/// The form fields of a recorded `application/x-www-form-urlencoded` body.
pub(crate) fn form(request: &RecordedRequest) -> HashMap<String, String> {
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded"),
        "a token request is form-encoded"
    );
    url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect()
}

/// Verify the assertion of one token request as Google's endpoint does: the
/// JWT-bearer grant, an RS256 signature by the test key, the service account
/// as issuer, the token URI as audience, the cloud-platform scope, and a
/// lifetime of at most an hour that has not ended. The claims, or why not.
pub(crate) fn verify_assertion(
    server: &MockServer,
    request: &RecordedRequest,
) -> Result<Claims, String> {
    let fields = form(request);
    if fields.get("grant_type").map(String::as_str) != Some(JWT_BEARER_GRANT) {
        return Err(format!("grant_type is {:?}", fields.get("grant_type")));
    }
    if fields.len() != 2 {
        return Err(format!("unexpected fields {:?}", fields.keys()));
    }
    let assertion = fields.get("assertion").ok_or("no assertion")?;
    let public = google_fixture("test_key_public.pem");
    let key = DecodingKey::from_rsa_pem(public.as_bytes()).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[token_uri(server)]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| format!("the assertion does not verify: {e}"))?;
    let header = data.header;
    if header.kid.as_deref() != Some("0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6") {
        return Err(format!("kid is {:?}", header.kid));
    }
    let claims = data.claims;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    if claims.scope != CLOUD_PLATFORM_SCOPE {
        return Err(format!("scope is {}", claims.scope));
    }
    if claims.iat > now + 5 || claims.exp <= now || claims.exp - claims.iat > 3600 {
        return Err(format!(
            "iat {} / exp {} around now {now}",
            claims.iat, claims.exp
        ));
    }
    Ok(claims)
}

/// The token requests `server` received.
pub(crate) fn token_requests(server: &MockServer) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == TOKEN_PATH)
        .collect()
}

/// Every token request `server` received carries a valid assertion: how many.
#[track_caller]
pub(crate) fn assert_token_requests_verify(server: &MockServer) -> usize {
    let requests = token_requests(server);
    for r in &requests {
        assert_eq!(r.method, "POST");
        if let Err(why) = verify_assertion(server, r) {
            panic!("the mock token endpoint refuses the assertion: {why}");
        }
    }
    requests.len()
}

/// The model requests (not token requests) `server` received.
pub(crate) fn model_requests(server: &MockServer) -> Vec<RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path != TOKEN_PATH)
        .collect()
}
