//! Warnings that catch bugs: a slow statement logs one WARN with its SQL (never its parameter
//! values), and a `Connection` or `Transaction` held past the leak threshold logs one WARN
//! naming the line that took it, then an INFO when it is returned. Each with its default and
//! with `off`.

use std::time::Duration;

use weir::{Backend, Database, DatabaseConfig, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::secrets::captured;

both_backends!(
    slow_statement_warns_once_with_its_sql_and_no_values,
    slow_statement_default_and_off_warn_nothing,
    connection_held_past_the_threshold_warns_then_informs,
    transaction_held_past_the_threshold_warns_then_informs,
    leak_detection_off_warns_nothing,
);

/// What the leak events name.
const LEAK: &str = "leak_detection_threshold";
/// A parameter value that must appear in no captured line.
const VALUE: &str = "sv4SlowParamValue";

/// The captured `level event` lines that contain `needle`.
fn events<'a>(text: &'a str, level: &str, needle: &str) -> Vec<&'a str> {
    let head = format!("{level} event ");
    text.lines()
        .filter(|l| l.starts_with(&head) && l.contains(needle))
        .collect()
}

/// A statement that sleeps 600 ms, with a marker and one bound text parameter.
fn sleep_sql(ctx: &Ctx, marker: &'static str) -> String {
    let sleep = ctx.sql(
        "SELECT $1::text FROM pg_sleep(0.6)",
        "SELECT CONCAT(SLEEP(0.6), CAST($1 AS CHAR))",
    );
    format!("{sleep} /* {marker} */")
}

/// The pool's name in warnings: `host:port/database`.
fn pool_label(c: &DatabaseConfig) -> String {
    format!("{}/{}", c.target(), c.database().unwrap())
}

/// Runs `body` against a fresh pool built from `cfg`, capturing every event; returns them.
fn capture_with<F, Fut>(cfg: DatabaseConfig, body: F) -> String
where
    F: FnOnce(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    tokio::task::block_in_place(|| {
        captured(async move {
            let db = Database::connect_with(cfg).await.unwrap();
            body(db.clone()).await;
            db.close(Duration::from_secs(1)).await;
        })
    })
}

/// A 600 ms statement past a 250 ms threshold: one WARN with the SQL, elapsed time, lane, pool
/// and backend, and the bound value in no line; a fast statement on the same pool: no WARN.
async fn slow_statement_warns_once_with_its_sql_and_no_values(ctx: Ctx) {
    let cfg = ctx
        .config
        .clone()
        .with_slow_statement_threshold(Some(Duration::from_millis(250)));
    let slow = sleep_sql(&ctx, "slow-marker-17");
    let text = capture_with(cfg, |db| async move {
        let _: String = db.fetch_scalar(&slow, (VALUE,)).await.unwrap();
        let _: i64 = db
            .fetch_scalar("SELECT 1 /* fast-marker-17 */", ())
            .await
            .unwrap();
    });
    let warns = events(&text, "WARN", "slow-marker-17");
    assert_eq!(warns.len(), 1, "{text}");
    let warn = warns[0];
    for want in [
        "lane=default".to_string(),
        format!("pool={}", pool_label(&ctx.config)),
        format!("backend={}", ctx.backend),
        "elapsed=".to_string(),
    ] {
        assert!(warn.contains(&want), "no `{want}` in {warn}");
    }
    assert!(events(&text, "WARN", "fast-marker-17").is_empty(), "{text}");
    assert!(
        !text.contains(VALUE),
        "a parameter value was logged:\n{text}"
    );
    eprintln!("{}: {warn}", ctx.backend);
}

/// The default threshold is 1 s: a 600 ms statement logs nothing; `off` logs nothing either.
/// (The same statement past a 250 ms threshold does warn: the capture sees these events.)
async fn slow_statement_default_and_off_warn_nothing(ctx: Ctx) {
    for b in [Backend::Postgres, Backend::MySql] {
        let c = DatabaseConfig::new(b);
        assert_eq!(c.slow_statement_threshold(), Some(Duration::from_secs(1)));
    }
    let url = "postgres://u@h/db?slow_statement_threshold=off";
    let off = DatabaseConfig::from_url(url).unwrap();
    assert_eq!(off.slow_statement_threshold(), None);
    let slow = sleep_sql(&ctx, "slow-marker-18");
    let small = Some(Duration::from_millis(250));
    for (cfg, want) in [
        (ctx.config.clone(), 0),
        (ctx.config.clone().with_slow_statement_threshold(None), 0),
        (ctx.config.clone().with_slow_statement_threshold(small), 1),
    ] {
        let sql = slow.clone();
        let text = capture_with(cfg, |db| async move {
            let _: String = db.fetch_scalar(&sql, (VALUE,)).await.unwrap();
        });
        assert_eq!(
            events(&text, "WARN", "slow-marker-18").len(),
            want,
            "{text}"
        );
    }
}

fn leaky(ctx: &Ctx) -> DatabaseConfig {
    ctx.config
        .clone()
        .with_leak_detection_threshold(Some(Duration::from_millis(500)))
}

/// Asserts one WARN naming `file:line` and the pool, then one INFO after it, and nothing else
/// about leaks.
fn assert_warned_then_informed(ctx: &Ctx, text: &str, line: u32) {
    let at = format!("{}:{line}", file!());
    let warns = events(text, "WARN", LEAK);
    assert_eq!(warns.len(), 1, "{text}");
    assert!(warns[0].contains(&at), "no `{at}` in {}", warns[0]);
    let pool = format!("pool={}", pool_label(&ctx.config));
    assert!(warns[0].contains(&pool), "no `{pool}` in {}", warns[0]);
    let infos = events(text, "INFO", LEAK);
    assert_eq!(infos.len(), 1, "{text}");
    assert!(infos[0].contains(&at), "no `{at}` in {}", infos[0]);
    let pos = |l: &str| text.find(l).unwrap();
    assert!(pos(warns[0]) < pos(infos[0]), "INFO before WARN:\n{text}");
    eprintln!("{}: {}\n{}", ctx.backend, warns[0], infos[0]);
}

/// A connection held 1.2 s past a 500 ms threshold: one WARN naming this file and the line of
/// `acquire`, then an INFO when dropped; one dropped after one statement: nothing.
async fn connection_held_past_the_threshold_warns_then_informs(ctx: Ctx) {
    assert_eq!(
        DatabaseConfig::new(ctx.backend).leak_detection_threshold(),
        Some(Duration::from_secs(60))
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let text = capture_with(leaky(&ctx), |db| async move {
        let brief = db.acquire().await.unwrap();
        brief.execute("SELECT 1", ()).await.unwrap();
        drop(brief);
        let (conn, line) = (db.acquire().await.unwrap(), line!());
        tx.send(line).unwrap();
        conn.execute("SELECT 1", ()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        drop(conn);
    });
    assert_warned_then_informed(&ctx, &text, rx.recv().unwrap());
}

/// A transaction held 1.2 s past a 500 ms threshold: one WARN naming the line of `begin`,
/// then an INFO when committed; one committed at once: nothing.
async fn transaction_held_past_the_threshold_warns_then_informs(ctx: Ctx) {
    let (tx, rx) = std::sync::mpsc::channel();
    let text = capture_with(leaky(&ctx), |db| async move {
        db.begin().await.unwrap().commit().await.unwrap();
        let (t, line) = (db.begin().await.unwrap(), line!());
        tx.send(line).unwrap();
        t.execute("SELECT 1", ()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        t.commit().await.unwrap();
    });
    assert_warned_then_informed(&ctx, &text, rx.recv().unwrap());
}

/// With `off`, a connection and a transaction held 1.2 s log nothing about leaks. (With a
/// 500 ms threshold the same holds warn: the capture sees these events.)
async fn leak_detection_off_warns_nothing(ctx: Ctx) {
    let url = "mysql://u@h/db?leak_detection_threshold=off";
    let off = DatabaseConfig::from_url(url).unwrap();
    assert_eq!(off.leak_detection_threshold(), None);
    for (cfg, want) in [
        (ctx.config.clone().with_leak_detection_threshold(None), 0),
        (leaky(&ctx), 2),
    ] {
        let text = capture_with(cfg, |db| async move {
            let conn = db.acquire().await.unwrap();
            let t = db.begin().await.unwrap();
            tokio::time::sleep(Duration::from_millis(1200)).await;
            t.rollback().await.unwrap();
            drop(conn);
        });
        assert_eq!(events(&text, "WARN", LEAK).len(), want, "{text}");
        assert_eq!(events(&text, "INFO", LEAK).len(), want, "{text}");
    }
}
