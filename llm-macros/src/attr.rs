//! Parse `#[provider(...)]` into spanned raw values: which keys were written,
//! each with its key token and its literal, path or list. This is syntax only
//! (plus unknown and duplicate keys); what the values mean is `check/`'s job.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Expr, Lit, LitBool, LitInt, LitStr, Meta, Path, Token};

use crate::check::suggest;
use crate::ctxt::Ctxt;
use crate::symbol::{self as sym, example};

mod errors;

pub(crate) use errors::{RawErrors, RawMatch, RawRow};

/// A written key and its value; errors about the key point at `key`.
pub(crate) struct Spanned<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// `auth` as written.
pub(crate) enum RawAuth {
    /// `auth = "bearer"`.
    Scheme(LitStr),
    /// `auth(header = "x-api-key")`, or `auth(header)` without a name.
    Header { key: Ident, name: Option<LitStr> },
    /// `auth(query = "key")`, or `auth(query)` without a name.
    Query { key: Ident, name: Option<LitStr> },
    /// `auth(sigv4 = "bedrock")`, or `auth(sigv4)` without a service.
    SigV4 { key: Ident, name: Option<LitStr> },
}

/// The keys of every `#[provider(...)]` of one item, as written.
pub(crate) struct Attrs {
    /// The `provider` of the first attribute: where "missing key" errors point.
    pub(crate) anchor: Span,
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) base_url: Option<Spanned<LitStr>>,
    pub(crate) auth: Option<Spanned<RawAuth>>,
    pub(crate) env: Option<Spanned<LitStr>>,
    pub(crate) base_url_env: Option<Spanned<LitStr>>,
    pub(crate) headers: Option<Spanned<Vec<(LitStr, LitStr)>>>,
    pub(crate) timeout_secs: Option<Spanned<LitInt>>,
    pub(crate) models: Option<Spanned<Vec<LitStr>>>,
    pub(crate) default_model: Option<Spanned<LitStr>>,
    pub(crate) capabilities: Option<Spanned<Vec<Ident>>>,
    pub(crate) dialect: Option<Spanned<Ident>>,
    pub(crate) health: Option<Spanned<LitStr>>,
    pub(crate) error: Option<Spanned<Path>>,
    /// `errors(...)`: the declared error table.
    pub(crate) errors: Option<Spanned<RawErrors>>,
    pub(crate) rewrite: Option<Spanned<Path>>,
    /// `rewrite_json = path`: the JSON body rewrite hook.
    pub(crate) rewrite_json: Option<Spanned<Path>>,
    pub(crate) allow_http: Option<Spanned<LitBool>>,
    pub(crate) krate: Option<Spanned<LitStr>>,
    pub(crate) docs: Option<Spanned<LitStr>>,
    /// `unsupported(seed, tool_choice)`: request parameters the host does not accept.
    pub(crate) unsupported: Option<Spanned<Vec<Ident>>>,
    pub(crate) max_tokens_field: Option<Spanned<LitStr>>,
    pub(crate) stream_options: Option<Spanned<LitBool>>,
    /// `url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID")`: a placeholder and its variable.
    pub(crate) url_vars: Option<Spanned<Vec<(Ident, LitStr)>>>,
    /// `env_headers("x-header" = "ENV_VAR")`: a header and the variable of its value.
    pub(crate) env_headers: Option<Spanned<Vec<(LitStr, LitStr)>>>,
    pub(crate) models_path: Option<Spanned<LitStr>>,
    /// Keys that were written, even with a value that did not parse.
    pub(crate) written: Vec<&'static str>,
    /// Keys proposed by a "did you mean" (so not reported missing as well).
    pub(crate) suggested: Vec<&'static str>,
}

impl Attrs {
    fn empty(anchor: Span) -> Self {
        Attrs {
            anchor,
            name: None,
            base_url: None,
            auth: None,
            env: None,
            base_url_env: None,
            headers: None,
            timeout_secs: None,
            models: None,
            default_model: None,
            capabilities: None,
            dialect: None,
            health: None,
            error: None,
            errors: None,
            rewrite: None,
            rewrite_json: None,
            allow_http: None,
            krate: None,
            docs: None,
            unsupported: None,
            max_tokens_field: None,
            stream_options: None,
            url_vars: None,
            env_headers: None,
            models_path: None,
            written: Vec::new(),
            suggested: Vec::new(),
        }
    }

    /// Whether `key` was written (even with a bad value).
    pub(crate) fn wrote(&self, key: &str) -> bool {
        self.written.contains(&key)
    }

    /// The required keys that are neither written nor proposed for a misspelt key.
    pub(crate) fn missing_required(&self) -> Vec<&'static str> {
        sym::KEYS
            .iter()
            .filter(|key| key.required())
            .map(|key| key.name)
            .filter(|key| !self.wrote(key) && !self.suggested.contains(key))
            .collect()
    }
}

/// One `key`, `key = value` or `key(...)` of the attribute.
struct Entry {
    key: Ident,
    value: Value,
}

enum Value {
    /// `key` alone.
    Flag,
    /// `key = tokens...` up to the next top-level comma.
    Eq(TokenStream),
    /// `key(...)`.
    List(Group),
}

impl Entry {
    /// The whole entry, for errors about its form.
    fn tokens(&self) -> TokenStream {
        let mut tokens = self.key.to_token_stream();
        match &self.value {
            Value::Flag => {}
            Value::Eq(value) => {
                <Token![=]>::default().to_tokens(&mut tokens);
                tokens.extend(value.clone());
            }
            Value::List(group) => group.to_tokens(&mut tokens),
        }
        tokens
    }
}

/// Parse every `#[provider(...)]` among `attrs`; `None` when there is none.
pub(crate) fn parse(cx: &Ctxt, attrs: &[Attribute]) -> Option<Attrs> {
    let mut out: Option<Attrs> = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("provider")) {
        let out = out.get_or_insert_with(|| Attrs::empty(attr.path().segments[0].ident.span()));
        let Meta::List(list) = &attr.meta else {
            cx.error_spanned_by(
                attr,
                "expected `#[provider(...)]`, e.g. `#[provider(name = \"groq\", base_url = \"https://api.groq.com/openai/v1\", auth = \"bearer\")]`",
            );
            continue;
        };
        for entry in entries(cx, list.tokens.clone()) {
            key_value(cx, out, entry);
        }
    }
    out
}

/// Split `tokens` at top-level commas into entries.
fn entries(cx: &Ctxt, tokens: TokenStream) -> Vec<Entry> {
    let mut out = Vec::new();
    for chunk in split_commas(tokens) {
        let mut chunk = chunk.into_iter();
        let Some(first) = chunk.next() else { continue };
        let TokenTree::Ident(key) = first else {
            cx.error_spanned_by(&first, "expected a key such as `name = \"...\"`");
            continue;
        };
        let rest: Vec<TokenTree> = chunk.collect();
        let value = match rest.split_first() {
            None => Value::Flag,
            Some((TokenTree::Punct(eq), value)) if eq.as_char() == '=' => {
                if value.is_empty() {
                    cx.error_at(eq.span(), format!("expected a value after `{key} =`"));
                    continue;
                }
                Value::Eq(value.iter().cloned().collect())
            }
            Some((TokenTree::Group(group), after))
                if group.delimiter() == Delimiter::Parenthesis =>
            {
                if let Some(extra) = after.first() {
                    cx.error_spanned_by(
                        extra,
                        format!("unexpected token after `{key}(...)`; expected `,`"),
                    );
                    continue;
                }
                Value::List(group.clone())
            }
            Some((other, _)) => {
                cx.error_spanned_by(other, format!("expected `=` or `(...)` after `{key}`"));
                continue;
            }
        };
        out.push(Entry { key, value });
    }
    out
}

/// Split a token stream at its top-level commas (empty pieces are dropped).
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for token in tokens {
        match &token {
            TokenTree::Punct(punct) if punct.as_char() == ',' => out.push(Vec::new()),
            _ => out.last_mut().expect("never empty").push(token),
        }
    }
    out.retain(|chunk| !chunk.is_empty());
    out
}

/// Record one entry into `out`, reporting unknown and duplicate keys.
fn key_value(cx: &Ctxt, out: &mut Attrs, entry: Entry) {
    let key_name = entry.key.to_string();
    let Some(key) = sym::key_named(&key_name).map(|key| key.name) else {
        match suggest::did_you_mean(&key_name, &sym::key_names()) {
            Some(candidate) => {
                out.suggested.push(candidate);
                cx.error_spanned_by(
                    &entry.key,
                    format!("unknown key `{key_name}` in `#[provider(...)]`; did you mean `{candidate}`?"),
                );
            }
            None => cx.error_spanned_by(
                &entry.key,
                format!(
                    "unknown key `{key_name}` in `#[provider(...)]`; expected one of: {}",
                    sym::key_names().join(", ")
                ),
            ),
        }
        return;
    };
    if out.wrote(key) {
        cx.error_spanned_by(
            &entry.key,
            format!("duplicate key `{key}`; it is already set above"),
        );
        return;
    }
    out.written.push(key);
    let k = &entry.key;
    match key {
        sym::NAME => out.name = at(k, cx.ok(lit_str(&entry, key))),
        sym::BASE_URL => out.base_url = at(k, cx.ok(lit_str(&entry, key))),
        sym::ENV => out.env = at(k, cx.ok(lit_str(&entry, key))),
        sym::BASE_URL_ENV => out.base_url_env = at(k, cx.ok(lit_str(&entry, key))),
        sym::DEFAULT_MODEL => out.default_model = at(k, cx.ok(lit_str(&entry, key))),
        sym::HEALTH => out.health = at(k, cx.ok(lit_str(&entry, key))),
        sym::CRATE => out.krate = at(k, cx.ok(lit_str(&entry, key))),
        sym::TIMEOUT_SECS => out.timeout_secs = at(k, cx.ok(lit_int(&entry, key))),
        sym::ALLOW_HTTP => out.allow_http = at(k, cx.ok(lit_bool(&entry, key))),
        sym::DIALECT => out.dialect = at(k, cx.ok(ident(&entry, key))),
        sym::ERROR => out.error = at(k, cx.ok(path(&entry, key))),
        sym::ERRORS => out.errors = at(k, errors::table(cx, &entry, key)),
        sym::REWRITE => out.rewrite = at(k, cx.ok(path(&entry, key))),
        sym::REWRITE_JSON => out.rewrite_json = at(k, cx.ok(path(&entry, key))),
        sym::AUTH => out.auth = at(k, cx.ok(auth(&entry))),
        sym::MODELS => {
            out.models = at(k, list(cx, &entry, key, syn::parse2::<LitStr>));
        }
        sym::CAPABILITIES => out.capabilities = at(k, list(cx, &entry, key, capability)),
        sym::HEADERS => out.headers = at(k, list(cx, &entry, key, header)),
        sym::DOCS => out.docs = at(k, cx.ok(lit_str(&entry, key))),
        sym::MAX_TOKENS_FIELD => out.max_tokens_field = at(k, cx.ok(lit_str(&entry, key))),
        sym::MODELS_PATH => out.models_path = at(k, cx.ok(lit_str(&entry, key))),
        sym::STREAM_OPTIONS => out.stream_options = at(k, cx.ok(lit_bool(&entry, key))),
        sym::UNSUPPORTED => out.unsupported = at(k, list(cx, &entry, key, param_name)),
        sym::URL_VARS => out.url_vars = at(k, list(cx, &entry, key, url_var)),
        sym::ENV_HEADERS => out.env_headers = at(k, list(cx, &entry, key, header)),
        _ => unreachable!("every key of the symbol table is handled"),
    }
}

fn at<T>(key: &Ident, value: Option<T>) -> Option<Spanned<T>> {
    value.map(|value| Spanned {
        key: key.clone(),
        value,
    })
}

/// What kind of literal `lit` is, for "expected X, found Y".
fn lit_kind(lit: &Lit) -> &'static str {
    match lit {
        Lit::Str(_) => "a string",
        Lit::ByteStr(_) => "a byte string",
        Lit::CStr(_) => "a C string",
        Lit::Byte(_) => "a byte",
        Lit::Char(_) => "a character",
        Lit::Int(_) => "an integer",
        Lit::Float(_) => "a float",
        Lit::Bool(_) => "a boolean",
        _ => "a literal",
    }
}

/// The `= value` of an entry, as an expression; an error for `key` or `key(...)`.
fn eq_value(entry: &Entry, key: &str, expected: &str) -> syn::Result<Expr> {
    match &entry.value {
        Value::Eq(tokens) => syn::parse2::<Expr>(tokens.clone()),
        Value::Flag | Value::List(_) => Err(syn::Error::new_spanned(
            entry.tokens(),
            format!("`{key}` takes {expected}: write `{}`", example(key)),
        )),
    }
}

fn wrong_type(value: &Expr, key: &str, expected: &str) -> syn::Error {
    let found = match value {
        Expr::Lit(lit) => format!(", found {}", lit_kind(&lit.lit)),
        _ => String::new(),
    };
    syn::Error::new_spanned(
        value,
        format!(
            "expected {expected} for `{key}`{found}; write `{}`",
            example(key)
        ),
    )
}

fn lit_str(entry: &Entry, key: &str) -> syn::Result<LitStr> {
    match eq_value(entry, key, "a string")? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(wrong_type(&other, key, "a string")),
    }
}

fn lit_int(entry: &Entry, key: &str) -> syn::Result<LitInt> {
    match eq_value(entry, key, "an integer")? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(lit), ..
        }) => Ok(lit),
        other => Err(wrong_type(&other, key, "an integer")),
    }
}

fn lit_bool(entry: &Entry, key: &str) -> syn::Result<LitBool> {
    match eq_value(entry, key, "`true` or `false`")? {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Bool(lit),
            ..
        }) => Ok(lit),
        other => Err(wrong_type(&other, key, "`true` or `false`")),
    }
}

fn path(entry: &Entry, key: &str) -> syn::Result<Path> {
    match eq_value(entry, key, "a path")? {
        Expr::Path(expr) if expr.qself.is_none() => Ok(expr.path),
        other => Err(wrong_type(&other, key, "a path (without quotes)")),
    }
}

fn ident(entry: &Entry, key: &str) -> syn::Result<Ident> {
    match eq_value(entry, key, "a name")? {
        Expr::Path(expr) if expr.qself.is_none() && expr.path.get_ident().is_some() => {
            Ok(expr.path.segments[0].ident.clone())
        }
        other => Err(wrong_type(&other, key, "a name (without quotes)")),
    }
}

/// `key(a, b, ...)` with each element parsed by `element`; element errors are
/// recorded and the element dropped, so one bad element gives one error.
fn list<T>(
    cx: &Ctxt,
    entry: &Entry,
    key: &str,
    element: impl Fn(TokenStream) -> syn::Result<T>,
) -> Option<Vec<T>> {
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
            format!("`{key}()` is empty and has no effect; list at least one, or remove it"),
        );
        return None;
    }
    let parsed = elements
        .into_iter()
        .filter_map(|tokens| cx.ok(element(tokens.into_iter().collect())))
        .collect();
    Some(parsed)
}

fn capability(tokens: TokenStream) -> syn::Result<Ident> {
    match syn::parse2::<Expr>(tokens.clone()) {
        Ok(Expr::Path(expr)) if expr.qself.is_none() && expr.path.get_ident().is_some() => {
            Ok(expr.path.segments[0].ident.clone())
        }
        Ok(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        })) => Err(syn::Error::new_spanned(
            &lit,
            format!(
                "capabilities are names, not strings: write `{}`",
                lit.value()
            ),
        )),
        _ => Err(syn::Error::new_spanned(
            tokens,
            "expected a capability name such as `tools`",
        )),
    }
}

/// A request parameter's name in `unsupported(...)`.
fn param_name(tokens: TokenStream) -> syn::Result<Ident> {
    match syn::parse2::<Expr>(tokens.clone()) {
        Ok(Expr::Path(expr)) if expr.qself.is_none() && expr.path.get_ident().is_some() => {
            Ok(expr.path.segments[0].ident.clone())
        }
        Ok(Expr::Lit(syn::ExprLit {
            lit: Lit::Str(lit), ..
        })) => Err(syn::Error::new_spanned(
            &lit,
            format!("parameters are names, not strings: write `{}`", lit.value()),
        )),
        _ => Err(syn::Error::new_spanned(
            tokens,
            "expected a request parameter name such as `seed`",
        )),
    }
}

/// `name = "ENV_VAR"` in `url_vars(...)`.
fn url_var(tokens: TokenStream) -> syn::Result<(Ident, LitStr)> {
    let parser = |input: ParseStream<'_>| {
        let form = "expected a placeholder as `name = \"ENV_VAR\"`, e.g. `account_id = \"CLOUDFLARE_ACCOUNT_ID\"`";
        if !input.peek(syn::Ident) {
            return Err(input.error(form));
        }
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        if !input.peek(LitStr) {
            return Err(input.error("expected the variable's name as a string"));
        }
        let var: LitStr = input.parse()?;
        Ok((name, var))
    };
    parser.parse2(tokens)
}

fn header(tokens: TokenStream) -> syn::Result<(LitStr, LitStr)> {
    let parser = |input: ParseStream<'_>| {
        if !input.peek(LitStr) {
            return Err(input.error(
                "expected a header as `\"name\" = \"value\"`, e.g. `\"anthropic-version\" = \"2023-06-01\"`",
            ));
        }
        let name: LitStr = input.parse()?;
        input.parse::<Token![=]>()?;
        if !input.peek(LitStr) {
            return Err(input.error("expected the header value as a string"));
        }
        let value: LitStr = input.parse()?;
        Ok((name, value))
    };
    parser.parse2(tokens)
}

fn auth(entry: &Entry) -> syn::Result<RawAuth> {
    let Value::List(group) = &entry.value else {
        return lit_str(entry, sym::AUTH).map(RawAuth::Scheme);
    };
    let form = sym::auth_forms_text();
    let mut inner = split_commas(group.stream()).into_iter();
    let (Some(first), None) = (inner.next(), inner.next()) else {
        return Err(syn::Error::new_spanned(
            entry.tokens(),
            format!("expected {form}"),
        ));
    };
    let Some(inner) = entries_quiet(first) else {
        return Err(syn::Error::new_spanned(
            entry.tokens(),
            format!("expected {form}"),
        ));
    };
    let name = match &inner.value {
        Value::Flag => None,
        Value::Eq(_) => Some(lit_str(&inner, sym::AUTH)?),
        Value::List(_) => {
            return Err(syn::Error::new_spanned(
                inner.tokens(),
                format!("expected {form}"),
            ));
        }
    };
    let key = inner.key;
    match key.to_string().as_str() {
        sym::AUTH_HEADER => Ok(RawAuth::Header { key, name }),
        sym::AUTH_QUERY => Ok(RawAuth::Query { key, name }),
        sym::AUTH_SIGV4 => Ok(RawAuth::SigV4 { key, name }),
        other => {
            let named: Vec<&str> = sym::AUTH_FORMS
                .iter()
                .filter(|f| matches!(f.shape, sym::AuthShape::Named { .. }))
                .map(|f| f.name)
                .collect();
            Err(syn::Error::new_spanned(
                &key,
                format!(
                    "unknown auth form `{other}(...)`{}; expected {form}",
                    suggest::hint(other, &named)
                ),
            ))
        }
    }
}

/// One entry from `tokens`, or `None` if it is not `key`, `key = v` or `key(...)`.
fn entries_quiet(tokens: Vec<TokenTree>) -> Option<Entry> {
    let cx = Ctxt::new();
    let mut parsed = entries(&cx, tokens.into_iter().collect());
    let ok = cx.check().is_ok() && parsed.len() == 1;
    ok.then(|| parsed.remove(0))
}

#[cfg(test)]
mod tests;
