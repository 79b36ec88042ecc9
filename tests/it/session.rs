//! One borrower's session state never reaches the next, and a connection whose session did not
//! change is reused as it is, with no reset round trip.

use std::time::Duration;

use weir::{Backend, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::queries::create_users;

both_backends!(
    plain_work_keeps_the_same_connection,
    session_variable_does_not_leak,
    temporary_table_does_not_leak,
    session_lock_does_not_leak,
    hand_written_begin_does_not_leak_a_transaction,
    a_session_change_that_cannot_last_is_warned_about_once,
);

fn backend_id(ctx: &Ctx) -> &'static str {
    ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CONNECTION_ID() + 0",
    )
}

/// Queries, writes and transactions (committed, rolled back, dropped) leave the session clean:
/// the pool's one connection is the same server session throughout.
async fn plain_work_keeps_the_same_connection(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let id: i64 = db.fetch_scalar(backend_id(&ctx), ()).await.unwrap();
    db.execute("INSERT INTO users (id, name) VALUES ($1, 'a')", (1,))
        .await
        .unwrap();
    let _: Vec<(i64,)> = db.fetch_all("SELECT id FROM users", ()).await.unwrap();
    let tx = db.begin().await.unwrap();
    tx.execute("UPDATE users SET name = 'b'", ()).await.unwrap();
    tx.commit().await.unwrap();
    let tx = db
        .begin_with(weir::TxOptions::default().isolation(weir::IsolationLevel::Serializable))
        .await
        .unwrap();
    tx.execute("UPDATE users SET name = 'c'", ()).await.unwrap();
    tx.rollback().await.unwrap();
    drop(db.begin().await.unwrap());
    let _ = db.execute("SELEC oops", ()).await.unwrap_err();
    let same: i64 = db.fetch_scalar(backend_id(&ctx), ()).await.unwrap();
    assert_eq!(same, id, "the connection was replaced");
}

/// A session variable set by one call is not seen by the next.
async fn session_variable_does_not_leak(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let (set, get) = match ctx.backend {
        Backend::Postgres => (
            "SET application_name = 'leaked'",
            "SELECT current_setting('application_name')",
        ),
        Backend::MySql => (
            "SET @weir_leak = 'leaked'",
            "SELECT CAST(COALESCE(@weir_leak, '') AS CHAR)",
        ),
    };
    db.execute(set, ()).await.unwrap();
    let seen: String = db.fetch_scalar(get, ()).await.unwrap();
    assert_ne!(seen, "leaked");
    // Within one checked-out connection the variable holds, as the caller meant it to.
    let conn = db.acquire().await.unwrap();
    conn.execute(set, ()).await.unwrap();
    let seen: String = conn.fetch_scalar(get, ()).await.unwrap();
    assert_eq!(seen, "leaked");
    drop(conn);
    let seen: String = db.fetch_scalar(get, ()).await.unwrap();
    assert_ne!(seen, "leaked");
}

/// A temporary table made on a connection is gone for the next borrower.
async fn temporary_table_does_not_leak(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let conn = db.acquire().await.unwrap();
    conn.execute("CREATE TEMPORARY TABLE scratch (x INT)", ())
        .await
        .unwrap();
    conn.execute("INSERT INTO scratch VALUES (1)", ())
        .await
        .unwrap();
    drop(conn);
    let err = db
        .fetch_scalar::<i64, _>("SELECT COUNT(*) FROM scratch", ())
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some(), "{err:?}");
}

/// A session-level lock taken through the pool is released when the call returns its
/// connection: another session can take it at once.
async fn session_lock_does_not_leak(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let (take, try_take) = match ctx.backend {
        Backend::Postgres => (
            "SELECT pg_advisory_lock(4242)::text",
            "SELECT pg_try_advisory_lock(4242)::int::int8",
        ),
        Backend::MySql => (
            "SELECT CAST(GET_LOCK('weir-4242', 0) AS CHAR)",
            "SELECT GET_LOCK('weir-4242', 0) + 0",
        ),
    };
    let _: Option<String> = db.fetch_scalar(take, ()).await.unwrap();
    let other = ctx.pool(|c| c.with_max_size(1)).await;
    assert!(
        eventually(Duration::from_secs(2), || async {
            other.fetch_scalar::<i64, _>(try_take, ()).await.unwrap() == 1
        })
        .await,
        "the lock stayed with a pooled connection"
    );
}

/// `BEGIN` sent by hand through the pool does not leave a pooled connection in a transaction.
async fn hand_written_begin_does_not_leak_a_transaction(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    db.execute(ctx.sql("BEGIN", "START TRANSACTION"), ())
        .await
        .unwrap();
    db.execute("INSERT INTO users (id, name) VALUES (1, 'x')", ())
        .await
        .unwrap();
    // The insert ran on a fresh session in autocommit: visible to everyone, nothing left open.
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        eventually(Duration::from_secs(2), || async {
            ctx.open_transactions().await == 0
        })
        .await
    );
}

/// A statement that changes its session, run on the pool or in a transaction begun on it, does
/// not last (the session is closed afterwards): a WARN says so, naming `after_connect` and
/// `Connection`, once per SQL text. On a `Connection`, where the change lasts, nothing is said.
async fn a_session_change_that_cannot_last_is_warned_about_once(ctx: Ctx) {
    let config = ctx.config.clone();
    let backend = ctx.backend;
    let text = tokio::task::spawn_blocking(move || {
        crate::secrets::captured(async {
            let db = weir::Database::connect_with(config).await.unwrap();
            let (set, set_in_tx, set_on_conn) = match backend {
                Backend::Postgres => (
                    "SET application_name = 'weir-warn-pool'",
                    "SET application_name = 'weir-warn-tx'",
                    "SET application_name = 'weir-warn-conn'",
                ),
                Backend::MySql => (
                    "SET @weir_warn_pool = 1",
                    "SET @weir_warn_tx = 1",
                    "SET @weir_warn_conn = 1",
                ),
            };
            db.execute(set, ()).await.unwrap();
            db.execute(set, ()).await.unwrap();
            let tx = db.begin().await.unwrap();
            tx.execute(set_in_tx, ()).await.unwrap();
            tx.commit().await.unwrap();
            let conn = db.acquire().await.unwrap();
            conn.execute(set_on_conn, ()).await.unwrap();
        })
    })
    .await
    .unwrap();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("WARN") && l.contains("does not last"))
        .collect();
    assert_eq!(warnings.len(), 2, "{text}");
    assert!(warnings[0].contains("weir_warn_pool") || warnings[0].contains("weir-warn-pool"));
    assert!(warnings[1].contains("weir_warn_tx") || warnings[1].contains("weir-warn-tx"));
    assert!(warnings
        .iter()
        .all(|w| w.contains("after_connect") && w.contains("Connection")));
}
