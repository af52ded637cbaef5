//! Which headers carry credentials: one rule for configured headers, per-call
//! headers, headers a hook adds and the public chain API.
//!
//! A header is sensitive when its name (case-insensitive) contains one of
//! [`SENSITIVE_NAME_PARTS`]: `authorization`, `proxy-authorization`,
//! `api-key`, `x-api-key`, `x-goog-api-key`, `cookie`, gateways' virtual keys
//! (`x-portkey-api-key`, `x-portkey-virtual-key`, `x-litellm-api-key`), AWS's
//! `x-amz-security-token`, and any name a declaration reads from a variable
//! (`env_headers`). A name part rather than a list of names: a gateway's next
//! key header is covered without a release. The price is that an
//! `idempotency-key` is shown as `[redacted]` to hooks too.
//!
//! A sensitive value is marked with
//! [`HeaderValue::set_sensitive`](http::HeaderValue::set_sensitive) (so
//! `Debug` of the header map and HTTP/2's logging never show it), shown to
//! hooks as `[redacted]`, and its text joins the redactor that cleans errors.

use http::{HeaderName, HeaderValue};
use secrecy::SecretString;

/// A header whose name contains one of these (ASCII case-insensitive) carries
/// a credential.
pub const SENSITIVE_NAME_PARTS: [&str; 7] = [
    "auth", "key", "token", "secret", "cookie", "password", "session",
];

/// Whether a header named `name` carries a credential (see the module docs).
///
/// ```
/// use llm_runtime::http::is_sensitive_header;
/// assert!(is_sensitive_header("X-Portkey-Api-Key"));
/// assert!(is_sensitive_header("proxy-authorization"));
/// assert!(!is_sensitive_header("anthropic-version"));
/// ```
pub fn is_sensitive_header(name: &str) -> bool {
    has_sensitive_part(&name.to_ascii_lowercase())
}

/// [`is_sensitive_header`] of a lowercase name.
fn has_sensitive_part(lowercase: &str) -> bool {
    SENSITIVE_NAME_PARTS
        .iter()
        .any(|part| lowercase.contains(part))
}

/// Whether the header `name` carries a credential (a `HeaderName` is lowercase already).
pub(crate) fn is_sensitive_name(name: &HeaderName) -> bool {
    has_sensitive_part(name.as_str())
}

/// `value` marked sensitive when `name` says it carries a credential.
pub(crate) fn mark(name: &HeaderName, mut value: HeaderValue) -> HeaderValue {
    if is_sensitive_name(name) {
        value.set_sensitive(true);
    }
    value
}

/// The secrets in a sensitive value: the value, and the credential after an
/// auth scheme (`Bearer sk-...` is echoed back as `sk-...` as often as whole).
pub(crate) fn value_secrets(value: &HeaderValue) -> Vec<SecretString> {
    let Ok(text) = value.to_str() else {
        return Vec::new();
    };
    let mut secrets = vec![SecretString::from(text.to_owned())];
    if let Some((scheme, credential)) = text.trim().split_once(' ')
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !credential.trim().is_empty()
    {
        secrets.push(SecretString::from(credential.trim().to_owned()));
    }
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use secrecy::ExposeSecret;

    #[test]
    fn credential_headers_are_sensitive_and_others_are_not() {
        for name in [
            "authorization",
            "Proxy-Authorization",
            "api-key",
            "x-api-key",
            "x-goog-api-key",
            "cookie",
            "x-portkey-api-key",
            "x-portkey-virtual-key",
            "x-litellm-api-key",
            "x-amz-security-token",
            "x-client-secret",
            "x-session-id",
        ] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in [
            "content-type",
            "anthropic-version",
            "anthropic-beta",
            "x-github-api-version",
            "openai-organization",
            "x-tenant",
            "accept",
            "user-agent",
        ] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn a_scheme_value_gives_the_credential_too() {
        let shown = |v: &str| -> Vec<String> {
            value_secrets(&HeaderValue::from_str(v).unwrap())
                .iter()
                .map(|s| s.expose_secret().to_owned())
                .collect()
        };
        assert_eq!(shown("Bearer sk-1234"), ["Bearer sk-1234", "sk-1234"]);
        assert_eq!(shown("sk-1234"), ["sk-1234"]);
        assert_eq!(shown("Basic dTpw"), ["Basic dTpw", "dTpw"]);
    }

    proptest! {
        /// Any name holding a sensitive part is sensitive, whatever its case
        /// and what surrounds it; the value is marked.
        #[test]
        fn any_name_with_a_part_is_marked(
            prefix in "[a-z0-9-]{0,8}",
            part in prop::sample::select(SENSITIVE_NAME_PARTS.to_vec()),
            suffix in "[a-z0-9-]{0,8}",
            upper in any::<bool>(),
        ) {
            let mut name = format!("{prefix}{part}{suffix}");
            if upper {
                name = name.to_ascii_uppercase();
            }
            prop_assert!(is_sensitive_header(&name));
            let header = HeaderName::from_bytes(name.as_bytes()).unwrap();
            prop_assert!(mark(&header, HeaderValue::from_static("v")).is_sensitive());
        }
    }
}
