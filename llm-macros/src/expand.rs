//! Code generation for a declaration that passed every check: data and glue
//! only; the logic lives in the runtime.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;

use crate::ctxt::Ctxt;
use crate::fallback;
use crate::model::{self, Auth, Declaration, Item, Shape};

/// The whole derive: the expansion, or every error plus the fallback.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let built = model::build(&cx, input);
    match (cx.check(), built) {
        (Ok(()), Ok(declaration)) => expand(&declaration),
        (Err(errors), Ok(declaration)) => {
            // Not reached (`build` fails whenever an error was recorded), but an
            // error must never be dropped.
            let fallback = fallback::fallback(&declaration.item);
            let errors = errors.to_compile_error();
            quote!(#errors #fallback)
        }
        (result, Err(item)) => {
            let errors = result.err().map(|e| e.to_compile_error());
            let fallback = fallback::fallback(&item);
            quote!(#errors #fallback)
        }
    }
}

fn expand(decl: &Declaration) -> TokenStream {
    let item = &decl.item;
    let ident = &item.ident;
    let p = model::private(&item.krate);
    let spec = spec(decl);
    let map_error = decl.error.as_ref().map(|path| {
        quote! {
            fn map_error(&self, status: u16, headers: &#p::HeaderMap, body: &[u8]) -> #p::Error {
                #path(status, headers, body)
            }
        }
    });
    let transform = match &decl.dialect {
        Some(dialect) => quote!(#p::delegate_transform!(#ident, #p::dialect::#dialect);),
        None => assert_transform(item),
    };
    let markers = decl
        .capabilities
        .iter()
        .filter_map(|cap| cap.marker())
        .map(|marker| marker_impl(item, marker));
    let (config_alias, constructors) = config(item, Some(decl.shape), &decl.name);

    quote! {
        #config_alias

        const _: () = {
            #[automatically_derived]
            impl #p::Provider for #ident {
                const SPEC: #p::ProviderSpec = #spec;
                #map_error
            }

            #transform

            #(#markers)*

            #constructors
        };
    }
}

/// The `ProviderSpec` literal.
fn spec(decl: &Declaration) -> TokenStream {
    let p = model::private(&decl.item.krate);
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(#p::core::option::Option::Some(#value)),
        None => quote!(#p::core::option::Option::None),
    };
    let name = &decl.name;
    let base_url = &decl.base_url.url;
    let auth = match &decl.auth {
        Auth::None => quote!(#p::AuthScheme::None),
        Auth::Bearer => quote!(#p::AuthScheme::Bearer),
        Auth::Header(header) => quote!(#p::AuthScheme::Header(#header)),
        Auth::Query(query) => quote!(#p::AuthScheme::Query(#query)),
    };
    let api_key_env = option(decl.api_key_env.as_ref().map(|env| quote!(#env)));
    let base_url_env = option(decl.base_url_env.as_ref().map(|env| quote!(#env)));
    let headers = decl.headers.iter().map(|(name, value)| quote!((#name, #value)));
    let timeout_secs = option(decl.timeout_secs.map(|secs| quote!(#secs)));
    let models = &decl.models;
    let default_model = option(decl.default_model.as_ref().map(|model| quote!(#model)));
    let capabilities = decl.capabilities.iter().map(|cap| {
        let variant = format_ident!("{}", cap.variant());
        quote!(#p::Capability::#variant)
    });
    let health = option(decl.health.as_ref().map(|health| {
        let (method, path) = (&health.method, &health.path);
        quote!(#p::HealthProbe { method: #method, path: #path })
    }));
    let allow_http = decl.allow_http;
    quote! {
        #p::ProviderSpec {
            name: #name,
            base_url: #base_url,
            auth: #auth,
            api_key_env: #api_key_env,
            base_url_env: #base_url_env,
            headers: &[#(#headers),*],
            timeout_secs: #timeout_secs,
            models: &[#(#models),*],
            default_model: #default_model,
            capabilities: #p::Capabilities::of(&[#(#capabilities),*]),
            health: #health,
            allow_http: #allow_http,
        }
    }
}

/// Without `dialect`, the author implements `Transform`: assert it with the
/// struct's span, so a missing impl is reported on the struct with the trait's
/// `#[diagnostic::on_unimplemented]` message.
pub(crate) fn assert_transform(item: &Item) -> TokenStream {
    let p = model::private(&item.krate);
    let ident = &item.ident;
    let assert = quote_spanned!(ident.span()=> __assert_transform::<#ident>);
    quote! {
        const _: () = {
            fn __assert_transform<T: #p::Transform>() {}
            let _ = #assert;
        };
    }
}

/// `impl SupportsX for Name {}`.
pub(crate) fn marker_impl(item: &Item, marker: &str) -> TokenStream {
    let p = model::private(&item.krate);
    let ident = &item.ident;
    let marker = format_ident!("{}", marker);
    quote! {
        #[automatically_derived]
        impl #p::#marker for #ident {}
    }
}

/// The `{Name}Config` alias (outside the const block, so it is nameable) and
/// the inherent `config()` / `from_env()`. With `shape` unknown (the item is
/// not a struct) the bodies only need to type-check: the compile fails anyway.
pub(crate) fn config(item: &Item, shape: Option<Shape>, name: &str) -> (TokenStream, TokenStream) {
    let p = model::private(&item.krate);
    let (ident, vis) = (&item.ident, &item.vis);
    let alias: Ident = format_ident!("{}Config", ident);
    let alias_doc = format!(
        " The configuration builder of the `{name}` provider [`{ident}`]: API key, base URL, \
         headers, timeout and retries, read from the environment with `with_env()`."
    );
    let config_doc = format!(
        " A configuration builder for `{name}` with the declared defaults and nothing read from the environment."
    );
    let from_env_doc = format!(" A `{name}` client configured from the declared environment variables.");
    let value = match shape {
        Some(Shape::Unit) => quote!(#ident),
        Some(Shape::Named) => {
            quote_spanned!(ident.span()=> <#ident as #p::core::default::Default>::default())
        }
        None => quote!(#p::core::panic!("`#[derive(Provider)]` failed")),
    };
    let alias_item = quote! {
        #[doc = #alias_doc]
        #[allow(dead_code)]
        #vis type #alias = #p::ProviderConfig<#ident>;
    };
    let constructors = quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #ident {
            #[doc = #config_doc]
            #[must_use]
            #vis fn config() -> #alias {
                #p::ProviderConfig::new(#value)
            }

            #[doc = #from_env_doc]
            ///
            /// # Errors
            ///
            /// A `Config` error when a declared variable is missing or invalid.
            #vis fn from_env() -> #p::Result<#p::ProviderClient<#ident>> {
                #p::ProviderConfig::new(#value).with_env()?.connect()
            }
        }
    };
    (alias_item, constructors)
}
