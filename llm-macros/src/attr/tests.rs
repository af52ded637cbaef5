//! Unit tests of the attribute parser.

use super::*;
use syn::parse_quote;

fn parse_one(attr: Attribute) -> (Option<Attrs>, Vec<String>) {
    let cx = Ctxt::new();
    let attrs = parse(&cx, &[attr]);
    let errors = match cx.check() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
    };
    (attrs, errors)
}

#[test]
fn reads_every_form() {
    let (attrs, errors) = parse_one(parse_quote! {
        #[provider(name = "groq", base_url = "https://x.dev", auth(header = "x-api-key"),
                   headers("a" = "b"), models("m1", "m2"), capabilities(chat, tools),
                   dialect = openai, error = errors::map, timeout_secs = 30,
                   allow_http = false, crate = "a::b",)]
    });
    assert!(errors.is_empty(), "{errors:?}");
    let attrs = attrs.unwrap();
    assert_eq!(attrs.name.unwrap().value.value(), "groq");
    assert!(matches!(
        attrs.auth.unwrap().value,
        RawAuth::Header { name: Some(_), .. }
    ));
    assert_eq!(attrs.headers.unwrap().value.len(), 1);
    assert_eq!(attrs.models.unwrap().value.len(), 2);
    assert_eq!(attrs.capabilities.unwrap().value[1], "tools");
    assert_eq!(attrs.dialect.unwrap().value, "openai");
    assert_eq!(attrs.timeout_secs.unwrap().value.base10_digits(), "30");
    assert!(attrs.krate.is_some() && attrs.error.is_some() && attrs.allow_http.is_some());
}

#[test]
fn unknown_key_suggests_and_is_not_missing() {
    let (attrs, errors) =
        parse_one(parse_quote!(#[provider(name = "x", base_ur = "https://x.dev", auth = "none")]));
    assert_eq!(
        errors,
        ["unknown key `base_ur` in `#[provider(...)]`; did you mean `base_url`?"]
    );
    assert!(attrs.unwrap().missing_required().is_empty());
}

#[test]
fn duplicate_and_wrong_type() {
    let (_, errors) =
        parse_one(parse_quote!(#[provider(name = "x", name = "y", timeout_secs = "30")]));
    assert_eq!(errors[0], "duplicate key `name`; it is already set above");
    assert_eq!(
        errors[1],
        "expected an integer for `timeout_secs`, found a string; write `timeout_secs = 60`"
    );
}

#[test]
fn missing_required() {
    let (attrs, errors) = parse_one(parse_quote!(#[provider(name = "x")]));
    assert!(errors.is_empty());
    assert_eq!(attrs.unwrap().missing_required(), ["base_url", "auth"]);
}

#[test]
fn auth_forms() {
    let (attrs, errors) = parse_one(parse_quote!(#[provider(auth(header))]));
    assert!(errors.is_empty());
    assert!(matches!(
        attrs.unwrap().auth.unwrap().value,
        RawAuth::Header { name: None, .. }
    ));
    let (_, errors) = parse_one(parse_quote!(#[provider(auth(headr = "x"))]));
    assert!(errors[0].starts_with("unknown auth form `headr(...)`; did you mean `header`?"));
}

#[test]
fn list_errors() {
    let (_, errors) =
        parse_one(parse_quote!(#[provider(capabilities("tools"), models = "a", headers())]));
    assert_eq!(errors.len(), 3, "{errors:?}");
}
