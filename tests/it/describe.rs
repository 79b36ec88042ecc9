//! Describing statements without running them, and what `execute` counts: the same on both
//! backends.

use weir::{Error, Executor, Transaction};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    execute_counts_the_rows_a_statement_returns,
    describe_gives_parameters_and_typed_columns_without_running,
    describe_of_invalid_sql_is_typed_and_leaves_the_pool_healthy,
    describe_runs_in_a_transaction_and_on_a_connection,
);

async fn create_described(ctx: &Ctx) {
    let ddl = ctx.sql(
        "CREATE TABLE described (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT)",
        "CREATE TABLE described (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, note TEXT)",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
}

/// A query's parameters and columns (names, types, NOT NULL or not) come back from an empty
/// table, and an INSERT has parameters but no columns; neither statement runs.
async fn describe_gives_parameters_and_typed_columns_without_running(ctx: Ctx) {
    create_described(&ctx).await;
    let db = &ctx.db;
    let d = db
        .describe("SELECT id, name, note, 1 + 1 AS two FROM described WHERE id = $1 AND name <> $2")
        .await
        .unwrap();
    assert_eq!(d.params.len(), 2, "{d:?}");
    let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "note", "two"]);
    let types: Vec<&str> = d.columns.iter().map(|c| c.sql_type.as_str()).collect();
    if ctx.backend == weir::Backend::Postgres {
        assert_eq!(types, ["int8", "varchar", "text", "int4"]);
        let params: Vec<&str> = d.params.iter().map(|p| p.sql_type.as_str()).collect();
        assert_eq!(params, ["int8", "text"]);
    } else {
        assert_eq!(&types[..3], ["BIGINT", "VARCHAR", "TEXT"], "{d:?}");
    }
    assert_eq!(d.columns[0].nullable, Some(false), "id is the primary key");
    assert_eq!(d.columns[1].nullable, Some(false), "name is NOT NULL");
    assert_eq!(d.columns[2].nullable, Some(true), "note may be NULL");

    // `$n` repeated and out of order count once each, as when the statement runs.
    let d = db
        .describe("SELECT name FROM described WHERE id = $2 OR id = $1 OR id = $2")
        .await
        .unwrap();
    assert_eq!(d.params.len(), 2, "{d:?}");

    let insert = "INSERT INTO described (id, name) VALUES ($1, $2)";
    let d = db.describe(insert).await.unwrap();
    assert!(d.columns.is_empty(), "{d:?}");
    assert_eq!(d.params.len(), 2, "{d:?}");
    let n: i64 = db
        .fetch_scalar("SELECT COUNT(*) FROM described", ())
        .await
        .unwrap();
    assert_eq!(n, 0, "describe ran a statement");
    // What was described runs as usual afterwards.
    assert_eq!(db.execute(insert, (1, "a")).await.unwrap(), 1);
}

/// Invalid SQL fails with the server's typed error, an empty statement and (on MySQL) a `?`
/// as `execute` refuses them; the one session of the pool is fine afterwards.
async fn describe_of_invalid_sql_is_typed_and_leaves_the_pool_healthy(ctx: Ctx) {
    create_described(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    for _ in 0..2 {
        let err = db
            .describe("SELEKT nothing FROM nowhere")
            .await
            .unwrap_err();
        assert!(err.as_database_error().is_some(), "{err:?}");
        let err = db.describe("SELECT nope FROM described").await.unwrap_err();
        assert!(err.as_database_error().is_some(), "{err:?}");
    }
    for sql in ["", "  ;", "-- nothing"] {
        let err = db.describe(sql).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidStatement(_)),
            "{sql:?}: {err:?}"
        );
    }
    if ctx.backend == weir::Backend::MySql {
        let err = db
            .describe("SELECT id FROM described WHERE id = ?")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidStatement(m) if m.contains("$1..$n")),
            "{err:?}"
        );
    }
    let one: i64 = db.fetch_scalar("SELECT 1 + $1", (1,)).await.unwrap();
    assert_eq!(one, 2);
    assert_eq!(db.status().size, 1, "the session was kept");
}

/// describe works through every executor; inside a transaction a failed one fails the
/// transaction, as a failed statement does.
async fn describe_runs_in_a_transaction_and_on_a_connection(ctx: Ctx) {
    create_described(&ctx).await;
    let db = &ctx.db;
    let conn = db.acquire().await.unwrap();
    let d = conn.describe("SELECT name FROM described").await.unwrap();
    assert_eq!(d.columns[0].name, "name");

    let tx = db.begin().await.unwrap();
    tx.execute("INSERT INTO described (id, name) VALUES ($1, $2)", (1, "a"))
        .await
        .unwrap();
    let d = tx
        .describe("SELECT id AS k FROM described WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(d.columns[0].name, "k");
    tx.commit().await.unwrap();
    let n: i64 = db
        .fetch_scalar("SELECT COUNT(*) FROM described", ())
        .await
        .unwrap();
    assert_eq!(n, 1);

    let tx = db.begin().await.unwrap();
    assert!(tx.describe("SELECT nope FROM described").await.is_err());
    let err = tx.execute("SELECT 1", ()).await.unwrap_err();
    assert!(matches!(err, Error::TransactionAborted(_)), "{err:?}");
    assert!(tx.commit().await.is_err());
}

async fn create_counted(ctx: &Ctx) {
    ctx.db
        .execute("CREATE TABLE counted (id INT PRIMARY KEY, v INT)", ())
        .await
        .unwrap();
}

/// A statement that returns rows counts the rows it returned, on both backends (MySQL reports
/// no affected rows for a SELECT, PostgreSQL's tag counts them); one without rows counts the
/// rows it changed.
async fn execute_counts_the_rows_a_statement_returns(ctx: Ctx) {
    create_counted(&ctx).await;
    let db = &ctx.db;
    let n = db
        .execute(
            "INSERT INTO counted (id, v) VALUES (1, 0), (2, 0), (3, 0)",
            (),
        )
        .await
        .unwrap();
    assert_eq!(n, 3, "INSERT");
    let select = "SELECT id FROM counted WHERE id <= $1";
    assert_eq!(db.execute(select, (2,)).await.unwrap(), 2, "SELECT");
    assert_eq!(db.execute(select, (0,)).await.unwrap(), 0, "empty SELECT");
    let show = ctx.sql("SHOW search_path", "SHOW VARIABLES LIKE 'version'");
    assert_eq!(db.execute(show, ()).await.unwrap(), 1, "{show}");
    let update = "UPDATE counted SET v = 1 WHERE id >= $1";
    assert_eq!(db.execute(update, (2,)).await.unwrap(), 2, "UPDATE");
    let tx: Transaction<'_> = db.begin().await.unwrap();
    assert_eq!(
        tx.execute(select, (3,)).await.unwrap(),
        3,
        "SELECT in a transaction"
    );
    tx.commit().await.unwrap();
    // Nothing of a counted result is left unread: the pool runs the next statement.
    assert_eq!(db.execute(select, (1,)).await.unwrap(), 1);
}
