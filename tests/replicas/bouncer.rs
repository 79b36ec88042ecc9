//! PgBouncer 1.18 in transaction mode (2 server connections) before the PostgreSQL primary,
//! with more callers than server connections: with `statement_cache_capacity=0` (unnamed
//! statements) queries, types, transactions and timeouts work; with named statements the same
//! workload fails, so the switch is what makes it work.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use weir::{Backend, Database, DatabaseConfig, Error, Executor, RetryPolicy};

use crate::bed::{bed, Bed, Host};

/// More concurrent callers than PgBouncer's `default_pool_size` (2).
const CALLERS: i64 = 8;
const ROUNDS: i64 = 10;

async fn through_bouncer(bed: &mut Bed, test: &str, query: &str) -> Option<Database> {
    let url = bed.bouncer_url(&format!("pool_max_size={CALLERS}&{query}"), test)?;
    let config = DatabaseConfig::from_url(&url)
        .unwrap()
        .with_retry(RetryPolicy::never());
    Some(Database::connect_with(config).await.unwrap())
}

async fn create_table(db: &Database) {
    db.execute("DROP TABLE IF EXISTS bouncer_rows", ())
        .await
        .unwrap();
    db.execute(
        "CREATE TABLE bouncer_rows (id int8 PRIMARY KEY, caller int4 NOT NULL, name text, \
         score float8, ok bool, note text, born date, tag uuid, data bytea)",
        (),
    )
    .await
    .unwrap();
}

/// One caller's rounds: typed parameters in and out, a committed and a rolled-back
/// transaction. The first error ends it.
async fn workload(db: &Database, caller: i64) -> weir::Result<()> {
    let born = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
    for round in 0..ROUNDS {
        let id = caller * 1000 + round * 2;
        let tag = uuid::Uuid::from_u128((id as u128) << 64 | 7);
        let name = format!("caller {caller} round {round}");
        let n = db
            .execute(
                "INSERT INTO bouncer_rows (id, caller, name, score, ok, note, born, tag, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                (
                    id,
                    caller as i32,
                    name.as_str(),
                    0.5 + round as f64,
                    round % 2 == 0,
                    None::<&str>,
                    born,
                    tag,
                    vec![1u8, 2, round as u8],
                ),
            )
            .await?;
        assert_eq!(n, 1);
        let row: (
            String,
            f64,
            bool,
            Option<String>,
            NaiveDate,
            uuid::Uuid,
            Vec<u8>,
        ) = db
            .fetch_one(
                "SELECT name, score, ok, note, born, tag, data FROM bouncer_rows WHERE id = $1",
                (id,),
            )
            .await?;
        assert_eq!(
            row,
            (
                name,
                0.5 + round as f64,
                round % 2 == 0,
                None,
                born,
                tag,
                vec![1, 2, round as u8]
            )
        );

        let tx = db.begin().await?;
        tx.execute(
            "INSERT INTO bouncer_rows (id, caller) VALUES ($1, $2)",
            (id + 1, caller as i32),
        )
        .await?;
        let inside: i64 = tx
            .fetch_scalar("SELECT count(*) FROM bouncer_rows WHERE id = $1", (id + 1,))
            .await?;
        assert_eq!(inside, 1);
        tx.rollback().await?;
        let tx = db.begin().await?;
        tx.execute(
            "UPDATE bouncer_rows SET note = $1 WHERE id = $2",
            ("committed", id),
        )
        .await?;
        tx.commit().await?;
        let (rolled_back, note): (i64, Option<String>) = db
            .fetch_one(
                "SELECT (SELECT count(*) FROM bouncer_rows WHERE id = $1), \
                 (SELECT note FROM bouncer_rows WHERE id = $2)",
                (id + 1, id),
            )
            .await?;
        assert_eq!((rolled_back, note.as_deref()), (0, Some("committed")));
    }
    Ok(())
}

/// Runs the workload on `CALLERS` callers at once: the errors they ended with.
async fn run_callers(db: &Database) -> Vec<Error> {
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let db = db.clone();
            tokio::spawn(async move { workload(&db, caller).await })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            errors.push(e);
        }
    }
    errors
}

/// Through PgBouncer in transaction mode, 8 callers over 2 server connections, with unnamed
/// statements: every query, type and transaction works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unnamed_statements_work_through_pgbouncer_in_transaction_mode() {
    let test = "unnamed_statements_work_through_pgbouncer_in_transaction_mode";
    let Some(mut bed) = bed(Backend::Postgres, test).await else {
        return;
    };
    let Some(db) = through_bouncer(&mut bed, test, "statement_cache_capacity=0").await else {
        return;
    };
    create_table(&db).await;
    let started = Instant::now();
    let errors = run_callers(&db).await;
    assert!(errors.is_empty(), "{errors:?}");
    let rows: i64 = db
        .fetch_scalar("SELECT count(*) FROM bouncer_rows", ())
        .await
        .unwrap();
    assert_eq!(rows, CALLERS * ROUNDS);
    eprintln!(
        "{} rounds through PgBouncer with unnamed statements in {:?}",
        CALLERS * ROUNDS,
        started.elapsed()
    );
    db.close(Duration::from_secs(1)).await;
}

/// The same workload with named (cached) statements fails there: a statement prepared on one
/// server connection is run on another, which does not know it. This is what the switch is
/// for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_statements_fail_through_pgbouncer_in_transaction_mode() {
    let test = "named_statements_fail_through_pgbouncer_in_transaction_mode";
    let Some(mut bed) = bed(Backend::Postgres, test).await else {
        return;
    };
    let Some(db) = through_bouncer(&mut bed, test, "").await else {
        return;
    };
    create_table(&db).await;
    let errors = run_callers(&db).await;
    assert!(
        !errors.is_empty(),
        "named statements worked through PgBouncer in transaction mode"
    );
    eprintln!(
        "named statements through PgBouncer: {} of {CALLERS} callers failed, first: {}",
        errors.len(),
        errors[0]
    );
    db.close(Duration::from_secs(1)).await;
}

/// Counts the active statements on the primary itself whose text holds `marker`.
async fn active_on_primary(primary: &Database, marker: &str) -> i64 {
    primary
        .fetch_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
             AND query LIKE $1 AND pid <> pg_backend_pid()",
            (format!("%{marker}%"),),
        )
        .await
        .unwrap()
}

/// A call's deadline cancels its statement through PgBouncer (which forwards the cancel
/// request to the server connection running it): gone from the primary's pg_stat_activity
/// soon after, while the other callers' work goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_cancels_the_statement_through_pgbouncer() {
    let test = "a_timeout_cancels_the_statement_through_pgbouncer";
    let Some(mut bed) = bed(Backend::Postgres, test).await else {
        return;
    };
    let Some(db) = through_bouncer(&mut bed, test, "statement_cache_capacity=0").await else {
        return;
    };
    let primary = bed.pool(&[Host::Primary], "pool_max_size=1").await.unwrap();
    create_table(&db).await;
    let marker = "weir_bouncer_cancel";
    let sql = format!("SELECT 1 FROM pg_sleep(30) /* {marker} */");
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let r = db
                .with_timeout(Duration::from_secs(2))
                .fetch_scalar::<i32, _>(&sql, ())
                .await;
            (r, started.elapsed())
        })
    };
    // Running on the server before its deadline...
    let started = Instant::now();
    while active_on_primary(&primary, marker).await == 0 {
        assert!(started.elapsed() < Duration::from_secs(2), "never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let others = run_callers(&db).await;
    assert!(others.is_empty(), "{others:?}");
    let (r, took) = slow.await.unwrap();
    let err = r.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // ...and gone from it after, not left sleeping for 30 s.
    let timed_out = Instant::now();
    while active_on_primary(&primary, marker).await > 0 {
        assert!(
            timed_out.elapsed() < Duration::from_secs(5),
            "still running on the primary"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "timeout after {took:?}, gone from the primary {:?} later",
        timed_out.elapsed()
    );
    let one: i64 = db.fetch_scalar("SELECT 1::int8", ()).await.unwrap();
    assert_eq!(one, 1);
    db.close(Duration::from_secs(1)).await;
    primary.close(Duration::from_secs(1)).await;
}
