//! The shared parser through the row derives (the Type derive's keys are tested with its
//! expansion, in `user_type/tests.rs`): the same key gets the same treatment, a key a
//! derive does not take names that derive's keys, and errors point at the offending tokens.

use super::*;
use crate::{entity, from_row, user_type};

/// Every error of `src` under `derive`, with the source text its span covers.
fn errors(derive: Derive, src: &str) -> Vec<(String, String)> {
    let input: syn::DeriveInput = syn::parse_str(src).unwrap();
    let result = match derive {
        Derive::FromRow => from_row::expand(&input),
        Derive::Entity => entity::expand(&input),
        Derive::Enum | Derive::Newtype => user_type::expand(&input),
    };
    let err = result.err().unwrap_or_else(|| panic!("no error for {src}"));
    err.into_iter()
        .map(|e| {
            let at = e.span().source_text().unwrap_or_default();
            (e.to_string(), at)
        })
        .collect()
}

fn assert_error(derive: Derive, src: &str, message: &str, at: &str) {
    let errs = errors(derive, src);
    assert!(
        errs.iter().any(|(m, a)| m == message && a == at),
        "no error {message:?} at {at:?} in {errs:?}"
    );
}

#[test]
fn shared_keys_fail_alike_in_both_derives() {
    for (derive, wrap) in [
        (
            Derive::FromRow,
            "struct S { #[weir(primary_key)] id: i64, FIELD }",
        ),
        (
            Derive::Entity,
            "#[weir(table = \"t\")] struct S { #[weir(primary_key)] id: i64, FIELD }",
        ),
    ] {
        let field = |attr: &str| wrap.replace("FIELD", &format!("#[weir({attr})] a: i32"));
        // FromRow has no `primary_key`; its error on `id` is beside the point here.
        let field_cases = [
            ("rename = \"\"", "column name must not be empty", "\"\""),
            ("rename", "expected `rename = \"...\"`", "rename"),
            ("rename = 5", "expected string literal", "5"),
            (
                "default = true",
                "`default` takes no value: write `#[weir(default)]`",
                "default",
            ),
            (
                "default, default",
                "duplicate `default` attribute",
                "default",
            ),
            (
                "rename = \"x\", default",
                "`rename` and `default` conflict: a `default` field reads no column",
                "\"x\"",
            ),
            (
                "rename_all = \"camelCase\"",
                "`rename_all` goes on the struct, not on a field",
                "rename_all",
            ),
        ];
        for (attr, message, at) in field_cases {
            assert_error(derive, &field(attr), message, at);
        }
        let on_struct = |attr: &str| {
            let src = wrap.replace("FIELD", "a: i32");
            src.replacen("struct S", &format!("#[weir({attr})] struct S"), 1)
        };
        assert_error(
            derive,
            &on_struct("rename_all = \"kebab-case\""),
            "unknown rename_all rule `kebab-case`; expected one of \"snake_case\", \"lowercase\", \
             \"UPPERCASE\", \"camelCase\", \"PascalCase\", \"SCREAMING_SNAKE_CASE\"",
            "\"kebab-case\"",
        );
        assert_error(
            derive,
            &on_struct("rename_all = \"camelCase\", rename_all = \"camelCase\""),
            "duplicate `rename_all` attribute",
            "rename_all = \"camelCase\"",
        );
        assert_error(
            derive,
            &on_struct("default"),
            "`default` goes on a field, not on the struct",
            "default",
        );
    }
}

#[test]
fn each_derive_lists_its_own_keys() {
    assert_error(
        Derive::FromRow,
        "#[weir(table = \"t\")] struct S { a: i32 }",
        "unknown weir attribute `table` on a struct; expected `rename_all`",
        "table",
    );
    assert_error(
        Derive::FromRow,
        "struct S { #[weir(primary_key)] a: i32 }",
        "unknown weir attribute `primary_key` on a field; expected `rename` or `default`",
        "primary_key",
    );
    assert_error(
        Derive::Entity,
        "#[weir(table = \"t\", skip)] struct S { #[weir(primary_key)] a: i32 }",
        "unknown weir attribute `skip` on an entity; expected `table` or `rename_all`",
        "skip",
    );
    assert_error(
        Derive::Entity,
        "#[weir(table = \"t\")] struct S { #[weir(primary_key, skip)] a: i32 }",
        "unknown weir attribute `skip` on an entity field; expected one of `rename`, `default`, \
         `primary_key`, `generated`, `version`",
        "skip",
    );
    assert_error(
        Derive::Entity,
        "#[weir(table = \"t\", version)] struct S { #[weir(primary_key)] a: i32 }",
        "`version` goes on a field, not on the struct",
        "version",
    );
}

#[test]
fn flatten_is_refused_by_both_derives() {
    let message = "flatten is not supported: a `weir::Row` can be consumed only once; list the \
                   nested struct's fields here instead";
    assert_error(
        Derive::FromRow,
        "struct S { #[weir(flatten)] a: A }",
        message,
        "flatten",
    );
    assert_error(
        Derive::Entity,
        "#[weir(table = \"t\")] struct S { #[weir(primary_key)] id: i64, #[weir(flatten)] a: A }",
        message,
        "flatten",
    );
}

#[test]
fn entity_flag_combinations() {
    let entity = |field: &str| format!("#[weir(table = \"t\")] struct S {{ {field} }}");
    assert_error(
        Derive::Entity,
        &entity("#[weir(primary_key, default)] a: i64"),
        "`primary_key` and `default` conflict: a `default` field reads no column",
        "primary_key",
    );
    assert_error(
        Derive::Entity,
        &entity("#[weir(primary_key)] a: i64, #[weir(version, default)] v: i64"),
        "`version` and `default` conflict: a `default` field reads no column",
        "version",
    );
    assert_error(
        Derive::Entity,
        &entity("#[weir(primary_key)] a: i64, #[weir(generated)] b: i64"),
        "`generated` marks a database-generated primary key: write `#[weir(primary_key, generated)]`",
        "generated",
    );
    assert_error(
        Derive::Entity,
        &entity("#[weir(primary_key, version)] a: i64"),
        "the version column cannot be the primary key",
        "version",
    );
    assert_error(
        Derive::Entity,
        &entity("#[weir(primary_key, primary_key)] a: i64"),
        "duplicate `primary_key` attribute",
        "primary_key",
    );
}

#[test]
fn struct_shape_errors_point_at_the_keyword() {
    assert_error(
        Derive::FromRow,
        "enum E { A }",
        "FromRow can be derived only for structs, not enums",
        "enum",
    );
    assert_error(
        Derive::Entity,
        "union U { a: u32 }",
        "Entity can be derived only for structs, not unions",
        "union",
    );
    assert_error(
        Derive::FromRow,
        "#[weir(rename_all = \"camelCase\")] struct S(i32);",
        "`rename_all` applies only to structs with named fields",
        "rename_all",
    );
}
