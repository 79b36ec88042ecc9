//! Sessions killed from the server side (`pg_terminate_backend`, `KILL CONNECTION`), only ever
//! this test's own: mid-query the caller gets a typed connection-lost error, idle ones are
//! replaced, and the pool is healthy afterwards.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use weir::{Backend, Error, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::health::{assert_pool_healthy, id_sql, watch};

both_backends!(
    killed_mid_query_is_connection_lost,
    idle_victims_are_replaced_before_use,
    idle_victims_are_replaced_under_default_settings,
    idle_victims_without_a_check_fail_typed_once,
);

/// Ends session `id` from the server, through the test's own pool.
pub async fn kill(ctx: &Ctx, id: i64) {
    match ctx.backend {
        Backend::Postgres => {
            let _: bool = ctx
                .db
                .fetch_scalar("SELECT pg_terminate_backend($1::int4)", (id,))
                .await
                .unwrap();
        }
        Backend::MySql => {
            ctx.db
                .execute(&format!("KILL CONNECTION {id}"), ())
                .await
                .unwrap();
        }
    }
}

/// The server-side id of the session running a statement that contains `marker`.
async fn running_id(ctx: &Ctx, marker: &str) -> i64 {
    let sql = ctx.sql(
        "SELECT pid::int8 FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE INFO LIKE $1 AND ID <> CONNECTION_ID()",
    );
    let started = Instant::now();
    loop {
        let ids: Vec<(i64,)> = ctx
            .db
            .fetch_all(sql, (format!("%{marker}%"),))
            .await
            .unwrap();
        if let Some((id,)) = ids.first() {
            return *id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{marker} never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether the server still lists any of `ids`.
async fn any_listed(ctx: &Ctx, ids: &HashSet<i64>) -> bool {
    let sql = ctx.sql(
        "SELECT pid::int8 FROM pg_stat_activity",
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST",
    );
    let rows: Vec<(i64,)> = ctx.db.fetch_all(sql, ()).await.unwrap();
    rows.iter().any(|(id,)| ids.contains(id))
}

/// A statement whose session is killed while it runs fails with `ConnectionLost` within a
/// second of the kill, on the pool, on a checked-out connection and inside a transaction (where
/// the transaction's commit then fails too, without claiming success); the pool is healthy
/// after each.
async fn killed_mid_query_is_connection_lost(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    let pool = watch(&ctx, |c| c.with_max_size(2)).await;
    let sleep = |tag: &str| {
        format!(
            "{} /* {tag} */",
            ctx.sql("SELECT pg_sleep(5)::text", "SELECT CAST(SLEEP(5) AS CHAR)")
        )
    };
    for (case, marker) in ["pool", "connection", "transaction"].iter().zip([
        "weir-kill-pool",
        "weir-kill-conn",
        "weir-kill-tx",
    ]) {
        let sql = sleep(marker);
        let db = pool.db.clone();
        let case_name = *case;
        let call = tokio::spawn(async move {
            match case_name {
                "pool" => db.execute(&sql, ()).await.map(|_| ()),
                "connection" => {
                    let conn = db.acquire().await?;
                    conn.execute(&sql, ()).await.map(|_| ())
                }
                _ => {
                    let tx = db.begin().await?;
                    tx.execute("INSERT INTO t VALUES (1)", ()).await?;
                    let r = tx.execute(&sql, ()).await.map(|_| ());
                    // The session is gone: commit must fail and nothing be applied.
                    let commit = tx.commit().await;
                    assert!(commit.is_err(), "commit after a kill succeeded");
                    r
                }
            }
        });
        let id = running_id(&ctx, marker).await;
        pool.forget(id);
        kill(&ctx, id).await;
        let killed = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(3), call)
            .await
            .expect("the killed call hung")
            .unwrap();
        let took = killed.elapsed();
        let err = r.expect_err("a killed statement succeeded");
        assert!(
            matches!(err, Error::ConnectionLost(_)),
            "{case}: expected ConnectionLost, got {err:?}"
        );
        assert!(err.is_transient());
        assert!(
            took < Duration::from_secs(1),
            "{case}: reported {took:?} after the kill"
        );
        eprintln!(
            "{}: {case} killed mid-query, reported after {took:?}: {err}",
            ctx.backend
        );
        assert_pool_healthy(&ctx, &pool).await;
    }
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM t", ())
        .await
        .unwrap();
    assert_eq!(n, 0, "the killed transaction's insert was applied");
}

/// Checks three connections out of `pool`, gives them back, kills all three on the server and
/// waits until the server no longer lists them. Returns their ids and when they were returned.
async fn kill_idle_connections(
    ctx: &Ctx,
    pool: &crate::health::Watched,
) -> (HashSet<i64>, Instant) {
    let held = futures_util::future::join_all((0..3).map(|_| pool.db.acquire())).await;
    let mut victims = HashSet::new();
    for c in &held {
        let id: i64 = c
            .as_ref()
            .unwrap()
            .fetch_scalar(id_sql(ctx.backend), ())
            .await
            .unwrap();
        victims.insert(id);
    }
    drop(held);
    let returned = Instant::now();
    for id in &victims {
        pool.forget(*id);
        kill(ctx, *id).await;
    }
    assert!(
        eventually(Duration::from_secs(2), || async {
            !any_listed(ctx, &victims).await
        })
        .await
    );
    (victims, returned)
}

/// 30 calls on a pool whose idle connections were all killed: every one succeeds and none runs
/// on a victim (a caller handed a killed session would fail with `ConnectionLost`).
async fn assert_no_call_meets_a_victim(
    pool: &crate::health::Watched,
    ctx: &Ctx,
    victims: &HashSet<i64>,
) {
    let calls = (0..30).map(|_| pool.db.fetch_scalar::<i64, _>(id_sql(ctx.backend), ()));
    for r in futures_util::future::join_all(calls).await {
        let id = r.expect("a caller was handed a killed connection");
        assert!(!victims.contains(&id), "ran on a killed session");
    }
}

/// Every idle connection of a pool of 3 killed by the server: with the idle check on every
/// checkout, 30 calls afterwards all succeed, none runs on a victim, and the pool is healthy.
async fn idle_victims_are_replaced_before_use(ctx: Ctx) {
    let pool = watch(&ctx, |c| {
        c.with_max_size(3).with_idle_check_after(Duration::ZERO)
    })
    .await;
    let (victims, _) = kill_idle_connections(&ctx, &pool).await;
    assert_no_call_meets_a_victim(&pool, &ctx, &victims).await;
    assert_pool_healthy(&ctx, &pool).await;
}

/// With the default settings, connections killed on the server while they rested in the pool
/// past the idle check's window (500 ms on MySQL, where only a ping finds them; PostgreSQL's
/// client sees the closed socket at once) are never handed to a caller.
async fn idle_victims_are_replaced_under_default_settings(ctx: Ctx) {
    let pool = watch(&ctx, |c| c.with_max_size(3)).await;
    let (victims, returned) = kill_idle_connections(&ctx, &pool).await;
    // The window is the documented default: a connection back for less may be handed out
    // unchecked (see the next test for what such a call gets).
    let window = Duration::from_millis(500);
    tokio::time::sleep(window.saturating_sub(returned.elapsed()) + Duration::from_millis(50)).await;
    assert_no_call_meets_a_victim(&pool, &ctx, &victims).await;
    assert_pool_healthy(&ctx, &pool).await;
}

/// With the idle check turned down to 30 s, a killed idle connection may be handed out once:
/// PostgreSQL's client sees the closed socket and weir replaces it unseen, MySQL's cannot tell
/// without a round trip. Either way a call fails at most once per victim, with
/// `ConnectionLost`, never with a wrong result, and the pool is healthy afterwards.
async fn idle_victims_without_a_check_fail_typed_once(ctx: Ctx) {
    let pool = watch(&ctx, |c| {
        c.with_max_size(3)
            .with_idle_check_after(Duration::from_secs(30))
    })
    .await;
    let _ = kill_idle_connections(&ctx, &pool).await;
    let mut failed = 0;
    for i in 0..10i64 {
        match pool
            .db
            .fetch_scalar::<i64, _>(ctx.sql("SELECT $1::int8 + 0", "SELECT $1 + 0"), (i,))
            .await
        {
            Ok(v) => assert_eq!(v, i),
            Err(Error::ConnectionLost(_)) => failed += 1,
            Err(e) => panic!("untyped failure on a killed idle connection: {e:?}"),
        }
    }
    eprintln!(
        "{}: {failed} of 10 calls failed after 3 idle connections were killed",
        ctx.backend
    );
    assert!(failed <= 3, "{failed} failures for 3 victims");
    if ctx.backend == Backend::Postgres {
        assert_eq!(failed, 0, "PostgreSQL handed out a connection known closed");
    }
    assert_pool_healthy(&ctx, &pool).await;
}
