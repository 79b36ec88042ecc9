//! The word splitting and rule names behind `rename_all`; what each rule makes of a field
//! name is tested through the derives in `macros/tests/it/rename.rs`.

use super::*;

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
fn rename_rule_names() {
    for (name, rule) in RenameRule::ALL {
        assert_eq!(RenameRule::from_name(name), Some(rule));
    }
    assert_eq!(RenameRule::from_name("kebab-case"), None);
    assert_eq!(RenameRule::from_name("Snake_Case"), None);
}
