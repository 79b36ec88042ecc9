//! The pool: one deadpool-managed pool for both backends, with weir's own manager.
//!
//! Checkout and return cost no round trip in the common case: a connection is pinged only
//! after it sat idle longer than `idle_check_after`, and a returned connection is reset only when
//! it is not known idle (see the `conn` module).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use deadpool::managed::{
    self, Metrics, PoolError, RecycleError, RecycleResult, TimeoutType, Timeouts,
};

use crate::backend::{Canceller, Connector};
use crate::config::{AfterConnect, CheckoutOrder, DatabaseConfig};
use crate::conn::{Conn, Connection, Lease};
use crate::engine::Backend;
use crate::error::{CallPhase, Error, Result};
use crate::executor::CallScope;
use crate::hook::SessionRef;
use crate::limit::{with_deadline, LaneState, Limits};
use crate::stats::Stats;
use crate::tx::{Transaction, TxConn, TxOptions};

/// Creates and checks connections for deadpool.
pub(crate) struct Manager {
    connector: Connector,
    after_connect: Option<AfterConnect>,
    connect_timeout: Duration,
    cleanup_timeout: Duration,
    idle_check_after: Duration,
    max_lifetime: Option<Duration>,
    target: String,
    /// Connects under way: an acquire that times out while one runs is an outage, not saturation.
    connecting: AtomicUsize,
    last_connect_error: Mutex<Option<String>>,
    /// Cancel handles of every open connection, for `close` to stop what outlives its grace.
    live: Mutex<Vec<Weak<Canceller>>>,
    /// `max_size` permits, one per server session, held until the session is really closed.
    slots: Arc<tokio::sync::Semaphore>,
}

impl Manager {
    fn record_failure(&self, e: &Error) {
        if let Ok(mut last) = self.last_connect_error.lock() {
            *last = Some(e.to_string());
        }
    }

    fn last_connect_error(&self) -> Option<String> {
        self.last_connect_error.lock().ok().and_then(|l| l.clone())
    }

    fn live_cancellers(&self) -> Vec<Arc<Canceller>> {
        self.live
            .lock()
            .map(|l| l.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    }
}

struct ConnectingGuard<'a>(&'a AtomicUsize);

impl Drop for ConnectingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl managed::Manager for Manager {
    // Boxed so that deadpool's futures and slots move a pointer, not the whole session
    // (callgrind: an inline `Conn` made every checkout future several KB, copied per poll).
    type Type = Box<Conn>;
    type Error = Error;

    async fn create(&self) -> Result<Box<Conn>> {
        // Boxed: deadpool's checkout future holds this one inline, and a driver's connect
        // future is kilobytes, which every checkout would otherwise carry and copy.
        Box::pin(self.open()).await
    }

    async fn recycle(&self, conn: &mut Box<Conn>, metrics: &Metrics) -> RecycleResult<Error> {
        if !conn.is_reusable() || conn.raw.is_closed() {
            return Err(RecycleError::message("connection is closed or not idle"));
        }
        if self.max_lifetime.is_some_and(|max| metrics.age() >= max) {
            return Err(RecycleError::message("connection reached its max lifetime"));
        }
        if conn.idle_since.elapsed() >= self.idle_check_after {
            // Boxed for the reason `create` is; this path is rare.
            Box::pin(self.idle_check(conn)).await?;
        }
        Ok(())
    }
}

impl Manager {
    async fn open(&self) -> Result<Box<Conn>> {
        // Waits while discarded sessions are still closing: never more sessions than max_size.
        let slot = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| Error::PoolClosed)?;
        self.connecting.fetch_add(1, Ordering::Relaxed);
        let _connecting = ConnectingGuard(&self.connecting);
        let raw =
            match tokio::time::timeout(self.connect_timeout, self.connector.connect(slot)).await {
                Ok(Ok(raw)) => raw,
                Ok(Err(e)) => {
                    self.record_failure(&e);
                    return Err(e);
                }
                Err(_) => {
                    let e = Error::Unreachable {
                        target: self.target.clone(),
                        waited: self.connect_timeout,
                        last_error: Some(format!(
                            "connect timed out after {:?}",
                            self.connect_timeout
                        )),
                    };
                    self.record_failure(&e);
                    return Err(e);
                }
            };
        // From here on, however this future ends (a failing hook, the caller giving up), the
        // session is closed before its slot frees up: the connection's drop sees to it.
        let mut conn = Box::new(Conn::new(raw, self.cleanup_timeout));
        if let Some(hook) = &self.after_connect {
            let mut session = SessionRef { conn: &mut conn };
            hook(&mut session).await?;
            conn.accept_session_state();
            if !conn.is_reusable() {
                // A hook that opened a transaction would hand every borrower its locks.
                return Err(Error::Config(
                    "after_connect left the session inside a transaction".into(),
                ));
            }
        }
        if let Ok(mut last) = self.last_connect_error.lock() {
            *last = None;
        }
        if let Ok(mut live) = self.live.lock() {
            live.retain(|c| c.strong_count() > 0);
            live.push(Arc::downgrade(&conn.canceller));
        }
        Ok(conn)
    }

    /// Pings a connection that sat idle long enough to have been dropped by a firewall or
    /// the server, bounded here rather than by a deadpool recycle timeout, which would cost a
    /// timer on every checkout.
    async fn idle_check(&self, conn: &mut Conn) -> RecycleResult<Error> {
        match tokio::time::timeout(self.cleanup_timeout, conn.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::warn!("discarding a connection that failed its idle check: {e}");
                Err(RecycleError::Backend(e))
            }
            Err(_) => {
                tracing::warn!("discarding a connection whose idle check got no answer");
                Err(RecycleError::message("idle check timed out"))
            }
        }
    }
}

pub(crate) type Pool = managed::Pool<Manager>;

/// A boxed future, as [`Database::transaction_with_retry`] closures return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A snapshot of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Maximum number of connections.
    pub max_size: usize,
    /// Connections open now.
    pub size: usize,
    /// Open connections waiting in the pool.
    pub idle: usize,
    /// Connections checked out.
    pub in_use: usize,
    /// Calls waiting for a connection.
    pub waiting: usize,
}

struct Shared {
    pool: Pool,
    config: DatabaseConfig,
    limits: Limits,
    closed: AtomicBool,
    maintenance: Option<tokio::task::AbortHandle>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(task) = &self.maintenance {
            task.abort();
        }
    }
}

/// A pool of connections to one database. Cheap to clone; clones share the pool.
///
/// Runs statements through [`Executor`](crate::Executor); each call borrows a connection only
/// for its own duration.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.shared.config.backend)
            .field("target", &self.shared.config.target())
            .field("status", &self.status())
            .finish()
    }
}

impl Database {
    /// Connects to the database at `url` (`postgres://`, `postgresql://`, `mysql://` or
    /// `mariadb://`) and opens one connection to prove the settings work.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad URL; [`Error::Connect`] or [`Error::Unreachable`] when the
    /// first connection fails (wrong password, unknown database, server down).
    pub async fn connect(url: &str) -> Result<Database> {
        Database::connect_with(DatabaseConfig::from_url(url)?).await
    }

    /// Connects with settings built in code; see [`DatabaseConfig`].
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub async fn connect_with(config: DatabaseConfig) -> Result<Database> {
        let db = Database::connect_lazy_with(config)?;
        // Proves the settings, and warms the pool up to min_idle.
        drop(db.lease().await?);
        db.fill_min_idle().await;
        Ok(db)
    }

    /// Builds the pool without opening a connection; the first call opens one.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings.
    pub fn connect_lazy_with(config: DatabaseConfig) -> Result<Database> {
        config.validate()?;
        let manager = Manager {
            connector: Connector::new(&config)?,
            after_connect: config.after_connect.clone(),
            connect_timeout: config.connect_timeout,
            cleanup_timeout: config.cleanup_timeout,
            idle_check_after: config.idle_check_after,
            max_lifetime: config.max_lifetime,
            target: config.target(),
            connecting: AtomicUsize::new(0),
            last_connect_error: Mutex::new(None),
            live: Mutex::new(Vec::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_size)),
        };
        let pool = Pool::builder(manager)
            .max_size(config.max_size)
            .queue_mode(match config.checkout_order {
                CheckoutOrder::Lifo => deadpool::managed::QueueMode::Lifo,
                CheckoutOrder::Fifo => deadpool::managed::QueueMode::Fifo,
            })
            // `lease` bounds a wait with acquire_timeout (and arms no timer when a connection
            // is idle), the manager bounds each connect with connect_timeout and each idle
            // check with cleanup_timeout, so deadpool needs no timers of its own (each one
            // showed in W1 and W3 profiles).
            .timeouts(Timeouts {
                wait: None,
                create: None,
                recycle: None,
            })
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Config(format!("pool: {e}")))?;
        let limits = Limits::new(config.max_in_flight, config.default_lane, &config.lanes);
        let mut shared = Arc::new(Shared {
            pool,
            limits,
            config,
            closed: AtomicBool::new(false),
            maintenance: None,
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let task = runtime.spawn(maintain(Arc::downgrade(&shared)));
            if let Some(s) = Arc::get_mut(&mut shared) {
                s.maintenance = Some(task.abort_handle());
            }
        }
        Ok(Database { shared })
    }

    /// Which backend this pool talks to.
    pub fn backend(&self) -> Backend {
        self.shared.config.backend
    }

    /// The settings this pool was built with.
    pub fn config(&self) -> &DatabaseConfig {
        &self.shared.config
    }

    /// Counts of open, idle and checked-out connections and of waiting calls.
    pub fn status(&self) -> PoolStatus {
        let s = self.shared.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            idle: s.available,
            in_use: s.size - s.available,
            waiting: s.waiting,
        }
    }

    /// Checks out a connection for several statements on one session.
    ///
    /// # Errors
    /// [`Error::PoolTimeout`] when the pool stays saturated, [`Error::Unreachable`] or
    /// [`Error::Connect`] when no connection can be opened, [`Error::PoolClosed`].
    pub async fn acquire(&self) -> Result<Connection> {
        let (lease, lane, timeout) = self.lease_default_lane().await?;
        Ok(Connection::new(lease, self.backend(), lane, timeout))
    }

    /// A lease holding a default-lane permit, for a connection or transaction of its own.
    async fn lease_default_lane(&self) -> Result<(Lease, Arc<LaneState>, Option<Duration>)> {
        let lane = Arc::clone(self.limits().lane(None)?);
        let timeout = self.config().statement_timeout;
        let scope = CallScope::new(&lane, timeout);
        let lease = with_deadline(timeout, &scope.phase, self.lease_for(&scope)).await?;
        Ok((lease, lane, timeout))
    }

    /// Starts a transaction on a connection of its own.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire), or the server's error for `BEGIN`.
    pub async fn begin(&self) -> Result<Transaction<'static>> {
        self.begin_with(TxOptions::default()).await
    }

    /// Starts a transaction with an isolation level or read-only mode.
    ///
    /// # Errors
    /// As [`begin`](Self::begin).
    pub async fn begin_with(&self, options: TxOptions) -> Result<Transaction<'static>> {
        let (lease, lane, timeout) = self.lease_default_lane().await?;
        Transaction::begin_on(
            TxConn::Owned(Box::new(tokio::sync::Mutex::new(lease))),
            options,
            self.backend(),
            lane,
            timeout,
        )
        .await
    }

    /// Runs `work` in a transaction and commits it; when the server aborts the transaction for
    /// a serialization failure, a deadlock or a lock wait timeout, rolls back and runs `work`
    /// again, with the configured [`RetryPolicy`](crate::RetryPolicy)'s backoff.
    ///
    /// `work` may therefore run more than once: keep side effects outside the database out of
    /// it. A failure while `COMMIT` is in flight is [`Error::CommitOutcomeUnknown`] and is not
    /// retried.
    ///
    /// ```no_run
    /// # async fn f(db: &weir::Database) -> weir::Result<()> {
    /// use weir::Executor;
    /// db.transaction_with_retry(|tx| Box::pin(async move {
    ///     tx.execute("UPDATE accounts SET balance = balance - $1 WHERE id = $2", (10, 1)).await?;
    ///     tx.execute("UPDATE accounts SET balance = balance + $1 WHERE id = $2", (10, 2)).await?;
    ///     Ok(())
    /// })).await
    /// # }
    /// ```
    ///
    /// # Errors
    /// The last attempt's error once the policy gives up, or the first error that is not a
    /// retryable transaction conflict.
    pub async fn transaction_with_retry<T, F>(&self, work: F) -> Result<T>
    where
        T: Send,
        F: for<'t> FnMut(&'t Transaction<'static>) -> BoxFuture<'t, Result<T>> + Send,
    {
        self.transaction_with_retry_options(TxOptions::default(), work)
            .await
    }

    /// [`transaction_with_retry`](Self::transaction_with_retry) with an isolation level or
    /// read-only mode, e.g. `SERIALIZABLE`, where conflicts are expected and retried.
    ///
    /// # Errors
    /// As [`transaction_with_retry`](Self::transaction_with_retry).
    pub async fn transaction_with_retry_options<T, F>(
        &self,
        options: TxOptions,
        mut work: F,
    ) -> Result<T>
    where
        T: Send,
        F: for<'t> FnMut(&'t Transaction<'static>) -> BoxFuture<'t, Result<T>> + Send,
    {
        let policy = self.config().retry;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = self.begin_with(options).await?;
            let outcome = match work(&tx).await {
                Ok(value) => tx.commit().await.map(|()| value),
                Err(e) => {
                    // Release the locks now, before any retry competes for them again.
                    let _ = tx.rollback().await;
                    Err(e)
                }
            };
            match outcome {
                Err(e) if e.is_retryable_transaction_error() => {
                    let Some(pause) = policy.backoff(attempt, started) else {
                        return Err(e);
                    };
                    if let Ok(lane) = self.limits().lane(None) {
                        lane.stats.record_retry(&lane.name);
                    }
                    tracing::debug!(attempt, "transaction conflict, retrying: {e}");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    /// Listens on PostgreSQL notification channels, on a connection of its own outside the
    /// pool (it does not count against `pool_max_size`).
    ///
    /// # Errors
    /// [`Error::Config`] on MySQL/MariaDB, which have no `LISTEN`; connect errors otherwise.
    pub async fn listen(&self, channels: &[&str]) -> Result<crate::listen::Listener> {
        match &self.shared.pool.manager().connector {
            #[cfg(feature = "postgres")]
            Connector::Pg(c) => {
                let (sink, receiver) = tokio::sync::mpsc::unbounded_channel();
                let client = c.listen(channels, sink).await?;
                Ok(crate::listen::Listener {
                    receiver,
                    _client: client,
                })
            }
            #[allow(unreachable_patterns)]
            _ => {
                let _ = channels;
                Err(Error::Config(format!(
                    "LISTEN/NOTIFY is PostgreSQL-only; this pool talks to {}",
                    self.backend()
                )))
            }
        }
    }

    /// Outcome counts and latency per lane, and what each lane has in flight and waiting.
    pub fn stats(&self) -> Stats {
        Stats {
            lanes: self
                .limits()
                .all()
                .map(|l| l.stats.snapshot(&l.name, l.in_flight(), l.waiting()))
                .collect(),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Takes the scope's lane permit, then a connection, retrying refused connects.
    pub(crate) async fn lease_for(&self, scope: &CallScope<'_>) -> Result<Lease> {
        if self.is_closed() {
            return Err(Error::PoolClosed);
        }
        scope.phase.set(CallPhase::Queue);
        let permits = self.limits().admit(scope.lane).await?;
        scope.phase.set(CallPhase::Acquire);
        let policy = self.config().retry;
        // Read the clock only once a connect failed: the hot path never needs it.
        let mut started = None;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.lease().await {
                Ok(lease) => return Ok(lease.with_permits(permits)),
                // Nothing was sent: a refused connect is safe to try again.
                Err(
                    e @ Error::Connect {
                        kind: crate::ConnectErrorKind::Network,
                        ..
                    },
                ) => match policy.backoff(attempt, *started.get_or_insert_with(Instant::now)) {
                    Some(pause) => {
                        scope.lane.stats.record_retry(&scope.lane.name);
                        tokio::time::sleep(pause).await;
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// Stops new work at once ([`Error::PoolClosed`]), waits up to `grace` for checked-out
    /// connections to come back, then closes every connection and waits (up to the cleanup
    /// timeout) until the server has let their sessions go.
    pub async fn close(&self, grace: Duration) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.limits().close();
        // Callers waiting for a connection or a session slot get PoolClosed now, idle
        // connections close now, and checked-out ones close as they come back.
        self.shared.pool.close();
        self.shared.pool.manager().slots.close();
        let started = Instant::now();
        while self.status().in_use > 0 && started.elapsed() < grace {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.status().in_use > 0 {
            // Past the grace period: stop what still runs, on the server.
            let cancels = self.shared.pool.manager().live_cancellers();
            tracing::warn!(
                in_use = self.status().in_use,
                "close: grace period over, cancelling statements still running"
            );
            let timeout = self.config().cleanup_timeout;
            futures_util::future::join_all(cancels.iter().map(|c| async move {
                let _ = tokio::time::timeout(timeout, c.cancel()).await;
            }))
            .await;
        }
        // Sessions close in the background and give their slots back once the server let
        // them go: wait for that too, so that a closed pool has left nothing on the server.
        let manager = self.shared.pool.manager();
        let all = self.shared.config.max_size;
        let started = Instant::now();
        while manager.slots.available_permits() < all
            && started.elapsed() < self.config().cleanup_timeout
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        manager.connector.quiet().await;
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    pub(crate) async fn lease(&self) -> Result<Lease> {
        if self.is_closed() {
            return Err(Error::PoolClosed);
        }
        let cfg = &self.shared.config;
        let waited = cfg.acquire_timeout;
        // Usually a connection is idle: take it without arming a timer (registering and
        // removing one cost every call a few hundred instructions and a lock). A connect it
        // has to make instead is bounded as the wait below would bound it.
        let at_once = Timeouts {
            wait: Some(Duration::ZERO),
            create: Some(waited),
            recycle: None,
        };
        // A checkout that finds a free connection completes without waiting; taking a unit of
        // the task's budget here, as tokio's own semaphores do, makes a task that takes and
        // returns connections in a loop yield now and then instead of starving its thread.
        tokio::task::coop::consume_budget().await;
        match self.shared.pool.timeout_get(&at_once).await {
            Ok(obj) => return self.unless_closed(obj),
            Err(PoolError::Timeout(TimeoutType::Wait)) => {} // all busy: wait, bounded, below
            Err(PoolError::Timeout(TimeoutType::Create)) => return Err(self.timeout_error()),
            Err(e) => return Err(self.pool_error(e)),
        }
        // This bounds every phase at once: waiting for a slot, connecting, the idle check.
        match tokio::time::timeout(waited, self.shared.pool.get()).await {
            Ok(Ok(obj)) => self.unless_closed(obj),
            Ok(Err(e)) => Err(self.pool_error(e)),
            Err(_) => Err(self.timeout_error()),
        }
    }

    /// The lease of `obj`, unless the pool closed while it was being opened: a connection
    /// that took its time to open must not run a caller's statement after `close`.
    fn unless_closed(&self, obj: managed::Object<Manager>) -> Result<Lease> {
        let lease = Lease::new(obj);
        if self.is_closed() {
            return Err(Error::PoolClosed);
        }
        Ok(lease)
    }

    fn timeout_error(&self) -> Error {
        let manager = self.shared.pool.manager();
        let status = self.status();
        // A free pool slot with no session behind it means connects fail or hang, unless the
        // slot waits for a discarded session to close: that is saturation.
        let closing = manager.slots.available_permits() == 0;
        if manager.connecting.load(Ordering::Relaxed) > 0
            || (status.size < status.max_size && !closing)
        {
            Error::Unreachable {
                target: manager.target.clone(),
                waited: self.shared.config.acquire_timeout,
                last_error: manager.last_connect_error(),
            }
        } else {
            Error::PoolTimeout {
                waited: self.shared.config.acquire_timeout,
                in_use: status.in_use,
                max_size: status.max_size,
            }
        }
    }

    fn pool_error(&self, e: PoolError<Error>) -> Error {
        match e {
            PoolError::Backend(e) => e,
            PoolError::Closed => Error::PoolClosed,
            PoolError::Timeout(TimeoutType::Create) => Error::Unreachable {
                target: self.shared.pool.manager().target.clone(),
                waited: self.shared.config.connect_timeout,
                last_error: self.shared.pool.manager().last_connect_error(),
            },
            PoolError::Timeout(_) => self.timeout_error(),
            PoolError::NoRuntimeSpecified => Error::Config("weir needs a Tokio runtime".into()),
            PoolError::PostCreateHook(e) => Error::Driver(e.to_string()),
        }
    }

    /// Opens connections until `min_idle` are open, without waiting for busy ones.
    async fn fill_min_idle(&self) {
        let want = self.shared.config.min_idle;
        if self.status().size >= want {
            return;
        }
        let now = Timeouts {
            wait: Some(Duration::ZERO),
            ..self.shared.pool.timeouts()
        };
        let pool = &self.shared.pool;
        // Holding `want` at once forces new connections where idle ones run out.
        let held: Vec<_> =
            futures_util::future::join_all((0..want).map(|_| pool.timeout_get(&now))).await;
        for r in held {
            if let Err(e) = r {
                tracing::debug!("could not warm the pool up to min_idle: {e}");
            }
        }
    }
}

/// Closes idle connections past their idle timeout or lifetime, and keeps `min_idle` open.
async fn maintain(shared: Weak<Shared>) {
    let period = {
        let Some(s) = shared.upgrade() else { return };
        let c = &s.config;
        [
            c.idle_timeout,
            c.max_lifetime,
            Some(Duration::from_secs(30)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(Duration::from_secs(30))
        .max(Duration::from_millis(100))
            / 2
    };
    loop {
        tokio::time::sleep(period).await;
        let Some(s) = shared.upgrade() else { return };
        if s.closed.load(Ordering::Relaxed) {
            return;
        }
        let c = &s.config;
        let mut keep = s.pool.status().size;
        let removed = s.pool.retain(|conn, metrics| {
            let idle_too_long = c
                .idle_timeout
                .is_some_and(|t| conn.idle_since.elapsed() >= t);
            let too_old = c.max_lifetime.is_some_and(|t| metrics.age() >= t);
            if (idle_too_long && keep > c.min_idle) || too_old {
                keep -= 1;
                false
            } else {
                true
            }
        });
        drop(removed);
        Database { shared: s }.fill_min_idle().await;
    }
}
