//! Lanes (bulkheads) that bound statements in flight and shed load. Permits are owned values
//! that travel with the call and are released when its session goes back to the pool.
//! Waiting for a permit is first come, first served; a lane whose queue is full refuses at
//! once ([`Error::Shed`]) instead of letting callers pile up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Lane;
use crate::error::{Error, Result};
use crate::pool::Permits;
use crate::stats::LaneStats;

use super::watch::Watch;

/// The name of the lane calls use unless they pick one.
pub const DEFAULT_LANE: &str = "default";

/// One lane at run time: its semaphore, queue count and statistics.
#[derive(Debug)]
pub(crate) struct LaneState {
    pub(crate) name: Arc<str>,
    limit: Option<(Lane, Arc<Semaphore>)>,
    waiting: AtomicUsize,
    pub(crate) stats: LaneStats,
    /// The pool's warning thresholds, kept with the lane every call already holds.
    pub(crate) watch: Watch,
}

impl LaneState {
    fn new(name: &str, lane: Option<Lane>, watch: &Watch) -> Self {
        LaneState {
            name: name.into(),
            limit: lane.map(|l| (l, Arc::new(Semaphore::new(l.max_in_flight)))),
            waiting: AtomicUsize::new(0),
            stats: LaneStats::new(watch.pool(), name),
            watch: watch.clone(),
        }
    }

    /// Takes a permit, waiting in line if the lane is full.
    async fn admit(&self) -> Result<Option<OwnedSemaphorePermit>> {
        let Some((lane, sem)) = &self.limit else {
            return Ok(None);
        };
        if let Ok(permit) = Arc::clone(sem).try_acquire_owned() {
            self.sample();
            return Ok(Some(permit));
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = LeaveQueue(self);
        self.sample();
        if queued >= lane.max_queue {
            return Err(Error::Shed {
                lane: self.name.to_string(),
                queued,
            });
        }
        match tokio::time::timeout(lane.queue_timeout, Arc::clone(sem).acquire_owned()).await {
            Ok(Ok(permit)) => {
                self.sample();
                Ok(Some(permit))
            }
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

    /// Sets the lane's gauges: sampled when a call takes a permit, joins or leaves the queue,
    /// and ends (two atomic loads, no lock).
    #[inline]
    pub(crate) fn sample(&self) {
        self.stats.sample(self.in_flight(), self.waiting());
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

struct LeaveQueue<'a>(&'a LaneState);

impl Drop for LeaveQueue<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
        self.0.sample();
    }
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
        watch: &Watch,
    ) -> Self {
        Limits {
            global: LaneState::new(
                "global",
                global.map(|n| Lane::new(n).with_max_queue(usize::MAX)),
                watch,
            ),
            default: Arc::new(LaneState::new(DEFAULT_LANE, default, watch)),
            lanes: lanes
                .iter()
                .map(|(name, lane)| {
                    (
                        name.clone(),
                        Arc::new(LaneState::new(name, Some(*lane), watch)),
                    )
                })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            &Watch::off(),
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
        let limits = Limits::new(None, None, &[], &Watch::off());
        assert!(matches!(limits.lane(Some("nope")), Err(Error::Config(_))));
        let lane = Arc::clone(limits.lane(None).unwrap());
        let permits: Vec<_> =
            futures_util::future::join_all((0..100).map(|_| limits.admit(&lane))).await;
        assert!(permits.iter().all(Result::is_ok));
    }
}
