//! Static headers: `headers("name" = "value", ...)` and the `auth` header name.

use syn::LitStr;

use crate::model::Auth;

/// Headers the HTTP client sets itself: a static value would be wrong for some
/// request (a body length, the host) or break the connection (hop-by-hop ones).
const CLIENT_MANAGED: &[&str] = &[
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "accept-encoding",
];

/// A header name: a non-empty RFC 9110 token; returned lowercased, the form
/// HTTP/2 sends and `http::HeaderName` stores.
pub(crate) fn header_name(lit: &LitStr) -> syn::Result<String> {
    let name = lit.value();
    if name.is_empty() {
        return Err(syn::Error::new_spanned(lit, "header name is empty"));
    }
    if let Some(bad) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "invalid header name `{}`: {bad:?} is not allowed; a header name is an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~)",
                name.escape_debug()
            ),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A header value: visible ASCII, spaces and tabs, without leading or trailing
/// whitespace (RFC 9110 §5.5), so it is sent byte for byte as written.
pub(crate) fn header_value(lit: &LitStr) -> syn::Result<String> {
    let value = lit.value();
    if let Some(bad) = value.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "header value contains the control character {bad:?}; header values cannot carry CR, LF, NUL or other control characters"
            ),
        ));
    }
    if !value.is_ascii() {
        return Err(syn::Error::new_spanned(
            lit,
            "header value must be ASCII; non-ASCII bytes are obsolete in HTTP (RFC 9110 §5.5)",
        ));
    }
    if value.trim_matches([' ', '\t']) != value {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "header value {value:?} has leading or trailing whitespace, which HTTP strips; remove it"
            ),
        ));
    }
    Ok(value)
}

/// A static header must not be the one `auth` sends the key in.
pub(crate) fn set_by_auth(name: &str, lit: &LitStr, auth: &Auth) -> syn::Result<()> {
    let (set, by) = match auth {
        Auth::Bearer => ("authorization", "`auth = \"bearer\"`".to_owned()),
        Auth::Header(header) => (header.as_str(), format!("`auth(header = \"{header}\")`")),
        Auth::Token => ("authorization", "`auth = \"token\"`".to_owned()),
        Auth::SigV4(service) => ("authorization", format!("`auth(sigv4 = \"{service}\")`")),
        Auth::None | Auth::Query(_) => return Ok(()),
    };
    if name.eq_ignore_ascii_case(set) {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "header `{name}` is already set by {by} from the API key; remove it from `headers(...)`"
            ),
        ));
    }
    Ok(())
}

/// A header listed twice, in any case.
pub(crate) fn repeated_header(name: &str, lit: &LitStr, earlier: &[String]) -> syn::Result<()> {
    if earlier.iter().any(|e| e.eq_ignore_ascii_case(name)) {
        return Err(syn::Error::new_spanned(
            lit,
            format!("header `{name}` is listed twice (header names are case-insensitive)"),
        ));
    }
    Ok(())
}

/// A header the HTTP client manages.
pub(crate) fn client_managed(name: &str, lit: &LitStr) -> syn::Result<()> {
    if CLIENT_MANAGED.iter().any(|m| m.eq_ignore_ascii_case(name)) {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "header `{name}` is set by the HTTP client for each request and cannot be declared"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn names() {
        assert_eq!(
            header_name(&parse_quote!("Anthropic-Version")).unwrap(),
            "anthropic-version"
        );
        assert!(header_name(&parse_quote!("")).is_err());
        assert!(header_name(&parse_quote!("x api")).is_err());
        assert!(header_name(&parse_quote!("x:api")).is_err());
        assert!(header_name(&parse_quote!("é")).is_err());
    }

    #[test]
    fn values() {
        assert_eq!(
            header_value(&parse_quote!("2023-06-01")).unwrap(),
            "2023-06-01"
        );
        assert!(header_value(&parse_quote!("a\tb")).is_ok());
        assert!(header_value(&parse_quote!("a\r\nb")).is_err());
        assert!(header_value(&parse_quote!(" a")).is_err());
        assert!(header_value(&parse_quote!("a ")).is_err());
        assert!(header_value(&parse_quote!("é")).is_err());
    }

    #[test]
    fn conflicts() {
        let lit: LitStr = parse_quote!("Authorization");
        assert!(set_by_auth("authorization", &lit, &Auth::Bearer).is_err());
        assert!(set_by_auth("authorization", &lit, &Auth::None).is_ok());
        assert!(set_by_auth("x-api-key", &lit, &Auth::Header("X-Api-Key".into())).is_err());
        assert!(set_by_auth("x-api-key", &lit, &Auth::Query("key".into())).is_ok());
        assert!(repeated_header("x-a", &lit, &["X-A".into()]).is_err());
        assert!(repeated_header("x-a", &lit, &["x-b".into()]).is_ok());
        assert!(client_managed("content-length", &lit).is_err());
        assert!(client_managed("Host", &lit).is_err());
        assert!(client_managed("x-title", &lit).is_ok());
    }
}
