//! Retries that never run a write twice.
//!
//! weir retries on its own only what cannot have reached the server: opening a connection that
//! was refused. A statement that may have been sent is never retried behind the caller's back.
//! [`Database::transaction_with_retry`](crate::Database::transaction_with_retry) re-runs a whole
//! transaction, on the caller's request, when the server aborted it for a serialization
//! failure, a deadlock or a lock wait timeout; a failure while `COMMIT` is in flight is
//! [`Error::CommitOutcomeUnknown`](crate::Error::CommitOutcomeUnknown) and is never retried.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Exponential backoff with full jitter, bounded by attempts and by elapsed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. Default: 5.
    pub max_attempts: u32,
    /// Backoff cap for the first retry; doubles each time. Default: 20 ms.
    pub initial_backoff: Duration,
    /// Largest backoff cap. Default: 1 s.
    pub max_backoff: Duration,
    /// No retry starts after this much time since the first attempt. Default: 10 s.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    #[must_use]
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts.
    #[must_use]
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets the elapsed-time bound.
    #[must_use]
    pub fn with_max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Sets the first and the largest backoff caps.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// How long to sleep before attempt `attempt + 1` (after `attempt` failures), or `None` when
    /// the policy says stop. Full jitter: uniform between zero and the capped exponential.
    pub fn backoff(&self, attempt: u32, started: Instant) -> Option<Duration> {
        if attempt >= self.max_attempts || started.elapsed() >= self.max_elapsed {
            return None;
        }
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_backoff);
        let jittered = exp.mul_f64(random_unit());
        let left = self.max_elapsed.saturating_sub(started.elapsed());
        Some(jittered.min(left))
    }
}

/// One run of retries under a policy: after each failure that may be retried, either a pause
/// before the next attempt or the verdict to give up. The loops that use it are a few lines
/// each (a refused connect in `policy`, a transaction conflict in `database`); when to stop and
/// how long to wait is decided here.
#[derive(Debug)]
pub(crate) struct Retries<'p> {
    policy: &'p RetryPolicy,
    /// The policy's elapsed time counts from here; `None` until the first failure, so the
    /// usual first-time success reads no clock.
    started: Option<Instant>,
    tries: u32,
}

impl<'p> Retries<'p> {
    /// Retries whose elapsed time counts from `started`, or from the first failure.
    pub(crate) fn new(policy: &'p RetryPolicy, started: Option<Instant>) -> Self {
        Retries {
            policy,
            started,
            tries: 0,
        }
    }

    /// After a failure that may be retried: calls `on_retry` (so a retry is counted once it
    /// is decided, and only then), sleeps the backoff and returns `Ok`; or returns the error
    /// when the policy gives up.
    pub(crate) async fn pause(&mut self, failure: Error, on_retry: impl FnOnce()) -> Result<()> {
        self.tries += 1;
        let since = *self.started.get_or_insert_with(Instant::now);
        match self.policy.backoff(self.tries, since) {
            Some(pause) => {
                on_retry();
                tokio::time::sleep(pause).await;
                Ok(())
            }
            None => Err(failure),
        }
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// A per-thread seed from the standard library's randomly keyed hasher.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A uniform number in [0, 1): splitmix64, enough for jitter.
fn random_unit() -> f64 {
    RNG.with(|s| {
        let mut z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_jittered_and_stops() {
        let p = RetryPolicy::default()
            .with_max_attempts(4)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(25));
        let start = Instant::now();
        for attempt in 1..4 {
            let cap =
                Duration::from_millis(10 * (1 << (attempt - 1))).min(Duration::from_millis(25));
            for _ in 0..100 {
                let b = p.backoff(attempt, start).unwrap();
                assert!(b <= cap, "attempt {attempt}: {b:?} > {cap:?}");
            }
        }
        assert_eq!(p.backoff(4, start), None);
        let spread: std::collections::HashSet<_> =
            (0..50).map(|_| p.backoff(3, start).unwrap()).collect();
        assert!(spread.len() > 10, "no jitter");
    }

    #[test]
    fn elapsed_bound_stops_retries() {
        let p = RetryPolicy::default().with_max_elapsed(Duration::ZERO);
        assert_eq!(p.backoff(1, Instant::now()), None);
        assert_eq!(RetryPolicy::never().backoff(1, Instant::now()), None);
    }
}
