//! The one per-call policy path, the same for both backends and every kind of call: the lane's
//! permit, the session, the statement, all under one deadline, with the outcome counted per
//! lane. Plain calls run through `run_call!`, streams open through [`open`], and transaction
//! control (`BEGIN`, `COMMIT`, `ROLLBACK`) runs through `run_call!` too, so lane statistics
//! count it. A call's phase at any moment names the error a deadline produces.

mod deadline;
mod limit;
mod record;
mod span;
mod watch;

use std::future::Future;
use std::time::Duration;

pub(crate) use deadline::{with_deadline, PhaseCell};
pub use limit::DEFAULT_LANE;
pub(crate) use limit::{LaneState, Limits};
pub(crate) use record::CallRecord;
pub(crate) use span::record_error;
pub(crate) use watch::{Held, Watch};

use crate::error::{CallPhase, ConnectErrorKind, Error, Result};
use crate::pool::{Lease, Pool};
use crate::retry::{Retries, RetryPolicy};
use crate::session::Session;

/// The settings one call runs under: its lane, its deadline, and the phase it is in.
#[derive(Debug)]
pub struct CallScope<'a> {
    pub(crate) lane: &'a LaneState,
    pub(crate) timeout: Option<Duration>,
    pub(crate) phase: PhaseCell,
}

impl<'a> CallScope<'a> {
    pub(crate) fn new(lane: &'a LaneState, timeout: Option<Duration>) -> Self {
        CallScope {
            lane,
            timeout,
            phase: PhaseCell::default(),
        }
    }
}

/// What holds the session during one call: a lease of its own on the pool, the connection's
/// or transaction's own session elsewhere.
pub trait SessionGuard: Send {
    /// The session.
    fn session(&mut self) -> Result<&mut Session>;
}

impl SessionGuard for Lease {
    #[inline]
    fn session(&mut self) -> Result<&mut Session> {
        Lease::session(self)
    }
}

impl SessionGuard for tokio::sync::MutexGuard<'_, Lease> {
    #[inline]
    fn session(&mut self) -> Result<&mut Session> {
        Lease::session(self)
    }
}

/// Takes the scope's lane permit, then a session from the pool, trying a refused connect
/// again per `retry` (nothing was sent, so it is safe).
pub(crate) async fn acquire(
    pool: &Pool,
    limits: &Limits,
    retry: &RetryPolicy,
    scope: &CallScope<'_>,
) -> Result<Lease> {
    if pool.is_closed() {
        return Err(Error::PoolClosed);
    }
    scope.phase.set(CallPhase::Queue);
    let permits = limits.admit(scope.lane).await?;
    scope.phase.set(CallPhase::Acquire);
    let mut retries = Retries::new(retry, None);
    loop {
        match pool.checkout().await {
            Ok(mut lease) => {
                lease.session()?.serve_briefly(true);
                // One atomic load once known: a lazily built pool learns here whether its
                // MySQL-protocol server is MariaDB.
                if !scope.lane.watch.span.knows_system() {
                    scope.lane.watch.span.learn(pool.server_name());
                }
                return Ok(lease.with_permits(permits));
            }
            // Nothing was sent: a refused connect is safe to try again, and so is a host list
            // with no fitting host (a failover may be under way).
            Err(
                e @ (Error::Connect {
                    kind: ConnectErrorKind::Network,
                    ..
                }
                | Error::NoSuitableHost { .. }),
            ) => {
                retries.pause(e, || scope.lane.stats.record_retry()).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs one call: the session (from the future `$session`), then `$op` on it as `$s`, both
/// under the scope's deadline, with the outcome counted in the scope's lane. Spans are at
/// DEBUG, the only level that records the SQL text, with OpenTelemetry's database attributes
/// (see `span`); parameter values are never recorded.
///
/// The spans wrap the call only when a subscriber wants them: an instrumented future enters and
/// leaves its span on every poll, which costs even when nobody listens. (A macro rather than a
/// function: an operation that borrows the session it is given cannot be a closure argument
/// whose future is still `Send`.)
macro_rules! run_call {
    ($scope:expr, $sql:expr, $session:expr, |$s:ident| $op:expr) => {{
        use tracing::Instrument as _;
        let scope: &$crate::policy::CallScope<'_> = $scope;
        let record = $crate::policy::CallRecord::start(scope.lane, $sql);
        let span = scope.lane.watch.span.call_span(&scope.lane.name, $sql);
        let r = if span.is_disabled() {
            $crate::policy::with_deadline(scope.timeout, &scope.phase, async {
                let mut guard = $session.await?;
                scope.phase.set($crate::error::CallPhase::Execute);
                let $s = $crate::policy::SessionGuard::session(&mut guard)?;
                $op.await
            })
            .await
        } else {
            let call_span = span.clone();
            let r = $crate::policy::with_deadline(
                scope.timeout,
                &scope.phase,
                async {
                    let mut guard = $session
                        .instrument(tracing::debug_span!("weir.acquire"))
                        .await?;
                    scope.phase.set($crate::error::CallPhase::Execute);
                    let $s = $crate::policy::SessionGuard::session(&mut guard)?;
                    scope.lane.watch.span.record_server(&call_span, $s.peer());
                    $op.instrument(tracing::debug_span!("weir.execute")).await
                }
                .instrument(span),
            )
            .await;
            if let Err(e) = &r {
                $crate::policy::record_error(&call_span, e);
            }
            r
        };
        record.finish(&r);
        r
    }};
}
pub(crate) use run_call;

/// Opens a streamed call: the session (from `session`) and `start` on it under the scope's
/// deadline; the rows are read afterwards, outside it (the caller decides how long to read).
/// On success the guard and the still-open call record go to the stream, which finishes the
/// record when its rows end (so a slow-call warning counts the reading too), and with it the
/// call's span: it is not entered while rows are read, but lasts until they end.
pub(crate) async fn open<'a, G: SessionGuard>(
    scope: &CallScope<'a>,
    sql: &'a str,
    session: impl Future<Output = Result<G>>,
) -> Result<(G, CallRecord<'a>)> {
    let span = scope.lane.watch.span.call_span(&scope.lane.name, sql);
    let record = CallRecord::start(scope.lane, sql).with_span(span);
    match with_deadline(scope.timeout, &scope.phase, session).await {
        Ok(mut guard) => {
            scope.phase.set(CallPhase::Execute);
            if !record.span().is_disabled() {
                let peer = guard.session()?.peer();
                scope.lane.watch.span.record_server(record.span(), peer);
            }
            Ok((guard, record))
        }
        Err(e) => {
            record.fail(&e);
            Err(e)
        }
    }
}
