//! Counting a pooled session's end: opened once the pool takes it, closed (with the reason)
//! when it is dropped.

use std::sync::Arc;

use super::Session;
use crate::stats::{CloseReason, PoolMetrics};

impl Session {
    /// Counts this session as opened in `metrics`, which count its close in turn.
    pub(crate) fn track(&mut self, metrics: &Arc<PoolMetrics>) {
        metrics.opened();
        self.metrics = Some(Arc::clone(metrics));
    }

    /// This session's metrics, once tracked.
    pub(crate) fn metrics(&self) -> Option<&PoolMetrics> {
        self.metrics.as_deref()
    }

    /// Marks why the pool is about to close the session (idle too long, too old, failed its
    /// check before reuse), for the reason its close is counted under: this reason wins over
    /// one a failed call suggested.
    pub(crate) fn closing_for(&self, reason: CloseReason) {
        self.pending_close.decide(reason);
    }

    /// Why a session dropped now is closed: a reason set beforehand, else its state. A
    /// reusable session closes only when its pool does (closed or dropped).
    fn close_reason(&self) -> CloseReason {
        if let Some(r) = self.pending_close.get() {
            r
        } else if self.busy {
            CloseReason::MidStatement
        } else if self.broken || self.raw.is_closed() || self.tx_depth > 0 {
            CloseReason::Broken
        } else if self.session_changed || self.raw.state_changed() {
            CloseReason::SessionChanged
        } else {
            CloseReason::PoolClosed
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let reason = self.close_reason();
        if let Some(m) = &self.metrics {
            m.closed(reason);
        }
        // The pool's life at DEBUG, one event per close, with the reason its metric counts.
        if reason == CloseReason::MidStatement {
            tracing::debug!(
                server = %self.peer,
                reason = reason.label(),
                "connection discarded mid-statement: its statement was cancelled on the server"
            );
        } else {
            tracing::debug!(server = %self.peer, reason = reason.label(), "connection closed");
        }
    }
}
