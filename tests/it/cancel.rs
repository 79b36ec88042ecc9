//! Cancel safety at scale: futures of every operation dropped at seeded random points leave no
//! stale result, no leaked connection or permit, no open transaction, and lose no write that
//! was acknowledged.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use weir::{Backend, Database, Error, Executor, Lane};

use crate::both_backends;
use crate::common::Ctx;
use crate::health::{assert_pool_healthy, watch};

both_backends!(
    random_drops_leave_nothing_behind,
    timed_out_sessions_are_gone_before_replacements_open,
);

/// splitmix64: a seeded, deterministic choice sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Polls `F` at most `polls` times: `None` if it was still pending then, and it is dropped
/// right after its last poll, wherever it stood (waiting for a permit, a connection, a row).
/// Counting polls instead of time puts drop points between the steps of an operation, whatever
/// the machine's speed, and keeps the sequence seeded.
struct DropAfter<F> {
    fut: Pin<Box<F>>,
    polls: u64,
}

impl<F: Future> Future for DropAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.fut.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => {
                self.polls -= 1;
                if self.polls == 0 {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

const KINDS: usize = 13;
const NAMES: [&str; KINDS] = [
    "execute",
    "fetch_all",
    "fetch_one",
    "fetch_optional",
    "fetch_scalar",
    "fetch_stream",
    "commit",
    "rollback",
    "savepoint",
    "tx_with_retry",
    "acquire",
    "with_timeout",
    "lane",
];

/// Writes an operation saw acknowledged: `(id, whether it must be in the table)`.
type Acked = Vec<(i64, bool)>;

#[derive(Default)]
struct Tally {
    completed: [usize; KINDS],
    dropped: [usize; KINDS],
    timed_out: usize,
    acked: Acked,
}

struct Sql {
    insert: &'static str,
    nonce: &'static str,
    nums: &'static str,
    one: &'static str,
    slow: &'static str,
}

fn sql(backend: Backend) -> Sql {
    let pg = backend == Backend::Postgres;
    Sql {
        insert: "INSERT INTO log (id) VALUES ($1)",
        nonce: if pg {
            "SELECT $1::int8 + 0"
        } else {
            "SELECT $1 + 0"
        },
        nums: if pg {
            "SELECT n + $1::int8 FROM nums ORDER BY n"
        } else {
            "SELECT n + $1 FROM nums ORDER BY n"
        },
        one: if pg {
            "SELECT n + $1::int8 FROM nums WHERE n = 7"
        } else {
            "SELECT n + $1 FROM nums WHERE n = 7"
        },
        slow: if pg {
            "SELECT $1::int8 + 0 FROM (SELECT pg_sleep(0.002)) s"
        } else {
            "SELECT $1 + 0 FROM DUAL WHERE SLEEP(0.002) = 0"
        },
    }
}

/// One operation of `kind`, with `id` as its nonce and the key of what it writes. Checks every
/// result it reads; returns the writes it saw acknowledged.
async fn op(db: &Database, s: &Sql, kind: usize, id: i64, pick: u64) -> weir::Result<Acked> {
    let nums = |rows: Vec<(i64,)>| {
        assert_eq!(rows.len(), 64, "short result");
        for (i, (v,)) in rows.into_iter().enumerate() {
            assert_eq!(v, i as i64 + 1 + id, "stale result");
        }
    };
    let (a, b) = (id * 2, id * 2 + 1);
    Ok(match kind {
        0 => {
            db.execute(s.insert, (a,)).await?;
            vec![(a, true)]
        }
        1 => {
            nums(db.fetch_all(s.nums, (id,)).await?);
            vec![]
        }
        2 => {
            let (v,): (i64,) = db.fetch_one(s.one, (id,)).await?;
            assert_eq!(v, 7 + id, "stale result");
            vec![]
        }
        3 => {
            let v: Option<(i64,)> = db.fetch_optional(s.nums, (id,)).await?;
            assert_eq!(v, Some((1 + id,)), "stale result");
            vec![]
        }
        4 => {
            let v: i64 = db.fetch_scalar(s.nonce, (id,)).await?;
            assert_eq!(v, id, "stale result");
            vec![]
        }
        5 => {
            let rows = db.fetch_stream::<(i64,), _>(s.nums, (id,));
            futures_util::pin_mut!(rows);
            for i in 0..pick % 64 {
                let (v,) = rows.next().await.expect("stream ended early")?;
                assert_eq!(v, i as i64 + 1 + id, "stale result");
            }
            vec![]
        }
        6 | 7 => {
            let tx = db.begin().await?;
            tx.execute(s.insert, (a,)).await?;
            let v: i64 = tx.fetch_scalar(s.nonce, (id,)).await?;
            assert_eq!(v, id, "stale result");
            if kind == 6 {
                tx.commit().await?;
                vec![(a, true)]
            } else {
                tx.rollback().await?;
                vec![(a, false)]
            }
        }
        8 => {
            let mut tx = db.begin().await?;
            tx.execute(s.insert, (a,)).await?;
            let keep = pick % 2 == 0;
            {
                let sp = tx.begin().await?;
                sp.execute(s.insert, (b,)).await?;
                if keep {
                    sp.commit().await?;
                } else {
                    sp.rollback().await?;
                }
            }
            tx.commit().await?;
            vec![(a, true), (b, keep)]
        }
        9 => {
            let insert = s.insert;
            db.transaction_with_retry(|tx| {
                Box::pin(async move {
                    tx.execute(insert, (a,)).await?;
                    Ok(())
                })
            })
            .await?;
            vec![(a, true)]
        }
        10 => {
            let conn = db.acquire().await?;
            let v: i64 = conn.fetch_scalar(s.nonce, (id,)).await?;
            assert_eq!(v, id, "stale result");
            conn.execute(s.insert, (a,)).await?;
            vec![(a, true)]
        }
        11 => {
            let timeout = Duration::from_micros(500 + pick % 4000);
            let v: i64 = db.with_timeout(timeout).fetch_scalar(s.slow, (id,)).await?;
            assert_eq!(v, id, "stale result");
            vec![]
        }
        _ => {
            let lane = db.lane("side");
            lane.execute(s.insert, (a,)).await?;
            let timeout = Duration::from_micros(500 + pick % 4000);
            nums(lane.with_timeout(timeout).fetch_all(s.nums, (id,)).await?);
            vec![(a, true)]
        }
    })
}

/// Runs `n` operations from `rng`'s sequence, each dropped at a random point unless it ends
/// first.
async fn worker(db: Database, backend: Backend, mut rng: Rng, first_id: i64, n: i64) -> Tally {
    let s = sql(backend);
    let mut t = Tally::default();
    for id in first_id..first_id + n {
        let kind = rng.below(KINDS as u64) as usize;
        let pick = rng.below(1 << 20);
        let fut = op(&db, &s, kind, id, pick);
        let outcome = if rng.below(8) == 0 {
            // Now and then by time instead, to land inside a long wait.
            let delay = Duration::from_micros(rng.below(5_000));
            tokio::time::timeout(delay, fut).await.ok()
        } else {
            let polls = 1 + rng.below(8);
            DropAfter {
                fut: Box::pin(fut),
                polls,
            }
            .await
        };
        match outcome {
            None => t.dropped[kind] += 1,
            Some(Ok(acked)) => {
                t.completed[kind] += 1;
                t.acked.extend(acked);
            }
            // Only the operations with a deadline of their own may fail, and only by it.
            Some(Err(Error::QueryTimeout { .. })) if kind >= 11 => {
                t.completed[kind] += 1;
                t.timed_out += 1;
                if kind == 12 {
                    // The lane's insert came back before its timed read.
                    t.acked.push((id * 2, true));
                }
            }
            Some(Err(e)) => panic!("{} #{id} failed: {e:?}", NAMES[kind]),
        }
    }
    t
}

/// Futures of every kind of operation (execute, the fetches, a partly read stream,
/// commit, rollback, savepoints, transaction_with_retry, acquire, with_timeout, lanes), four at
/// a time, dropped at seeded random points until 10,000 were dropped mid-way: every result read is the caller's own, a health
/// check every 100 operations finds every connection free, idle and outside a transaction, and
/// every acknowledged write (and acknowledged rollback) holds at the end.
async fn random_drops_leave_nothing_behind(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE log (id BIGINT PRIMARY KEY)", ())
        .await
        .unwrap();
    ctx.db
        .execute("CREATE TABLE nums (n BIGINT PRIMARY KEY)", ())
        .await
        .unwrap();
    let values: Vec<String> = (1..=64).map(|n| format!("({n})")).collect();
    ctx.db
        .execute(&format!("INSERT INTO nums VALUES {}", values.join(",")), ())
        .await
        .unwrap();
    let pool = watch(&ctx, |c| {
        c.with_max_size(4)
            .with_lane("side", Lane::new(2).with_max_queue(64))
    })
    .await;
    let target: usize = std::env::var("WEIR_CANCEL_DROPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("WEIR_CANCEL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_0007);
    eprintln!(
        "{}: {target} random drops, seed {seed} (WEIR_CANCEL_SEED)",
        ctx.backend
    );
    const WORKERS: i64 = 10;
    const BATCH: i64 = 100;
    let mut rngs: Vec<Rng> = (0..WORKERS as u64)
        .map(|w| Rng(seed ^ (w << 56) ^ ctx.backend as u64))
        .collect();
    let mut sum = Tally::default();
    let started = Instant::now();
    let mut checking = Duration::ZERO;
    let (mut batch, mut dropped) = (0, 0);
    while dropped < target {
        let tasks: Vec<_> = (0..WORKERS)
            .map(|w| {
                let rng = Rng(rngs[w as usize].below(u64::MAX));
                let first = batch * BATCH + w * (BATCH / WORKERS);
                tokio::spawn(worker(
                    pool.db.clone(),
                    ctx.backend,
                    rng,
                    first,
                    BATCH / WORKERS,
                ))
            })
            .collect();
        for t in tasks {
            let t = t.await.unwrap();
            for k in 0..KINDS {
                sum.completed[k] += t.completed[k];
                sum.dropped[k] += t.dropped[k];
                dropped += t.dropped[k];
            }
            sum.timed_out += t.timed_out;
            sum.acked.extend(t.acked);
        }
        let check = Instant::now();
        assert_pool_healthy(&ctx, &pool).await;
        checking += check.elapsed();
        batch += 1;
    }
    let total = batch * BATCH;
    let elapsed = started.elapsed();
    let present: HashSet<i64> = pool
        .db
        .fetch_all::<(i64,), _>("SELECT id FROM log", ())
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect();
    for (id, must) in &sum.acked {
        assert_eq!(
            present.contains(id),
            *must,
            "acknowledged write {id} (expected present: {must})"
        );
    }
    assert_eq!(ctx.open_transactions().await, 0);
    let per_kind: Vec<String> = (0..KINDS)
        .map(|k| format!("{} {}/{}", NAMES[k], sum.dropped[k], sum.completed[k]))
        .collect();
    eprintln!(
        "{}: {total} operations in {elapsed:?} ({checking:?} of it in {} health checks): \
         {dropped} dropped mid-way, {} completed ({} by their own timeout), {} acknowledged \
         writes held; {} connections opened, server peak {} of {}; dropped/completed per kind: {}",
        ctx.backend,
        batch,
        total as usize - dropped,
        sum.timed_out,
        sum.acked.len(),
        pool.opened(),
        pool.peak(),
        pool.max,
        per_kind.join(", ")
    );
    assert!(
        sum.dropped.iter().all(|&d| d > 0),
        "some kind was never dropped"
    );
}

/// 20 one-second sleeps on a pool of 2, two at a time, each abandoned by a 50 ms deadline: the server never
/// lists more of the pool's sessions than its maximum (an abandoned session must be gone, not
/// still finishing its statement, once the pool opens its replacement), and the pool is healthy.
async fn timed_out_sessions_are_gone_before_replacements_open(ctx: Ctx) {
    let pool = watch(&ctx, |c| c.with_max_size(8)).await;
    let sleep = ctx.sql(
        "SELECT pg_sleep(0.05)::text",
        "SELECT CAST(SLEEP(0.05) AS CHAR)",
    );
    assert_pool_healthy(&ctx, &pool).await;
    let scoped = pool.db.with_timeout(Duration::from_millis(10));
    for _ in 0..30 {
        let calls = (0..8).map(|_| async {
            let t = Instant::now();
            (scoped.execute(sleep, ()).await, t.elapsed())
        });
        for (r, took) in futures_util::future::join_all(calls).await {
            assert!(
                matches!(r, Err(Error::QueryTimeout { .. })),
                "{r:?} after {took:?}"
            );
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    eprintln!(
        "{}: {} sessions opened, server peak {} of {}",
        ctx.backend,
        pool.opened(),
        pool.peak(),
        pool.max
    );
    assert_pool_healthy(&ctx, &pool).await;
}
