//! Describing statements without running them, and what `execute` counts: the same on both
//! backends.

use weir::{Executor, Transaction};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(execute_counts_the_rows_a_statement_returns,);

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
