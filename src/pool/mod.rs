//! The pool: one deadpool-managed pool of sessions for both backends, with weir's manager.
//!
//! Checkout and return cost no round trip in the common case: a session is pinged only after
//! it sat idle longer than `idle_check_after`, and a returned session is reset only when it is
//! not known idle (see `lease`). A session holds one of `max_size` slots until the server has
//! let it go, so the server never holds more of the pool's sessions than its maximum.

mod hosts;
mod lease;
mod maintain;
mod manager;

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use deadpool::managed::{self, PoolError, TimeoutType, Timeouts};

pub(crate) use lease::{Lease, Permits};
use manager::Manager;

use crate::backend::{ListenSession, Notification};
use crate::config::{CheckoutOrder, DatabaseConfig};
use crate::error::{Error, Result};
use crate::stats::PoolMetrics;

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

/// The settings the pool itself acts on.
#[derive(Debug, Clone, Copy)]
struct Settings {
    max_size: usize,
    min_idle: usize,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    cleanup_timeout: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
}

/// The pool of one [`Database`](crate::Database).
pub(crate) struct Pool {
    inner: managed::Pool<Manager>,
    settings: Settings,
    maintenance: Option<tokio::task::AbortHandle>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(task) = &self.maintenance {
            task.abort();
        }
    }
}

impl Pool {
    /// Builds the pool without opening a session; starts its maintenance on the current
    /// runtime, if there is one.
    pub(crate) fn new(config: &DatabaseConfig) -> Result<Pool> {
        Pool::with_hosts(config, hosts::Hosts::new(config)?)
    }

    /// [`Pool::new`] over given hosts (the unit tests' fake).
    fn with_hosts(config: &DatabaseConfig, hosts: hosts::Hosts) -> Result<Pool> {
        let metrics = PoolMetrics::new(&config.pool_name(), config.max_size);
        let inner = managed::Pool::builder(Manager::new(config, hosts, metrics))
            .max_size(config.max_size)
            .queue_mode(match config.checkout_order {
                CheckoutOrder::Lifo => managed::QueueMode::Lifo,
                CheckoutOrder::Fifo => managed::QueueMode::Fifo,
            })
            // `checkout` bounds a wait with acquire_timeout (and arms no timer when a session is
            // idle), the manager bounds each connect with connect_timeout and each idle check
            // with cleanup_timeout: deadpool needs no timers of its own, each one a cost.
            .timeouts(Timeouts {
                wait: None,
                create: None,
                recycle: None,
            })
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Config(format!("pool: {e}")))?;
        let settings = Settings {
            max_size: config.max_size,
            min_idle: config.min_idle,
            acquire_timeout: config.acquire_timeout,
            connect_timeout: config.connect_timeout,
            cleanup_timeout: config.cleanup_timeout,
            idle_timeout: config.idle_timeout,
            max_lifetime: config.max_lifetime,
        };
        let maintenance = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            runtime
                .spawn(maintain::run(inner.weak(), settings))
                .abort_handle()
        });
        Ok(Pool {
            inner,
            settings,
            maintenance,
        })
    }

    /// Counts of open, idle and checked-out sessions and of waiting calls.
    pub(crate) fn status(&self) -> PoolStatus {
        let s = self.inner.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            idle: s.available,
            in_use: s.size - s.available,
            waiting: s.waiting,
        }
    }

    /// The server's product name (see [`AnyConnector::server_name`]).
    pub(crate) fn server_name(&self) -> &'static str {
        self.inner.manager().hosts.first().server_name()
    }

    /// Whether [`Pool::close`] began.
    pub(crate) fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// A session, waiting at most `acquire_timeout`; opening one counts against that wait.
    pub(crate) async fn checkout(&self) -> Result<Lease> {
        let started = std::time::Instant::now();
        let lease = self.get().await?;
        self.inner.manager().metrics.acquired(started.elapsed());
        Ok(lease)
    }

    async fn get(&self) -> Result<Lease> {
        let waited = self.settings.acquire_timeout;
        // Usually a session is idle: take it without arming a timer (registering and removing
        // one costs every call a lock). A connect it has to make instead is bounded as the
        // wait below would bound it.
        let at_once = Timeouts {
            wait: Some(Duration::ZERO),
            create: Some(waited),
            recycle: None,
        };
        // A checkout that finds a free session completes without waiting; taking a unit of
        // the task's budget here, as tokio's own semaphores do, makes a task that takes and
        // returns sessions in a loop yield now and then instead of starving its thread.
        tokio::task::coop::consume_budget().await;
        match self.inner.timeout_get(&at_once).await {
            Ok(obj) => return self.unless_closed(obj),
            Err(PoolError::Timeout(TimeoutType::Wait)) => {} // all busy: wait, bounded, below
            Err(PoolError::Timeout(TimeoutType::Create)) => return Err(self.timeout_error()),
            Err(e) => return Err(self.pool_error(e)),
        }
        let _waiting = self.inner.manager().metrics.wait();
        // This bounds every phase at once: waiting for a slot, connecting, the idle check.
        match tokio::time::timeout(waited, self.inner.get()).await {
            Ok(Ok(obj)) => self.unless_closed(obj),
            Ok(Err(e)) => Err(self.pool_error(e)),
            Err(_) => Err(self.timeout_error()),
        }
    }

    /// The lease of `obj`, unless the pool closed while it was being opened: a session that
    /// took its time to open must not run a caller's statement after `close`.
    fn unless_closed(&self, obj: managed::Object<Manager>) -> Result<Lease> {
        let lease = Lease::new(obj);
        if self.is_closed() {
            return Err(Error::PoolClosed);
        }
        Ok(lease)
    }

    fn timeout_error(&self) -> Error {
        let manager = self.inner.manager();
        let status = self.status();
        // A free pool slot with no session behind it means connects fail or hang, unless the
        // slot waits for a discarded session to close: that is saturation.
        let closing = manager.slots.available_permits() == 0;
        if manager.connecting.load(Ordering::Relaxed) > 0
            || (status.size < status.max_size && !closing)
        {
            Error::Unreachable {
                target: manager.target.clone(),
                waited: self.settings.acquire_timeout,
                last_error: manager.last_connect_error(),
            }
        } else {
            Error::PoolTimeout {
                waited: self.settings.acquire_timeout,
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
                target: self.inner.manager().target.clone(),
                waited: self.settings.connect_timeout,
                last_error: self.inner.manager().last_connect_error(),
            },
            PoolError::Timeout(_) => self.timeout_error(),
            PoolError::NoRuntimeSpecified => Error::Config("weir needs a Tokio runtime".into()),
            PoolError::PostCreateHook(e) => Error::Driver(e.to_string()),
        }
    }

    /// Opens sessions until `min_idle` are open, without waiting for busy ones.
    pub(crate) async fn fill_min_idle(&self) {
        maintain::fill_min_idle(&self.inner, self.settings.min_idle).await;
    }

    /// Refuses every waiting and later checkout: callers waiting for a session or a session
    /// slot get PoolClosed now, idle sessions close now, checked-out ones as they come back.
    pub(crate) fn refuse_new(&self) {
        self.inner.close();
        self.inner.manager().slots.close();
    }

    /// Refuses every waiting and later checkout at once, closes idle sessions, waits up to
    /// `grace` for checked-out ones to come back, cancels on the server what still runs
    /// then, and waits (up to the cleanup timeout) until the server has let every session go.
    pub(crate) async fn close(&self, grace: Duration) {
        self.refuse_new();
        let manager = self.inner.manager();
        let started = Instant::now();
        while self.status().in_use > 0 && started.elapsed() < grace {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.status().in_use > 0 {
            // Past the grace period: stop what still runs, on the server.
            let cancels = manager.live_cancellers();
            tracing::warn!(
                in_use = self.status().in_use,
                "close: grace period over, cancelling statements still running"
            );
            let timeout = self.settings.cleanup_timeout;
            manager.metrics.cancels().increment(cancels.len() as u64);
            futures_util::future::join_all(cancels.iter().map(|c| async move {
                let _ = tokio::time::timeout(timeout, c.cancel()).await;
            }))
            .await;
        }
        // Sessions close in the background and give their slots back once the server let
        // them go: wait for that too, so that a closed pool has left nothing on the server.
        let started = Instant::now();
        while manager.slots.available_permits() < self.settings.max_size
            && started.elapsed() < self.settings.cleanup_timeout
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        for connector in manager.hosts.connectors() {
            connector.quiet().await;
        }
    }

    /// Opens a session outside the pool (it does not count against `max_size`) that listens
    /// on `channels`.
    pub(crate) async fn listen(
        &self,
        channels: &[&str],
        sink: tokio::sync::mpsc::UnboundedSender<Result<Notification>>,
    ) -> Result<ListenSession> {
        self.inner
            .manager()
            .hosts
            .first()
            .listen(channels, sink)
            .await
    }
}

/// A pool of `max_size` sessions on the fake adapter, and the log of what its server saw.
#[cfg(test)]
pub(crate) fn fake(max_size: usize) -> (Pool, std::sync::Arc<crate::backend::fake::Log>) {
    let connector = crate::backend::fake::FakeConnector::default();
    let log = std::sync::Arc::clone(&connector.log);
    let config = DatabaseConfig::new(crate::engine::Backend::Postgres).with_max_size(max_size);
    let hosts = hosts::Hosts::single(&config, crate::backend::AnyConnector::Fake(connector));
    match Pool::with_hosts(&config, hosts) {
        Ok(pool) => (pool, log),
        Err(e) => panic!("a fake pool: {e}"),
    }
}

#[cfg(test)]
mod tests {
    //! The return rules and `close` on the fake adapter, with paused time: which sessions go
    //! back, which are rolled back first, which are closed, and what `close` cancels.

    use std::sync::Arc;

    use super::*;
    use crate::backend::fake::Log;
    use crate::config::TxOptions;

    fn pool(max_size: usize) -> (Pool, Arc<Log>) {
        fake(max_size)
    }

    /// An idle session goes back as it is, with no round trip; the next checkout gets it.
    #[tokio::test(start_paused = true)]
    async fn an_idle_session_goes_back_as_it_is() {
        let (pool, log) = pool(2);
        let mut lease = pool.checkout().await.unwrap();
        lease
            .session()
            .unwrap()
            .execute("SELECT 1", &[])
            .await
            .unwrap();
        drop(lease);
        assert_eq!((pool.status().size, pool.status().idle), (1, 1));
        drop(pool.checkout().await.unwrap());
        assert_eq!(log.statements(), ["SELECT 1"]);
    }

    /// A session given back inside a transaction is rolled back before anyone reuses it.
    #[tokio::test(start_paused = true)]
    async fn a_session_inside_a_transaction_is_rolled_back_first() {
        let (pool, log) = pool(1);
        let mut lease = pool.checkout().await.unwrap();
        let session = lease.session().unwrap();
        session.begin(&TxOptions::default()).await.unwrap();
        session.execute("INSERT 1", &[]).await.unwrap();
        drop(lease);
        let mut again = pool.checkout().await.unwrap();
        assert!(again.session().unwrap().is_reusable());
        assert_eq!(log.statements(), ["BEGIN", "INSERT 1", "ROLLBACK"]);
        assert_eq!(pool.status().size, 1);
    }

    /// A session given back mid-statement is closed, never reused: its statement was
    /// cancelled when the caller let go, and a new session replaces it.
    #[tokio::test(start_paused = true)]
    async fn a_session_given_back_mid_statement_is_closed() {
        let (pool, log) = pool(1);
        let mut lease = pool.checkout().await.unwrap();
        let _ = tokio::time::timeout(
            Duration::from_millis(5),
            lease.session().unwrap().execute("SELECT hang", &[]),
        )
        .await;
        drop(lease);
        tokio::task::yield_now().await;
        assert_eq!(log.cancels(), 1);
        assert_eq!(pool.status().size, 0);
        let mut fresh = pool.checkout().await.unwrap();
        fresh
            .session()
            .unwrap()
            .execute("SELECT 2", &[])
            .await
            .unwrap();
        assert_eq!(log.statements(), ["SELECT hang", "SELECT 2"]);
    }

    /// `close` refuses a caller already waiting at once, and cancels what still runs once its
    /// grace is over.
    #[tokio::test(start_paused = true)]
    async fn close_refuses_waiters_and_cancels_after_the_grace() {
        let (pool, log) = pool(1);
        let pool = Arc::new(pool);
        let mut held = pool.checkout().await.unwrap();
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.checkout().await.map(drop) })
        };
        tokio::task::yield_now().await;
        let closing = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.close(Duration::from_millis(100)).await })
        };
        let refused = waiter.await.unwrap();
        assert!(matches!(refused, Err(Error::PoolClosed)), "{refused:?}");
        assert_eq!(log.cancels(), 0, "cancelled before the grace was over");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(log.cancels(), 1);
        held.session().unwrap().execute("late", &[]).await.unwrap();
        drop(held);
        closing.await.unwrap();
        assert!(matches!(pool.checkout().await, Err(Error::PoolClosed)));
    }
}
