//! `#[derive(FromRow)]` reading real rows: which columns each field reads, and what the
//! fields that read none become.

use std::marker::PhantomData;

use weir::{Error, Executor, FromRow};

use crate::common::{each_server, select};

#[derive(Debug, PartialEq, FromRow)]
struct User {
    id: i64,
    name: Option<String>,
}

#[tokio::test]
async fn named_fields_read_columns_by_name() {
    each_server(|db, b| async move {
        let sql = select(b, &[("'ada'", "name"), ("7", "id")]);
        let user: User = db.fetch_one(&sql, ()).await.unwrap();
        let ada = User {
            id: 7,
            name: Some("ada".into()),
        };
        assert_eq!(user, ada);
        // Several rows of one result, in field order.
        let sql = format!(
            "{} UNION ALL {} ORDER BY 1",
            select(b, &[("1", "id"), ("NULL", "name")]),
            select(b, &[("2", "id"), ("'b'", "name")])
        );
        let users: Vec<User> = db.fetch_all(&sql, ()).await.unwrap();
        let b_user = User {
            id: 2,
            name: Some("b".into()),
        };
        assert_eq!(users, [User { id: 1, name: None }, b_user]);
        let missing = db
            .fetch_one::<User, _>(&select(b, &[("1", "ID"), ("'x'", "name")]), ())
            .await
            .unwrap_err();
        assert!(
            matches!(&missing, Error::ColumnNotFound(c) if c.contains("id")),
            "{missing:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn raw_identifiers_use_the_plain_name() {
    #[derive(Debug, PartialEq, FromRow)]
    struct Raw {
        r#type: String,
        r#match: i32,
    }
    each_server(|db, b| async move {
        let sql = select(b, &[("'t'", "type"), ("3", "match")]);
        let raw: Raw = db.fetch_one(&sql, ()).await.unwrap();
        let want = Raw {
            r#type: "t".into(),
            r#match: 3,
        };
        assert_eq!(raw, want);
    })
    .await;
}

#[tokio::test]
async fn rename_and_rename_all() {
    #[derive(Debug, PartialEq, FromRow)]
    #[weir(rename_all = "camelCase")]
    struct U {
        user_id: i64,
        #[weir(rename = "E-Mail")]
        email_address: String,
        r#type: String,
        created_at: i64,
    }
    each_server(|db, b| async move {
        let columns = [
            ("1", "userId"),
            ("'a@b'", "E-Mail"),
            ("'t'", "type"),
            ("5", "createdAt"),
        ];
        let u: U = db.fetch_one(&select(b, &columns), ()).await.unwrap();
        let want = U {
            user_id: 1,
            email_address: "a@b".into(),
            r#type: "t".into(),
            created_at: 5,
        };
        assert_eq!(u, want);
        // `rename` wins over `rename_all`: `emailAddress` is not read.
        let mut columns = columns;
        columns[1].1 = "emailAddress";
        let err = db.fetch_one::<U, _>(&select(b, &columns), ()).await;
        assert!(
            matches!(&err, Err(Error::ColumnNotFound(c)) if c.contains("E-Mail")),
            "{err:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn rename_all_screaming_and_multiple_weir_attributes() {
    #[derive(Debug, PartialEq, FromRow)]
    #[weir()]
    #[weir(rename_all = "SCREAMING_SNAKE_CASE")]
    struct U {
        #[doc = "x"]
        user_id: i64,
    }
    each_server(|db, b| async move {
        let u: U = db
            .fetch_one(&select(b, &[("4", "USER_ID")]), ())
            .await
            .unwrap();
        assert_eq!(u, U { user_id: 4 });
    })
    .await;
}

#[tokio::test]
async fn default_fields_read_nothing() {
    #[derive(Debug, PartialEq, FromRow)]
    struct U {
        id: i64,
        #[weir(default)]
        cache: Vec<u8>,
    }
    each_server(|db, b| async move {
        let u: U = db.fetch_one(&select(b, &[("1", "id")]), ()).await.unwrap();
        assert_eq!(
            u,
            U {
                id: 1,
                cache: Vec::new()
            }
        );
    })
    .await;
}

#[tokio::test]
async fn tuple_struct_reads_by_index_skipping_default_fields() {
    #[derive(Debug, PartialEq, FromRow)]
    struct P(i64, #[weir(default)] u8, String);
    each_server(|db, b| async move {
        let p: P = db
            .fetch_one(&select(b, &[("1", "a"), ("'x'", "b")]), ())
            .await
            .unwrap();
        assert_eq!(p, P(1, 0, "x".into()));
    })
    .await;
}

#[tokio::test]
async fn unit_and_empty_structs_read_any_row() {
    #[derive(Debug, PartialEq, FromRow)]
    struct Unit;
    #[derive(Debug, PartialEq, FromRow)]
    struct Empty {}
    #[derive(Debug, PartialEq, FromRow)]
    struct AllDefault {
        #[weir(default)]
        a: i32,
    }
    each_server(|db, b| async move {
        let sql = select(b, &[("1", "x")]);
        assert_eq!(db.fetch_one::<Unit, _>(&sql, ()).await.unwrap(), Unit);
        assert_eq!(db.fetch_one::<Empty, _>(&sql, ()).await.unwrap(), Empty {});
        let all: AllDefault = db.fetch_one(&sql, ()).await.unwrap();
        assert_eq!(all, AllDefault { a: 0 });
    })
    .await;
}

/// No `Decode` or `Default` of its own: a field of this type is fine only where the derive
/// adds no bound on it.
#[derive(Debug, PartialEq)]
struct Opaque;

#[derive(Debug, PartialEq, FromRow)]
struct Generic<T, U: Clone>
where
    T: Send,
{
    a: T,
    b: Option<U>,
    c: i32,
    #[weir(default)]
    d: Vec<T>,
    #[weir(default)]
    e: PhantomData<(T, U)>,
}

#[derive(Debug, PartialEq, FromRow)]
struct Two<T>(T, T);

#[tokio::test]
async fn generic_structs_need_only_the_bounds_their_fields_need() {
    // `Vec<Opaque>: Default` holds; `Opaque: Decode` does not, so `a` must not need it.
    #[derive(Debug, PartialEq, FromRow)]
    struct Cached<T> {
        id: i64,
        #[weir(default)]
        cache: Vec<T>,
    }
    each_server(|db, b| async move {
        let sql = select(b, &[("1", "a"), ("'x'", "b"), ("3", "c")]);
        let g: Generic<i64, String> = db.fetch_one(&sql, ()).await.unwrap();
        let want = Generic {
            a: 1,
            b: Some("x".to_owned()),
            c: 3,
            d: Vec::new(),
            e: PhantomData,
        };
        assert_eq!(g, want);
        let two: Two<i64> = db
            .fetch_one(&select(b, &[("1", "a"), ("2", "b")]), ())
            .await
            .unwrap();
        assert_eq!(two, Two(1, 2));
        let cached: Cached<Opaque> = db.fetch_one(&select(b, &[("9", "id")]), ()).await.unwrap();
        assert_eq!(
            cached,
            Cached {
                id: 9,
                cache: Vec::new()
            }
        );
    })
    .await;
}
