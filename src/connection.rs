//! [`Connection`]: one session checked out of the pool for a sequence of statements.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

use crate::config::TxOptions;
use crate::engine::Backend;
use crate::error::{CallPhase, Result};
use crate::executor::sealed::Plumbing;
use crate::executor::{Executor, Overrides};
use crate::policy::{CallScope, Held, LaneState};
use crate::pool::Lease;
use crate::transaction::{Transaction, TxConn};

/// A connection checked out of the pool for a sequence of statements on one session
/// (session settings, temporary tables, locks). Returned to the pool on drop.
pub struct Connection {
    lease: Mutex<Lease>,
    backend: Backend,
    lane: Arc<LaneState>,
    timeout: Option<Duration>,
    /// The leak watch: a WARN if held too long, an INFO when dropped after that.
    _held: Held,
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
        held: Held,
    ) -> Self {
        Connection {
            lease: Mutex::new(lease),
            backend,
            lane,
            timeout,
            _held: held,
        }
    }

    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks the session with one round trip.
    ///
    /// # Errors
    /// [`Error::ConnectionLost`](crate::Error::ConnectionLost) when the server is gone.
    pub async fn ping(&self) -> Result<()> {
        self.lease.lock().await.session()?.ping().await
    }

    /// Starts a transaction on this connection.
    ///
    /// # Errors
    /// The server's error if `BEGIN` fails.
    #[track_caller]
    pub fn begin(&mut self) -> impl Future<Output = Result<Transaction<'_>>> + Send + '_ {
        self.begin_with(TxOptions::default())
    }

    /// Starts a transaction with an isolation level or read-only mode.
    ///
    /// # Errors
    /// The server's error if `BEGIN` fails.
    #[track_caller]
    pub fn begin_with(
        &mut self,
        options: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'_>>> + Send + '_ {
        Transaction::begin_on(
            TxConn::Borrowed(&self.lease),
            options,
            self.backend,
            Arc::clone(&self.lane),
            self.timeout,
            Location::caller(),
        )
    }
}

impl Plumbing for Connection {
    type Guard<'a> = MutexGuard<'a, Lease>;

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
        Ok(self.lease.lock().await)
    }
}

impl Executor for Connection {
    fn backend(&self) -> Backend {
        Connection::backend(self)
    }
}
