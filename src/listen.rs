//! PostgreSQL `LISTEN`/`NOTIFY`: a [`Listener`] is a stream of [`Notification`]s on a dedicated
//! connection outside the pool. Send with `SELECT pg_notify($1, $2)` through any executor.
//! MySQL and MariaDB have no equivalent.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::backend::{ListenSession, Notification};
use crate::error::Result;

/// Notifications on the channels given to [`Database::listen`](crate::Database::listen), in the
/// order the server sent them. Dropping it closes its connection, which ends the `LISTEN`.
pub struct Listener {
    receiver: mpsc::UnboundedReceiver<Result<Notification>>,
    /// Keeps the session open; dropping it ends the `LISTEN`.
    _session: ListenSession,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Listener {
    pub(crate) fn new(
        receiver: mpsc::UnboundedReceiver<Result<Notification>>,
        session: ListenSession,
    ) -> Self {
        Listener {
            receiver,
            _session: session,
        }
    }

    /// Waits for the next notification; `None` once the connection is gone.
    pub async fn recv(&mut self) -> Option<Result<Notification>> {
        self.receiver.recv().await
    }
}

impl Stream for Listener {
    type Item = Result<Notification>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
