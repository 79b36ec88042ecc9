//! `#[derive(Type)]`: `weir::Encode` and `weir::Decode` for a user type, either an enum of
//! unit variants (stored as text: each variant's label) or a newtype (stored as its field).
//!
//! ```text
//! #[derive(weir::Type)]
//! #[weir(rename_all = "snake_case")]   // labels: "in_stock", "sold_out", "gone"
//! enum Stock {
//!     InStock,
//!     SoldOut,
//!     #[weir(rename = "gone")]
//!     Discontinued,
//! }
//!
//! #[derive(weir::Type)]
//! struct UserId(i64);                   // binds and reads exactly as an i64
//! ```

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote_spanned, Data, DataEnum, DeriveInput, Fields, Ident, LitStr};

use crate::attrs::{self, Derive, Errors};
use crate::from_row::{add_bound, GenericNames};
use crate::rename::column_name;

/// The whole derive, on a parsed input.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    match &input.data {
        Data::Enum(data) => expand_enum(input, data),
        Data::Struct(data) => expand_newtype(input, &data.fields),
        Data::Union(data) => Err(syn::Error::new(
            data.union_token.span,
            "Type can be derived only for enums of unit variants and structs of one field, \
             not unions",
        )),
    }
}

/// An enum whose variants carry no data: each is bound as its label (text) and read back from
/// one; any other text is a decode error that names the labels.
fn expand_enum(input: &DeriveInput, data: &DataEnum) -> syn::Result<TokenStream2> {
    let mut errors = Errors::default();
    let opts = attrs::parse_struct(&input.attrs, Derive::Enum, &mut errors);
    let rule = opts.rename_all.map(|(rule, _)| rule);
    if !input.generics.params.is_empty() {
        errors.push(syn::Error::new(
            input.generics.span(),
            "Type cannot be derived for a generic enum",
        ));
    }
    if data.variants.is_empty() {
        errors.push(syn::Error::new(
            input.ident.span(),
            "Type cannot be derived for an enum without variants: no label could be read",
        ));
    }
    let mut variants: Vec<(&Ident, LitStr)> = Vec::new();
    for variant in &data.variants {
        let opts = attrs::parse_field(&variant.attrs, Derive::Enum, &mut errors);
        let ident = &variant.ident;
        if !matches!(variant.fields, Fields::Unit) {
            errors.push(syn::Error::new(
                variant.fields.span(),
                format!(
                    "variant `{ident}` has fields: Type can be derived only for an enum whose \
                     variants have none (each is stored as its label)"
                ),
            ));
        }
        // Stored numbers would be a silent surprise: the derive stores names.
        if let Some((_, expr)) = &variant.discriminant {
            errors.push(syn::Error::new(
                expr.span(),
                "a derived Type stores the variant's label, not its discriminant: remove \
                 `= ...`, or implement Encode and Decode by hand to store numbers",
            ));
        }
        let label = column_name(ident, opts.rename.as_ref(), rule);
        if let Some((other, _)) = variants.iter().find(|(_, l)| l.value() == label.value()) {
            errors.push(syn::Error::new(
                label.span(),
                format!(
                    "label `{}` is already the label of variant `{other}`",
                    label.value()
                ),
            ));
        }
        variants.push((ident, label));
    }
    errors.finish()?;

    let name = &input.ident;
    let idents: Vec<&Ident> = variants.iter().map(|(ident, _)| *ident).collect();
    let labels: Vec<&LitStr> = variants.iter().map(|(_, label)| label).collect();
    Ok(quote! {
        #[automatically_derived]
        impl ::weir::Encode for #name {
            #[inline]
            fn encode(&self) -> ::weir::Param<'_> {
                ::weir::Param::Str(match self {
                    #(Self::#idents => #labels,)*
                })
            }
        }

        #[automatically_derived]
        impl ::weir::Decode for #name {
            fn decode(cell: ::weir::Param<'_>) -> ::std::result::Result<Self, ::std::string::String> {
                match ::weir::__private::label(cell)? {
                    #(#labels => ::std::result::Result::Ok(Self::#idents),)*
                    other => ::std::result::Result::Err(
                        ::weir::__private::unknown_label(other, &[#(#labels),*]),
                    ),
                }
            }
        }
    })
}

/// A struct of one field, encoded and decoded as that field's type: every method delegates,
/// so the fast paths of the field's type (`decode_value`, `decode_owned`) stay fast.
fn expand_newtype(input: &DeriveInput, fields: &Fields) -> syn::Result<TokenStream2> {
    let mut errors = Errors::default();
    attrs::parse_struct(&input.attrs, Derive::Newtype, &mut errors);
    for field in fields {
        attrs::parse_field(&field.attrs, Derive::Newtype, &mut errors);
    }
    let mut iter = fields.iter();
    let field = match (iter.next(), iter.next()) {
        (Some(field), None) => Some(field),
        _ => {
            let span = match fields {
                Fields::Unit => input.ident.span(),
                _ => fields.span(),
            };
            errors.push(syn::Error::new(
                span,
                format!(
                    "Type can be derived only for a struct of exactly one field (a newtype, \
                     stored as that field) or an enum of unit variants; `{}` has {}",
                    input.ident,
                    match fields.len() {
                        0 => "none".to_string(),
                        n => n.to_string(),
                    }
                ),
            ));
            None
        }
    };
    errors.finish()?;
    let Some(field) = field else {
        return Err(syn::Error::new(input.ident.span(), "not a newtype"));
    };

    let ty = &field.ty;
    let span = ty.span();
    let (access, wrap) = match &field.ident {
        Some(ident) => (quote!(#ident), quote!(|inner| Self { #ident: inner })),
        None => (quote!(0), quote!(Self)),
    };
    // Bounds only where the field's type mentions a generic parameter, each on its own impl.
    let names = GenericNames::new(&input.generics);
    let mut encode_generics = input.generics.clone();
    let mut decode_generics = input.generics.clone();
    if names.mentioned_in(ty) {
        add_bound(
            &mut encode_generics,
            ty,
            parse_quote_spanned!(span=> ::weir::Encode),
        );
        add_bound(
            &mut decode_generics,
            ty,
            parse_quote_spanned!(span=> ::weir::Decode),
        );
    }
    let name = &input.ident;
    let (impl_e, ty_e, where_e) = encode_generics.split_for_impl();
    let (impl_d, ty_d, where_d) = decode_generics.split_for_impl();
    let result = quote!(::std::result::Result<Self, ::std::string::String>);
    let field_ty = quote_spanned!(span=> <#ty as ::weir::Decode>);
    Ok(quote! {
        #[automatically_derived]
        impl #impl_e ::weir::Encode for #name #ty_e #where_e {
            #[inline]
            fn encode(&self) -> ::weir::Param<'_> {
                <#ty as ::weir::Encode>::encode(&self.#access)
            }
        }

        #[automatically_derived]
        impl #impl_d ::weir::Decode for #name #ty_d #where_d {
            #[inline]
            fn decode(cell: ::weir::Param<'_>) -> #result {
                ::std::result::Result::map(#field_ty::decode(cell), #wrap)
            }

            #[inline]
            fn decode_owned(bytes: ::std::vec::Vec<u8>, text: bool) -> #result {
                ::std::result::Result::map(#field_ty::decode_owned(bytes, text), #wrap)
            }

            #[inline]
            fn decode_value<'weir_value>(
                value: impl ::weir::ColumnValue<'weir_value>,
            ) -> #result {
                ::std::result::Result::map(#field_ty::decode_value(value), #wrap)
            }
        }
    })
}

#[cfg(test)]
mod tests;
