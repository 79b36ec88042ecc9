//! Transactions and savepoints.
//!
//! A [`Transaction`] dropped without [`commit`](Transaction::commit) is rolled back: a nested one
//! (a savepoint) before the next statement of its parent, a top-level one before its connection
//! is reused (or the connection is discarded if that rollback fails or takes longer than the
//! cleanup timeout).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::conn::Lease;
use crate::engine::Backend;
use crate::error::{CallPhase, Error, Result};
use crate::limit::{with_deadline, LaneState, PhaseCell};

/// Transaction isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED` (PostgreSQL runs it as read committed).
    ReadUncommitted,
    /// `READ COMMITTED`: PostgreSQL's default.
    ReadCommitted,
    /// `REPEATABLE READ`: MySQL's and MariaDB's default.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl IsolationLevel {
    fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessMode {
    /// Reads and writes. Default.
    #[default]
    ReadWrite,
    /// Reads only: writes fail on the server.
    ReadOnly,
}

/// How to start a transaction. Default: the server's isolation level, read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxOptions {
    /// Isolation level; `None` keeps the server's default.
    pub isolation: Option<IsolationLevel>,
    /// Read-write or read-only.
    pub access: AccessMode,
}

impl TxOptions {
    /// Sets the isolation level.
    #[must_use]
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Makes the transaction read-only.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.access = AccessMode::ReadOnly;
        self
    }

    /// The statement(s) that open the transaction, `; `-separated.
    pub(crate) fn begin_sql(&self, backend: Backend) -> String {
        let read_only = self.access == AccessMode::ReadOnly;
        match backend {
            Backend::Postgres => {
                let mut sql = String::from("BEGIN");
                if let Some(level) = self.isolation {
                    sql.push_str(" ISOLATION LEVEL ");
                    sql.push_str(level.sql());
                }
                if read_only {
                    sql.push_str(" READ ONLY");
                }
                sql
            }
            Backend::MySql => {
                // SET TRANSACTION without SESSION applies to the next transaction only.
                let mut sql = String::new();
                if let Some(level) = self.isolation {
                    sql.push_str("SET TRANSACTION ISOLATION LEVEL ");
                    sql.push_str(level.sql());
                    sql.push_str("; ");
                }
                sql.push_str(if read_only {
                    "START TRANSACTION READ ONLY"
                } else {
                    "START TRANSACTION"
                });
                sql
            }
        }
    }
}

/// Where a transaction's session lives: its own lease, or one borrowed from a connection or
/// a parent transaction.
pub(crate) enum TxConn<'c> {
    Owned(Box<Mutex<Lease>>),
    Borrowed(&'c Mutex<Lease>),
}

impl TxConn<'_> {
    fn mutex(&self) -> &Mutex<Lease> {
        match self {
            TxConn::Owned(m) => m,
            TxConn::Borrowed(m) => m,
        }
    }
}

/// An open transaction (or, nested, a savepoint). Run statements on it through
/// [`Executor`](crate::Executor); finish it with [`commit`](Self::commit) or
/// [`rollback`](Self::rollback).
///
/// # A failed statement fails the transaction
///
/// Once a statement inside a transaction fails (a server error such as a duplicate key, or a
/// parameter or decode error), the transaction is failed, on both backends alike: every later
/// statement, and a nested [`begin`](Self::begin), fails at once with
/// [`Error::TransactionAborted`] carrying that first error, and [`commit`](Self::commit) rolls
/// the transaction back and returns that error; it never reports success. A nested
/// transaction (a savepoint) that failed can be rolled back, committed (which rolls it back
/// and fails) or dropped, and its parent goes on as it was before the savepoint. MySQL and
/// MariaDB would otherwise undo only the failed statement and commit the rest, and
/// PostgreSQL would answer the `COMMIT` of its aborted transaction with a silent rollback.
pub struct Transaction<'c> {
    conn: TxConn<'c>,
    depth: u32,
    backend: Backend,
    finished: bool,
    lane: Arc<LaneState>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("backend", &self.backend)
            .field("depth", &self.depth)
            .finish()
    }
}

impl<'c> Transaction<'c> {
    pub(crate) async fn begin_on(
        conn: TxConn<'c>,
        options: TxOptions,
        backend: Backend,
        lane: Arc<LaneState>,
        timeout: Option<Duration>,
    ) -> Result<Transaction<'c>> {
        let depth = bounded(timeout, async {
            conn.mutex().lock().await.conn()?.begin(&options).await
        })
        .await?;
        Ok(Transaction {
            conn,
            depth,
            backend,
            finished: false,
            lane,
            timeout,
        })
    }

    pub(crate) fn lane(&self) -> &LaneState {
        &self.lane
    }

    pub(crate) fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    pub(crate) async fn lock(&self) -> MutexGuard<'_, Lease> {
        self.conn.mutex().lock().await
    }

    /// Which backend this transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Nesting level: 1 for a transaction, 2 and up for savepoints.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Starts a nested transaction: a savepoint, rolled back alone if dropped uncommitted.
    ///
    /// # Errors
    /// The server's error if `SAVEPOINT` fails.
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        Transaction::begin_on(
            TxConn::Borrowed(self.conn.mutex()),
            TxOptions::default(),
            self.backend,
            Arc::clone(&self.lane),
            self.timeout,
        )
        .await
    }

    /// Commits (or, nested, releases the savepoint), within the transaction's deadline.
    ///
    /// # Errors
    /// The server's error; the transaction is then rolled back.
    /// [`Error::TransactionAborted`] when a statement of the transaction failed: it was rolled
    /// back instead. [`Error::CommitOutcomeUnknown`] when the connection fails or the deadline passes while
    /// the `COMMIT` is in flight.
    pub async fn commit(mut self) -> Result<()> {
        let r = bounded(self.timeout, async {
            self.lock().await.conn()?.commit(self.depth).await
        })
        .await;
        self.finished = r.is_ok();
        match r {
            // The COMMIT may have reached the server and taken effect before the link broke.
            Err(Error::ConnectionLost(why)) if self.depth == 1 => {
                Err(Error::CommitOutcomeUnknown(why))
            }
            Err(Error::QueryTimeout { after, .. }) if self.depth == 1 => Err(
                Error::CommitOutcomeUnknown(format!("no reply to COMMIT within {after:?}")),
            ),
            r => r,
        }
    }

    /// Rolls back (or, nested, rolls back to the savepoint).
    ///
    /// # Errors
    /// The server's error, or a lost connection (whose transaction the server then ends).
    pub async fn rollback(mut self) -> Result<()> {
        let r = bounded(self.timeout, async {
            self.lock().await.conn()?.rollback(self.depth).await
        })
        .await;
        self.finished = r.is_ok();
        r
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Nothing else can hold the lock: a child transaction borrows this one mutably, and an
        // operation in flight holds `&self`. If it is held anyway, the lease is discarded.
        match self.conn.mutex().try_lock() {
            Ok(mut lease) => {
                if let Ok(conn) = lease.conn() {
                    let depth = self.depth;
                    conn.rollback_to = Some(conn.rollback_to.map_or(depth, |d| d.min(depth)));
                }
            }
            Err(_) => tracing::warn!("transaction dropped while its connection was in use"),
        }
    }
}

/// Runs transaction control under the transaction's deadline. Past it the statement is
/// abandoned: cancelled on the server, and its connection discarded rather than reused.
async fn bounded<T>(
    timeout: Option<Duration>,
    call: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let phase = PhaseCell::default();
    phase.set(CallPhase::Execute);
    with_deadline(timeout, &phase, call).await
}

impl From<tokio::sync::TryLockError> for Error {
    fn from(_: tokio::sync::TryLockError) -> Self {
        Error::Driver("connection is busy".into())
    }
}
