//! Outcome counts and latency per lane: readable as a snapshot ([`crate::Database::stats`]) and
//! published through the `metrics` facade, with the pool's own metrics (`pool`); docs/metrics.md
//! lists them all. Which exporter to install is the service's choice; install it before
//! building the pool, since weir registers every handle then.

mod pool;

pub(crate) use pool::{CloseReason, PendingClose, PoolMetrics};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Error,
    QueryTimeout,
    AcquireTimeout,
    QueueTimeout,
    Shed,
    Cancelled,
}

impl Outcome {
    const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::QueryTimeout,
        Outcome::AcquireTimeout,
        Outcome::QueueTimeout,
        Outcome::Shed,
        Outcome::Cancelled,
    ];

    pub(crate) fn of<T>(r: &Result<T>) -> Self {
        match r {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::of_error(e),
        }
    }

    pub(crate) fn of_error(e: &Error) -> Self {
        match e {
            Error::QueryTimeout { .. } => Outcome::QueryTimeout,
            Error::PoolTimeout { .. } | Error::Unreachable { .. } => Outcome::AcquireTimeout,
            Error::QueueTimeout { .. } => Outcome::QueueTimeout,
            Error::Shed { .. } => Outcome::Shed,
            _ => Outcome::Error,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::QueryTimeout => "query_timeout",
            Outcome::AcquireTimeout => "acquire_timeout",
            Outcome::QueueTimeout => "queue_timeout",
            Outcome::Shed => "shed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Latency buckets: upper bounds of 2^k microseconds, from 64 µs to about 2 minutes.
const BUCKETS: usize = 22;
const FIRST_BUCKET_MICROS: u64 = 64;

/// Counters of one lane. All updates are relaxed atomics: no lock on the call path.
#[derive(Debug)]
pub(crate) struct LaneStats {
    outcomes: [AtomicU64; 7],
    retried: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    max_micros: AtomicU64,
    handles: Handles,
}

/// `metrics` handles, registered once per lane with whatever recorder is installed then.
#[derive(Debug)]
struct Handles {
    outcomes: [metrics::Counter; 7],
    retried: metrics::Counter,
    latency: metrics::Histogram,
    slow: metrics::Counter,
    shed: metrics::Counter,
    queue_timeouts: metrics::Counter,
    in_flight: metrics::Gauge,
    queued: metrics::Gauge,
}

impl LaneStats {
    /// The statistics of lane `lane` of pool `pool`, its metrics registered now.
    pub(crate) fn new(pool: &str, lane: &str) -> Self {
        let l = || [("pool", pool.to_owned()), ("lane", lane.to_owned())];
        LaneStats {
            outcomes: Default::default(),
            retried: AtomicU64::new(0),
            latency: Default::default(),
            max_micros: AtomicU64::new(0),
            handles: Handles {
                outcomes: Outcome::ALL.map(|o| {
                    let [p, l] = l();
                    metrics::counter!(
                        "weir_calls_total",
                        &[p, l, ("outcome", o.label().to_owned())]
                    )
                }),
                retried: metrics::counter!("weir_retries_total", &l()),
                latency: metrics::histogram!("weir_call_seconds", &l()),
                slow: metrics::counter!("weir_slow_calls_total", &l()),
                shed: metrics::counter!("weir_shed_total", &l()),
                queue_timeouts: metrics::counter!("weir_queue_timeouts_total", &l()),
                in_flight: metrics::gauge!("weir_lane_in_flight", &l()),
                queued: metrics::gauge!("weir_lane_queued", &l()),
            },
        }
    }

    /// Sets the lane's gauges to what it holds now.
    #[inline]
    pub(crate) fn sample(&self, in_flight: usize, queued: usize) {
        self.handles.in_flight.set(in_flight as f64);
        self.handles.queued.set(queued as f64);
    }

    /// Counts a call slower than the slow-statement threshold.
    pub(crate) fn record_slow(&self) {
        self.handles.slow.increment(1);
    }

    pub(crate) fn record(&self, outcome: Outcome, elapsed: Duration) {
        let i = outcome as usize;
        self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = (64 - (micros / FIRST_BUCKET_MICROS).leading_zeros()) as usize;
        self.latency[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
        let h = &self.handles;
        if let Some(c) = h.outcomes.get(i) {
            c.increment(1);
        }
        match outcome {
            Outcome::Shed => h.shed.increment(1),
            Outcome::QueueTimeout => h.queue_timeouts.increment(1),
            _ => {}
        }
        h.latency.record(elapsed.as_secs_f64());
    }

    pub(crate) fn record_retry(&self) {
        self.retried.fetch_add(1, Ordering::Relaxed);
        self.handles.retried.increment(1);
    }

    fn count(&self, o: Outcome) -> u64 {
        self.outcomes[o as usize].load(Ordering::Relaxed)
    }

    /// The upper bound of the bucket holding quantile `q` of the recorded latencies.
    fn quantile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(FIRST_BUCKET_MICROS << i).min(Duration::from_micros(
                    self.max_micros.load(Ordering::Relaxed),
                ));
            }
        }
        Duration::from_micros(self.max_micros.load(Ordering::Relaxed))
    }

    pub(crate) fn snapshot(&self, lane: &str, in_flight: usize, waiting: usize) -> LaneSnapshot {
        LaneSnapshot {
            lane: lane.to_owned(),
            in_flight,
            waiting,
            ok: self.count(Outcome::Ok),
            errors: self.count(Outcome::Error),
            query_timeouts: self.count(Outcome::QueryTimeout),
            acquire_timeouts: self.count(Outcome::AcquireTimeout),
            queue_timeouts: self.count(Outcome::QueueTimeout),
            shed: self.count(Outcome::Shed),
            cancelled: self.count(Outcome::Cancelled),
            retried: self.retried.load(Ordering::Relaxed),
            latency_p50: self.quantile(0.5),
            latency_p99: self.quantile(0.99),
            latency_max: Duration::from_micros(self.max_micros.load(Ordering::Relaxed)),
        }
    }
}

/// Counts and latency of one lane since the pool was created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaneSnapshot {
    /// Lane name (`default` for calls that name none).
    pub lane: String,
    /// Statements running now (0 for a lane without a limit).
    pub in_flight: usize,
    /// Calls waiting for a permit now.
    pub waiting: usize,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed with any other error (server errors, lost connections, ...).
    pub errors: u64,
    /// Calls whose deadline fired.
    pub query_timeouts: u64,
    /// Calls that got no connection in time (saturated or unreachable).
    pub acquire_timeouts: u64,
    /// Calls that waited too long for a lane permit.
    pub queue_timeouts: u64,
    /// Calls refused because the lane's queue was full.
    pub shed: u64,
    /// Calls dropped by their caller before they finished.
    pub cancelled: u64,
    /// Attempts repeated by a retry policy.
    pub retried: u64,
    /// Median latency (upper bound of its power-of-two bucket).
    pub latency_p50: Duration,
    /// 99th percentile latency (upper bound of its bucket).
    pub latency_p99: Duration,
    /// Slowest call.
    pub latency_max: Duration,
}

/// A snapshot of every lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// One entry per lane, the default lane first.
    pub lanes: Vec<LaneSnapshot>,
}

impl Stats {
    /// The lane called `name`.
    pub fn lane(&self, name: &str) -> Option<&LaneSnapshot> {
        self.lanes.iter().find(|l| l.lane == name)
    }
}
