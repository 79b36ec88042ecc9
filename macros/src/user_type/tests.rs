//! The Type expansion itself: exact code for an enum and a newtype, bounds for generic
//! newtypes, and every error, with where it points. What the derived impls bind and read on
//! real servers is tested in `tests/it/user_types.rs` of the weir crate.

use quote::quote;
use syn::parse_quote;

use super::*;

fn expand(input: DeriveInput) -> String {
    match super::expand(&input) {
        Ok(tokens) => tokens.to_string(),
        Err(err) => panic!("unexpected error: {err}"),
    }
}

/// Every error of `src`, with the source text its span covers.
fn errors(src: &str) -> Vec<(String, String)> {
    let input: DeriveInput = syn::parse_str(src).unwrap();
    let err = super::expand(&input)
        .err()
        .unwrap_or_else(|| panic!("no error for {src}"));
    err.into_iter()
        .map(|e| {
            let at = e.span().source_text().unwrap_or_default();
            (e.to_string(), at)
        })
        .collect()
}

fn assert_error(src: &str, message: &str, at: &str) {
    let errs = errors(src);
    assert!(
        errs.iter().any(|(m, a)| m == message && a == at),
        "no error {message:?} at {at:?} in {errs:?}"
    );
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect()
}

// ---- generated code ---------------------------------------------------

#[test]
fn enum_binds_and_reads_labels() {
    let out = expand(parse_quote! {
        #[weir(rename_all = "snake_case")]
        enum Stock {
            InStock,
            SoldOut,
            #[weir(rename = "gone")]
            Discontinued,
        }
    });
    let want = quote! {
        #[automatically_derived]
        impl ::weir::Encode for Stock {
            #[inline]
            fn encode(&self) -> ::weir::Param<'_> {
                ::weir::Param::Str(match self {
                    Self::InStock => "in_stock",
                    Self::SoldOut => "sold_out",
                    Self::Discontinued => "gone",
                })
            }
        }

        #[automatically_derived]
        impl ::weir::Decode for Stock {
            fn decode(cell: ::weir::Param<'_>) -> ::std::result::Result<Self, ::std::string::String> {
                match ::weir::__private::label(cell)? {
                    "in_stock" => ::std::result::Result::Ok(Self::InStock),
                    "sold_out" => ::std::result::Result::Ok(Self::SoldOut),
                    "gone" => ::std::result::Result::Ok(Self::Discontinued),
                    other => ::std::result::Result::Err(
                        ::weir::__private::unknown_label(other, &["in_stock", "sold_out", "gone"]),
                    ),
                }
            }
        }
    };
    assert_eq!(squash(&out), squash(&want.to_string()));
}

#[test]
fn enum_labels_default_to_the_variant_name_as_written() {
    let out = expand(parse_quote! { enum Mood { Happy, r#Type, SAD } });
    for label in ["\"Happy\"", "\"Type\"", "\"SAD\""] {
        assert!(out.contains(label), "{label} in {out}");
    }
}

#[test]
fn newtype_delegates_every_method() {
    let out = expand(parse_quote! { pub struct UserId(pub i64); });
    let want = quote! {
        #[automatically_derived]
        impl ::weir::Encode for UserId {
            #[inline]
            fn encode(&self) -> ::weir::Param<'_> {
                <i64 as ::weir::Encode>::encode(&self.0)
            }
        }

        #[automatically_derived]
        impl ::weir::Decode for UserId {
            #[inline]
            fn decode(cell: ::weir::Param<'_>) -> ::std::result::Result<Self, ::std::string::String> {
                ::std::result::Result::map(<i64 as ::weir::Decode>::decode(cell), Self)
            }

            #[inline]
            fn decode_owned(bytes: ::std::vec::Vec<u8>, text: bool) -> ::std::result::Result<Self, ::std::string::String> {
                ::std::result::Result::map(<i64 as ::weir::Decode>::decode_owned(bytes, text), Self)
            }

            #[inline]
            fn decode_value<'weir_value>(
                value: impl ::weir::ColumnValue<'weir_value>,
            ) -> ::std::result::Result<Self, ::std::string::String> {
                ::std::result::Result::map(<i64 as ::weir::Decode>::decode_value(value), Self)
            }
        }
    };
    assert_eq!(squash(&out), squash(&want.to_string()));
}

#[test]
fn newtype_with_a_named_field() {
    let out = squash(&expand(parse_quote! { struct Email { address: String } }));
    assert!(
        out.contains("<Stringas::weir::Encode>::encode(&self.address)"),
        "{out}"
    );
    assert!(out.contains("|inner|Self{address:inner}"), "{out}");
}

#[test]
fn generic_newtype_bounds_each_impl_by_its_own_trait() {
    let out = squash(&expand(parse_quote! {
        struct Tagged<T: Clone>(Option<T>) where T: Send;
    }));
    assert!(
        out.contains(
            "impl<T:Clone>::weir::EncodeforTagged<T>whereT:Send,Option<T>:::weir::Encode{"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "impl<T:Clone>::weir::DecodeforTagged<T>whereT:Send,Option<T>:::weir::Decode{"
        ),
        "{out}"
    );
    let out = squash(&expand(parse_quote! { struct Plain(i64); }));
    assert!(!out.contains("where"), "{out}");
}

#[test]
fn generated_code_parses_as_two_impls() {
    for input in [
        quote!(
            enum E {
                A,
                B,
            }
        ),
        quote!(
            struct N<'a, T>(&'a T);
        ),
    ] {
        let out = super::expand(&syn::parse2(input).unwrap()).unwrap();
        let file: syn::File = syn::parse2(out).unwrap();
        assert_eq!(file.items.len(), 2);
    }
}

// ---- errors -----------------------------------------------------------

#[test]
fn enum_shape_errors_point_at_the_offence() {
    assert_error(
        "enum E { A, B(i32), C { x: u8 } }",
        "variant `B` has fields: Type can be derived only for an enum whose variants have none \
         (each is stored as its label)",
        "(i32)",
    );
    assert_error(
        "enum E { A, B(i32), C { x: u8 } }",
        "variant `C` has fields: Type can be derived only for an enum whose variants have none \
         (each is stored as its label)",
        "{ x: u8 }",
    );
    assert_error(
        "enum E { A = 1, B }",
        "a derived Type stores the variant's label, not its discriminant: remove `= ...`, or \
         implement Encode and Decode by hand to store numbers",
        "1",
    );
    assert_error(
        "enum E<T> { A }",
        "Type cannot be derived for a generic enum",
        "<T>",
    );
    assert_error(
        "enum E {}",
        "Type cannot be derived for an enum without variants: no label could be read",
        "E",
    );
    assert_error(
        "#[weir(rename_all = \"lowercase\")] enum E { Ab, #[weir(rename = \"ab\")] Cd }",
        "label `ab` is already the label of variant `Ab`",
        "\"ab\"",
    );
    assert_error(
        "union U { a: u32 }",
        "Type can be derived only for enums of unit variants and structs of one field, not unions",
        "union",
    );
}

#[test]
fn struct_shape_errors_name_the_field_count() {
    let message = |n: &str| {
        format!(
            "Type can be derived only for a struct of exactly one field (a newtype, stored as \
             that field) or an enum of unit variants; `S` has {n}"
        )
    };
    assert_error("struct S(i64, String);", &message("2"), "(i64, String)");
    assert_error("struct S;", &message("none"), "S");
    assert_error("struct S {}", &message("none"), "{}");
}

#[test]
fn attributes_go_through_the_shared_parser() {
    assert_error(
        "#[weir(table = \"t\")] enum E { A }",
        "unknown weir attribute `table` on an enum; expected `rename_all`",
        "table",
    );
    assert_error(
        "enum E { #[weir(default)] A }",
        "unknown weir attribute `default` on a variant; expected `rename`",
        "default",
    );
    assert_error(
        "enum E { #[weir(rename_all = \"snake_case\")] A }",
        "`rename_all` goes on the enum, not on a variant",
        "rename_all",
    );
    assert_error(
        "#[weir(rename = \"a\")] enum E { A }",
        "`rename` goes on a variant, not on the enum",
        "rename",
    );
    assert_error(
        "enum E { #[weir(rename = \"\")] A }",
        "label must not be empty",
        "\"\"",
    );
    assert_error(
        "enum E { #[weir(flatten)] A }",
        "unknown weir attribute `flatten` on a variant; expected `rename`",
        "flatten",
    );
    assert_error(
        "#[weir(rename_all = \"kebab-case\")] enum E { A }",
        "unknown rename_all rule `kebab-case`; expected one of \"snake_case\", \"lowercase\", \
         \"UPPERCASE\", \"camelCase\", \"PascalCase\", \"SCREAMING_SNAKE_CASE\"",
        "\"kebab-case\"",
    );
    assert_error(
        "#[weir(rename_all = \"snake_case\")] struct S(i64);",
        "unknown weir attribute `rename_all` on a newtype; a newtype takes none",
        "rename_all",
    );
    assert_error(
        "struct S(#[weir(rename = \"x\")] i64);",
        "unknown weir attribute `rename` on a newtype's field; a newtype's field takes none",
        "rename",
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let errs = errors("#[weir(bogus)] enum E<T> { A(T), #[weir(nope)] B = 2 }");
    assert_eq!(errs.len(), 5, "{errs:?}");
}
