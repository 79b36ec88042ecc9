//! Derive macros for [weir](https://docs.rs/weir).
//!
//! This crate provides `#[derive(FromRow)]`, which implements `weir::FromRow`
//! for a struct. Use it through the `weir` crate (`weir::FromRow`), not
//! directly: the generated code refers to `::weir::FromRow`, `::weir::Row`,
//! `::weir::Result` and `::weir::Decode`.
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
//!         Self::from_row_mapped(row, &mut ::weir::row::ColumnMap::default())
//!     }
//!
//!     // For the rows of one result, `map` remembers where the first row had each column.
//!     fn from_row_mapped(row: ::weir::Row, map: &mut ::weir::row::ColumnMap) -> ::weir::Result<Self> {
//!         let mut row = row; // columns are taken out: MySQL strings are moved, not copied
//!         ::std::result::Result::Ok(Self {
//!             // Each column is looked for at its field's position first, then by name.
//!             id: {
//!                 let at = map.locate(&row, ::weir::row::NameAt { name: "id", hint: 0 })?;
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
use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    parse_macro_input, parse_quote, parse_quote_spanned, Attribute, Data, DeriveInput, Fields,
    GenericParam, Generics, Ident, LitStr, Token, Type, TypeParamBound, WherePredicate,
};

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
    expand_from_row(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// How `#[weir(rename_all = "...")]` turns a field name into a column name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RenameRule {
    /// `snake_case`: lowercase words joined by `_`.
    Snake,
    /// `lowercase`: the field name in lowercase, separators kept.
    Lower,
    /// `UPPERCASE`: the field name in uppercase, separators kept.
    Upper,
    /// `camelCase`: first word lowercase, the others capitalised, no separator.
    Camel,
    /// `PascalCase`: every word capitalised, no separator.
    Pascal,
    /// `SCREAMING_SNAKE_CASE`: uppercase words joined by `_`.
    ScreamingSnake,
}

impl RenameRule {
    const ALL: [(&'static str, RenameRule); 6] = [
        ("snake_case", RenameRule::Snake),
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("camelCase", RenameRule::Camel),
        ("PascalCase", RenameRule::Pascal),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, rule)| rule)
    }

    fn expected() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        names.join(", ")
    }

    /// Converts a field name (already without `r#`) to a column name.
    ///
    /// Words are split at `_` and at case changes (`userId`, `HTTPServer`),
    /// so names that are not `snake_case` convert sensibly too. Leading
    /// underscores are kept as they are.
    fn apply(self, field: &str) -> String {
        let body = field.trim_start_matches('_');
        let prefix = &field[..field.len() - body.len()];
        let converted = match self {
            RenameRule::Lower => body.to_lowercase(),
            RenameRule::Upper => body.to_uppercase(),
            RenameRule::Snake => join_words(body, "_", |_, w| w.to_lowercase()),
            RenameRule::ScreamingSnake => join_words(body, "_", |_, w| w.to_uppercase()),
            RenameRule::Camel => join_words(body, "", |i, w| {
                if i == 0 {
                    w.to_lowercase()
                } else {
                    capitalize(w)
                }
            }),
            RenameRule::Pascal => join_words(body, "", |_, w| capitalize(w)),
        };
        format!("{prefix}{converted}")
    }
}

fn join_words(name: &str, sep: &str, mut f: impl FnMut(usize, &str) -> String) -> String {
    split_words(name)
        .iter()
        .enumerate()
        .map(|(i, w)| f(i, w))
        .collect::<Vec<_>>()
        .join(sep)
}

/// `"wORD"` -> `"Word"`.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Splits an identifier into words: at `_`, before an uppercase letter that
/// follows a lowercase letter or digit (`userId` -> `user`, `Id`), and before
/// the last capital of an acronym followed by lowercase (`HTTPServer` ->
/// `HTTP`, `Server`). Digits stick to the word they follow.
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_uppercase() {
                let prev = chars[i - 1];
                let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let boundary = prev.is_lowercase()
                    || prev.is_numeric()
                    || (prev.is_uppercase() && next_is_lower);
                if boundary && !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

/// Options from `#[weir(...)]` on the struct.
#[derive(Default)]
struct ContainerOpts {
    rename_all: Option<(RenameRule, Span)>,
}

/// Options from `#[weir(...)]` on a field.
#[derive(Default)]
struct FieldOpts {
    rename: Option<LitStr>,
    /// The span of the `default` keyword, if present.
    default: Option<Span>,
}

/// Collects errors so that every problem is reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn is_weir(attr: &Attribute) -> bool {
    attr.path().is_ident("weir")
}

/// Rejects `key = value` / `key(...)` after a flag such as `default`.
fn expect_flag(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        Err(meta.error(format!("`{name}` takes no value: write `#[weir({name})]`")))
    } else {
        Ok(())
    }
}

/// Parses the `= "..."` of `key = "..."`, with a clear error if it is missing.
fn string_value(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("expected `{name} = \"...\"`")));
    }
    meta.value()?.parse::<LitStr>()
}

fn parse_container_opts(attrs: &[Attribute], errors: &mut Errors) -> ContainerOpts {
    let mut opts = ContainerOpts::default();
    for attr in attrs.iter().filter(|a| is_weir(a)) {
        let res = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
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
                opts.rename_all = Some((rule, meta.path.span()));
                Ok(())
            } else if meta.path.is_ident("rename") || meta.path.is_ident("default") {
                Err(meta.error(format!(
                    "`{}` goes on a field, not on the struct",
                    path_name(&meta)
                )))
            } else {
                Err(meta.error(format!(
                    "unknown weir attribute `{}` on a struct; expected `rename_all`",
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

fn parse_field_opts(attrs: &[Attribute], errors: &mut Errors) -> FieldOpts {
    let mut opts = FieldOpts::default();
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
                Ok(())
            } else if meta.path.is_ident("default") {
                expect_flag(&meta, "default")?;
                if opts.default.is_some() {
                    return Err(meta.error("duplicate `default` attribute"));
                }
                opts.default = Some(meta.path.span());
                Ok(())
            } else if meta.path.is_ident("flatten") {
                Err(meta.error(
                    "flatten is not supported: a `weir::Row` can be consumed only once; \
                     list the nested struct's fields here instead",
                ))
            } else if meta.path.is_ident("rename_all") {
                Err(meta.error("`rename_all` goes on the struct, not on a field"))
            } else {
                Err(meta.error(format!(
                    "unknown weir attribute `{}` on a field; expected `rename` or `default`",
                    path_name(&meta)
                )))
            }
        });
        if let Err(err) = res {
            errors.push(err);
        }
    }
    if let (Some(rename), Some(_)) = (&opts.rename, opts.default) {
        errors.push(syn::Error::new(
            rename.span(),
            "`rename` and `default` conflict: a `default` field reads no column",
        ));
    }
    opts
}

fn path_name(meta: &ParseNestedMeta<'_>) -> String {
    let segments: Vec<String> = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect();
    segments.join("::")
}

/// Names of the generic parameters, to find field types that mention them.
struct GenericNames {
    types: Vec<Ident>,
    lifetimes: Vec<Ident>,
}

impl GenericNames {
    fn new(generics: &Generics) -> Self {
        let mut types = Vec::new();
        let mut lifetimes = Vec::new();
        for param in &generics.params {
            match param {
                GenericParam::Type(t) => types.push(t.ident.clone()),
                GenericParam::Const(c) => types.push(c.ident.clone()),
                GenericParam::Lifetime(l) => lifetimes.push(l.lifetime.ident.clone()),
            }
        }
        GenericNames { types, lifetimes }
    }

    /// Whether `ty` mentions a generic parameter of the struct (by a token
    /// walk: a path segment that happens to share a parameter's name only
    /// adds a harmless predicate).
    fn mentioned_in(&self, ty: &Type) -> bool {
        if self.types.is_empty() && self.lifetimes.is_empty() {
            return false;
        }
        self.mentioned_in_tokens(quote!(#ty))
    }

    fn mentioned_in_tokens(&self, tokens: TokenStream2) -> bool {
        let mut after_quote = false;
        for tt in tokens {
            let found = match &tt {
                TokenTree::Group(g) => self.mentioned_in_tokens(g.stream()),
                TokenTree::Ident(id) if after_quote => self.lifetimes.iter().any(|l| l == id),
                TokenTree::Ident(id) => self.types.iter().any(|t| t == id),
                TokenTree::Punct(_) | TokenTree::Literal(_) => false,
            };
            if found {
                return true;
            }
            after_quote = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '\'');
        }
        false
    }
}

/// The whole derive, on a parsed input; errors become `compile_error!`s.
fn expand_from_row(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let data = match &input.data {
        Data::Struct(data) => data,
        Data::Enum(data) => {
            return Err(syn::Error::new(
                data.enum_token.span,
                "FromRow can be derived only for structs, not enums",
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span,
                "FromRow can be derived only for structs, not unions",
            ))
        }
    };

    let mut errors = Errors::default();
    let container = parse_container_opts(&input.attrs, &mut errors);
    if let (Some((_, span)), Fields::Unnamed(_) | Fields::Unit) =
        (container.rename_all, &data.fields)
    {
        errors.push(syn::Error::new(
            span,
            "`rename_all` applies only to structs with named fields",
        ));
    }

    let names = GenericNames::new(&input.generics);
    let row = Ident::new("row", Span::call_site());
    let mut generics = input.generics.clone();
    let mut inits: Vec<TokenStream2> = Vec::new();
    let mut reads_any = false;
    let mut uses_map = false;
    let mut next_index = 0usize;

    for (pos, field) in data.fields.iter().enumerate() {
        let opts = parse_field_opts(&field.attrs, &mut errors);
        let ty = &field.ty;
        let ty_span = ty.span();
        let field_ident = field.ident.as_ref();
        if let (None, Some(rename)) = (field_ident, &opts.rename) {
            errors.push(syn::Error::new(
                rename.span(),
                "`rename` applies only to named fields; tuple-struct fields are read by position",
            ));
        }

        let value = if opts.default.is_some() {
            if names.mentioned_in(ty) {
                add_bound(
                    &mut generics,
                    ty,
                    parse_quote_spanned!(ty_span=> ::std::default::Default),
                );
            }
            quote_spanned!(ty_span=> <#ty as ::std::default::Default>::default())
        } else {
            reads_any = true;
            if names.mentioned_in(ty) {
                add_bound(
                    &mut generics,
                    ty,
                    parse_quote_spanned!(ty_span=> ::weir::Decode),
                );
            }
            if let Some(ident) = field_ident {
                let column = column_name(ident, opts.rename.as_ref(), container.rename_all);
                let hint = proc_macro2::Literal::usize_suffixed(next_index);
                next_index += 1;
                uses_map = true;
                quote_spanned!(ty_span=> {
                    let at = map.locate(&#row, ::weir::row::NameAt { name: #column, hint: #hint })?;
                    #row.try_take::<#ty, usize>(at)?
                })
            } else {
                let index = proc_macro2::Literal::usize_suffixed(next_index);
                next_index += 1;
                quote_spanned!(ty_span=> #row.try_take::<#ty, usize>(#index)?)
            }
        };
        let member = match field_ident {
            Some(ident) => syn::Member::Named(ident.clone()),
            None => syn::Member::Unnamed(syn::Index::from(pos)),
        };
        inits.push(quote!(#member: #value));
    }
    errors.finish()?;

    let body = match &data.fields {
        Fields::Named(_) | Fields::Unnamed(_) => quote!(Self { #(#inits),* }),
        Fields::Unit => quote!(Self),
    };
    let param = if reads_any {
        row.clone()
    } else {
        Ident::new("_row", Span::call_site())
    };
    let map_param = if uses_map {
        Ident::new("map", Span::call_site())
    } else {
        Ident::new("_map", Span::call_site())
    };
    // Columns are taken out of the row (no copy of MySQL strings), so it is rebound mutable.
    let rebind = if reads_any {
        quote!(let mut #row = #row;)
    } else {
        quote!()
    };

    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::weir::FromRow for #name #ty_generics #where_clause {
            fn from_row(row: ::weir::Row) -> ::weir::Result<Self> {
                Self::from_row_mapped(row, &mut ::weir::row::ColumnMap::default())
            }

            fn from_row_mapped(#param: ::weir::Row, #map_param: &mut ::weir::row::ColumnMap) -> ::weir::Result<Self> {
                #rebind
                ::std::result::Result::Ok(#body)
            }
        }
    })
}

/// Adds `ty: bound` to the where clause, merged into an existing predicate
/// for the same type (`where T: Clone + ::weir::Decode`) and skipped if already
/// there, so that two fields of one type or a user's own `where T: ...` do not
/// produce repeated predicates (clippy's `type_repetition_in_bounds`).
fn add_bound(generics: &mut Generics, ty: &Type, bound: TypeParamBound) {
    let key = quote!(#ty).to_string();
    let bound_key = quote!(#bound).to_string();
    let where_clause = generics.make_where_clause();
    let existing = where_clause
        .predicates
        .iter_mut()
        .find_map(|pred| match pred {
            WherePredicate::Type(p) if p.lifetimes.is_none() => {
                let bounded = &p.bounded_ty;
                (quote!(#bounded).to_string() == key).then_some(p)
            }
            _ => None,
        });
    match existing {
        Some(p) => {
            if !p.bounds.iter().any(|b| quote!(#b).to_string() == bound_key) {
                p.bounds.push(bound);
            }
        }
        None => where_clause.predicates.push(parse_quote!(#ty: #bound)),
    }
}

/// The column a named field reads: `rename`, else `rename_all` applied to
/// the field name, else the field name; always without `r#`.
fn column_name(ident: &Ident, rename: Option<&LitStr>, rule: Option<(RenameRule, Span)>) -> LitStr {
    if let Some(lit) = rename {
        return lit.clone();
    }
    let field = ident.unraw().to_string();
    let column = match rule {
        Some((rule, _)) => rule.apply(&field),
        None => field,
    };
    LitStr::new(&column, ident.span())
}

mod entity;

/// Derives `weir::repo::Entity` and `weir::FromRow` for a struct with named fields: derive
/// `Entity` alone, not `FromRow` as well.
///
/// ```text
/// #[derive(weir::repo::Entity)]
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
    entity::expand_entity(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    /// Expands and returns the generated code as a string (whitespace as
    /// `TokenStream::to_string` prints it).
    fn expand(input: DeriveInput) -> String {
        match expand_from_row(&input) {
            Ok(tokens) => tokens.to_string(),
            Err(err) => panic!("unexpected error: {err}"),
        }
    }

    /// Expands and returns every error message.
    fn errors(input: DeriveInput) -> Vec<String> {
        match expand_from_row(&input) {
            Ok(tokens) => panic!("expected an error, got: {tokens}"),
            Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn assert_error(input: DeriveInput, needle: &str) {
        let errs = errors(input);
        assert!(
            errs.iter().any(|e| e.contains(needle)),
            "no error containing {needle:?} in {errs:?}"
        );
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    // ---- case conversion -------------------------------------------------

    #[test]
    fn split_words_handles_snake_camel_and_acronyms() {
        assert_eq!(split_words("user_id"), ["user", "id"]);
        assert_eq!(split_words("userId"), ["user", "Id"]);
        assert_eq!(split_words("UserId"), ["User", "Id"]);
        assert_eq!(split_words("HTTPServer"), ["HTTP", "Server"]);
        assert_eq!(split_words("http_server_url"), ["http", "server", "url"]);
        assert_eq!(split_words("line_2"), ["line", "2"]);
        assert_eq!(split_words("address2"), ["address2"]);
        assert_eq!(split_words("v2Api"), ["v2", "Api"]);
        assert_eq!(split_words("a__b_"), ["a", "b"]);
        assert_eq!(split_words("id"), ["id"]);
        assert_eq!(split_words("ID"), ["ID"]);
    }

    #[test]
    fn every_rename_rule_on_snake_case_fields() {
        let cases: &[(&str, [&str; 6])] = &[
            // field, [snake, lower, UPPER, camel, Pascal, SCREAMING]
            ("id", ["id", "id", "ID", "id", "Id", "ID"]),
            (
                "user_id",
                [
                    "user_id", "user_id", "USER_ID", "userId", "UserId", "USER_ID",
                ],
            ),
            (
                "created_at_utc",
                [
                    "created_at_utc",
                    "created_at_utc",
                    "CREATED_AT_UTC",
                    "createdAtUtc",
                    "CreatedAtUtc",
                    "CREATED_AT_UTC",
                ],
            ),
            (
                "line_2",
                ["line_2", "line_2", "LINE_2", "line2", "Line2", "LINE_2"],
            ),
        ];
        let rules = [
            RenameRule::Snake,
            RenameRule::Lower,
            RenameRule::Upper,
            RenameRule::Camel,
            RenameRule::Pascal,
            RenameRule::ScreamingSnake,
        ];
        for (field, expected) in cases {
            for (rule, want) in rules.iter().zip(expected) {
                assert_eq!(rule.apply(field), *want, "{rule:?} on {field}");
            }
        }
    }

    #[test]
    fn rename_rules_on_non_snake_fields_and_underscores() {
        assert_eq!(RenameRule::Snake.apply("userId"), "user_id");
        assert_eq!(RenameRule::Snake.apply("HTTPServer"), "http_server");
        assert_eq!(RenameRule::ScreamingSnake.apply("userId"), "USER_ID");
        assert_eq!(RenameRule::Camel.apply("UserID"), "userId");
        assert_eq!(RenameRule::Pascal.apply("url_ID"), "UrlId");
        assert_eq!(RenameRule::Lower.apply("userId"), "userid");
        assert_eq!(RenameRule::Upper.apply("userId"), "USERID");
        // Leading underscores are kept; the rest is converted.
        assert_eq!(RenameRule::Camel.apply("_user_id"), "_userId");
        assert_eq!(RenameRule::ScreamingSnake.apply("__x"), "__X");
        // Non-ASCII letters convert too.
        assert_eq!(RenameRule::Pascal.apply("größe_éclat"), "GrößeÉclat");
    }

    #[test]
    fn rename_rule_names() {
        for (name, rule) in RenameRule::ALL {
            assert_eq!(RenameRule::from_name(name), Some(rule));
        }
        assert_eq!(RenameRule::from_name("kebab-case"), None);
        assert_eq!(RenameRule::from_name("Snake_Case"), None);
    }

    // ---- generated code ---------------------------------------------------

    #[test]
    fn named_struct_reads_columns_by_field_name() {
        let out = expand(parse_quote! {
            struct User {
                id: i64,
                name: Option<String>,
            }
        });
        let want = quote! {
            #[automatically_derived]
            impl ::weir::FromRow for User {
                fn from_row(row: ::weir::Row) -> ::weir::Result<Self> {
                    Self::from_row_mapped(row, &mut ::weir::row::ColumnMap::default())
                }

                fn from_row_mapped(row: ::weir::Row, map: &mut ::weir::row::ColumnMap) -> ::weir::Result<Self> {
                    let mut row = row;
                    ::std::result::Result::Ok(Self {
                        id: {
                            let at = map.locate(&row, ::weir::row::NameAt { name: "id", hint: 0usize })?;
                            row.try_take::<i64, usize>(at)?
                        },
                        name: {
                            let at = map.locate(&row, ::weir::row::NameAt { name: "name", hint: 1usize })?;
                            row.try_take::<Option<String>, usize>(at)?
                        }
                    })
                }
            }
        };
        assert_eq!(squash(&out), squash(&want.to_string()));
    }

    #[test]
    fn raw_identifiers_use_the_plain_name() {
        let out = expand(parse_quote! {
            struct T { r#type: String, r#match: i32 }
        });
        assert!(
            out.contains(r#"r#type : { let at = map . locate (& row , :: weir :: row :: NameAt { name : "type" , hint : 0usize }) ? ; row . try_take :: < String , usize > (at) ? }"#),
            "{out}"
        );
        assert!(out.contains(r#"name : "match""#), "{out}");
        assert!(!out.contains(r#""r#"#), "{out}");
    }

    #[test]
    fn rename_and_rename_all() {
        let out = expand(parse_quote! {
            #[weir(rename_all = "camelCase")]
            struct U {
                user_id: i64,
                #[weir(rename = "E-Mail")]
                email_address: String,
                r#type: String,
                created_at: i64,
            }
        });
        assert!(out.contains(r#"name : "userId""#), "{out}");
        assert!(out.contains(r#"name : "E-Mail""#), "{out}");
        assert!(!out.contains("emailAddress"), "{out}");
        assert!(out.contains(r#"name : "type""#), "{out}");
        assert!(out.contains(r#"name : "createdAt""#), "{out}");
    }

    #[test]
    fn rename_all_screaming_and_multiple_weir_attributes() {
        let out = expand(parse_quote! {
            #[derive(Debug)]
            #[weir()]
            #[weir(rename_all = "SCREAMING_SNAKE_CASE")]
            struct U {
                #[doc = "x"]
                user_id: i64,
            }
        });
        assert!(out.contains(r#"name : "USER_ID""#), "{out}");
    }

    #[test]
    fn default_fields_read_nothing() {
        let out = expand(parse_quote! {
            struct U {
                id: i64,
                #[weir(default)]
                cache: Vec<u8>,
            }
        });
        assert!(
            out.contains("cache : < Vec < u8 > as :: std :: default :: Default > :: default ()"),
            "{out}"
        );
        assert!(!out.contains(r#""cache""#), "{out}");
        assert!(out.contains("fn from_row (row : :: weir :: Row)"), "{out}");
    }

    #[test]
    fn tuple_struct_reads_by_index_skipping_default_fields() {
        let out = expand(parse_quote! {
            struct P(i64, #[weir(default)] u8, String);
        });
        let want = quote! {
            ::std::result::Result::Ok(Self {
                0: row.try_take::<i64, usize>(0usize)?,
                1: <u8 as ::std::default::Default>::default(),
                2: row.try_take::<String, usize>(1usize)?
            })
        };
        assert!(squash(&out).contains(&squash(&want.to_string())), "{out}");
    }

    #[test]
    fn unit_and_empty_structs() {
        let out = expand(parse_quote! { struct Unit; });
        assert!(
            squash(&out).contains(&squash("fn from_row_mapped(_row: ::weir::Row, _map: &mut ::weir::row::ColumnMap) -> ::weir::Result<Self> { ::std::result::Result::Ok(Self) }")),
            "{out}"
        );
        let out = expand(parse_quote! { struct Empty {} });
        assert!(squash(&out).contains("Ok(Self{})"), "{out}");
        let out = expand(parse_quote! { struct AllDefault { #[weir(default)] a: i32 } });
        assert!(out.contains("_row"), "{out}");
    }

    #[test]
    fn generics_get_only_the_predicates_their_fields_need() {
        let out = expand(parse_quote! {
            struct W<'a, T, U: Clone, const N: usize> where T: Send {
                a: T,
                b: Option<U>,
                c: i32,
                d: &'a str,
                e: [u8; N],
                #[weir(default)]
                f: ::std::marker::PhantomData<(T, U)>,
            }
        });
        let s = squash(&out);
        assert!(
            s.contains("impl<'a,T,U:Clone,constN:usize>::weir::FromRowforW<'a,T,U,N>"),
            "{out}"
        );
        assert!(
            s.contains("whereT:Send+::weir::Decode,Option<U>:::weir::Decode,"),
            "{out}"
        );
        assert!(s.contains("&'astr:::weir::Decode"), "{out}");
        assert!(s.contains("[u8;N]:::weir::Decode"), "{out}");
        assert!(
            s.contains("::std::marker::PhantomData<(T,U)>:::std::default::Default"),
            "{out}"
        );
        assert!(!s.contains("i32:::weir::Decode"), "{out}");
    }

    #[test]
    fn repeated_field_types_share_one_predicate() {
        let out = expand(parse_quote! {
            struct W<T> where T: ::weir::Decode {
                a: T,
                b: T,
                #[weir(default)]
                c: T,
                d: Vec<T>,
                e: Vec<T>,
            }
        });
        let s = squash(&out);
        assert!(
            s.contains("whereT:::weir::Decode+::std::default::Default,Vec<T>:::weir::Decode{"),
            "{out}"
        );
        let out = expand(parse_quote! { struct W<T>(T, T); });
        assert!(squash(&out).contains("whereT:::weir::Decode{"), "{out}");
    }

    #[test]
    fn no_where_clause_without_generics() {
        let out = expand(parse_quote! { struct S { a: i32, #[weir(default)] b: String } });
        assert!(!out.contains("where"), "{out}");
    }

    #[test]
    fn generic_names_match_lifetimes_and_types_separately() {
        // A lifetime `'T` is not the type parameter `T`, and a type `a` is
        // not the lifetime `'a`.
        let generics: Generics = parse_quote!(<'a, T>);
        let names = GenericNames::new(&generics);
        assert!(names.mentioned_in(&parse_quote!(Vec<T>)));
        assert!(names.mentioned_in(&parse_quote!(&'a str)));
        assert!(names.mentioned_in(&parse_quote!(fn(&[T]) -> u8)));
        assert!(!names.mentioned_in(&parse_quote!(a::B)));
        assert!(!names.mentioned_in(&parse_quote!(&'static str)));
        let generics: Generics = parse_quote!(<'T>);
        assert!(!GenericNames::new(&generics).mentioned_in(&parse_quote!(T)));
    }

    #[test]
    fn generated_code_parses_as_an_impl() {
        let out = expand_from_row(&parse_quote! {
            #[weir(rename_all = "PascalCase")]
            pub(crate) struct S<'a, T> { pub a: T, #[weir(rename = "x")] b: &'a str, #[weir(default)] c: u8 }
        })
        .unwrap();
        let item: syn::ItemImpl = syn::parse2(out).unwrap();
        assert_eq!(item.items.len(), 2, "from_row and from_row_mapped");
        let out = expand_from_row(&parse_quote! { struct P<T>(T, u8); }).unwrap();
        let _: syn::ItemImpl = syn::parse2(out).unwrap();
    }

    // ---- errors -----------------------------------------------------------

    #[test]
    fn enums_and_unions_are_rejected() {
        assert_error(
            parse_quote! { enum E { A, B } },
            "FromRow can be derived only for structs, not enums",
        );
        assert_error(
            parse_quote! { union U { a: u32, b: f32 } },
            "FromRow can be derived only for structs, not unions",
        );
    }

    #[test]
    fn flatten_is_rejected() {
        assert_error(
            parse_quote! { struct S { #[weir(flatten)] inner: Inner } },
            "flatten is not supported",
        );
    }

    #[test]
    fn unknown_and_misplaced_attributes() {
        assert_error(
            parse_quote! { struct S { #[weir(skip)] a: i32 } },
            "unknown weir attribute `skip` on a field",
        );
        assert_error(
            parse_quote! { #[weir(deny_unknown)] struct S { a: i32 } },
            "unknown weir attribute `deny_unknown` on a struct",
        );
        assert_error(
            parse_quote! { #[weir(rename = "x")] struct S { a: i32 } },
            "`rename` goes on a field",
        );
        assert_error(
            parse_quote! { struct S { #[weir(rename_all = "camelCase")] a: i32 } },
            "`rename_all` goes on the struct",
        );
        assert_error(
            parse_quote! { #[weir(rename_all = "snake_case")] struct S(i32); },
            "`rename_all` applies only to structs with named fields",
        );
        assert_error(
            parse_quote! { struct S(#[weir(rename = "a")] i32); },
            "`rename` applies only to named fields",
        );
    }

    #[test]
    fn malformed_attributes() {
        assert_error(parse_quote! { #[weir] struct S { a: i32 } }, "#[weir(...)]");
        assert_error(
            parse_quote! { #[weir = "x"] struct S { a: i32 } },
            "#[weir(...)]",
        );
        assert_error(
            parse_quote! { struct S { #[weir(rename)] a: i32 } },
            "expected `rename = \"...\"`",
        );
        assert_error(
            parse_quote! { struct S { #[weir(rename = 5)] a: i32 } },
            "expected string literal",
        );
        assert_error(
            parse_quote! { struct S { #[weir(rename = "")] a: i32 } },
            "column name must not be empty",
        );
        assert_error(
            parse_quote! { struct S { #[weir(default = true)] a: i32 } },
            "`default` takes no value",
        );
        assert_error(
            parse_quote! { struct S { #[weir(default(x))] a: i32 } },
            "`default` takes no value",
        );
        assert_error(
            parse_quote! { #[weir(rename_all = "kebab-case")] struct S { a: i32 } },
            "unknown rename_all rule `kebab-case`; expected one of \"snake_case\"",
        );
        assert_error(
            parse_quote! { #[weir(rename_all)] struct S { a: i32 } },
            "expected `rename_all = \"...\"`",
        );
        assert_error(
            parse_quote! { struct S { #[weir(default default)] a: i32 } },
            "expected `,`",
        );
    }

    #[test]
    fn duplicates_and_conflicts() {
        assert_error(
            parse_quote! { struct S { #[weir(rename = "a")] #[weir(rename = "b")] a: i32 } },
            "duplicate `rename` attribute",
        );
        assert_error(
            parse_quote! { struct S { #[weir(default, default)] a: i32 } },
            "duplicate `default` attribute",
        );
        assert_error(
            parse_quote! {
                #[weir(rename_all = "camelCase", rename_all = "PascalCase")]
                struct S { a: i32 }
            },
            "duplicate `rename_all` attribute",
        );
        assert_error(
            parse_quote! { struct S { #[weir(rename = "x", default)] a: i32 } },
            "`rename` and `default` conflict",
        );
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let errs = errors(parse_quote! {
            #[weir(bogus)]
            struct S {
                #[weir(flatten)] a: A,
                #[weir(nope)] b: i32,
            }
        });
        assert_eq!(errs.len(), 3, "{errs:?}");
    }

    #[test]
    fn errors_become_compile_error_tokens() {
        let err = expand_from_row(&parse_quote! { struct S { #[weir(skip)] a: i32 } }).unwrap_err();
        let tokens = err.to_compile_error().to_string();
        assert!(tokens.contains("compile_error"), "{tokens}");
        assert!(tokens.contains("unknown weir attribute `skip`"), "{tokens}");
    }
}

mod migrations;

/// Embeds a folder of migration scripts (`<version>_<name>.up.sql`, optional
/// `<version>_<name>.down.sql`) in the binary, as a `&'static [weir::migrate::EmbeddedMigration]`
/// for `weir::migrate::Migrator::new`. The path is relative to the calling crate's
/// `CARGO_MANIFEST_DIR`; a misnamed file, a version used twice or a down script without its up
/// script is a compile error.
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
