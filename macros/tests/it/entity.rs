//! `#[derive(Entity)]`: the metadata, keys and values an entity gives weir's repository,
//! and the `FromRow` half reading the same columns.

use weir::Entity;
use weir::{Executor, Param};

use crate::common::{each_server, select};

#[derive(Debug, Clone, PartialEq, Entity)]
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

#[derive(Debug, Clone, PartialEq, Entity)]
#[weir(table = "t")]
struct Code {
    #[weir(primary_key)]
    code: String,
    n: i32,
}

/// Compiles only for an entity whose key is `K`.
fn key_type<E: Entity<Key = K>, K>() {}

#[test]
fn full_entity() {
    assert_eq!(User::TABLE, "users");
    assert_eq!(User::COLUMNS, ["userId", "e\"mail", "rowVersion"]);
    assert_eq!(User::PRIMARY_KEY, "userId");
    const { assert!(User::GENERATED_KEY) };
    assert_eq!(User::VERSION, Some("rowVersion"));
    key_type::<User, i64>();

    let mut user = User {
        user_id: 1,
        email: Some("a@b".into()),
        row_version: 1,
        cache: vec![9],
    };
    assert_eq!(user.key(), &1);
    // `default` fields are no column; a generated key is no insert value.
    assert_eq!(
        user.values(),
        [Param::Int(1), Param::Str("a@b"), Param::Int(1)]
    );
    assert_eq!(user.insert_values(), [Param::Str("a@b"), Param::Int(1)]);
    user.bump_version();
    assert_eq!(user.row_version, 2);
}

#[test]
fn supplied_key_without_version() {
    assert_eq!(Code::COLUMNS, ["code", "n"]);
    const { assert!(!Code::GENERATED_KEY) };
    assert_eq!(Code::VERSION, None);
    key_type::<Code, String>();
    let mut code = Code {
        code: "c".into(),
        n: 3,
    };
    assert_eq!(code.insert_values(), [Param::Str("c"), Param::Int(3)]);
    code.bump_version();
    assert_eq!(
        code,
        Code {
            code: "c".into(),
            n: 3
        }
    );
}

/// The derived `FromRow` reads the entity's `COLUMNS` and leaves `default` fields alone.
#[tokio::test]
async fn entities_read_their_columns() {
    each_server(|db, b| async move {
        let sql = select(
            b,
            &[("1", "userId"), ("'a@b'", "e\"mail"), ("3", "rowVersion")],
        );
        let user: User = db.fetch_one(&sql, ()).await.unwrap();
        let want = User {
            user_id: 1,
            email: Some("a@b".into()),
            row_version: 3,
            cache: Vec::new(),
        };
        assert_eq!(user, want);
        let code: Code = db
            .fetch_one(&select(b, &[("'c'", "code"), ("3", "n")]), ())
            .await
            .unwrap();
        assert_eq!(
            code,
            Code {
                code: "c".into(),
                n: 3
            }
        );
    })
    .await;
}
