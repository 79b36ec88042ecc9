//! PostgreSQL LISTEN/NOTIFY: a listener task and a notifier.
//!
//! ```sh
//! cargo run --example listen_notify
//! ```

use std::time::Duration;

use weir::{Backend, Database, Executor};

async fn example() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let db = Database::connect(&url).await?;
    if db.backend() != Backend::Postgres {
        println!(
            "LISTEN/NOTIFY is PostgreSQL-only; {} has no equivalent",
            db.backend()
        );
        return Ok(());
    }
    let mut listener = db.listen(&["orders"]).await?;
    let listening = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 5 {
            match tokio::time::timeout(Duration::from_secs(5), listener.recv()).await {
                Ok(Some(Ok(n))) => {
                    println!(
                        "listener: {} <- {:?} (from pid {})",
                        n.channel, n.payload, n.process_id
                    );
                    got.push(n.payload);
                }
                Ok(Some(Err(e))) => return Err(e),
                Ok(None) | Err(_) => break,
            }
        }
        Ok(got)
    });
    for i in 1..=5 {
        db.execute(
            "SELECT pg_notify($1, $2)::text",
            ("orders", format!("order #{i}")),
        )
        .await?;
        println!("notifier: sent order #{i}");
    }
    let got = listening
        .await
        .map_err(|e| weir::Error::Driver(e.to_string()))??;
    println!(
        "received {} of 5 notifications, in order: {}",
        got.len(),
        got.windows(2).all(|w| w[0] < w[1])
    );
    db.close(Duration::from_secs(5)).await;
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
