//! A slow query cancelled by its deadline, and proof from the server that it is gone.
//!
//! ```sh
//! cargo run --example timeouts
//! ```

use std::time::{Duration, Instant};

use weir::{Backend, Database, Executor};

async fn example() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let db = Database::connect(&url).await?;
    let (slow, running) = match db.backend() {
        Backend::Postgres => (
            "SELECT pg_sleep(30)::text /* weir-timeouts-example */",
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' \
             AND query LIKE '%weir-timeouts-example%' AND pid <> pg_backend_pid()",
        ),
        Backend::MySql => (
            "SELECT CAST(SLEEP(30) AS CHAR) /* weir-timeouts-example */",
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' \
             AND INFO LIKE '%weir-timeouts-example%' AND ID <> CONNECTION_ID()",
        ),
    };
    println!("running a 30 s query with a 500 ms deadline ...");
    let started = Instant::now();
    match db
        .with_timeout(Duration::from_millis(500))
        .execute(slow, ())
        .await
    {
        Ok(_) => println!("it finished?"),
        Err(e) => println!("after {:?}: {e}", started.elapsed()),
    }
    // The cancel travels on its own connection; give it a moment, then ask the server.
    for _ in 0..50 {
        let n: i64 = db.fetch_scalar(running, ()).await?;
        if n == 0 {
            println!(
                "server: no such statement running ({:?} after the call started)",
                started.elapsed()
            );
            db.close(Duration::from_secs(5)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("server: the statement is STILL running");
    std::process::exit(1);
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
