//! Check the quirk keys and assemble [`Quirks`].

use syn::Ident;

use crate::attr::Attrs;
use crate::check;
use crate::ctxt::Ctxt;
use crate::model::{Auth, Capability, Quirks};

/// What the quirk rules need from the rest of the declaration.
pub(super) struct Context<'a> {
    /// The dialect, when one valid dialect was declared.
    pub(super) dialect: Option<&'a Ident>,
    /// Whether `dialect` was written at all (a bad one is reported once, there).
    pub(super) dialect_written: bool,
    pub(super) capabilities: &'a [Capability],
    /// The `{placeholder}` names of `base_url`.
    pub(super) placeholders: &'a [String],
    /// The checked static headers.
    pub(super) headers: &'a [(String, String)],
    pub(super) auth: Option<&'a Auth>,
}

pub(super) fn quirks(cx: &Ctxt, attrs: &Attrs, ctx: Context<'_>) -> Quirks {
    // A misspelt dialect is already an error; "no effect without a dialect" would be a second one.
    let wire_known = ctx.dialect.is_some() || !ctx.dialect_written;
    let mut quirks = Quirks::default();
    for ident in attrs.unsupported.as_ref().map_or(&[][..], |u| &u.value) {
        let variant = cx.ok(check::unsupported_param(ident).and_then(|variant| {
            check::repeated_param(ident, variant, &quirks.unsupported)?;
            Ok(variant)
        }));
        quirks.unsupported.extend(variant);
    }
    if let Some(field) = &attrs.max_tokens_field {
        if wire_known {
            cx.ok(check::openai_wire_only(&field.key, ctx.dialect));
        }
        quirks.max_tokens_field = cx.ok(check::max_tokens_field(&field.value));
    }
    if let Some(flag) = &attrs.stream_options {
        if wire_known {
            cx.ok(check::openai_wire_only(&flag.key, ctx.dialect));
        }
        cx.ok(check::stream_options_effect(flag, ctx.capabilities));
        quirks.no_stream_options = !flag.value.value();
    }
    if let Some(path) = &attrs.models_path {
        cx.ok(check::models_path_effect(&path.key, ctx.dialect));
        quirks.models_path = cx.ok(check::models_path(&path.value));
    }
    url_vars(cx, attrs, &ctx, &mut quirks);
    env_headers(cx, attrs, &ctx, &mut quirks);
    quirks
}

fn url_vars(cx: &Ctxt, attrs: &Attrs, ctx: &Context<'_>, quirks: &mut Quirks) {
    let mut declared: Vec<String> = Vec::new();
    for (name, var) in attrs.url_vars.as_ref().map_or(&[][..], |u| &u.value) {
        let ok_name = cx
            .ok(check::url_var_name(name, ctx.placeholders, &declared))
            .is_some();
        // A misspelt name was reported with its suggestion: do not report the
        // placeholder it meant as undeclared as well.
        let names: Vec<&str> = ctx.placeholders.iter().map(String::as_str).collect();
        let meant = check::suggest::did_you_mean(&name.to_string(), &names).map(str::to_owned);
        declared.extend(meant.filter(|_| !ok_name));
        declared.push(name.to_string());
        if let (true, Some(var)) = (ok_name, cx.ok(check::env_var(var))) {
            quirks.url_vars.push((name.to_string(), var));
        }
    }
    if let Some(base_url) = &attrs.base_url {
        cx.ok(check::undeclared_placeholder(
            &base_url.value,
            ctx.placeholders,
            &declared,
        ));
    }
}

fn env_headers(cx: &Ctxt, attrs: &Attrs, ctx: &Context<'_>, quirks: &mut Quirks) {
    let mut names: Vec<String> = ctx.headers.iter().map(|(name, _)| name.clone()).collect();
    for (name_lit, var_lit) in attrs.env_headers.as_ref().map_or(&[][..], |h| &h.value) {
        // One error per header name: the first rule it breaks.
        let name = cx.ok(check::header_name(name_lit).and_then(|name| {
            check::client_managed(&name, name_lit)?;
            if let Some(auth) = ctx.auth {
                check::set_by_auth(&name, name_lit, auth).map_err(|e| {
                    let message = e
                        .to_string()
                        .replace("`headers(...)`", "`env_headers(...)`");
                    syn::Error::new(e.span(), message)
                })?;
            }
            check::repeated_header(&name, name_lit, &names)?;
            Ok(name)
        }));
        let var = cx.ok(check::env_var(var_lit));
        if let Some(name) = &name {
            names.push(name.clone());
        }
        if let (Some(name), Some(var)) = (name, var) {
            quirks.env_headers.push((name, var));
        }
    }
}
