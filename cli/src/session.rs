//! A command's one session, and how a statement given up on (timeout, Ctrl-C, --max-rows) is
//! confirmed stopped on the server before the process exits: weir cancels it from a task that
//! would die with the process.

use std::future::Future;
use std::time::{Duration, Instant};

use weir::{Backend, Connection, Database, DatabaseConfig, Error, Executor};

use crate::args::human;
use crate::failure::{Failure, EXIT_INTERRUPTED, EXIT_TIMEOUT};

/// How long to wait, after giving up on a statement, for the server to confirm it stopped.
const CANCEL_GRACE: Duration = Duration::from_secs(3);
/// When weir's own cancel has not landed by then, the CLI sends one itself.
const OWN_CANCEL_AFTER: Duration = Duration::from_millis(250);

/// What ended a statement before it finished.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Timeout(Duration),
    Interrupted,
}

/// Runs `work` until it ends, `limit` passes or Ctrl-C is pressed.
pub async fn race<T>(limit: Option<Duration>, work: impl Future<Output = T>) -> Result<T, Stop> {
    let deadline = async {
        match limit {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let interrupt = async {
        // Without a signal handler Ctrl-C still ends the process, just not gracefully.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        out = work => Ok(out),
        () = deadline => Err(Stop::Timeout(limit.unwrap_or_default())),
        () = interrupt => Err(Stop::Interrupted),
    }
}

/// The failure for a statement (or connecting) ended by `stop`; `stopped` says whether the
/// server confirmed the statement gone.
pub fn stop_failure(stop: Stop, what: &str, stopped: bool) -> Failure {
    let (code, mut message) = match stop {
        Stop::Timeout(d) => (EXIT_TIMEOUT, format!("{what} timed out after {}", human(d))),
        Stop::Interrupted => (EXIT_INTERRUPTED, format!("{what} interrupted")),
    };
    if !stopped {
        message.push_str("; it may still be running on the server");
    } else if what != "connecting" {
        message.push_str("; cancelled on the server");
    }
    Failure {
        code,
        message,
        detail: None,
    }
}

/// One connection for the whole command, and the server's id for it, so that a statement given
/// up on can be confirmed stopped on the server before the process exits.
pub struct Session {
    db: Database,
    conn: Connection,
    id: i64,
}

impl Session {
    pub async fn open(config: DatabaseConfig, limit: Option<Duration>) -> Result<Session, Failure> {
        let connect = async {
            let db = Database::connect_with(config).await?;
            let conn = db.acquire().await?;
            let sql = match db.backend() {
                Backend::Postgres => "SELECT pg_backend_pid()",
                Backend::MySql => "SELECT CONNECTION_ID()",
            };
            let id: i64 = conn.fetch_scalar(sql, ()).await?;
            Ok::<_, Error>(Session { db, conn, id })
        };
        match race(limit, connect).await {
            Ok(session) => Ok(session?),
            Err(stop) => Err(stop_failure(stop, "connecting", true)),
        }
    }

    /// The connection to run the command's statements on.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Closes the pool after normal work.
    pub async fn close(self) {
        drop(self.conn);
        self.db.close(Duration::from_secs(1)).await;
    }

    /// Ends the session after its statement was abandoned mid-way, and says whether the
    /// statement is confirmed stopped on the server.
    ///
    /// weir cancels a dropped statement from a task of its own; the process must not exit
    /// before that has happened, so this watches the server until the statement is gone, and
    /// cancels it itself if weir's cancel has not landed within a moment.
    pub async fn abandon(self) -> bool {
        let Session { db, conn, id } = self;
        drop(conn);
        let watch = async {
            let started = Instant::now();
            let mut cancelled = false;
            loop {
                if let Ok(false) = statement_running(&db, id).await {
                    return true;
                }
                if !cancelled && started.elapsed() > OWN_CANCEL_AFTER {
                    cancelled = true;
                    let _ = cancel_statement(&db, id).await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let stopped = tokio::time::timeout(CANCEL_GRACE, watch)
            .await
            .unwrap_or(false);
        db.close(Duration::from_secs(1)).await;
        stopped
    }
}

/// Whether session `id` is still running a statement, asked on another connection of the pool.
async fn statement_running(db: &Database, id: i64) -> weir::Result<bool> {
    let n: i64 = match db.backend() {
        Backend::Postgres => {
            let pid = i32::try_from(id).unwrap_or(i32::MAX);
            db.fetch_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'",
                (pid,),
            )
            .await?
        }
        Backend::MySql => {
            db.fetch_scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                 WHERE ID = $1 AND COMMAND NOT IN ('Sleep', 'Killed')",
                (id,),
            )
            .await?
        }
    };
    Ok(n > 0)
}

/// Cancels session `id`'s statement from another connection: the fallback when weir's own
/// cancel has not landed.
async fn cancel_statement(db: &Database, id: i64) -> weir::Result<()> {
    match db.backend() {
        Backend::Postgres => {
            let pid = i32::try_from(id).unwrap_or(i32::MAX);
            db.fetch_scalar::<bool, _>("SELECT pg_cancel_backend($1)", (pid,))
                .await
                .map(drop)
        }
        // KILL takes no placeholder; the id is an integer.
        Backend::MySql => db.execute(&format!("KILL QUERY {id}"), ()).await.map(drop),
    }
}
