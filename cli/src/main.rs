//! `weir`: run SQL on PostgreSQL or MySQL/MariaDB from the command line, through weir.
//!
//! Exit codes: 0 ok, 1 database error, 2 usage or configuration error, 3 timeout, 130
//! interrupted (Ctrl-C). Errors are one line on stderr: `error: ...`.

mod args;
mod commands;
mod failure;
mod output;
mod session;
mod split;

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use weir::{Backend, Database, DatabaseConfig, Error, Executor, SslMode};

use crate::args::human;
use crate::failure::{fail, one_line, output_error, Failure};

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "Run SQL on PostgreSQL or MySQL/MariaDB",
    after_help = "Exit codes: 0 ok, 1 database error, 2 usage or configuration error, \
                  3 timeout, 130 interrupted."
)]
struct Cli {
    /// Database URL: postgres://user@host:port/db or mysql://user@host:port/db, with pool
    /// options as query parameters (see weir's README). The password is never printed.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a query with bound parameters and print its rows.
    Query(commands::query::QueryArgs),
    /// Run statements that return no rows and print the rows affected.
    ///
    /// The SQL comes from the argument, --file, or standard input; a script of several
    /// statements separated by `;` runs in order on one session and stops at the first error.
    Exec(commands::exec::ExecArgs),
    /// Check the connection: server and version, round-trip latency, pool settings.
    Ping(PingArgs),
    /// Apply, revert or list schema migrations from a folder.
    Migrate(commands::migrate::MigrateArgs),
}

#[derive(Args)]
struct PingArgs {
    /// Round trips to time.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    samples: u32,
}

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(
            io::stderr(),
            "error: internal error: {}",
            one_line(&info.to_string())
        );
    }));
    // Usage errors exit 2 here, --help and --version 0.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&Failure::from(Error::Driver(format!("tokio runtime: {e}")))),
    };
    let result = runtime.block_on(run(cli));
    // Work that matters has been awaited; don't wait on stray blocking tasks (DNS lookups).
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => fail(&f),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let url = cli
        .url
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| Failure::usage("no database URL: pass --url or set DATABASE_URL"))?;
    let config = DatabaseConfig::from_url(&url)?;
    match cli.command {
        Command::Query(args) => commands::query::run(config, args).await,
        Command::Exec(args) => commands::exec::run(config, args).await,
        Command::Ping(args) => ping(config, args).await,
        Command::Migrate(args) => commands::migrate::run(config, args).await,
    }
}

async fn ping(config: DatabaseConfig, args: PingArgs) -> Result<(), Failure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
