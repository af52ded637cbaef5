//! The item the derive is on: a unit struct or a struct of named settings.

use syn::{Data, DeriveInput, Fields, Generics};

use crate::model::Shape;

const ACCEPTED: &str =
    "declare a unit struct (`pub struct Groq;`) or a struct with named settings fields";

/// A unit struct or a struct with named fields; enums, unions and tuple
/// structs are errors spanned on their keyword or fields.
pub(crate) fn data_shape(input: &DeriveInput) -> syn::Result<Shape> {
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Unit => Ok(Shape::Unit),
            Fields::Named(_) => Ok(Shape::Named),
            Fields::Unnamed(fields) => Err(syn::Error::new_spanned(
                fields,
                format!("`#[derive(Provider)]` does not support tuple structs; {ACCEPTED}"),
            )),
        },
        Data::Enum(data) => Err(syn::Error::new_spanned(
            data.enum_token,
            format!("`#[derive(Provider)]` needs a struct, found an enum; {ACCEPTED}"),
        )),
        Data::Union(data) => Err(syn::Error::new_spanned(
            data.union_token,
            format!("`#[derive(Provider)]` needs a struct, found a union; {ACCEPTED}"),
        )),
    }
}

/// No type, lifetime or const parameters and no where clause: the spec is one
/// constant per type, so a generic provider has nothing sound to mean.
pub(crate) fn no_generics(generics: &Generics) -> syn::Result<()> {
    if !generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            generics,
            "a provider cannot be generic: its declaration is one constant per type; declare one struct per provider",
        ));
    }
    if let Some(where_clause) = &generics.where_clause {
        return Err(syn::Error::new_spanned(
            where_clause,
            "a provider cannot have a where clause: its declaration is one constant per type",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn shapes() {
        assert!(matches!(
            data_shape(&parse_quote!(
                struct A;
            )),
            Ok(Shape::Unit)
        ));
        assert!(matches!(
            data_shape(&parse_quote!(
                struct A {
                    v: u8,
                }
            )),
            Ok(Shape::Named)
        ));
        let tuple = data_shape(&parse_quote!(
            struct A(u8);
        ))
        .err()
        .unwrap();
        assert!(tuple.to_string().contains("tuple structs"));
        let enum_ = data_shape(&parse_quote!(
            enum A {
                B,
            }
        ))
        .err()
        .unwrap();
        assert!(enum_.to_string().contains("found an enum"));
        let union_ = data_shape(&parse_quote!(union A { b: u8 })).err().unwrap();
        assert!(union_.to_string().contains("found a union"));
    }

    #[test]
    fn generics() {
        let input: DeriveInput = parse_quote!(
            struct A;
        );
        assert!(no_generics(&input.generics).is_ok());
        let input: DeriveInput = parse_quote!(
            struct A<T>(T);
        );
        assert!(no_generics(&input.generics).is_err());
        let input: DeriveInput = parse_quote!(
            struct A<'a> {
                s: &'a str,
            }
        );
        assert!(no_generics(&input.generics).is_err());
        let input: DeriveInput = parse_quote!(
            struct A
            where
                u8: Copy;
        );
        assert!(no_generics(&input.generics).is_err());
    }
}
