//! Server errors mean the same on both backends.

use weir::{DatabaseErrorKind, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::queries::create_users;

both_backends!(
    duplicate_key_is_unique_violation_with_its_name,
    foreign_key_violation_is_typed,
    syntax_error_keeps_the_pool_healthy,
    retries_counted_are_retries_made,
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

/// A transaction that conflicts on every attempt runs as often as the retry policy allows, and
/// the lane's retry count says how many of those runs were retries (it counted the give-up as
/// one more before the fix).
async fn retries_counted_are_retries_made(ctx: Ctx) {
    let policy = weir::RetryPolicy::default()
        .with_max_attempts(3)
        .with_backoff(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        );
    let db = ctx.pool(|c| c.with_retry(policy)).await;
    let conflict = ctx.sql(
        "DO $$ BEGIN RAISE EXCEPTION 'forced conflict' USING ERRCODE = 'serialization_failure'; END $$",
        "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'forced conflict'",
    );
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let err = db
        .transaction_with_retry(|tx| {
            let (conflict, runs) = (conflict.to_owned(), runs.clone());
            Box::pin(async move {
                runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tx.execute(&conflict, ()).await
            })
        })
        .await
        .unwrap_err();
    assert!(err.is_retryable_transaction_error(), "{err:?}");
    assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 3);
    let stats = db.stats();
    assert_eq!(stats.lane("default").unwrap().retried, 2);
}
