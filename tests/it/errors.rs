//! Server errors mean the same on both backends.

use weir::{DatabaseErrorKind, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::queries::create_users;

both_backends!(
    duplicate_key_is_unique_violation_with_its_name,
    foreign_key_violation_is_typed,
    syntax_error_keeps_the_pool_healthy,
);

/// A duplicate key is UniqueViolation on both backends, naming the constraint or key.
async fn duplicate_key_is_unique_violation_with_its_name(ctx: Ctx) {
    create_users(&ctx).await;
    ctx.db
        .execute(
            "INSERT INTO users (id, name, email) VALUES (1, 'a', 'a@x')",
            (),
        )
        .await
        .unwrap();
    let err = ctx
        .db
        .execute(
            "INSERT INTO users (id, name, email) VALUES (2, 'b', $1)",
            ("a@x",),
        )
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    let db_err = err.as_database_error().unwrap();
    assert_eq!(db_err.kind(), DatabaseErrorKind::UniqueViolation);
    let constraint = db_err.constraint.as_deref().unwrap_or("");
    assert!(
        constraint.contains("email"),
        "constraint {constraint:?} in {err}"
    );
    assert!(!err.is_transient());
}

/// A missing parent row is ForeignKeyViolation on both backends.
async fn foreign_key_violation_is_typed(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE parent (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    ctx.db
        .execute(
            "CREATE TABLE child (id INT PRIMARY KEY, parent_id INT, CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id))",
            (),
        )
        .await
        .unwrap();
    let err = ctx
        .db
        .execute("INSERT INTO child (id, parent_id) VALUES (1, $1)", (42,))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignKeyViolation(_)), "{err:?}");
    assert_eq!(
        err.as_database_error().unwrap().constraint.as_deref(),
        Some("child_parent_fk")
    );
}

/// Invalid SQL is a database error with the server's code; the connection stays usable.
async fn syntax_error_keeps_the_pool_healthy(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let err = db.execute("SELEC 1", ()).await.unwrap_err();
    let code = err.code().unwrap();
    assert_eq!(code, ctx.sql("42601", "1064"), "{err}");
    assert_eq!(
        err.as_database_error().unwrap().kind(),
        DatabaseErrorKind::Syntax
    );
    let err = db
        .fetch_all::<(i64,), _>("SELECT * FROM no_such_table", ())
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some(), "{err:?}");
    let one: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert_eq!(one, 1);
}
