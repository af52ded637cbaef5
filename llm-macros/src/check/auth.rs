//! `auth` and the keys that depend on it.

use proc_macro2::TokenStream;
use syn::LitStr;

use crate::attr::{RawAuth, Spanned};
use crate::check::headers::{client_managed, header_name};
use crate::check::suggest;
use crate::model::Auth;

/// The scheme the key is sent with.
pub(crate) fn auth_scheme(raw: &RawAuth) -> syn::Result<Auth> {
    match raw {
        RawAuth::Scheme(lit) => bare_scheme(lit),
        RawAuth::Header { key, name } => {
            let lit = named(key, name.as_ref(), "header")?;
            let name = header_name(lit)?;
            client_managed(&name, lit)?;
            Ok(Auth::Header(name))
        }
        RawAuth::Query { key, name } => {
            query_name(named(key, name.as_ref(), "query")?).map(Auth::Query)
        }
        RawAuth::SigV4 { key, name } => {
            sigv4_service(named(key, name.as_ref(), "sigv4")?).map(Auth::SigV4)
        }
    }
}

/// `auth = "..."`: a scheme that needs no name.
fn bare_scheme(lit: &LitStr) -> syn::Result<Auth> {
    match lit.value().as_str() {
        "bearer" => Ok(Auth::Bearer),
        "none" => Ok(Auth::None),
        "token" => Ok(Auth::Token),
        form @ ("header" | "query" | "sigv4") => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{form}` auth needs a name: write `auth({form} = \"{}\")`",
                placeholder(form)
            ),
        )),
        other => {
            let hint = match suggest::did_you_mean(other, &["bearer", "none", "token", "header", "query", "sigv4"]) {
                Some(form @ ("header" | "query" | "sigv4")) => {
                    format!("; did you mean `auth({form} = \"{}\")`?", placeholder(form))
                }
                Some(scheme) => format!("; did you mean `\"{scheme}\"`?"),
                None => "; expected `\"bearer\"`, `\"none\"`, `\"token\"`, `auth(header = \"...\")`, `auth(query = \"...\")` or `auth(sigv4 = \"...\")`".to_owned(),
            };
            Err(syn::Error::new_spanned(
                lit,
                format!("unknown auth scheme `{other}`{hint}"),
            ))
        }
    }
}

/// The query parameter of `auth(query = "...")`.
fn query_name(lit: &LitStr) -> syn::Result<String> {
    let name = lit.value();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "invalid query parameter name `{}`: use unreserved URL characters (letters, digits, `-._~`)",
                name.escape_debug()
            ),
        ));
    }
    Ok(name)
}

/// The signing name of `auth(sigv4 = "...")`.
fn sigv4_service(lit: &LitStr) -> syn::Result<String> {
    let service = lit.value();
    if !service
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "invalid SigV4 service name `{}`: use the lowercase signing name AWS documents, e.g. `bedrock`",
                service.escape_debug()
            ),
        ));
    }
    Ok(service)
}

fn placeholder(form: &str) -> &'static str {
    match form {
        "header" => "x-api-key",
        "sigv4" => "bedrock",
        _ => "key",
    }
}

/// The name of `auth(header = "...")` / `auth(query = "...")`, which must be there.
fn named<'a>(key: &syn::Ident, name: Option<&'a LitStr>, form: &str) -> syn::Result<&'a LitStr> {
    let Some(lit) = name else {
        return Err(syn::Error::new_spanned(
            key,
            format!(
                "`auth({form})` needs a name: write `auth({form} = \"{}\")`",
                placeholder(form)
            ),
        ));
    };
    if lit.value().is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "`auth({form} = \"\")` has an empty name: write `auth({form} = \"{}\")`",
                placeholder(form)
            ),
        ));
    }
    Ok(lit)
}

/// `env` names the key's variable, so with `auth = "none"` it has no effect.
pub(crate) fn env_without_key(env: &Spanned<LitStr>, auth: &Auth) -> syn::Result<()> {
    if *auth != Auth::None {
        return Ok(());
    }
    let (key, value) = (&env.key, &env.value);
    let tokens: TokenStream = quote::quote!(#key = #value);
    Err(syn::Error::new_spanned(
        tokens,
        "`env` has no effect with `auth = \"none\"`: no API key is sent; remove `env` or declare how the key is sent",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn scheme(lit: LitStr) -> Result<Auth, String> {
        auth_scheme(&RawAuth::Scheme(lit)).map_err(|e| e.to_string())
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme(parse_quote!("bearer")), Ok(Auth::Bearer));
        assert_eq!(scheme(parse_quote!("none")), Ok(Auth::None));
        assert_eq!(
            scheme(parse_quote!("barer")),
            Err("unknown auth scheme `barer`; did you mean `\"bearer\"`?".into())
        );
        assert!(
            scheme(parse_quote!("header"))
                .unwrap_err()
                .contains("auth(header = \"x-api-key\")")
        );
        assert!(
            scheme(parse_quote!("basic"))
                .unwrap_err()
                .contains("expected")
        );
    }

    #[test]
    fn named_forms() {
        let header = |name: Option<LitStr>| {
            auth_scheme(&RawAuth::Header {
                key: parse_quote!(header),
                name,
            })
        };
        assert_eq!(
            header(Some(parse_quote!("X-Api-Key"))).unwrap(),
            Auth::Header("x-api-key".into())
        );
        assert!(
            header(None)
                .unwrap_err()
                .to_string()
                .contains("needs a name")
        );
        assert!(
            header(Some(parse_quote!("")))
                .unwrap_err()
                .to_string()
                .contains("empty name")
        );
        assert!(header(Some(parse_quote!("content-type"))).is_err());
        let query = |name: LitStr| {
            auth_scheme(&RawAuth::Query {
                key: parse_quote!(query),
                name: Some(name),
            })
        };
        assert_eq!(
            query(parse_quote!("key")).unwrap(),
            Auth::Query("key".into())
        );
        assert!(query(parse_quote!("a b")).is_err());
    }

    #[test]
    fn signing_and_token_forms() {
        assert_eq!(scheme(parse_quote!("token")).unwrap(), Auth::Token);
        let sigv4 = |name: Option<LitStr>| {
            auth_scheme(&RawAuth::SigV4 {
                key: parse_quote!(sigv4),
                name,
            })
            .map_err(|e| e.to_string())
        };
        assert_eq!(
            sigv4(Some(parse_quote!("bedrock"))).unwrap(),
            Auth::SigV4("bedrock".into())
        );
        assert!(
            sigv4(Some(parse_quote!("Bed Rock")))
                .unwrap_err()
                .contains("signing name")
        );
        assert!(
            sigv4(None)
                .unwrap_err()
                .contains("auth(sigv4 = \"bedrock\")")
        );
        assert!(
            scheme(parse_quote!("tokn"))
                .unwrap_err()
                .contains("did you mean `\"token\"`")
        );
    }

    #[test]
    fn env_with_none() {
        let env = Spanned {
            key: parse_quote!(env),
            value: parse_quote!("KEY"),
        };
        assert!(env_without_key(&env, &Auth::None).is_err());
        assert!(env_without_key(&env, &Auth::Bearer).is_ok());
    }
}
