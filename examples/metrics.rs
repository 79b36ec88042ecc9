//! weir's metrics in Prometheus text format on 127.0.0.1, while a small mixed load runs: quick
//! reads, slow reports in a lane of their own, and the odd statement past its deadline.
//!
//! ```sh
//! cargo run --example metrics            # then: curl http://127.0.0.1:<port>/metrics
//! ```
//!
//! `DATABASE_URL` picks the server (default: the local PostgreSQL), `METRICS_ADDR` the address
//! to serve on (default `127.0.0.1:0`, any free port; the address is printed), `RUN_SECONDS`
//! how long the load runs (default 10). The exporter renders the text; a plain socket serves it.

use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use weir::{Backend, Database, DatabaseConfig, Executor, Lane};

/// Answers every connection with the current metrics, whatever it asked for.
async fn serve(listener: TcpListener, handle: PrometheusHandle) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let body = handle.render();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

async fn example() -> Result<(), Box<dyn std::error::Error>> {
    // The recorder goes in before the pool is built: the pool registers its metrics then.
    let handle = PrometheusBuilder::new().install_recorder()?;
    let addr = std::env::var("METRICS_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("metrics on http://{}/metrics", listener.local_addr()?);
    tokio::spawn(serve(listener, handle));

    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let run_for = Duration::from_secs(
        std::env::var("RUN_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    let config = DatabaseConfig::from_url(&url)?
        .with_pool_name("example")
        .with_max_size(4)
        .with_lane("reports", Lane::new(1).with_max_queue(2));
    let db = Database::connect_with(config).await?;
    let slow = match db.backend() {
        Backend::Postgres => "SELECT pg_sleep(0.05)::text",
        Backend::MySql => "SELECT CAST(SLEEP(0.05) AS CHAR)",
    };

    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..6 {
        let db = db.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut i = 0u64;
            while started.elapsed() < run_for {
                i += 1;
                let r = match (worker, i % 10) {
                    // Reports share one lane: they queue, and are shed when it is full.
                    (0..=2, _) => db.lane("reports").execute(slow, ()).await.map(drop),
                    // Now and then a statement runs past its deadline and is cancelled.
                    (_, 0) => db
                        .with_timeout(Duration::from_millis(10))
                        .execute(slow, ())
                        .await
                        .map(drop),
                    _ => db.fetch_scalar::<i64, _>("SELECT 1", ()).await.map(drop),
                };
                match r {
                    Ok(()) => ok += 1,
                    Err(_) => {
                        failed += 1;
                        // A shed returns at once: back off rather than spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for w in workers {
        let (o, f) = w.await?;
        ok += o;
        failed += f;
    }
    println!("load done: {ok} calls ok, {failed} failed (timeouts and sheds, on purpose)");
    db.close(Duration::from_secs(5)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match example().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
