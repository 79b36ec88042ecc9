//! weir's deadpool manager: opens sessions (within `connect_timeout`, each holding a session
//! slot until the server has let it go), runs the `after_connect` hook, and checks a session
//! before reuse without a round trip unless it rested longer than `idle_check_after`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};

use super::hosts::Hosts;
use crate::backend::AnyCanceller;
use crate::config::{AfterConnect, DatabaseConfig};
use crate::error::{Error, Result};
use crate::session::Session;
use crate::stats::{CloseReason, PoolMetrics};

/// Creates and checks connections for deadpool.
pub(crate) struct Manager {
    /// Where sessions are opened.
    pub(super) hosts: Hosts,
    after_connect: Option<AfterConnect>,
    connect_timeout: Duration,
    cleanup_timeout: Duration,
    /// Sessions that hit a read-only server are closed on return (see `Session`).
    writes_only: bool,
    idle_check_after: Duration,
    max_lifetime: Option<Duration>,
    pub(super) target: String,
    /// Connects under way: an acquire that times out while one runs is an outage, not saturation.
    pub(super) connecting: AtomicUsize,
    last_connect_error: Mutex<Option<String>>,
    /// Cancel handles of every open connection, for `close` to stop what outlives its grace.
    live: Mutex<Vec<Weak<AnyCanceller>>>,
    /// `max_size` permits, one per server session, held until the session is really closed.
    pub(super) slots: Arc<tokio::sync::Semaphore>,
    pub(super) metrics: Arc<PoolMetrics>,
}

impl Manager {
    pub(super) fn new(config: &DatabaseConfig, hosts: Hosts, metrics: Arc<PoolMetrics>) -> Manager {
        Manager {
            hosts,
            after_connect: config.after_connect.clone(),
            connect_timeout: config.connect_timeout,
            cleanup_timeout: config.cleanup_timeout,
            writes_only: config.target_session_attrs().wants_writes(),
            idle_check_after: config.idle_check_after,
            max_lifetime: config.max_lifetime,
            target: config.target(),
            connecting: AtomicUsize::new(0),
            last_connect_error: Mutex::new(None),
            live: Mutex::new(Vec::new()),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_size)),
            metrics,
        }
    }

    fn record_failure(&self, e: &Error) {
        if let Ok(mut last) = self.last_connect_error.lock() {
            *last = Some(e.to_string());
        }
    }

    pub(super) fn last_connect_error(&self) -> Option<String> {
        self.last_connect_error.lock().ok().and_then(|l| l.clone())
    }

    pub(super) fn live_cancellers(&self) -> Vec<Arc<AnyCanceller>> {
        self.live
            .lock()
            .map(|l| l.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    }
}

/// Counts a connect as under way from its first slot on (a wait for a slot is saturation, not
/// a connect) until it ends, however it ends.
struct ConnectingGuard<'a> {
    count: &'a AtomicUsize,
    counted: AtomicBool,
}

impl ConnectingGuard<'_> {
    fn count_once(&self) {
        if !self.counted.swap(true, Ordering::Relaxed) {
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drop for ConnectingGuard<'_> {
    fn drop(&mut self) {
        if *self.counted.get_mut() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl managed::Manager for Manager {
    // Boxed so that deadpool's futures and slots move a pointer, not the whole session.
    type Type = Box<Session>;
    type Error = Error;

    async fn create(&self) -> Result<Box<Session>> {
        // Boxed: deadpool's checkout future holds this one inline, and a driver's connect
        // future is kilobytes, which every checkout would otherwise carry and copy.
        Box::pin(self.open()).await
    }

    async fn recycle(&self, session: &mut Box<Session>, metrics: &Metrics) -> RecycleResult<Error> {
        if !session.is_reusable() || session.is_closed() {
            return Err(RecycleError::message("connection is closed or not idle"));
        }
        if self.max_lifetime.is_some_and(|max| metrics.age() >= max) {
            session.closing_for(CloseReason::MaxLifetime);
            return Err(RecycleError::message("connection reached its max lifetime"));
        }
        if session.idle_since.elapsed() >= self.idle_check_after {
            // Boxed for the reason `create` is; this path is rare.
            Box::pin(self.idle_check(session)).await?;
        }
        Ok(())
    }
}

impl Manager {
    async fn open(&self) -> Result<Box<Session>> {
        let connecting = ConnectingGuard {
            count: &self.connecting,
            counted: AtomicBool::new(false),
        };
        // Waits while discarded sessions are still closing: never more sessions than max_size.
        let slot = || async {
            let slot = Arc::clone(&self.slots)
                .acquire_owned()
                .await
                .map_err(|_| Error::PoolClosed)?;
            connecting.count_once();
            Ok(slot)
        };
        let (raw, peer) = match self.hosts.connect(self.connect_timeout, slot).await {
            Ok(opened) => opened,
            Err(e) => {
                self.record_failure(&e);
                return Err(e);
            }
        };
        // From here on, however this future ends (a failing hook, the caller giving up), the
        // session is closed before its slot frees up: the connection's drop sees to it.
        let mut session = Box::new(Session::new(
            raw,
            peer,
            self.cleanup_timeout,
            self.writes_only,
        ));
        if let Some(hook) = &self.after_connect {
            crate::hook::run_after_connect(hook, &mut session).await?;
            session.accept_session_state();
            if !session.is_reusable() {
                // A hook that opened a transaction would hand every borrower its locks.
                return Err(Error::Config(
                    "after_connect left the session inside a transaction".into(),
                ));
            }
        }
        if let Ok(mut last) = self.last_connect_error.lock() {
            *last = None;
        }
        session.track(&self.metrics);
        if let Ok(mut live) = self.live.lock() {
            live.retain(|c| c.strong_count() > 0);
            live.push(Arc::downgrade(session.canceller()));
        }
        tracing::debug!(server = %session.peer(), "connection opened");
        Ok(session)
    }

    /// Pings a connection that sat idle long enough to have been dropped by a firewall or
    /// the server, bounded here rather than by a deadpool recycle timeout, which would cost a
    /// timer on every checkout.
    async fn idle_check(&self, session: &mut Session) -> RecycleResult<Error> {
        match tokio::time::timeout(self.cleanup_timeout, session.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                session.closing_for(CloseReason::Broken);
                tracing::warn!("discarding a connection that failed its idle check: {e}");
                Err(RecycleError::Backend(e))
            }
            Err(_) => {
                session.closing_for(CloseReason::Broken);
                tracing::warn!("discarding a connection whose idle check got no answer");
                Err(RecycleError::message("idle check timed out"))
            }
        }
    }
}
