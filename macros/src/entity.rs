//! `#[derive(Entity)]`: implements `weir::repo::Entity` and `weir::FromRow` for a struct with
//! named fields.
//!
//! ```text
//! #[derive(weir::repo::Entity)]
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
//! The `FromRow` half is the `FromRow` derive's own expansion, run on a copy of the struct
//! whose `#[weir(...)]` attributes keep only what `FromRow` reads. That is also why an entity
//! must not derive `FromRow` as well: that derive rejects `table`, `primary_key`, ... (and
//! two impls would conflict anyway).

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, Attribute, Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::{
    column_name, expand_from_row, expect_flag, is_weir, path_name, string_value, Errors, RenameRule,
};

/// Options from `#[weir(...)]` on the struct.
#[derive(Default)]
struct EntityOpts {
    table: Option<LitStr>,
    rename_all: Option<(RenameRule, Span, LitStr)>,
}

/// Options from `#[weir(...)]` on a field.
#[derive(Default)]
struct EntityFieldOpts {
    rename: Option<LitStr>,
    default: Option<Span>,
    primary_key: Option<Span>,
    generated: Option<Span>,
    version: Option<Span>,
}

const FIELD_KEYS: [&str; 5] = ["rename", "default", "primary_key", "generated", "version"];

fn parse_entity_opts(attrs: &[Attribute], errors: &mut Errors) -> EntityOpts {
    let mut opts = EntityOpts::default();
    for attr in attrs.iter().filter(|a| is_weir(a)) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                let lit = string_value(&meta, "table")?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new(lit.span(), "table name must not be empty"));
                }
                if opts.table.is_some() {
                    return Err(meta.error("duplicate `table` attribute"));
                }
                opts.table = Some(lit);
                Ok(())
            } else if meta.path.is_ident("rename_all") {
                let lit = string_value(&meta, "rename_all")?;
                let rule = RenameRule::from_name(&lit.value()).ok_or_else(|| {
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "unknown rename_all rule `{}`; expected one of {}",
                            lit.value(),
                            RenameRule::expected()
                        ),
                    )
                })?;
                if opts.rename_all.is_some() {
                    return Err(meta.error("duplicate `rename_all` attribute"));
                }
                opts.rename_all = Some((rule, meta.path.span(), lit));
                Ok(())
            } else if FIELD_KEYS.iter().any(|k| meta.path.is_ident(k)) {
                Err(meta.error(format!(
                    "`{}` goes on a field, not on the struct",
                    path_name(&meta)
                )))
            } else {
                Err(meta.error(format!(
                    "unknown weir attribute `{}` on an entity; expected `table` or `rename_all`",
                    path_name(&meta)
                )))
            }
        });
        if let Err(err) = res {
            errors.push(err);
        }
    }
    opts
}

fn parse_entity_field_opts(attrs: &[Attribute], errors: &mut Errors) -> EntityFieldOpts {
    let mut opts = EntityFieldOpts::default();
    for attr in attrs.iter().filter(|a| is_weir(a)) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit = string_value(&meta, "rename")?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new(lit.span(), "column name must not be empty"));
                }
                if opts.rename.is_some() {
                    return Err(meta.error("duplicate `rename` attribute"));
                }
                opts.rename = Some(lit);
                return Ok(());
            }
            let slot = if meta.path.is_ident("default") {
                &mut opts.default
            } else if meta.path.is_ident("primary_key") {
                &mut opts.primary_key
            } else if meta.path.is_ident("generated") {
                &mut opts.generated
            } else if meta.path.is_ident("version") {
                &mut opts.version
            } else if meta.path.is_ident("table") || meta.path.is_ident("rename_all") {
                return Err(meta.error(format!(
                    "`{}` goes on the struct, not on a field",
                    path_name(&meta)
                )));
            } else {
                return Err(meta.error(format!(
                    "unknown weir attribute `{}` on an entity field; expected one of `rename`, \
                     `default`, `primary_key`, `generated`, `version`",
                    path_name(&meta)
                )));
            };
            let name = path_name(&meta);
            expect_flag(&meta, &name)?;
            if slot.is_some() {
                return Err(meta.error(format!("duplicate `{name}` attribute")));
            }
            *slot = Some(meta.path.span());
            Ok(())
        });
        if let Err(err) = res {
            errors.push(err);
        }
    }
    let conflict = |errors: &mut Errors, span: Option<Span>, msg: &str| {
        if let Some(span) = span {
            errors.push(syn::Error::new(span, msg));
        }
    };
    if opts.default.is_some() {
        if opts.rename.is_some() {
            conflict(
                errors,
                opts.rename.as_ref().map(LitStr::span),
                "`rename` and `default` conflict: a `default` field is no column",
            );
        }
        for (span, name) in [(opts.primary_key, "primary_key"), (opts.version, "version")] {
            conflict(
                errors,
                span,
                &format!("`{name}` and `default` conflict: a `default` field is no column"),
            );
        }
    }
    if opts.generated.is_some() && opts.primary_key.is_none() {
        conflict(
            errors,
            opts.generated,
            "`generated` marks a database-generated primary key: write \
             `#[weir(primary_key, generated)]`",
        );
    }
    if opts.version.is_some() && opts.primary_key.is_some() {
        conflict(
            errors,
            opts.version,
            "the version column cannot be the primary key",
        );
    }
    opts
}

/// One column of the entity.
struct Column<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    name: LitStr,
}

/// The whole derive, on a parsed input; errors become `compile_error!`s.
pub(crate) fn expand_entity(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            _ => {
                return Err(syn::Error::new(
                    input.ident.span(),
                    "Entity can be derived only for structs with named fields",
                ))
            }
        },
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                "Entity can be derived only for structs, not enums",
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                "Entity can be derived only for structs, not unions",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "Entity cannot be derived for a generic struct",
        ));
    }

    let mut errors = Errors::default();
    let opts = parse_entity_opts(&input.attrs, &mut errors);
    let rule = opts
        .rename_all
        .as_ref()
        .map(|(rule, span, _)| (*rule, *span));

    let mut columns: Vec<Column<'_>> = Vec::new();
    let mut key: Option<(usize, bool)> = None;
    let mut version: Option<usize> = None;
    let mut cleaned = input.clone();
    cleaned.attrs.retain(|a| !is_weir(a));
    if let Some((_, _, lit)) = &opts.rename_all {
        cleaned.attrs.push(parse_quote!(#[weir(rename_all = #lit)]));
    }
    let cleaned_fields: Vec<&mut syn::Field> = match &mut cleaned.data {
        Data::Struct(data) => data.fields.iter_mut().collect(),
        _ => Vec::new(),
    };

    for (field, cleaned_field) in fields.iter().zip(cleaned_fields) {
        let f = parse_entity_field_opts(&field.attrs, &mut errors);
        cleaned_field.attrs.retain(|a| !is_weir(a));
        if let Some(lit) = &f.rename {
            cleaned_field
                .attrs
                .push(parse_quote!(#[weir(rename = #lit)]));
        }
        if f.default.is_some() {
            cleaned_field.attrs.push(parse_quote!(#[weir(default)]));
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

    let from_row = expand_from_row(&cleaned)?;
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
        impl ::weir::repo::Entity for #name {
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
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand(input: DeriveInput) -> String {
        match expand_entity(&input) {
            Ok(tokens) => tokens.to_string(),
            Err(err) => panic!("unexpected error: {err}"),
        }
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    fn assert_error(input: DeriveInput, needle: &str) {
        let errs: Vec<String> = match expand_entity(&input) {
            Ok(tokens) => panic!("expected an error, got: {tokens}"),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        };
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "no error containing {needle:?} in {errs:?}"
        );
    }

    #[test]
    fn full_entity() {
        let out = squash(&expand(parse_quote! {
            #[weir(table = "users", rename_all = "camelCase")]
            struct User {
                #[weir(primary_key, generated)]
                user_id: i64,
                #[weir(rename = "e\"mail")]
                email: Option<String>,
                #[weir(version)]
                row_version: i32,
                #[weir(default)]
                cache: Vec<u8>,
            }
        }));
        assert!(out.contains("impl::weir::FromRowforUser"), "{out}");
        assert!(out.contains("impl::weir::repo::EntityforUser"), "{out}");
        assert!(out.contains("typeKey=i64;"), "{out}");
        assert!(out.contains(r#"constTABLE:&'staticstr="users";"#), "{out}");
        assert!(
            out.contains(r#"&["userId","e\"mail","rowVersion"]"#),
            "{out}"
        );
        assert!(out.contains(r#"PRIMARY_KEY:&'staticstr="userId""#), "{out}");
        assert!(out.contains("GENERATED_KEY:bool=true"), "{out}");
        assert!(out.contains(r#"Some("rowVersion")"#), "{out}");
        assert!(out.contains("self.row_version+=1;"), "{out}");
        assert!(!out.contains("self.cache"), "{out}");
        // FromRow reads the same names and leaves `default` fields alone.
        assert!(
            out.contains(
                r#"map.locate(&row,::weir::row::NameAt{name:"e\"mail",hint:1usize})?;row.try_take::<Option<String>,usize>(at)?"#
            ),
            "{out}"
        );
        assert!(out.contains(r#"name:"userId""#), "{out}");
        assert!(
            out.contains("<Vec<u8>as::std::default::Default>::default()"),
            "{out}"
        );
    }

    #[test]
    fn supplied_key_without_version() {
        let out = squash(&expand(parse_quote! {
            #[weir(table = "t")]
            struct T { #[weir(primary_key)] code: String, n: i32 }
        }));
        assert!(out.contains("GENERATED_KEY:bool=false"), "{out}");
        assert!(
            out.contains("VERSION:::std::option::Option<&'staticstr>=::std::option::Option::None"),
            "{out}"
        );
        assert!(out.contains("fnbump_version(&mutself){}"), "{out}");
        assert!(out.contains("typeKey=String;"), "{out}");
    }

    #[test]
    fn generated_code_parses() {
        let out = expand_entity(&parse_quote! {
            #[weir(table = "t")]
            pub struct T { #[weir(primary_key)] id: i64, #[weir(version)] v: i64 }
        })
        .unwrap();
        let file: syn::File = syn::parse2(out).unwrap();
        assert_eq!(file.items.len(), 2);
    }

    #[test]
    fn errors() {
        assert_error(
            parse_quote! { struct S { #[weir(primary_key)] id: i64 } },
            "missing `#[weir(table = \"...\")]`",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { id: i64 } },
            "no primary key",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key)] a: i64, #[weir(primary_key)] b: i64 } },
            "more than one `primary_key`",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key)] a: i64, #[weir(generated)] b: i64 } },
            "write `#[weir(primary_key, generated)]`",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key, version)] a: i64 } },
            "cannot be the primary key",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key)] a: i64, #[weir(version)] b: i64, #[weir(version)] c: i64 } },
            "more than one `version`",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key)] a: i64, #[weir(rename = "a")] b: i64 } },
            "column `a` is already the column of field `a`",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key, default)] a: i64 } },
            "`primary_key` and `default` conflict",
        );
        assert_error(
            parse_quote! { #[weir(table = "t", bogus)] struct S { #[weir(primary_key)] a: i64 } },
            "unknown weir attribute `bogus` on an entity",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key, table = "x")] a: i64 } },
            "`table` goes on the struct",
        );
        assert_error(
            parse_quote! { #[weir(table = "t", primary_key)] struct S { a: i64 } },
            "`primary_key` goes on a field",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S { #[weir(primary_key = true)] a: i64 } },
            "`primary_key` takes no value",
        );
        assert_error(
            parse_quote! { #[weir(table = "")] struct S { #[weir(primary_key)] a: i64 } },
            "table name must not be empty",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S(i64); },
            "structs with named fields",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] enum E { A } },
            "not enums",
        );
        assert_error(
            parse_quote! { #[weir(table = "t")] struct S<T> { #[weir(primary_key)] a: T } },
            "generic struct",
        );
    }
}
