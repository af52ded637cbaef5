//! One function per rule of the declaration. Each is a plain function on
//! `syn`/`proc_macro2` values returning a spanned `syn::Error`, so it is
//! unit-tested with `parse_quote!` and composed in `model.rs`.

mod auth;
mod headers;
mod names;
mod shape;
pub(crate) mod suggest;
mod url;
mod values;

pub(crate) use auth::{auth_scheme, env_without_key};
pub(crate) use headers::{client_managed, header_name, header_value, repeated_header, set_by_auth};
pub(crate) use names::{env_var, provider_name};
pub(crate) use shape::{data_shape, no_generics};
pub(crate) use url::{allow_http_effect, base_url, plain_http};
pub(crate) use values::{
    capability, crate_path, default_model, dialect, health, repeated_capability, repeated_model,
    timeout_secs,
};
