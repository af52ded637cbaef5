//! `errors(...)`: the declared error table. Each row's status, type, kind and
//! retry flag, and the `type_field`.

use syn::{Ident, LitInt, LitStr};

use crate::attr::{RawErrors, RawMatch, RawRow};
use crate::check::suggest;
use crate::ctxt::Ctxt;
use crate::model::{ErrorMatch, ErrorRow, ErrorTable};
use crate::symbol::{self, KINDS, Kind, RUNTIME_KINDS};

/// Check every row (each error recorded, the bad row dropped).
pub(crate) fn error_table(cx: &Ctxt, raw: &RawErrors) -> ErrorTable {
    let mut table = ErrorTable {
        type_field: raw
            .type_field
            .as_ref()
            .and_then(|(_, lit)| cx.ok(type_field(lit))),
        rows: Vec::new(),
    };
    // Every match written so far, valid row or not: a repeat is an error either way.
    let mut seen = Vec::new();
    for row in &raw.rows {
        let on = cx.ok(match &row.on {
            RawMatch::Status(lit) => status(lit),
            RawMatch::Type(lit) => error_type(lit),
        });
        let on = on.and_then(|on| cx.ok(repeated(&row.on, on, &seen)));
        seen.extend(on.clone());
        let kind = cx.ok(kind(&row.kind));
        let retry = kind.and_then(|kind| cx.ok(retry(row, kind)));
        if let (Some(on), Some(kind), Some(retry)) = (on, kind, retry) {
            table.rows.push(ErrorRow {
                on,
                variant: kind.variant,
                retry,
            });
        }
    }
    table
}

/// `type_field = "error_type"` or a dotted path such as `"error.type"`.
fn type_field(lit: &LitStr) -> syn::Result<String> {
    let path = lit.value();
    let ok = !path.is_empty()
        && path.split('.').all(|part| {
            !part.is_empty() && !part.chars().any(|c| c.is_whitespace() || c.is_control())
        });
    if ok {
        Ok(path)
    } else {
        Err(syn::Error::new_spanned(
            lit,
            format!(
                "`type_field` must name a body field, or a dotted path to one such as `\"error.type\"`, found `{}`",
                path.escape_debug()
            ),
        ))
    }
}

/// An error status: 300..=599 (a 1xx or 2xx answer is not an HTTP error).
fn status(lit: &LitInt) -> syn::Result<ErrorMatch> {
    match lit.base10_parse::<u16>() {
        Ok(status @ 300..=599) => Ok(ErrorMatch::Status(status)),
        Ok(status @ 100..=299) => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{status}` is not an error status: a 1xx or 2xx answer never reaches the error table; match an error a 2xx body carries by its type (`\"type\" = kind`)"
            ),
        )),
        _ => Err(syn::Error::new_spanned(
            lit,
            format!(
                "`{}` is not an HTTP status: an error status is between 300 and 599",
                lit.base10_digits()
            ),
        )),
    }
}

fn error_type(lit: &LitStr) -> syn::Result<ErrorMatch> {
    let value = lit.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            "an error type is empty; write the value the body carries, e.g. `\"overloaded\"`",
        ));
    }
    Ok(ErrorMatch::Type(value))
}

/// A status or type matched by an earlier row.
fn repeated(raw: &RawMatch, on: ErrorMatch, earlier: &[ErrorMatch]) -> syn::Result<ErrorMatch> {
    if !earlier.contains(&on) {
        return Ok(on);
    }
    let (tokens, what) = match (raw, &on) {
        (RawMatch::Status(lit), ErrorMatch::Status(status)) => {
            (quote::quote!(#lit), format!("status {status}"))
        }
        (RawMatch::Type(lit), _) => (quote::quote!(#lit), format!("type `{}`", lit.value())),
        (RawMatch::Status(lit), _) => (quote::quote!(#lit), lit.to_string()),
    };
    Err(syn::Error::new_spanned(
        tokens,
        format!("{what} is listed twice in `errors(...)`"),
    ))
}

/// An `ErrorKind` by its name (`ErrorKind::as_str`).
fn kind(ident: &Ident) -> syn::Result<&'static Kind> {
    let name = ident.to_string();
    if let Some(kind) = KINDS.iter().find(|kind| kind.name == name) {
        return Ok(kind);
    }
    let names: Vec<&str> = KINDS.iter().map(|kind| kind.name).collect();
    let hint = if RUNTIME_KINDS.contains(&name.as_str()) {
        format!(
            "; `{name}` is a failure the runtime finds itself, not one an upstream answers with; expected one of: {}",
            names.join(", ")
        )
    } else {
        match suggest::did_you_mean(&name, &names) {
            Some(candidate) => format!("; did you mean `{candidate}`?"),
            None => format!("; expected one of: {}", names.join(", ")),
        }
    };
    Err(syn::Error::new_spanned(
        ident,
        format!("unknown error kind `{name}`{hint}"),
    ))
}

/// `(retry)` / `(no_retry)`, only where it changes the kind's own rule.
fn retry(row: &RawRow, kind: &Kind) -> syn::Result<Option<bool>> {
    let Some(flag) = &row.retry else {
        return Ok(None);
    };
    let retry = match flag.to_string().as_str() {
        symbol::RETRY => true,
        symbol::NO_RETRY => false,
        other => {
            let hint = match suggest::did_you_mean(other, &[symbol::RETRY, symbol::NO_RETRY]) {
                Some(candidate) => format!("did you mean `({candidate})`?"),
                None => "expected `(retry)` or `(no_retry)`".to_owned(),
            };
            return Err(syn::Error::new_spanned(
                flag,
                format!("unknown flag `({other})`; {hint}"),
            ));
        }
    };
    if retry == kind.retryable {
        let (said, is) = if retry {
            ("retry", "is already retried")
        } else {
            ("no_retry", "is never retried")
        };
        return Err(syn::Error::new_spanned(
            flag,
            format!("`({said})` has no effect: `{}` {is}; remove it", kind.name),
        ));
    }
    Ok(Some(retry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn row(on: RawMatch, kind: Ident, retry: Option<Ident>) -> RawRow {
        RawRow { on, kind, retry }
    }

    fn checked(raw: &RawErrors) -> (ErrorTable, Vec<String>) {
        let cx = Ctxt::new();
        let table = error_table(&cx, raw);
        let errors = match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        (table, errors)
    }

    #[test]
    fn a_valid_table() {
        let raw = RawErrors {
            type_field: Some((parse_quote!(type_field), parse_quote!("error.type"))),
            rows: vec![
                row(
                    RawMatch::Status(parse_quote!(424)),
                    parse_quote!(server_error),
                    None,
                ),
                row(
                    RawMatch::Type(parse_quote!("queue_full")),
                    parse_quote!(invalid_request),
                    Some(parse_quote!(retry)),
                ),
            ],
        };
        let (table, errors) = checked(&raw);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(table.type_field.as_deref(), Some("error.type"));
        assert_eq!(table.rows[0].on, ErrorMatch::Status(424));
        assert_eq!(table.rows[1].variant, "InvalidRequest");
        assert_eq!(table.rows[1].retry, Some(true));
    }

    #[test]
    fn every_mistake_is_reported() {
        let raw = RawErrors {
            type_field: Some((parse_quote!(type_field), parse_quote!("error..type"))),
            rows: vec![
                row(
                    RawMatch::Status(parse_quote!(600)),
                    parse_quote!(server_error),
                    None,
                ),
                row(
                    RawMatch::Status(parse_quote!(204)),
                    parse_quote!(server_error),
                    None,
                ),
                row(
                    RawMatch::Status(parse_quote!(424)),
                    parse_quote!(server_eror),
                    None,
                ),
                row(
                    RawMatch::Status(parse_quote!(500)),
                    parse_quote!(network),
                    None,
                ),
                row(
                    RawMatch::Type(parse_quote!("x")),
                    parse_quote!(overloaded),
                    Some(parse_quote!(retry)),
                ),
                row(
                    RawMatch::Type(parse_quote!("y")),
                    parse_quote!(not_found),
                    Some(parse_quote!(no_retry)),
                ),
                row(
                    RawMatch::Type(parse_quote!("z")),
                    parse_quote!(not_found),
                    Some(parse_quote!(retyr)),
                ),
                row(
                    RawMatch::Type(parse_quote!("")),
                    parse_quote!(not_found),
                    None,
                ),
                row(
                    RawMatch::Status(parse_quote!(429)),
                    parse_quote!(rate_limited),
                    None,
                ),
                row(
                    RawMatch::Status(parse_quote!(429)),
                    parse_quote!(overloaded),
                    None,
                ),
            ],
        };
        let (table, errors) = checked(&raw);
        assert_eq!(table.rows.len(), 1, "only the first 429 is valid");
        let expected = [
            "dotted path",
            "`600` is not an HTTP status",
            "`204` is not an error status",
            "did you mean `server_error`?",
            "`network` is a failure the runtime finds itself",
            "`(retry)` has no effect: `overloaded` is already retried",
            "`(no_retry)` has no effect: `not_found` is never retried",
            "unknown flag `(retyr)`; did you mean `(retry)`?",
            "an error type is empty",
            "status 429 is listed twice",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, part) in errors.iter().zip(expected) {
            assert!(error.contains(part), "`{error}` lacks `{part}`");
        }
    }
}
