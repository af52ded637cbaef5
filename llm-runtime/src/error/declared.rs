//! A declared error table (`errors(...)` in `#[provider(...)]`): rows from an
//! HTTP status or an error type to an [`ErrorKind`], applied over the
//! classification the wire format (or `error = path`) already made.
//!
//! The derive emits the table as a constant; this file is the one place that
//! reads it.

use serde_json::Value;

use super::{Error, ErrorKind};

/// What one [`ErrorRule`] matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On<'a> {
    /// The HTTP status.
    Status(u16),
    /// The error type (or code) the body carries.
    Type(&'a str),
}

/// One row of an [`ErrorTable`]: a status or an error type, the kind it
/// means, and whether to retry where that differs from the kind's own rule.
///
/// ```
/// use llm_runtime::ErrorKind;
/// use llm_runtime::error::ErrorRule;
/// const FAILED_GENERATION: ErrorRule = ErrorRule::status(424, ErrorKind::ServerError);
/// const QUEUE_FULL: ErrorRule = ErrorRule::error_type("queue_full", ErrorKind::InvalidRequest).retry(true);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRule {
    on: On<'static>,
    kind: ErrorKind,
    retry: Option<bool>,
}

impl ErrorRule {
    /// Answers with this HTTP status are `kind`.
    pub const fn status(status: u16, kind: ErrorKind) -> Self {
        ErrorRule {
            on: On::Status(status),
            kind,
            retry: None,
        }
    }

    /// Errors whose type (the table's `type_field`, or the code the body's
    /// error carries) is `error_type` are `kind`.
    pub const fn error_type(error_type: &'static str, kind: ErrorKind) -> Self {
        ErrorRule {
            on: On::Type(error_type),
            kind,
            retry: None,
        }
    }

    /// Retry (or not) whatever the kind's own rule says.
    #[must_use]
    pub const fn retry(mut self, retry: bool) -> Self {
        self.retry = Some(retry);
        self
    }
}

/// A provider's declared error table: where its errors mean something other
/// than the default classification says.
///
/// [`ErrorTable::apply`] looks up the error's type first (a type row wins over
/// a status row, as a provider's code refines its status), then its status;
/// a matched row sets the kind, and the retry decision when the row has one.
/// An error that no row matches is returned as it came.
///
/// ```
/// use llm_runtime::{Error, ErrorKind};
/// use llm_runtime::error::{ErrorRule, ErrorTable, classify_http_error};
///
/// const TGI: ErrorTable = ErrorTable::new(&[ErrorRule::status(424, ErrorKind::ServerError)])
///     .type_field("error_type");
/// let body = br#"{"error":"Request failed during generation","error_type":"generation"}"#;
/// let error = TGI.apply(424, body, classify_http_error(424, &Default::default(), body));
/// assert_eq!(error.kind(), ErrorKind::ServerError);
/// assert_eq!(error.code(), Some("generation"));
/// assert!(error.is_retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorTable {
    type_field: Option<&'static str>,
    rules: &'static [ErrorRule],
}

impl ErrorTable {
    /// A table of `rules`; error types are read as the default classification
    /// reads codes (`error.code`, `error.type`, Google's `error.status`...).
    pub const fn new(rules: &'static [ErrorRule]) -> Self {
        ErrorTable {
            type_field: None,
            rules,
        }
    }

    /// Read the error type from this body field instead: a name, or a dotted
    /// path into nested objects (`"error.type"`). A string or integer value
    /// is the type.
    #[must_use]
    pub const fn type_field(mut self, field: &'static str) -> Self {
        self.type_field = Some(field);
        self
    }

    /// Apply the table to `base`, the error the wire (or `error = path`)
    /// classified from `status` and `body`.
    ///
    /// With a `type_field`, the type found there becomes the error's code.
    pub fn apply(&self, status: u16, body: &[u8], base: Error) -> Error {
        let declared = self.type_field.and_then(|field| type_at(body, field));
        let rule = declared
            .as_deref()
            .or(base.code())
            .and_then(|t| self.find(|on| on == On::Type(t)))
            .or_else(|| self.find(|on| on == On::Status(status)))
            .copied();
        let mut error = match declared {
            Some(code) => base.with_code(code),
            None => base,
        };
        if let Some(rule) = rule {
            error = error.with_kind(rule.kind);
            if rule.retry.is_some() {
                error = error.with_should_retry(rule.retry);
            }
        }
        error
    }

    fn find(&self, matches: impl Fn(On<'_>) -> bool) -> Option<&ErrorRule> {
        self.rules.iter().find(|rule| matches(rule.on))
    }
}

/// The error type at the dotted `path` of a JSON body: a non-empty string,
/// or an integer as text.
fn type_at(body: &[u8], path: &str) -> Option<String> {
    let root: Value = serde_json::from_slice(body).ok()?;
    let value = path
        .split('.')
        .try_fold(&root, |value, key| value.as_object()?.get(key))?;
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::classify_http_error;
    use http::HeaderMap;
    use proptest::prelude::*;

    const TABLE: ErrorTable = ErrorTable::new(&[
        ErrorRule::status(424, ErrorKind::ServerError),
        ErrorRule::status(429, ErrorKind::QuotaExceeded),
        ErrorRule::error_type("overloaded", ErrorKind::Overloaded),
        ErrorRule::error_type("validation", ErrorKind::InvalidRequest),
        ErrorRule::error_type("queue_full", ErrorKind::InvalidRequest).retry(true),
        ErrorRule::error_type("1001", ErrorKind::RateLimited),
    ])
    .type_field("error_type");

    fn apply(table: &ErrorTable, status: u16, body: &str) -> Error {
        let base = classify_http_error(status, &HeaderMap::new(), body.as_bytes());
        table.apply(status, body.as_bytes(), base)
    }

    #[test]
    fn status_rows() {
        let e = apply(
            &TABLE,
            424,
            r#"{"error":"Request failed during generation"}"#,
        );
        assert_eq!((e.kind(), e.status()), (ErrorKind::ServerError, Some(424)));
        assert_eq!(e.message(), "Request failed during generation");
        assert_eq!(e.should_retry_hint(), None);
        assert_eq!(apply(&TABLE, 429, "").kind(), ErrorKind::QuotaExceeded);
    }

    #[test]
    fn a_type_row_wins_over_a_status_row() {
        let e = apply(
            &TABLE,
            424,
            r#"{"error":"bad input","error_type":"validation"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.code(), Some("validation"));
        let e = apply(&TABLE, 500, r#"{"error":"busy","error_type":"overloaded"}"#);
        assert_eq!(e.kind(), ErrorKind::Overloaded);
    }

    #[test]
    fn retry_flags_and_numeric_types() {
        let e = apply(
            &TABLE,
            400,
            r#"{"error":"queue","error_type":"queue_full"}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        assert_eq!(e.should_retry_hint(), Some(true));
        let e = apply(&TABLE, 400, r#"{"error":"slow down","error_type":1001}"#);
        assert_eq!((e.kind(), e.code()), (ErrorKind::RateLimited, Some("1001")));
    }

    #[test]
    fn without_type_field_the_parsed_code_is_the_type() {
        const BY_CODE: ErrorTable = ErrorTable::new(&[ErrorRule::error_type(
            "model_loading",
            ErrorKind::Overloaded,
        )]);
        let e = apply(
            &BY_CODE,
            400,
            r#"{"error":{"message":"loading","code":"model_loading"}}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Overloaded);
        assert_eq!(e.code(), Some("model_loading"));
    }

    #[test]
    fn dotted_paths() {
        const NESTED: ErrorTable =
            ErrorTable::new(&[ErrorRule::error_type("busy", ErrorKind::Overloaded)])
                .type_field("error.details.reason");
        let e = apply(
            &NESTED,
            400,
            r#"{"error":{"message":"m","details":{"reason":"busy"}}}"#,
        );
        assert_eq!((e.kind(), e.code()), (ErrorKind::Overloaded, Some("busy")));
        for body in [
            r#"{"error":{"details":["busy"]}}"#,
            r#"{"error":"busy"}"#,
            "[]",
            "x",
        ] {
            assert_eq!(
                apply(&NESTED, 400, body).kind(),
                ErrorKind::InvalidRequest,
                "{body}"
            );
        }
    }

    #[test]
    fn an_unmatched_error_is_unchanged() {
        let body = r#"{"error":{"message":"nope","type":"invalid_request_error"}}"#;
        let base = classify_http_error(400, &HeaderMap::new(), body.as_bytes());
        let applied = apply(&TABLE, 400, body);
        assert_eq!(applied.kind(), base.kind());
        assert_eq!(applied.code(), base.code());
        assert_eq!(applied.message(), base.message());
    }

    proptest! {
        /// Any status and body: the kind is the matched row's, or the base kind.
        #[test]
        fn any_answer_gets_the_row_or_the_base_kind(
            status in 100u16..=599,
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let base = classify_http_error(status, &HeaderMap::new(), &body);
            let kind = TABLE
                .apply(status, &body, classify_http_error(status, &HeaderMap::new(), &body))
                .kind();
            let rows: Vec<ErrorKind> = TABLE.rules.iter().map(|r| r.kind).collect();
            prop_assert!(kind == base.kind() || rows.contains(&kind));
            if status == 424 && type_at(&body, "error_type").is_none() && base.code().is_none() {
                prop_assert_eq!(kind, ErrorKind::ServerError);
            }
        }
    }
}
