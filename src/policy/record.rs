//! A call's outcome and latency, counted per lane when it ends, including when it is dropped.

use std::time::Instant;

use super::limit::LaneState;
use crate::error::{Error, Result};
use crate::stats::Outcome;

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
