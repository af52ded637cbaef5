//! Parse and check: from the derive input to a [`Declaration`], with every
//! error recorded in the context.

use proc_macro2::Span;
use syn::{DeriveInput, Ident, LitStr};

use crate::attr::{self, Attrs, Spanned};
use crate::check;
use crate::ctxt::Ctxt;
use crate::model::{Auth, BaseUrl, Capability, Declaration, DialectChoice, Item};
use crate::symbol;

mod quirks;

/// Parse and check the derive input; `Err` (with the errors in `cx`) when any
/// rule failed.
pub(crate) fn build(cx: &Ctxt, input: &DeriveInput) -> Result<Declaration, Box<Item>> {
    let shape = cx.ok(check::data_shape(input));
    let generic = cx.ok(check::no_generics(&input.generics)).is_none();
    let mut item = Item {
        ident: input.ident.clone(),
        vis: input.vis.clone(),
        shape,
        no_fallback: generic,
        krate: syn::parse_quote!(::llm_runtime),
        dialect: DialectChoice::Absent,
    };
    let Some(attrs) = attr::parse(cx, &input.attrs) else {
        cx.error_at(
            Span::call_site(),
            format!(
                "`#[derive(Provider)]` needs a `#[provider(...)]` attribute on `{}` with at least `name`, `base_url` and `auth`, e.g. `#[provider({}, {}, {})]`",
                input.ident,
                symbol::example("name"),
                symbol::example("base_url"),
                symbol::example("auth"),
            ),
        );
        item.no_fallback = true;
        return Err(Box::new(item));
    };
    crate_and_dialect(cx, &attrs, &mut item);
    declaration(cx, attrs, item)
}

/// What the fallback needs even when other keys are wrong: the crate path and the dialect.
fn crate_and_dialect(cx: &Ctxt, attrs: &Attrs, item: &mut Item) {
    if let Some(krate) = &attrs.krate {
        match cx.ok(check::crate_path(&krate.value)) {
            Some(path) => item.krate = path,
            None => item.no_fallback = true,
        }
    } else if attrs.wrote("crate") {
        item.no_fallback = true;
    }
    item.dialect = match &attrs.dialect {
        Some(dialect) => match cx.ok(check::dialect(&dialect.value)) {
            Some(ident) => DialectChoice::Valid(ident),
            None => DialectChoice::Invalid,
        },
        None if attrs.wrote("dialect") || attrs.suggested.contains(&"dialect") => {
            DialectChoice::Invalid
        }
        None => DialectChoice::Absent,
    };
}

/// Check every key and assemble the declaration (`Err` when any rule failed).
fn declaration(cx: &Ctxt, attrs: Attrs, item: Item) -> Result<Declaration, Box<Item>> {
    let shape = item.shape;
    missing_required(cx, &attrs);
    let name = checked(cx, attrs.name.as_ref(), check::provider_name);
    let auth = checked(cx, attrs.auth.as_ref(), check::auth_scheme);
    let (base_url, placeholders) = base_url(cx, &attrs);
    let api_key_env = api_key_env(cx, &attrs, auth.as_ref());
    let base_url_env = checked(cx, attrs.base_url_env.as_ref(), check::env_var);
    let headers = headers(cx, attrs.headers.as_ref(), auth.as_ref());
    let timeout_secs = checked(cx, attrs.timeout_secs.as_ref(), check::timeout_secs);
    let models = models(cx, attrs.models.as_ref());
    let default_model = checked(cx, attrs.default_model.as_ref(), |m| {
        check::default_model(m, attrs.models.as_ref().map(|_| models.as_slice()))
    });
    let capability_spans = capabilities(cx, attrs.capabilities.as_ref());
    let capabilities: Vec<Capability> = capability_spans.iter().map(|(cap, _)| *cap).collect();
    let health = checked(cx, attrs.health.as_ref(), check::health);
    let quirks = quirks::quirks(
        cx,
        &attrs,
        quirks::Context {
            dialect: item.dialect.valid(),
            dialect_written: attrs.wrote("dialect"),
            capabilities: &capabilities,
            placeholders: &placeholders,
            headers: &headers,
            auth: auth.as_ref(),
        },
    );
    let docs = checked(cx, attrs.docs.as_ref(), check::docs_url);
    let errors = attrs
        .errors
        .as_ref()
        .map(|raw| check::error_table(cx, &raw.value));

    let (Some(shape), Some(name), Some(base_url), Some(auth), false) =
        (shape, name, base_url, auth, cx.has_errors())
    else {
        return Err(Box::new(item));
    };
    let dialect = item.dialect.valid().cloned();
    Ok(Declaration {
        item,
        shape,
        name,
        base_url,
        auth,
        api_key_env,
        base_url_env,
        headers,
        timeout_secs,
        models,
        default_model,
        capabilities,
        capability_spans,
        dialect,
        health,
        error: attrs.error.map(|e| e.value),
        errors,
        rewrite: attrs.rewrite.map(|e| e.value),
        rewrite_json: attrs.rewrite_json.map(|e| e.value),
        allow_http: attrs.allow_http.is_some_and(|a| a.value.value()),
        docs,
        quirks,
    })
}

/// `env`, checked (and an error with `auth = "none"`, where it has no effect).
fn api_key_env(cx: &Ctxt, attrs: &Attrs, auth: Option<&Auth>) -> Option<String> {
    let env = checked(cx, attrs.env.as_ref(), check::env_var);
    if let (Some(written), Some(auth)) = (&attrs.env, auth) {
        cx.ok(check::env_without_key(written, auth));
    }
    env
}

/// The value of a key, when written, checked by `rule` (its error recorded).
fn checked<T, U>(
    cx: &Ctxt,
    key: Option<&Spanned<T>>,
    rule: impl FnOnce(&T) -> syn::Result<U>,
) -> Option<U> {
    cx.ok(rule(&key?.value))
}

/// One error naming every missing required key, on the `provider` of the attribute.
fn missing_required(cx: &Ctxt, attrs: &Attrs) {
    let missing = attrs.missing_required();
    let examples: Vec<String> = missing
        .iter()
        .map(|k| format!("`{}`", symbol::example(k)))
        .collect();
    match missing.as_slice() {
        [] => {}
        [key] => cx.error_at(
            attrs.anchor,
            format!(
                "missing required key `{key}` in `#[provider(...)]`: add {}",
                examples[0]
            ),
        ),
        keys => cx.error_at(
            attrs.anchor,
            format!(
                "missing required keys {} in `#[provider(...)]`: add {}",
                keys.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                examples.join(", "),
            ),
        ),
    }
}

/// The checked base URL, and its `{placeholder}` names (each URL rule is
/// checked with the placeholders replaced by a plain label).
fn base_url(cx: &Ctxt, attrs: &Attrs) -> (Option<BaseUrl>, Vec<String>) {
    let Some(lit) = attrs.base_url.as_ref().map(|b| &b.value) else {
        return (None, Vec::new());
    };
    let Some((names, checked)) = cx.ok(check::placeholders(lit)) else {
        return (None, Vec::new());
    };
    let url = cx
        .ok(check::base_url(&LitStr::new(&checked, lit.span())))
        .map(|mut url| {
            url.url = lit.value().trim_end_matches('/').to_owned();
            url
        });
    (
        url.and_then(|url| base_url_rules(cx, attrs, lit, url)),
        names,
    )
}

fn base_url_rules(cx: &Ctxt, attrs: &Attrs, lit: &LitStr, url: BaseUrl) -> Option<BaseUrl> {
    cx.ok(check::plain_http(
        &url,
        lit,
        attrs.allow_http.as_ref().map(|a| &a.value),
    ));
    if let Some(allow_http) = &attrs.allow_http {
        cx.ok(check::allow_http_effect(&url, allow_http));
    }
    Some(url)
}

fn headers(
    cx: &Ctxt,
    headers: Option<&Spanned<Vec<(LitStr, LitStr)>>>,
    auth: Option<&Auth>,
) -> Vec<(String, String)> {
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (name_lit, value_lit) in headers.map_or(&[][..], |h| &h.value) {
        // One error per header name: the first rule it breaks.
        let name = cx.ok(check::header_name(name_lit).and_then(|name| {
            check::client_managed(&name, name_lit)?;
            if let Some(auth) = auth {
                check::set_by_auth(&name, name_lit, auth)?;
            }
            check::repeated_header(&name, name_lit, &names)?;
            Ok(name)
        }));
        let value = cx.ok(check::header_value(value_lit));
        if let Some(name) = &name {
            names.push(name.clone());
        }
        if let (Some(name), Some(value)) = (name, value) {
            out.push((name, value));
        }
    }
    out
}

fn models(cx: &Ctxt, models: Option<&Spanned<Vec<LitStr>>>) -> Vec<String> {
    let mut out = Vec::new();
    for lit in models.map_or(&[][..], |m| &m.value) {
        if cx.ok(check::repeated_model(lit, &out)).is_some() {
            out.push(lit.value());
        }
    }
    out
}

/// The checked capabilities, each with the span of its name (none for the
/// default ones, which were not written).
fn capabilities(
    cx: &Ctxt,
    capabilities: Option<&Spanned<Vec<Ident>>>,
) -> Vec<(Capability, Option<Span>)> {
    let Some(capabilities) = capabilities else {
        return Capability::DEFAULT.iter().map(|cap| (*cap, None)).collect();
    };
    let mut out: Vec<Capability> = Vec::new();
    let mut spans = Vec::new();
    for ident in &capabilities.value {
        let cap = cx.ok(check::capability(ident).and_then(|cap| {
            check::repeated_capability(ident, cap, &out)?;
            Ok(cap)
        }));
        if let Some(cap) = cap {
            out.push(cap);
            spans.push((cap, Some(ident.span())));
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    /// The error messages `build` gives for `input`.
    fn errors(input: DeriveInput) -> Vec<String> {
        let cx = Ctxt::new();
        let built = build(&cx, &input);
        let errors: Vec<String> = match cx.check() {
            Ok(()) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        };
        assert_eq!(built.is_ok(), errors.is_empty());
        errors
    }

    #[test]
    fn a_valid_declaration_builds() {
        let input: DeriveInput = parse_quote! {
            #[provider(name = "groq", base_url = "https://api.groq.com/openai/v1/", auth = "bearer",
                       env = "GROQ_API_KEY", models("a", "b"), default_model = "b", dialect = openai)]
            pub struct Groq;
        };
        let cx = Ctxt::new();
        let decl = build(&cx, &input).ok().expect("valid");
        cx.check().expect("no errors");
        assert_eq!(decl.base_url.url, "https://api.groq.com/openai/v1");
        assert_eq!(decl.capabilities, Capability::DEFAULT);
        assert_eq!(decl.default_model.as_deref(), Some("b"));
        assert!(decl.dialect.is_some());
    }

    #[test]
    fn one_mistake_one_error() {
        let misspelt_key = errors(parse_quote! {
            #[provider(name = "groq", base_ur = "https://api.groq.com/openai/v1", auth = "bearer")]
            struct Groq;
        });
        assert_eq!(
            misspelt_key,
            ["unknown key `base_ur` in `#[provider(...)]`; did you mean `base_url`?"]
        );
        let misspelt_scheme = errors(parse_quote! {
            #[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "barer",
                       env = "GROQ_API_KEY", headers("authorization" = "x"))]
            struct Groq;
        });
        assert_eq!(
            misspelt_scheme,
            ["unknown auth scheme `barer`; did you mean `\"bearer\"`?"]
        );
    }

    #[test]
    fn every_error_is_reported() {
        let all = errors(parse_quote! {
            #[provider(name = "Groq", base_url = "http://example.com", auth = "bearer",
                       env = "groq_key", timeout_secs = 0, capabilities(tool))]
            enum Groq {}
        });
        assert_eq!(all.len(), 6, "{all:?}");
    }

    #[test]
    fn missing_attribute() {
        let missing = errors(parse_quote!(
            struct Groq;
        ));
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("needs a `#[provider(...)]` attribute"));
    }
}
