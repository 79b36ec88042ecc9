//! The stream [`Executor::fetch_stream`] returns on PostgreSQL, written out by hand.
//!
//! A generator (`async_stream`) costs each row a trip through its yield slot and a resume of
//! its state machine: about a quarter of weir's instructions per streamed row in callgrind,
//! more than the decoding itself. tokio-postgres's row stream borrows nothing of the
//! connection, so this stream can own it next to the guard that holds the session and poll it
//! directly. MySQL's rows are read through the connection itself and keep the generator.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::backend::PgRows;
use crate::conn::{InFlight, StreamEnd};
use crate::error::{CallPhase, Error, Result};
use crate::executor::{Executor, Overrides, SessionGuard};
use crate::limit::{with_deadline, CallRecord};
use crate::row::{ColumnMap, FromRow};
use crate::types::Params;

/// Rows of one PostgreSQL query, decoded into `T` as they arrive.
pub(crate) struct PgStream<'a, E: Executor + ?Sized, T> {
    state: State<'a, E>,
    map: ColumnMap,
    rows_of: PhantomData<fn() -> T>,
}

type Opening<'a, E> = Pin<Box<dyn Future<Output = Result<Box<Open<'a, E>>>> + Send + 'a>>;

enum State<'a, E: Executor + ?Sized> {
    /// Lane permit, session, statement sent.
    Opening(Opening<'a, E>),
    Reading(Box<Open<'a, E>>),
    Done,
}

/// A running query. Dropped before its end (the caller let the stream go), its fields drop in
/// this order: the rows, the statement in flight (which sends the cancel), the guard (the
/// busy session is discarded, not reused), the call record (counted as cancelled).
struct Open<'a, E: Executor + ?Sized + 'a> {
    rows: PgRows,
    in_flight: InFlight,
    guard: E::Guard<'a>,
    record: CallRecord<'a>,
}

impl<'a, E: Executor + ?Sized + 'a, T: FromRow> PgStream<'a, E, T> {
    /// The stream; nothing happens until it is first polled.
    pub(crate) fn new<P: Params + 'a>(exec: &'a E, sql: &'a str, params: P) -> Self {
        PgStream {
            state: State::Opening(Box::pin(open(exec, sql, params))),
            map: ColumnMap::default(),
            rows_of: PhantomData,
        }
    }
}

/// Takes the lane permit and the session under the call's deadline, and sends the query.
async fn open<'a, E: Executor + ?Sized + 'a, P: Params + 'a>(
    exec: &'a E,
    sql: &'a str,
    params: P,
) -> Result<Box<Open<'a, E>>> {
    let params = params.to_params();
    let scope = exec.scope(&Overrides::default())?;
    let record = CallRecord::start(scope.lane);
    let mut guard = match with_deadline(scope.timeout, &scope.phase, exec.session(&scope)).await {
        Ok(guard) => guard,
        Err(e) => {
            record.fail(&e);
            return Err(e);
        }
    };
    scope.phase.set(CallPhase::Execute);
    let conn = guard.session()?;
    let in_flight = match conn.start_stream(sql).await {
        Ok(in_flight) => in_flight,
        Err(e) => {
            record.fail(&e);
            return Err(e);
        }
    };
    let rows = match conn.open_rows(sql, &params).await {
        Ok(rows) => rows.into_pg(),
        Err(e) => {
            let end = conn.end_stream(in_flight, StreamEnd::Ended(Err(e)));
            record.finish(&end);
            return Err(end.err().unwrap_or_else(not_postgres));
        }
    };
    match rows {
        Ok(rows) => Ok(Box::new(Open {
            rows,
            in_flight,
            guard,
            record,
        })),
        Err(_) => {
            let end = conn.end_stream(in_flight, StreamEnd::RowsLeft(not_postgres()));
            record.finish(&end);
            Err(end.err().unwrap_or_else(not_postgres))
        }
    }
}

/// Only reachable if a MySQL session ever came through here, which `fetch_stream` prevents.
#[cold]
fn not_postgres() -> Error {
    Error::Driver("a PostgreSQL row stream on a session of another backend".into())
}

impl<E: Executor + ?Sized> Open<'_, E> {
    /// Ends the call by how its rows ended: the session goes back to the pool when they were
    /// all read, and is cancelled and discarded when some were left.
    fn end(self, ended: StreamEnd) -> Result<()> {
        let Open {
            rows,
            in_flight,
            mut guard,
            record,
        } = self;
        let end = match guard.session() {
            Ok(conn) => conn.end_stream(in_flight, ended),
            Err(e) => Err(e),
        };
        record.finish(&end);
        drop(rows);
        end
    }
}

impl<'a, E: Executor + ?Sized + 'a, T: FromRow> Stream for PgStream<'a, E, T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Opening(opening) => match opening.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(open)) => this.state = State::Reading(open),
                    Poll::Ready(Err(e)) => {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                },
                State::Reading(open) => {
                    let ended = match open.rows.poll_next(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Some(Ok(row))) => {
                            match T::from_row_mapped(row, &mut this.map) {
                                Ok(v) => return Poll::Ready(Some(Ok(v))),
                                // Whatever the error, the rows after this one are unread.
                                Err(e) => StreamEnd::RowsLeft(e),
                            }
                        }
                        Poll::Ready(Some(Err(e))) => StreamEnd::Ended(Err(e)),
                        Poll::Ready(None) => StreamEnd::Ended(Ok(())),
                    };
                    let State::Reading(open) = std::mem::replace(&mut this.state, State::Done)
                    else {
                        return Poll::Ready(None);
                    };
                    return Poll::Ready(open.end(ended).err().map(Err));
                }
                State::Done => return Poll::Ready(None),
            }
        }
    }
}
