//! `weir`: run SQL on PostgreSQL or MySQL/MariaDB from the command line, through weir.
//!
//! Exit codes: 0 ok, 1 database error, 2 usage or configuration error, 3 timeout, 130
//! interrupted (Ctrl-C). Errors are one line on stderr: `error: ...`.

mod args;
mod commands;
mod failure;
mod output;
mod session;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use weir::{DatabaseConfig, Error};

use crate::failure::{fail, one_line, Failure};

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
    Ping(commands::ping::PingArgs),
    /// Apply, revert or list schema migrations from a folder.
    Migrate(commands::migrate::MigrateArgs),
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
        Command::Ping(args) => commands::ping::run(config, args).await,
        Command::Migrate(args) => commands::migrate::run(config, args).await,
    }
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
