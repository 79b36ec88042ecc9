//! The pool: counts, saturation versus outage, health checks, idle reaping, graceful close,
//! and cancellation that never lends out a half-used connection.

use std::time::{Duration, Instant};

use weir::{Backend, CheckoutOrder, Database, DatabaseConfig, Error, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};

both_backends!(
    status_counts_idle_and_in_use,
    saturated_pool_times_out_typed_and_on_time,
    server_that_never_answers_is_unreachable_not_saturated,
    min_idle_warms_and_idle_timeout_reaps,
    dead_idle_connection_is_replaced_not_handed_out,
    close_waits_for_work_then_refuses,
    closed_pool_leaves_no_session_on_the_server,
    cancelled_query_stops_on_server_and_pool_recovers,
    checkout_order_picks_the_newest_or_the_oldest_idle_connection,
);

/// status() reports open, idle and checked-out connections.
async fn status_counts_idle_and_in_use(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(3)).await;
    let a = db.acquire().await.unwrap();
    let b = db.acquire().await.unwrap();
    let s = db.status();
    assert_eq!((s.max_size, s.in_use), (3, 2));
    drop((a, b));
    let s = db.status();
    assert_eq!((s.size, s.idle, s.in_use), (2, 2, 0));
}

/// With every connection busy, a call fails with PoolTimeout after the acquire timeout, not
/// before and not much after, and the error is not an outage.
async fn saturated_pool_times_out_typed_and_on_time(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(1)
                .with_acquire_timeout(Duration::from_millis(300))
        })
        .await;
    let held = db.acquire().await.unwrap();
    let started = Instant::now();
    let err = db.fetch_scalar::<i64, _>("SELECT 1", ()).await.unwrap_err();
    let waited = started.elapsed();
    assert!(
        matches!(err, Error::PoolTimeout { max_size: 1, .. }),
        "{err:?}"
    );
    assert!(!err.is_unreachable() && err.is_timeout());
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    drop(held);
    let one: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert_eq!(one, 1);
}

/// A listener that accepts TCP but never speaks: connecting hits the deadline and the error
/// says the database is unreachable, not that the pool is saturated.
async fn server_that_never_answers_is_unreachable_not_saturated(ctx: Ctx) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let cfg = ctx
        .config
        .clone()
        .with_port(port)
        .with_connect_timeout(Duration::from_millis(300))
        .with_acquire_timeout(Duration::from_secs(1));
    let db = Database::connect_lazy_with(cfg).unwrap();
    let started = Instant::now();
    let err = db.fetch_scalar::<i64, _>("SELECT 1", ()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    match &err {
        Error::Unreachable { last_error, .. } => {
            assert!(
                last_error.as_deref().unwrap_or("").contains("timed out"),
                "{err}"
            )
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.is_unreachable());
    drop(silent);
}

/// min_idle connections are opened up front; idle ones beyond it are closed after idle_timeout.
async fn min_idle_warms_and_idle_timeout_reaps(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(4)
                .with_min_idle(2)
                .with_idle_timeout(Some(Duration::from_millis(300)))
        })
        .await;
    assert_eq!(db.status().size, 2);
    let conns: Vec<_> = futures_util::future::join_all((0..4).map(|_| db.acquire())).await;
    assert_eq!(db.status().size, 4);
    drop(conns);
    assert!(
        eventually(Duration::from_secs(3), || async { db.status().size == 2 }).await,
        "idle connections not reaped: {:?}",
        db.status()
    );
}

/// A connection killed by the server while idle is noticed at checkout and replaced: the
/// caller never sees it.
async fn dead_idle_connection_is_replaced_not_handed_out(ctx: Ctx) {
    let db = ctx
        .pool(|c| c.with_max_size(1).with_idle_check_after(Duration::ZERO))
        .await;
    let id_sql = ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CONNECTION_ID() + 0",
    );
    let victim: i64 = db.fetch_scalar(id_sql, ()).await.unwrap();
    let kill = match ctx.backend {
        Backend::Postgres => "SELECT pg_terminate_backend($1::int4)",
        Backend::MySql => "KILL CONNECTION $1",
    };
    if ctx.backend == Backend::Postgres {
        let _: bool = ctx.db.fetch_scalar(kill, (victim,)).await.unwrap();
    } else {
        ctx.db
            .execute(&kill.replace("$1", &victim.to_string()), ())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let now: i64 = db.fetch_scalar(id_sql, ()).await.unwrap();
    assert_ne!(now, victim);
}

/// close() lets in-flight work finish, refuses new work at once, then closes every connection.
async fn close_waits_for_work_then_refuses(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    let sleep = ctx.sql("SELECT pg_sleep(0.3)::text", "SELECT SLEEP(0.3)");
    let busy = db.clone();
    let in_flight = tokio::spawn(async move { busy.execute(sleep, ()).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let closing = db.clone();
    let closer = tokio::spawn(async move { closing.close(Duration::from_secs(5)).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = db.fetch_scalar::<i64, _>("SELECT 1", ()).await.unwrap_err();
    assert!(matches!(err, Error::PoolClosed), "{err:?}");
    in_flight.await.unwrap().unwrap();
    closer.await.unwrap();
    assert_eq!(db.status().size, 0);
}

/// Once close() returns, the server lists nothing the pool opened: not its sessions, not a
/// session discarded mid-statement, not the side connection MySQL's pool keeps to watch
/// closing sessions (which would otherwise stay 2 s). Counted as every session on the test's
/// database against the count before the pool opened (`ctx.db`'s sessions sit idle meanwhile).
async fn closed_pool_leaves_no_session_on_the_server(ctx: Ctx) {
    let admin = ctx.pool(|c| c.with_max_size(1)).await;
    let count = ctx.sql(
        "SELECT COUNT(*)::int8 FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
    );
    let before: i64 = admin.fetch_scalar(count, ()).await.unwrap();
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    let slow = ctx.sql("SELECT pg_sleep(1)::text", "SELECT CAST(SLEEP(1) AS CHAR)");
    let cut = db
        .with_timeout(Duration::from_millis(50))
        .execute(slow, ())
        .await;
    assert!(matches!(cut, Err(Error::QueryTimeout { .. })), "{cut:?}");
    let v: i64 = db
        .fetch_scalar(ctx.sql("SELECT $1::int8 + 0", "SELECT $1 + 0"), (7i64,))
        .await
        .unwrap();
    assert_eq!(v, 7);
    db.close(Duration::from_secs(1)).await;
    let left = || async { admin.fetch_scalar::<i64, _>(count, ()).await.unwrap() };
    assert!(
        eventually(Duration::from_millis(500), || async {
            left().await == before
        })
        .await,
        "{} sessions on the server after close, {before} before the pool opened",
        left().await
    );
}

/// A caller's own timeout around a slow query: the statement is gone from the server well
/// before it would have ended (the bound is 3 s for a loaded machine: the cancel needs a
/// connection of its own, and each look at the server opens one too), and the next 100 queries
/// on the pool succeed with their own results.
async fn cancelled_query_stops_on_server_and_pool_recovers(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    let slow = ctx.sql(
        "SELECT pg_sleep(30) /* weir-cancel-me */",
        "SELECT SLEEP(30) /* weir-cancel-me */",
    );
    let r = tokio::time::timeout(Duration::from_millis(200), db.execute(slow, ())).await;
    assert!(r.is_err(), "the sleep finished?");
    assert!(
        eventually(Duration::from_secs(3), || async {
            ctx.running("weir-cancel-me").await == 0
        })
        .await,
        "statement still running on the server"
    );
    for i in 0..100i64 {
        let v: i64 = db.fetch_scalar("SELECT $1 + 0", (i,)).await.unwrap();
        assert_eq!(v, i);
    }
    assert!(eventually(Duration::from_secs(1), || async { db.status().in_use == 0 }).await);
}

/// LIFO (the default) hands out the connection returned last, FIFO the one idle longest; the
/// URL option sets the same as the builder.
async fn checkout_order_picks_the_newest_or_the_oldest_idle_connection(ctx: Ctx) {
    let id_sql = ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CONNECTION_ID() + 0",
    );
    for order in [CheckoutOrder::Lifo, CheckoutOrder::Fifo] {
        let db = ctx
            .pool(|c| c.with_max_size(2).with_checkout_order(order))
            .await;
        let first = db.acquire().await.unwrap();
        let second = db.acquire().await.unwrap();
        let first_id: i64 = first.fetch_scalar(id_sql, ()).await.unwrap();
        let second_id: i64 = second.fetch_scalar(id_sql, ()).await.unwrap();
        assert_ne!(first_id, second_id);
        drop(first);
        drop(second);
        let mut next = Vec::new();
        for _ in 0..3 {
            next.push(db.fetch_scalar::<i64, _>(id_sql, ()).await.unwrap());
        }
        let expected = match order {
            // The one returned last, again and again.
            CheckoutOrder::Lifo => [second_id, second_id, second_id],
            // The one idle longest, which goes to the back of the line after each call.
            CheckoutOrder::Fifo => [first_id, second_id, first_id],
        };
        assert_eq!(next, expected, "{order:?}");
        db.close(Duration::from_secs(5)).await;
    }
    let url = format!(
        "{}?checkout_order=fifo",
        ctx.sql("postgres://h/d", "mysql://h/d")
    );
    let fifo = DatabaseConfig::from_url(&url).unwrap();
    assert!(format!("{fifo:?}").contains("checkout_order: Fifo"));
    let bad = DatabaseConfig::from_url(&url.replace("fifo", "random")).unwrap_err();
    assert!(matches!(bad, Error::Config(_)), "{bad:?}");
}
