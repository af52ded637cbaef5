//! What is emitted next to the errors: impls that keep the rest of the crate
//! type-checking, so one mistake in the attribute gives one error rather than
//! a cascade at every use of the provider.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand;
use crate::model::{self, DialectChoice, Item, Shape};

/// Every marker, so no call such as `embed()` fails after the real error.
const MARKERS: &[&str] = &[
    "SupportsStreaming",
    "SupportsTools",
    "SupportsVision",
    "SupportsReasoning",
    "SupportsEmbeddings",
];

/// A `Provider` impl with a placeholder spec, the config alias and
/// constructors, every capability marker, and, when a dialect was asked for
/// (even a misspelt one), the delegation to it or to `openai`. With no
/// dialect the author's own `Transform` impl is expected, so none is emitted
/// (it would conflict).
pub(crate) fn fallback(item: &Item) -> TokenStream {
    if item.no_fallback {
        return TokenStream::new();
    }
    let p = model::private(&item.krate);
    let ident = &item.ident;
    let transform = match &item.dialect {
        DialectChoice::Valid(dialect) => {
            quote!(#p::delegate_transform!(#ident, #p::dialect::#dialect);)
        }
        DialectChoice::Invalid => quote!(#p::delegate_transform!(#ident, #p::dialect::openai);),
        DialectChoice::Absent => TokenStream::new(),
    };
    // As in the expansion: without a dialect, a missing `Transform` is reported
    // once, on the `impl Provider`, not again on each marker.
    let assume_transform = matches!(item.dialect, DialectChoice::Absent)
        .then(|| quote!(where for<'__a> #ident: #p::Transform));
    let markers = MARKERS
        .iter()
        .map(|marker| expand::marker_impl(item, marker, assume_transform.as_ref()));
    // A settings struct may lack `Default`; that is reported once the attribute is fixed.
    let unit = item.shape.filter(|shape| *shape == Shape::Unit);
    let (config_alias, constructors) = expand::config(item, unit, "invalid");
    quote! {
        #config_alias

        const _: () = {
            #[automatically_derived]
            impl #p::Provider for #ident {
                const SPEC: #p::ProviderSpec = #p::ProviderSpec::new("invalid", "https://invalid.invalid");
            }

            #transform

            #(#markers)*

            #constructors
        };
    }
}
