//! The `#[derive(Provider)]` macro of llm-runtime (stub; being written).

use proc_macro::TokenStream;

/// Declares an LLM provider.
#[proc_macro_derive(Provider, attributes(provider))]
pub fn derive_provider(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
