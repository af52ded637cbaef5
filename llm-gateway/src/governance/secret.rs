//! Virtual keys as secrets: made from the OS's randomness, kept only as a
//! SHA-256 hash, compared in constant time, never printed.

use std::fmt;

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A key in clear: returned once by `/key/generate` and `/key/regenerate`,
/// otherwise only seen as a caller's header. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKey {
    /// A new key: `sk-` and 32 random bytes in hex (256 bits of entropy, so a
    /// fast unsalted hash is enough to store it).
    pub fn generate() -> ApiKey {
        let mut bytes = [0u8; 32];
        // The OS's randomness failing is not recoverable for a key generator.
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        ApiKey(format!("sk-{}", hex::encode(bytes)))
    }

    /// Wrap a key given by a caller.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key in clear, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its stored identity.
    pub fn hash(&self) -> String {
        hash_key(&self.0)
    }

    /// The display form that cannot be used: `sk-...` and the last four characters.
    pub fn display_name(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("sk-...{tail}")
    }
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    crate::ids::lower_hex(&Sha256::digest(key.as_bytes()))
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The key a request carries: `Authorization: Bearer`, `x-api-key` or
/// `api-key` (the first present, in that order).
pub fn key_from_headers(headers: &HeaderMap) -> Option<ApiKey> {
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?.trim();
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        return (!token.is_empty()).then(|| ApiKey::new(token));
    }
    ["x-api-key", "api-key"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(ApiKey::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ApiKey::generate();
        assert!(!format!("{key:?}").contains(&key.expose()[3..]));
        assert_eq!(key.expose().len(), 3 + 64);
        assert_ne!(key, ApiKey::generate());
    }

    #[test]
    fn a_key_is_stored_as_its_sha256_in_lowercase_hex() {
        // FIPS 180-2's example: keys hashed before keep their identity.
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(ApiKey::new("abc").hash(), hash_key("abc"));
    }

    proptest! {
        #[test]
        fn each_header_form_yields_the_key(key in "sk-[a-zA-Z0-9]{1,40}", form in 0usize..4) {
            let mut headers = HeaderMap::new();
            let (name, value) = match form {
                0 => ("authorization", format!("Bearer {key}")),
                1 => ("authorization", key.clone()),
                2 => ("x-api-key", key.clone()),
                _ => ("api-key", key.clone()),
            };
            headers.insert(name, value.parse().expect("ascii"));
            prop_assert_eq!(key_from_headers(&headers), Some(ApiKey::new(key.clone())));
        }

        #[test]
        fn equality_is_plain_equality(a in ".{0,20}", b in ".{0,20}") {
            prop_assert_eq!(secrets_equal(&a, &b), a == b);
            prop_assert_eq!(hash_key(&a) == hash_key(&b), a == b);
        }
    }
}
