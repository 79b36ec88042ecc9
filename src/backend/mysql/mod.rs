//! MySQL and MariaDB over mysql_async: the [`Adapter`] for sessions, statements and rows.
//! Opening sessions is in `connect`, closing them in `farewell`, values in `encode` and
//! `decode`, error numbers in `error`. `$n` placeholders are rewritten to `?` here, and a
//! statement is cancelled with `KILL QUERY` from a short-lived side connection.

mod connect;
mod decode;
mod describe;
mod encode;
mod error;
mod farewell;

use std::sync::Arc;
use std::time::Duration;

use mysql_async::consts::StatusFlags;
use mysql_async::prelude::Queryable;
use mysql_async::{BinaryProtocol, Conn, Opts, Value};

pub(crate) use connect::MyConnector;

use super::{savepoint_name, Adapter, Control, CopyTarget, HostRole, Placeholders, Slot};
use crate::config::{AccessMode, DatabaseConfig, TxOptions};
use crate::describe::Description;
use crate::error::{Error, Result};
use crate::sql::RewriteCache;
use crate::types::{CopyRows, Decode, Param};
use encode::{positional, to_value};
use error::map_error;
use farewell::FarewellSender;

/// One MySQL/MariaDB session. mysql_async caches its prepared statements. Dropping it closes
/// the session in the background (see the `Drop` impl), however the pool lets it go.
pub(crate) struct MyConn {
    /// `None` only while being dropped.
    conn: Option<Conn>,
    /// The pool's slot for this session, given back once the session is closed.
    slot: Option<Slot>,
    /// How long closing may take before the slot is given back anyway.
    linger: Duration,
    /// The pool's watcher of closing sessions, whose word that the server let this one go
    /// frees its slot.
    farewells: Option<FarewellSender>,
    rewrites: Arc<RewriteCache>,
    cancel: MyCanceller,
    /// The server flagged a session state change (variables, temporary tables, prepared
    /// statements, schema) since the connection was opened.
    state_changed: bool,
    /// The server's `max_allowed_packet`: no single value may be larger.
    max_packet: usize,
    /// The server's role, when it was read as the session opened.
    role: Option<HostRole>,
}

/// Stops whatever a connection is running, from a separate short-lived connection, so a
/// saturated pool never delays it.
#[derive(Clone)]
pub(crate) struct MyCanceller {
    opts: Opts,
    id: u32,
    slots: Arc<tokio::sync::Semaphore>,
}

impl MyCanceller {
    async fn cancel(&self) -> Result<()> {
        let _slot = self.slots.acquire().await.map_err(|_| Error::PoolClosed)?;
        let mut side = Conn::new(self.opts.clone()).await.map_err(map_error)?;
        // The id is the server's own connection number, not user input.
        let r = side.query_drop(format!("KILL QUERY {}", self.id)).await;
        let _ = side.disconnect().await;
        r.map_err(map_error)
    }
}

/// SQL ready for mysql_async: the `?` text and the values in `?` order.
struct Bound<'s> {
    sql: SqlText<'s>,
    params: mysql_async::Params,
}

/// The caller's SQL when it had no `$n`, else the cached rewrite: no copy either way.
enum SqlText<'s> {
    Original(&'s str),
    Rewritten(Arc<crate::sql::Rewritten>),
}

impl SqlText<'_> {
    fn as_str(&self) -> &str {
        match self {
            SqlText::Original(s) => s,
            SqlText::Rewritten(r) => &r.sql,
        }
    }
}

impl Adapter for MyConn {
    type Connector = MyConnector;
    type Canceller = MyCanceller;
    type Row = mysql_async::Row;
    /// MySQL's rows are read through the session itself.
    type Rows<'c> = &'c mut MyConn;

    fn connector(config: &DatabaseConfig) -> Result<MyConnector> {
        MyConnector::new(config)
    }

    async fn connect(connector: &MyConnector, slot: Slot) -> Result<MyConn> {
        connector.connect(slot).await
    }

    async fn quiet(connector: &MyConnector) {
        connector.quiet().await;
    }

    async fn role(&mut self) -> Result<HostRole> {
        match self.role {
            Some(role) => Ok(role),
            None => {
                let role = MyConnector::query_role(self.conn()?).await?;
                self.role = Some(role);
                Ok(role)
            }
        }
    }

    fn canceller(&self) -> MyCanceller {
        self.cancel.clone()
    }

    async fn cancel(canceller: &MyCanceller) -> Result<()> {
        canceller.cancel().await
    }

    fn state_changed(&self) -> bool {
        self.state_changed
    }

    fn accept_state(&mut self) {
        self.state_changed = false;
    }

    // mysql_async keeps its socket to itself: only a round trip tells.
    fn is_closed(&self) -> bool {
        false
    }

    /// weir tracks what its own transaction control does to the session, so the server's
    /// state-change flag is not read here.
    async fn control(&mut self, control: Control<'_>) -> Result<()> {
        let conn = self.conn()?;
        match control {
            Control::Begin(options) => {
                // SET TRANSACTION without SESSION applies to the next transaction only.
                if let Some(level) = options.isolation {
                    let sql = format!("SET TRANSACTION ISOLATION LEVEL {}", level.sql());
                    conn.query_drop(sql).await.map_err(map_error)?;
                }
                conn.query_drop(begin_sql(options)).await
            }
            Control::Commit => conn.query_drop("COMMIT").await,
            Control::Rollback => conn.query_drop("ROLLBACK").await,
            Control::Savepoint(depth) => {
                conn.query_drop(format!("SAVEPOINT {}", savepoint_name(depth)))
                    .await
            }
            Control::Release(depth) => {
                conn.query_drop(format!("RELEASE SAVEPOINT {}", savepoint_name(depth)))
                    .await
            }
            Control::RollbackTo(depth) => {
                let name = savepoint_name(depth);
                conn.query_drop(format!("ROLLBACK TO SAVEPOINT {name}"))
                    .await
                    .map_err(map_error)?;
                conn.query_drop(format!("RELEASE SAVEPOINT {name}")).await
            }
        }
        .map_err(map_error)
    }

    async fn script(&mut self, sql: &str) -> Result<()> {
        self.conn()?.query_drop(sql).await.map_err(map_error)
    }

    async fn ping(&mut self) -> Result<()> {
        self.conn()?.ping().await.map_err(map_error)
    }

    async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        placeholders: Placeholders,
    ) -> Result<u64> {
        let b = self.bind(sql, params, placeholders)?;
        let conn = self.conn()?;
        let mut result = conn
            .exec_iter(b.sql.as_str(), b.params)
            .await
            .map_err(map_error)?;
        // A statement that returns rows counts them, as PostgreSQL's tag does (MySQL reports
        // no affected rows for a SELECT); reading them is what dropping the result does too.
        let mut returned: Option<u64> = None;
        loop {
            if !result.columns_ref().is_empty() {
                returned.get_or_insert(0);
            }
            while result.next().await.map_err(map_error)?.is_some() {
                *returned.get_or_insert(0) += 1;
            }
            if result.is_empty() {
                break;
            }
        }
        result.drop_result().await.map_err(map_error)?;
        let affected = returned.unwrap_or_else(|| conn.affected_rows());
        self.note_ok_packet();
        Ok(affected)
    }

    /// The AUTO_INCREMENT value the INSERT generated (the first of a multi-row INSERT), if
    /// any: MySQL 8 has no `RETURNING`.
    async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        let b = self.bind(sql, params, Placeholders::Dollar)?;
        let conn = self.conn()?;
        conn.exec_drop(b.sql.as_str(), b.params)
            .await
            .map_err(map_error)?;
        let id = conn.last_insert_id();
        self.note_ok_packet();
        id.map(|id| {
            K::decode(Param::UInt(id)).map_err(|reason| {
                Error::decode::<K>("LAST_INSERT_ID()".into(), "BIGINT UNSIGNED".into(), reason)
            })
        })
        .transpose()
    }

    async fn describe(&mut self, sql: &str) -> Result<Description> {
        describe::describe(self, sql).await
    }

    /// MySQL has no client-side `COPY` that works on every server: the repository sends
    /// multi-row `INSERT`s there instead.
    async fn copy_in(&mut self, _: CopyTarget<'_>, _: &dyn CopyRows) -> Result<u64> {
        Err(Error::Config("COPY is PostgreSQL only".into()))
    }

    async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(mysql_async::Row) -> Result<bool> + Send,
    ) -> Result<()> {
        self.start_rows(sql, params).await?;
        let mut outcome = Ok(());
        while let Some(row) = self.pending_row().await? {
            match each(row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.drop_pending().await?;
        outcome
    }

    async fn open_rows<'c>(
        &'c mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<&'c mut MyConn> {
        self.start_rows(sql, params).await?;
        Ok(self)
    }

    #[inline]
    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<mysql_async::Row>> {
        rows.pending_row().await
    }

    async fn finish_rows(rows: Self::Rows<'_>) -> Result<()> {
        rows.drop_pending().await
    }

    #[inline]
    fn row_len(row: &mysql_async::Row) -> usize {
        row.len()
    }

    fn column_name(row: &mysql_async::Row, index: usize) -> Option<&str> {
        row.columns_ref().get(index).map(decode::column_name)
    }

    #[inline]
    fn column_is(row: &mysql_async::Row, index: usize, name: &str) -> bool {
        row.columns_ref()
            .get(index)
            .is_some_and(|c| c.name_ref() == name.as_bytes())
    }

    fn column_type(row: &mysql_async::Row, index: usize) -> String {
        row.columns_ref()
            .get(index)
            .map(decode::column_type_name)
            .unwrap_or_default()
    }

    #[inline(always)]
    fn decode<T: Decode>(row: &mysql_async::Row, index: usize) -> std::result::Result<T, String> {
        decode::decode(row, index)
    }

    #[inline(always)]
    fn take<T: Decode>(row: &mut mysql_async::Row, index: usize) -> std::result::Result<T, String> {
        decode::take(row, index)
    }
}

impl MyConn {
    /// The session, for a statement.
    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::ConnectionLost("the session was closed".into()))
    }

    /// Records whether the last statement changed the session, as the server reports it.
    fn note_ok_packet(&mut self) {
        if let Some(ok) = self.conn.as_ref().and_then(Conn::last_ok_packet) {
            self.state_changed |= ok
                .status_flags()
                .contains(StatusFlags::SERVER_SESSION_STATE_CHANGED);
        }
    }

    /// Refuses a value the server would not accept (it hangs up on a packet over its
    /// `max_allowed_packet`, and the caller would see a lost connection).
    fn check_sizes(&self, params: &[Param<'_>]) -> Result<()> {
        for (index, param) in params.iter().enumerate() {
            let len = match param {
                Param::Str(s) | Param::Untyped(s) | Param::DecimalText(s) => s.len(),
                Param::Bytes(b) | Param::Text(b) | Param::JsonText(b) => b.len(),
                _ => continue,
            };
            if len > self.max_packet {
                return Err(Error::Encode {
                    index,
                    rust_type: param.rust_type(),
                    sql_type: "any type".into(),
                    reason: format!(
                        "{len} bytes is over the server's max_allowed_packet of {} bytes",
                        self.max_packet
                    ),
                });
            }
        }
        Ok(())
    }

    /// The SQL to send: `$n` rewritten to `?` (and a `?` of the caller's refused).
    fn sql_text<'s>(&self, sql: &'s str, placeholders: Placeholders) -> Result<SqlText<'s>> {
        // SQL with neither `$` nor `?` needs no lexing; a `?` in the caller's SQL is lexed
        // (once, the verdict cached with the rewrite) to refuse it outside literals.
        if placeholders == Placeholders::Native || !(sql.contains('$') || sql.contains('?')) {
            Ok(SqlText::Original(sql))
        } else {
            Ok(SqlText::Rewritten(self.rewrites.get(sql)?))
        }
    }

    fn bind<'s>(
        &self,
        sql: &'s str,
        params: &[Param<'_>],
        placeholders: Placeholders,
    ) -> Result<Bound<'s>> {
        self.check_sizes(params)?;
        let rw = match self.sql_text(sql, placeholders)? {
            SqlText::Original(sql) => {
                let values = params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| to_value(i, p))
                    .collect::<Result<Vec<Value>>>()?;
                return Ok(Bound {
                    sql: SqlText::Original(sql),
                    params: positional(values),
                });
            }
            SqlText::Rewritten(rw) => rw,
        };
        if rw.param_count != params.len() {
            return Err(Error::ParamCount {
                expected: rw.param_count,
                given: params.len(),
            });
        }
        let values = rw
            .order
            .iter()
            .map(|&i| {
                let i = usize::from(i);
                params.get(i).map_or(Ok(Value::NULL), |p| to_value(i, p))
            })
            .collect::<Result<Vec<Value>>>()?;
        Ok(Bound {
            sql: SqlText::Rewritten(rw),
            params: positional(values),
        })
    }

    /// Runs `sql` and leaves its result unread in the session, for [`MyConn::pending_row`] to
    /// read row by row and [`MyConn::drop_pending`] to end.
    async fn start_rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
        let b = self.bind(sql, params, Placeholders::Dollar)?;
        // The result's state lives in the driver's connection, not in this handle: dropping
        // it leaves the rows pending there.
        self.conn()?
            .exec_iter(b.sql.as_str(), b.params)
            .await
            .map(drop)
            .map_err(map_error)
    }

    /// A handle on the result [`MyConn::start_rows`] left pending in the session.
    fn pending(&mut self) -> Result<mysql_async::QueryResult<'_, 'static, BinaryProtocol>> {
        Ok(mysql_async::QueryResult::new(self.conn()?))
    }

    /// The next row of the pending result, `None` after the last.
    #[inline]
    async fn pending_row(&mut self) -> Result<Option<mysql_async::Row>> {
        self.pending()?.next().await.map_err(map_error)
    }

    /// Reads what is left of the pending result, so the session is idle again, and notes
    /// whether the statement changed the session.
    async fn drop_pending(&mut self) -> Result<()> {
        self.pending()?.drop_result().await.map_err(map_error)?;
        self.note_ok_packet();
        Ok(())
    }
}

/// The statement that opens a transaction (the isolation level is set just before it).
fn begin_sql(options: &TxOptions) -> &'static str {
    match options.access {
        AccessMode::ReadOnly => "START TRANSACTION READ ONLY",
        AccessMode::ReadWrite => "START TRANSACTION",
    }
}
