//! One trait for everything that runs SQL: the pool, a checked-out connection, a transaction.
//!
//! Write `async fn f(db: &impl Executor)` once and call it with any of them. Every method takes
//! `&self`: on the pool, a statement borrows a connection only for its own duration.
//!
//! Every call goes through the same steps, whatever the backend: lane permit, connection,
//! statement, all under one deadline, with the outcome counted per lane. That policy lives here
//! and in [`crate::limit`]; the backend adapters only do I/O.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::MutexGuard;
use tracing::Instrument;

use crate::conn::{Conn, Connection, Lease, StreamEnd};
use crate::engine::Backend;
use crate::error::{CallPhase, Result};
use crate::limit::{with_deadline, CallRecord, LaneState, PhaseCell};
use crate::pool::Database;
use crate::row::{ColumnMap, FromRow};
use crate::tx::Transaction;
use crate::types::{Decode, Params};

/// Access to a session for the duration of one call. Internal.
#[doc(hidden)]
pub trait SessionGuard: Send {
    /// The session.
    fn session(&mut self) -> Result<&mut Conn>;
}

impl SessionGuard for Lease {
    fn session(&mut self) -> Result<&mut Conn> {
        self.conn()
    }
}

impl SessionGuard for MutexGuard<'_, Lease> {
    fn session(&mut self) -> Result<&mut Conn> {
        self.conn()
    }
}

/// Rows for [`Executor::copy_in`], produced one at a time while the `COPY` runs, so a bulk
/// load never holds the parameters of all its rows at once. Internal.
#[doc(hidden)]
pub trait CopyRows: Sync {
    /// How many rows there are.
    fn count(&self) -> usize;

    /// Appends the values of row `index` to `out`.
    ///
    /// # Errors
    /// A row that cannot give its values.
    fn write_row<'s>(&'s self, index: usize, out: &mut Vec<crate::types::Param<'s>>) -> Result<()>;
}

/// The settings one call runs under: its lane, its deadline, and the phase it is in. Internal.
#[doc(hidden)]
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

/// Per-call overrides requested through [`Executor::lane`] and [`Executor::with_timeout`].
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub(crate) lane: Option<Arc<str>>,
    pub(crate) timeout: Option<Option<Duration>>,
}

/// Runs one call: scope, deadline, session, statement, outcome. Spans are at DEBUG, which
/// is also the only level that records the SQL text; parameter values are never recorded.
///
/// The spans wrap the call only when a subscriber wants them: an instrumented future enters
/// and leaves its span on every poll, which costs even when nobody listens (with tracing's
/// `log` fallback compiled in, each enter checks the logger), and profiles showed it.
macro_rules! call {
    ($exec:expr, $sql:expr, |$conn:ident| $op:expr) => {{
        let scope = $exec.scope(&Overrides::default())?;
        let record = CallRecord::start(scope.lane);
        let span = tracing::debug_span!("weir.call", lane = %scope.lane.name, sql = $sql);
        let r = if span.is_disabled() {
            with_deadline(scope.timeout, &scope.phase, async {
                let mut guard = $exec.session(&scope).await?;
                scope.phase.set(CallPhase::Execute);
                let $conn = guard.session()?;
                $op.await
            })
            .await
        } else {
            with_deadline(
                scope.timeout,
                &scope.phase,
                async {
                    let mut guard = $exec
                        .session(&scope)
                        .instrument(tracing::debug_span!("weir.acquire"))
                        .await?;
                    scope.phase.set(CallPhase::Execute);
                    let $conn = guard.session()?;
                    $op.instrument(tracing::debug_span!("weir.execute")).await
                }
                .instrument(span),
            )
            .await
        };
        record.finish(&r);
        r
    }};
}

/// Runs SQL with `$1..$n` placeholders on either backend.
///
/// Implemented by [`Database`] (the pool), [`Connection`], [`Transaction`], and [`Scoped`]
/// (any of them with a lane or a timeout of its own).
pub trait Executor: Send + Sync {
    /// What holds the session during one call.
    #[doc(hidden)]
    type Guard<'a>: SessionGuard + 'a
    where
        Self: 'a;

    /// The lane and deadline a call runs under.
    #[doc(hidden)]
    fn scope(&self, overrides: &Overrides) -> Result<CallScope<'_>>;

    /// Gets the session for one call: lane permit and connection on the pool, the connection's
    /// own session elsewhere.
    #[doc(hidden)]
    ///
    /// The guard borrows the executor, never the scope, so a call can keep it after its
    /// scope is gone (a stream does).
    fn session<'a, 's>(
        &'a self,
        scope: &'s CallScope<'a>,
    ) -> impl Future<Output = Result<Self::Guard<'a>>> + Send + 's
    where
        'a: 's;

    /// The backend statements through this executor run on, for code that writes SQL per
    /// backend: the repository layer, or a service's own PostgreSQL-only query.
    fn backend(&self) -> Backend;

    /// Runs calls through this executor with their own deadline, covering lane permit,
    /// connection and statement; a statement still running when it fires is cancelled on the
    /// server and the call fails with [`Error::QueryTimeout`](crate::Error::QueryTimeout).
    fn with_timeout(&self, timeout: Duration) -> Scoped<'_, Self>
    where
        Self: Sized,
    {
        Scoped {
            inner: self,
            overrides: Overrides {
                lane: None,
                timeout: Some(Some(timeout)),
            },
        }
    }

    /// Runs calls through this executor in the named lane (see
    /// [`DatabaseConfig::with_lane`](crate::DatabaseConfig::with_lane)). On a connection or a
    /// transaction, which already hold their permit, the lane only labels the statistics.
    fn lane(&self, name: &str) -> Scoped<'_, Self>
    where
        Self: Sized,
    {
        Scoped {
            inner: self,
            overrides: Overrides {
                lane: Some(name.into()),
                timeout: None,
            },
        }
    }

    /// Runs a statement and returns the number of rows it affected.
    ///
    /// # Errors
    /// Acquire, limit, parameter and server errors; see [`Error`](crate::Error).
    fn execute<P: Params>(&self, sql: &str, params: P) -> impl Future<Output = Result<u64>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |conn| conn.execute(sql, &params))
        }
    }

    /// Runs an `INSERT` and returns the key the database generated for it, `None` when it
    /// generated none. PostgreSQL: the statement ends in `RETURNING <key>`, and the first
    /// column of its first row is the key. MySQL/MariaDB (MySQL 8 has no `RETURNING`): the
    /// `LAST_INSERT_ID()` of the statement, the first one for a multi-row `INSERT`. The SQL
    /// therefore differs per backend; [`crate::repo::Repo::insert`] writes it.
    ///
    /// # Errors
    /// As [`fetch_scalar`](Self::fetch_scalar).
    #[doc(hidden)]
    fn insert_returning_id<K: Decode + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<Option<K>>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |conn| conn
                .insert_returning_id::<K>(sql, &params))
        }
    }

    /// Bulk-loads `rows` into `table` (quoted) on PostgreSQL with one binary `COPY`, for the
    /// quoted `columns` list, `width` values a row. [`crate::repo::Repo::insert_many`] uses
    /// it; MySQL gets multi-row `INSERT`s instead.
    ///
    /// # Errors
    /// As [`execute`](Self::execute); [`Error::Config`](crate::Error::Config) on MySQL.
    #[doc(hidden)]
    fn copy_in(
        &self,
        table: &str,
        columns: &str,
        width: usize,
        rows: &dyn CopyRows,
    ) -> impl Future<Output = Result<u64>> + Send {
        async move {
            call!(self, table, |conn| conn
                .copy_in(table, columns, width, rows))
        }
    }

    /// Runs several `;`-separated statements with no parameters and no rows (a schema script,
    /// a migration), in one round trip through the simple query protocol. The connection it
    /// ran on is closed afterwards rather than reused, since a script may change the session.
    ///
    /// # Errors
    /// The first failing statement's error. On PostgreSQL a script is one implicit
    /// transaction, so nothing of it remains; on MySQL the statements before the failing one
    /// stay applied (unless the script runs inside a transaction and DDL did not commit it).
    fn execute_script(&self, sql: &str) -> impl Future<Output = Result<()>> + Send {
        async move { call!(self, sql, |conn| conn.execute_script(sql)) }
    }

    /// Runs a query and collects every row.
    ///
    /// # Errors
    /// As [`execute`](Self::execute), plus [`Error::Decode`](crate::Error::Decode) for a row
    /// that does not fit `T`.
    fn fetch_all<T: FromRow + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<Vec<T>>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |conn| conn.fetch_all(sql, &params))
        }
    }

    /// Runs a query and returns its first row; further rows are read and dropped.
    ///
    /// # Errors
    /// [`Error::RowNotFound`](crate::Error::RowNotFound) when there is no row; otherwise as
    /// [`fetch_all`](Self::fetch_all).
    fn fetch_one<T: FromRow + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            self.fetch_optional(sql, params)
                .await?
                .ok_or(crate::Error::RowNotFound)
        }
    }

    /// Runs a query and returns its first row, if any.
    ///
    /// # Errors
    /// As [`fetch_all`](Self::fetch_all).
    fn fetch_optional<T: FromRow + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |conn| conn.fetch_optional(sql, &params))
        }
    }

    /// Runs a query and decodes the first column of its first row.
    ///
    /// # Errors
    /// [`Error::RowNotFound`](crate::Error::RowNotFound) when there is no row; otherwise as
    /// [`fetch_all`](Self::fetch_all).
    fn fetch_scalar<T: Decode + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |conn| conn.fetch_scalar(sql, &params))
        }
    }

    /// Streams rows as the server sends them, without buffering the result.
    ///
    /// The connection (and lane permit) is held until the stream ends or is dropped; a stream
    /// dropped early has its statement cancelled on the server and its connection discarded.
    /// The call deadline covers getting the connection, not reading the rows: the caller
    /// decides how long to read.
    fn fetch_stream<'a, T: FromRow + Send + 'a, P: Params + 'a>(
        &'a self,
        sql: &'a str,
        params: P,
    ) -> impl Stream<Item = Result<T>> + Send + 'a {
        #[cfg(feature = "postgres")]
        {
            use futures_util::future::Either;
            if self.backend() == Backend::Postgres {
                Either::Left(crate::stream::PgStream::new(self, sql, params))
            } else {
                Either::Right(generated_stream(self, sql, params))
            }
        }
        #[cfg(not(feature = "postgres"))]
        generated_stream(self, sql, params)
    }
}

/// Runs SQL weir wrote itself with the backend's own placeholders (`?` on MySQL), which
/// [`Executor::execute`] refuses in a caller's SQL.
pub(crate) async fn execute_native<E: Executor + ?Sized, P: Params>(
    exec: &E,
    sql: &str,
    params: P,
) -> Result<u64> {
    let params = params.to_params();
    call!(exec, sql, |conn| conn.execute_native(sql, &params))
}

/// [`Executor::fetch_stream`] as a generator, for MySQL, whose rows are read through the
/// connection itself (PostgreSQL's own stream is in [`crate::stream`]).
fn generated_stream<'a, E: Executor + ?Sized, T: FromRow + Send + 'a, P: Params + 'a>(
    exec: &'a E,
    sql: &'a str,
    params: P,
) -> impl Stream<Item = Result<T>> + Send + 'a {
    async_stream::try_stream! {
        let params = params.to_params();
        let scope = exec.scope(&Overrides::default())?;
        let mut record = Some(CallRecord::start(scope.lane));
        let session = with_deadline(scope.timeout, &scope.phase, exec.session(&scope)).await;
        let mut guard = match session {
            Ok(guard) => guard,
            Err(e) => {
                if let Some(r) = record.take() {
                    r.fail(&e);
                }
                Err(e)?
            }
        };
        scope.phase.set(CallPhase::Execute);
        let conn = guard.session()?;
        let started = conn.start_stream(sql).await;
        if let Ok(in_flight) = started {
            let ended = match conn.open_rows(sql, &params).await {
                Ok(mut rows) => {
                    let mut map = ColumnMap::default();
                    let read = loop {
                        match rows.next().await {
                            Ok(Some(row)) => match T::from_row_mapped(row, &mut map) {
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
            let end = conn.end_stream(in_flight, ended);
            if let Some(r) = record.take() {
                r.finish(&end);
            }
            end?;
        } else if let Err(e) = started {
            if let Some(r) = record.take() {
                r.fail(&e);
            }
            Err(e)?;
        }
    }
}

impl Executor for Database {
    type Guard<'a> = Lease;

    fn backend(&self) -> Backend {
        self.config().backend()
    }

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        let lane = self.limits().lane(o.lane.as_deref())?;
        Ok(CallScope::new(
            lane,
            o.timeout.unwrap_or(self.config().statement_timeout),
        ))
    }

    fn session<'a, 's>(
        &'a self,
        scope: &'s CallScope<'a>,
    ) -> impl Future<Output = Result<Lease>> + Send + 's
    where
        'a: 's,
    {
        self.lease_for(scope)
    }
}

impl Executor for Connection {
    type Guard<'a> = MutexGuard<'a, Lease>;

    fn backend(&self) -> Backend {
        Connection::backend(self)
    }

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        Ok(CallScope::new(
            &self.lane,
            o.timeout.unwrap_or(self.timeout),
        ))
    }

    async fn session<'a, 's>(&'a self, scope: &'s CallScope<'a>) -> Result<MutexGuard<'a, Lease>>
    where
        'a: 's,
    {
        scope.phase.set(CallPhase::Acquire);
        Ok(self.lease.lock().await)
    }
}

impl Executor for Transaction<'_> {
    type Guard<'a>
        = MutexGuard<'a, Lease>
    where
        Self: 'a;

    fn backend(&self) -> Backend {
        Transaction::backend(self)
    }

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        Ok(CallScope::new(
            self.lane(),
            o.timeout.unwrap_or(self.timeout()),
        ))
    }

    async fn session<'a, 's>(&'a self, scope: &'s CallScope<'a>) -> Result<MutexGuard<'a, Lease>>
    where
        'a: 's,
    {
        scope.phase.set(CallPhase::Acquire);
        Ok(self.lock().await)
    }
}

impl<E: Executor> Executor for &E {
    type Guard<'a>
        = E::Guard<'a>
    where
        Self: 'a;

    fn backend(&self) -> Backend {
        (**self).backend()
    }

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        (**self).scope(o)
    }

    fn session<'a, 's>(
        &'a self,
        scope: &'s CallScope<'a>,
    ) -> impl Future<Output = Result<Self::Guard<'a>>> + Send + 's
    where
        'a: 's,
    {
        (**self).session(scope)
    }
}

/// An executor with a lane or a deadline of its own; see [`Executor::with_timeout`] and
/// [`Executor::lane`]. The two combine: `db.lane("reports").with_timeout(d)`.
#[derive(Debug)]
pub struct Scoped<'e, E> {
    inner: &'e E,
    overrides: Overrides,
}

impl<E: Executor> Executor for Scoped<'_, E> {
    type Guard<'a>
        = E::Guard<'a>
    where
        Self: 'a;

    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    fn scope(&self, o: &Overrides) -> Result<CallScope<'_>> {
        // The innermost request wins: `db.with_timeout(a).with_timeout(b)` runs under `b`.
        let merged = Overrides {
            lane: o.lane.clone().or_else(|| self.overrides.lane.clone()),
            timeout: o.timeout.or(self.overrides.timeout),
        };
        self.inner.scope(&merged)
    }

    fn session<'a, 's>(
        &'a self,
        scope: &'s CallScope<'a>,
    ) -> impl Future<Output = Result<Self::Guard<'a>>> + Send + 's
    where
        'a: 's,
    {
        self.inner.session(scope)
    }
}
