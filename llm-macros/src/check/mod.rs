//! One function per rule of the declaration. Each is a plain function on
//! `syn`/`proc_macro2` values returning a spanned `syn::Error`, so it is
//! unit-tested with `parse_quote!` and composed in `model.rs`.

mod auth;
mod errors;
mod headers;
mod names;
mod quirks;
mod shape;
pub(crate) mod suggest;
mod url;
mod values;

pub(crate) use auth::{auth_scheme, env_without_key};
pub(crate) use errors::error_table;
pub(crate) use headers::{client_managed, header_name, header_value, repeated_header, set_by_auth};
pub(crate) use names::{env_var, provider_name};
pub(crate) use quirks::{
    docs_url, max_tokens_field, models_path, models_path_effect, openai_wire_only, placeholders,
    repeated_param, stream_options_effect, undeclared_placeholder, unsupported_param, url_var_name,
};
pub(crate) use shape::{data_shape, no_generics};
pub(crate) use url::{allow_http_effect, base_url, plain_http};
pub(crate) use values::{
    capability, crate_path, default_model, dialect, health, repeated_capability, repeated_model,
    timeout_secs,
};
