//! Network faults through the proxy at every protocol phase: connect, handshake and
//! authentication, prepare, execute, row streaming, commit. Each fails typed and on time; no
//! partial result passes for a whole one; a COMMIT whose fate the client cannot know is
//! `CommitOutcomeUnknown` and is never run again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use weir::{CallPhase, Database, Error, Executor, RetryPolicy};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::proxy::{upstream, Cut, Dir, FaultProxy};

both_backends!(
    cut_inside_the_handshake_is_a_typed_connect_error,
    cut_during_prepare_and_execute_is_connection_lost_and_runs_at_most_once,
    cut_while_rows_arrive_is_never_a_short_result,
    cut_commit_is_outcome_unknown_and_never_rerun,
    blackholed_commit_is_outcome_unknown_within_the_deadline,
    blackhole_in_each_phase_is_a_timeout_within_the_deadline,
);

const MODES: [Cut; 2] = [Cut::Reset, Cut::Close];

/// Every connection of `db` (up to `max`) taken at once answers its own value: no stale
/// result, no broken session handed out.
pub async fn assert_healthy(db: &Database, max: usize) {
    let mut conns = Vec::new();
    for _ in 0..max {
        conns.push(db.acquire().await.unwrap());
    }
    for (i, conn) in conns.iter().enumerate() {
        let nonce = 7_000_000 + i as i64 * 13;
        let v: i64 = conn.fetch_scalar("SELECT $1 + 0", (nonce,)).await.unwrap();
        assert_eq!(v, nonce, "stale result on connection {i}");
    }
}

fn config_through(ctx: &Ctx, proxy: &FaultProxy) -> weir::DatabaseConfig {
    ctx.config
        .clone()
        .with_host("127.0.0.1")
        .with_port(proxy.addr.port())
        .with_max_size(1)
        .with_connect_timeout(Duration::from_secs(1))
        .with_acquire_timeout(Duration::from_secs(2))
        .with_retry(RetryPolicy::never())
}

async fn count(ctx: &Ctx, sql: &str) -> i64 {
    ctx.db.fetch_scalar(sql, ()).await.unwrap()
}

/// The handshake (PostgreSQL startup and authentication; MySQL greeting, authentication and
/// weir's session setup) is measured in bytes each way, then cut at its first byte, in its
/// middle and at its last byte, each way, by RST and by FIN: every attempt fails with a typed
/// connect error within a second, and a clean connect afterwards works.
async fn cut_inside_the_handshake_is_a_typed_connect_error(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let cfg = config_through(&ctx, &proxy);
    let probe = Database::connect_with(cfg.clone()).await.unwrap();
    let (up, down) = (proxy.conn_bytes(0, Dir::Up), proxy.conn_bytes(0, Dir::Down));
    assert!(up > 0 && down > 0);
    eprintln!(
        "{}: handshake is {up} bytes up, {down} bytes down",
        ctx.backend
    );
    drop(probe);
    let mut seen = Vec::new();
    for (dir, total) in [(Dir::Up, up), (Dir::Down, down)] {
        for at in [0, total / 2, total - 1] {
            for mode in MODES {
                proxy.set(|f| {
                    f.first_conn = proxy.accepted();
                    f.up = Default::default();
                    f.down = Default::default();
                    let side = if dir == Dir::Up {
                        &mut f.up
                    } else {
                        &mut f.down
                    };
                    side.cut_after = Some(at);
                    side.cut = mode;
                });
                let started = Instant::now();
                let err = Database::connect_with(cfg.clone()).await.unwrap_err();
                let took = started.elapsed();
                assert!(
                    matches!(err, Error::Connect { .. }),
                    "{dir:?} cut at {at} by {mode:?}: {err:?}"
                );
                assert!(
                    took < Duration::from_secs(1),
                    "{dir:?} {at} {mode:?}: {took:?}"
                );
                seen.push(format!("{dir:?}@{at}/{mode:?}: {err}"));
            }
        }
    }
    eprintln!("{}: {}", ctx.backend, seen.join("\n  "));
    proxy.set(|f| *f = Default::default());
    let db = Database::connect_with(cfg.with_max_size(2)).await.unwrap();
    assert_healthy(&db, 2).await;
}

/// A connection cut at the first byte of a statement's prepare sends nothing: the insert is
/// absent. Cut at the first byte of the reply to an already prepared statement: the server ran
/// it, the caller gets `ConnectionLost`, and weir did not run it again (exactly one row).
/// The pool then serves correct results on a new connection.
async fn cut_during_prepare_and_execute_is_connection_lost_and_runs_at_most_once(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT NOT NULL)", ())
        .await
        .unwrap();
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let db = Database::connect_with(config_through(&ctx, &proxy))
        .await
        .unwrap();
    let insert = "INSERT INTO t (id) VALUES ($1)";
    for (i, mode) in MODES.into_iter().enumerate() {
        let base = i as i64 * 10;
        // Prepare: the statement text is new to this connection, so its first message is
        // the prepare.
        let _: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
        proxy.arm(Dir::Up, mode);
        let err = db
            .execute(&format!("{insert} /* {mode:?} */"), (base + 1,))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ConnectionLost(_)), "{mode:?}: {err:?}");
        // Execute: prepared on this new connection first, then cut on the way back.
        db.execute(insert, (base + 2,)).await.unwrap();
        proxy.arm(Dir::Down, mode);
        let err = db.execute(insert, (base + 3,)).await.unwrap_err();
        assert!(matches!(err, Error::ConnectionLost(_)), "{mode:?}: {err:?}");
        let ids: Vec<(i32,)> = ctx
            .db
            .fetch_all("SELECT id FROM t WHERE id > $1 ORDER BY id", (base as i32,))
            .await
            .unwrap();
        assert_eq!(
            ids,
            vec![(base as i32 + 2,), (base as i32 + 3,)],
            "{mode:?}"
        );
    }
    assert_healthy(&db, 1).await;
}

/// A connection cut (RST or FIN) 64 KiB into a result of about 2 MB fails `fetch_all` and
/// `fetch_stream` with `ConnectionLost`; neither ever returns fewer rows as a success.
async fn cut_while_rows_arrive_is_never_a_short_result(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let db = Database::connect_with(config_through(&ctx, &proxy))
        .await
        .unwrap();
    const D: &str = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let my = format!(
        "SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 0, REPEAT('x', 200) FROM {D} a, {D} b, {D} c, {D} e"
    );
    let sql = ctx.sql(
        "SELECT g::int8, repeat('x', 200) FROM generate_series(1, 10000) g",
        &my,
    );
    let all: Vec<(i64, String)> = db.fetch_all(sql, ()).await.unwrap();
    assert_eq!(all.len(), 10_000);
    for mode in MODES {
        // A connection open in the pool (the last cut discarded the previous one) to arm.
        let _: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
        proxy.cut_after_more(Dir::Down, 64 * 1024, mode);
        match db.fetch_all::<(i64, String), _>(sql, ()).await {
            Err(Error::ConnectionLost(_)) => {}
            Ok(rows) => panic!("{mode:?}: a cut result passed as {} rows", rows.len()),
            Err(e) => panic!("{mode:?}: {e:?}"),
        }
        let _: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
        proxy.cut_after_more(Dir::Down, 64 * 1024, mode);
        let mut rows = 0;
        let mut end = None;
        {
            let stream = db.fetch_stream::<(i64, String), _>(sql, ());
            futures_util::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(_) => rows += 1,
                    Err(e) => {
                        end = Some(e);
                        break;
                    }
                }
            }
        }
        let err = end.unwrap_or_else(|| panic!("{mode:?}: stream ended cleanly after {rows} rows"));
        assert!(matches!(err, Error::ConnectionLost(_)), "{mode:?}: {err:?}");
        assert!(rows < 10_000, "{mode:?}");
    }
    assert_healthy(&db, 1).await;
}

/// The connection is cut exactly when COMMIT goes out (before it reaches the server) and
/// exactly when its reply comes back (after the server committed), by RST and by FIN: every
/// time the caller gets `CommitOutcomeUnknown`, and the server holds the row only in the
/// second case. Through `transaction_with_retry`, the transaction body runs once.
async fn cut_commit_is_outcome_unknown_and_never_rerun(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    let proxy = std::sync::Arc::new(FaultProxy::start(upstream(&ctx)).await);
    let db = Database::connect_with(config_through(&ctx, &proxy))
        .await
        .unwrap();
    let mut id = 0;
    for dir in [Dir::Up, Dir::Down] {
        for mode in MODES {
            id += 1;
            let tx = db.begin().await.unwrap();
            tx.execute("INSERT INTO t (id) VALUES ($1)", (id,))
                .await
                .unwrap();
            proxy.arm(dir, mode);
            let err = tx.commit().await.unwrap_err();
            assert!(
                matches!(err, Error::CommitOutcomeUnknown(_)),
                "{dir:?} {mode:?}: {err:?}"
            );
            let want = i64::from(dir == Dir::Down);
            assert!(
                eventually(Duration::from_secs(2), || async {
                    ctx.open_transactions().await == 0
                })
                .await
            );
            let n = count(&ctx, &format!("SELECT COUNT(*) FROM t WHERE id = {id}")).await;
            assert_eq!(n, want, "{dir:?} {mode:?}");
        }
    }
    let runs = AtomicU32::new(0);
    let err = db
        .transaction_with_retry(|tx| {
            runs.fetch_add(1, Ordering::SeqCst);
            let proxy = proxy.clone();
            Box::pin(async move {
                tx.execute("INSERT INTO t (id) VALUES (100)", ()).await?;
                proxy.arm(Dir::Down, Cut::Reset);
                Ok(())
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CommitOutcomeUnknown(_)), "{err:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "a commit of unknown outcome was retried"
    );
    assert_eq!(
        count(&ctx, "SELECT COUNT(*) FROM t WHERE id = 100").await,
        1
    );
    assert_healthy(&db, 1).await;
}

/// COMMIT sent into a blackhole (nothing forwarded either way) under a 400 ms statement
/// timeout: the caller gets `CommitOutcomeUnknown` within the deadline, not a hang and not a
/// plain timeout; the pool serves correct results once the network is back.
async fn blackholed_commit_is_outcome_unknown_within_the_deadline(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (id INT PRIMARY KEY)", ())
        .await
        .unwrap();
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let db = Database::connect_with(
        config_through(&ctx, &proxy)
            .with_statement_timeout(Some(Duration::from_millis(400)))
            .with_cleanup_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let tx = db.begin().await.unwrap();
    tx.execute("INSERT INTO t (id) VALUES (1)", ())
        .await
        .unwrap();
    proxy.set(|f| f.blackhole = true);
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(5), tx.commit()).await;
    let took = started.elapsed();
    let err = outcome
        .unwrap_or_else(|_| panic!("COMMIT into a blackhole still waiting after {took:?}"))
        .unwrap_err();
    assert!(matches!(err, Error::CommitOutcomeUnknown(_)), "{err:?}");
    assert!(took < Duration::from_millis(1000), "{took:?}");
    proxy.set(|f| f.blackhole = false);
    proxy.reset_all();
    assert!(eventually(Duration::from_secs(3), || async { db.status().in_use == 0 }).await);
    assert_healthy(&db, 1).await;
}

/// With a 300 ms statement timeout: new connections blackholed after the TCP accept give
/// `QueryTimeout` in the acquire phase; an open connection whose replies are blackholed (the
/// server ran the statement) gives `QueryTimeout` in the execute phase; each within 1 s, and
/// the pool recovers once the network does.
async fn blackhole_in_each_phase_is_a_timeout_within_the_deadline(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let db = Database::connect_lazy_with(
        config_through(&ctx, &proxy)
            .with_statement_timeout(Some(Duration::from_millis(300)))
            .with_cleanup_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    proxy.set(|f| f.blackhole = true);
    let started = Instant::now();
    let err = db.fetch_scalar::<i64, _>("SELECT 1", ()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::QueryTimeout {
                phase: CallPhase::Acquire,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    proxy.set(|f| f.blackhole = false);
    proxy.reset_all();
    let _: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    proxy.set(|f| f.down.blackhole = true);
    let started = Instant::now();
    let err = db.fetch_scalar::<i64, _>("SELECT 2", ()).await.unwrap_err();
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
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    proxy.set(|f| f.down.blackhole = false);
    assert!(eventually(Duration::from_secs(3), || async { db.status().in_use == 0 }).await);
    assert_healthy(&db, 1).await;
}
