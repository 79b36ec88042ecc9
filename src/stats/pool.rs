//! A pool's own metrics: connection gauges, the acquire-time histogram, connections opened and
//! closed by reason, and cancels sent. Handles are registered once, when the pool is built, with
//! whatever recorder is installed then; updating one is an atomic operation, no lock.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};

/// Why a connection was closed: the `reason` label of `weir_connections_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum CloseReason {
    IdleTimeout = 1,
    MaxLifetime,
    Broken,
    SessionChanged,
    MidStatement,
    Killed,
    PoolClosed,
}

impl CloseReason {
    const ALL: [CloseReason; 7] = [
        CloseReason::IdleTimeout,
        CloseReason::MaxLifetime,
        CloseReason::Broken,
        CloseReason::SessionChanged,
        CloseReason::MidStatement,
        CloseReason::Killed,
        CloseReason::PoolClosed,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::MaxLifetime => "max_lifetime",
            CloseReason::Broken => "broken",
            CloseReason::SessionChanged => "session_changed",
            CloseReason::MidStatement => "mid_statement",
            CloseReason::Killed => "killed",
            CloseReason::PoolClosed => "pool_closed",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        CloseReason::ALL.into_iter().find(|r| *r as u8 == v)
    }
}

/// A close reason decided before the connection is dropped: a lost connection suggests one,
/// the pool's checks (maintenance, the check before reuse) decide one.
#[derive(Debug, Default)]
pub(crate) struct PendingClose(AtomicU8);

impl PendingClose {
    /// Sets `reason` unless one is set already.
    pub(crate) fn suggest(&self, reason: CloseReason) {
        let _ = self
            .0
            .compare_exchange(0, reason as u8, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Sets `reason`, whatever was set before.
    pub(crate) fn decide(&self, reason: CloseReason) {
        self.0.store(reason as u8, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Option<CloseReason> {
        CloseReason::from_u8(self.0.load(Ordering::Relaxed))
    }
}

/// The metric handles of one pool.
#[derive(Debug)]
pub(crate) struct PoolMetrics {
    idle: Gauge,
    in_use: Gauge,
    waiting: Gauge,
    acquire: Histogram,
    opened: Counter,
    closed: [Counter; 7],
    cancels: Counter,
}

impl PoolMetrics {
    /// Registers the pool's metrics, labelled `pool`, and sets its maximum.
    pub(crate) fn new(pool: &str, max_size: usize) -> Arc<Self> {
        let p = || pool.to_owned();
        metrics::gauge!("weir_pool_max_connections", "pool" => p()).set(max_size as f64);
        Arc::new(PoolMetrics {
            idle: metrics::gauge!("weir_pool_connections", "pool" => p(), "state" => "idle"),
            in_use: metrics::gauge!("weir_pool_connections", "pool" => p(), "state" => "in_use"),
            waiting: metrics::gauge!("weir_pool_waiting", "pool" => p()),
            acquire: metrics::histogram!("weir_acquire_seconds", "pool" => p()),
            opened: metrics::counter!("weir_connections_opened_total", "pool" => p()),
            closed: CloseReason::ALL.map(|r| {
                metrics::counter!("weir_connections_closed_total", "pool" => p(), "reason" => r.label())
            }),
            cancels: metrics::counter!("weir_cancels_total", "pool" => p()),
        })
    }

    /// A connection was opened; it counts as idle until checked out.
    pub(crate) fn opened(&self) {
        self.opened.increment(1);
        self.idle.increment(1.0);
    }

    /// A connection opened by [`PoolMetrics::opened`] was closed. Its lease was given back
    /// first, so it counts as idle until now.
    pub(crate) fn closed(&self, reason: CloseReason) {
        self.idle.decrement(1.0);
        if let Some(c) = self.closed.get(reason as usize - 1) {
            c.increment(1);
        }
    }

    pub(crate) fn checked_out(&self) {
        self.in_use.increment(1.0);
        self.idle.decrement(1.0);
    }

    pub(crate) fn checked_in(&self) {
        self.in_use.decrement(1.0);
        self.idle.increment(1.0);
    }

    pub(crate) fn acquired(&self, waited: Duration) {
        self.acquire.record(waited.as_secs_f64());
    }

    /// Counts a caller waiting for a connection until the guard is dropped.
    pub(crate) fn wait(&self) -> Waiting<'_> {
        self.waiting.increment(1.0);
        Waiting(&self.waiting)
    }

    /// The counter of cancels sent to the server.
    pub(crate) fn cancels(&self) -> &Counter {
        &self.cancels
    }
}

/// A caller counted in `weir_pool_waiting`.
pub(crate) struct Waiting<'a>(&'a Gauge);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}
