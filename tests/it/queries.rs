//! Statements and their cardinality: execute, fetch_all/one/optional/scalar, placeholders,
//! FromRow, dynamic values, and the one Executor trait over pool, connection and transaction.

use weir::{params, Database, Error, Executor, FromRow, Value};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    crud_with_every_cardinality,
    dollar_placeholders_repeat_and_reorder,
    wrong_parameter_count_is_typed_and_harmless,
    executor_trait_runs_on_pool_connection_and_transaction,
    dynamic_rows_expose_names_types_and_values,
    connection_keeps_its_session,
    cached_statement_survives_table_change,
    scripts_run_several_statements,
    columns_in_another_order_decode_by_name_on_every_row,
    question_mark_placeholders_and_empty_statements_are_refused,
);

#[derive(Debug, PartialEq, FromRow)]
struct User {
    id: i64,
    name: String,
    #[weir(rename = "email")]
    mail: Option<String>,
}

pub async fn create_users(ctx: &Ctx) {
    let ddl = ctx.sql(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE)",
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(200) NOT NULL, email VARCHAR(200) UNIQUE)",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
}

/// Every fetch method returns what its name says, on the pool.
async fn crud_with_every_cardinality(ctx: Ctx) {
    let db = &ctx.db;
    create_users(&ctx).await;
    for (id, name, email) in [
        (1, "ada", Some("ada@x")),
        (2, "bob", None),
        (3, "cy", Some("cy@x")),
    ] {
        let n = db
            .execute(
                "INSERT INTO users (id, name, email) VALUES ($1, $2, $3)",
                (id, name, email),
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    let users: Vec<User> = db
        .fetch_all(
            "SELECT id, name, email FROM users ORDER BY id LIMIT $1",
            (10,),
        )
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    assert_eq!(
        users[1],
        User {
            id: 2,
            name: "bob".into(),
            mail: None
        }
    );
    let one: User = db
        .fetch_one("SELECT id, name, email FROM users WHERE id = $1", (3,))
        .await
        .unwrap();
    assert_eq!(one.mail.as_deref(), Some("cy@x"));
    let missing = db
        .fetch_one::<User, _>("SELECT id, name, email FROM users WHERE id = $1", (99,))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::RowNotFound), "{missing:?}");
    let none: Option<User> = db
        .fetch_optional("SELECT id, name, email FROM users WHERE id = $1", (99,))
        .await
        .unwrap();
    assert!(none.is_none());
    // fetch_optional on several rows returns the first and leaves the session usable.
    let first: Option<(i64,)> = db
        .fetch_optional("SELECT id FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(first, Some((1,)));
    let count: i64 = db
        .fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap();
    assert_eq!(count, 3);
    let updated = db
        .execute("UPDATE users SET name = $1 WHERE id > $2", ("z", 1))
        .await
        .unwrap();
    assert_eq!(updated, 2);
    let deleted = db
        .execute("DELETE FROM users WHERE name = $1", ("z",))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(db.status().in_use, 0);
}

/// `$n` may repeat and come in any order, on both backends; literals are left alone.
async fn dollar_placeholders_repeat_and_reorder(ctx: Ctx) {
    let row: (String, i64, String, i64, String) = ctx
        .db
        .fetch_one(
            ctx.sql(
                "SELECT $2::text, $1::bigint, $2::text, $1::bigint, '$1 stays'",
                "SELECT CAST($2 AS CHAR), $1 + 0, CAST($2 AS CHAR), $1 + 0, '$1 stays'",
            ),
            (7, "b"),
        )
        .await
        .unwrap();
    assert_eq!(row, ("b".into(), 7, "b".into(), 7, "$1 stays".into()));
    // A mixed list through params!.
    let s: String = ctx
        .db
        .fetch_scalar(
            ctx.sql("SELECT $1::text || $2::text", "SELECT CONCAT($1, $2)"),
            params!["a", String::from("b")],
        )
        .await
        .unwrap();
    assert_eq!(s, "ab");
}

/// A wrong parameter count is a typed error before anything runs; the pool stays healthy.
async fn wrong_parameter_count_is_typed_and_harmless(ctx: Ctx) {
    create_users(&ctx).await;
    let err = ctx
        .db
        .execute("INSERT INTO users (id, name) VALUES ($1, $2)", (1,))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 2,
                given: 1
            }
        ),
        "{err:?}"
    );
    let err = ctx.db.execute("SELECT $1", (1, 2)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 1,
                given: 2
            }
        ),
        "{err:?}"
    );
    let count: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap();
    assert_eq!(count, 0);
    assert_eq!(ctx.db.status().in_use, 0);
}

async fn insert_and_count(db: &impl Executor, id: i64) -> i64 {
    db.execute("INSERT INTO users (id, name) VALUES ($1, 'n')", (id,))
        .await
        .unwrap();
    db.fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap()
}

/// One generic function runs on the pool, a connection and a transaction.
async fn executor_trait_runs_on_pool_connection_and_transaction(ctx: Ctx) {
    create_users(&ctx).await;
    assert_eq!(insert_and_count(&ctx.db, 1).await, 1);
    let conn = ctx.db.acquire().await.unwrap();
    assert_eq!(insert_and_count(&conn, 2).await, 2);
    drop(conn);
    let tx = ctx.db.begin().await.unwrap();
    assert_eq!(insert_and_count(&tx, 3).await, 3);
    tx.commit().await.unwrap();
    let db: &Database = &ctx.db;
    assert_eq!(insert_and_count(&db, 4).await, 4);
}

/// Rows name their columns and SQL types and decode any column to a Value.
async fn dynamic_rows_expose_names_types_and_values(ctx: Ctx) {
    let row: weir::Row = ctx
        .db
        .fetch_one(
            ctx.sql(
                "SELECT 42::int8 AS answer, 'hé'::text AS word, NULL::text AS nothing, 1.5::float8 AS ratio, '12.340'::numeric AS price",
                "SELECT CAST(42 AS SIGNED) AS answer, 'hé' AS word, NULL AS nothing, CAST(1.5 AS DOUBLE) AS ratio, CAST('12.340' AS DECIMAL(10,3)) AS price",
            ),
            (),
        )
        .await
        .unwrap();
    let names: Vec<String> = row.columns().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["answer", "word", "nothing", "ratio", "price"]);
    let ty = row.column_type(0);
    assert!(ty == "int8" || ty == "BIGINT" || ty == "INT", "{ty}");
    assert_eq!(
        row.values().unwrap(),
        vec![
            Value::Int(42),
            Value::Text("hé".into()),
            Value::Null,
            Value::Float(1.5),
            Value::Decimal("12.340".into()),
        ]
    );
    assert_eq!(row.try_get::<i32, _>("answer").unwrap(), 42);
    let err = row.try_get::<i64, _>("nope").unwrap_err();
    assert!(matches!(err, Error::ColumnNotFound(_)), "{err:?}");
}

/// Statements on one Connection share a session: session variables and temp tables persist.
async fn connection_keeps_its_session(ctx: Ctx) {
    let conn = ctx.db.acquire().await.unwrap();
    conn.execute(
        ctx.sql(
            "CREATE TEMPORARY TABLE scratch (x INT)",
            "CREATE TEMPORARY TABLE scratch (x INT)",
        ),
        (),
    )
    .await
    .unwrap();
    conn.execute("INSERT INTO scratch VALUES ($1)", (5,))
        .await
        .unwrap();
    let x: i32 = conn
        .fetch_scalar("SELECT x FROM scratch", ())
        .await
        .unwrap();
    assert_eq!(x, 5);
    conn.ping().await.unwrap();
}

/// A table recreated with other columns under a cached prepared statement: the statement is
/// prepared again, not failed.
async fn cached_statement_survives_table_change(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    db.execute("CREATE TABLE shifty (a INT)", ()).await.unwrap();
    db.execute("INSERT INTO shifty VALUES (1)", ())
        .await
        .unwrap();
    let before: Vec<weir::Row> = db.fetch_all("SELECT * FROM shifty", ()).await.unwrap();
    assert_eq!(before[0].len(), 1);
    db.execute("DROP TABLE shifty", ()).await.unwrap();
    db.execute("CREATE TABLE shifty (a INT, b TEXT)", ())
        .await
        .unwrap();
    db.execute("INSERT INTO shifty VALUES (2, 'x')", ())
        .await
        .unwrap();
    let after: Vec<weir::Row> = db.fetch_all("SELECT * FROM shifty", ()).await.unwrap();
    assert_eq!(after[0].len(), 2);
    assert_eq!(after[0].try_get::<String, _>("b").unwrap(), "x");
}

/// A multi-statement script runs in order on both backends; a failing statement stops it with
/// the server's error.
async fn scripts_run_several_statements(ctx: Ctx) {
    ctx.db
        .execute_script(
            "CREATE TABLE s1 (x INT); INSERT INTO s1 VALUES (1); INSERT INTO s1 VALUES (2);\n\
             CREATE TABLE s2 (y INT); INSERT INTO s2 SELECT x FROM s1;",
        )
        .await
        .unwrap();
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM s2", ())
        .await
        .unwrap();
    assert_eq!(n, 2);
    let err = ctx
        .db
        .execute_script(
            "INSERT INTO s1 VALUES (3); INSERT INTO nowhere VALUES (1); INSERT INTO s1 VALUES (4)",
        )
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some(), "{err:?}");
    let xs: Vec<(i32,)> = ctx
        .db
        .fetch_all("SELECT x FROM s1 ORDER BY x", ())
        .await
        .unwrap();
    match ctx.backend {
        // PostgreSQL runs a multi-statement query as one implicit transaction.
        weir::Backend::Postgres => assert_eq!(xs, vec![(1,), (2,)]),
        // MySQL keeps what ran before the failing statement.
        weir::Backend::MySql => assert_eq!(xs, vec![(1,), (2,), (3,)]),
    }
}

/// Rows whose columns come in another order than the struct's fields, and with an extra
/// column, decode by name on every row of a result (the derive learns the positions on the
/// first row and keeps them for the rest), through `fetch_all` and `fetch_stream`; a second
/// query with yet another order is looked up afresh.
async fn columns_in_another_order_decode_by_name_on_every_row(ctx: Ctx) {
    use futures_util::StreamExt;
    let db = &ctx.db;
    create_users(&ctx).await;
    for id in 1..=50i64 {
        let email = (id % 3 != 0).then(|| format!("u{id}@x"));
        db.execute(
            "INSERT INTO users (id, name, email) VALUES ($1, $2, $3)",
            (id, format!("name-{id}"), email),
        )
        .await
        .unwrap();
    }
    let want: Vec<User> = (1..=50i64)
        .map(|id| User {
            id,
            name: format!("name-{id}"),
            mail: (id % 3 != 0).then(|| format!("u{id}@x")),
        })
        .collect();
    let shuffled = "SELECT email, 7 AS extra, name, id FROM users ORDER BY id";
    let all: Vec<User> = db.fetch_all(shuffled, ()).await.unwrap();
    assert_eq!(all, want);
    let streamed: Vec<User> = db
        .fetch_stream::<User, _>(shuffled, ())
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(streamed, want);
    let other: Vec<User> = db
        .fetch_all("SELECT name, id, email FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(other, want);
}

/// A `?` placeholder, which MySQL alone would take, is `InvalidStatement` on MySQL naming
/// `$1..$n`, before anything is sent (it then fails nowhere else either); `?` in literals,
/// quoted names and comments is left alone, and on PostgreSQL `?` stays the jsonb operator.
/// An empty statement is `InvalidStatement` on both (PostgreSQL answered it with no rows).
async fn question_mark_placeholders_and_empty_statements_are_refused(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    if ctx.backend == weir::Backend::MySql {
        for sql in [
            "INSERT INTO users (id, name) VALUES (?, ?)",
            "SELECT id FROM users WHERE id = $1 OR id = ?",
        ] {
            let err = db.execute(sql, (1, "a")).await.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidStatement(m) if m.contains("$1..$n")),
                "{sql}: {err:?}"
            );
        }
        let err = db
            .fetch_all::<(i64,), _>("SELECT id FROM users WHERE id = ?", (1,))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidStatement(_)), "{err:?}");
    } else {
        let has: bool = db
            .fetch_scalar(r#"SELECT '{"a": 1}'::jsonb ? 'a'"#, ())
            .await
            .unwrap();
        assert!(has);
    }
    let quiet: String = db
        .fetch_scalar(
            ctx.sql(
                "SELECT '?' || $1::text /* ? */ -- ?",
                "SELECT CONCAT('?', $1) /* ? */ -- ?",
            ),
            ("x",),
        )
        .await
        .unwrap();
    assert_eq!(quiet, "?x");
    let n: i64 = db
        .fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap();
    assert_eq!(n, 0, "a refused statement ran");
    for sql in ["", "   ", ";", "-- nothing\n/* at all */"] {
        let err = db.execute(sql, ()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidStatement(_)),
            "{sql:?}: {err:?}"
        );
        let err = db.fetch_all::<weir::Row, _>(sql, ()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidStatement(_)),
            "{sql:?}: {err:?}"
        );
        let err = db.execute_script(sql).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidStatement(_)),
            "{sql:?}: {err:?}"
        );
    }
    // MySQL runs what `/*! ... */` holds (mysqldump's lines): a statement there, not an empty
    // one; elsewhere it is a comment, and the statement is empty.
    let dump = "/*!40101 SET @weir_dump = 1 */";
    match ctx.backend {
        weir::Backend::MySql => {
            db.execute(dump, ()).await.unwrap();
            db.execute_script(&format!("{dump}; SELECT 1"))
                .await
                .unwrap();
        }
        weir::Backend::Postgres => {
            let err = db.execute(dump, ()).await.unwrap_err();
            assert!(matches!(err, Error::InvalidStatement(_)), "{err:?}");
        }
    }
    // Nothing was sent, nothing was left behind: the one connection serves the next call.
    assert_eq!(db.fetch_scalar::<i64, _>("SELECT 1", ()).await.unwrap(), 1);
    assert_eq!(db.status().size, 1);
}
