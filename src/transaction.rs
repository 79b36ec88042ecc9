//! Transactions and savepoints.
//!
//! A [`Transaction`] dropped without [`commit`](Transaction::commit) is rolled back, with a DEBUG
//! event that names the line which began it: a nested one
//! (a savepoint) before the next statement of its parent, a top-level one before its connection
//! is reused (or the connection is discarded if that rollback fails or takes longer than the
//! cleanup timeout). A top-level transaction held past `leak_detection_threshold` logs a WARN
//! naming that line too (see
//! [`DatabaseConfig::with_leak_detection_threshold`](crate::DatabaseConfig::with_leak_detection_threshold)).

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::config::TxOptions;
use crate::engine::Backend;
use crate::error::{CallPhase, Error, Result};
use crate::executor::sealed::Plumbing;
use crate::executor::{Executor, Overrides};
use crate::policy::{self, CallScope, Held, LaneState};
use crate::pool::Lease;

/// Runs transaction control `$op` on the session `$s` of `$mutex` through the policy path,
/// under the transaction's deadline and counted in its lane. Past the deadline the statement
/// is abandoned: cancelled on the server, and its session discarded rather than reused.
macro_rules! control {
    ($mutex:expr, $lane:expr, $timeout:expr, $sql:expr, |$s:ident| $op:expr) => {{
        let scope = CallScope::new($lane, $timeout);
        let session = async {
            scope.phase.set(CallPhase::Acquire);
            Ok::<_, Error>($mutex.lock().await)
        };
        policy::run_call!(&scope, $sql, session, |$s| $op)
    }};
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
    /// Where the caller began it, for the event a transaction dropped unfinished leaves.
    begun_at: &'static Location<'static>,
    /// `commit` or `rollback` was called (whatever came of it).
    ended: bool,
    /// The leak watch of a top-level transaction (a savepoint's parent is watched already).
    /// Declared last, so dropped last: its INFO follows the transaction's end.
    _held: Held,
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
        begun_at: &'static Location<'static>,
    ) -> Result<Transaction<'c>> {
        let depth = control!(conn.mutex(), &lane, timeout, "BEGIN", |s| s.begin(&options))?;
        let held = match depth {
            1 => Held::start(&lane.watch, "transaction", begun_at),
            _ => Held::none(),
        };
        Ok(Transaction {
            conn,
            depth,
            backend,
            finished: false,
            lane,
            timeout,
            begun_at,
            ended: false,
            _held: held,
        })
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
    #[track_caller]
    pub fn begin(&mut self) -> impl Future<Output = Result<Transaction<'_>>> + Send + '_ {
        Transaction::begin_on(
            TxConn::Borrowed(self.conn.mutex()),
            TxOptions::default(),
            self.backend,
            Arc::clone(&self.lane),
            self.timeout,
            Location::caller(),
        )
    }

    /// Commits (or, nested, releases the savepoint), within the transaction's deadline.
    ///
    /// # Errors
    /// The server's error; the transaction is then rolled back.
    /// [`Error::TransactionAborted`] when a statement of the transaction failed: it was rolled
    /// back instead. [`Error::CommitOutcomeUnknown`] when the connection fails or the deadline passes while
    /// the `COMMIT` is in flight.
    pub async fn commit(mut self) -> Result<()> {
        let depth = self.depth;
        let r = control!(self.conn.mutex(), &self.lane, self.timeout, "COMMIT", |s| s
            .commit(depth));
        self.finished = r.is_ok();
        self.ended = true;
        match r {
            Err(e @ (Error::ConnectionLost(_) | Error::QueryTimeout { .. })) if self.depth == 1 => {
                let (sent, failure) = self.commit_state();
                match (sent, e) {
                    // The COMMIT may have reached the server and taken effect before the link
                    // broke or the deadline passed.
                    (true, Error::ConnectionLost(why)) => Err(Error::CommitOutcomeUnknown(why)),
                    (true, Error::QueryTimeout { after, .. }) => Err(Error::CommitOutcomeUnknown(
                        format!("no reply to COMMIT within {after:?}"),
                    )),
                    // No COMMIT went out (a failed transaction's rollback, or a savepoint's, was
                    // under way): nothing was committed.
                    (_, e) => {
                        Err(failure.map_or(e, |first| Error::TransactionAborted(Box::new(first))))
                    }
                }
            }
            r => r,
        }
    }

    /// Whether the `COMMIT` was sent, and the error that failed the transaction, if one did.
    /// Unknown (the session out of reach) counts as sent: the outcome is then unknown.
    fn commit_state(&self) -> (bool, Option<Error>) {
        match self.conn.mutex().try_lock() {
            Ok(mut lease) => match lease.session() {
                Ok(s) => (s.commit_sent(), s.failure().cloned()),
                Err(_) => (true, None),
            },
            Err(_) => (true, None),
        }
    }

    /// Rolls back (or, nested, rolls back to the savepoint).
    ///
    /// # Errors
    /// The server's error, or a lost connection (whose transaction the server then ends).
    pub async fn rollback(mut self) -> Result<()> {
        let depth = self.depth;
        let r = control!(
            self.conn.mutex(),
            &self.lane,
            self.timeout,
            "ROLLBACK",
            |s| s.rollback(depth)
        );
        self.finished = r.is_ok();
        self.ended = true;
        r
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if !self.ended {
            tracing::debug!(
                begun_at = %self.begun_at,
                depth = self.depth,
                "transaction dropped without commit or rollback: it is rolled back"
            );
        }
        // Nothing else can hold the lock: a child transaction borrows this one mutably, and an
        // operation in flight holds `&self`. If it is held anyway, the lease is discarded.
        match self.conn.mutex().try_lock() {
            Ok(mut lease) => {
                if let Ok(session) = lease.session() {
                    session.abandon(self.depth);
                }
            }
            Err(_) => tracing::warn!("transaction dropped while its connection was in use"),
        }
    }
}

impl From<tokio::sync::TryLockError> for Error {
    fn from(_: tokio::sync::TryLockError) -> Self {
        Error::Driver("connection is busy".into())
    }
}

impl Plumbing for Transaction<'_> {
    type Guard<'a>
        = MutexGuard<'a, Lease>
    where
        Self: 'a;

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        Ok(CallScope::new(
            &self.lane,
            o.timeout.unwrap_or(self.timeout),
        ))
    }

    async fn session<'a, 's>(&'a self, scope: &'s CallScope<'a>) -> Result<MutexGuard<'a, Lease>>
    where
        'a: 's,
    {
        scope.phase.set(CallPhase::Acquire);
        Ok(self.conn.mutex().lock().await)
    }
}

impl Executor for Transaction<'_> {
    fn backend(&self) -> Backend {
        Transaction::backend(self)
    }
}

#[cfg(test)]
mod tests {
    //! What `commit` reports when its deadline passes, on the fake adapter with paused time:
    //! an unknown outcome only when a `COMMIT` went out.

    use std::sync::Arc;

    use super::*;
    use crate::executor::Executor;
    use crate::policy::{Limits, Watch};

    async fn transaction(pool: &crate::pool::Pool, limits: &Limits) -> Transaction<'static> {
        let lease = pool.checkout().await.unwrap();
        let lane = Arc::clone(limits.lane(None).unwrap());
        Transaction::begin_on(
            TxConn::Owned(Box::new(Mutex::new(lease))),
            TxOptions::default(),
            Backend::Postgres,
            lane,
            Some(Duration::from_millis(50)),
            Location::caller(),
        )
        .await
        .unwrap()
    }

    /// A failed transaction whose rollback outlives the deadline reports the failure, not an
    /// unknown outcome: no COMMIT was sent, so nothing was committed.
    #[tokio::test(start_paused = true)]
    async fn a_failed_transaction_timing_out_in_its_rollback_is_no_unknown_outcome() {
        let (pool, log) = crate::pool::fake(1);
        let limits = Limits::new(None, None, &[], &Watch::off());
        let tx = transaction(&pool, &limits).await;
        assert!(tx.execute("INSERT fail", ()).await.is_err());
        log.hang_on("ROLLBACK");
        let err = tx.commit().await.unwrap_err();
        assert!(matches!(err, Error::TransactionAborted(_)), "{err:?}");
        assert!(!log.statements().iter().any(|s| s == "COMMIT"));
    }

    /// A COMMIT that gets no answer before the deadline has an unknown outcome.
    #[tokio::test(start_paused = true)]
    async fn a_commit_without_an_answer_has_an_unknown_outcome() {
        let (pool, log) = crate::pool::fake(1);
        let limits = Limits::new(None, None, &[], &Watch::off());
        let tx = transaction(&pool, &limits).await;
        tx.execute("INSERT 1", ()).await.unwrap();
        log.hang_on("COMMIT");
        let err = tx.commit().await.unwrap_err();
        assert!(matches!(err, Error::CommitOutcomeUnknown(_)), "{err:?}");
    }
}
