//! A session checked out of the pool, and the rules that keep it safe to reuse.
//!
//! Every statement marks the session busy until its result is fully read; a statement whose
//! caller goes away part-way is cancelled on the server at once ([`InFlight`]), and a session
//! still busy when it is given back is discarded, never reused mid-result. Inside a
//! transaction, the first failed statement fails the transaction: later statements fail fast
//! and nothing commits until it is rolled back. A transaction or savepoint dropped unfinished
//! is rolled back before the session's next statement.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod closing;
mod in_flight;
mod peer;

pub(crate) use in_flight::InFlight;
pub(crate) use peer::Peer;

use crate::backend::{AnyCanceller, AnyConn, AnyRows, Control, CopyTarget, Placeholders};
use crate::config::TxOptions;
use crate::engine::Backend;
use crate::error::{DatabaseErrorKind, Error, Result};
use crate::sql::{is_blank, may_change_session};
use crate::stats::{CloseReason, PendingClose, PoolMetrics};
use crate::types::{CopyRows, Decode, Param};

/// A session plus what weir knows of its state. (Public only for the sealed executor
/// plumbing; not reachable by name.)
pub struct Session {
    raw: AnyConn,
    /// Open transaction levels: 0 outside, 1 in a transaction, 2+ in savepoints.
    tx_depth: u32,
    /// A transaction or savepoint at this depth was dropped unfinished: roll it back before
    /// the next statement or before the session is reused.
    rollback_to: Option<u32>,
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
    /// The `COMMIT` of the open transaction was sent: past this point its outcome is the
    /// server's to say, and a lost reply leaves it unknown.
    commit_sent: bool,
    /// The session serves one call or one transaction and is closed on return if a statement
    /// changed it: such a change has no lasting effect, which a warning tells the caller.
    short_lived: bool,
    /// The pool wants a writable host: a server that answers "read-only" (it was demoted, or a
    /// replica was promoted elsewhere) gets this session closed on return, so that the next
    /// one walks the host list again.
    writes_only: bool,
    cleanup_timeout: Duration,
    /// When the session last came back to the pool.
    pub(crate) idle_since: Instant,
    /// Stops this session's running statement from outside; shared with in-flight guards.
    canceller: Arc<AnyCanceller>,
    /// The pool's metrics, once the pool counted this session as opened.
    metrics: Option<Arc<PoolMetrics>>,
    /// Why this session is to be closed, when something decided it before the drop.
    pending_close: PendingClose,
    /// The server it is on.
    peer: Arc<Peer>,
}

/// What a statement is, for the checks before it runs.
#[derive(Clone, Copy)]
enum Kind<'a> {
    /// A caller's statement: scanned for session changes, refused when empty.
    Caller(&'a str),
    /// A caller's script: its effect on the session cannot be told, so the session is treated
    /// as changed.
    Script(&'a str),
    /// A caller's statement to describe, not run: refused when empty, changes nothing.
    Describe(&'a str),
    /// A statement weir wrote itself.
    Own,
}

/// Runs one statement under the session's rules: a pending rollback first, the checks of its
/// kind, the session marked busy (and the statement cancelled on the server if the caller
/// drops it part-way), then its outcome recorded.
macro_rules! statement {
    ($session:ident, $kind:expr, |$raw:ident| $op:expr) => {{
        $session.settle().await?;
        let in_flight = $session.start($kind)?;
        let $raw = &mut $session.raw;
        let r = $op.await;
        in_flight.disarm();
        $session.finish(r)
    }};
}

mod reads;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("backend", &self.backend())
            .field("tx_depth", &self.tx_depth)
            .field("busy", &self.busy)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        raw: AnyConn,
        peer: Arc<Peer>,
        cleanup_timeout: Duration,
        writes_only: bool,
    ) -> Self {
        Session {
            peer,
            canceller: Arc::new(raw.canceller()),
            raw,
            tx_depth: 0,
            rollback_to: None,
            busy: false,
            broken: false,
            failed: None,
            session_changed: false,
            short_lived: false,
            writes_only,
            commit_sent: false,
            cleanup_timeout,
            idle_since: Instant::now(),
            metrics: None,
            pending_close: PendingClose::default(),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        self.raw.backend()
    }

    /// The server this session is on.
    pub(crate) fn peer(&self) -> &Peer {
        &self.peer
    }

    /// How long cleaning up after this session (a rollback, a cancel) may take.
    pub(crate) fn cleanup_timeout(&self) -> Duration {
        self.cleanup_timeout
    }

    /// This session's canceller, for a pool that must stop everything.
    pub(crate) fn canceller(&self) -> &Arc<AnyCanceller> {
        &self.canceller
    }

    /// Whether the `COMMIT` of the current (or last) transaction was sent.
    pub(crate) fn commit_sent(&self) -> bool {
        self.commit_sent
    }

    /// The first error of the open transaction, if a statement failed it.
    pub(crate) fn failure(&self) -> Option<&Error> {
        self.failed.as_deref()
    }

    /// Whether the connection is known dead without asking the server.
    pub(crate) fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Whether this session may go back to the pool as it is.
    pub(crate) fn is_reusable(&self) -> bool {
        !self.busy
            && !self.broken
            && self.tx_depth == 0
            && self.rollback_to.is_none()
            && !self.session_changed
            && !self.raw.state_changed()
    }

    /// Whether the session is only inside a transaction (no statement running, not broken):
    /// a rollback makes it reusable. Anything else can only be closed.
    pub(crate) fn needs_rollback_only(&self) -> bool {
        !self.busy && !self.broken && (self.tx_depth > 0 || self.rollback_to.is_some())
    }

    /// Whether the session serves one call or one transaction only (the pool's own calls and
    /// transactions), rather than a [`Connection`](crate::Connection) of the caller's.
    pub(crate) fn serve_briefly(&mut self, short_lived: bool) {
        self.short_lived = short_lived;
    }

    /// Takes the session as it is now as the state every borrower gets (after the
    /// `after_connect` hook).
    pub(crate) fn accept_session_state(&mut self) {
        self.session_changed = false;
        self.raw.accept_state();
    }

    /// Marks a transaction or savepoint at `depth` as dropped unfinished: it is rolled back
    /// before the next statement.
    pub(crate) fn abandon(&mut self, depth: u32) {
        self.rollback_to = Some(self.rollback_to.map_or(depth, |d| d.min(depth)));
    }

    /// Checks a statement of `kind` and marks the session busy; the guard cancels the
    /// statement on the server if the caller drops the operation before it completes.
    fn start(&mut self, kind: Kind<'_>) -> Result<InFlight> {
        let changes_session = match kind {
            Kind::Caller(sql) => {
                self.refuse_if_failed()?;
                let changes = may_change_session(self.backend(), sql)?;
                if changes && self.short_lived {
                    warn_once_for(sql);
                }
                changes
            }
            Kind::Script(sql) => {
                self.refuse_if_failed()?;
                if is_blank(self.backend(), sql) {
                    return Err(Error::InvalidStatement(
                        "the script is empty (only white space, comments or semicolons)".into(),
                    ));
                }
                true
            }
            Kind::Describe(sql) => {
                self.refuse_if_failed()?;
                may_change_session(self.backend(), sql)?;
                false
            }
            Kind::Own => {
                self.refuse_if_failed()?;
                false
            }
        };
        let guard = self.mark_busy()?;
        self.session_changed |= changes_session;
        Ok(guard)
    }

    fn mark_busy(&mut self) -> Result<InFlight> {
        if self.busy || self.broken {
            // A statement was abandoned mid-way on this session (a timeout, a dropped future):
            // its result was never read, and a transaction on it can only be rolled back.
            return Err(Error::Aborted);
        }
        self.busy = true;
        Ok(InFlight {
            canceller: Some(Arc::clone(&self.canceller)),
            timeout: self.cleanup_timeout,
            cancels: self.metrics.as_ref().map(|m| m.cancels().clone()),
        })
    }

    fn finish<T>(&mut self, r: Result<T>) -> Result<T> {
        match &r {
            Err(Error::ConnectionLost(_)) => {
                self.broken = true;
                self.pending_close.suggest(CloseReason::Killed);
            }
            Err(Error::Driver(_)) => self.broken = true,
            _ => self.busy = false,
        }
        // Closing on return is the reset that sends the next session through the host list.
        self.session_changed |= self.writes_only && r.as_ref().is_err_and(Error::is_read_only);
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
        let control = if depth <= 1 {
            Control::Rollback
        } else {
            Control::RollbackTo(depth)
        };
        self.control(control).await?;
        self.tx_depth = depth - 1;
        self.rollback_to = None;
        // Every open savepoint was taken before the failure: rolling back to any of them
        // undoes it.
        self.failed = None;
        Ok(())
    }

    /// Runs transaction control.
    async fn control(&mut self, control: Control<'_>) -> Result<()> {
        let in_flight = self.mark_busy()?;
        let r = self.raw.control(control).await;
        in_flight.disarm();
        self.finish(r)
    }

    /// Opens a transaction, or a savepoint inside the current one.
    pub(crate) async fn begin(&mut self, options: &TxOptions) -> Result<u32> {
        self.settle().await?;
        self.refuse_if_failed()?;
        let depth = self.tx_depth + 1;
        let control = if depth == 1 {
            self.commit_sent = false;
            Control::Begin(options)
        } else {
            Control::Savepoint(depth)
        };
        self.control(control).await?;
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
        let control = if depth == 1 {
            self.commit_sent = true;
            Control::Commit
        } else {
            Control::Release(depth)
        };
        match self.control(control).await {
            Ok(()) => {
                self.tx_depth = depth - 1;
                Ok(())
            }
            // The server failed the transaction on a statement weir did not see fail.
            Err(e)
                if e.as_database_error()
                    .is_some_and(|db| db.kind() == DatabaseErrorKind::InFailedTransaction) =>
            {
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
        self.abandon(depth);
        self.settle().await
    }

    pub(crate) async fn ping(&mut self) -> Result<()> {
        statement!(self, Kind::Own, |raw| raw.ping())
    }

    /// Runs several `;`-separated statements without parameters, in one round trip. What a
    /// script leaves in the session cannot be told from its first words, so the session is
    /// treated as changed and closed on return.
    pub(crate) async fn execute_script(&mut self, sql: &str) -> Result<()> {
        statement!(self, Kind::Script(sql), |raw| raw.script(sql))
    }

    /// Bulk-loads rows. COPY leaves nothing in the session.
    pub(crate) async fn copy_in(
        &mut self,
        target: CopyTarget<'_>,
        rows: &dyn CopyRows,
    ) -> Result<u64> {
        statement!(self, Kind::Own, |raw| raw.copy_in(target, rows))
    }

    pub(crate) async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        statement!(self, Kind::Caller(sql), |raw| raw.execute(
            sql,
            params,
            Placeholders::Dollar
        ))
    }

    /// [`Session::execute`] for SQL weir wrote with the backend's own placeholders.
    pub(crate) async fn execute_native(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        statement!(self, Kind::Caller(sql), |raw| raw.execute(
            sql,
            params,
            Placeholders::Native
        ))
    }

    /// Runs an INSERT and returns the key it generated.
    pub(crate) async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        statement!(self, Kind::Caller(sql), |raw| raw
            .insert_returning_id(sql, params))
    }

    /// Starts a streamed query: the session is busy from here until [`Session::end_stream`].
    /// The rows come from [`Session::open_rows`]; the caller loops over them itself, so that
    /// a row passes through one stream (the caller's), not one per layer.
    pub(crate) async fn start_stream(&mut self, sql: &str) -> Result<InFlight> {
        self.settle().await?;
        self.start(Kind::Caller(sql))
    }

    /// Runs a query started with [`Session::start_stream`], for its rows to be read one by one.
    pub(crate) async fn open_rows<'c>(
        &'c mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<AnyRows<'c>> {
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

/// Warns, once per SQL text, that a statement which changes its session ran on a session that
/// is closed when the call or transaction ends, so the change does not last.
#[cold]
fn warn_once_for(sql: &str) {
    use std::collections::HashSet;
    use std::hash::BuildHasher;
    use std::sync::{Mutex, OnceLock};
    /// Texts warned about; past this many, no more warnings rather than a growing set.
    const REMEMBERED: usize = 1024;
    static WARNED: OnceLock<Mutex<HashSet<u64>>> = OnceLock::new();
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let key = KEYS.get_or_init(Default::default).hash_one(sql);
    let first = WARNED
        .get_or_init(Default::default)
        .lock()
        .is_ok_and(|mut warned| warned.len() < REMEMBERED && warned.insert(key));
    if first {
        tracing::warn!(
            sql,
            "this statement changes its session, which is closed when this call or transaction \
             ends, so the change does not last: set session state in `after_connect` (every \
             session) or run it on a `Connection` (one session, kept until dropped)"
        );
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

#[cfg(test)]
mod tests {
    //! The session's rules on the fake adapter, with no server: what a real-server test cannot
    //! pin down to the statement (which control statements were sent, and when a cancel was).

    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::backend::fake::{FakeConnector, Log};
    use crate::backend::Adapter;
    use crate::error::CallPhase;
    use crate::policy::{with_deadline, PhaseCell};

    async fn session() -> (Session, Arc<Log>) {
        let connector = FakeConnector::default();
        let log = Arc::clone(&connector.log);
        let slot = Arc::new(tokio::sync::Semaphore::new(1))
            .acquire_owned()
            .await
            .unwrap();
        let raw = crate::backend::fake::FakeConn::connect(&connector, slot)
            .await
            .unwrap();
        (
            Session::new(
                AnyConn::Fake(raw),
                Arc::new(Peer {
                    address: "fake".into(),
                    port: None,
                }),
                Duration::from_secs(1),
                false,
            ),
            log,
        )
    }

    /// A statement whose future is dropped part-way is cancelled on the server at once, and
    /// the session refuses every later statement and is never reusable.
    #[tokio::test(start_paused = true)]
    async fn a_statement_dropped_part_way_is_cancelled_and_poisons_the_session() {
        let (mut s, log) = session().await;
        let _ = tokio::time::timeout(Duration::from_millis(5), s.execute("SELECT hang", &[])).await;
        tokio::task::yield_now().await;
        assert_eq!(log.cancels(), 1);
        assert!(!s.is_reusable());
        assert!(matches!(
            s.execute("SELECT 1", &[]).await,
            Err(Error::Aborted)
        ));
        assert_eq!(log.statements(), ["SELECT hang"]);
    }

    /// A deadline over a statement that never answers names the execute phase and cancels it.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_names_its_phase_and_cancels_the_statement() {
        let (mut s, log) = session().await;
        let phase = PhaseCell::default();
        let err = with_deadline(Some(Duration::from_millis(10)), &phase, async {
            phase.set(CallPhase::Execute);
            s.execute("SELECT hang", &[]).await
        })
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::QueryTimeout {
                    phase: CallPhase::Execute,
                    ..
                }
            ),
            "{err:?}"
        );
        tokio::task::yield_now().await;
        assert_eq!(log.cancels(), 1);
    }

    /// Inside a transaction the first failure fails fast everything after it, and the commit
    /// sends ROLLBACK, never COMMIT; the session is then reusable.
    #[tokio::test(start_paused = true)]
    async fn a_failed_transaction_never_sends_commit() {
        let (mut s, log) = session().await;
        assert_eq!(s.begin(&TxOptions::default()).await.unwrap(), 1);
        assert!(s.execute("INSERT fail", &[]).await.is_err());
        assert!(matches!(
            s.execute("INSERT 3", &[]).await,
            Err(Error::TransactionAborted(_))
        ));
        assert!(matches!(
            s.commit(1).await,
            Err(Error::TransactionAborted(_))
        ));
        assert_eq!(log.statements(), ["BEGIN", "INSERT fail", "ROLLBACK"]);
        assert!(s.is_reusable());
    }

    /// A savepoint dropped after a failure is rolled back before the parent's next statement,
    /// which then runs; the outer transaction commits.
    #[tokio::test(start_paused = true)]
    async fn an_abandoned_savepoint_is_rolled_back_before_the_next_statement() {
        let (mut s, log) = session().await;
        s.begin(&TxOptions::default()).await.unwrap();
        assert_eq!(s.begin(&TxOptions::default()).await.unwrap(), 2);
        assert!(s.execute("INSERT fail", &[]).await.is_err());
        s.abandon(2);
        s.execute("INSERT 4", &[]).await.unwrap();
        s.commit(1).await.unwrap();
        assert_eq!(
            log.statements(),
            [
                "BEGIN",
                "SAVEPOINT 2",
                "INSERT fail",
                "ROLLBACK TO 2",
                "INSERT 4",
                "COMMIT"
            ]
        );
    }

    /// Describing a statement that would change the session does not run it: the session
    /// stays reusable.
    #[tokio::test(start_paused = true)]
    async fn describing_a_session_change_leaves_the_session_reusable() {
        let (mut s, log) = session().await;
        let d = s.describe("SET search_path = x").await.unwrap();
        assert_eq!(d.columns[0].name, "n");
        assert!(s.is_reusable());
        assert_eq!(log.statements(), ["SET search_path = x"]);
    }

    /// A lost connection breaks the session: it is not reusable and not even rolled back.
    #[tokio::test(start_paused = true)]
    async fn a_lost_connection_is_never_reused() {
        let (mut s, _log) = session().await;
        s.begin(&TxOptions::default()).await.unwrap();
        assert!(matches!(
            s.execute("SELECT lost", &[]).await,
            Err(Error::ConnectionLost(_))
        ));
        assert!(!s.is_reusable());
        assert!(!s.needs_rollback_only());
    }
}
