//! PostgreSQL over tokio-postgres: the [`Adapter`] for sessions, statements and rows. Opening
//! sessions is in `connect`, the statement cache and unnamed statements in `statements`, values
//! in `encode` and `decode`, error codes in `error`, `LISTEN` in `listen`.

mod array;
mod connect;
mod decode;
mod describe;
mod encode;
mod error;
mod listen;
mod other;
mod socket;
mod statements;

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::{CancelToken, NoTls, RowStream};

pub(crate) use connect::PgConnector;
pub(crate) use listen::PgListener;

use super::{savepoint_name, Adapter, Control, CopyTarget, HostRole, Placeholders, Slot};
use crate::config::{AccessMode, DatabaseConfig, TxOptions};
use crate::describe::Description;
use crate::error::{Error, Result};
use crate::types::{CopyRows, Decode, Param};
use connect::{PgTls, Server};
use encode::{binds, binds_from};
use error::{is_stale_plan, map_error};
use statements::{typed_binds, StatementCache};

type BoxError = Box<dyn StdError + Sync + Send>;

/// One PostgreSQL session with its prepared-statement cache.
pub(crate) struct PgConn {
    client: tokio_postgres::Client,
    /// Named statements, cached; `None` (capacity 0, for poolers): unnamed, nothing kept.
    cache: Option<StatementCache>,
    cancel: PgCanceller,
    /// The role the server reported at start-up (PostgreSQL 14 and later), if it did.
    role: Option<HostRole>,
}

/// Sends a cancel request for whatever a connection is running.
#[derive(Clone)]
pub(crate) struct PgCanceller {
    token: CancelToken,
    server: Arc<Server>,
    tls: PgTls,
}

impl PgCanceller {
    pub(crate) async fn cancel(&self) -> Result<()> {
        let socket = self.server.socket().await?.for_cancel();
        let r = match &self.tls {
            PgTls::None => self.token.cancel_query_raw(socket, NoTls).await,
            #[cfg(feature = "tls")]
            PgTls::Rustls(t) => {
                self.token
                    .cancel_query_raw(socket, self.server.tls(t)?)
                    .await
            }
        };
        r.map_err(|e| map_error(&e))
    }
}

/// A query's rows as tokio-postgres streams them: they borrow nothing of the session.
pub(crate) struct PgRows(Pin<Box<RowStream>>);

impl PgRows {
    /// The next row, `None` after the last.
    #[inline]
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<tokio_postgres::Row>>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|next| next.map(|r| r.map_err(|e| map_error(&e))))
    }
}

impl Adapter for PgConn {
    type Connector = PgConnector;
    type Canceller = PgCanceller;
    type Row = tokio_postgres::Row;
    type Rows<'c> = PgRows;

    fn connector(config: &DatabaseConfig) -> Result<PgConnector> {
        PgConnector::new(config)
    }

    async fn connect(connector: &PgConnector, slot: Slot) -> Result<PgConn> {
        connector.connect(slot).await
    }

    async fn quiet(_: &PgConnector) {}

    async fn role(&mut self) -> Result<HostRole> {
        match self.role {
            Some(role) => Ok(role),
            None => {
                let role = connect::query_role(&self.client).await?;
                self.role = Some(role);
                Ok(role)
            }
        }
    }

    fn canceller(&self) -> PgCanceller {
        self.cancel.clone()
    }

    async fn cancel(canceller: &PgCanceller) -> Result<()> {
        canceller.cancel().await
    }

    // PostgreSQL reports no session change; the session scan covers it.
    fn state_changed(&self) -> bool {
        false
    }

    fn accept_state(&mut self) {}

    /// Whether the socket is known closed, without a round trip.
    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn control(&mut self, control: Control<'_>) -> Result<()> {
        let sql = match control {
            Control::Begin(options) => begin_sql(options),
            // COMMIT in an aborted transaction answers ROLLBACK, not an error, and tokio-postgres
            // does not show the answer: a statement ahead of it in the same round trip fails
            // instead (25P02), and the COMMIT is then never run.
            Control::Commit => "SELECT WHERE false; COMMIT".to_owned(),
            Control::Rollback => "ROLLBACK".to_owned(),
            Control::Savepoint(depth) => format!("SAVEPOINT {}", savepoint_name(depth)),
            Control::Release(depth) => format!("RELEASE SAVEPOINT {}", savepoint_name(depth)),
            Control::RollbackTo(depth) => {
                let name = savepoint_name(depth);
                format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
            }
        };
        self.simple(&sql).await
    }

    async fn script(&mut self, sql: &str) -> Result<()> {
        self.simple(sql).await
    }

    async fn ping(&mut self) -> Result<()> {
        self.simple("").await
    }

    async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        _placeholders: Placeholders,
    ) -> Result<u64> {
        if self.cache.is_none() {
            return self.count_rows(sql, params).await;
        }
        let stmt = self.prepare(sql, params).await?;
        if !stmt.columns().is_empty() {
            // The tag of SHOW, EXPLAIN or CALL has no count: count the rows, as on MySQL.
            return self.count_rows(sql, params).await;
        }
        match self.client.execute_raw(&stmt, binds(params)).await {
            Err(e) if is_stale_plan(&e) => {
                self.forget(sql);
                let stmt = self.prepare(sql, params).await?;
                self.client
                    .execute_raw(&stmt, binds(params))
                    .await
                    .map_err(|e| map_error(&e))
            }
            r => r.map_err(|e| map_error(&e)),
        }
    }

    async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        let mut first = None;
        self.for_each_row(sql, params, |row| {
            first = Some(decode::decode::<K>(&row, 0).map_err(|reason| {
                Error::decode::<K>(
                    Self::column_name(&row, 0).unwrap_or("0").to_owned(),
                    Self::column_type(&row, 0),
                    reason,
                )
            })?);
            Ok(false)
        })
        .await?;
        Ok(first)
    }

    async fn describe(&mut self, sql: &str) -> Result<Description> {
        describe::describe(self, sql).await
    }

    /// Loads `rows` into `table` with one binary `COPY ... FROM STDIN`: the driver's fastest
    /// bulk path, several times a multi-row `INSERT`, and one transaction however many rows.
    /// Each row has `width` values; the column types come from a prepared `INSERT` on the same
    /// columns, so values encode exactly as they would bind.
    async fn copy_in(&mut self, target: CopyTarget<'_>, rows: &dyn CopyRows) -> Result<u64> {
        let CopyTarget {
            table,
            columns,
            width,
        } = target;
        let count = rows.count();
        if count == 0 {
            return Ok(0);
        }
        fn row_values<'s>(
            rows: &'s dyn CopyRows,
            index: usize,
            width: usize,
            values: &mut Vec<Param<'s>>,
        ) -> Result<()> {
            values.clear();
            rows.write_row(index, values)?;
            if width == 0 || values.len() != width {
                return Err(Error::ParamCount {
                    expected: width,
                    given: values.len(),
                });
            }
            Ok(())
        }
        let mut values = Vec::with_capacity(width);
        row_values(rows, 0, width, &mut values)?;
        let placeholders: Vec<String> = (1..=width).map(|i| format!("${i}")).collect();
        let probe = format!(
            "INSERT INTO {table} ({columns}) VALUES ({})",
            placeholders.join(", ")
        );
        let types = self.prepare(&probe, &values).await?.params().to_vec();
        let copy = self
            .prepare_any(&format!(
                "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
            ))
            .await?;
        let sink = self
            .client
            .copy_in::<_, bytes::Bytes>(&copy)
            .await
            .map_err(|e| map_error(&e))?;
        // Dropped unfinished (an encode error, a cancelled call), the writer aborts the COPY.
        let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        for index in 0..count {
            if index > 0 {
                row_values(rows, index, width, &mut values)?;
            }
            writer
                .as_mut()
                .write_raw(binds_from(&values, index * width))
                .await
                .map_err(|e| map_error(&e))?;
        }
        writer.finish().await.map_err(|e| map_error(&e))
    }

    async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(tokio_postgres::Row) -> Result<bool> + Send,
    ) -> Result<()> {
        let stream = self.query(sql, params).await?;
        pin_mut!(stream);
        let mut wanted = true;
        while let Some(row) = stream.try_next().await.map_err(|e| map_error(&e))? {
            if wanted {
                wanted = each(row)?;
            }
        }
        Ok(())
    }

    async fn open_rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<PgRows> {
        Ok(PgRows(Box::pin(self.query(sql, params).await?)))
    }

    #[inline]
    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<tokio_postgres::Row>> {
        std::future::poll_fn(|cx| rows.poll_next(cx))
            .await
            .transpose()
    }

    async fn finish_rows(_: Self::Rows<'_>) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn row_len(row: &tokio_postgres::Row) -> usize {
        row.len()
    }

    fn column_name(row: &tokio_postgres::Row, index: usize) -> Option<&str> {
        row.columns().get(index).map(|c| c.name())
    }

    #[inline]
    fn column_is(row: &tokio_postgres::Row, index: usize, name: &str) -> bool {
        row.columns().get(index).is_some_and(|c| c.name() == name)
    }

    fn column_type(row: &tokio_postgres::Row, index: usize) -> String {
        row.columns()
            .get(index)
            .map(|c| encode::type_name(c.type_()))
            .unwrap_or_default()
    }

    #[inline(always)]
    fn decode<T: Decode>(
        row: &tokio_postgres::Row,
        index: usize,
    ) -> std::result::Result<T, String> {
        decode::decode::<T>(row, index)
    }

    // PostgreSQL's values share one buffer: nothing to move out, decoded where they lie.
    #[inline(always)]
    fn take<T: Decode>(
        row: &mut tokio_postgres::Row,
        index: usize,
    ) -> std::result::Result<T, String> {
        decode::decode::<T>(row, index)
    }
}

impl PgConn {
    /// Runs SQL through the simple protocol (transaction control, scripts, pings).
    async fn simple(&self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| map_error(&e))
    }

    /// Prepares `sql` (or takes it from the cache), whatever parameters it takes. Without a
    /// cache, a statement prepared here is closed on the server when it drops.
    async fn prepare_any(&mut self, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(stmt) = self.cache.as_mut().and_then(|c| c.get(sql)) {
            return Ok(stmt);
        }
        match self.client.prepare(sql).await {
            Ok(stmt) => {
                if let Some(cache) = &mut self.cache {
                    cache.insert(sql, stmt.clone());
                }
                Ok(stmt)
            }
            // A placeholder past $65535 overflows the protocol's 16-bit parameter count: the
            // driver cannot read the server's reply and drops the connection. Name the cause.
            Err(e) if e.as_db_error().is_none() => {
                crate::sql::rewrite_placeholders(sql, false)?;
                Err(map_error(&e))
            }
            Err(e) => Err(map_error(&e)),
        }
    }

    async fn prepare(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<tokio_postgres::Statement> {
        let stmt = self.prepare_any(sql).await?;
        if stmt.params().len() != params.len() {
            return Err(Error::ParamCount {
                expected: stmt.params().len(),
                given: params.len(),
            });
        }
        Ok(stmt)
    }

    async fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<RowStream> {
        if self.cache.is_none() {
            // Parse, bind and execute in one round trip: a pooler keeps it on one server.
            return self
                .client
                .query_typed_raw(sql, typed_binds(params))
                .await
                .map_err(|e| map_error(&e));
        }
        let stmt = self.prepare(sql, params).await?;
        match self.client.query_raw(&stmt, binds(params)).await {
            Err(e) if is_stale_plan(&e) => {
                self.forget(sql);
                let stmt = self.prepare(sql, params).await?;
                self.client
                    .query_raw(&stmt, binds(params))
                    .await
                    .map_err(|e| map_error(&e))
            }
            r => r.map_err(|e| map_error(&e)),
        }
    }

    /// Runs a statement and counts the rows it returns, or, returning none, those its tag
    /// counts (unnamed statements take this path, their columns unknown before they run).
    async fn count_rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let stream = self.query(sql, params).await?;
        pin_mut!(stream);
        let mut n = 0;
        while stream
            .try_next()
            .await
            .map_err(|e| map_error(&e))?
            .is_some()
        {
            n += 1;
        }
        Ok(if n > 0 {
            n
        } else {
            stream.rows_affected().unwrap_or(0)
        })
    }

    /// Drops a cached statement the server no longer accepts.
    fn forget(&mut self, sql: &str) {
        if let Some(cache) = &mut self.cache {
            cache.remove(sql);
        }
    }
}

/// The statement(s) that open a transaction with `options`.
fn begin_sql(options: &TxOptions) -> String {
    let mut sql = String::from("BEGIN");
    if let Some(level) = options.isolation {
        sql.push_str(" ISOLATION LEVEL ");
        sql.push_str(level.sql());
    }
    if options.access == AccessMode::ReadOnly {
        sql.push_str(" READ ONLY");
    }
    sql
}
