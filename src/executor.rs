//! One trait for everything that runs SQL: the pool, a checked-out connection, a transaction.
//!
//! Write `async fn f(db: &impl Executor)` once and call it with any of them. Every method takes
//! `&self`: on the pool, a statement borrows a connection only for its own duration.

use std::future::Future;

use futures_core::Stream;
use futures_util::{pin_mut, StreamExt};
use tokio::sync::MutexGuard;

use crate::conn::{Conn, Connection, Lease};
use crate::error::{Error, Result};
use crate::pool::Database;
use crate::row::FromRow;
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

/// Runs SQL with `$1..$n` placeholders on either backend.
///
/// Implemented by [`Database`] (the pool), [`Connection`] and [`Transaction`].
pub trait Executor: Send + Sync {
    /// What holds the session during one call.
    #[doc(hidden)]
    type Guard<'a>: SessionGuard + 'a
    where
        Self: 'a;

    /// Gets the session for one call (from the pool, or the connection's own).
    #[doc(hidden)]
    fn session(&self) -> impl Future<Output = Result<Self::Guard<'_>>> + Send;

    /// Runs a statement and returns the number of rows it affected.
    ///
    /// # Errors
    /// Acquire, parameter and server errors; see [`Error`].
    fn execute<P: Params>(&self, sql: &str, params: P) -> impl Future<Output = Result<u64>> + Send {
        async move {
            let params = params.to_params();
            let mut guard = self.session().await?;
            guard.session()?.execute(sql, &params).await
        }
    }

    /// Runs a query and collects every row.
    ///
    /// # Errors
    /// As [`execute`](Self::execute), plus [`Error::Decode`] for a row that does not fit `T`.
    fn fetch_all<T: FromRow + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<Vec<T>>> + Send {
        async move {
            let params = params.to_params();
            let mut guard = self.session().await?;
            guard.session()?.fetch_all(sql, &params).await
        }
    }

    /// Runs a query and returns its first row; further rows are read and dropped.
    ///
    /// # Errors
    /// [`Error::RowNotFound`] when there is no row; otherwise as [`fetch_all`](Self::fetch_all).
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
            let mut guard = self.session().await?;
            guard.session()?.fetch_optional(sql, &params).await
        }
    }

    /// Runs a query and decodes the first column of its first row.
    ///
    /// # Errors
    /// [`Error::RowNotFound`] when there is no row; otherwise as [`fetch_all`](Self::fetch_all).
    fn fetch_scalar<T: Decode + Send, P: Params>(
        &self,
        sql: &str,
        params: P,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            let params = params.to_params();
            let mut guard = self.session().await?;
            guard.session()?.fetch_scalar(sql, &params).await
        }
    }

    /// Streams rows as the server sends them, without buffering the result.
    ///
    /// The connection is held until the stream ends or is dropped; a stream dropped early has
    /// its statement cancelled on the server and its connection discarded.
    fn fetch_stream<'a, T: FromRow + Send + 'a, P: Params + 'a>(
        &'a self,
        sql: &'a str,
        params: P,
    ) -> impl Stream<Item = Result<T>> + Send + 'a {
        async_stream::try_stream! {
            let params = params.to_params();
            let mut guard = self.session().await?;
            let rows = guard.session()?.fetch_stream::<T>(sql, &params);
            pin_mut!(rows);
            while let Some(row) = rows.next().await {
                yield row?;
            }
        }
    }
}

impl Executor for Database {
    type Guard<'a> = Lease;

    fn session(&self) -> impl Future<Output = Result<Lease>> + Send {
        self.lease()
    }
}

impl Executor for Connection {
    type Guard<'a> = MutexGuard<'a, Lease>;

    async fn session(&self) -> Result<MutexGuard<'_, Lease>> {
        Ok(self.lease.lock().await)
    }
}

impl Executor for Transaction<'_> {
    type Guard<'a>
        = MutexGuard<'a, Lease>
    where
        Self: 'a;

    async fn session(&self) -> Result<MutexGuard<'_, Lease>> {
        Ok(self.lock().await)
    }
}

impl<E: Executor> Executor for &E {
    type Guard<'a>
        = E::Guard<'a>
    where
        Self: 'a;

    fn session(&self) -> impl Future<Output = Result<Self::Guard<'_>>> + Send {
        (**self).session()
    }
}
