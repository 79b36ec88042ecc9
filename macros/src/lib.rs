//! Derive macros for [weir](https://docs.rs/weir).
//!
//! This crate provides `#[derive(FromRow)]`, which implements `weir::FromRow`
//! for a struct, `#[derive(Entity)]`, `#[derive(Type)]` (`weir::Encode` and
//! `weir::Decode` for an enum or a newtype) and `embed_migrations!`. Use them
//! through the `weir` crate (`weir::FromRow`, `weir::Entity`, `weir::Type`,
//! `weir::embed_migrations!`), not directly: the generated code refers to
//! `::weir` paths.
//!
//! ```text
//! use weir::FromRow;
//!
//! #[derive(FromRow)]
//! #[weir(rename_all = "camelCase")]       // optional: how field names become column names
//! struct User {
//!     id: i64,                              // column `id`
//!     display_name: String,                 // column `displayName`
//!     #[weir(rename = "e_mail")]
//!     email: Option<String>,                // column `e_mail` (rename wins over rename_all)
//!     r#type: String,                       // column `type`
//!     #[weir(default)]
//!     cached: Vec<u8>,                      // not read: `Default::default()`
//! }
//!
//! #[derive(FromRow)]
//! struct Pair(i64, String);                 // columns 0 and 1, by position
//! ```
//!
//! The derive generates, for `User` above:
//!
//! ```text
//! impl ::weir::FromRow for User {
//!     fn from_row(row: ::weir::Row) -> ::weir::Result<Self> {
//!         Self::from_row_mapped(row, &mut ::weir::__private::ColumnMap::default())
//!     }
//!
//!     // For the rows of one result, `map` remembers where the first row had each column.
//!     fn from_row_mapped(row: ::weir::Row, map: &mut ::weir::__private::ColumnMap) -> ::weir::Result<Self> {
//!         let mut row = row; // columns are taken out: MySQL strings are moved, not copied
//!         ::std::result::Result::Ok(Self {
//!             // Each column is looked for at its field's position first, then by name.
//!             id: {
//!                 let at = map.locate(&row, ::weir::__private::NameAt { name: "id", hint: 0 })?;
//!                 row.try_take::<i64, usize>(at)?
//!             },
//!             /* ... */
//!             cached: ::std::default::Default::default(),
//!         })
//!     }
//! }
//! ```
//!
//! # Attributes
//!
//! On the struct:
//!
//! * `#[weir(rename_all = "...")]`: converts every field name to a column
//!   name. One of `"snake_case"`, `"lowercase"`, `"UPPERCASE"`, `"camelCase"`,
//!   `"PascalCase"`, `"SCREAMING_SNAKE_CASE"`. Named-field structs only.
//!
//! On a field:
//!
//! * `#[weir(rename = "column")]`: reads that column (named-field structs only).
//! * `#[weir(default)]`: reads no column; the field is `Default::default()`.
//!   In a tuple struct the remaining fields are numbered over the fields that
//!   do read a column, so `struct P(i32, #[weir(default)] u8, String)` reads
//!   columns 0 and 1.
//!
//! `#[weir(flatten)]` is not supported and is rejected with an error.
//!
//! # Generics
//!
//! Generic parameters and lifetimes pass through unchanged. For each field
//! whose type mentions a generic parameter, the impl gets a
//! `FieldTy: ::weir::Decode` predicate (`FieldTy: ::std::default::Default`
//! for `#[weir(default)]` fields); no other bounds are added.
//!
//! # Errors
//!
//! Enums, unions, unknown or malformed `#[weir(...)]` attributes and
//! conflicting options are reported as compile errors at the offending
//! tokens; the macro never panics.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod attrs;
mod entity;
mod from_row;
mod migrations;
mod rename;
mod user_type;

/// Derives `weir::FromRow` for a struct.
///
/// Named fields are read by column name (the field name, without `r#`, after
/// `#[weir(rename_all = "...")]`, or `#[weir(rename = "...")]`); tuple-struct
/// fields by position. `#[weir(default)]` fields are not read and take
/// `Default::default()`. See the crate documentation for every attribute.
///
/// ```text
/// #[derive(weir::FromRow)]
/// #[weir(rename_all = "camelCase")]
/// struct User {
///     user_id: i64,               // column `userId`
///     #[weir(rename = "mail")]
///     email: Option<String>,      // column `mail`
///     #[weir(default)]
///     tags: Vec<String>,          // not read
/// }
/// ```
#[proc_macro_derive(FromRow, attributes(weir))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    from_row::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `weir::Entity` and `weir::FromRow` for a struct with named fields: derive
/// `Entity` alone, not `FromRow` as well.
///
/// ```text
/// #[derive(weir::Entity)]
/// #[weir(table = "users")]                // required; `rename_all` as for FromRow
/// struct User {
///     #[weir(primary_key, generated)]     // one key; `generated`: made by the database
///     id: i64,
///     #[weir(rename = "email_address")]
///     email: Option<String>,
///     #[weir(version)]                    // optional optimistic-locking column
///     version: i64,
///     #[weir(default)]                    // no column
///     cache: Option<String>,
/// }
/// ```
#[proc_macro_derive(Entity, attributes(weir))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    entity::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `weir::Encode` and `weir::Decode` for an enum of unit variants (stored as text, one
/// label per variant) or a struct of one field (stored as that field, with its fast paths).
///
/// ```text
/// #[derive(weir::Type)]
/// #[weir(rename_all = "snake_case")]      // optional; default: the variant name as written
/// enum Stock {
///     InStock,                            // label `in_stock`
///     #[weir(rename = "gone")]
///     Discontinued,                       // label `gone` (rename wins over rename_all)
/// }
///
/// #[derive(weir::Type)]
/// struct UserId(i64);                     // binds and reads as an i64
/// ```
///
/// A variant with fields, a discriminant (`= 1`: the label is stored, not the number), a
/// generic enum, two variants with one label and any other `#[weir(...)]` key are compile
/// errors; a newtype takes no `#[weir(...)]` keys.
#[proc_macro_derive(Type, attributes(weir))]
pub fn derive_type(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    user_type::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Embeds a folder of migration scripts (`<version>_<name>.up.sql`, optional
/// `<version>_<name>.down.sql`) in the binary, as a `&'static [weir::migrate::EmbeddedMigration]`
/// for `weir::migrate::Migrator::new`. The path is relative to the calling crate's
/// `CARGO_MANIFEST_DIR`; a folder that cannot be read is a compile error. The macro only lists
/// the folder's `.sql` files: `Migrator::new` reads their names, so a misnamed file, a version
/// used twice or a down script without its up script is the same `Error::Migration` that
/// `Migrator::from_dir` gives for the folder.
///
/// ```text
/// static MIGRATIONS: &[weir::migrate::EmbeddedMigration] =
///     weir::embed_migrations!("migrations/postgres");
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    // Outside cargo the variable is unset; the path is then relative to the compiler's cwd.
    let base = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    migrations::expand(std::path::Path::new(&base), input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
