//! `#[derive(Type)]` as users meet it, without a server: the labels an enum binds under each
//! `rename_all` rule and reads back, and newtypes (generic ones too) that bind and read as
//! their field. Real columns on both backends are tested in weir's `tests/it/user_types.rs`.

use weir::{Decode, Encode, Param, Type};

/// The labels of an enum whose variants are `$variant`s, under `rename_all = $rule`, checked
/// to read back as the same variants.
macro_rules! labels {
    ($rule:tt: $($variant:ident),+) => {{
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Type)]
        #[weir(rename_all = $rule)]
        enum E { $($variant),+ }
        [$(E::$variant),+].map(|v| {
            let Param::Str(label) = v.encode() else { panic!("{v:?} is not bound as text") };
            assert_eq!(E::decode(Param::Text(label.as_bytes())), Ok(v));
            label.to_string()
        })
    }};
}

#[test]
fn every_rename_rule_on_variant_names() {
    let variants = |rule| match rule {
        "snake_case" => labels!("snake_case": InStock, HTTPError, V2),
        "lowercase" => labels!("lowercase": InStock, HTTPError, V2),
        "UPPERCASE" => labels!("UPPERCASE": InStock, HTTPError, V2),
        "camelCase" => labels!("camelCase": InStock, HTTPError, V2),
        "PascalCase" => labels!("PascalCase": InStock, HTTPError, V2),
        _ => labels!("SCREAMING_SNAKE_CASE": InStock, HTTPError, V2),
    };
    assert_eq!(variants("snake_case"), ["in_stock", "http_error", "v2"]);
    assert_eq!(variants("lowercase"), ["instock", "httperror", "v2"]);
    assert_eq!(variants("UPPERCASE"), ["INSTOCK", "HTTPERROR", "V2"]);
    assert_eq!(variants("camelCase"), ["inStock", "httpError", "v2"]);
    assert_eq!(variants("PascalCase"), ["InStock", "HttpError", "V2"]);
    assert_eq!(
        variants("SCREAMING_SNAKE_CASE"),
        ["IN_STOCK", "HTTP_ERROR", "V2"]
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Type)]
enum Plain {
    InStock,
    r#Type,
    #[weir(rename = "sold out")]
    SoldOut,
}

#[test]
fn labels_default_to_the_name_as_written_and_rename_wins() {
    assert_eq!(Plain::InStock.encode(), Param::Str("InStock"));
    assert_eq!(Plain::r#Type.encode(), Param::Str("Type"));
    assert_eq!(Plain::SoldOut.encode(), Param::Str("sold out"));
    assert_eq!(Plain::decode(Param::Text(b"sold out")), Ok(Plain::SoldOut));
    // Labels are matched exactly: no case folding, no trimming.
    assert_eq!(
        Plain::decode(Param::Text(b"instock")),
        Err(
            "unknown label \"instock\"; expected one of \"InStock\", \"Type\", \"sold out\"".into()
        )
    );
    assert_eq!(
        Option::<Plain>::decode(Param::Null),
        Ok(None),
        "NULL into an Option"
    );
    assert_eq!(
        Plain::decode(Param::Null),
        Err("unexpected NULL (use Option<T>)".into())
    );
    assert_eq!(
        Plain::decode(Param::Int(1)),
        Err("incompatible types".into())
    );
    assert_eq!(
        Plain::decode(Param::Text(b"\xff")),
        Err("text is not valid UTF-8".into())
    );
}

#[derive(Debug, Clone, PartialEq, Type)]
struct Wrapper<T>(T);

#[derive(Debug, Clone, PartialEq, Type)]
struct Named {
    inner: Option<String>,
}

#[test]
fn newtypes_bind_and_read_as_their_field() {
    assert_eq!(Wrapper(7i32).encode(), Param::Int(7));
    assert_eq!(Wrapper::<u8>::decode(Param::Int(200)), Ok(Wrapper(200)));
    // The field type's own errors, unchanged.
    assert_eq!(
        Wrapper::<u8>::decode(Param::Int(300)),
        Err("value 300 is out of range".into())
    );
    assert_eq!(
        Wrapper(Plain::SoldOut).encode(),
        Param::Str("sold out"),
        "a newtype of a derived enum"
    );
    let named = Named {
        inner: Some("x".into()),
    };
    assert_eq!(named.encode(), Param::Str("x"));
    assert_eq!(Named::decode(Param::Null), Ok(Named { inner: None }));
    // decode_owned keeps the buffer, as String's does.
    let bytes = b"owned".to_vec();
    let ptr = bytes.as_ptr();
    let Wrapper(s) = Wrapper::<String>::decode_owned(bytes, true).unwrap();
    assert_eq!((s.as_str(), s.as_ptr()), ("owned", ptr));
}
