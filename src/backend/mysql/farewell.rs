//! Closing MySQL sessions: off the caller's path, and with the pool slot held until the
//! server's process list no longer shows the session (one watcher task per pool looks).

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Value};

use super::MyConn;

impl Drop for MyConn {
    /// Closes the session off the caller's path, and gives its slot back only once the server
    /// no longer lists the session: a session cut off mid-statement stays on the server until
    /// that statement ends, and even one that said goodbye is listed, busy with its last
    /// reply, for a moment after mysql_async has dropped the socket; opening its replacement
    /// before that would hold more sessions than the pool's maximum.
    fn drop(&mut self) {
        let (Some(mut conn), slot) = (self.conn.take(), self.slot.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime left: mysql_async's own drop does what it can
        };
        let (linger, farewells) = (self.linger, self.farewells.take());
        let deadline = deadline_after(linger);
        runtime.spawn(async move {
            let id = conn.id();
            let close = async move {
                // `disconnect` says goodbye without reading the rest of a result left unread
                // (a stream dropped part-way), and the server would keep writing it. A trivial
                // statement first reads that result out, so the goodbye finds the session idle.
                // After a command cut off mid-way mysql_async is out of step with the server
                // and takes the cut statement's reply (once the cancel ended it) for this
                // one's; that is harmless, for the slot waits for the server's list below.
                // Dropping such a session at once instead was worse: MariaDB, seeing the
                // client gone, marks the session killed, and a killed SLEEP lingered for
                // seconds (the CLI's timeout test caught it).
                if let Err(e) = conn.query_drop("DO 0").await {
                    tracing::debug!("draining a closing MySQL session: {e}");
                }
                if let Err(e) = conn.disconnect().await {
                    tracing::debug!("closing a MySQL session: {e}");
                }
            };
            if tokio::time::timeout_at(deadline, close).await.is_err() {
                tracing::warn!("closing a MySQL session timed out; its slot is given back");
                return;
            }
            // The slot stays here, and so does the deadline: this task frees it, whatever
            // the watcher (perhaps on another runtime, perhaps stalled) does. A watcher that
            // cannot look drops `gone`, which frees the slot at once.
            if let Some(farewells) = farewells {
                let (gone, seen) = tokio::sync::oneshot::channel();
                if farewells.send(Farewell::Closed { id, gone }).is_ok()
                    && tokio::time::timeout_at(deadline, seen).await.is_err()
                {
                    tracing::warn!(
                        "the server still lists a closed MySQL session after the cleanup timeout; its slot is given back"
                    );
                }
            }
            drop(slot);
        });
    }
}

/// `now + after`, or a year from now for a timeout too large to add (`Duration::MAX` as "no
/// limit").
fn deadline_after(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// What the watcher is told.
pub(super) enum Farewell {
    /// Session `id` was closed; `gone` gets word once the server no longer lists it.
    Closed {
        id: u32,
        gone: tokio::sync::oneshot::Sender<()>,
    },
    /// The pool is closing: end the side connection now, then answer.
    Quiet(tokio::sync::oneshot::Sender<()>),
}

pub(super) type FarewellSender = tokio::sync::mpsc::UnboundedSender<Farewell>;

/// One watcher task per pool, started with its first connection, that looks up every closed
/// session in the server's process list over one side connection of its own and tells each
/// closing task once its session is gone. One connection and one query serve any number of
/// closes, where a side connection per close would double the connects of a timeout storm.
#[derive(Default)]
pub(super) struct Farewells {
    sender: std::sync::Mutex<Option<FarewellSender>>,
}

impl Farewells {
    /// A sender to the watcher, starting it if none runs (or it ended with its runtime).
    /// `None` outside a runtime: slots are then given back as soon as a session is closed.
    pub(super) fn sender(&self, opts: &Opts) -> Option<FarewellSender> {
        let mut sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = sender.as_ref().filter(|tx| !tx.is_closed()) {
            return Some(tx.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        runtime.spawn(watch_farewells(opts.clone(), rx));
        *sender = Some(tx.clone());
        Some(tx)
    }

    /// Ends the watcher's side connection, if it has one, so a closed pool leaves no session
    /// behind; waits at most `within`.
    pub(super) async fn quiet(&self, within: Duration) {
        let tx = self
            .sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(tx) = tx else { return };
        let (done, answered) = tokio::sync::oneshot::channel();
        if tx.send(Farewell::Quiet(done)).is_ok() {
            let _ = tokio::time::timeout(within, answered).await;
        }
    }
}

/// How often the watcher looks while sessions are closing; how long one look may take; how
/// long its side connection stays open once none are closing; how long it waits before trying
/// again after a look failed (meanwhile slots are freed as soon as sessions are closed).
const FAREWELL_POLL: Duration = Duration::from_millis(5);
const FAREWELL_LOOK: Duration = Duration::from_secs(1);
const FAREWELL_IDLE: Duration = Duration::from_secs(2);
const FAREWELL_RETRY: Duration = Duration::from_secs(1);

async fn watch_farewells(opts: Opts, mut rx: tokio::sync::mpsc::UnboundedReceiver<Farewell>) {
    let mut closing: Vec<(u32, tokio::sync::oneshot::Sender<()>)> = Vec::new();
    let mut side: Option<Conn> = None;
    let mut blind_until: Option<tokio::time::Instant> = None;
    loop {
        if closing.is_empty() {
            let next = match side {
                Some(_) => tokio::time::timeout(FAREWELL_IDLE, rx.recv()).await,
                None => Ok(rx.recv().await),
            };
            match next {
                Ok(Some(msg)) => take(msg, &mut closing, &mut side).await,
                Ok(None) => break, // the pool and its sessions are gone
                Err(_) => {
                    end_side(&mut side).await;
                    continue;
                }
            }
        }
        while let Ok(msg) = rx.try_recv() {
            take(msg, &mut closing, &mut side).await;
        }
        // A closing task that gave up (its deadline passed) no longer waits for word.
        closing.retain(|(_, gone)| !gone.is_closed());
        if closing.is_empty() {
            continue;
        }
        if blind_until.is_some_and(|t| tokio::time::Instant::now() < t) {
            closing.clear(); // cannot look: the slots go back at once
            continue;
        }
        let ids: Vec<u32> = closing.iter().map(|(id, _)| *id).collect();
        let look = tokio::time::timeout(FAREWELL_LOOK, still_listed(&mut side, &opts, &ids)).await;
        match look {
            Ok(Ok(listed)) => {
                blind_until = None;
                for (id, gone) in std::mem::take(&mut closing) {
                    if listed.contains(&u64::from(id)) {
                        closing.push((id, gone));
                    } else {
                        let _ = gone.send(());
                    }
                }
            }
            failed => {
                if blind_until.is_none() {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {FAREWELL_LOOK:?}"),
                    };
                    tracing::warn!(
                        "cannot look up closing MySQL sessions ({why}); their slots are given back without waiting for the server"
                    );
                }
                side = None; // failed or cut off mid-query: not reusable
                blind_until = Some(tokio::time::Instant::now() + FAREWELL_RETRY);
                closing.clear();
            }
        }
        if !closing.is_empty() {
            tokio::time::sleep(FAREWELL_POLL).await;
        }
    }
    end_side(&mut side).await;
}

/// Files a closed session, or ends the side connection for a closing pool.
async fn take(
    msg: Farewell,
    closing: &mut Vec<(u32, tokio::sync::oneshot::Sender<()>)>,
    side: &mut Option<Conn>,
) {
    match msg {
        Farewell::Closed { id, gone } => closing.push((id, gone)),
        Farewell::Quiet(done) => {
            end_side(side).await;
            let _ = done.send(());
        }
    }
}

async fn end_side(side: &mut Option<Conn>) {
    if let Some(conn) = side.take() {
        let _ = tokio::time::timeout(FAREWELL_LOOK, conn.disconnect()).await;
    }
}

/// Which of the sessions `ids` the server still lists, over the watcher's side connection
/// (opened if needed).
async fn still_listed(
    side: &mut Option<Conn>,
    opts: &Opts,
    ids: &[u32],
) -> std::result::Result<Vec<u64>, mysql_async::Error> {
    let conn = match side {
        Some(conn) => conn,
        None => side.insert(Conn::new(opts.clone()).await?),
    };
    let marks = vec!["?"; ids.len()].join(", ");
    let values: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
    conn.exec(
        format!("SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN ({marks})"),
        values,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::deadline_after;
    use std::time::Duration;

    #[test]
    fn a_timeout_too_large_to_add_gives_a_far_deadline_not_a_panic() {
        let now = tokio::time::Instant::now();
        assert!(deadline_after(Duration::MAX) > now + Duration::from_secs(3600));
        let soon = deadline_after(Duration::from_secs(5));
        assert!(soon >= now + Duration::from_secs(5) && soon < now + Duration::from_secs(60));
    }
}
