//! The FromRow expansion itself: exact code, where clauses, and every error. What the
//! derived impls read from real rows is tested in `macros/tests/it/from_row.rs`.

use quote::quote;
use syn::parse_quote;

use super::*;

/// Expands and returns the generated code as a string (whitespace as
/// `TokenStream::to_string` prints it).
fn expand(input: DeriveInput) -> String {
    match super::expand(&input) {
        Ok(tokens) => tokens.to_string(),
        Err(err) => panic!("unexpected error: {err}"),
    }
}

/// Expands and returns every error message.
fn errors(input: DeriveInput) -> Vec<String> {
    match super::expand(&input) {
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
                Self::from_row_mapped(row, &mut ::weir::__private::ColumnMap::default())
            }

            fn from_row_mapped(row: ::weir::Row, map: &mut ::weir::__private::ColumnMap) -> ::weir::Result<Self> {
                let mut row = row;
                ::std::result::Result::Ok(Self {
                    id: {
                        let at = map.locate(&row, ::weir::__private::NameAt { name: "id", hint: 0usize })?;
                        row.try_take::<i64, usize>(at)?
                    },
                    name: {
                        let at = map.locate(&row, ::weir::__private::NameAt { name: "name", hint: 1usize })?;
                        row.try_take::<Option<String>, usize>(at)?
                    }
                })
            }
        }
    };
    assert_eq!(squash(&out), squash(&want.to_string()));
}

#[test]
fn unit_and_empty_structs() {
    let out = expand(parse_quote! { struct Unit; });
    assert!(
        squash(&out).contains(&squash("fn from_row_mapped(_row: ::weir::Row, _map: &mut ::weir::__private::ColumnMap) -> ::weir::Result<Self> { ::std::result::Result::Ok(Self) }")),
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
    let out = super::expand(&parse_quote! {
        #[weir(rename_all = "PascalCase")]
        pub(crate) struct S<'a, T> { pub a: T, #[weir(rename = "x")] b: &'a str, #[weir(default)] c: u8 }
    })
    .unwrap();
    let item: syn::ItemImpl = syn::parse2(out).unwrap();
    assert_eq!(item.items.len(), 2, "from_row and from_row_mapped");
    let out = super::expand(&parse_quote! { struct P<T>(T, u8); }).unwrap();
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
    let err = super::expand(&parse_quote! { struct S { #[weir(skip)] a: i32 } }).unwrap_err();
    let tokens = err.to_compile_error().to_string();
    assert!(tokens.contains("compile_error"), "{tokens}");
    assert!(tokens.contains("unknown weir attribute `skip`"), "{tokens}");
}
