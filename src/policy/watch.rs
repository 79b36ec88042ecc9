//! Warnings that catch bugs: a call slower than `slow_statement_threshold`, and a connection
//! or transaction held past `leak_detection_threshold`.
//!
//! The slow check is one comparison of the elapsed time the call record reads anyway. A leak
//! watch is one sleeping task per held [`Connection`](crate::Connection) or top-level
//! [`Transaction`](crate::Transaction), spawned when it is taken and aborted when it is
//! returned, so none outlives its handle (it ends at the threshold or the return, whichever
//! comes first). A spawn and an abort cost a few µs per checkout (measured in release on a
//! shared 2-core machine: 1.5-6 µs over a 0.7-1.5 µs idle checkout; a checkout with one
//! `SELECT 1` takes over 100 µs); one-shot calls on the pool take none.

use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::span::SpanAttrs;
use crate::config::DatabaseConfig;
use crate::engine::Backend;
use crate::stats::Outcome;

/// One pool's thresholds and the names its warnings carry, and the attributes of its spans.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    /// Calls slower than this log a WARN; `Duration::MAX` when off, so that the check stays
    /// one comparison.
    pub(crate) slow_after: Duration,
    leak_after: Option<Duration>,
    /// The pool's name ([`DatabaseConfig::pool_name`]).
    pool: Arc<str>,
    backend: Backend,
    /// Shared by the pool's lanes.
    pub(crate) span: Arc<SpanAttrs>,
}

impl Watch {
    pub(crate) fn new(config: &DatabaseConfig) -> Self {
        Watch {
            slow_after: config.slow_statement_threshold.unwrap_or(Duration::MAX),
            leak_after: config.leak_detection_threshold,
            pool: config.pool_name().into(),
            backend: config.backend,
            span: Arc::new(SpanAttrs::new(config)),
        }
    }

    /// The pool's name.
    pub(crate) fn pool(&self) -> &str {
        &self.pool
    }

    /// Both warnings off, for unit tests.
    #[cfg(test)]
    pub(crate) fn off() -> Self {
        Watch {
            slow_after: Duration::MAX,
            leak_after: None,
            pool: "test".into(),
            backend: Backend::Postgres,
            span: Arc::new(SpanAttrs::bare(Backend::Postgres)),
        }
    }

    /// The WARN for a call past `slow_after`: kept out of line, off the hot path.
    #[cold]
    #[inline(never)]
    pub(crate) fn slow_call(&self, lane: &str, sql: &str, elapsed: Duration, outcome: Outcome) {
        tracing::warn!(
            sql,
            ?elapsed,
            lane,
            pool = %self.pool,
            backend = %self.backend,
            ?outcome,
            "call slower than slow_statement_threshold ({:?})",
            self.slow_after
        );
    }
}

/// Watches one held connection or transaction for a leak; dropped when it is returned.
#[derive(Debug)]
pub(crate) struct Held(Option<Watched>);

#[derive(Debug)]
struct Watched {
    timer: JoinHandle<()>,
    since: Instant,
    taken_at: &'static Location<'static>,
    what: &'static str,
    pool: Arc<str>,
}

impl Held {
    /// Nothing watched (a savepoint, whose transaction is watched already).
    pub(crate) fn none() -> Self {
        Held(None)
    }

    /// Starts the watch of `what`, taken at `taken_at`: a WARN once it has been held past the
    /// threshold. No watch when the threshold is off, or outside a Tokio runtime.
    pub(crate) fn start(
        watch: &Watch,
        what: &'static str,
        taken_at: &'static Location<'static>,
    ) -> Self {
        let (Some(after), Ok(rt)) = (watch.leak_after, tokio::runtime::Handle::try_current())
        else {
            return Held(None);
        };
        let since = Instant::now();
        let pool = Arc::clone(&watch.pool);
        let backend = watch.backend;
        let timer = rt.spawn({
            let pool = Arc::clone(&pool);
            async move {
                tokio::time::sleep(after).await;
                tracing::warn!(
                    taken_at = %taken_at,
                    held = ?since.elapsed(),
                    pool = %pool,
                    backend = %backend,
                    "{what} held longer than leak_detection_threshold ({after:?}) and not yet \
                     returned: a leak, or a task waiting on the pool while it holds this one"
                );
            }
        });
        Held(Some(Watched {
            timer,
            since,
            taken_at,
            what,
            pool,
        }))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(w) = self.0.take() else { return };
        // The timer task finishes only after it has warned: then the return is worth an INFO.
        if w.timer.is_finished() {
            tracing::info!(
                taken_at = %w.taken_at,
                held = ?w.since.elapsed(),
                pool = %w.pool,
                "{} returned, after being held past leak_detection_threshold",
                w.what
            );
        } else {
            w.timer.abort();
        }
    }
}
