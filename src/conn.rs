//! A pooled session and the rules for giving it back.
//!
//! A connection goes back to the pool only when it is known idle and outside any transaction.
//! Every statement marks the session busy until its result is fully read; a session still busy
//! when its lease is dropped (a cancelled future, a dropped stream) had its statement cancelled
//! on the server and is discarded. A session left inside a transaction is rolled back, within
//! the cleanup timeout, before it is reused, or else discarded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool::managed::Object;
use tokio::sync::Mutex;

use crate::backend::{Canceller, RawConn, Rows};
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::CopyRows;
use crate::limit::{LaneState, Permits};
use crate::pool::Manager;
use crate::row::{ColumnMap, FromRow};
use crate::sql::{is_blank, may_change_session};
use crate::tx::{Transaction, TxOptions};
use crate::types::{Decode, Param};

/// A session plus what weir knows of its state. Internal; public only so that the
/// [`Executor`](crate::Executor) trait can name it.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Conn {
    pub(crate) raw: RawConn,
    /// Open transaction levels: 0 outside, 1 in a transaction, 2+ in savepoints.
    pub(crate) tx_depth: u32,
    /// A transaction or savepoint at this depth was dropped unfinished: roll it back before
    /// the next statement or before the session is reused.
    pub(crate) rollback_to: Option<u32>,
    /// A statement was sent and its result not yet fully read.
    busy: bool,
    /// The session failed in a way that leaves its state unknown.
    broken: bool,
    /// The first statement that failed inside the open transaction. Until a rollback (of the
    /// transaction, or of a savepoint, all of which were taken before it) every statement
    /// fails fast with it and nothing commits: the same rule on both backends, whatever the
    /// server itself would have done with the transaction.
    failed: Option<Box<Error>>,
    /// A statement may have left session state (variables, temporary tables, session locks)
    /// that the next borrower would inherit.
    session_changed: bool,
    pub(crate) cleanup_timeout: Duration,
    pub(crate) idle_since: Instant,
    /// Stops this session's running statement from outside; shared with in-flight guards.
    pub(crate) canceller: Arc<Canceller>,
}

impl Conn {
    pub(crate) fn new(raw: RawConn, cleanup_timeout: Duration) -> Self {
        Conn {
            canceller: Arc::new(raw.canceller()),
            raw,
            tx_depth: 0,
            rollback_to: None,
            busy: false,
            broken: false,
            failed: None,
            session_changed: false,
            cleanup_timeout,
            idle_since: Instant::now(),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.raw.backend()
    }

    /// Whether this session may go back to the pool as it is.
    pub(crate) fn is_reusable(&self) -> bool {
        !self.busy
            && !self.broken
            && self.tx_depth == 0
            && self.rollback_to.is_none()
            && !self.session_changed
            && !self.raw.server_reported_state_change()
    }

    /// Takes the session as it is now as the state every borrower gets (after the
    /// `after_connect` hook).
    pub(crate) fn accept_session_state(&mut self) {
        self.session_changed = false;
        self.raw.accept_state();
    }

    /// Marks the session busy for a statement of the caller's.
    fn start_user(&mut self, sql: &str) -> Result<InFlight> {
        self.refuse_if_failed()?;
        let changes_session = may_change_session(self.backend(), sql)?;
        let guard = self.start()?;
        self.session_changed |= changes_session;
        Ok(guard)
    }

    /// Marks the session busy; the guard cancels the statement on the server if the caller
    /// drops the operation before it completes.
    fn start(&mut self) -> Result<InFlight> {
        if self.busy || self.broken {
            // A statement was abandoned mid-way on this session (a timeout, a dropped future):
            // its result was never read, and a transaction on it can only be rolled back.
            return Err(Error::Aborted);
        }
        self.busy = true;
        Ok(InFlight {
            canceller: Some(Arc::clone(&self.canceller)),
            timeout: self.cleanup_timeout,
        })
    }

    fn finish<T>(&mut self, r: Result<T>) -> Result<T> {
        match &r {
            Err(Error::ConnectionLost(_) | Error::Driver(_)) => self.broken = true,
            _ => self.busy = false,
        }
        if let Err(e) = &r {
            if self.tx_depth > 0 && self.failed.is_none() {
                self.failed = Some(Box::new(e.clone()));
            }
        }
        r
    }

    /// Fails fast inside a transaction that a statement already failed.
    fn refuse_if_failed(&self) -> Result<()> {
        match &self.failed {
            Some(first) => Err(Error::TransactionAborted(first.clone())),
            None => Ok(()),
        }
    }

    /// Applies a pending rollback left by a dropped transaction or savepoint.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        let Some(depth) = self.rollback_to else {
            return Ok(());
        };
        if depth > self.tx_depth {
            // Already ended (committed or rolled back) at that depth.
            self.rollback_to = None;
            return Ok(());
        }
        let sql = if depth <= 1 {
            "ROLLBACK".to_owned()
        } else {
            let name = savepoint_name(depth);
            format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
        };
        self.control(&sql).await?;
        self.tx_depth = depth - 1;
        self.rollback_to = None;
        // Every open savepoint was taken before the failure: rolling back to any of them
        // undoes it.
        self.failed = None;
        Ok(())
    }

    /// Runs transaction-control SQL. MySQL's text protocol takes one statement per call.
    pub(crate) async fn control(&mut self, sql: &str) -> Result<()> {
        let in_flight = self.start()?;
        let r = match self.raw.backend() {
            Backend::MySql => {
                let mut r = Ok(());
                for stmt in sql.split("; ") {
                    r = self.raw.simple(stmt).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
            Backend::Postgres => self.raw.simple(sql).await,
        };
        in_flight.disarm();
        self.finish(r)
    }

    /// Opens a transaction, or a savepoint inside the current one.
    pub(crate) async fn begin(&mut self, options: &TxOptions) -> Result<u32> {
        self.settle().await?;
        self.refuse_if_failed()?;
        let depth = self.tx_depth + 1;
        let sql = if depth == 1 {
            options.begin_sql(self.backend())
        } else {
            format!("SAVEPOINT {}", savepoint_name(depth))
        };
        self.control(&sql).await?;
        self.tx_depth = depth;
        Ok(depth)
    }

    /// Commits the transaction or releases the savepoint at `depth`; a failed one is rolled
    /// back instead, and the call fails with [`Error::TransactionAborted`].
    pub(crate) async fn commit(&mut self, depth: u32) -> Result<()> {
        self.settle().await?;
        if self.tx_depth != depth {
            return Err(Error::Driver(format!(
                "transaction at depth {depth} is no longer open (session depth {})",
                self.tx_depth
            )));
        }
        if let Some(first) = self.failed.clone() {
            self.roll_back_failed(depth).await;
            return Err(Error::TransactionAborted(first));
        }
        let sql = match (depth, self.backend()) {
            // PostgreSQL answers COMMIT in an aborted transaction with ROLLBACK, not an error,
            // and tokio-postgres does not show the answer: a statement ahead of it in the same
            // round trip fails instead (25P02), and the COMMIT is then never run.
            (1, Backend::Postgres) => "SELECT WHERE false; COMMIT".to_owned(),
            (1, Backend::MySql) => "COMMIT".to_owned(),
            _ => format!("RELEASE SAVEPOINT {}", savepoint_name(depth)),
        };
        match self.control(&sql).await {
            Ok(()) => {
                self.tx_depth = depth - 1;
                Ok(())
            }
            Err(e) if is_in_failed_transaction(&e) => {
                self.roll_back_failed(depth).await;
                Err(Error::TransactionAborted(Box::new(e)))
            }
            Err(e) => Err(e),
        }
    }

    /// Rolls back a failed transaction or savepoint that was to be committed. If that fails
    /// too, the rollback stays pending and the session is discarded on return.
    async fn roll_back_failed(&mut self, depth: u32) {
        if let Err(e) = self.rollback(depth).await {
            tracing::warn!("rolling back a failed transaction: {e}");
        }
    }

    /// Rolls back the transaction or savepoint at `depth` now.
    pub(crate) async fn rollback(&mut self, depth: u32) -> Result<()> {
        self.rollback_to = Some(self.rollback_to.map_or(depth, |d| d.min(depth)));
        self.settle().await
    }

    pub(crate) async fn ping(&mut self) -> Result<()> {
        self.settle().await?;
        let in_flight = self.start()?;
        let r = self.raw.ping().await;
        in_flight.disarm();
        self.finish(r)
    }

    /// Runs several `;`-separated statements without parameters, through the simple (text)
    /// protocol. What a script leaves in the session cannot be told from its first words, so
    /// the connection is treated as changed and closed on return.
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<()> {
        self.settle().await?;
        self.refuse_if_failed()?;
        if is_blank(self.backend(), sql) {
            return Err(Error::InvalidStatement(
                "the script is empty (only white space, comments or semicolons)".into(),
            ));
        }
        let in_flight = self.start()?;
        self.session_changed = true;
        let r = self.raw.simple(sql).await;
        in_flight.disarm();
        self.finish(r)
    }

    /// Bulk-loads rows; see [`RawConn::copy_in`]. COPY leaves nothing in the session.
    pub(crate) async fn copy_in(
        &mut self,
        table: &str,
        columns: &str,
        width: usize,
        rows: &dyn CopyRows,
    ) -> Result<u64> {
        self.settle().await?;
        self.refuse_if_failed()?;
        let in_flight = self.start()?;
        let r = self.raw.copy_in(table, columns, width, rows).await;
        in_flight.disarm();
        self.finish(r)
    }

    pub(crate) async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let r = self.raw.execute(sql, params).await;
        in_flight.disarm();
        self.finish(r)
    }

    /// [`Conn::execute`] for SQL weir wrote with the backend's own placeholders.
    pub(crate) async fn execute_native(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let r = self.raw.execute_native(sql, params).await;
        in_flight.disarm();
        self.finish(r)
    }

    /// Runs an INSERT and returns the key it generated; see
    /// [`Executor::insert_returning_id`](crate::Executor::insert_returning_id).
    pub(crate) async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let r = self.raw.execute_returning_id(sql, params).await;
        in_flight.disarm();
        self.finish(r)
    }

    pub(crate) async fn fetch_all<T: FromRow + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let mut out = Vec::new();
        let mut map = ColumnMap::default();
        let r = self
            .raw
            .for_each_row(sql, params, |row| {
                out.push(T::from_row_mapped(row, &mut map)?);
                Ok(true)
            })
            .await;
        in_flight.disarm();
        self.finish(r).map(|()| out)
    }

    pub(crate) async fn fetch_optional<T: FromRow + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<T>> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let mut first = None;
        let r = self
            .raw
            .for_each_row(sql, params, |row| {
                first = Some(T::from_row(row)?);
                Ok(false)
            })
            .await;
        in_flight.disarm();
        self.finish(r).map(|()| first)
    }

    pub(crate) async fn fetch_scalar<T: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<T> {
        self.settle().await?;
        let in_flight = self.start_user(sql)?;
        let mut first = None;
        let r = self
            .raw
            .for_each_row(sql, params, |row| {
                first = Some(row.try_get::<T, usize>(0)?);
                Ok(false)
            })
            .await;
        in_flight.disarm();
        self.finish(r)?;
        first.ok_or(Error::RowNotFound)
    }

    /// Starts a streamed query: the session is busy from here until [`Conn::end_stream`].
    /// The rows come from [`Conn::open_rows`]; the caller loops over them itself, so that a
    /// row passes through one generator (the caller's), not one per layer.
    pub(crate) async fn start_stream(&mut self, sql: &str) -> Result<InFlight> {
        self.settle().await?;
        self.start_user(sql)
    }

    /// Runs a query started with [`Conn::start_stream`], for its rows to be read one by one.
    pub(crate) async fn open_rows<'c>(
        &'c mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Rows<'c>> {
        self.raw.open_rows(sql, params).await
    }

    /// Ends a streamed query, by how its rows ended.
    pub(crate) fn end_stream(&mut self, in_flight: InFlight, end: StreamEnd) -> Result<()> {
        match end {
            // Dropping the guard cancels the rest, and the busy session is discarded on
            // return: the next borrower would otherwise meet the unread rows.
            StreamEnd::RowsLeft(e) => Err(e),
            StreamEnd::Ended(r) => {
                in_flight.disarm();
                self.finish(r)
            }
        }
    }
}

/// How the rows of a streamed query ended.
pub(crate) enum StreamEnd {
    /// The result was read to its end, or the server or the connection ended it with an
    /// error: nothing of it is left to read.
    Ended(Result<()>),
    /// The caller's side failed (a row that did not fit its type) with rows still unread.
    RowsLeft(Error),
}

/// A statement on its way: dropped before [`InFlight::disarm`], it cancels the statement on the
/// server at once, so an abandoned query never keeps running.
pub(crate) struct InFlight {
    canceller: Option<Arc<Canceller>>,
    timeout: Duration,
}

impl InFlight {
    fn disarm(mut self) {
        self.canceller = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(canceller) = self.canceller.take() {
            spawn_cancel(canceller, self.timeout);
        }
    }
}

/// Sends a cancel for whatever the session runs, bounded by `timeout`, off the caller's path.
pub(crate) fn spawn_cancel(canceller: Arc<Canceller>, timeout: Duration) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            match tokio::time::timeout(timeout, canceller.cancel()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cancelling an abandoned statement failed: {e}"),
                Err(_) => tracing::warn!("cancelling an abandoned statement timed out"),
            }
        });
    }
}

/// PostgreSQL's "current transaction is aborted": the server failed the transaction on a
/// statement weir did not see fail.
fn is_in_failed_transaction(e: &Error) -> bool {
    e.as_database_error()
        .is_some_and(|db| db.kind() == crate::error::DatabaseErrorKind::InFailedTransaction)
}

pub(crate) fn savepoint_name(depth: u32) -> String {
    format!("weir_savepoint_{depth}")
}

/// A connection checked out of the pool. Dropping it applies the return rules above.
/// Internal; public only so that the [`Executor`](crate::Executor) trait can name it.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct Lease {
    obj: Option<Object<Manager>>,
    /// Released after the connection is back in the pool (fields drop after `drop`).
    _permits: Permits,
}

impl Lease {
    pub(crate) fn new(obj: Object<Manager>) -> Self {
        Lease {
            obj: Some(obj),
            _permits: Permits::default(),
        }
    }

    pub(crate) fn with_permits(mut self, permits: Permits) -> Self {
        self._permits = permits;
        self
    }

    /// The session. Fails only after the lease was given up, which weir never does while the
    /// lease is reachable.
    pub(crate) fn conn(&mut self) -> Result<&mut Conn> {
        self.obj
            .as_deref_mut()
            .map(|conn| &mut **conn)
            .ok_or_else(|| Error::Driver("connection lease already released".into()))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut obj) = self.obj.take() else {
            return;
        };
        if obj.is_reusable() {
            obj.idle_since = Instant::now();
            return; // back to the pool
        }
        let timeout = obj.cleanup_timeout;
        if obj.busy || obj.broken || obj.tx_depth == 0 && obj.rollback_to.is_none() {
            // Mid-statement (its guard already sent the cancel), broken, or carrying session
            // state: closing is the only reset that cannot miss anything.
            discard(obj);
            return;
        }
        // Inside a transaction: roll back, then return it; discard it if that fails.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            discard(obj);
            return;
        };
        runtime.spawn(async move {
            let mut obj = obj;
            let depth = 1;
            let ok = matches!(
                tokio::time::timeout(timeout, obj.rollback(depth)).await,
                Ok(Ok(()))
            ) && obj.is_reusable();
            if ok {
                obj.idle_since = Instant::now();
            } else {
                tracing::warn!(
                    "rollback of an abandoned transaction failed; discarding the connection"
                );
                discard(obj);
            }
        });
    }
}

/// Takes a connection out of the pool and closes its session. Dropping the driver's
/// connection closes the session in the background, and its pool slot is given back only once
/// the server let the session go (or after the cleanup timeout): a session in the middle of a
/// statement lingers on the server until that statement ends (neither server notices a closed
/// socket before), and opening its replacement at once let a pool of 8 hold 40 MySQL
/// sessions, and 10 PostgreSQL ones, under a storm of timeouts.
fn discard(obj: Object<Manager>) {
    drop(Object::take(obj));
}

/// A connection checked out of the pool for a sequence of statements on one session
/// (session settings, temporary tables, locks). Returned to the pool on drop.
pub struct Connection {
    pub(crate) lease: Mutex<Lease>,
    backend: Backend,
    pub(crate) lane: Arc<LaneState>,
    pub(crate) timeout: Option<Duration>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Connection {
    pub(crate) fn new(
        lease: Lease,
        backend: Backend,
        lane: Arc<LaneState>,
        timeout: Option<Duration>,
    ) -> Self {
        Connection {
            lease: Mutex::new(lease),
            backend,
            lane,
            timeout,
        }
    }

    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the session with one round trip.
    ///
    /// # Errors
    /// [`Error::ConnectionLost`] when the server is gone.
    pub async fn ping(&self) -> Result<()> {
        self.lease.lock().await.conn()?.ping().await
    }

    /// Starts a transaction on this connection.
    ///
    /// # Errors
    /// The server's error if `BEGIN` fails.
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        self.begin_with(TxOptions::default()).await
    }

    /// Starts a transaction with an isolation level or read-only mode.
    ///
    /// # Errors
    /// The server's error if `BEGIN` fails.
    pub async fn begin_with(&mut self, options: TxOptions) -> Result<Transaction<'_>> {
        Transaction::begin_on(
            crate::tx::TxConn::Borrowed(&self.lease),
            options,
            self.backend,
            Arc::clone(&self.lane),
            self.timeout,
        )
        .await
    }
}
