//! `#[derive(Entity)]`: implements `weir::Entity` and `weir::FromRow` for a struct with
//! named fields.
//!
//! ```text
//! #[derive(weir::Entity)]
//! #[weir(table = "users", rename_all = "snake_case")]
//! struct User {
//!     #[weir(primary_key, generated)]   // the database makes the key; inserts leave it out
//!     id: i64,
//!     #[weir(rename = "e-mail")]
//!     email: String,
//!     #[weir(version)]                  // optimistic locking
//!     version: i64,
//!     #[weir(default)]                  // no column
//!     cache: Option<String>,
//! }
//! ```
//!
//! The `FromRow` half is the `FromRow` derive's own code generation, given the attributes
//! parsed here. An entity must not derive `FromRow` as well: that derive rejects `table`,
//! `primary_key`, ... (and two impls would conflict anyway).

use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Fields, Ident, LitStr, Type};

use crate::attrs::{self, struct_fields, Derive, Errors, FieldAttrs};
use crate::from_row;
use crate::rename::column_name;

/// One column of the entity.
struct Column<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    name: LitStr,
}

/// The whole derive, on a parsed input.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = struct_fields(input, Derive::Entity)?;
    let Fields::Named(named) = fields else {
        return Err(syn::Error::new(
            input.ident.span(),
            "Entity can be derived only for structs with named fields",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "Entity cannot be derived for a generic struct",
        ));
    }

    let mut errors = Errors::default();
    let opts = attrs::parse_struct(&input.attrs, Derive::Entity, &mut errors);
    let rule = opts.rename_all.map(|(rule, _)| rule);
    let field_attrs: Vec<FieldAttrs> = named
        .named
        .iter()
        .map(|f| attrs::parse_field(&f.attrs, Derive::Entity, &mut errors))
        .collect();

    let mut columns: Vec<Column<'_>> = Vec::new();
    let mut key: Option<(usize, bool)> = None;
    let mut version: Option<usize> = None;
    for (field, f) in named.named.iter().zip(&field_attrs) {
        if f.default.is_some() {
            continue;
        }
        let Some(ident) = field.ident.as_ref() else {
            continue;
        };
        let name = column_name(ident, f.rename.as_ref(), rule);
        if let Some(other) = columns.iter().find(|c| c.name.value() == name.value()) {
            errors.push(syn::Error::new(
                ident.span(),
                format!(
                    "column `{}` is already the column of field `{}`",
                    name.value(),
                    other.ident
                ),
            ));
        }
        if let Some(span) = f.primary_key {
            if key.is_some() {
                errors.push(syn::Error::new(
                    span,
                    "more than one `primary_key`: an entity has a single-column key",
                ));
            }
            key = Some((columns.len(), f.generated.is_some()));
        }
        if let Some(span) = f.version {
            if version.is_some() {
                errors.push(syn::Error::new(span, "more than one `version` column"));
            }
            version = Some(columns.len());
        }
        columns.push(Column {
            ident,
            ty: &field.ty,
            name,
        });
    }
    if opts.table.is_none() {
        errors.push(syn::Error::new(
            input.ident.span(),
            "missing `#[weir(table = \"...\")]` on the entity",
        ));
    }
    if key.is_none() {
        errors.push(syn::Error::new(
            input.ident.span(),
            "no primary key: mark one field `#[weir(primary_key)]`",
        ));
    }
    errors.finish()?;
    let (Some(table), Some((key, generated))) = (opts.table, key) else {
        return Err(syn::Error::new(input.ident.span(), "incomplete entity"));
    };

    let from_row = from_row::generate(
        input,
        fields,
        opts.rename_all,
        &field_attrs,
        Errors::default(),
    )?;
    let name = &input.ident;
    let key_ident = columns[key].ident;
    let key_ty = columns[key].ty;
    let key_name = &columns[key].name;
    let names: Vec<&LitStr> = columns.iter().map(|c| &c.name).collect();
    let values = columns.iter().map(|c| {
        let (ident, ty) = (c.ident, c.ty);
        quote_spanned!(ty.span()=> <#ty as ::weir::Encode>::encode(&self.#ident))
    });
    let (version_name, bump) = match version {
        Some(v) => {
            let (lit, ident) = (&columns[v].name, columns[v].ident);
            (
                quote!(::std::option::Option::Some(#lit)),
                quote!(self.#ident += 1;),
            )
        }
        None => (quote!(::std::option::Option::None), quote!()),
    };

    Ok(quote! {
        #from_row

        #[automatically_derived]
        impl ::weir::Entity for #name {
            type Key = #key_ty;
            const TABLE: &'static str = #table;
            const COLUMNS: &'static [&'static str] = &[#(#names),*];
            const PRIMARY_KEY: &'static str = #key_name;
            const GENERATED_KEY: bool = #generated;
            const VERSION: ::std::option::Option<&'static str> = #version_name;

            fn key(&self) -> &Self::Key {
                &self.#key_ident
            }

            fn values(&self) -> ::std::vec::Vec<::weir::Param<'_>> {
                ::std::vec![#(#values),*]
            }

            fn bump_version(&mut self) {
                #bump
            }
        }
    })
}

#[cfg(test)]
mod tests;
