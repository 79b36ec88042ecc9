//! A soak run: mixed load on a database of its own (`weir_soak`), a fault every 30 s, samples
//! every 5 s, and a pass/fail verdict at the end.
//!
//! ```sh
//! cargo run --release -p weir-bench --bin soak -- --minutes 30 [--backend postgres|mysql|both] [--url URL]
//! cargo run -p weir-bench --bin soak -- --seconds 60   # a short run, e.g. in CI
//! ```
//!
//! Load: reads, writes (plain and in transactions through `transaction_with_retry`), partly read
//! streams, calls that time out. Faults, in turn: every pool connection killed from the server,
//! a storm of statement timeouts, 500 futures dropped at random points. It never restarts the
//! server. Samples: process RSS, open descriptors, tokio tasks alive, pool status, and (every
//! second) the pool's connections as the server lists them. PASS needs: RSS of the last three
//! samples within 10% + 16 MB of the first three after warm-up; descriptors and tasks back to
//! their baseline once the load stops; never more server connections than `pool_max_size`
//! (a session the pool closed that the server still lists idle, and drops within 250 ms, is
//! reported as a teardown sighting instead: MariaDB lists a session until its thread has read
//! the goodbye); every acknowledged write present at the end. The last line is `soak: PASS ...` or `soak: FAIL ...`,
//! and a failure exits with status 1.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use weir::{Backend, Database, DatabaseConfig, Error, Executor};

const MAX: usize = 8;
const WRITERS: i64 = 4;
const READERS: usize = 4;
/// How long a session the pool closed may stay listed by the server before it counts.
const TEARDOWN: Duration = Duration::from_millis(250);

/// One backend's run: its pool, the ids of the pool's sessions, and what the load saw.
struct Run {
    backend: Backend,
    db: Database,
    admin: Database,
    ids: Arc<Mutex<HashSet<i64>>>,
    peak: AtomicUsize,
    /// Samples of the server's sessions that failed: each one fails the run.
    failed_samples: AtomicU64,
    /// Samples above the maximum that a second look explained by sessions in teardown.
    teardown_sightings: AtomicU64,
    ops: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    /// Per writer: writes acknowledged, and the sequence numbers whose outcome is unknown.
    acked: Vec<AtomicU64>,
    unknown: Vec<Mutex<Vec<i64>>>,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn sql(b: Backend, pg: &'static str, my: &'static str) -> &'static str {
    if b == Backend::Postgres {
        pg
    } else {
        my
    }
}

async fn setup(backend: Backend, url: &str) -> weir::Result<Run> {
    let server = DatabaseConfig::from_url(url)?.with_max_size(1);
    let admin = Database::connect_with(server.clone()).await?;
    let drop_sql = sql(
        backend,
        "DROP DATABASE IF EXISTS weir_soak WITH (FORCE)",
        "DROP DATABASE IF EXISTS weir_soak",
    );
    admin.execute(drop_sql, ()).await?;
    admin.execute("CREATE DATABASE weir_soak", ()).await?;
    let ids = Arc::new(Mutex::new(HashSet::new()));
    let recorded = ids.clone();
    let cfg = server
        .with_database("weir_soak")
        .with_max_size(MAX)
        .with_acquire_timeout(Duration::from_secs(5))
        .with_statement_timeout(Some(Duration::from_secs(5)))
        .after_connect(move |s| {
            let recorded = recorded.clone();
            Box::pin(async move {
                let id_sql = sql(
                    s.backend(),
                    "SELECT pg_backend_pid()::int8",
                    "SELECT CONNECTION_ID() + 0",
                );
                let rows: Vec<(i64,)> = s.fetch_all(id_sql, ()).await?;
                recorded.lock().unwrap().extend(rows.iter().map(|r| r.0));
                Ok(())
            })
        });
    let db = Database::connect_with(cfg).await?;
    db.execute(
        "CREATE TABLE items (writer BIGINT NOT NULL, seq BIGINT NOT NULL, v BIGINT NOT NULL, \
         PRIMARY KEY (writer, seq))",
        (),
    )
    .await?;
    Ok(Run {
        backend,
        db,
        admin,
        ids,
        peak: AtomicUsize::new(0),
        teardown_sightings: AtomicU64::new(0),
        failed_samples: AtomicU64::new(0),
        ops: AtomicU64::new(0),
        errors: Mutex::new(BTreeMap::new()),
        acked: (0..WRITERS).map(|_| AtomicU64::new(0)).collect(),
        unknown: (0..WRITERS).map(|_| Mutex::new(Vec::new())).collect(),
    })
}

impl Run {
    fn note<T>(&self, r: &weir::Result<T>) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = r {
            let name = format!("{e:?}");
            let name = name.split([' ', '(', '{']).next().unwrap_or("?").to_owned();
            *self.errors.lock().unwrap().entry(name).or_default() += 1;
        }
    }

    /// Server sessions on `weir_soak`: id, whether it is one of the pool's, whether it is idle.
    /// Also what each is doing, as the server puts it.
    async fn server_sessions(&self) -> weir::Result<Vec<(i64, bool, bool, String)>> {
        let q = sql(
            self.backend,
            "SELECT pid::int8, CASE WHEN state = 'idle' THEN 1 ELSE 0 END::int8, \
             COALESCE(state, '') || ' ' || COALESCE(wait_event, '') || ' ' || LEFT(query, 40) \
             FROM pg_stat_activity WHERE datname = 'weir_soak'",
            "SELECT CAST(ID AS SIGNED), CAST(COMMAND = 'Sleep' AS SIGNED), \
             CONCAT(COMMAND, ' ', COALESCE(STATE, ''), ' ', TIME, 's ', COALESCE(LEFT(INFO, 40), '')) \
             FROM information_schema.PROCESSLIST WHERE DB = 'weir_soak'",
        );
        let rows: Vec<(i64, i64, String)> = self.admin.fetch_all(q, ()).await?;
        let ids = self.ids.lock().unwrap();
        Ok(rows
            .into_iter()
            .map(|(id, idle, what)| (id, ids.contains(&id), idle == 1, what))
            .collect())
    }

    /// The pool's sessions as the server lists them. Above the maximum, it looks again after
    /// `TEARDOWN`: an idle session gone by then was one the pool had already closed, which
    /// MariaDB keeps listing until its thread has read the goodbye (mysql_async gives no way
    /// to wait for that); it is reported, not counted. A busy one, or one still there, counts.
    async fn pool_on_server(&self, t: u64) -> usize {
        let first = match self.server_sessions().await {
            Ok(s) => s.into_iter().filter(|s| s.1).collect::<Vec<_>>(),
            Err(e) => {
                eprintln!("{}: sampling the server failed: {e}", self.backend);
                self.failed_samples.fetch_add(1, Ordering::Relaxed);
                return 0;
            }
        };
        if first.len() <= MAX {
            return first.len();
        }
        tokio::time::sleep(TEARDOWN).await;
        let Ok(again) = self.server_sessions().await else {
            return first.len();
        };
        let lingering = first
            .iter()
            .filter(|(id, _, idle, _)| *idle && !again.iter().any(|s| s.0 == *id))
            .count();
        println!(
            "t={t}s {}: server listed {} pool sessions; {lingering} of them idle and gone within \
             {TEARDOWN:?} (closed by the pool, still in the server's teardown)",
            self.backend,
            first.len()
        );
        // What the counted ones were doing, for a failure to be read rather than guessed.
        for (id, _, idle, what) in &first {
            let still = again.iter().any(|s| s.0 == *id);
            if !*idle || still {
                println!(
                    "t={t}s {}:   session {id}: `{what}` at the first look, {} {TEARDOWN:?} later",
                    self.backend,
                    if still { "still listed" } else { "gone" },
                );
            }
        }
        self.teardown_sightings.fetch_add(1, Ordering::Relaxed);
        first.len() - lingering
    }
}

/// Writer `w`: numbered inserts, every third in a transaction with a read.
async fn writer(run: Arc<Run>, w: i64, stop: Arc<AtomicBool>) {
    let mut seq = 0i64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let ins = "INSERT INTO items (writer, seq, v) VALUES ($1, $2, $3)";
        let r = if seq % 3 == 0 {
            run.db
                .transaction_with_retry(|tx| {
                    Box::pin(async move {
                        tx.execute(ins, (w, seq, seq * 7)).await?;
                        let n: i64 = tx
                            .fetch_scalar("SELECT COUNT(*) FROM items WHERE writer = $1", (w,))
                            .await?;
                        Ok(n)
                    })
                })
                .await
                .map(|_| 1)
        } else {
            run.db.execute(ins, (w, seq, seq * 7)).await
        };
        run.note(&r);
        match r {
            Ok(_) => {
                run.acked[w as usize].fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => run.unknown[w as usize].lock().unwrap().push(seq),
        }
    }
}

/// Reader `i`: nonces, small fetches, partly read streams, calls that time out.
async fn reader(run: Arc<Run>, i: usize, stop: Arc<AtomicBool>) {
    let b = run.backend;
    let mut n = i as i64 * 1_000_000_000;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        match n % 4 {
            0 => {
                let r: weir::Result<i64> = run
                    .db
                    .fetch_scalar(sql(b, "SELECT $1::int8 + 0", "SELECT $1 + 0"), (n,))
                    .await;
                if let Ok(v) = &r {
                    assert_eq!(*v, n, "stale result");
                }
                run.note(&r);
            }
            1 => {
                let q = "SELECT seq, v FROM items WHERE writer = $1 ORDER BY seq DESC LIMIT 20";
                let r: weir::Result<Vec<(i64, i64)>> = run.db.fetch_all(q, (n % WRITERS,)).await;
                run.note(&r);
            }
            2 => {
                // Mostly read to the end; every fifth stream is dropped part-way.
                let q = "SELECT seq, v FROM items WHERE writer = $1 ORDER BY seq DESC LIMIT 100";
                let rows = run.db.fetch_stream::<(i64, i64), _>(q, (n % WRITERS,));
                futures_util::pin_mut!(rows);
                let (mut r, mut read) = (Ok(()), 0);
                while let Some(row) = rows.next().await {
                    read += 1;
                    if let Err(e) = row {
                        r = Err(e);
                        break;
                    }
                    if n % 20 == 2 && read == 10 {
                        break;
                    }
                }
                run.note(&r);
            }
            _ => {
                let slow = sql(
                    b,
                    "SELECT pg_sleep(0.05)::text",
                    "SELECT CAST(SLEEP(0.05) AS CHAR)",
                );
                let r = run
                    .db
                    .with_timeout(Duration::from_millis(10))
                    .execute(slow, ())
                    .await;
                run.note(&r);
            }
        }
    }
}

/// Fault `k` of the rotation.
async fn fault(run: &Run, k: u64) -> String {
    match k % 3 {
        0 => {
            let victims = run.server_sessions().await.unwrap_or_default();
            let mut killed = 0;
            for (id, ..) in victims.into_iter().filter(|v| v.1) {
                let r = match run.backend {
                    Backend::Postgres => run
                        .admin
                        .execute("SELECT pg_terminate_backend($1::int4)", (id,))
                        .await
                        .map(drop),
                    Backend::MySql => run
                        .admin
                        .execute(&format!("KILL CONNECTION {id}"), ())
                        .await
                        .map(drop),
                };
                if r.is_ok() {
                    killed += 1;
                    // Killed by us, the session is the server's to tear down, no longer the
                    // pool's: it stops counting against the pool's maximum (sessions whose
                    // statement weir cancelled still count, until the server lets them go).
                    run.ids.lock().unwrap().remove(&id);
                }
            }
            format!("killed {killed} pool sessions on the server")
        }
        1 => {
            let slow = sql(
                run.backend,
                "SELECT pg_sleep(1)::text",
                "SELECT CAST(SLEEP(1) AS CHAR)",
            );
            let calls = (0..200u64).map(|i| {
                let db = run.db.clone();
                async move {
                    let t = Duration::from_millis(1 + i % 20);
                    db.with_timeout(t).execute(slow, ()).await
                }
            });
            let rs = futures_util::future::join_all(calls).await;
            let timed_out = rs
                .iter()
                .filter(|r| matches!(r, Err(Error::QueryTimeout { .. })))
                .count();
            format!("statement timeout storm: {timed_out}/200 timed out")
        }
        _ => {
            for i in 0..500u64 {
                let fut = run.db.fetch_scalar::<i64, _>("SELECT 1", ());
                let _ = tokio::time::timeout(Duration::from_micros(i * 37 % 3000), fut).await;
            }
            "dropped 500 futures at random points".to_owned()
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    rss_kb: u64,
    fds: usize,
    tasks: usize,
}

fn sample() -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count);
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    Sample { rss_kb, fds, tasks }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = match (arg("--minutes"), arg("--seconds")) {
        (Some(m), _) => m.parse::<u64>().expect("--minutes N") * 60,
        (None, Some(s)) => s.parse().expect("--seconds N"),
        (None, None) => 60,
    };
    let which = arg("--backend").unwrap_or_else(|| "both".into());
    let backends: Vec<Backend> = match which.as_str() {
        "postgres" => vec![Backend::Postgres],
        "mysql" => vec![Backend::MySql],
        "both" => vec![Backend::Postgres, Backend::MySql],
        other => panic!("--backend postgres|mysql|both, not {other}"),
    };
    let mut runs = Vec::new();
    for b in &backends {
        let url = arg("--url")
            .filter(|_| backends.len() == 1)
            .or_else(|| std::env::var(weir::testing::env_var(*b)).ok())
            .unwrap_or_else(|| weir::testing::default_url(*b).to_owned());
        runs.push(Arc::new(setup(*b, &url).await.expect("soak setup")));
    }
    // Baseline: every pool full, idle.
    for run in &runs {
        let held = futures_util::future::join_all((0..MAX).map(|_| run.db.acquire())).await;
        drop(held);
    }
    let base = sample();
    println!("soak: {secs} s on {which}, pool max {MAX}, baseline {base:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for run in &runs {
        for w in 0..WRITERS {
            load.push(tokio::spawn(writer(run.clone(), w, stop.clone())));
        }
        for i in 0..READERS {
            load.push(tokio::spawn(reader(run.clone(), i, stop.clone())));
        }
    }
    let started = Instant::now();
    let warm_up = Duration::from_secs((secs / 5).clamp(5, 60));
    let mut samples: Vec<Sample> = Vec::new();
    let (mut next_sample, mut next_fault, mut k) = (5, 30, 0);
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let t = started.elapsed().as_secs();
        for run in &runs {
            run.peak
                .fetch_max(run.pool_on_server(t).await, Ordering::SeqCst);
        }
        if t >= next_fault {
            next_fault += 30;
            for run in &runs {
                println!("t={t}s {}: fault: {}", run.backend, fault(run, k).await);
            }
            k += 1;
        }
        if t >= next_sample {
            next_sample += 5;
            let s = sample();
            if started.elapsed() >= warm_up {
                samples.push(s);
            }
            let pools: Vec<String> = runs
                .iter()
                .map(|r| {
                    let p = r.db.status();
                    format!(
                        "{}: ops {} size {} in_use {} waiting {} server peak {} errors {:?}",
                        r.backend,
                        r.ops.load(Ordering::Relaxed),
                        p.size,
                        p.in_use,
                        p.waiting,
                        r.peak.load(Ordering::SeqCst),
                        r.errors.lock().unwrap()
                    )
                })
                .collect();
            println!(
                "t={t}s rss {} kB fds {} tasks {} | {}",
                s.rss_kb,
                s.fds,
                s.tasks,
                pools.join(" | ")
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.expect("a load task panicked");
    }
    let mut fails = Vec::new();
    // Quiet: work returns, cancels and rollbacks in the background end.
    let quiet = Instant::now();
    let mut end = sample();
    while quiet.elapsed() < Duration::from_secs(10) {
        end = sample();
        let idle = runs.iter().all(|r| r.db.status().in_use == 0);
        if idle && end.fds <= base.fds && end.tasks <= base.tasks {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if end.fds > base.fds {
        fails.push(format!("descriptors {} > baseline {}", end.fds, base.fds));
    }
    if end.tasks > base.tasks {
        fails.push(format!("tasks {} > baseline {}", end.tasks, base.tasks));
    }
    let mean = |s: &[Sample]| s.iter().map(|s| s.rss_kb).sum::<u64>() / s.len().max(1) as u64;
    let (first, last) = if samples.len() >= 6 {
        (mean(&samples[..3]), mean(&samples[samples.len() - 3..]))
    } else {
        (0, 0)
    };
    if samples.len() < 6 {
        println!(
            "only {} samples after warm-up: memory not judged",
            samples.len()
        );
    } else if last > first + first / 10 + 16 * 1024 {
        fails.push(format!("RSS grew from {first} kB to {last} kB"));
    }
    let mut summary = Vec::new();
    for run in &runs {
        let peak = run.peak.load(Ordering::SeqCst);
        if peak > MAX {
            fails.push(format!(
                "{}: {peak} server connections for a pool of {MAX}",
                run.backend
            ));
        }
        let failed_samples = run.failed_samples.load(Ordering::Relaxed);
        if failed_samples > 0 {
            fails.push(format!(
                "{}: {failed_samples} samples of the server's sessions failed",
                run.backend
            ));
        }
        let (mut acked, mut lost) = (0, 0);
        for w in 0..WRITERS {
            let a = run.acked[w as usize].load(Ordering::Relaxed) as i64;
            let unknown = run.unknown[w as usize].lock().unwrap().clone();
            let mut q = String::from("SELECT COUNT(*) FROM items WHERE writer = $1");
            if !unknown.is_empty() {
                let list: Vec<String> = unknown.iter().map(i64::to_string).collect();
                q.push_str(&format!(" AND seq NOT IN ({})", list.join(",")));
            }
            let present: i64 = run
                .db
                .fetch_scalar(&q, (w,))
                .await
                .expect("counting writes");
            acked += a;
            lost += (a - present).max(0);
            if present != a {
                fails.push(format!(
                    "{} writer {w}: {a} acknowledged, {present} present",
                    run.backend
                ));
            }
        }
        summary.push(format!(
            "{}: {} ops, {acked} acknowledged writes, {lost} lost, server peak {peak}/{MAX} \
             ({} sightings of closed sessions in teardown), errors {:?}",
            run.backend,
            run.ops.load(Ordering::Relaxed),
            run.teardown_sightings.load(Ordering::Relaxed),
            run.errors.lock().unwrap()
        ));
        run.db.close(Duration::from_secs(5)).await;
        let _ = run
            .admin
            .execute(
                sql(
                    run.backend,
                    "DROP DATABASE weir_soak WITH (FORCE)",
                    "DROP DATABASE weir_soak",
                ),
                (),
            )
            .await;
    }
    let verdict = format!(
        "{secs} s, rss {first}->{last} kB, fds {}->{}, tasks {}->{}; {}",
        base.fds,
        end.fds,
        base.tasks,
        end.tasks,
        summary.join("; ")
    );
    if fails.is_empty() {
        println!("soak: PASS {verdict}");
    } else {
        println!("soak: FAIL {verdict}: {}", fails.join("; "));
        std::process::exit(1);
    }
}
