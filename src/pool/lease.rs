//! A session checked out of the pool, and what happens when it is given back: a session known
//! idle and outside any transaction goes back as it is, one inside a transaction is rolled back
//! first (within the cleanup timeout, or discarded), and anything else is closed.

use std::time::Instant;

use deadpool::managed::Object;
use tokio::sync::OwnedSemaphorePermit;

use super::manager::Manager;
use crate::error::{Error, Result};
use crate::session::Session;

/// The admission permits a call holds with its session (its lane's and the global one),
/// released after the session is back in the pool: held only to be dropped.
#[derive(Debug, Default)]
pub(crate) struct Permits {
    pub(crate) _lane: Option<OwnedSemaphorePermit>,
    pub(crate) _global: Option<OwnedSemaphorePermit>,
}

/// A session checked out of the pool. Dropping it applies the return rules above. (Public
/// only for the sealed executor plumbing; not reachable by name.)
pub struct Lease {
    obj: Option<Object<Manager>>,
    /// Released after the session is back in the pool (fields drop after `drop`).
    _permits: Permits,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").finish_non_exhaustive()
    }
}

impl Lease {
    pub(super) fn new(obj: Object<Manager>) -> Self {
        if let Some(m) = obj.metrics() {
            m.checked_out();
        }
        Lease {
            obj: Some(obj),
            _permits: Permits::default(),
        }
    }

    pub(crate) fn with_permits(mut self, permits: Permits) -> Self {
        self._permits = permits;
        self
    }

    /// The session. Fails only after the lease was given up, which weir never does while the
    /// lease is reachable.
    #[inline]
    pub(crate) fn session(&mut self) -> Result<&mut Session> {
        self.obj
            .as_deref_mut()
            .map(|session| &mut **session)
            .ok_or_else(|| Error::Driver("connection lease already released".into()))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut obj) = self.obj.take() else {
            return;
        };
        if let Some(m) = obj.metrics() {
            m.checked_in();
        }
        if obj.is_reusable() {
            obj.idle_since = Instant::now();
            return; // back to the pool
        }
        if !obj.needs_rollback_only() {
            // Mid-statement (its guard already sent the cancel), broken, or carrying session
            // state: closing is the only reset that cannot miss anything.
            discard(obj);
            return;
        }
        // Inside a transaction: roll back, then return it; discard it if that fails.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            discard(obj);
            return;
        };
        let timeout = obj.cleanup_timeout();
        runtime.spawn(async move {
            let mut obj = obj;
            let ok = matches!(
                tokio::time::timeout(timeout, obj.rollback(1)).await,
                Ok(Ok(()))
            ) && obj.is_reusable();
            if ok {
                obj.idle_since = Instant::now();
            } else {
                tracing::warn!(
                    "rollback of an abandoned transaction failed; discarding the connection"
                );
                discard(obj);
            }
        });
    }
}

/// Takes a connection out of the pool and closes its session. Dropping the driver's
/// connection closes the session in the background, and its pool slot is given back only once
/// the server let the session go (or after the cleanup timeout): a session in the middle of a
/// statement lingers on the server until that statement ends, and opening its replacement at
/// once would let the server hold more sessions than the pool's maximum.
fn discard(obj: Object<Manager>) {
    drop(Object::take(obj));
}
