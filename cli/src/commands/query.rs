//! `weir query`: one query, its rows printed in the chosen format; --timeout, Ctrl-C and
//! --max-rows stop it on the server.

use std::io::{self, BufWriter, Write};
use std::pin::pin;
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use weir::{Column, DatabaseConfig, Executor, Row};

use crate::args::{bind, parse_timeout, ParamArgs};
use crate::failure::{output_error, Failure};
use crate::output::{Format, RowWriter};
use crate::session::{race, stop_failure, Session};

#[derive(Args)]
pub struct QueryArgs {
    /// The query, with $1..$n placeholders.
    sql: String,

    #[command(flatten)]
    params: ParamArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Give up after this long (500ms, 2s, 1m): the query is cancelled on the server; exit 3.
    /// Also bounds connecting. Default: the URL's statement_timeout, if any.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    timeout: Option<Duration>,

    /// Print at most N rows; the rest is not read and the query is stopped.
    #[arg(long, value_name = "N")]
    max_rows: Option<u64>,
}

/// How a query's output ended.
enum Ended {
    /// Every row was read.
    Done,
    /// More rows than --max-rows: the rest was not read.
    Limited,
    /// Standard output was closed (piped into `head`): stop quietly.
    OutputClosed,
    /// A statement without result columns ran and changed this many rows.
    Affected(u64),
}

pub async fn run(config: DatabaseConfig, args: QueryArgs) -> Result<(), Failure> {
    let params = bind(&args.params.values);
    // weir bounds a stream's start by statement_timeout, not its rows: the CLI bounds both.
    let limit = args.timeout.or(config.statement_timeout());
    let session = Session::open(config, limit).await?;
    let mut writer = RowWriter::new(args.format, BufWriter::new(io::stdout()));
    let max_rows = args.max_rows;
    let work = async {
        // The columns come from the prepared statement, not the first row: a result with no
        // rows still prints its header, and a statement without columns runs as `exec` does.
        // The statement stays in the session's statement cache for the run that follows.
        let described = session
            .conn()
            .describe(&args.sql)
            .await
            .map_err(|e| Failure::from_statement(e, &args.sql))?;
        if described.columns.is_empty() {
            let n = session
                .conn()
                .execute(&args.sql, params)
                .await
                .map_err(|e| Failure::from_statement(e, &args.sql))?;
            return Ok(Ended::Affected(n));
        }
        let columns = described
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                sql_type: c.sql_type.clone(),
            })
            .collect();
        match writer.columns(columns) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Ended::OutputClosed),
            Err(e) => return Err(output_error(e)),
        }
        let rows = session.conn().fetch_stream::<Row, _>(&args.sql, params);
        let mut rows = pin!(rows);
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| Failure::from_statement(e, &args.sql))?;
            if max_rows.is_some_and(|max| writer.rows() >= max) {
                return Ok(Ended::Limited);
            }
            let values = row.values()?;
            match writer.row(|| row.columns(), &values) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(Ended::OutputClosed),
                Err(e) => return Err(output_error(e)),
            }
        }
        Ok::<_, Failure>(Ended::Done)
    };
    let ended = match race(limit, work).await {
        Ok(Ok(ended)) => ended,
        Ok(Err(f)) => {
            session.close().await;
            return Err(f);
        }
        Err(stop) => {
            // Rows already printed stay printed; the table (held for alignment) is not.
            let stopped = session.abandon().await;
            return Err(stop_failure(stop, "query", stopped));
        }
    };
    match ended {
        Ended::Done | Ended::Affected(_) => session.close().await,
        Ended::Limited | Ended::OutputClosed => {
            session.abandon().await;
        }
    }
    match ended {
        Ended::OutputClosed => return Ok(()),
        Ended::Affected(n) => {
            // The machine formats stay parseable: the count as a one-column result.
            let line = match args.format {
                Format::Table if n == 1 => "1 row affected\n".to_owned(),
                Format::Table => format!("{n} rows affected\n"),
                Format::Json => format!("{{\"rows_affected\":{n}}}\n"),
                Format::Csv => format!("rows_affected\r\n{n}\r\n"),
            };
            return match io::stdout().write_all(line.as_bytes()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(output_error(e)),
                _ => Ok(()),
            };
        }
        Ended::Done | Ended::Limited => {}
    }
    let shown = writer.rows();
    match writer.finish() {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(e) => return Err(output_error(e)),
    }
    if matches!(ended, Ended::Limited) {
        let _ = writeln!(
            io::stderr(),
            "note: output stopped after {shown} row(s) (--max-rows); the rest was not read"
        );
    }
    Ok(())
}
