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

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use weir::{Backend, Database, DatabaseConfig, Error, Executor, SslMode};

use crate::args::{bind, human, parse_timeout, ParamArgs};
use crate::failure::{fail, one_line, output_error, Failure};
use crate::session::{race, stop_failure, Session};
use crate::split::{split, Dialect};

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
    Exec(ExecArgs),
    /// Check the connection: server and version, round-trip latency, pool settings.
    Ping(PingArgs),
    /// Apply, revert or list schema migrations from a folder.
    Migrate(commands::migrate::MigrateArgs),
}

#[derive(Args)]
struct ExecArgs {
    /// The SQL to run; `-` reads standard input (the default when input is not a terminal).
    sql: Option<String>,

    /// Read the SQL from this file (`-` for standard input).
    #[arg(short, long, value_name = "PATH", conflicts_with = "sql")]
    file: Option<PathBuf>,

    #[command(flatten)]
    params: ParamArgs,

    /// Give up on a statement after this long: it is cancelled on the server; exit 3. Also
    /// bounds connecting. Default: the URL's statement_timeout, if any.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    timeout: Option<Duration>,
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
        Command::Exec(args) => exec(config, args).await,
        Command::Ping(args) => ping(config, args).await,
        Command::Migrate(args) => commands::migrate::run(config, args).await,
    }
}

/// Reads the script for `weir exec` from the argument, the file or standard input.
fn read_script(args: &ExecArgs) -> Result<String, Failure> {
    let from_stdin = || {
        let mut s = String::new();
        io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        Ok(s)
    };
    match (&args.sql, &args.file) {
        (_, Some(path)) if path.as_os_str() == "-" => from_stdin(),
        (_, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display()))),
        (Some(sql), None) if sql == "-" => from_stdin(),
        (Some(sql), None) => Ok(sql.clone()),
        (None, None) if io::stdin().is_terminal() => Err(Failure::usage(
            "no SQL given: pass it as an argument, with --file, or on standard input",
        )),
        (None, None) => from_stdin(),
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
struct Progress {
    total: usize,
    started: Instant,
    drawn: Option<Instant>,
    enabled: bool,
}

impl Progress {
    const WIDTH: usize = 30;

    fn new(total: usize) -> Self {
        Progress {
            total,
            started: Instant::now(),
            drawn: None,
            enabled: total > 1 && io::stderr().is_terminal(),
        }
    }

    fn draw(&mut self, done: usize) {
        // Redrawing for every one of thousands of quick statements would cost more than them.
        if !self.enabled
            || self
                .drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(50))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        let filled = done * Self::WIDTH / self.total.max(1);
        let _ = write!(
            io::stderr(),
            "\r[{}{}] {done}/{} statements, {:.1}s",
            "#".repeat(filled),
            "-".repeat(Self::WIDTH - filled),
            self.total,
            self.started.elapsed().as_secs_f64()
        );
        let _ = io::stderr().flush();
    }

    fn clear(&self) {
        if self.enabled && self.drawn.is_some() {
            let _ = write!(io::stderr(), "\r\x1b[2K");
            let _ = io::stderr().flush();
        }
    }
}

async fn exec(config: DatabaseConfig, args: ExecArgs) -> Result<(), Failure> {
    let script = read_script(&args)?;
    let dialect = match config.backend() {
        Backend::Postgres => Dialect::Postgres,
        Backend::MySql => Dialect::MySql,
    };
    let statements = split(&script, dialect);
    if statements.is_empty() {
        return Err(Failure::usage("no SQL statement in the input"));
    }
    let params = bind(&args.params.values);
    if !params.is_empty() && statements.len() > 1 {
        return Err(Failure::usage(format!(
            "-p applies to a single statement, but the input has {}",
            statements.len()
        )));
    }
    let limit = args.timeout.or(config.statement_timeout());
    let session = Session::open(config, limit).await?;
    debug_assert_eq!(
        matches!(session.backend(), Backend::MySql),
        dialect == Dialect::MySql
    );
    let total = statements.len();
    let mut progress = Progress::new(total);
    let mut affected = 0u64;
    for (i, stmt) in statements.iter().enumerate() {
        progress.draw(i);
        let what = || {
            if total > 1 {
                format!("statement {} of {total} (line {})", i + 1, stmt.line)
            } else {
                "statement".to_owned()
            }
        };
        match race(limit, session.conn().execute(&stmt.sql, params.as_slice())).await {
            Ok(Ok(n)) => affected += n,
            Ok(Err(e)) => {
                progress.clear();
                session.close().await;
                let f = Failure::from(e);
                return Err(if total > 1 { f.context(&what()) } else { f });
            }
            Err(stop) => {
                progress.clear();
                let stopped = session.abandon().await;
                return Err(stop_failure(stop, &what(), stopped));
            }
        }
    }
    progress.draw(total);
    progress.clear();
    session.close().await;
    let rows = if affected == 1 { "row" } else { "rows" };
    let line = if total == 1 {
        format!("{affected} {rows} affected")
    } else {
        format!("{total} statements, {affected} {rows} affected")
    };
    writeln!(io::stdout(), "{line}").map_err(output_error)
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
