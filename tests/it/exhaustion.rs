//! Pool exhaustion: asking for one connection more than the pool has fails typed and on time,
//! and callers waiting for a connection (or a lane permit) are served in arrival order.

use std::time::{Duration, Instant};

use weir::{Database, Error, Executor, Lane};

use crate::both_backends;
use crate::common::{eventually, Ctx};
use crate::health::{assert_pool_healthy, watch};

both_backends!(
    holder_of_every_connection_asking_for_more_times_out_typed,
    waiters_are_served_in_arrival_order,
    tasks_looping_on_checkouts_let_each_other_and_their_timers_run,
);

/// A task holding all 3 connections that asks for a fourth, by `acquire`, by `begin` and by a
/// query, gets `PoolTimeout` after the 300 ms acquire timeout (not before, not a hang); the
/// pool is healthy once it lets go.
async fn holder_of_every_connection_asking_for_more_times_out_typed(ctx: Ctx) {
    let pool = watch(&ctx, |c| {
        c.with_max_size(3)
            .with_acquire_timeout(Duration::from_millis(300))
    })
    .await;
    let db = &pool.db;
    let held: Vec<_> = futures_util::future::join_all((0..3).map(|_| db.acquire()))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for case in ["acquire", "begin", "query"] {
        let started = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), async {
            match case {
                "acquire" => db.acquire().await.map(drop),
                "begin" => db.begin().await.map(drop),
                _ => db.fetch_scalar::<i64, _>("SELECT 1", ()).await.map(drop),
            }
        })
        .await
        .expect("asking a saturated pool for more hung");
        let waited = started.elapsed();
        let err = r.expect_err("a fourth connection out of a pool of 3");
        assert!(
            matches!(
                err,
                Error::PoolTimeout {
                    in_use: 3,
                    max_size: 3,
                    ..
                }
            ),
            "{case}: {err:?}"
        );
        assert!(
            waited >= Duration::from_millis(290) && waited < Duration::from_secs(1),
            "{case}: {waited:?}"
        );
    }
    assert_eq!(db.stats().lane("default").unwrap().acquire_timeouts, 1);
    drop(held);
    assert_pool_healthy(&ctx, &pool).await;
}

/// Eight callers queued one after another on a saturated pool of 1 (half through `acquire`,
/// half through queries) get the connection in the order they arrived, one at a time as each
/// lets go; the same holds for eight callers queued on a lane of 1.
///
/// Each caller records itself with an `INSERT` while it holds the connection (or the permit),
/// so the table's sequence is the order of service. Recording after the call returned raced:
/// on a loaded machine the thread of a caller that had just let go was descheduled long
/// enough for the next caller to be served and record first.
async fn waiters_are_served_in_arrival_order(ctx: Ctx) {
    let pool = watch(&ctx, |c| {
        c.with_max_size(1)
            .with_acquire_timeout(Duration::from_secs(10))
            .with_lane(
                "one",
                Lane::new(1)
                    .with_max_queue(16)
                    .with_queue_timeout(Duration::from_secs(10)),
            )
    })
    .await;
    pool.db
        .execute(
            ctx.sql(
                "CREATE TABLE served (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                 lane INT NOT NULL, waiter BIGINT NOT NULL)",
                "CREATE TABLE served (seq BIGINT AUTO_INCREMENT PRIMARY KEY, \
                 lane INT NOT NULL, waiter BIGINT NOT NULL)",
            ),
            (),
        )
        .await
        .unwrap();
    const SERVED: &str = "INSERT INTO served (lane, waiter) VALUES ($1, $2)";
    for lane in [false, true] {
        let db = pool.db.clone();
        let lane_no = i32::from(lane);
        // Take the pool's only connection, or the lane's only permit, and hold it.
        let (release, ready) = (
            tokio::sync::oneshot::channel::<()>(),
            tokio::sync::oneshot::channel::<()>(),
        );
        let ((let_go, wait), (taken, ready)) = (release, ready);
        let holder = {
            let db = db.clone();
            tokio::spawn(async move {
                if lane {
                    let scoped = db.lane("one");
                    let rows = scoped.fetch_stream::<(i64,), _>("SELECT 1", ());
                    futures_util::pin_mut!(rows);
                    let _first = futures_util::StreamExt::next(&mut rows).await;
                    taken.send(()).unwrap();
                    wait.await.ok();
                } else {
                    let conn = db.acquire().await.unwrap();
                    taken.send(()).unwrap();
                    wait.await.ok();
                    drop(conn);
                }
            })
        };
        ready.await.unwrap();
        let mut waiters = Vec::new();
        for i in 0..8i64 {
            let task_db = db.clone();
            waiters.push(tokio::spawn(async move {
                let db = task_db;
                if lane {
                    db.lane("one").execute(SERVED, (lane_no, i)).await.unwrap();
                } else if i % 2 == 0 {
                    let conn = db.acquire().await.unwrap();
                    conn.execute(SERVED, (lane_no, i)).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    drop(conn);
                } else {
                    db.execute(SERVED, (lane_no, i)).await.unwrap();
                }
            }));
            // The next caller arrives only once this one is in the queue.
            let queued = || {
                let n = if lane {
                    db.stats().lane("one").unwrap().waiting
                } else {
                    db.status().waiting
                };
                async move { n == i as usize + 1 }
            };
            assert!(
                eventually(Duration::from_secs(5), queued).await,
                "waiter {i} never queued"
            );
        }
        let_go.send(()).unwrap();
        holder.await.unwrap();
        for w in waiters {
            w.await.unwrap();
        }
        let order: Vec<(i64,)> = pool
            .db
            .fetch_all(
                "SELECT waiter FROM served WHERE lane = $1 ORDER BY seq",
                (lane_no,),
            )
            .await
            .unwrap();
        assert_eq!(
            order.into_iter().map(|(w,)| w).collect::<Vec<_>>(),
            (0..8).collect::<Vec<_>>(),
            "lane {lane}: served out of order"
        );
    }
    assert_pool_healthy(&ctx, &pool).await;
}

/// 64 tasks that take and return a connection in a loop with nothing else to await, each for
/// 1 s under `tokio::time::timeout`, on a pool of 16 and 2 worker threads: every task gets
/// connections and every timer fires, within seconds. (A checkout that found a free connection
/// never yielded: two tasks spun on the two threads for minutes and no timer ever fired.)
async fn tasks_looping_on_checkouts_let_each_other_and_their_timers_run(ctx: Ctx) {
    let config = ctx.config.clone().with_max_size(16);
    let (done, outcome) = std::sync::mpsc::channel();
    // A runtime of its own: if the tasks starve its threads, this test's thread still waits
    // out its bound and fails.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let counts = runtime.block_on(async move {
            let db = Database::connect_with(config).await.unwrap();
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let db = db.clone();
                    tokio::spawn(async move {
                        let mut checkouts = 0u64;
                        let _ = tokio::time::timeout(Duration::from_secs(1), async {
                            loop {
                                drop(db.acquire().await.unwrap());
                                checkouts += 1;
                            }
                        })
                        .await;
                        checkouts
                    })
                })
                .collect();
            let mut counts = Vec::new();
            for task in tasks {
                counts.push(task.await.unwrap());
            }
            db.close(Duration::from_secs(1)).await;
            counts
        });
        let _ = done.send(counts);
    });
    let started = Instant::now();
    let counts = outcome
        .recv_timeout(Duration::from_secs(30))
        .expect("64 tasks looping on checkouts starved their runtime: no timer fired in 30 s");
    let idle = counts.iter().filter(|&&n| n == 0).count();
    assert_eq!(
        idle, 0,
        "{idle} of 64 tasks never got a connection: {counts:?}"
    );
    eprintln!(
        "{}: 64 looping tasks done in {:?}, {} checkouts",
        ctx.backend,
        started.elapsed(),
        counts.iter().sum::<u64>()
    );
}
