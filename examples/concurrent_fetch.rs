//! N lookups one after another, then concurrently with a bounded limit: the wall times show
//! what a pool buys.
//!
//! ```sh
//! cargo run --example concurrent_fetch          # DATABASE_URL, default the local PostgreSQL
//! ```

use std::time::Instant;

use futures_util::{stream, StreamExt, TryStreamExt};
use weir::{Backend, Database, Executor};

const LOOKUPS: i64 = 200;
const CONCURRENCY: usize = 16;

async fn example() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    // Warm: the concurrent run should measure lookups, not connection set-up.
    let db = Database::connect(&format!(
        "{url}{}pool_max_size={CONCURRENCY}&pool_min_idle={CONCURRENCY}",
        sep(&url)
    ))
    .await?;
    db.execute("DROP TABLE IF EXISTS weir_example_lookup", ())
        .await?;
    db.execute(
        "CREATE TABLE weir_example_lookup (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)",
        (),
    )
    .await?;
    let fill = match db.backend() {
        Backend::Postgres => {
            "INSERT INTO weir_example_lookup SELECT g, 'name ' || g FROM generate_series(1, 1000) g"
        }
        Backend::MySql => {
            "INSERT INTO weir_example_lookup SELECT n, CONCAT('name ', n) FROM (SELECT a.d + 10*b.d + 100*c.d + 1 AS n FROM \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a, \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b, \
             (SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c) d"
        }
    };
    db.execute(fill, ()).await?;
    let sql = "SELECT name FROM weir_example_lookup WHERE id = $1";

    let started = Instant::now();
    let mut sequential = 0;
    for id in 1..=LOOKUPS {
        let _: String = db.fetch_scalar(sql, (id,)).await?;
        sequential += 1;
    }
    let one_by_one = started.elapsed();

    let started = Instant::now();
    let names: Vec<String> = stream::iter(1..=LOOKUPS)
        .map(|id| {
            let db = &db;
            async move { db.fetch_scalar::<String, _>(sql, (id,)).await }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let concurrent = started.elapsed();

    println!("{sequential} lookups one after another: {one_by_one:?}");
    println!(
        "{} lookups, at most {CONCURRENCY} at once:  {concurrent:?}",
        names.len()
    );
    println!(
        "speed-up: {:.1}x",
        one_by_one.as_secs_f64() / concurrent.as_secs_f64()
    );
    db.execute("DROP TABLE weir_example_lookup", ()).await?;
    db.close(std::time::Duration::from_secs(5)).await;
    Ok(())
}

fn sep(url: &str) -> &'static str {
    if url.contains('?') {
        "&"
    } else {
        "?"
    }
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
