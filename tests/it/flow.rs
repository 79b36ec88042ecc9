//! Flow control, seen from the server: deadlines cancel statements there, lanes bound what runs
//! there, retries never apply a write twice, and dropped futures leave nothing behind.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir::{Backend, CallPhase, Database, Error, Executor, Lane, RetryPolicy};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::health::id_sql;
use crate::kill::kill;

both_backends!(
    statement_timeout_cancels_on_the_server,
    timed_out_transaction_is_rolled_back,
    lane_bounds_statements_running_on_the_server,
    full_lane_sheds_and_slow_queue_times_out,
    each_limit_names_itself,
    deadlocked_transactions_commit_exactly_once_through_retry,
    write_whose_connection_dies_is_not_retried,
    commit_on_a_dead_connection_is_outcome_unknown,
    refused_connects_are_retried_then_reported,
    close_cancels_what_outlives_the_grace_period,
    close_refuses_waiters_at_once_and_returns_soon_after_its_grace,
    timeout_storm_never_lists_more_sessions_than_the_pool_max,
);

fn sleep_sql(ctx: &Ctx, secs: f64, tag: &str) -> String {
    match ctx.backend {
        Backend::Postgres => format!("SELECT pg_sleep({secs})::text /* {tag} */"),
        Backend::MySql => format!("SELECT CAST(SLEEP({secs}) AS CHAR) /* {tag} */"),
    }
}

/// A 30 s sleep under a 200 ms statement timeout fails as a query timeout in the execute
/// phase, is gone from the server within a second, and the next 100 queries succeed. The same
/// holds for a per-call `with_timeout`.
async fn statement_timeout_cancels_on_the_server(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(2)
                .with_statement_timeout(Some(Duration::from_millis(200)))
        })
        .await;
    let sql = sleep_sql(&ctx, 30.0, "weir-deadline");
    let started = Instant::now();
    let err = db.execute(&sql, ()).await.unwrap_err();
    let fired = started.elapsed();
    assert!(
        matches!(
            err,
            Error::QueryTimeout {
                phase: CallPhase::Execute,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(fired < Duration::from_millis(600), "{fired:?}");
    let gone_at = Instant::now();
    assert!(
        eventually(Duration::from_secs(1), || async {
            ctx.running("weir-deadline").await == 0
        })
        .await,
        "statement still running on the server"
    );
    eprintln!(
        "{}: statement gone from the server {:?} after the timeout",
        ctx.backend,
        gone_at.elapsed()
    );
    for i in 0..100i64 {
        let v: i64 = db.fetch_scalar("SELECT $1 + 0", (i,)).await.unwrap();
        assert_eq!(v, i);
    }
    // Per call, on a pool with no default.
    let err = ctx
        .db
        .with_timeout(Duration::from_millis(150))
        .execute(&sleep_sql(&ctx, 30.0, "weir-per-call"), ())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        eventually(Duration::from_secs(1), || async {
            ctx.running("weir-per-call").await == 0
        })
        .await
    );
    let stats = db.stats();
    let lane = stats.lane("default").unwrap();
    assert_eq!((lane.query_timeouts, lane.ok), (1, 100));
}

/// A statement timing out inside a transaction aborts it: the next statement says so, and the
/// transaction's writes are rolled back when it is dropped.
async fn timed_out_transaction_is_rolled_back(ctx: Ctx) {
    crate::queries::create_users(&ctx).await;
    let tx = ctx.db.begin().await.unwrap();
    tx.execute("INSERT INTO users (id, name) VALUES (1, 'x')", ())
        .await
        .unwrap();
    let err = tx
        .with_timeout(Duration::from_millis(200))
        .execute(&sleep_sql(&ctx, 30.0, "weir-tx-timeout"), ())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QueryTimeout { .. }), "{err:?}");
    let next = tx
        .execute("INSERT INTO users (id, name) VALUES (2, 'y')", ())
        .await
        .unwrap_err();
    assert!(matches!(next, Error::Aborted), "{next:?}");
    assert!(tx.commit().await.is_err());
    assert!(
        eventually(Duration::from_secs(2), || async {
            ctx.running("weir-tx-timeout").await == 0 && ctx.open_transactions().await == 0
        })
        .await
    );
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM users", ())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert!(
        eventually(Duration::from_secs(1), || async {
            ctx.db.status().in_use == 0
        })
        .await
    );
}

/// 64 tasks through a lane of 4 on a pool of 16: sampling the server while they run never
/// shows more than 4 of the lane's statements, and all 64 complete.
async fn lane_bounds_statements_running_on_the_server(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(16).with_lane(
                "reports",
                Lane::new(4)
                    .with_max_queue(64)
                    .with_queue_timeout(Duration::from_secs(30)),
            )
        })
        .await;
    let sql = Arc::new(sleep_sql(&ctx, 0.1, "weir-lane-reports"));
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (db, sql, done) = (db.clone(), sql.clone(), done.clone());
            tokio::spawn(async move {
                db.lane("reports").execute(&sql, ()).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    let mut max_seen = 0;
    let mut samples = 0;
    while done.load(Ordering::Relaxed) < 64 {
        max_seen = max_seen.max(ctx.running("weir-lane-reports").await);
        samples += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for t in tasks {
        t.await.unwrap();
    }
    eprintln!(
        "{}: max active statements of lane `reports` seen: {max_seen} over {samples} samples",
        ctx.backend
    );
    assert!(
        max_seen <= 4,
        "{max_seen} statements of a lane of 4 ran at once"
    );
    assert!(max_seen >= 1);
    assert_eq!(db.stats().lane("reports").unwrap().ok, 64);
}

/// A lane of 1 with a queue of 1: the call past the queue is shed at once, the queued one
/// times out, and the statistics count both.
async fn full_lane_sheds_and_slow_queue_times_out(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_lane(
                "narrow",
                Lane::new(1)
                    .with_max_queue(1)
                    .with_queue_timeout(Duration::from_millis(300)),
            )
        })
        .await;
    let slow = sleep_sql(&ctx, 1.0, "weir-narrow");
    let holder = {
        let (db, slow) = (db.clone(), slow.clone());
        tokio::spawn(async move { db.lane("narrow").execute(&slow, ()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = {
        let db = db.clone();
        tokio::spawn(async move {
            db.lane("narrow")
                .fetch_scalar::<i64, _>("SELECT 1", ())
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let shed = db
        .lane("narrow")
        .fetch_scalar::<i64, _>("SELECT 1", ())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "shedding waited"
    );
    assert!(
        matches!(&shed, Error::Shed { lane, .. } if lane == "narrow"),
        "{shed:?}"
    );
    let timed_out = queued.await.unwrap().unwrap_err();
    assert!(
        matches!(timed_out, Error::QueueTimeout { .. }),
        "{timed_out:?}"
    );
    holder.await.unwrap().unwrap();
    let s = db.stats();
    let narrow = s.lane("narrow").unwrap();
    assert_eq!((narrow.shed, narrow.queue_timeouts, narrow.ok), (1, 1, 1));
    // An unknown lane is a configuration error, not a silent default.
    let err = db.lane("nope").execute("SELECT 1", ()).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// Pool saturation, a deadline spent waiting for a connection, and a statement deadline are
/// three different errors.
async fn each_limit_names_itself(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(1)
                .with_acquire_timeout(Duration::from_millis(200))
        })
        .await;
    let held = db.acquire().await.unwrap();
    let saturated = db.execute("SELECT 1", ()).await.unwrap_err();
    assert!(
        matches!(saturated, Error::PoolTimeout { .. }),
        "{saturated:?}"
    );
    let waiting = db
        .with_timeout(Duration::from_millis(100))
        .execute("SELECT 1", ())
        .await
        .unwrap_err();
    assert!(
        matches!(
            waiting,
            Error::QueryTimeout {
                phase: CallPhase::Acquire,
                ..
            }
        ),
        "{waiting:?}"
    );
    drop(held);
    let running = db
        .with_timeout(Duration::from_millis(100))
        .execute(&sleep_sql(&ctx, 5.0, "weir-names"), ())
        .await
        .unwrap_err();
    assert!(
        matches!(
            running,
            Error::QueryTimeout {
                phase: CallPhase::Execute,
                ..
            }
        ),
        "{running:?}"
    );
    for e in [&saturated, &waiting, &running] {
        assert!(e.is_timeout());
    }
}

/// Two transactions that lock two rows in opposite orders deadlock on purpose; through
/// transaction_with_retry both end up committed exactly once.
async fn deadlocked_transactions_commit_exactly_once_through_retry(ctx: Ctx) {
    ctx.db
        .execute(
            "CREATE TABLE counters (id INT PRIMARY KEY, n INT NOT NULL)",
            (),
        )
        .await
        .unwrap();
    ctx.db
        .execute("CREATE TABLE applied (task INT PRIMARY KEY)", ())
        .await
        .unwrap();
    ctx.db
        .execute("INSERT INTO counters VALUES (1, 0), (2, 0)", ())
        .await
        .unwrap();
    let db = ctx
        .pool(|c| {
            c.with_max_size(4).with_retry(
                RetryPolicy::default()
                    .with_max_attempts(10)
                    .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
            )
        })
        .await;
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let run = |task: i32, first: i32, second: i32| {
        let (db, barrier, attempts) = (db.clone(), barrier.clone(), attempts.clone());
        tokio::spawn(async move {
            let mut mine = 0;
            db.transaction_with_retry(|tx| {
                mine += 1;
                attempts.fetch_add(1, Ordering::SeqCst);
                let (barrier, first_attempt) = (barrier.clone(), mine == 1);
                Box::pin(async move {
                    tx.execute("UPDATE counters SET n = n + 1 WHERE id = $1", (first,))
                        .await?;
                    if first_attempt {
                        // Both hold their first row before either asks for its second.
                        barrier.wait().await;
                    }
                    tx.execute("UPDATE counters SET n = n + 1 WHERE id = $1", (second,))
                        .await?;
                    tx.execute("INSERT INTO applied (task) VALUES ($1)", (task,))
                        .await?;
                    Ok(())
                })
            })
            .await
        })
    };
    let a = run(1, 1, 2);
    let b = run(2, 2, 1);
    a.await.unwrap().unwrap();
    b.await.unwrap().unwrap();
    let counters: Vec<(i32, i32)> = ctx
        .db
        .fetch_all("SELECT id, n FROM counters ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(
        counters,
        vec![(1, 2), (2, 2)],
        "a transaction applied twice or not at all"
    );
    let applied: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM applied", ())
        .await
        .unwrap();
    assert_eq!(applied, 2);
    let total = attempts.load(Ordering::SeqCst);
    assert!(total >= 3, "no deadlock happened ({total} attempts)");
    assert!(db.stats().lane("default").unwrap().retried >= 1);
}

/// An INSERT whose connection is killed while it runs fails with a typed error and is not
/// retried behind the caller's back: the row is not there.
async fn write_whose_connection_dies_is_not_retried(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    let conn = ctx.db.acquire().await.unwrap();
    let id: i64 = conn.fetch_scalar(id_sql(ctx.backend), ()).await.unwrap();
    let insert = ctx.sql(
        "INSERT INTO t SELECT 1 FROM pg_sleep(1)",
        "INSERT INTO t SELECT 1 FROM DUAL WHERE SLEEP(1) = 0",
    );
    let killer = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        kill(&ctx, id).await;
    };
    let (r, ()) = tokio::join!(conn.execute(insert, ()), killer);
    let err = r.unwrap_err();
    assert!(matches!(err, Error::ConnectionLost(_)), "{err:?}");
    drop(conn);
    let n: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM t", ())
        .await
        .unwrap();
    assert_eq!(n, 0, "the insert was applied after its connection died");
}

/// A transaction whose connection dies before COMMIT completes reports "outcome unknown", and
/// transaction_with_retry does not run it again.
async fn commit_on_a_dead_connection_is_outcome_unknown(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    let runs = AtomicU32::new(0);
    let admin = ctx.db.clone();
    let (id_sql, backend) = (id_sql(ctx.backend), ctx.backend);
    let err = ctx
        .db
        .transaction_with_retry(|tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            let admin = admin.clone();
            Box::pin(async move {
                tx.execute("INSERT INTO t VALUES (1)", ()).await?;
                let id: i64 = tx.fetch_scalar(id_sql, ()).await?;
                match backend {
                    Backend::Postgres => {
                        admin
                            .execute("SELECT pg_terminate_backend($1::int4)::text", (id,))
                            .await?;
                    }
                    Backend::MySql => {
                        admin.execute(&format!("KILL CONNECTION {id}"), ()).await?;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(())
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommitOutcomeUnknown(_)), "{err:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "retried a commit of unknown outcome"
    );
}

/// Connecting to a port nobody listens on is retried per the policy (nothing was sent), then
/// reported as the connect error.
async fn refused_connects_are_retried_then_reported(ctx: Ctx) {
    let cfg = ctx.config.clone().with_port(1).with_retry(
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(5), Duration::from_millis(10)),
    );
    let db = Database::connect_lazy_with(cfg).unwrap();
    let err = db.execute("SELECT 1", ()).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_eq!(db.stats().lane("default").unwrap().retried, 2);
}

/// close() waits out its grace period, then cancels what still runs on the server.
async fn close_cancels_what_outlives_the_grace_period(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    let sql = sleep_sql(&ctx, 30.0, "weir-close");
    let running = {
        let db = db.clone();
        tokio::spawn(async move { db.execute(&sql, ()).await })
    };
    // Close only once the statement runs on the server: on a loaded machine its connect can
    // take longer than a fixed pause.
    assert!(
        eventually(Duration::from_secs(5), || async {
            ctx.running("weir-close").await == 1
        })
        .await,
        "the sleep never started"
    );
    let started = Instant::now();
    db.close(Duration::from_millis(200)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let r = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    assert!(r.is_err(), "the 30 s sleep finished?");
    assert!(
        eventually(Duration::from_secs(5), || async {
            ctx.running("weir-close").await == 0
        })
        .await,
        "the sleep still runs on the server after close"
    );
    assert!(matches!(
        db.execute("SELECT 1", ()).await,
        Err(Error::PoolClosed)
    ));
}

/// Callers already waiting for a connection when `close` is called get `PoolClosed` at once
/// (they ran later, after the grace, on fresh connections); the statements still running when
/// the grace ends are cancelled and fail; `close` returns soon after its grace, with nothing
/// of the pool left on the server.
async fn close_refuses_waiters_at_once_and_returns_soon_after_its_grace(ctx: Ctx) {
    let db = ctx
        .pool(|c| {
            c.with_max_size(2)
                .with_acquire_timeout(Duration::from_secs(30))
        })
        .await;
    let sql = sleep_sql(&ctx, 30.0, "weir-close-q");
    let runners: Vec<_> = (0..2)
        .map(|_| {
            let (db, sql) = (db.clone(), sql.clone());
            tokio::spawn(async move { db.execute(&sql, ()).await })
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(5), || async {
            ctx.running("weir-close-q").await == 2
        })
        .await,
        "the sleeps never started"
    );
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let r = db.fetch_scalar::<i64, _>("SELECT 1", ()).await;
                (r, Instant::now())
            })
        })
        .collect();
    assert!(
        eventually(Duration::from_secs(5), || async {
            db.status().waiting >= 4
        })
        .await,
        "the waiters never queued: {:?}",
        db.status()
    );
    let grace = Duration::from_millis(500);
    let started = Instant::now();
    db.close(grace).await;
    let took = started.elapsed();
    eprintln!("{}: close({grace:?}) took {took:?}", ctx.backend);
    for w in waiters {
        let (r, at) = w.await.unwrap();
        assert!(matches!(r, Err(Error::PoolClosed)), "a waiter got {r:?}");
        let after = at.saturating_duration_since(started);
        assert!(
            after < Duration::from_millis(250),
            "a waiter was refused after {after:?}"
        );
    }
    for r in runners {
        let r = r.await.unwrap();
        assert!(
            r.is_err(),
            "a statement that outlived the grace succeeded: {r:?}"
        );
    }
    // Without the cancel, close would wait out the 30 s sleeps. Here it takes the grace plus
    // 10-130 ms; on MySQL the cancel and the check that the sessions are gone each open a
    // fresh connection, and with CI's machine overloaded (load 8 on 2 cores) that took 2.5 s.
    assert!(
        took >= grace && took < grace + Duration::from_secs(4),
        "close took {took:?} for a grace of {grace:?}"
    );
    // The cancelled statements are gone from the server; on a loaded MariaDB a killed
    // session can stay listed a moment after the pool let it go (its watcher gives up a look
    // that takes over a second), so allow one.
    assert!(
        eventually(Duration::from_secs(2), || async {
            ctx.running("weir-close-q").await == 0
        })
        .await,
        "a cancelled statement still runs on the server after close"
    );
}

/// Four callers on a pool of 4 for 4 s, their statements cut off by 5-15 ms deadlines or their
/// streams dropped part-way, while an admin connection samples the server's process list back
/// to back: the server never lists more of the pool's sessions than 4. Each cut session is
/// closed and replaced, and its replacement may open only once the server let the old one go.
/// (A slot given back when the session is dropped fails this test on MySQL; the narrower race
/// the soak found, a session still listed for a few milliseconds after its goodbye, did not
/// show in three runs here: the soak is what catches that one.)
async fn timeout_storm_never_lists_more_sessions_than_the_pool_max(ctx: Ctx) {
    let pool = crate::health::watch(&ctx, |c| {
        c.with_max_size(4)
            .with_acquire_timeout(Duration::from_secs(10))
    })
    .await;
    let slow = sleep_sql(&ctx, 1.0, "weir-storm");
    // 100,000 rows in SQL that MySQL 8 and MariaDB both take (no sequence tables, and MySQL
    // stops recursive CTEs at 1,000 rows by default).
    let digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 \
                  UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 \
                  UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let my_rows = format!(
        "SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d \
         FROM {digits} a, {digits} b, {digits} c, {digits} e, {digits} f"
    );
    let rows = ctx.sql("SELECT g::int8 FROM generate_series(1, 100000) g", &my_rows);
    let storming = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let admin = ctx.pool(|c| c.with_max_size(1)).await;
    let sampler = {
        let (storming, pool, admin) = (storming.clone(), &pool, &admin);
        async move {
            let mut samples = 0;
            while storming.load(Ordering::Relaxed) {
                pool.sample_now(admin).await;
                samples += 1;
            }
            samples
        }
    };
    // As many callers as connections, so statements start at once and are cut mid-way.
    let until = Instant::now() + Duration::from_secs(4);
    let storm = async {
        let callers = (0..4u64).map(|i| {
            let (db, slow) = (pool.db.clone(), slow.clone());
            async move {
                let mut k = 0u64;
                while Instant::now() < until {
                    k += 1;
                    if i == 3 && k % 2 == 0 {
                        // A stream read a little, then dropped.
                        let stream = db.fetch_stream::<(i64,), _>(rows, ());
                        futures_util::pin_mut!(stream);
                        let _ = futures_util::StreamExt::next(&mut stream).await;
                    } else {
                        let t = Duration::from_millis(5 + (k * 7 + i) % 10);
                        let r = db.with_timeout(t).execute(&slow, ()).await;
                        assert!(r.is_err(), "the 1 s sleep finished within {t:?}");
                    }
                }
            }
        });
        futures_util::future::join_all(callers).await;
        storming.store(false, Ordering::Relaxed);
    };
    let (samples, ()) = tokio::join!(sampler, storm);
    eprintln!(
        "{}: {samples} samples during the storm, peak {} of {}",
        ctx.backend,
        pool.peak(),
        pool.max
    );
    assert!(samples > 20, "the sampler hardly ran: {samples}");
    assert!(
        pool.peak() <= pool.max,
        "the server listed {} of the pool's sessions for a pool of {}",
        pool.peak(),
        pool.max
    );
    crate::health::assert_pool_healthy(&ctx, &pool).await;
}
