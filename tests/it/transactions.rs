//! Transactions: commit, rollback, rollback on drop, savepoints, options, and no transaction
//! ever left open on a pooled connection.

use std::time::Duration;

use weir::{Backend, Error, Executor, IsolationLevel, TxOptions};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::queries::create_users;

both_backends!(
    commit_persists_and_rollback_discards,
    dropped_transaction_rolls_back_before_reuse,
    savepoints_nest_and_roll_back_alone,
    isolation_and_read_only_apply,
    cancelled_begin_and_commit_leave_nothing_open,
    transaction_on_a_checked_out_connection,
    a_failed_statement_fails_the_transaction_and_commit_rolls_it_back,
    a_savepoint_taken_before_the_failure_recovers_the_transaction,
    a_dropped_transaction_says_where_it_was_begun,
);

async fn count(db: &impl Executor) -> i64 {
    db.fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap()
}

async fn insert(db: &impl Executor, id: i64) {
    db.execute("INSERT INTO users (id, name) VALUES ($1, 'n')", (id,))
        .await
        .unwrap();
}

/// A committed transaction's writes are visible; a rolled-back one's are not.
async fn commit_persists_and_rollback_discards(ctx: Ctx) {
    create_users(&ctx).await;
    let tx = ctx.db.begin().await.unwrap();
    insert(&tx, 1).await;
    assert_eq!(count(&tx).await, 1);
    tx.commit().await.unwrap();
    assert_eq!(count(&ctx.db).await, 1);

    let tx = ctx.db.begin().await.unwrap();
    insert(&tx, 2).await;
    tx.rollback().await.unwrap();
    assert_eq!(count(&ctx.db).await, 1);
    assert_eq!(ctx.db.status().in_use, 0);
}

/// Dropping a transaction without commit rolls it back, and no pooled connection stays inside
/// a transaction (its locks would block everyone).
async fn dropped_transaction_rolls_back_before_reuse(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    {
        let tx = db.begin().await.unwrap();
        insert(&tx, 1).await;
    }
    // The only connection comes back clean: outside any transaction, the insert gone.
    assert_eq!(count(&db).await, 0);
    assert!(
        eventually(Duration::from_secs(2), || async {
            ctx.open_transactions().await == 0
        })
        .await,
        "a transaction was left open on the server"
    );
    // The row lock is gone: another session can write the same key at once.
    insert(&ctx.db, 1).await;
}

/// A savepoint rolled back (or dropped) undoes only its own writes.
async fn savepoints_nest_and_roll_back_alone(ctx: Ctx) {
    create_users(&ctx).await;
    let mut tx = ctx.db.begin().await.unwrap();
    insert(&tx, 1).await;
    {
        let sp = tx.begin().await.unwrap();
        assert_eq!(sp.depth(), 2);
        insert(&sp, 2).await;
        sp.rollback().await.unwrap();
    }
    {
        let sp = tx.begin().await.unwrap();
        insert(&sp, 3).await;
        // dropped: rolled back before the parent's next statement
    }
    {
        let mut sp = tx.begin().await.unwrap();
        insert(&sp, 4).await;
        let inner = sp.begin().await.unwrap();
        insert(&inner, 5).await;
        inner.commit().await.unwrap();
        sp.commit().await.unwrap();
    }
    let ids: Vec<(i64,)> = tx
        .fetch_all("SELECT id FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(ids, vec![(1,), (4,), (5,)]);
    tx.commit().await.unwrap();
    assert_eq!(count(&ctx.db).await, 3);
}

/// Isolation level and read-only mode reach the server.
async fn isolation_and_read_only_apply(ctx: Ctx) {
    create_users(&ctx).await;
    let tx = ctx
        .db
        .begin_with(TxOptions::default().isolation(IsolationLevel::Serializable))
        .await
        .unwrap();
    if ctx.backend == Backend::Postgres {
        let level: String = tx
            .fetch_scalar("SHOW transaction_isolation", ())
            .await
            .unwrap();
        assert_eq!(level, "serializable");
    }
    insert(&tx, 1).await;
    tx.commit().await.unwrap();

    let tx = ctx
        .db
        .begin_with(TxOptions::default().read_only())
        .await
        .unwrap();
    assert_eq!(count(&tx).await, 1);
    let err = tx
        .execute("INSERT INTO users (id, name) VALUES (2, 'x')", ())
        .await
        .unwrap_err();
    assert!(err.as_database_error().is_some(), "{err:?}");
    drop(tx);
    assert_eq!(count(&ctx.db).await, 1);
    // The next transaction is read-write again: the options applied to one transaction only.
    let tx = ctx.db.begin().await.unwrap();
    insert(&tx, 3).await;
    tx.commit().await.unwrap();
}

/// Futures of begin, statements and commit dropped at their first await leave no open
/// transaction and no lent connection (sqlx#4393).
async fn cancelled_begin_and_commit_leave_nothing_open(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    for i in 0..30 {
        // Poll once, then drop: the BEGIN may or may not have been sent.
        let begin = db.begin();
        let _ = tokio::time::timeout(Duration::from_micros(1), begin).await;
        let tx = db.begin().await.unwrap();
        insert(&tx, i).await;
        let commit = tx.commit();
        if i % 2 == 0 {
            let _ = tokio::time::timeout(Duration::from_micros(1), commit).await;
        } else {
            commit.await.unwrap();
        }
    }
    assert!(
        eventually(Duration::from_secs(3), || async {
            db.status().in_use == 0 && ctx.open_transactions().await == 0
        })
        .await,
        "left behind: {:?}, open transactions {}",
        db.status(),
        ctx.open_transactions().await
    );
    // Every odd insert committed; the even ones either committed or rolled back, never half.
    let odd: i64 = db
        .fetch_scalar("SELECT COUNT(*) FROM users WHERE MOD(id, 2) = 1", ())
        .await
        .unwrap();
    assert_eq!(odd, 15);
}

/// A transaction on a checked-out connection; a failed statement does not end it on MySQL, and
/// on PostgreSQL the aborted transaction is rolled back on drop.
async fn transaction_on_a_checked_out_connection(ctx: Ctx) {
    create_users(&ctx).await;
    let mut conn = ctx.db.acquire().await.unwrap();
    {
        let tx = conn.begin().await.unwrap();
        insert(&tx, 1).await;
        let dup = tx
            .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
            .await
            .unwrap_err();
        assert!(matches!(dup, Error::UniqueViolation(_)), "{dup:?}");
    }
    // Dropped uncommitted: rolled back before the connection's next statement.
    assert_eq!(count(&conn).await, 0);
    let tx = conn.begin().await.unwrap();
    insert(&tx, 2).await;
    tx.commit().await.unwrap();
    assert_eq!(count(&ctx.db).await, 1);
}

/// The rule on both backends: once a statement fails inside a transaction, every later
/// statement fails fast with `TransactionAborted` carrying that first failure, and `commit`
/// rolls back and says so: nothing of the transaction is stored, nothing stays open. (Before:
/// PostgreSQL's COMMIT answered ROLLBACK and `commit` returned Ok with 0 rows stored; MariaDB
/// committed the rows around the failed statement.)
async fn a_failed_statement_fails_the_transaction_and_commit_rolls_it_back(ctx: Ctx) {
    create_users(&ctx).await;
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let tx = db.begin().await.unwrap();
    insert(&tx, 1).await;
    let dup = tx
        .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
        .await
        .unwrap_err();
    assert!(dup.is_unique_violation(), "{dup:?}");
    let third = tx
        .execute("INSERT INTO users (id, name) VALUES (3, 'n')", ())
        .await
        .unwrap_err();
    assert!(
        matches!(&third, Error::TransactionAborted(first) if first.is_unique_violation()),
        "{third:?}"
    );
    let read = tx
        .fetch_all::<(i64,), _>("SELECT id FROM users", ())
        .await
        .unwrap_err();
    assert!(matches!(read, Error::TransactionAborted(_)), "{read:?}");
    let commit = tx.commit().await.unwrap_err();
    assert!(
        matches!(&commit, Error::TransactionAborted(first) if first.is_unique_violation()),
        "{commit:?}"
    );
    // The predicates answer for the first failure: a service branching on them after commit
    // sees the duplicate key.
    assert!(commit.is_unique_violation() && !commit.is_transient());
    assert_eq!(commit.code(), dup.code());
    assert_eq!(count(&db).await, 0, "a failed transaction stored rows");
    assert_eq!(ctx.open_transactions().await, 0);

    // The same through transaction_with_retry, whose work ignores the failure.
    let r = db
        .transaction_with_retry(|tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO users (id, name) VALUES (1, 'n')", ())
                    .await?;
                let _ = tx
                    .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
                    .await;
                let _ = tx
                    .execute("INSERT INTO users (id, name) VALUES (3, 'n')", ())
                    .await;
                Ok(())
            })
        })
        .await;
    assert!(matches!(r, Err(Error::TransactionAborted(_))), "{r:?}");
    assert_eq!(count(&db).await, 0);

    // The session is clean and reused: the next transaction commits.
    let tx = db.begin().await.unwrap();
    insert(&tx, 7).await;
    tx.commit().await.unwrap();
    assert_eq!(count(&db).await, 1);
}

/// A failure inside a nested transaction (a savepoint) fails it alone: rolled back, committed
/// (which rolls it back and says so) or dropped, the outer transaction goes on and commits. A
/// failure in the outer transaction refuses a new savepoint.
async fn a_savepoint_taken_before_the_failure_recovers_the_transaction(ctx: Ctx) {
    create_users(&ctx).await;
    let mut tx = ctx.db.begin().await.unwrap();
    insert(&tx, 1).await;
    {
        let sp = tx.begin().await.unwrap();
        insert(&sp, 2).await;
        let dup = sp
            .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup:?}");
        sp.rollback().await.unwrap();
    }
    insert(&tx, 3).await;
    {
        let sp = tx.begin().await.unwrap();
        let _ = sp
            .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
            .await
            .unwrap_err();
        let err = sp.commit().await.unwrap_err();
        assert!(matches!(err, Error::TransactionAborted(_)), "{err:?}");
    }
    insert(&tx, 4).await;
    {
        let sp = tx.begin().await.unwrap();
        let _ = sp
            .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
            .await
            .unwrap_err();
        // dropped: rolled back before the parent's next statement
    }
    insert(&tx, 5).await;
    let ids: Vec<(i64,)> = tx
        .fetch_all("SELECT id FROM users ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(ids, vec![(1,), (3,), (4,), (5,)]);
    tx.commit().await.unwrap();
    assert_eq!(count(&ctx.db).await, 4);

    let mut tx = ctx.db.begin().await.unwrap();
    let _ = tx
        .execute("INSERT INTO users (id, name) VALUES (1, 'dup')", ())
        .await
        .unwrap_err();
    let err = tx.begin().await.unwrap_err();
    assert!(matches!(err, Error::TransactionAborted(_)), "{err:?}");
    tx.rollback().await.unwrap();
    assert_eq!(count(&ctx.db).await, 4);
}

/// A transaction dropped without commit or rollback is rolled back, and a DEBUG event says so,
/// naming the file and line of the `begin` that opened it; a committed one leaves no such event.
async fn a_dropped_transaction_says_where_it_was_begun(ctx: Ctx) {
    create_users(&ctx).await;
    let config = ctx.config.clone();
    let (text, line) = tokio::task::spawn_blocking(move || {
        let mut line = 0;
        let text = crate::secrets::captured(async {
            let db = weir::Database::connect_with(config).await.unwrap();
            let committed = db.begin().await.unwrap();
            committed.commit().await.unwrap();
            line = line!() + 1;
            let tx = db.begin().await.unwrap();
            insert(&tx, 1).await;
            drop(tx);
            assert_eq!(count(&db).await, 0);
        });
        (text, line)
    })
    .await
    .unwrap();
    let dropped: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("dropped without commit"))
        .collect();
    assert_eq!(dropped.len(), 1, "{text}");
    assert!(dropped[0].starts_with("DEBUG"), "{}", dropped[0]);
    assert!(
        dropped[0].contains(&format!("tests/it/transactions.rs:{line}")),
        "{}",
        dropped[0]
    );
}
