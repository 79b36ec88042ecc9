//! Every metric in docs/metrics.md, read back through a `metrics-util` debugging recorder after
//! a small workload that moves each one: a saturated pool, a shed, a queue timeout, a slow
//! call, a query timeout with its cancel, a session change, a killed and a broken session,
//! idle and aged sessions, retried connects, and a closed pool.

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use weir::{Database, DatabaseConfig, Error, Executor, Lane, RetryPolicy};

use crate::both_backends;
use crate::common::Ctx;
use crate::kill::kill;

both_backends!(every_metric_moves_under_a_small_workload);

/// One reading of one metric: its name, labels and value.
struct Reading {
    name: String,
    labels: Vec<(String, String)>,
    value: DebugValue,
}

/// The snapshots taken so far. A snapshot resets what it reads (counters and gauges to zero,
/// histograms emptied), so counters and histograms are summed over all of them.
#[derive(Default)]
struct Readings(Vec<Vec<Reading>>);

impl Readings {
    fn take(&mut self, s: &Snapshotter) {
        self.0.push(
            s.snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let (kind, key) = key.into_parts();
                    let name = key.name().to_owned();
                    // Prometheus names counters by `_total`, durations by `_seconds`.
                    match kind {
                        MetricKind::Counter => assert!(name.ends_with("_total"), "{name}"),
                        MetricKind::Histogram => assert!(name.ends_with("_seconds"), "{name}"),
                        MetricKind::Gauge => assert!(!name.ends_with("_total"), "{name}"),
                    }
                    let labels = key
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    Reading {
                        name,
                        labels,
                        value,
                    }
                })
                .collect(),
        );
    }

    fn matching<'a>(
        readings: &'a [Reading],
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Reading> + 'a {
        readings.iter().filter(move |r| {
            r.name == name
                && labels
                    .iter()
                    .all(|(k, v)| r.labels.iter().any(|(rk, rv)| rk == k && rv == v))
        })
    }

    /// The sum of counter `name` over every snapshot and every series carrying `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut found = false;
        let mut sum = 0;
        for snap in &self.0 {
            for r in Self::matching(snap, name, labels) {
                found = true;
                if let DebugValue::Counter(n) = r.value {
                    sum += n;
                }
            }
        }
        assert!(found, "no counter {name} {labels:?}");
        sum
    }

    /// Gauge `name` with `labels` in snapshot `at`.
    fn gauge(&self, at: usize, name: &str, labels: &[(&str, &str)]) -> f64 {
        let r = Self::matching(&self.0[at], name, labels).next();
        match r.map(|r| &r.value) {
            Some(DebugValue::Gauge(v)) => v.into_inner(),
            _ => panic!("no gauge {name} {labels:?}"),
        }
    }

    /// Every value of histogram `name` with `labels`, over every snapshot.
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        let mut found = false;
        let mut all = Vec::new();
        for snap in &self.0 {
            for r in Self::matching(snap, name, labels) {
                found = true;
                if let DebugValue::Histogram(v) = &r.value {
                    all.extend(v.iter().map(|x| x.into_inner()));
                }
            }
        }
        assert!(found, "no histogram {name} {labels:?}");
        all
    }
}

fn sleep_sql(ctx: &Ctx, secs: &str) -> String {
    match ctx.backend {
        weir::Backend::Postgres => format!("SELECT pg_sleep({secs})"),
        weir::Backend::MySql => format!("SELECT SLEEP({secs})"),
    }
}

/// Every metric of the table appears, each labelled with its pool, and moves as the workload
/// says: gauges while the pool is saturated, counters and histograms over the whole run.
async fn every_metric_moves_under_a_small_workload(ctx: Ctx) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let base = ctx.config.clone();
    let config =
        |name: &str, f: fn(DatabaseConfig) -> DatabaseConfig| f(base.clone().with_pool_name(name));
    // Handles are registered when a pool is built: build every pool under the test's recorder.
    let [db, idle, old, down] = metrics::with_local_recorder(&recorder, || {
        [
            config("m", |c| {
                c.with_max_size(2)
                    .with_lane(
                        "narrow",
                        Lane::new(1)
                            .with_max_queue(1)
                            .with_queue_timeout(Duration::from_millis(300)),
                    )
                    .with_slow_statement_threshold(Some(Duration::from_millis(200)))
                    .with_idle_check_after(Duration::ZERO)
                    .with_idle_timeout(None)
                    .with_max_lifetime(None)
            }),
            config("idle", |c| {
                c.with_idle_timeout(Some(Duration::from_millis(200)))
                    .with_max_lifetime(None)
            }),
            config("old", |c| {
                c.with_idle_timeout(None)
                    .with_max_lifetime(Some(Duration::from_millis(200)))
            }),
            config("down", |c| {
                c.with_host("127.0.0.1")
                    .with_port(1)
                    .with_acquire_timeout(Duration::from_secs(2))
                    .with_retry(
                        RetryPolicy::default()
                            .with_max_attempts(3)
                            .with_backoff(Duration::from_millis(10), Duration::from_millis(20)),
                    )
            }),
        ]
        .map(|c| Database::connect_lazy_with(c).unwrap())
    });
    let mut readings = Readings::default();

    for _ in 0..3 {
        let _: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    }

    // Saturation: both connections held, a caller waiting for one, a lane call holding the
    // lane's permit (waiting for a connection too), one queued behind it and one shed.
    let c1 = db.acquire().await.unwrap();
    let c2 = db.acquire().await.unwrap();
    let waiter = tokio::spawn({
        let db = db.clone();
        async move { db.fetch_scalar::<i64, _>("SELECT 2", ()).await }
    });
    let slow = tokio::spawn({
        let (db, sql) = (db.clone(), sleep_sql(&ctx, "0.4"));
        async move { db.lane("narrow").execute(&sql, ()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = tokio::spawn({
        let db = db.clone();
        async move { db.lane("narrow").execute("SELECT 3", ()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shed = db.lane("narrow").execute("SELECT 4", ()).await;
    assert!(matches!(shed, Err(Error::Shed { .. })), "{shed:?}");
    readings.take(&snapshotter);
    let m = [("pool", "m")];
    let narrow = [("pool", "m"), ("lane", "narrow")];
    assert_eq!(readings.gauge(0, "weir_pool_max_connections", &m), 2.0);
    let in_use = [("pool", "m"), ("state", "in_use")];
    assert_eq!(readings.gauge(0, "weir_pool_connections", &in_use), 2.0);
    let idle_state = [("pool", "m"), ("state", "idle")];
    assert_eq!(readings.gauge(0, "weir_pool_connections", &idle_state), 0.0);
    assert_eq!(readings.gauge(0, "weir_pool_waiting", &m), 2.0);
    assert_eq!(readings.gauge(0, "weir_lane_in_flight", &narrow), 1.0);
    assert_eq!(readings.gauge(0, "weir_lane_queued", &narrow), 1.0);
    let timed_out = queued.await.unwrap();
    assert!(
        matches!(timed_out, Err(Error::QueueTimeout { .. })),
        "{timed_out:?}"
    );
    drop((c1, c2));
    waiter.await.unwrap().unwrap();
    slow.await.unwrap().unwrap();

    // A query timeout: its statement is cancelled on the server, its session closed.
    let r = db
        .with_timeout(Duration::from_millis(300))
        .execute(&sleep_sql(&ctx, "5"), ())
        .await;
    assert!(matches!(r, Err(Error::QueryTimeout { .. })), "{r:?}");

    // A statement that changes its session gets the session closed after the call.
    let change = ctx.sql("SET application_name = 'changed'", "SET @weir_metrics = 1");
    db.execute(change, ()).await.unwrap();

    // A session killed on the server mid-statement, and one killed while idle (found broken
    // by the check before its next use).
    let id_sql = ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CAST(CONNECTION_ID() AS SIGNED)",
    );
    let conn = db.acquire().await.unwrap();
    let id: i64 = conn.fetch_scalar(id_sql, ()).await.unwrap();
    let victim = tokio::spawn({
        let sql = sleep_sql(&ctx, "5");
        async move { conn.execute(&sql, ()).await.map(drop) }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill(&ctx, id).await;
    assert!(victim.await.unwrap().is_err());
    let conn = db.acquire().await.unwrap();
    let id: i64 = conn.fetch_scalar(id_sql, ()).await.unwrap();
    drop(conn);
    kill(&ctx, id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..2 {
        let _: i64 = db.fetch_scalar("SELECT 5", ()).await.unwrap();
    }

    // Sessions closed by the maintenance task; connects refused and retried.
    let _: i64 = idle.fetch_scalar("SELECT 1", ()).await.unwrap();
    let _: i64 = old.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert!(down.fetch_scalar::<i64, _>("SELECT 1", ()).await.is_err());
    tokio::time::sleep(Duration::from_millis(800)).await;

    db.close(Duration::from_secs(1)).await;
    readings.take(&snapshotter);

    for snap in &readings.0 {
        for r in snap {
            assert!(
                r.labels.iter().any(|(k, _)| k == "pool"),
                "{} has no pool label",
                r.name
            );
        }
    }
    // docs/metrics.md lists exactly the metrics weir registers.
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    let listed: std::collections::BTreeSet<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `weir_"))
        .filter_map(|l| l.split('`').next())
        .collect();
    let seen: std::collections::BTreeSet<&str> = readings
        .0
        .iter()
        .flatten()
        .filter_map(|r| r.name.strip_prefix("weir_"))
        .collect();
    assert_eq!(
        listed, seen,
        "docs/metrics.md against what the pools registered"
    );
    let acquire = readings.histogram("weir_acquire_seconds", &m);
    assert!(acquire.len() >= 8, "{acquire:?}");
    assert!(
        acquire.iter().any(|s| *s >= 0.1),
        "no long wait: {acquire:?}"
    );
    let calls = readings.histogram("weir_call_seconds", &[("pool", "m"), ("lane", "default")]);
    assert!(calls.len() >= 8, "{calls:?}");
    let slow_calls = readings.histogram("weir_call_seconds", &narrow);
    assert!(slow_calls.iter().any(|s| *s >= 0.4), "{slow_calls:?}");

    let outcome = |lane, o| {
        readings.counter(
            "weir_calls_total",
            &[("pool", "m"), ("lane", lane), ("outcome", o)],
        )
    };
    assert!(outcome("default", "ok") >= 8);
    assert_eq!(outcome("default", "query_timeout"), 1);
    assert!(outcome("default", "error") >= 1);
    assert_eq!(outcome("narrow", "shed"), 1);
    assert_eq!(outcome("narrow", "queue_timeout"), 1);
    assert_eq!(readings.counter("weir_shed_total", &narrow), 1);
    assert_eq!(readings.counter("weir_queue_timeouts_total", &narrow), 1);
    assert!(readings.counter("weir_slow_calls_total", &narrow) >= 1);
    assert!(readings.counter("weir_retries_total", &[("pool", "down")]) >= 1);
    assert!(readings.counter("weir_cancels_total", &m) >= 1);

    let opened = readings.counter("weir_connections_opened_total", &m);
    assert!(opened >= 5, "{opened}");
    let closed = |pool, reason| {
        readings.counter(
            "weir_connections_closed_total",
            &[("pool", pool), ("reason", reason)],
        )
    };
    for reason in [
        "mid_statement",
        "session_changed",
        "killed",
        "broken",
        "pool_closed",
    ] {
        assert!(closed("m", reason) >= 1, "none closed as {reason}");
    }
    assert!(closed("idle", "idle_timeout") >= 1);
    assert!(closed("old", "max_lifetime") >= 1);
    assert_eq!(
        readings.counter("weir_connections_closed_total", &m),
        opened,
        "a closed pool closed every connection it opened"
    );
}
