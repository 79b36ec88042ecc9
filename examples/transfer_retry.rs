//! Concurrent money transfers under SERIALIZABLE isolation with `transaction_with_retry`:
//! conflicts abort transactions, weir retries them, and the total balance never changes.
//!
//! ```sh
//! cargo run --example transfer_retry
//! ```

use std::time::Duration;

use weir::{Database, Executor, IsolationLevel, RetryPolicy, TxOptions};

const ACCOUNTS: i64 = 5;
const WORKERS: i64 = 8;
const TRANSFERS_EACH: i64 = 25;

async fn example() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let config = weir::DatabaseConfig::from_url(&url)?.with_retry(
        RetryPolicy::default()
            .with_max_attempts(50)
            .with_backoff(Duration::from_millis(2), Duration::from_millis(100))
            .with_max_elapsed(Duration::from_secs(60)),
    );
    let db = Database::connect_with(config).await?;
    db.execute("DROP TABLE IF EXISTS weir_example_accounts", ())
        .await?;
    db.execute(
        "CREATE TABLE weir_example_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
        (),
    )
    .await?;
    for id in 1..=ACCOUNTS {
        db.execute("INSERT INTO weir_example_accounts VALUES ($1, 1000)", (id,))
            .await?;
    }
    // SUM is numeric on PostgreSQL and DECIMAL on MySQL; an integral one decodes as i64 on both.
    let total_sql = "SELECT SUM(balance) FROM weir_example_accounts";
    let before: i64 = db.fetch_scalar(total_sql, ()).await?;

    let serializable = TxOptions::default().isolation(IsolationLevel::Serializable);
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..TRANSFERS_EACH {
                    let from = (w + i) % ACCOUNTS + 1;
                    let to = (w * 3 + i * 7 + 1) % ACCOUNTS + 1;
                    if from == to {
                        continue;
                    }
                    let amount = 1 + (w * 31 + i * 17) % 50;
                    db.transaction_with_retry_options(serializable, |tx| {
                        Box::pin(async move {
                            let balance: i64 = tx
                                .fetch_scalar(
                                    "SELECT balance FROM weir_example_accounts WHERE id = $1",
                                    (from,),
                                )
                                .await?;
                            if balance >= amount {
                                tx.execute(
                                    "UPDATE weir_example_accounts SET balance = balance - $1 WHERE id = $2",
                                    (amount, from),
                                )
                                .await?;
                                tx.execute(
                                    "UPDATE weir_example_accounts SET balance = balance + $1 WHERE id = $2",
                                    (amount, to),
                                )
                                .await?;
                            }
                            Ok(())
                        })
                    })
                    .await?;
                }
                Ok::<_, weir::Error>(())
            })
        })
        .collect();
    for w in workers {
        w.await.map_err(|e| weir::Error::Driver(e.to_string()))??;
    }
    let after: i64 = db.fetch_scalar(total_sql, ()).await?;
    let retries = db.stats().lane("default").map_or(0, |l| l.retried);
    println!(
        "{} transfers by {WORKERS} workers, {retries} retries after conflicts",
        WORKERS * TRANSFERS_EACH
    );
    println!(
        "total balance before {before}, after {after}: {}",
        if before == after {
            "unchanged"
        } else {
            "CHANGED"
        }
    );
    db.execute("DROP TABLE weir_example_accounts", ()).await?;
    db.close(Duration::from_secs(5)).await;
    if before != after {
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
