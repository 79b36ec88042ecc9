//! A job queue on the database: producers insert jobs, consumers claim them with
//! `FOR UPDATE SKIP LOCKED`, process them and mark them done. Ctrl-C or the deadline
//! (`RUN_SECONDS`, default 5) stops it gracefully; at the end it proves every job ran exactly once.
//!
//! ```sh
//! cargo run --example job_queue
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use weir::{Backend, Database, Executor};

const PRODUCERS: usize = 2;
const CONSUMERS: usize = 4;

async fn example() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let seconds: u64 = std::env::var("RUN_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let db = Database::connect(&url).await?;
    db.execute("DROP TABLE IF EXISTS weir_example_jobs", ())
        .await?;
    let ddl = match db.backend() {
        Backend::Postgres => {
            "CREATE TABLE weir_example_jobs (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL, \
             status VARCHAR(16) NOT NULL DEFAULT 'queued', runs INT NOT NULL DEFAULT 0)"
        }
        Backend::MySql => {
            "CREATE TABLE weir_example_jobs (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload TEXT NOT NULL, \
             status VARCHAR(16) NOT NULL DEFAULT 'queued', runs INT NOT NULL DEFAULT 0, KEY (status))"
        }
    };
    db.execute(ddl, ()).await?;

    let stop = Arc::new(AtomicBool::new(false));
    // Set once every producer has stopped: only then may an empty queue end a consumer.
    let drained = Arc::new(AtomicBool::new(false));
    let produced = Arc::new(AtomicU64::new(0));
    let processed = Arc::new(AtomicU64::new(0));
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let (db, stop, produced) = (db.clone(), stop.clone(), produced.clone());
        producers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let payload = format!("job {p}-{n}");
                db.transaction_with_retry(|tx| {
                    let payload = payload.clone();
                    Box::pin(async move {
                        tx.execute(
                            "INSERT INTO weir_example_jobs (payload) VALUES ($1)",
                            (payload,),
                        )
                        .await?;
                        Ok(())
                    })
                })
                .await?;
                produced.fetch_add(1, Ordering::Relaxed);
                n += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok::<_, weir::Error>(())
        }));
    }
    let mut consumers = Vec::new();
    for _ in 0..CONSUMERS {
        let (db, drained, processed) = (db.clone(), drained.clone(), processed.clone());
        consumers.push(tokio::spawn(async move {
            loop {
                // Claim one job; SKIP LOCKED lets the consumers pass each other's claims.
                // Claim one job; SKIP LOCKED lets the consumers pass each other's claims. InnoDB
                // may still pick a claim as a deadlock victim against the producers' inserts:
                // transaction_with_retry runs the claim again, and the job runs once either way.
                let claimed: Option<i64> = db
                    .transaction_with_retry(|tx| {
                        Box::pin(async move {
                            let job: Option<(i64, String)> = tx
                                .fetch_optional(
                                    "SELECT id, payload FROM weir_example_jobs WHERE status = 'queued' \
                                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
                                    (),
                                )
                                .await?;
                            if let Some((id, _payload)) = &job {
                                tx.execute(
                                    "UPDATE weir_example_jobs SET status = 'done', runs = runs + 1 WHERE id = $1",
                                    (*id,),
                                )
                                .await?;
                            }
                            Ok(job.map(|(id, _)| id))
                        })
                    })
                    .await?;
                match claimed {
                    Some(_) => {
                        processed.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        // Drain what is left before stopping, so the count proves itself.
                        if drained.load(Ordering::SeqCst) {
                            return Ok::<_, weir::Error>(());
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
        }));
    }

    tokio::select! {
        _ = tokio::signal::ctrl_c() => println!("Ctrl-C: stopping"),
        _ = tokio::time::sleep(Duration::from_secs(seconds)) => println!("deadline: stopping"),
    }
    stop.store(true, Ordering::Relaxed);
    for t in producers {
        t.await.map_err(|e| weir::Error::Driver(e.to_string()))??;
    }
    drained.store(true, Ordering::SeqCst);
    for t in consumers {
        t.await.map_err(|e| weir::Error::Driver(e.to_string()))??;
    }
    let (jobs, once, not_once): (i64, i64, i64) = db
        .fetch_one(
            "SELECT COUNT(*), SUM(CASE WHEN runs = 1 AND status = 'done' THEN 1 ELSE 0 END), \
             SUM(CASE WHEN runs <> 1 THEN 1 ELSE 0 END) FROM weir_example_jobs",
            (),
        )
        .await?;
    println!(
        "produced {}, processed {}",
        produced.load(Ordering::Relaxed),
        processed.load(Ordering::Relaxed)
    );
    println!("jobs in table {jobs}, ran exactly once {once}, ran not exactly once {not_once}");
    let ok = jobs as u64 == produced.load(Ordering::Relaxed)
        && once == jobs
        && not_once == 0
        && processed.load(Ordering::Relaxed) == jobs as u64;
    println!(
        "{}",
        if ok {
            "every job ran exactly once"
        } else {
            "MISMATCH"
        }
    );
    db.execute("DROP TABLE weir_example_jobs", ()).await?;
    db.close(Duration::from_secs(5)).await;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Errors as their messages say them, not as `Debug` dumps.
    match example().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
