//! Flow control: lanes that bound statements in flight and shed load, and deadlines that span
//! a whole call.
//!
//! A call first takes a permit from its lane (and from the global limit, if one is set), then a
//! connection, then runs its statement; one deadline covers all three. Permits are owned values
//! that travel with the call and are released when its connection goes back to the pool.
//! Waiting for a permit is first come, first served; a lane whose queue is full refuses at once
//! ([`Error::Shed`]) instead of letting callers pile up.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{CallPhase, Error, Result};
use crate::stats::{LaneStats, Outcome};

/// Limits of one lane (bulkhead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    /// Statements of this lane in flight at once.
    pub max_in_flight: usize,
    /// Calls allowed to wait for a permit; past it a call fails at once with [`Error::Shed`].
    pub max_queue: usize,
    /// How long a call may wait for a permit before [`Error::QueueTimeout`].
    pub queue_timeout: Duration,
}

impl Lane {
    /// A lane of `max_in_flight` statements, a queue of 4 times that, and a 5 s queue timeout.
    #[must_use]
    pub fn new(max_in_flight: usize) -> Self {
        Lane {
            max_in_flight,
            max_queue: max_in_flight.saturating_mul(4),
            queue_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the queue length.
    #[must_use]
    pub fn with_max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// Sets the queue timeout.
    #[must_use]
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }
}

/// The name of the lane calls use unless they pick one.
pub const DEFAULT_LANE: &str = "default";

/// One lane at run time: its semaphore, queue count and statistics.
#[derive(Debug)]
pub(crate) struct LaneState {
    pub(crate) name: Arc<str>,
    limit: Option<(Lane, Arc<Semaphore>)>,
    waiting: AtomicUsize,
    pub(crate) stats: LaneStats,
}

impl LaneState {
    fn new(name: &str, lane: Option<Lane>) -> Self {
        LaneState {
            name: name.into(),
            limit: lane.map(|l| (l, Arc::new(Semaphore::new(l.max_in_flight)))),
            waiting: AtomicUsize::new(0),
            stats: LaneStats::default(),
        }
    }

    /// Takes a permit, waiting in line if the lane is full.
    async fn admit(&self) -> Result<Option<OwnedSemaphorePermit>> {
        let Some((lane, sem)) = &self.limit else {
            return Ok(None);
        };
        if let Ok(permit) = Arc::clone(sem).try_acquire_owned() {
            return Ok(Some(permit));
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = LeaveQueue(&self.waiting);
        if queued >= lane.max_queue {
            return Err(Error::Shed {
                lane: self.name.to_string(),
                queued,
            });
        }
        match tokio::time::timeout(lane.queue_timeout, Arc::clone(sem).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            Ok(Err(_)) => Err(Error::PoolClosed),
            Err(_) => Err(Error::QueueTimeout {
                lane: self.name.to_string(),
                waited: lane.queue_timeout,
            }),
        }
    }

    /// Statements of this lane running now.
    pub(crate) fn in_flight(&self) -> usize {
        self.limit
            .as_ref()
            .map_or(0, |(l, s)| l.max_in_flight - s.available_permits())
    }

    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    fn close(&self) {
        if let Some((_, sem)) = &self.limit {
            sem.close();
        }
    }
}

struct LeaveQueue<'a>(&'a AtomicUsize);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The permits one call holds: its lane's and the global one. Released on drop.
#[derive(Debug, Default)]
pub(crate) struct Permits {
    _lane: Option<OwnedSemaphorePermit>,
    _global: Option<OwnedSemaphorePermit>,
}

/// Every lane of a pool, and the global limit.
#[derive(Debug)]
pub(crate) struct Limits {
    global: LaneState,
    default: Arc<LaneState>,
    lanes: HashMap<String, Arc<LaneState>>,
}

impl Limits {
    pub(crate) fn new(
        global: Option<usize>,
        default: Option<Lane>,
        lanes: &[(String, Lane)],
    ) -> Self {
        Limits {
            global: LaneState::new(
                "global",
                global.map(|n| Lane::new(n).with_max_queue(usize::MAX)),
            ),
            default: Arc::new(LaneState::new(DEFAULT_LANE, default)),
            lanes: lanes
                .iter()
                .map(|(name, lane)| (name.clone(), Arc::new(LaneState::new(name, Some(*lane)))))
                .collect(),
        }
    }

    /// The lane called `name`, or the default lane for `None`.
    pub(crate) fn lane(&self, name: Option<&str>) -> Result<&Arc<LaneState>> {
        match name {
            None | Some(DEFAULT_LANE) => Ok(&self.default),
            Some(n) => self
                .lanes
                .get(n)
                .ok_or_else(|| Error::Config(format!("no lane named `{n}` is configured"))),
        }
    }

    /// Takes the lane's permit, then a global one.
    pub(crate) async fn admit(&self, lane: &LaneState) -> Result<Permits> {
        let lane_permit = lane.admit().await?;
        let global = self.global.admit().await?;
        Ok(Permits {
            _lane: lane_permit,
            _global: global,
        })
    }

    /// Every lane, the default first.
    pub(crate) fn all(&self) -> impl Iterator<Item = &LaneState> {
        std::iter::once(&*self.default).chain(self.lanes.values().map(|l| &**l))
    }

    /// Refuses every waiting and future permit request.
    pub(crate) fn close(&self) {
        self.global.close();
        self.all().for_each(LaneState::close);
    }
}

/// Per-call settings: which lane, and the deadline.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Lane name; `None` is the default lane.
    pub lane: Option<Arc<str>>,
    /// Deadline for the whole call (permit, connection, statement); `None` uses the pool's
    /// `statement_timeout`.
    pub timeout: Option<Duration>,
}

/// Which phase of a call is under way, for the error a deadline produces.
#[derive(Debug, Default)]
pub(crate) struct PhaseCell(AtomicU8);

impl PhaseCell {
    pub(crate) fn set(&self, phase: CallPhase) {
        self.0.store(phase as u8, Ordering::Relaxed);
    }

    fn get(&self) -> CallPhase {
        match self.0.load(Ordering::Relaxed) {
            0 => CallPhase::Queue,
            1 => CallPhase::Acquire,
            _ => CallPhase::Execute,
        }
    }
}

/// Runs `call` under `timeout`; past it, the call is dropped (which cancels its statement on the
/// server) and the error names the phase it was in.
///
/// The call is boxed: an `async fn` taking it by value would hold it (and the `Timeout` around
/// it) inline, doubling the size of every caller's future, and futures that size are copied
/// each time they move. One allocation per call is cheaper than those copies (callgrind).
pub(crate) fn with_deadline<'a, T: 'a>(
    timeout: Option<Duration>,
    phase: &'a PhaseCell,
    call: impl Future<Output = Result<T>> + 'a,
) -> impl Future<Output = Result<T>> + 'a {
    let call = Box::pin(call);
    async move {
        match timeout {
            None => call.await,
            Some(after) => match tokio::time::timeout(after, call).await {
                Ok(r) => r,
                Err(_) => Err(Error::QueryTimeout {
                    after,
                    phase: phase.get(),
                }),
            },
        }
    }
}

/// Counts a call's outcome and latency when it ends, including when it is dropped.
pub(crate) struct CallRecord<'a> {
    lane: &'a LaneState,
    started: Instant,
    done: bool,
}

impl<'a> CallRecord<'a> {
    pub(crate) fn start(lane: &'a LaneState) -> Self {
        CallRecord {
            lane,
            started: Instant::now(),
            done: false,
        }
    }

    pub(crate) fn finish<T>(mut self, r: &Result<T>) {
        self.done = true;
        self.lane
            .stats
            .record(&self.lane.name, Outcome::of(r), self.started.elapsed());
    }

    pub(crate) fn fail(mut self, e: &Error) {
        self.done = true;
        self.lane.stats.record(
            &self.lane.name,
            Outcome::of_error(e),
            self.started.elapsed(),
        );
    }
}

impl Drop for CallRecord<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.lane
                .stats
                .record(&self.lane.name, Outcome::Cancelled, self.started.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With time paused, a full lane queues in order, sheds past its queue, and times out.
    #[tokio::test(start_paused = true)]
    async fn lane_queues_fifo_sheds_and_times_out() {
        let limits = Limits::new(
            None,
            None,
            &[(
                "reports".into(),
                Lane::new(1)
                    .with_max_queue(2)
                    .with_queue_timeout(Duration::from_secs(1)),
            )],
        );
        let lane = Arc::clone(limits.lane(Some("reports")).unwrap());
        let held = limits.admit(&lane).await.unwrap();
        assert_eq!(lane.in_flight(), 1);

        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let limits = Arc::new(limits);
        let mut waiters = Vec::new();
        for i in 0..2 {
            let (limits, lane, order) = (limits.clone(), lane.clone(), order.clone());
            waiters.push(tokio::spawn(async move {
                let p = limits.admit(&lane).await;
                order.lock().unwrap().push(i);
                drop(p);
            }));
            tokio::task::yield_now().await;
        }
        assert_eq!(lane.waiting(), 2);
        // The queue is full: the next call is shed at once.
        let shed = limits.admit(&lane).await.unwrap_err();
        assert!(matches!(shed, Error::Shed { queued: 2, .. }), "{shed:?}");
        drop(held);
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1]);

        // A waiter that outlives the queue timeout gets QueueTimeout.
        let held = limits.admit(&lane).await.unwrap();
        let err = limits.admit(&lane).await.unwrap_err();
        assert!(matches!(err, Error::QueueTimeout { .. }), "{err:?}");
        drop(held);
    }

    /// An unknown lane is a configuration error; the default lane has no limit unless set.
    #[tokio::test]
    async fn default_lane_is_unlimited_and_unknown_lanes_fail() {
        let limits = Limits::new(None, None, &[]);
        assert!(matches!(limits.lane(Some("nope")), Err(Error::Config(_))));
        let lane = Arc::clone(limits.lane(None).unwrap());
        let permits: Vec<_> =
            futures_util::future::join_all((0..100).map(|_| limits.admit(&lane))).await;
        assert!(permits.iter().all(Result::is_ok));
    }

    /// The deadline names the phase the call was in when it fired.
    #[tokio::test(start_paused = true)]
    async fn deadline_reports_the_phase() {
        let phase = PhaseCell::default();
        let err = with_deadline(Some(Duration::from_millis(10)), &phase, async {
            phase.set(CallPhase::Acquire);
            std::future::pending::<Result<()>>().await
        })
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::QueryTimeout {
                    phase: CallPhase::Acquire,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
