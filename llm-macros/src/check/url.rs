//! `base_url` and `allow_http`.
//!
//! A small parser for the one shape a base URL may have
//! (`http[s]://host[:port][/path]`) rather than the `url` crate: the checks are
//! stricter than URL syntax (no query, fragment or credentials), and the crate
//! would be compiled by every downstream user for a dozen lines of logic.

use std::net::{Ipv4Addr, Ipv6Addr};

use syn::{LitBool, LitStr};

use crate::attr::Spanned;
use crate::model::BaseUrl;

/// An absolute `https://` (or `http://`) URL with a host, an optional port and
/// path, and nothing else; a trailing `/` is dropped.
pub(crate) fn base_url(lit: &LitStr) -> syn::Result<BaseUrl> {
    let url = lit.value();
    let fail = |message: String| Err(syn::Error::new_spanned(lit, message));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail(format!(
            "`base_url` must not contain whitespace or control characters, found {url:?}"
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return fail(format!(
            "`base_url` must be an absolute URL such as `https://{url}`, found `{url}`"
        ));
    };
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => {
            return fail(format!(
                "`base_url` must be an `https://` (or `http://`) URL, found scheme `{scheme}`"
            ));
        }
    };
    if rest.contains(['?', '#']) {
        return fail(format!(
            "`base_url` must not have a query or fragment, found `{url}`; send query parameters from the transform, and a key with `auth(query = \"...\")`"
        ));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains('@') {
        return fail(format!(
            "`base_url` must not contain credentials, found `{url}`; declare the key with `auth` and `env`"
        ));
    }
    let (host, port) = split_port(authority);
    if host.is_empty() {
        return fail(format!("`base_url` has an empty host: `{url}`"));
    }
    if !is_host(host) {
        return fail(format!("`base_url` has an invalid host `{host}`"));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |port| port == 0)
    {
        return fail(format!("`base_url` has an invalid port `{port}`"));
    }
    Ok(BaseUrl {
        url: format!("{scheme}://{authority}{}", path.trim_end_matches('/')),
        https,
        host: host.to_owned(),
        loopback: is_loopback(host),
    })
}

/// `host:port` into its host and port (`[::1]:8080` keeps its brackets).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let (host, rest) = authority.split_at(host_end);
    (host, rest.strip_prefix(':'))
}

fn is_host(host: &str) -> bool {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }),
    }
}

/// Exactly `localhost`, `127.0.0.0/8` and `[::1]`, as the runtime's check at
/// `connect()`: a name under `.localhost` may resolve off the host.
fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
}

/// Plain `http://` only to a loopback host, unless `allow_http = true`: the key
/// and the prompts would cross the network unencrypted.
pub(crate) fn plain_http(
    url: &BaseUrl,
    lit: &LitStr,
    allow_http: Option<&LitBool>,
) -> syn::Result<()> {
    if url.https || url.loopback || allow_http.is_some_and(LitBool::value) {
        return Ok(());
    }
    Err(syn::Error::new_spanned(
        lit,
        format!(
            "plain `http://` to `{}` sends the API key and prompts unencrypted; use `https://`, or add `allow_http = true` if the network is trusted (loopback hosts need neither)",
            url.host
        ),
    ))
}

/// `allow_http = true` only where it changes something: a plain-http URL to a
/// non-loopback host.
pub(crate) fn allow_http_effect(url: &BaseUrl, allow_http: &Spanned<LitBool>) -> syn::Result<()> {
    let why = if !allow_http.value.value() {
        return Ok(());
    } else if url.https {
        "the base URL is `https://`"
    } else if url.loopback {
        "plain http to a loopback host is always allowed"
    } else {
        return Ok(());
    };
    let (key, value) = (&allow_http.key, &allow_http.value);
    Err(syn::Error::new_spanned(
        quote::quote!(#key = #value),
        format!("`allow_http = true` has no effect: {why}; remove it"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn url(s: &str) -> syn::Result<BaseUrl> {
        base_url(&LitStr::new(s, proc_macro2::Span::call_site()))
    }

    fn error(s: &str) -> String {
        url(s).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn accepts_and_normalizes() {
        let u = url("https://api.groq.com/openai/v1/").unwrap();
        assert_eq!(u.url, "https://api.groq.com/openai/v1");
        assert!(u.https && !u.loopback);
        assert!(url("http://127.0.0.1:11434").unwrap().loopback);
        assert!(url("http://localhost:8080/v1").unwrap().loopback);
        assert!(!url("http://api.localhost:8080/v1").unwrap().loopback);
        assert!(url("http://[::1]:8080").unwrap().loopback);
        assert!(!url("http://10.0.0.2").unwrap().loopback);
    }

    #[test]
    fn rejects() {
        assert!(
            error("api.groq.com/v1").contains("absolute URL such as `https://api.groq.com/v1`")
        );
        assert!(error("ftp://x.dev").contains("scheme `ftp`"));
        assert!(error("https://x.dev/v1?x=1").contains("query or fragment"));
        assert!(error("https://x.dev/v1#top").contains("query or fragment"));
        assert!(error("https://x.dev /v1").contains("whitespace"));
        assert!(error("https:///v1").contains("empty host"));
        assert!(error("https://:80/v1").contains("empty host"));
        assert!(error("https://u:p@x.dev").contains("credentials"));
        assert!(error("https://x.dev:99999").contains("invalid port"));
        assert!(error("https://x..dev").contains("invalid host"));
    }

    #[test]
    fn plain_http_rule() {
        let lit: LitStr = parse_quote!("http://10.0.0.2/v1");
        let remote = base_url(&lit).unwrap();
        assert!(plain_http(&remote, &lit, None).is_err());
        assert!(plain_http(&remote, &lit, Some(&parse_quote!(true))).is_ok());
        let local: LitStr = parse_quote!("http://127.0.0.1/v1");
        assert!(plain_http(&base_url(&local).unwrap(), &local, None).is_ok());
    }

    #[test]
    fn allow_http_without_effect() {
        let allow = Spanned {
            key: parse_quote!(allow_http),
            value: parse_quote!(true),
        };
        assert!(allow_http_effect(&url("https://x.dev").unwrap(), &allow).is_err());
        assert!(allow_http_effect(&url("http://localhost").unwrap(), &allow).is_err());
        assert!(allow_http_effect(&url("http://10.0.0.2").unwrap(), &allow).is_ok());
    }
}
