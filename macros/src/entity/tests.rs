//! The Entity expansion's shape and its errors. What the derived impls say and read is tested
//! in `macros/tests/it/entity.rs`.

use syn::parse_quote;

use super::*;

fn assert_error(input: DeriveInput, needle: &str) {
    let errs: Vec<String> = match super::expand(&input) {
        Ok(tokens) => panic!("expected an error, got: {tokens}"),
        Err(err) => err.into_iter().map(|e| e.to_string()).collect(),
    };
    assert!(
        errs.iter().any(|e| e.contains(needle)),
        "no error containing {needle:?} in {errs:?}"
    );
}

#[test]
fn generated_code_parses() {
    let out = super::expand(&parse_quote! {
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
