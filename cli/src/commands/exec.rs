//! `weir exec`: a script of statements without rows, run one by one on one session; the first
//! error, timeout or Ctrl-C stops it.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use weir::{DatabaseConfig, Executor};

use crate::args::{bind, parse_timeout, ParamArgs};
use crate::failure::{output_error, Failure};
use crate::session::{race, stop_failure, Session};

#[derive(Args)]
pub struct ExecArgs {
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

pub async fn run(config: DatabaseConfig, args: ExecArgs) -> Result<(), Failure> {
    let script = read_script(&args)?;
    let statements = weir::split_script(config.backend(), &script);
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
                let f = Failure::from_statement(e, &stmt.sql);
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
