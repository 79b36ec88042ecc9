//! A statement on its way, which cancels itself on the server when dropped unfinished.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::AnyCanceller;

/// A statement on its way: dropped before [`InFlight::disarm`], it cancels the statement on the
/// server at once, so an abandoned query never keeps running.
pub(crate) struct InFlight {
    pub(super) canceller: Option<Arc<AnyCanceller>>,
    pub(super) timeout: Duration,
    /// Counts the cancel, if one is sent (`weir_cancels_total`).
    pub(super) cancels: Option<metrics::Counter>,
}

impl InFlight {
    pub(super) fn disarm(mut self) {
        self.canceller = None;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(canceller) = self.canceller.take() {
            if let Some(c) = &self.cancels {
                c.increment(1);
            }
            spawn_cancel(canceller, self.timeout);
        }
    }
}

/// Sends a cancel for whatever the session runs, bounded by `timeout`, off the caller's path.
fn spawn_cancel(canceller: Arc<AnyCanceller>, timeout: Duration) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            match tokio::time::timeout(timeout, canceller.cancel()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("cancelling an abandoned statement failed: {e}"),
                Err(_) => tracing::warn!("cancelling an abandoned statement timed out"),
            }
        });
    }
}
