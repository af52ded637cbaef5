//! Code generation for a declaration that passed every check: data and glue
//! only; the logic lives in the runtime.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned as _;

use crate::ctxt::Ctxt;
use crate::fallback;
use crate::model::{
    self, Auth, Capability, Declaration, ErrorMatch, ErrorTable, Item, Quirks, Shape,
};

/// The whole derive: the expansion, or every error plus the fallback.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let built = crate::build::build(&cx, input);
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
    let map_error = map_error(&p, decl);
    let rewrite = rewrite(&p, decl);
    // Delegation is structural: the wire is the dialect, or the struct itself
    // when the author implements `Transform`. `type Wire = Name` carries the
    // struct's span, so a missing impl is one error on the struct with the
    // trait's `on_unimplemented` message.
    let wire = match &decl.dialect {
        Some(dialect) => dialect_wire(&p, dialect),
        None => own_wire(ident),
    };
    let markers = decl
        .capabilities
        .iter()
        .filter_map(|cap| cap.marker())
        .map(|marker| marker_impl(item, marker));
    let (config_alias, constructors) = config(item, Some(decl.shape), &decl.name);
    let served = decl
        .dialect
        .as_ref()
        .map(|dialect| served(&p, dialect, &decl.capability_spans));

    quote! {
        #config_alias

        const _: () = {
            #[automatically_derived]
            impl #p::Provider for #ident {
                const SPEC: #p::ProviderSpec = #spec;
                #wire
                #rewrite
                #map_error
            }

            #(#markers)*

            #served

            #constructors
        };
    }
}

/// `map_error`: the declared `error = path` (coerced to `MapErrorFn`, so a
/// mapper of another shape is an error naming the signature), then the
/// declared `errors(...)` table over it. Neither: the trait's default.
fn map_error(p: &TokenStream, decl: &Declaration) -> Option<TokenStream> {
    if decl.error.is_none() && decl.errors.is_none() {
        return None;
    }
    let base = match &decl.error {
        Some(path) => {
            let typed = quote_spanned!(path.span()=> let mapper: #p::MapErrorFn = #path;);
            quote!({ #typed mapper(status, headers, body) })
        }
        None => quote!(#p::Transform::classify_error(
            #p::Provider::wire(self),
            status,
            headers,
            body
        )),
    };
    let body = match &decl.errors {
        Some(table) => {
            let table = error_table(p, table);
            quote! {
                const ERRORS: #p::ErrorTable = #table;
                ERRORS.apply(status, body, #base)
            }
        }
        None => base,
    };
    Some(quote! {
        fn map_error(&self, status: u16, headers: &#p::HeaderMap, body: &[u8]) -> #p::Error {
            #body
        }
    })
}

/// The `ErrorTable` constant of `errors(...)`.
fn error_table(p: &TokenStream, table: &ErrorTable) -> TokenStream {
    let rules = table.rows.iter().map(|row| {
        let kind = format_ident!("{}", row.variant);
        let kind = quote!(#p::ErrorKind::#kind);
        let rule = match &row.on {
            ErrorMatch::Status(status) => quote!(#p::ErrorRule::status(#status, #kind)),
            ErrorMatch::Type(name) => quote!(#p::ErrorRule::error_type(#name, #kind)),
        };
        match row.retry {
            Some(retry) => quote!(#rule.retry(#retry)),
            None => rule,
        }
    });
    let type_field = table
        .type_field
        .as_ref()
        .map(|field| quote!(.type_field(#field)));
    quote!(#p::ErrorTable::new(&[#(#rules),*]) #type_field)
}

/// `rewrite_request`: the JSON edit of `rewrite_json`, then the `rewrite`
/// of the parts. Each path is coerced to its fn-pointer type, spanned on the
/// path, so a hook of another shape is one error naming the signature.
fn rewrite(p: &TokenStream, decl: &Declaration) -> Option<TokenStream> {
    if decl.rewrite.is_none() && decl.rewrite_json.is_none() {
        return None;
    }
    let json = decl.rewrite_json.as_ref().map(|path| {
        let typed = quote_spanned!(path.span()=> let edit: #p::RewriteJsonFn<Self> = #path;);
        quote! {
            #typed
            parts.edit_json(|body| edit(self, body, operation, ctx))?;
        }
    });
    let bytes = match &decl.rewrite {
        Some(path) => {
            let typed = quote_spanned!(path.span()=> let rewrite: #p::RewriteFn<Self> = #path;);
            quote!({ #typed rewrite(self, parts, operation, ctx) })
        }
        None => quote!(#p::core::result::Result::Ok(parts)),
    };
    let binding = if json.is_some() {
        quote!(mut parts)
    } else {
        quote!(parts)
    };
    Some(quote! {
        fn rewrite_request(
            &self,
            #binding: #p::HttpParts,
            operation: #p::Operation,
            ctx: &#p::RequestContext<'_>,
        ) -> #p::Result<#p::HttpParts> {
            #json
            #bytes
        }
    })
}

/// A compile-time assertion per written capability that the dialect serves
/// it (`Transform::SERVES`), spanned on the capability's name, so
/// `dialect = anthropic, capabilities(embeddings)` fails to compile there.
/// The default `chat, stream` is served by every dialect (`dialects/serves.rs`
/// in the runtime checks each dialect's set against what it does).
fn served(
    p: &TokenStream,
    dialect: &Ident,
    capabilities: &[(Capability, Option<proc_macro2::Span>)],
) -> TokenStream {
    let checks = capabilities
        .iter()
        .filter_map(|(cap, span)| Some((cap, (*span)?)))
        .map(|(cap, span)| {
            let variant = format_ident!("{}", cap.variant());
            let message = format!(
                "the `{dialect}` dialect cannot serve `{}`: remove it from `capabilities(...)`, or implement `Transform` for a wire that can",
                cap.name()
            );
            let check = quote! {
                const _: () = if !<#p::dialect::#dialect as #p::Transform>::SERVES
                    .contains(#p::Capability::#variant)
                {
                    #p::core::panic!(#message)
                };
            };
            respan(check, span)
        });
    quote!(#(#checks)*)
}

/// `tokens` with every token at `span`: the compiler reports an error in
/// them (a failed const evaluation) there.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// The `ProviderSpec` expression: `ProviderSpec::new`, then each declared field.
fn spec(decl: &Declaration) -> TokenStream {
    let p = model::private(&decl.item.krate);
    let option = |value: Option<TokenStream>| option_tokens(&p, value);
    let name = &decl.name;
    let base_url = &decl.base_url.url;
    let auth = auth_scheme(&p, &decl.auth);
    let api_key_env = option(decl.api_key_env.as_ref().map(|env| quote!(#env)));
    let base_url_env = option(decl.base_url_env.as_ref().map(|env| quote!(#env)));
    let headers = decl
        .headers
        .iter()
        .map(|(name, value)| quote!((#name, #value)));
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
    let dialect = option(decl.dialect.as_ref().map(|d| {
        let d = d.to_string();
        quote!(#d)
    }));
    let docs = option(decl.docs.as_ref().map(|d| quote!(#d)));
    let quirks = quirk_fields(&p, &decl.quirks);
    // Field by field on `ProviderSpec::new`: the spec is `#[non_exhaustive]`,
    // so a field the runtime adds later keeps its default here.
    quote! {
        {
            let mut spec = #p::ProviderSpec::new(#name, #base_url);
            spec.auth = #auth;
            spec.api_key_env = #api_key_env;
            spec.base_url_env = #base_url_env;
            spec.headers = &[#(#headers),*];
            spec.timeout_secs = #timeout_secs;
            spec.models = &[#(#models),*];
            spec.default_model = #default_model;
            spec.capabilities = #p::Capabilities::of(&[#(#capabilities),*]);
            spec.health = #health;
            spec.allow_http = #allow_http;
            spec.dialect = #dialect;
            spec.docs = #docs;
            #quirks
            spec
        }
    }
}

/// `Some(value)` or `None`, by absolute path.
fn option_tokens(p: &TokenStream, value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(value) => quote!(#p::core::option::Option::Some(#value)),
        None => quote!(#p::core::option::Option::None),
    }
}

fn auth_scheme(p: &TokenStream, auth: &Auth) -> TokenStream {
    match auth {
        Auth::None => quote!(#p::AuthScheme::None),
        Auth::Bearer => quote!(#p::AuthScheme::Bearer),
        Auth::Header(header) => quote!(#p::AuthScheme::Header(#header)),
        Auth::Query(query) => quote!(#p::AuthScheme::Query(#query)),
        Auth::SigV4(service) => quote!(#p::AuthScheme::SigV4 { service: #service }),
        Auth::Token => quote!(#p::AuthScheme::Token),
    }
}

/// The assignments of the `ProviderSpec` fields that say where the host differs from its wire format.
fn quirk_fields(p: &TokenStream, quirks: &Quirks) -> TokenStream {
    let unsupported = quirks.unsupported.iter().map(|variant| {
        let variant = format_ident!("{}", variant);
        quote!(#p::Param::#variant)
    });
    let max_tokens_field = format_ident!("{}", quirks.max_tokens_field.unwrap_or("ByModel"));
    let stream_options = !quirks.no_stream_options;
    let url_vars = quirks.url_vars.iter().map(|(n, v)| quote!((#n, #v)));
    let env_headers = quirks.env_headers.iter().map(|(n, v)| quote!((#n, #v)));
    let models_path = option_tokens(p, quirks.models_path.as_ref().map(|m| quote!(#m)));
    quote! {
        spec.unsupported_params = #p::Params::of(&[#(#unsupported),*]);
        spec.max_tokens_field = #p::MaxTokensField::#max_tokens_field;
        spec.stream_options = #stream_options;
        spec.url_vars = &[#(#url_vars),*];
        spec.env_headers = &[#(#env_headers),*];
        spec.models_path = #models_path;
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

/// Delegation is structural: `dialect = x` makes the wire that dialect, and
/// the runtime calls every `Transform` method through it.
pub(crate) fn dialect_wire(p: &TokenStream, dialect: &Ident) -> TokenStream {
    quote! {
        type Wire = #p::dialect::#dialect;
        fn wire(&self) -> &Self::Wire {
            &#p::dialect::#dialect
        }
    }
}

/// Without a dialect the struct is its own wire. `type Wire = Name` carries
/// the struct's span, so a missing `Transform` impl is one error on the
/// struct with the trait's `on_unimplemented` message.
pub(crate) fn own_wire(ident: &Ident) -> TokenStream {
    quote! {
        type Wire = #ident;
        fn wire(&self) -> &Self::Wire {
            self
        }
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
         headers, timeout and retries, read from the environment with `with_env()`.\n\n \
         Precedence: a builder call beats the environment, which beats the declaration, \
         whatever the order of the calls (`with_env()` fills only what no builder call set); \
         contradictions are `Config` errors before any network call. The table of every \
         setting is on `ProviderConfig`."
    );
    let config_doc = format!(
        " A configuration builder for `{name}` with the declared defaults and nothing read from the environment."
    );
    let from_env_doc = format!(
        " A `{name}` client configured from the declared environment variables \
         (`config().with_env()?.connect()`)."
    );
    let value = match shape {
        Some(Shape::Unit) => quote!(#ident),
        Some(Shape::Named) => {
            quote_spanned!(ident.span()=> <#ident as #p::core::default::Default>::default())
        }
        None => quote!(),
    };
    let (config_body, from_env_body) = if shape.is_some() {
        (
            quote!(#p::ProviderConfig::new(#value)),
            quote!(#p::ProviderConfig::new(#value).with_env()?.connect()),
        )
    } else {
        let failed = quote!(#p::core::panic!("`#[derive(Provider)]` failed"));
        (failed.clone(), failed)
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
                #config_body
            }

            #[doc = #from_env_doc]
            ///
            /// # Errors
            ///
            /// A `Config` error when a declared variable is missing or invalid.
            #vis fn from_env() -> #p::Result<#p::ProviderClient<#ident>> {
                #from_env_body
            }
        }
    };
    (alias_item, constructors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expanded(input: DeriveInput) -> String {
        derive(&input).to_string()
    }

    #[test]
    fn dialect_provider() {
        let out = expanded(parse_quote! {
            #[provider(name = "groq", base_url = "https://api.groq.com/openai/v1", auth = "bearer",
                       env = "GROQ_API_KEY", capabilities(chat, tools), dialect = openai,
                       error = errors::map)]
            pub struct Groq;
        });
        for expected in [
            "pub type GroqConfig = :: llm_runtime :: __private :: ProviderConfig < Groq >",
            "impl :: llm_runtime :: __private :: Provider for Groq",
            "spec . api_key_env = :: llm_runtime :: __private :: core :: option :: Option :: Some (\"GROQ_API_KEY\") ;",
            "type Wire = :: llm_runtime :: __private :: dialect :: openai ;",
            "impl :: llm_runtime :: __private :: SupportsTools for Groq { }",
            "let mapper : :: llm_runtime :: __private :: MapErrorFn = errors :: map ;",
            "pub fn from_env ()",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
        assert!(!out.contains("SupportsStreaming"), "stream is not declared");
    }

    #[test]
    fn quirks_are_data() {
        let out = expanded(parse_quote! {
            #[provider(name = "cf", base_url = "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
                       auth = "bearer", url_vars(account_id = "CLOUDFLARE_ACCOUNT_ID"), dialect = openai,
                       unsupported(seed, tool_choice), max_tokens_field = "max_tokens", stream_options = false,
                       models_path = "/models/search", env_headers("x-extra" = "CF_EXTRA"),
                       docs = "https://developers.cloudflare.com/workers-ai/")]
            pub struct Cf;
        });
        for expected in [
            "ProviderSpec :: new (\"cf\" , \"https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1\")",
            "spec . dialect = :: llm_runtime :: __private :: core :: option :: Option :: Some (\"openai\") ;",
            "spec . unsupported_params = :: llm_runtime :: __private :: Params :: of (& [:: llm_runtime :: __private :: Param :: Seed , :: llm_runtime :: __private :: Param :: ToolChoice]) ;",
            "spec . max_tokens_field = :: llm_runtime :: __private :: MaxTokensField :: MaxTokens ;",
            "spec . stream_options = false ;",
            "spec . url_vars = & [(\"account_id\" , \"CLOUDFLARE_ACCOUNT_ID\")] ;",
            "spec . env_headers = & [(\"x-extra\" , \"CF_EXTRA\")] ;",
            "spec . models_path = :: llm_runtime :: __private :: core :: option :: Option :: Some (\"/models/search\") ;",
        ] {
            assert!(out.contains(expected), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn settings_and_own_transform() {
        let out = expanded(parse_quote! {
            #[provider(crate = "sdk::llm", name = "azure", base_url = "https://x.dev", auth(header = "api-key"))]
            pub(crate) struct Azure { version: String }
        });
        assert!(out.contains(
            "pub (crate) type AzureConfig = sdk :: llm :: __private :: ProviderConfig < Azure >"
        ));
        assert!(out.contains(
            "< Azure as sdk :: llm :: __private :: core :: default :: Default > :: default ()"
        ));
        assert!(out.contains("impl sdk :: llm :: __private :: SupportsStreaming for Azure { }"));
        assert!(out.contains("type Wire = Azure ;"));
    }

    #[test]
    fn errors_come_with_a_fallback() {
        let out = expanded(parse_quote! {
            #[provider(name = "groq", base_url = "https://x.dev", auth = "barer", dialect = opnai)]
            pub struct Groq;
        });
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(out.contains("ProviderSpec :: new (\"invalid\""));
        assert!(out.contains("dialect :: openai"));
        let generic = expanded(parse_quote!(
            #[provider(name = "g")]
            struct G<T>(T);
        ));
        assert!(
            !generic.contains("impl"),
            "no fallback for a generic struct: {generic}"
        );
    }
}
