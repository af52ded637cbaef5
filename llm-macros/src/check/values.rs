//! The remaining single-valued keys: timeout, capabilities, dialect, models,
//! `crate` and `health`.

use syn::{Ident, LitInt, LitStr, Path};

use crate::check::suggest;
use crate::model::{Capability, Health};
use crate::symbol;

/// `timeout_secs` in 1..=3600: zero would fail every call, and more than an
/// hour is a hung connection rather than a slow model.
pub(crate) fn timeout_secs(lit: &LitInt) -> syn::Result<u64> {
    match lit.base10_parse::<u64>() {
        Ok(secs @ 1..=3600) => Ok(secs),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`timeout_secs` must be between 1 and 3600 (one hour), found {}",
                lit.base10_digits()
            ),
        )),
    }
}

/// A capability name.
pub(crate) fn capability(ident: &Ident) -> syn::Result<Capability> {
    let name = ident.to_string();
    Capability::ALL
        .into_iter()
        .find(|cap| cap.name() == name)
        .ok_or_else(|| {
            let names = Capability::ALL.map(Capability::name);
            let alias = symbol::CAPABILITY_ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, meant)| *meant);
            let hint = match alias.or_else(|| suggest::did_you_mean(&name, &names)) {
                Some(candidate) => format!("; did you mean `{candidate}`?"),
                None => format!("; expected one of: {}", names.join(", ")),
            };
            syn::Error::new_spanned(ident, format!("unknown capability `{name}`{hint}"))
        })
}

/// A capability listed twice.
pub(crate) fn repeated_capability(
    ident: &Ident,
    cap: Capability,
    earlier: &[Capability],
) -> syn::Result<()> {
    if earlier.contains(&cap) {
        return Err(syn::Error::new_spanned(
            ident,
            format!("capability `{ident}` is listed twice"),
        ));
    }
    Ok(())
}

/// A dialect the runtime has (`__private::dialect::<name>`).
pub(crate) fn dialect(ident: &Ident) -> syn::Result<Ident> {
    let name = ident.to_string();
    let dialects = symbol::dialect_names();
    if dialects.contains(&name.as_str()) {
        return Ok(ident.clone());
    }
    let hint = match suggest::did_you_mean(&name, &dialects) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => format!(
            "expected one of: {}; or remove `dialect` and implement `Transform`",
            dialects.join(", ")
        ),
    };
    Err(syn::Error::new_spanned(
        ident,
        format!("unknown dialect `{name}`; {hint}"),
    ))
}

/// A model id listed twice.
pub(crate) fn repeated_model(lit: &LitStr, earlier: &[String]) -> syn::Result<()> {
    if lit.value().is_empty() {
        return Err(syn::Error::new_spanned(lit, "model id is empty"));
    }
    if earlier.contains(&lit.value()) {
        return Err(syn::Error::new_spanned(
            lit,
            format!("model `{}` is listed twice", lit.value()),
        ));
    }
    Ok(())
}

/// `default_model` must be one of `models(...)` when that list is declared.
pub(crate) fn default_model(lit: &LitStr, models: Option<&[String]>) -> syn::Result<String> {
    let model = lit.value();
    let Some(models) = models else {
        if model.is_empty() {
            return Err(syn::Error::new_spanned(lit, "`default_model` is empty"));
        }
        return Ok(model);
    };
    if models.contains(&model) {
        return Ok(model);
    }
    let names: Vec<&str> = models.iter().map(String::as_str).collect();
    let hint = match suggest::did_you_mean(&model, &names) {
        Some(candidate) => format!("; did you mean `{candidate}`?"),
        None => format!("; declared: {}", names.join(", ")),
    };
    Err(syn::Error::new_spanned(
        lit,
        format!("`default_model` `{model}` is not in `models(...)`{hint}"),
    ))
}

/// `crate = "path"`: a plain path (no generics) to where `llm_runtime` is re-exported.
pub(crate) fn crate_path(lit: &LitStr) -> syn::Result<Path> {
    let bad = || {
        syn::Error::new_spanned(
            lit,
            format!(
                "`crate` must be a path to `llm_runtime` or a re-export of it, such as `my_sdk::llm_runtime`, found `{}`",
                lit.value()
            ),
        )
    };
    let path: Path = syn::parse_str(&lit.value()).map_err(|_| bad())?;
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return Err(bad());
    }
    // The path is written inside a string: give its tokens the literal's span so
    // a path that does not resolve is reported on the literal.
    Ok(respan(path, lit.span()))
}

fn respan(mut path: Path, span: proc_macro2::Span) -> Path {
    if let Some(colon) = &mut path.leading_colon {
        colon.spans = [span; 2];
    }
    for mut pair in path.segments.pairs_mut() {
        pair.value_mut().ident.set_span(span);
        if let Some(sep) = pair.punct_mut() {
            sep.spans = [span; 2];
        }
    }
    path
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `health = "METHOD /path"`: an HTTP method, one space, a path below the base URL.
pub(crate) fn health(lit: &LitStr) -> syn::Result<Health> {
    let text = lit.value();
    let bad = |why: &str| {
        syn::Error::new_spanned(
            lit,
            format!("`health` must be `\"METHOD /path\"` such as `\"GET /models\"`; {why}"),
        )
    };
    let Some((method, path)) = text.split_once(' ') else {
        return Err(bad(&format!("found `{text}`")));
    };
    if !METHODS.contains(&method) {
        let hint = match METHODS.iter().find(|m| m.eq_ignore_ascii_case(method)) {
            Some(upper) => format!("; did you mean `{upper}`?"),
            None => String::new(),
        };
        return Err(bad(&format!("`{method}` is not an HTTP method{hint}")));
    }
    if !path.starts_with('/')
        || path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#')
    {
        return Err(bad(&format!("`{path}` is not a path starting with `/`")));
    }
    Ok(Health {
        method: method.to_owned(),
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn timeouts() {
        assert_eq!(timeout_secs(&parse_quote!(30)).unwrap(), 30);
        assert_eq!(timeout_secs(&parse_quote!(3600u64)).unwrap(), 3600);
        assert!(timeout_secs(&parse_quote!(0)).is_err());
        assert!(timeout_secs(&parse_quote!(3601)).is_err());
        assert!(timeout_secs(&parse_quote!(99999999999999999999999)).is_err());
    }

    #[test]
    fn capabilities() {
        assert_eq!(
            capability(&parse_quote!(json_mode)).unwrap(),
            Capability::JsonMode
        );
        let error = capability(&parse_quote!(tool)).unwrap_err().to_string();
        assert_eq!(error, "unknown capability `tool`; did you mean `tools`?");
        let error = capability(&parse_quote!(streaming))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "unknown capability `streaming`; did you mean `stream`?"
        );
        for (alias, meant) in crate::symbol::CAPABILITY_ALIASES {
            assert!(
                Capability::ALL.iter().any(|c| c.name() == *meant),
                "{alias}"
            );
        }
        assert!(
            repeated_capability(&parse_quote!(chat), Capability::Chat, &[Capability::Chat])
                .is_err()
        );
    }

    #[test]
    fn dialects() {
        assert!(dialect(&parse_quote!(openai)).is_ok());
        let error = dialect(&parse_quote!(open_ai)).unwrap_err().to_string();
        assert!(
            error.starts_with("unknown dialect `open_ai`; did you mean `openai`?"),
            "{error}"
        );
        assert!(dialect(&parse_quote!(openai_responses)).is_ok());
        let error = dialect(&parse_quote!(openai_response))
            .unwrap_err()
            .to_string();
        assert!(
            error
                .starts_with("unknown dialect `openai_response`; did you mean `openai_responses`?"),
            "{error}"
        );
    }

    #[test]
    fn models() {
        let models = ["a-1".to_owned(), "b-2".to_owned()];
        assert!(default_model(&parse_quote!("a-1"), Some(&models)).is_ok());
        assert!(default_model(&parse_quote!("anything"), None).is_ok());
        let error = default_model(&parse_quote!("a-2"), Some(&models))
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("did you mean `a-1`?"), "{error}");
        assert!(repeated_model(&parse_quote!("a-1"), &models).is_err());
        assert!(repeated_model(&parse_quote!(""), &models).is_err());
    }

    #[test]
    fn crate_paths() {
        assert!(crate_path(&parse_quote!("::llm_runtime")).is_ok());
        assert!(crate_path(&parse_quote!("crate::sdk::llm")).is_ok());
        assert!(crate_path(&parse_quote!("my sdk")).is_err());
        assert!(crate_path(&parse_quote!("a::<T>")).is_err());
        assert!(crate_path(&parse_quote!("")).is_err());
    }

    #[test]
    fn health_probes() {
        let probe = health(&parse_quote!("GET /models")).unwrap();
        assert_eq!(
            (probe.method.as_str(), probe.path.as_str()),
            ("GET", "/models")
        );
        assert!(health(&parse_quote!("/models")).is_err());
        assert!(
            health(&parse_quote!("get /models"))
                .unwrap_err()
                .to_string()
                .contains("did you mean `GET`?")
        );
        assert!(health(&parse_quote!("GET models")).is_err());
        assert!(health(&parse_quote!("GET /a b")).is_err());
    }
}
