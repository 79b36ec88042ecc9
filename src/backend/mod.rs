//! The one place where the two backends meet: enums with a variant per driver, so every call is
//! a `match`, not a virtual call. Each adapter does I/O and classifies errors; policy lives in
//! `pool`, `conn` and `tx`.

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod pg_socket;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;

#[cfg(feature = "postgres")]
use std::marker::PhantomData;
#[cfg(feature = "postgres")]
use std::pin::Pin;

#[cfg(feature = "postgres")]
use futures_core::Stream;

use crate::config::DatabaseConfig;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::CopyRows;
use crate::row::{Row, RowInner};
#[cfg(feature = "mysql")]
use crate::types::Cell;
use crate::types::{Decode, Param};

/// One of the pool's `max_size` session slots. A session holds its slot until the server
/// has let the session go, not merely until the pool forgets the connection.
pub(crate) type Slot = tokio::sync::OwnedSemaphorePermit;

/// Opens connections of one backend.
#[allow(clippy::large_enum_variant)] // one per pool
pub(crate) enum Connector {
    #[cfg(feature = "postgres")]
    Pg(postgres::PgConnector),
    #[cfg(feature = "mysql")]
    My(mysql::MyConnector),
}

impl Connector {
    pub(crate) fn new(cfg: &DatabaseConfig) -> Result<Self> {
        match cfg.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => Ok(Connector::Pg(postgres::PgConnector::new(cfg)?)),
            #[cfg(feature = "mysql")]
            Backend::MySql => Ok(Connector::My(mysql::MyConnector::new(cfg)?)),
            #[allow(unreachable_patterns)]
            other => Err(Error::Config(format!(
                "weir was built without the feature for {other}"
            ))),
        }
    }

    /// Ends what the connector keeps open besides the pool's sessions (MySQL's watcher of
    /// closing sessions), for a pool that is closing.
    pub(crate) async fn quiet(&self) {
        match self {
            #[cfg(feature = "postgres")]
            Connector::Pg(_) => {}
            #[cfg(feature = "mysql")]
            Connector::My(c) => c.quiet().await,
        }
    }

    /// Opens a session that holds `slot` until it is closed on the server: dropping the
    /// returned connection closes the session in the background and frees the slot after.
    pub(crate) async fn connect(&self, slot: Slot) -> Result<RawConn> {
        match self {
            #[cfg(feature = "postgres")]
            Connector::Pg(c) => c.connect(slot).await.map(RawConn::Pg),
            #[cfg(feature = "mysql")]
            Connector::My(c) => c.connect(slot).await.map(RawConn::My),
        }
    }
}

/// One open session of either backend.
#[allow(clippy::large_enum_variant)] // lives inline in the pool's slot; boxing adds a hop per call
pub(crate) enum RawConn {
    #[cfg(feature = "postgres")]
    Pg(postgres::PgConn),
    #[cfg(feature = "mysql")]
    My(mysql::MyConn),
}

/// Stops the statement a connection is running, from outside that connection.
#[derive(Clone)]
pub(crate) enum Canceller {
    #[cfg(feature = "postgres")]
    Pg(postgres::PgCanceller),
    #[cfg(feature = "mysql")]
    My(mysql::MyCanceller),
}

impl Canceller {
    pub(crate) async fn cancel(&self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            Canceller::Pg(c) => c.cancel().await,
            #[cfg(feature = "mysql")]
            Canceller::My(c) => c.cancel().await,
        }
    }
}

impl RawConn {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            RawConn::My(_) => Backend::MySql,
        }
    }

    pub(crate) fn canceller(&self) -> Canceller {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => Canceller::Pg(c.canceller()),
            #[cfg(feature = "mysql")]
            RawConn::My(c) => Canceller::My(c.canceller()),
        }
    }

    /// Whether the server reported that the session's state changed (MySQL/MariaDB only).
    pub(crate) fn server_reported_state_change(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(_) => false,
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.state_changed(),
        }
    }

    /// Takes the session as it is now (after `after_connect`) as its clean state.
    pub(crate) fn accept_state(&mut self) {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(_) => {}
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.accept_state(),
        }
    }

    /// Whether the connection is known dead without asking the server.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.is_closed(),
            #[cfg(feature = "mysql")]
            RawConn::My(_) => false,
        }
    }

    /// Runs SQL without parameters through the simple/text protocol.
    pub(crate) async fn simple(&mut self, sql: &str) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.simple(sql).await,
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.simple(sql).await,
        }
    }

    /// One cheap round trip.
    pub(crate) async fn ping(&mut self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.simple("").await,
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.ping().await,
        }
    }

    pub(crate) async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.execute(sql, params).await,
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.execute(sql, params, mysql::Placeholders::Dollar).await,
        }
    }

    /// Runs SQL weir wrote itself, whose placeholders are the backend's own (`?` on MySQL).
    pub(crate) async fn execute_native(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.execute(sql, params).await,
            #[cfg(feature = "mysql")]
            RawConn::My(c) => c.execute(sql, params, mysql::Placeholders::Question).await,
        }
    }

    /// Bulk-loads rows with `COPY` (PostgreSQL only; MySQL has no client-side equivalent that
    /// works on every server, so the repository sends multi-row `INSERT`s there).
    pub(crate) async fn copy_in(
        &mut self,
        table: &str,
        columns: &str,
        width: usize,
        rows: &dyn CopyRows,
    ) -> Result<u64> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => c.copy_in(table, columns, width, rows).await,
            #[cfg(feature = "mysql")]
            RawConn::My(_) => {
                let _ = (table, columns, width, rows);
                Err(Error::Config("COPY is PostgreSQL only".into()))
            }
        }
    }

    /// Runs an INSERT and returns the key it generated: the first column of the first row on
    /// PostgreSQL (the statement ends in `RETURNING <key>`), `LAST_INSERT_ID()` on MySQL.
    pub(crate) async fn execute_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => {
                let mut first = None;
                c.for_each_row(sql, params, |r| {
                    let row = Row {
                        inner: RowInner::Pg(r),
                    };
                    first = Some(row.try_get::<K, usize>(0)?);
                    Ok(false)
                })
                .await?;
                Ok(first)
            }
            #[cfg(feature = "mysql")]
            RawConn::My(c) => match c.execute_returning_id(sql, params).await? {
                Some(id) => K::decode(Cell::UInt(id))
                    .map(Some)
                    .map_err(|reason| Error::Decode {
                        column: "LAST_INSERT_ID()".into(),
                        sql_type: "BIGINT UNSIGNED".into(),
                        rust_type: std::any::type_name::<K>(),
                        reason,
                    }),
                None => Ok(None),
            },
        }
    }

    /// Hands rows to `each` until it returns `false`; always leaves the session idle.
    pub(crate) async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(Row) -> Result<bool> + Send,
    ) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => {
                c.for_each_row(sql, params, |r| {
                    each(Row {
                        inner: RowInner::Pg(r),
                    })
                })
                .await
            }
            #[cfg(feature = "mysql")]
            RawConn::My(c) => {
                c.for_each_row(sql, params, |r| {
                    each(Row {
                        inner: RowInner::My(r),
                    })
                })
                .await
            }
        }
    }

    /// Runs a query whose rows the caller then reads one at a time from the returned
    /// [`Rows`], as the server sends them.
    pub(crate) async fn open_rows<'c>(
        &'c mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Rows<'c>> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Pg(c) => Ok(Rows::Pg(Box::pin(c.query(sql, params).await?), PhantomData)),
            #[cfg(feature = "mysql")]
            RawConn::My(c) => {
                c.start_rows(sql, params).await?;
                Ok(Rows::My(c))
            }
        }
    }
}

/// A query's rows, read one at a time (`fetch_stream`). Reading them goes straight to the
/// driver, with no stream adapter or generator of its own in between: the caller's stream is
/// the only one a row passes through.
pub(crate) enum Rows<'c> {
    #[cfg(feature = "postgres")]
    Pg(
        Pin<Box<tokio_postgres::RowStream>>,
        PhantomData<&'c mut postgres::PgConn>,
    ),
    #[cfg(feature = "mysql")]
    My(&'c mut mysql::MyConn),
}

/// PostgreSQL rows as tokio-postgres streams them: they borrow nothing of the connection, so
/// a stream can own them next to the guard that holds the session.
#[cfg(feature = "postgres")]
pub(crate) struct PgRows(Pin<Box<tokio_postgres::RowStream>>);

#[cfg(feature = "postgres")]
impl PgRows {
    /// The next row, `None` after the last.
    #[inline]
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Row>>> {
        self.0.as_mut().poll_next(cx).map(|next| {
            next.map(|r| match r {
                Ok(r) => Ok(Row {
                    inner: RowInner::Pg(r),
                }),
                Err(e) => Err(postgres::map_error(&e)),
            })
        })
    }
}

impl<'c> Rows<'c> {
    /// The rows without their borrow of the connection, on PostgreSQL; MySQL's stay as they
    /// are, for their reads go through the connection.
    #[cfg(feature = "postgres")]
    pub(crate) fn into_pg(self) -> std::result::Result<PgRows, Rows<'c>> {
        match self {
            Rows::Pg(rows, _) => Ok(PgRows(rows)),
            #[cfg(feature = "mysql")]
            other @ Rows::My(_) => Err(other),
        }
    }
}

impl Rows<'_> {
    /// The next row, `None` after the last.
    #[inline]
    pub(crate) async fn next(&mut self) -> Result<Option<Row>> {
        match self {
            #[cfg(feature = "postgres")]
            Rows::Pg(rows, _) => match std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await
            {
                Some(Ok(r)) => Ok(Some(Row {
                    inner: RowInner::Pg(r),
                })),
                Some(Err(e)) => Err(postgres::map_error(&e)),
                None => Ok(None),
            },
            #[cfg(feature = "mysql")]
            Rows::My(c) => Ok(c.next_row().await?.map(|r| Row {
                inner: RowInner::My(r),
            })),
        }
    }

    /// Ends a result read to its last row: the session is idle again afterwards.
    pub(crate) async fn finish(self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            Rows::Pg(..) => Ok(()),
            #[cfg(feature = "mysql")]
            Rows::My(c) => c.finish_rows().await,
        }
    }
}
