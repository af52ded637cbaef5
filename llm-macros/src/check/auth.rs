//! `auth` and the keys that depend on it.

use proc_macro2::TokenStream;
use syn::LitStr;

use crate::attr::{RawAuth, Spanned};
use crate::check::headers::{client_managed, header_name};
use crate::check::suggest;
use crate::model::Auth;
use crate::symbol as sym;

/// The scheme the key is sent with.
pub(crate) fn auth_scheme(raw: &RawAuth) -> syn::Result<Auth> {
    match raw {
        RawAuth::Scheme(lit) => bare_scheme(lit),
        RawAuth::Header { key, name } => {
            let lit = named(key, name.as_ref(), sym::AUTH_HEADER)?;
            let name = header_name(lit)?;
            client_managed(&name, lit)?;
            Ok(Auth::Header(name))
        }
        RawAuth::Query { key, name } => {
            query_name(named(key, name.as_ref(), sym::AUTH_QUERY)?).map(Auth::Query)
        }
        RawAuth::SigV4 { key, name } => {
            sigv4_service(named(key, name.as_ref(), sym::AUTH_SIGV4)?).map(Auth::SigV4)
        }
    }
}

/// `auth = "..."`: a scheme that needs no name.
fn bare_scheme(lit: &LitStr) -> syn::Result<Auth> {
    let value = lit.value();
    match value.as_str() {
        sym::AUTH_BEARER => return Ok(Auth::Bearer),
        sym::AUTH_NONE => return Ok(Auth::None),
        sym::AUTH_TOKEN => return Ok(Auth::Token),
        _ => {}
    }
    if let Some(form) = sym::auth_form(&value) {
        return Err(syn::Error::new_spanned(
            lit,
            format!("`{value}` auth needs a name: write `{}`", form.written()),
        ));
    }
    let hint = match meant_form(&value) {
        Some(form) => format!("; did you mean {form}?"),
        None => format!("; expected {}", sym::auth_forms_text()),
    };
    Err(syn::Error::new_spanned(
        lit,
        format!("unknown auth scheme `{value}`{hint}"),
    ))
}

/// What an unknown `auth = "value"` most likely meant: a misspelt form, or
/// the name of the header (`"api-key"`) or query parameter (`"key"`) that
/// carries the key.
fn meant_form(value: &str) -> Option<String> {
    let names: Vec<&str> = sym::AUTH_FORMS.iter().map(|f| f.name).collect();
    if let Some(name) = suggest::did_you_mean(value, &names) {
        let form = sym::auth_form(name)?;
        return Some(match form.shape {
            sym::AuthShape::Scheme => format!("`\"{name}\"`"),
            sym::AuthShape::Named { .. } => format!("`{}`", form.written()),
        });
    }
    let token = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c));
    if token && value.contains('-') {
        Some(format!("`auth(header = \"{value}\")`"))
    } else if token && value.to_ascii_lowercase().contains("key") {
        Some(format!(
            "`auth(header = \"{value}\")` or `auth(query = \"{value}\")`"
        ))
    } else {
        None
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
    match sym::auth_form(form).map(|f| f.shape) {
        Some(sym::AuthShape::Named { placeholder }) => placeholder,
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
        assert_eq!(
            scheme(parse_quote!("api-key")),
            Err("unknown auth scheme `api-key`; did you mean `auth(header = \"api-key\")`?".into())
        );
        assert!(
            scheme(parse_quote!("apikey"))
                .unwrap_err()
                .contains("`auth(header = \"apikey\")` or `auth(query = \"apikey\")`")
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
