//! A call's outcome and latency, counted per lane when it ends, including when it is dropped;
//! a call slower than the pool's threshold also logs a WARN with its SQL.

use std::time::Instant;

use tracing::Span;

use super::limit::LaneState;
use crate::error::{Error, Result};
use crate::stats::Outcome;

/// Counts a call's outcome and latency when it ends, including when it is dropped.
pub(crate) struct CallRecord<'a> {
    lane: &'a LaneState,
    /// The SQL text (never parameter values), for the slow-call warning.
    sql: &'a str,
    started: Instant,
    done: bool,
    /// A streamed call's span, which lasts as long as its rows are read; disabled for a plain
    /// call, whose span wraps its future instead.
    span: Span,
}

impl<'a> CallRecord<'a> {
    pub(crate) fn start(lane: &'a LaneState, sql: &'a str) -> Self {
        CallRecord {
            lane,
            sql,
            started: Instant::now(),
            done: false,
            span: Span::none(),
        }
    }

    /// The record ends `span` too, with the call's error if it fails.
    pub(crate) fn with_span(mut self, span: Span) -> Self {
        self.span = span;
        self
    }

    pub(crate) fn finish<T>(mut self, r: &Result<T>) {
        if let Err(e) = r {
            self.record_error(e);
        }
        self.end(Outcome::of(r));
    }

    pub(crate) fn fail(mut self, e: &Error) {
        self.record_error(e);
        self.end(Outcome::of_error(e));
    }

    /// The streamed call's span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    fn record_error(&self, e: &Error) {
        if !self.span.is_disabled() {
            super::span::record_error(&self.span, e);
        }
    }

    /// One clock read, shared by the statistics and the slow check (one comparison).
    #[inline]
    fn end(&mut self, outcome: Outcome) {
        self.done = true;
        let elapsed = self.started.elapsed();
        let lane = self.lane;
        lane.stats.record(outcome, elapsed);
        lane.sample();
        if elapsed > lane.watch.slow_after {
            lane.stats.record_slow();
            lane.watch.slow_call(&lane.name, self.sql, elapsed, outcome);
        }
    }
}

impl Drop for CallRecord<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.end(Outcome::Cancelled);
        }
    }
}
