//! [`Database`]: the handle a service keeps, over one pool. Cheap to clone; clones share it.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{DatabaseConfig, TxOptions};
use crate::connection::Connection;
use crate::engine::Backend;
use crate::error::Result;
use crate::executor::sealed::Plumbing;
use crate::executor::{Executor, Overrides};
use crate::listen::Listener;
use crate::policy::{self, CallScope, Held, LaneState, Limits, Watch};
use crate::pool::{Lease, Pool, PoolStatus};
use crate::retry::Retries;
use crate::stats::Stats;
use crate::transaction::{Transaction, TxConn};

/// A boxed future, as [`Database::transaction_with_retry`] closures return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

struct Shared {
    pool: Pool,
    config: DatabaseConfig,
    limits: Limits,
}

/// A pool of connections to one database. Cheap to clone; clones share the pool.
///
/// Runs statements through [`Executor`]; each call borrows a connection only for its own
/// duration. A statement that changes its session (`SET`, a temporary table, `LISTEN`, a
/// session lock) therefore has no lasting effect here, nor in a transaction begun here: the
/// session is closed when the call or transaction ends, rather than handed on changed (a
/// WARN, once per SQL text, says so). Set session state for every session in
/// [`DatabaseConfig::after_connect`], or run such statements on a [`Connection`], which keeps
/// one session until it is dropped.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("server", &self.server_name())
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
    /// [`Error::Config`](crate::Error::Config) for a bad URL; [`Error::Connect`](crate::Error::Connect) or [`Error::Unreachable`](crate::Error::Unreachable) when the
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
        drop(db.shared.pool.checkout().await?);
        // The first session said which server this is: the spans of the first calls name it.
        db.shared
            .limits
            .lane(None)?
            .watch
            .span
            .learn(db.server_name());
        db.shared.pool.fill_min_idle().await;
        Ok(db)
    }

    /// Builds the pool without opening a connection; the first call opens one.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) for invalid settings.
    pub fn connect_lazy_with(config: DatabaseConfig) -> Result<Database> {
        config.validate()?;
        let pool = Pool::new(&config)?;
        let limits = Limits::new(
            config.max_in_flight,
            config.default_lane,
            &config.lanes,
            &Watch::new(&config),
        );
        Ok(Database {
            shared: Arc::new(Shared {
                pool,
                config,
                limits,
            }),
        })
    }

    /// The server's name: `PostgreSQL`, `MariaDB` or `MySQL`, for messages. A MySQL-protocol
    /// server says which it is when the first session opens (`MySQL or MariaDB` before that,
    /// after [`connect_lazy_with`](Self::connect_lazy_with)).
    pub fn server_name(&self) -> &'static str {
        self.shared.pool.server_name()
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
        self.shared.pool.status()
    }

    /// Checks out a connection for several statements on one session. Held past
    /// [`leak_detection_threshold`](DatabaseConfig::with_leak_detection_threshold), it logs a
    /// WARN naming the line that called `acquire`.
    ///
    /// # Errors
    /// [`Error::PoolTimeout`](crate::Error::PoolTimeout) when the pool stays saturated, [`Error::Unreachable`](crate::Error::Unreachable) or
    /// [`Error::Connect`](crate::Error::Connect) when no connection can be opened, [`Error::PoolClosed`](crate::Error::PoolClosed).
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<Connection>> + Send + '_ {
        let taken_at = Location::caller();
        async move {
            let (mut lease, lane, timeout) = self.lease_default_lane().await?;
            // The caller keeps this session, and what its statements set lasts with it.
            lease.session()?.serve_briefly(false);
            let held = Held::start(&lane.watch, "connection", taken_at);
            Ok(Connection::new(lease, self.backend(), lane, timeout, held))
        }
    }

    /// A lease holding a default-lane permit, for a connection or transaction of its own.
    async fn lease_default_lane(&self) -> Result<(Lease, Arc<LaneState>, Option<Duration>)> {
        let lane = Arc::clone(self.shared.limits.lane(None)?);
        let timeout = self.config().statement_timeout;
        let scope = CallScope::new(&lane, timeout);
        let lease = policy::with_deadline(timeout, &scope.phase, self.lease_for(&scope)).await?;
        Ok((lease, lane, timeout))
    }

    /// The scope's lane permit and a session.
    fn lease_for<'s>(
        &'s self,
        scope: &'s CallScope<'_>,
    ) -> impl Future<Output = Result<Lease>> + Send + 's {
        let shared = &self.shared;
        policy::acquire(&shared.pool, &shared.limits, &shared.config.retry, scope)
    }

    /// Starts a transaction on a connection of its own.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire), or the server's error for `BEGIN`.
    #[track_caller]
    pub fn begin(&self) -> impl Future<Output = Result<Transaction<'static>>> + Send + '_ {
        self.begin_with(TxOptions::default())
    }

    /// Starts a transaction with an isolation level or read-only mode.
    ///
    /// # Errors
    /// As [`begin`](Self::begin).
    #[track_caller]
    pub fn begin_with(
        &self,
        options: TxOptions,
    ) -> impl Future<Output = Result<Transaction<'static>>> + Send + '_ {
        let begun_at = Location::caller();
        async move {
            let (lease, lane, timeout) = self.lease_default_lane().await?;
            Transaction::begin_on(
                TxConn::Owned(Box::new(tokio::sync::Mutex::new(lease))),
                options,
                self.backend(),
                lane,
                timeout,
                begun_at,
            )
            .await
        }
    }

    /// Runs `work` in a transaction and commits it; when the server aborts the transaction for
    /// a serialization failure, a deadlock or a lock wait timeout, rolls back and runs `work`
    /// again, with the configured [`RetryPolicy`](crate::RetryPolicy)'s backoff.
    ///
    /// `work` may therefore run more than once: keep side effects outside the database out of
    /// it. A failure while `COMMIT` is in flight is [`Error::CommitOutcomeUnknown`](crate::Error::CommitOutcomeUnknown) and is not
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
        let lane = self.shared.limits.lane(None)?;
        let mut retries = Retries::new(&self.shared.config.retry, Some(Instant::now()));
        loop {
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
                    tracing::debug!("transaction conflict, retrying: {e}");
                    retries.pause(e, || lane.stats.record_retry()).await?;
                }
                done => return done,
            }
        }
    }

    /// Listens on PostgreSQL notification channels, on a connection of its own outside the
    /// pool (it does not count against `pool_max_size`).
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) on MySQL/MariaDB, which have no `LISTEN`; connect errors otherwise.
    pub async fn listen(&self, channels: &[&str]) -> Result<Listener> {
        let (sink, receiver) = tokio::sync::mpsc::unbounded_channel();
        let session = self.shared.pool.listen(channels, sink).await?;
        Ok(Listener::new(receiver, session))
    }

    /// Outcome counts and latency per lane, and what each lane has in flight and waiting.
    pub fn stats(&self) -> Stats {
        Stats {
            lanes: self
                .shared
                .limits
                .all()
                .map(|l| l.stats.snapshot(&l.name, l.in_flight(), l.waiting()))
                .collect(),
        }
    }

    /// Stops new work at once, and every caller waiting for a connection or a lane permit
    /// ([`Error::PoolClosed`](crate::Error::PoolClosed)); waits up to `grace` for checked-out connections to come back;
    /// cancels on the server the statements still running then; and returns once the server
    /// has let every session go (or after the cleanup timeout).
    pub async fn close(&self, grace: Duration) {
        self.shared.pool.refuse_new();
        self.shared.limits.close();
        self.shared.pool.close(grace).await;
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.shared.pool.is_closed()
    }
}

impl Plumbing for Database {
    type Guard<'a> = Lease;

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        let lane = self.shared.limits.lane(o.lane.as_deref())?;
        Ok(CallScope::new(
            lane,
            o.timeout.unwrap_or(self.config().statement_timeout),
        ))
    }

    fn session<'a, 's>(
        &'a self,
        scope: &'s CallScope<'a>,
    ) -> impl Future<Output = Result<Lease>> + Send + 's
    where
        'a: 's,
    {
        self.lease_for(scope)
    }
}

impl Executor for Database {
    fn backend(&self) -> Backend {
        self.config().backend()
    }
}
