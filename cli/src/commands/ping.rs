//! `weir ping`: connects, times round trips of `SELECT 1` and prints the settings in use, to
//! check a URL before running anything on it.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use clap::Args;
use weir::{Backend, Database, DatabaseConfig, Executor, SslMode};

use crate::args::human;
use crate::failure::{output_error, Failure};

#[derive(Args)]
pub struct PingArgs {
    /// Round trips to time.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    samples: u32,
}

pub async fn run(config: DatabaseConfig, args: PingArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let db = Database::connect_with(config).await?;
    let connected = started.elapsed();
    let conn = db.acquire().await?;
    let version: String = conn.fetch_scalar("SELECT VERSION()", ()).await?;
    // The first run prepares the statement; time the round trips after it.
    conn.fetch_scalar::<i64, _>("SELECT 1", ()).await?;
    let mut samples = Vec::with_capacity(args.samples as usize);
    for _ in 0..args.samples {
        let t = Instant::now();
        conn.fetch_scalar::<i64, _>("SELECT 1", ()).await?;
        samples.push(t.elapsed());
    }
    drop(conn);
    samples.sort();
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
    let (min, median, max) = (
        samples.first().copied().unwrap_or_default(),
        samples.get(samples.len() / 2).copied().unwrap_or_default(),
        samples.last().copied().unwrap_or_default(),
    );

    let cfg = db.config();
    let server = match cfg.backend() {
        Backend::Postgres => "PostgreSQL",
        Backend::MySql if version.contains("MariaDB") => "MariaDB",
        Backend::MySql => "MySQL",
    };
    let opt = |d: Option<Duration>| d.map_or_else(|| "none".to_owned(), human);
    let ssl = match cfg.ssl_mode() {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        SslMode::Require => "require",
        SslMode::VerifyCa => "verify-ca",
        SslMode::VerifyFull => "verify-full",
    };
    let lines = [
        format!("server:     {server}"),
        format!("version:    {version}"),
        format!("target:     {}", cfg.target()),
        format!("user:       {}", cfg.user()),
        format!("database:   {}", cfg.database().unwrap_or("(none)")),
        format!("connect:    {}", ms(connected)),
        format!(
            "latency:    min {}, median {}, max {} over {} round trip(s) of SELECT 1",
            ms(min),
            ms(median),
            ms(max),
            samples.len()
        ),
        format!(
            "pool:       max_size {}, min_idle {}, acquire_timeout {}, connect_timeout {}, \
             idle_timeout {}, max_lifetime {}, statement_timeout {}",
            cfg.max_size(),
            cfg.min_idle(),
            human(cfg.acquire_timeout()),
            human(cfg.connect_timeout()),
            opt(cfg.idle_timeout()),
            opt(cfg.max_lifetime()),
            opt(cfg.statement_timeout()),
        ),
        format!("sslmode:    {ssl}"),
    ];
    db.close(Duration::from_secs(1)).await;
    let mut out = io::stdout().lock();
    lines
        .iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .map_err(output_error)
}
