//! The checks of a base URL that run before any network call: its shape,
//! credentials in it, the declared path it needs, and the region it names.

use std::borrow::Cow;

use crate::auth::RequestSigner;
use crate::error::{Error, Result};
use crate::http::is_loopback_host;
use crate::spec::{ProviderSpec, env_hint};

/// What stands for the user info of a URL in any text the runtime shows.
const HIDDEN_USERINFO: &str = "[redacted]@";

/// The authority of `url` (between `scheme://` and the path), and where it starts.
fn authority(url: &str) -> Option<(usize, &str)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((start, &rest[..end]))
}

/// `url` with its `user:password@` replaced, for messages and `Debug`
/// (textual, so a URL that does not parse is shown safely too).
pub(crate) fn shown_url(url: &str) -> Cow<'_, str> {
    match authority(url) {
        Some((start, auth)) => match auth.rfind('@') {
            Some(at) => Cow::Owned(format!(
                "{}{HIDDEN_USERINFO}{}",
                &url[..start],
                &url[start + at + 1..]
            )),
            None => Cow::Borrowed(url),
        },
        None => Cow::Borrowed(url),
    }
}

/// A base URL never carries credentials: `https://user:password@host` is a
/// `Config` error whose message does not show them (they would reach
/// `Debug`, [`ProviderInfo`](crate::provider::ProviderInfo) and the span's `server.address`).
pub(crate) fn check_no_userinfo(spec: &ProviderSpec, url: &str) -> Result<()> {
    let has_userinfo = authority(url).is_some_and(|(_, auth)| auth.contains('@'));
    if !has_userinfo {
        return Ok(());
    }
    Err(Error::config(format!(
        "base URL `{}` of the {} provider carries credentials (`user:password@`), which would show wherever the URL does: remove them, and send them as a header instead (`.header(\"authorization\", ...)`, marked secret like the key)",
        shown_url(url),
        spec.name
    )))
}

/// A base URL given as a host only (`https://europe-west4-aiplatform.googleapis.com`)
/// gets the declared path when that path has placeholders of its own
/// (Vertex AI's `/v1/projects/{project}/locations/{location}`, Cloudflare's
/// `/client/v4/accounts/{account_id}/ai/v1`), which are then filled as usual;
/// without it every request would go to a path the API does not have.
pub(crate) fn with_declared_path<'a>(spec: &ProviderSpec, given: &'a str) -> Cow<'a, str> {
    let Some((start, auth)) = authority(given) else {
        return Cow::Borrowed(given);
    };
    let host_only = given[start + auth.len()..].trim_end_matches('/').is_empty();
    let declared_path = authority(spec.base_url)
        .map(|(s, a)| &spec.base_url[s + a.len()..])
        .unwrap_or_default();
    if host_only && declared_path.contains('{') {
        let host = given.trim_end_matches('/');
        Cow::Owned(format!("{host}{declared_path}"))
    } else {
        Cow::Borrowed(given)
    }
}

/// The base URL is absolute https (plain http only to loopback or when
/// allowed), has a host, no query or fragment, and is not the `.invalid`
/// placeholder of a provider that has no default endpoint.
pub(crate) fn check_base_url(spec: &ProviderSpec, raw: &str, allow_http: bool) -> Result<url::Url> {
    let err = |msg: String| Error::config(msg).with_provider(spec.name);
    let url = url::Url::parse(raw)
        .map_err(|e| err(format!("base URL `{raw}` is not a valid URL: {e}")))?;
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) || allow_http => {}
        "http" => {
            return Err(err(format!(
                "base URL `{raw}` is plain http to a non-loopback host; the key would cross the network in clear text. Use https, or `.allow_http(true)` if you mean it"
            )));
        }
        other => {
            return Err(err(format!(
                "base URL `{raw}` has scheme `{other}`; use https"
            )));
        }
    }
    // A declaration whose base URL is on the reserved `.invalid` TLD has no
    // usable default (Azure: one endpoint per resource): the URL must be given.
    if host.ends_with(".invalid") {
        let var = spec
            .base_url_env
            .map(|v| format!("{}, or ", env_hint(v)))
            .unwrap_or_default();
        return Err(err(format!(
            "the {} provider has no default endpoint: {var}pass one with `.base_url(...)`",
            spec.name
        )));
    }
    if host.is_empty() {
        return Err(err(format!("base URL `{raw}` has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!(
            "base URL `{raw}` must not have a query or fragment"
        )));
    }
    Ok(url)
}

/// An AWS host names the region its requests must be signed for
/// (`bedrock-runtime.eu-west-1.amazonaws.com`): a signer for another region
/// gets a 403 from AWS on every call, so it is a `Config` error here. A host
/// that names no region (a proxy, a loopback mock) is not checked.
pub(crate) fn check_signing_region(
    spec: &ProviderSpec,
    url: &url::Url,
    signer: &dyn RequestSigner,
) -> Result<()> {
    let (Some(signing), Some(host)) = (signer.region(), url.host_str()) else {
        return Ok(());
    };
    let aws = host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
    let Some(in_url) = host.split('.').find(|l| is_region(l)).filter(|_| aws) else {
        return Ok(());
    };
    if in_url == signing {
        return Ok(());
    }
    Err(Error::config(format!(
        "the {} base URL is in region `{in_url}` but requests are signed for `{signing}`: AWS refuses a signature for another region. Sign for `{in_url}` or use the endpoint of `{signing}` (`.url_var(\"region\", \"{signing}\")`)",
        spec.name
    )))
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return false;
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !middle.is_empty()
        && middle
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VERTEX: ProviderSpec = ProviderSpec::new(
        "vertex_test",
        "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}",
    );
    const PLAIN: ProviderSpec = ProviderSpec::new("plain", "https://api.example.com/v1");

    #[test]
    fn userinfo_is_hidden_wherever_the_url_is_shown() {
        assert_eq!(
            shown_url("https://user:pw-123@proxy.example.com/v1"),
            "https://[redacted]@proxy.example.com/v1"
        );
        assert_eq!(
            shown_url("https://u:p@h@proxy.example.com"),
            "https://[redacted]@proxy.example.com"
        );
        assert_eq!(
            shown_url("https://api.example.com/a@b"),
            "https://api.example.com/a@b"
        );
        assert_eq!(shown_url("not a url"), "not a url");
        let e = check_no_userinfo(&PLAIN, "https://user:pw-123@proxy.example.com/v1")
            .expect_err("credentials in the URL");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(!format!("{e} {e:?}").contains("pw-123"), "{e}");
        assert!(check_no_userinfo(&PLAIN, "https://api.example.com/v1?x=a@b").is_ok());
    }

    #[test]
    fn a_host_only_url_gets_a_declared_path_with_placeholders() {
        assert_eq!(
            with_declared_path(&VERTEX, "https://europe-west4-aiplatform.googleapis.com/"),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}"
        );
        // A path given is kept; a declared path without placeholders is not added.
        assert_eq!(
            with_declared_path(
                &VERTEX,
                "https://proxy.example.com/vertex/v1/projects/p/locations/l"
            ),
            "https://proxy.example.com/vertex/v1/projects/p/locations/l"
        );
        assert_eq!(
            with_declared_path(&PLAIN, "https://proxy.example.com"),
            "https://proxy.example.com"
        );
    }

    #[test]
    fn region_names() {
        for r in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-3",
        ] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "bedrock-runtime",
            "amazonaws",
            "vpce-0a1b-xyz",
            "us-east",
            "us--1",
            "1-a-2",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }

    proptest! {
        /// Whatever the user info, the shown URL never holds it.
        #[test]
        fn userinfo_never_shows(user in "[a-zA-Z0-9]{1,8}", pw in "PW[a-zA-Z0-9:%!$]{4,14}", path in "(/[a-z0-9@]{0,6}){0,3}") {
            let url = format!("https://{user}:{pw}@host.example.com{path}");
            let shown = shown_url(&url);
            prop_assert!(!shown.contains(&pw), "{}", shown);
            let e = check_no_userinfo(&PLAIN, &url).expect_err("credentials");
            prop_assert!(!e.to_string().contains(&pw));
        }
    }
}
