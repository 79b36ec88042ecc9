//! A task that panics inside a transaction: its locks are released within a second, nothing of
//! it is committed, no transaction stays open on the server, and the pool recovers.

use std::time::{Duration, Instant};

use weir::{Executor, Transaction};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::health::{assert_pool_healthy, watch};

both_backends!(panic_inside_a_transaction_releases_its_locks);

/// Locks the row and changes it, then reports the lock taken.
async fn lock_and_update(tx: &Transaction<'_>, ctx_sql: &str) {
    let n: i32 = tx.fetch_scalar(ctx_sql, ()).await.unwrap();
    assert_eq!(n, 0);
    tx.execute("UPDATE t SET n = 99 WHERE id = 1", ())
        .await
        .unwrap();
}

/// A spawned task takes a row lock (`SELECT ... FOR UPDATE`, then an UPDATE) in a transaction
/// of the pool's and, in a second round, of a checked-out connection's, then panics: another
/// session, refused the row with `FOR UPDATE NOWAIT` before, gets it within 1 s of the panic and sees it
/// unchanged, the server shows no open transaction, and the pool passes the health check.
async fn panic_inside_a_transaction_releases_its_locks(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL)", ())
        .await
        .unwrap();
    ctx.db
        .execute("INSERT INTO t VALUES (1, 0)", ())
        .await
        .unwrap();
    let pool = watch(&ctx, |c| c.with_max_size(2)).await;
    let lock_sql = "SELECT n FROM t WHERE id = 1 FOR UPDATE";
    let nowait = "SELECT n FROM t WHERE id = 1 FOR UPDATE NOWAIT";
    for on_connection in [false, true] {
        let (locked, taken) = tokio::sync::oneshot::channel::<()>();
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let db = pool.db.clone();
        let task = tokio::spawn(async move {
            let mut conn = if on_connection {
                Some(db.acquire().await.unwrap())
            } else {
                None
            };
            let tx = match conn.as_mut() {
                Some(c) => c.begin().await.unwrap(),
                None => db.begin().await.unwrap(),
            };
            lock_and_update(&tx, lock_sql).await;
            locked.send(()).unwrap();
            wait.await.unwrap();
            panic!("boom inside a transaction (on a connection: {on_connection})");
        });
        taken.await.unwrap();
        // The lock is held: NOWAIT fails.
        let tx = ctx.db.begin().await.unwrap();
        let held = tx.fetch_scalar::<i32, _>(nowait, ()).await;
        assert!(held.is_err(), "the row was not locked: {held:?}");
        drop(tx);
        let go_at = Instant::now();
        go.send(()).unwrap();
        assert!(task.await.unwrap_err().is_panic());
        // Measured from the end of the unwinding, which the transaction's drop is part of:
        // the panic hook before it (a backtrace, when RUST_BACKTRACE is set, symbolized the
        // first time in a process) is the test harness's time, not weir's.
        let panicked_at = Instant::now();
        // Now the lock must be freed.
        let mut attempts = 0;
        let n: i32 = loop {
            attempts += 1;
            let tx = ctx.db.begin().await.unwrap();
            match tx.fetch_scalar::<i32, _>(nowait, ()).await {
                Ok(n) => {
                    tx.rollback().await.unwrap();
                    break n;
                }
                Err(e) => {
                    assert!(
                        panicked_at.elapsed() < Duration::from_secs(1),
                        "row still locked {:?} after the panic: {e}",
                        panicked_at.elapsed()
                    );
                    drop(tx);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        let freed = panicked_at.elapsed();
        assert!(
            freed < Duration::from_secs(1),
            "lock released after {freed:?}"
        );
        assert_eq!(n, 0, "the panicked transaction's update was committed");
        eprintln!(
            "{}: lock free {freed:?} after the panic ({:?} after it began; on a connection: \
             {on_connection}, {attempts} attempts)",
            ctx.backend,
            go_at.elapsed()
        );
        let closed = eventually(Duration::from_secs(3), || async {
            ctx.open_transactions().await == 0
        })
        .await;
        assert!(
            closed,
            "a transaction stayed open on the server: {:?}",
            open_transaction_details(&ctx).await
        );
        assert_pool_healthy(&ctx, &pool).await;
    }
}

/// What the server says of the open transactions, for a failure message.
async fn open_transaction_details(ctx: &Ctx) -> Vec<Vec<weir::Value>> {
    let sql = ctx.sql(
        "SELECT pid::text, state, query, now() - xact_start FROM pg_stat_activity \
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        "SELECT t.trx_mysql_thread_id, t.trx_state, t.trx_started, t.trx_query, \
         p.COMMAND, p.TIME, p.INFO FROM information_schema.INNODB_TRX t \
         JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
         WHERE p.DB = DATABASE()",
    );
    ctx.db.fetch_all(sql, ()).await.unwrap_or_default()
}
