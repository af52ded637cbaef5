//! What is emitted next to the errors: impls that keep the rest of the crate
//! type-checking, so one mistake in the attribute gives one error rather than
//! a cascade at every use of the provider.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand;
use crate::model::{self, Capability, DialectChoice, Item, Shape};

/// A `Provider` impl with a placeholder spec, the config alias and
/// constructors, every capability marker, and the wire: the dialect asked
/// for (`openai` for a misspelt one), or the author's own `Transform` impl.
pub(crate) fn fallback(item: &Item) -> TokenStream {
    if item.no_fallback {
        return TokenStream::new();
    }
    let p = model::private(&item.krate);
    let ident = &item.ident;
    let wire = match &item.dialect {
        DialectChoice::Valid(dialect) => expand::dialect_wire(&p, dialect),
        DialectChoice::Invalid => expand::dialect_wire(&p, &quote::format_ident!("openai")),
        DialectChoice::Absent => expand::own_wire(ident),
    };
    // Every marker, so no call such as `embed()` fails after the real error.
    let markers = Capability::ALL
        .iter()
        .filter_map(|cap| cap.marker())
        .map(|marker| expand::marker_impl(item, marker));
    // A settings struct may lack `Default`; that is reported once the attribute is fixed.
    let unit = item.shape.filter(|shape| *shape == Shape::Unit);
    let (config_alias, constructors) = expand::config(item, unit, "invalid");
    quote! {
        #config_alias

        const _: () = {
            #[automatically_derived]
            impl #p::Provider for #ident {
                const SPEC: #p::ProviderSpec = #p::ProviderSpec::new("invalid", "https://invalid.invalid");
                #wire
            }

            #(#markers)*

            #constructors
        };
    }
}
