//! What `rename_all` makes of field names, seen in an entity's `COLUMNS` (the names the
//! `FromRow` half reads too).

use weir::Entity;

/// The columns of an entity whose fields (after a key named "key") are `$field`s, under
/// `rename_all = $rule`.
macro_rules! columns {
    ($rule:tt: $($field:ident),+) => {{
        #[allow(non_snake_case, dead_code)]
        #[derive(Entity)]
        #[weir(table = "t", rename_all = $rule)]
        struct E {
            #[weir(primary_key, rename = "key")]
            key_: i64,
            $($field: i64),+
        }
        &E::COLUMNS[1..]
    }};
}

#[test]
fn every_rename_rule_on_snake_case_fields() {
    assert_eq!(
        columns!("snake_case": id, user_id, created_at_utc, line_2),
        ["id", "user_id", "created_at_utc", "line_2"]
    );
    assert_eq!(
        columns!("lowercase": id, user_id, created_at_utc, line_2),
        ["id", "user_id", "created_at_utc", "line_2"]
    );
    assert_eq!(
        columns!("UPPERCASE": id, user_id, created_at_utc, line_2),
        ["ID", "USER_ID", "CREATED_AT_UTC", "LINE_2"]
    );
    assert_eq!(
        columns!("camelCase": id, user_id, created_at_utc, line_2),
        ["id", "userId", "createdAtUtc", "line2"]
    );
    assert_eq!(
        columns!("PascalCase": id, user_id, created_at_utc, line_2),
        ["Id", "UserId", "CreatedAtUtc", "Line2"]
    );
    assert_eq!(
        columns!("SCREAMING_SNAKE_CASE": id, user_id, created_at_utc, line_2),
        ["ID", "USER_ID", "CREATED_AT_UTC", "LINE_2"]
    );
}

#[test]
fn rename_rules_on_non_snake_fields_and_underscores() {
    assert_eq!(
        columns!("snake_case": userId, HTTPServer),
        ["user_id", "http_server"]
    );
    assert_eq!(columns!("SCREAMING_SNAKE_CASE": userId), ["USER_ID"]);
    assert_eq!(columns!("camelCase": UserID), ["userId"]);
    assert_eq!(columns!("PascalCase": url_ID), ["UrlId"]);
    assert_eq!(columns!("lowercase": userId), ["userid"]);
    assert_eq!(columns!("UPPERCASE": userId), ["USERID"]);
    // Leading underscores are kept; the rest is converted.
    assert_eq!(columns!("camelCase": _user_id), ["_userId"]);
    assert_eq!(columns!("SCREAMING_SNAKE_CASE": __x), ["__X"]);
    // Non-ASCII letters convert too.
    assert_eq!(columns!("PascalCase": größe_éclat), ["GrößeÉclat"]);
}

#[test]
fn raw_identifiers_use_the_plain_name() {
    #[allow(dead_code)]
    #[derive(Entity)]
    #[weir(table = "t")]
    struct Raw {
        #[weir(primary_key)]
        r#type: String,
        r#match: i32,
    }
    assert_eq!(Raw::COLUMNS, ["type", "match"]);
    assert_eq!(Raw::PRIMARY_KEY, "type");
}
