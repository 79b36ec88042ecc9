//! One trait for everything that runs SQL: the pool, a checked-out connection, a transaction.
//!
//! Write `async fn f(db: &impl Executor)` once and call it with any of them. Every method takes
//! `&self`: on the pool, a statement borrows a session only for its own duration. Every call
//! goes through the policy path (`crate::policy`): lane permit, session, statement, under one
//! deadline, counted per lane. The plumbing each handle provides for that sits in a sealed
//! supertrait, so the trait cannot be implemented outside weir.

mod stream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;

use crate::backend::CopyTarget;
use crate::describe::Description;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::policy::{self, CallScope, SessionGuard};
use crate::row::FromRow;
use crate::types::{CopyRows, Decode, Params};

pub(crate) mod sealed {
    use super::*;

    /// What a handle provides for the policy path: its lane and deadline, and how a call gets
    /// the session. Sealed: only weir's handles implement it.
    pub trait Plumbing {
        /// What holds the session during one call.
        type Guard<'a>: SessionGuard + 'a
        where
            Self: 'a;

        /// The lane and deadline a call runs under.
        fn scope(&self, overrides: &Overrides) -> Result<CallScope<'_>>;

        /// Gets the session for one call: lane permit and session on the pool, the
        /// connection's own session elsewhere. The guard borrows the handle, never the scope,
        /// so a call can keep it after its scope is gone (a stream does).
        fn session<'a, 's>(
            &'a self,
            scope: &'s CallScope<'a>,
        ) -> impl Future<Output = Result<Self::Guard<'a>>> + Send + 's
        where
            'a: 's;
    }
}

use sealed::Plumbing;

/// Per-call overrides requested through [`Executor::lane`] and [`Executor::with_timeout`].
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub(crate) lane: Option<Arc<str>>,
    pub(crate) timeout: Option<Option<Duration>>,
}

/// Runs `$op` on the session `$s` of one call through `$exec`, under the policy path.
macro_rules! call {
    ($exec:expr, $sql:expr, |$s:ident| $op:expr) => {{
        let scope = $exec.scope(&Overrides::default())?;
        policy::run_call!(&scope, $sql, $exec.session(&scope), |$s| $op)
    }};
}

/// Runs SQL with `$1..$n` placeholders on either backend.
///
/// Implemented by [`Database`](crate::Database) (the pool), [`Connection`](crate::Connection),
/// [`Transaction`](crate::Transaction), and [`Scoped`] (any of them with a lane or a timeout of
/// its own).
///
/// On the pool, and in a transaction begun on it, each call or transaction has a session of its
/// own that is closed afterwards if a statement changed it (`SET`, a temporary table, `LISTEN`,
/// a session lock): such a change does not last, and a WARN says so once per SQL text. Use
/// [`DatabaseConfig::after_connect`](crate::DatabaseConfig::after_connect) or a
/// [`Connection`](crate::Connection) to keep it.
pub trait Executor: Plumbing + Send + Sync {
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
    /// [`DatabaseConfig::with_lane`](crate::DatabaseConfig::with_lane)). A connection or a
    /// transaction holds a default-lane permit from the moment it was taken, so there the
    /// name has no effect: its calls are admitted and counted in the default lane. (Generic
    /// code may still call `lane` on any executor.)
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

    /// Runs a statement and returns the number of rows it affected: the rows an `INSERT`,
    /// `UPDATE` or `DELETE` changed, and for a statement that returns rows (`SELECT`, `SHOW`,
    /// `... RETURNING`) the number of rows it returned, which are read and dropped. The same
    /// on both backends. (MySQL's own count for an `UPDATE` is of rows changed, not matched.)
    ///
    /// # Errors
    /// Acquire, limit, parameter and server errors; see [`Error`](crate::Error).
    fn execute<P: Params>(&self, sql: &str, params: P) -> impl Future<Output = Result<u64>> + Send {
        async move {
            let params = params.to_params();
            call!(self, sql, |s| s.execute(sql, &params))
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
        async move { call!(self, sql, |s| s.execute_script(sql)) }
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
            call!(self, sql, |s| s.fetch_all(sql, &params))
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
                .ok_or(Error::RowNotFound)
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
            call!(self, sql, |s| s.fetch_optional(sql, &params))
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
            call!(self, sql, |s| s.fetch_scalar(sql, &params))
        }
    }

    /// Prepares a statement without running it and returns its parameter types and result
    /// columns (name, SQL type, nullability where the server says). A statement that returns
    /// no rows has no columns; a query's columns are known here even when it would return
    /// no row. The statement goes through the call's lane, deadline and session as any
    /// other, and stays in the session's statement cache for a later call to run.
    ///
    /// ```no_run
    /// # async fn f(db: &weir::Database) -> weir::Result<()> {
    /// use weir::Executor;
    ///
    /// let d = db.describe("SELECT id, name FROM users WHERE id = $1").await?;
    /// for c in &d.columns {
    ///     println!("{} {} nullable: {:?}", c.name, c.sql_type, c.nullable);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`execute`](Self::execute): the server's error for invalid SQL,
    /// [`Error::InvalidStatement`](crate::Error::InvalidStatement) for an empty statement or a
    /// `?` placeholder on MySQL. In a transaction, a failure fails the transaction.
    fn describe(&self, sql: &str) -> impl Future<Output = Result<Description>> + Send {
        async move { call!(self, sql, |s| s.describe(sql)) }
    }

    /// Streams rows as the server sends them, without buffering the result.
    ///
    /// The connection (and lane permit) is held until the stream ends or is dropped; a stream
    /// dropped early has its statement cancelled on the server and its connection discarded.
    /// The call deadline covers getting the connection, not reading the rows: the caller
    /// decides how long to read. The stream is `Unpin`: read it with `try_next` as it is.
    /// A result with no rows yields no [`Row`](crate::Row) to read columns from:
    /// [`describe`](Self::describe) gives them.
    ///
    /// ```no_run
    /// # async fn f(db: &weir::Database) -> weir::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use weir::Executor;
    ///
    /// let mut rows = db.fetch_stream::<(i64, String), _>("SELECT id, name FROM users", ());
    /// while let Some((id, name)) = rows.try_next().await? {
    ///     println!("{id}: {name}");
    /// }
    /// # Ok(()) }
    /// ```
    fn fetch_stream<'a, T: FromRow + Send + 'a, P: Params + 'a>(
        &'a self,
        sql: &'a str,
        params: P,
    ) -> impl Stream<Item = Result<T>> + Send + Unpin + 'a {
        stream::fetch_stream(self, sql, params)
    }
}

/// Runs an `INSERT` and returns the key the database generated for it, `None` when it
/// generated none. PostgreSQL: the statement ends in `RETURNING <key>`; MySQL/MariaDB (MySQL 8
/// has no `RETURNING`): the `LAST_INSERT_ID()` of the statement, the first one of a multi-row
/// `INSERT`. The SQL therefore differs per backend; the repository writes it.
pub(crate) async fn insert_returning_id<E: Executor + ?Sized, K: Decode + Send, P: Params>(
    exec: &E,
    sql: &str,
    params: P,
) -> Result<Option<K>> {
    let params = params.to_params();
    call!(exec, sql, |s| s.insert_returning_id::<K>(sql, &params))
}

/// Bulk-loads `rows` into `target` with one binary `COPY` on PostgreSQL (the repository's
/// `insert_many`; MySQL gets multi-row `INSERT`s instead).
pub(crate) async fn copy_in<E: Executor + ?Sized>(
    exec: &E,
    target: CopyTarget<'_>,
    rows: &dyn CopyRows,
) -> Result<u64> {
    call!(exec, target.table, |s| s.copy_in(target, rows))
}

/// Runs SQL weir wrote itself with the backend's own placeholders (`?` on MySQL), which
/// [`Executor::execute`] refuses in a caller's SQL.
pub(crate) async fn execute_native<E: Executor + ?Sized, P: Params>(
    exec: &E,
    sql: &str,
    params: P,
) -> Result<u64> {
    let params = params.to_params();
    call!(exec, sql, |s| s.execute_native(sql, &params))
}

impl<E: Executor> Plumbing for &E {
    type Guard<'a>
        = E::Guard<'a>
    where
        Self: 'a;

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

impl<E: Executor> Executor for &E {
    fn backend(&self) -> Backend {
        (**self).backend()
    }
}

/// An executor with a lane or a deadline of its own; see [`Executor::with_timeout`] and
/// [`Executor::lane`]. The two combine: `db.lane("reports").with_timeout(d)`.
#[derive(Debug)]
pub struct Scoped<'e, E> {
    inner: &'e E,
    overrides: Overrides,
}

impl<E: Executor> Plumbing for Scoped<'_, E> {
    type Guard<'a>
        = E::Guard<'a>
    where
        Self: 'a;

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

impl<E: Executor> Executor for Scoped<'_, E> {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
}
