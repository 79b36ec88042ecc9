//! The streams [`Executor::fetch_stream`] returns. Where the backend's rows borrow nothing of
//! their session (PostgreSQL's), a stream written out by hand owns them next to the guard that
//! holds the session and polls them directly: a generator costs each row a trip through its
//! yield slot and a resume. Where they are read through the session (MySQL's), a generator
//! owns the guard and reads them.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::{Executor, Overrides};
use crate::backend::{rows_detach, DetachedRows};
use crate::error::{Error, Result};
use crate::policy::{self, CallRecord, SessionGuard};
use crate::row::{ColumnMap, FromRow, Row};
use crate::session::{InFlight, StreamEnd};
use crate::types::Params;

/// The stream of [`Executor::fetch_stream`].
pub(super) fn fetch_stream<'a, E: Executor + ?Sized, T: FromRow + Send + 'a, P: Params + 'a>(
    exec: &'a E,
    sql: &'a str,
    params: P,
) -> impl Stream<Item = Result<T>> + Send + Unpin + 'a {
    use futures_util::future::Either;
    if rows_detach(exec.backend()) {
        Either::Left(DetachedStream::new(exec, sql, params))
    } else {
        // Pinned once per call, so callers need no `pin_mut!`.
        Either::Right(Box::pin(generated_stream(exec, sql, params)))
    }
}

/// Rows that borrow nothing of their session, decoded into `T` as they arrive.
struct DetachedStream<'a, E: Executor + ?Sized, T> {
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
    rows: DetachedRows,
    in_flight: InFlight,
    guard: E::Guard<'a>,
    record: CallRecord<'a>,
}

impl<'a, E: Executor + ?Sized + 'a, T: FromRow> DetachedStream<'a, E, T> {
    /// The stream; nothing happens until it is first polled.
    fn new<P: Params + 'a>(exec: &'a E, sql: &'a str, params: P) -> Self {
        DetachedStream {
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
    let (mut guard, record) = policy::open(&scope, sql, exec.session(&scope)).await?;
    let session = guard.session()?;
    let in_flight = match session.start_stream(sql).await {
        Ok(in_flight) => in_flight,
        Err(e) => {
            record.fail(&e);
            return Err(e);
        }
    };
    let rows = match session.open_rows(sql, &params).await {
        Ok(rows) => rows.detach(),
        Err(e) => {
            let end = session.end_stream(in_flight, StreamEnd::Ended(Err(e)));
            record.finish(&end);
            return Err(end.err().unwrap_or_else(not_detached));
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
            let end = session.end_stream(in_flight, StreamEnd::RowsLeft(not_detached()));
            record.finish(&end);
            Err(end.err().unwrap_or_else(not_detached))
        }
    }
}

/// Only reachable if rows that cannot detach ever came through here, which `fetch_stream`
/// prevents.
#[cold]
fn not_detached() -> Error {
    Error::Driver("rows that borrow their session in a detached stream".into())
}

impl<E: Executor + ?Sized> Open<'_, E> {
    /// Ends the call by how its rows ended: the session goes back to the pool when they were
    /// all read, and is cancelled and discarded when some were left.
    #[cfg_attr(not(feature = "postgres"), allow(clippy::drop_non_drop))]
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

impl<'a, E: Executor + ?Sized + 'a, T: FromRow> Stream for DetachedStream<'a, E, T> {
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
                            match T::from_row_mapped(Row::new(row), &mut this.map) {
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

/// The stream as a generator, for rows read through the session itself (MySQL's).
fn generated_stream<'a, E: Executor + ?Sized, T: FromRow + Send + 'a, P: Params + 'a>(
    exec: &'a E,
    sql: &'a str,
    params: P,
) -> impl Stream<Item = Result<T>> + Send + 'a {
    async_stream::try_stream! {
        let params = params.to_params();
        let scope = exec.scope(&Overrides::default())?;
        let (mut guard, record) = policy::open(&scope, sql, exec.session(&scope)).await?;
        let session = guard.session()?;
        let in_flight = match session.start_stream(sql).await {
            Ok(in_flight) => in_flight,
            Err(e) => {
                record.fail(&e);
                Err(e)?;
                return;
            }
        };
        let ended = match session.open_rows(sql, &params).await {
            Ok(mut rows) => {
                let mut map = ColumnMap::default();
                let read = loop {
                    match rows.next().await {
                        Ok(Some(row)) => match T::from_row_mapped(Row::new(row), &mut map) {
                            Ok(v) => yield v,
                            // Whatever the error, the rows after this one are unread.
                            Err(e) => break StreamEnd::RowsLeft(e),
                        },
                        Ok(None) => break StreamEnd::Ended(Ok(())),
                        Err(e) => break StreamEnd::Ended(Err(e)),
                    }
                };
                match read {
                    StreamEnd::Ended(Ok(())) => StreamEnd::Ended(rows.finish().await),
                    other => other,
                }
            }
            Err(e) => StreamEnd::Ended(Err(e)),
        };
        let end = session.end_stream(in_flight, ended);
        record.finish(&end);
        end?;
    }
}
