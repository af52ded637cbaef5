//! `errors(...)` as written: `type_field = "..."` and `match = kind` rows.
//! Syntax only; `check/errors.rs` says what the rows mean.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitInt, LitStr, Token};

use super::{Entry, Value, split_commas};
use crate::check::suggest;
use crate::ctxt::Ctxt;
use crate::symbol::{self as sym, example};

/// What a row matches.
pub(crate) enum RawMatch {
    /// `424 = ...`: the HTTP status.
    Status(LitInt),
    /// `"overloaded" = ...`: the error type (or code) the body carries.
    Type(LitStr),
}

/// `match = kind` or `match = kind(retry)`.
pub(crate) struct RawRow {
    pub(crate) on: RawMatch,
    pub(crate) kind: Ident,
    /// `retry` / `no_retry`, as written.
    pub(crate) retry: Option<Ident>,
}

/// `errors(...)` as written.
#[derive(Default)]
pub(crate) struct RawErrors {
    /// `type_field = "error_type"`, with its key (for a repeated one).
    pub(crate) type_field: Option<(Ident, LitStr)>,
    pub(crate) rows: Vec<RawRow>,
}

enum Element {
    TypeField(Ident, LitStr),
    Row(RawRow),
}

/// `errors(...)`: each element parsed; a bad one is reported and dropped.
pub(super) fn table(cx: &Ctxt, entry: &Entry, key: &str) -> Option<RawErrors> {
    let Value::List(group) = &entry.value else {
        cx.error_spanned_by(
            entry.tokens(),
            format!("`{key}` takes a list: write `{}`", example(key)),
        );
        return None;
    };
    let elements = split_commas(group.stream());
    if elements.is_empty() {
        cx.error_spanned_by(
            entry.tokens(),
            format!("`{key}()` is empty and has no effect; list at least one row, or remove it"),
        );
        return None;
    }
    let mut out = RawErrors::default();
    for tokens in elements {
        match cx.ok(element.parse2(tokens.into_iter().collect::<TokenStream>())) {
            Some(Element::TypeField(key, lit)) => match &out.type_field {
                Some(_) => cx.error_spanned_by(
                    &key,
                    format!("`{}` is set twice in `errors(...)`", sym::TYPE_FIELD),
                ),
                None => out.type_field = Some((key, lit)),
            },
            Some(Element::Row(row)) => out.rows.push(row),
            None => {}
        }
    }
    Some(out)
}

const FORM: &str = "expected `type_field = \"error_type\"`, `424 = server_error` or `\"overloaded\" = overloaded(retry)`";

fn element(input: ParseStream<'_>) -> syn::Result<Element> {
    let on = if input.peek(LitInt) {
        RawMatch::Status(input.parse()?)
    } else if input.peek(LitStr) {
        RawMatch::Type(input.parse()?)
    } else if input.peek(Ident) {
        let key: Ident = input.parse()?;
        if key != sym::TYPE_FIELD {
            let hint = match suggest::did_you_mean(&key.to_string(), &[sym::TYPE_FIELD]) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => format!(
                    "a row matches a status or a type: quote a type (`\"{key}\" = ...`); {FORM}"
                ),
            };
            return Err(syn::Error::new_spanned(
                &key,
                format!("unknown key `{key}` in `errors(...)`; {hint}"),
            ));
        }
        input.parse::<Token![=]>()?;
        if !input.peek(LitStr) {
            return Err(input.error("expected the field's name as a string, e.g. `\"error_type\"`"));
        }
        let lit: LitStr = input.parse()?;
        end(input)?;
        return Ok(Element::TypeField(key, lit));
    } else {
        return Err(input.error(FORM));
    };
    if !input.peek(Token![=]) {
        let (tokens, what) = match &on {
            RawMatch::Status(lit) => (quote::quote!(#lit), lit.to_string()),
            RawMatch::Type(lit) => (quote::quote!(#lit), format!("{:?}", lit.value())),
        };
        return Err(syn::Error::new_spanned(
            tokens,
            format!("expected `= kind` after `{what}`, e.g. `{what} = server_error`"),
        ));
    }
    input.parse::<Token![=]>()?;
    if !input.peek(Ident) {
        return Err(input.error(
            "expected an error kind such as `server_error`, optionally `server_error(retry)`",
        ));
    }
    let kind: Ident = input.parse()?;
    let retry = if input.peek(syn::token::Paren) {
        let inner;
        syn::parenthesized!(inner in input);
        let flag: Ident = inner.parse()?;
        if !inner.is_empty() {
            return Err(inner.error("expected `(retry)` or `(no_retry)`"));
        }
        Some(flag)
    } else {
        None
    };
    end(input)?;
    Ok(Element::Row(RawRow { on, kind, retry }))
}

fn end(input: ParseStream<'_>) -> syn::Result<()> {
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error("unexpected tokens; rows are separated by `,`"))
    }
}
