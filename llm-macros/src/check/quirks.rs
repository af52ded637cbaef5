//! The quirk keys: what a host does differently from the wire it speaks
//! (`unsupported`, `max_tokens_field`, `stream_options`, `models_path`), URL
//! placeholders (`url_vars`), and the `docs` link.

use syn::{Ident, LitBool, LitStr};

use crate::attr::Spanned;
use crate::check::suggest;
use crate::model::{Capability, MAX_TOKENS_FIELDS, PARAMS};

/// A request parameter of `unsupported(...)`: the runtime's `Param` variant.
pub(crate) fn unsupported_param(ident: &Ident) -> syn::Result<&'static str> {
    let name = ident.to_string();
    if let Some((_, variant)) = PARAMS.iter().find(|(known, _)| *known == name) {
        return Ok(variant);
    }
    let names: Vec<&str> = PARAMS.iter().map(|(name, _)| *name).collect();
    let hint = match suggest::did_you_mean(&name, &names) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => format!("; expected one of: {}", names.join(", ")),
    };
    Err(syn::Error::new_spanned(
        ident,
        format!("unknown request parameter `{name}` in `unsupported(...)`{hint}"),
    ))
}

/// A parameter listed twice in `unsupported(...)`.
pub(crate) fn repeated_param(ident: &Ident, variant: &str, earlier: &[&str]) -> syn::Result<()> {
    if earlier.contains(&variant) {
        return Err(syn::Error::new_spanned(
            ident,
            format!("parameter `{ident}` is listed twice in `unsupported(...)`"),
        ));
    }
    Ok(())
}

/// `max_tokens_field = "max_tokens" | "max_completion_tokens"`: the runtime's
/// `MaxTokensField` variant.
pub(crate) fn max_tokens_field(lit: &LitStr) -> syn::Result<&'static str> {
    let value = lit.value();
    if let Some((_, variant)) = MAX_TOKENS_FIELDS.iter().find(|(name, _)| *name == value) {
        return Ok(variant);
    }
    let names: Vec<&str> = MAX_TOKENS_FIELDS.iter().map(|(name, _)| *name).collect();
    let hint = match suggest::did_you_mean(&value, &names) {
        Some(candidate) => format!("did you mean `\"{candidate}\"`?"),
        None => format!("expected `\"{}\"` or `\"{}\"`", names[0], names[1]),
    };
    Err(syn::Error::new_spanned(
        lit,
        format!("unknown `max_tokens_field` `{value}`; {hint}"),
    ))
}

/// A key that shapes the OpenAI wire (`max_tokens_field`, `stream_options`)
/// has an effect only with `dialect = openai`.
pub(crate) fn openai_wire_only(key: &Ident, dialect: Option<&Ident>) -> syn::Result<()> {
    match dialect {
        Some(dialect) if dialect == "openai" => Ok(()),
        Some(dialect) => Err(syn::Error::new_spanned(
            key,
            format!(
                "`{key}` shapes the OpenAI request body and has no effect with `dialect = {dialect}`; remove it"
            ),
        )),
        None => Err(syn::Error::new_spanned(
            key,
            format!(
                "`{key}` shapes the OpenAI request body and has an effect only with `dialect = openai`; remove it, or build the body in your `Transform`"
            ),
        )),
    }
}

/// `models_path` replaces the default model-list path, which the native
/// dialects do not use (each has its own).
pub(crate) fn models_path_effect(key: &Ident, dialect: Option<&Ident>) -> syn::Result<()> {
    match dialect {
        Some(dialect) if dialect != "openai" => Err(syn::Error::new_spanned(
            key,
            format!(
                "`models_path` has no effect with `dialect = {dialect}`, which lists models at its own path; remove it"
            ),
        )),
        _ => Ok(()),
    }
}

/// `stream_options = false` only where it changes something: the default is
/// to send them, and only a streaming provider sends them at all.
pub(crate) fn stream_options_effect(
    flag: &Spanned<LitBool>,
    capabilities: &[Capability],
) -> syn::Result<()> {
    let why = if flag.value.value() {
        "`stream_options` are sent by default"
    } else if !capabilities.contains(&Capability::Stream) {
        "the provider does not declare `stream`"
    } else {
        return Ok(());
    };
    let (key, value) = (&flag.key, &flag.value);
    Err(syn::Error::new_spanned(
        quote::quote!(#key = #value),
        format!(
            "`stream_options = {}` has no effect: {why}; remove it",
            value.value()
        ),
    ))
}

/// The `{name}` placeholders of `base_url`, and the URL with each replaced by
/// a plain label so the URL rules can check the rest.
pub(crate) fn placeholders(lit: &LitStr) -> syn::Result<(Vec<String>, String)> {
    let url = lit.value();
    let fail = |message: String| Err(syn::Error::new_spanned(lit, message));
    let (mut names, mut checked, mut rest) = (Vec::new(), String::new(), url.as_str());
    while let Some(open) = rest.find(['{', '}']) {
        let Some(len) = rest[open..]
            .find('}')
            .filter(|_| rest[open..].starts_with('{'))
        else {
            return fail(format!("`base_url` has an unmatched `{{` or `}}`: `{url}`"));
        };
        let name = &rest[open + 1..open + len];
        if !is_snake(name) {
            return fail(format!(
                "`base_url` placeholder `{{{name}}}` must be a lowercase name such as `{{account_id}}`"
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
        checked.push_str(&rest[..open]);
        checked.push_str("placeholder");
        rest = &rest[open + len + 1..];
    }
    checked.push_str(rest);
    Ok((names, checked))
}

fn is_snake(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A `url_vars(...)` name: a placeholder of `base_url`, declared once.
pub(crate) fn url_var_name(name: &Ident, in_url: &[String], earlier: &[String]) -> syn::Result<()> {
    let text = name.to_string();
    if earlier.contains(&text) {
        return Err(syn::Error::new_spanned(
            name,
            format!("placeholder `{text}` is declared twice in `url_vars(...)`"),
        ));
    }
    if !in_url.contains(&text) {
        let hint = match suggest::did_you_mean(
            &text,
            &in_url.iter().map(String::as_str).collect::<Vec<_>>(),
        ) {
            Some(candidate) => format!("; did you mean `{candidate}`?"),
            None => format!("; add `{{{text}}}` to `base_url`, or remove it"),
        };
        return Err(syn::Error::new_spanned(
            name,
            format!("`base_url` has no placeholder `{{{text}}}`{hint}"),
        ));
    }
    Ok(())
}

/// Every placeholder of `base_url` is declared in `url_vars(...)`.
pub(crate) fn undeclared_placeholder(
    lit: &LitStr,
    in_url: &[String],
    declared: &[String],
) -> syn::Result<()> {
    match in_url.iter().find(|name| !declared.contains(name)) {
        Some(name) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`base_url` has the placeholder `{{{name}}}` but no variable for it: add `url_vars({name} = \"...\")`"
            ),
        )),
        None => Ok(()),
    }
}

/// `models_path = "/path"`: a path below the base URL.
pub(crate) fn models_path(lit: &LitStr) -> syn::Result<String> {
    let path = lit.value();
    let bad = path.len() < 2
        || !path.starts_with('/')
        || path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'));
    if bad {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "`models_path` must be a path below the base URL such as `\"/v1/models\"`, found `{path}`"
            ),
        ));
    }
    Ok(path)
}

/// `docs = "https://..."`: where the provider documents its API.
pub(crate) fn docs_url(lit: &LitStr) -> syn::Result<String> {
    let url = lit.value();
    let host = url.strip_prefix("https://").unwrap_or("");
    let host = &host[..host.find('/').unwrap_or(host.len())];
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "`docs` must be an `https://` URL of the provider's documentation, found `{url}`"
            ),
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn params() {
        assert_eq!(unsupported_param(&parse_quote!(seed)).unwrap(), "Seed");
        assert_eq!(unsupported_param(&parse_quote!(top_p)).unwrap(), "TopP");
        let error = unsupported_param(&parse_quote!(sead))
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `seed`?"), "{error}");
        assert!(repeated_param(&parse_quote!(seed), "Seed", &["Seed"]).is_err());
    }

    #[test]
    fn max_tokens_fields() {
        assert_eq!(
            max_tokens_field(&parse_quote!("max_completion_tokens")).unwrap(),
            "MaxCompletionTokens"
        );
        let error = max_tokens_field(&parse_quote!("max_token"))
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `\"max_tokens\"`?"), "{error}");
        assert!(
            openai_wire_only(&parse_quote!(stream_options), Some(&parse_quote!(openai))).is_ok()
        );
        assert!(
            openai_wire_only(&parse_quote!(stream_options), Some(&parse_quote!(gemini))).is_err()
        );
        assert!(openai_wire_only(&parse_quote!(stream_options), None).is_err());
    }

    #[test]
    fn url_placeholders() {
        let (names, checked) = placeholders(&parse_quote!(
            "https://{workspace}.example.com/a/{account_id}/v1"
        ))
        .unwrap();
        assert_eq!(names, ["workspace", "account_id"]);
        assert_eq!(checked, "https://placeholder.example.com/a/placeholder/v1");
        assert!(placeholders(&parse_quote!("https://x.dev/{Account}")).is_err());
        assert!(placeholders(&parse_quote!("https://x.dev/{a")).is_err());
        assert!(placeholders(&parse_quote!("https://x.dev/a}")).is_err());
        assert!(placeholders(&parse_quote!("https://x.dev/{}")).is_err());
        let in_url = ["account_id".to_owned()];
        assert!(url_var_name(&parse_quote!(account_id), &in_url, &[]).is_ok());
        let error = url_var_name(&parse_quote!(acount_id), &in_url, &[])
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `account_id`?"), "{error}");
        assert!(undeclared_placeholder(&parse_quote!("x"), &in_url, &[]).is_err());
    }

    #[test]
    fn paths_and_docs() {
        assert!(models_path(&parse_quote!("/v1/models")).is_ok());
        assert!(models_path(&parse_quote!("models")).is_err());
        assert!(models_path(&parse_quote!("/")).is_err());
        assert!(docs_url(&parse_quote!("https://docs.x.ai/api")).is_ok());
        assert!(docs_url(&parse_quote!("http://docs.x.ai")).is_err());
    }
}
