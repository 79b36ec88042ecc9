//! The adapter contract: what weir needs of one backend's driver, written down once as the
//! [`Adapter`] trait, implemented by `postgres` and `mysql` (and, in unit tests, `fake`).
//! Adapters do I/O, write the SQL that differs per backend, convert values and classify
//! errors; they make no timeout, retry, limit or pooling decision. The enums below hold one
//! variant per adapter and delegate to the trait, so dispatch is a `match`, never a virtual
//! call. This folder is the only code that names a driver type.

#[cfg(test)]
pub(crate) mod fake;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "tls")]
pub(crate) mod tls;

use crate::config::{DatabaseConfig, TxOptions};
use crate::describe::Description;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::types::{CopyRows, Decode, Param};

/// One of the pool's `max_size` session slots. A session holds its slot until the server
/// has let the session go, not merely until the pool forgets the connection.
pub(crate) type Slot = tokio::sync::OwnedSemaphorePermit;

/// Transaction control, written in each backend's SQL by its adapter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Control<'a> {
    /// Opens a transaction.
    Begin(&'a TxOptions),
    /// Commits the open transaction. An adapter must not report success for a transaction the
    /// server rolled back instead.
    Commit,
    /// Rolls the open transaction back.
    Rollback,
    /// Opens the savepoint of nesting level `depth` (2 and up).
    Savepoint(u32),
    /// Releases that savepoint.
    Release(u32),
    /// Rolls back to that savepoint and releases it.
    RollbackTo(u32),
}

/// The name of the savepoint of nesting level `depth`.
pub(crate) fn savepoint_name(depth: u32) -> String {
    format!("weir_savepoint_{depth}")
}

/// What a server says it is, as a session found it when opened: what `target_session_attrs`
/// picks hosts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostRole {
    /// The server takes no writes from this session (PostgreSQL: in recovery or
    /// `default_transaction_read_only`; MySQL: `@@read_only` or `@@innodb_read_only`).
    pub(crate) read_only: bool,
    /// The server is a standby (PostgreSQL: in recovery; MySQL: the same as read-only).
    pub(crate) standby: bool,
}

impl std::fmt::Display for HostRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.standby, self.read_only) {
            (true, _) => "a standby",
            (false, true) => "a read-only primary",
            (false, false) => "a read-write primary",
        })
    }
}

/// How a statement's placeholders are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1..$n`, as every statement of weir's callers.
    Dollar,
    /// The backend's own (`?` on MySQL), in SQL weir wrote itself.
    Native,
}

/// Where a bulk load goes: the quoted table, its quoted column list, and values per row.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // COPY is PostgreSQL's
pub(crate) struct CopyTarget<'a> {
    pub(crate) table: &'a str,
    pub(crate) columns: &'a str,
    pub(crate) width: usize,
}

/// What weir needs of a backend: implemented by the session type of each driver.
///
/// The async methods are only ever called on a concrete adapter (through the enums below),
/// so their futures keep the concrete types' `Send`.
#[allow(async_fn_in_trait)]
pub(crate) trait Adapter: Sized + Send + 'static {
    /// Opens sessions; one per pool.
    type Connector: Send + Sync + 'static;
    /// Stops a session's running statement from outside it.
    type Canceller: Clone + Send + Sync + 'static;
    /// One result row as the driver hands it over.
    type Row: Send + 'static;
    /// A query's rows, read one at a time.
    type Rows<'c>: Send
    where
        Self: 'c;

    /// The connector for these settings; validates what only this backend can.
    fn connector(config: &DatabaseConfig) -> Result<Self::Connector>;
    /// Opens a session that holds `slot` until the server has closed it, however it ends.
    async fn connect(connector: &Self::Connector, slot: Slot) -> Result<Self>;
    /// Ends what the connector keeps open besides the sessions, for a pool that is closing.
    async fn quiet(connector: &Self::Connector);

    /// The session's canceller.
    fn canceller(&self) -> Self::Canceller;
    /// Stops whatever the session of `canceller` runs now.
    async fn cancel(canceller: &Self::Canceller) -> Result<()>;
    /// Whether the server reported that the session's state changed since it was accepted.
    fn state_changed(&self) -> bool;
    /// Takes the session's state as it is now as the one every borrower gets.
    fn accept_state(&mut self);
    /// Whether the connection is known dead without asking the server.
    fn is_closed(&self) -> bool;
    /// The server's role as the session found it when opened: from what the server reported
    /// at start-up where it did (no round trip), else one query.
    async fn role(&mut self) -> Result<HostRole>;

    /// Runs transaction control.
    async fn control(&mut self, control: Control<'_>) -> Result<()>;
    /// Runs several statements without parameters, in one round trip.
    async fn script(&mut self, sql: &str) -> Result<()>;
    /// One cheap round trip.
    async fn ping(&mut self) -> Result<()>;
    /// Runs a statement and returns the rows it affected.
    async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        placeholders: Placeholders,
    ) -> Result<u64>;
    /// Runs an `INSERT` and returns the key it generated (PostgreSQL: the first column of the
    /// first row, the statement ending in `RETURNING`; MySQL: `LAST_INSERT_ID()`).
    async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>>;
    /// Prepares a statement without running it and describes its parameters and columns.
    async fn describe(&mut self, sql: &str) -> Result<Description>;
    /// Loads rows in bulk.
    async fn copy_in(&mut self, target: CopyTarget<'_>, rows: &dyn CopyRows) -> Result<u64>;
    /// Hands rows to `each` until it returns `false` or fails; the rest of the result is read
    /// and dropped, so the session is idle afterwards.
    async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        each: impl FnMut(Self::Row) -> Result<bool> + Send,
    ) -> Result<()>;
    /// Runs a query whose rows the caller reads one at a time.
    async fn open_rows<'c>(&'c mut self, sql: &str, params: &[Param<'_>])
        -> Result<Self::Rows<'c>>;
    /// The next row, `None` after the last.
    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<Self::Row>>;
    /// Ends a result read to its last row: the session is idle again afterwards.
    async fn finish_rows(rows: Self::Rows<'_>) -> Result<()>;

    /// Columns in `row`.
    fn row_len(row: &Self::Row) -> usize;
    /// The name of column `index`.
    fn column_name(row: &Self::Row, index: usize) -> Option<&str>;
    /// Whether column `index` is called `name`.
    fn column_is(row: &Self::Row, index: usize, name: &str) -> bool;
    /// The SQL type of column `index`, as the server names it.
    fn column_type(row: &Self::Row, index: usize) -> String;
    /// Decodes column `index` (a position already checked) into `T`; the error is the reason
    /// alone.
    fn decode<T: Decode>(row: &Self::Row, index: usize) -> std::result::Result<T, String>;
    /// As [`Adapter::decode`], but a value the row owns may be moved out of it into `T`
    /// instead of copied; the column then reads as already taken.
    fn take<T: Decode>(row: &mut Self::Row, index: usize) -> std::result::Result<T, String>;
}

/// Runs `$body` with `$inner` bound to the adapter inside whichever variant `$value` is.
macro_rules! dispatch {
    ($value:expr, $enum:ident, |$inner:ident| $body:expr) => {
        match $value {
            #[cfg(feature = "postgres")]
            $enum::Pg($inner) => $body,
            #[cfg(feature = "mysql")]
            $enum::My($inner) => $body,
            #[cfg(test)]
            $enum::Fake($inner) => $body,
        }
    };
}

/// Declares an enum with a variant per adapter, each holding `<Adapter as Adapter>::$assoc`.
macro_rules! per_adapter {
    ($(#[$meta:meta])* $name:ident $(<$life:lifetime>)? = $($assoc:tt)+) => {
        $(#[$meta])*
        #[allow(clippy::large_enum_variant)] // one per session; boxing adds a hop per call
        pub(crate) enum $name $(<$life>)? {
            #[cfg(feature = "postgres")]
            Pg(per_adapter!(@ty postgres::PgConn, $($assoc)+)),
            #[cfg(feature = "mysql")]
            My(per_adapter!(@ty mysql::MyConn, $($assoc)+)),
            #[cfg(test)]
            #[allow(dead_code)] // the unit tests use the sessions it opens, not all of its kin
            Fake(per_adapter!(@ty fake::FakeConn, $($assoc)+)),
        }
    };
    (@ty $adapter:ty, Self) => { $adapter };
    (@ty $adapter:ty, $assoc:ident $(<$life:lifetime>)?) => {
        <$adapter as Adapter>::$assoc $(<$life>)?
    };
}

per_adapter!(
    /// Opens sessions of one backend.
    AnyConnector = Connector
);
per_adapter!(
    /// One open session of either backend.
    AnyConn = Self
);
per_adapter!(
    /// Stops the statement a session is running, from outside that session.
    #[derive(Clone)]
    AnyCanceller = Canceller
);
per_adapter!(
    /// One result row of either backend.
    AnyRow = Row
);
per_adapter!(
    /// A query's rows, read one at a time.
    AnyRows<'c> = Rows<'c>
);

impl AnyConnector {
    pub(crate) fn new(config: &DatabaseConfig) -> Result<Self> {
        match config.backend() {
            #[cfg(feature = "postgres")]
            Backend::Postgres => postgres::PgConn::connector(config).map(AnyConnector::Pg),
            #[cfg(feature = "mysql")]
            Backend::MySql => mysql::MyConn::connector(config).map(AnyConnector::My),
            #[allow(unreachable_patterns)]
            other => Err(Error::Config(format!(
                "weir was built without the feature for {other}"
            ))),
        }
    }

    /// Opens a session that holds `slot` until it is closed on the server: dropping the
    /// returned connection closes the session in the background and frees the slot after.
    pub(crate) async fn connect(&self, slot: Slot) -> Result<AnyConn> {
        match self {
            #[cfg(feature = "postgres")]
            AnyConnector::Pg(c) => postgres::PgConn::connect(c, slot).await.map(AnyConn::Pg),
            #[cfg(feature = "mysql")]
            AnyConnector::My(c) => mysql::MyConn::connect(c, slot).await.map(AnyConn::My),
            #[cfg(test)]
            AnyConnector::Fake(c) => fake::FakeConn::connect(c, slot).await.map(AnyConn::Fake),
        }
    }

    /// The server's product name: PostgreSQL, MariaDB or MySQL (a MySQL-protocol server is
    /// told apart once a session was opened).
    pub(crate) fn server_name(&self) -> &'static str {
        match self {
            #[cfg(feature = "postgres")]
            AnyConnector::Pg(_) => "PostgreSQL",
            #[cfg(feature = "mysql")]
            AnyConnector::My(c) => c.server_name(),
            #[cfg(test)]
            AnyConnector::Fake(_) => "fake",
        }
    }

    /// Ends what the connector keeps open besides the pool's sessions.
    pub(crate) async fn quiet(&self) {
        match self {
            #[cfg(feature = "postgres")]
            AnyConnector::Pg(c) => postgres::PgConn::quiet(c).await,
            #[cfg(feature = "mysql")]
            AnyConnector::My(c) => mysql::MyConn::quiet(c).await,
            #[cfg(test)]
            AnyConnector::Fake(c) => fake::FakeConn::quiet(c).await,
        }
    }
}

impl AnyCanceller {
    pub(crate) async fn cancel(&self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            AnyCanceller::Pg(c) => postgres::PgConn::cancel(c).await,
            #[cfg(feature = "mysql")]
            AnyCanceller::My(c) => mysql::MyConn::cancel(c).await,
            #[cfg(test)]
            AnyCanceller::Fake(c) => fake::FakeConn::cancel(c).await,
        }
    }
}

impl AnyConn {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "postgres")]
            AnyConn::Pg(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            AnyConn::My(_) => Backend::MySql,
            #[cfg(test)]
            AnyConn::Fake(c) => c.backend(),
        }
    }

    pub(crate) fn canceller(&self) -> AnyCanceller {
        match self {
            #[cfg(feature = "postgres")]
            AnyConn::Pg(c) => AnyCanceller::Pg(c.canceller()),
            #[cfg(feature = "mysql")]
            AnyConn::My(c) => AnyCanceller::My(c.canceller()),
            #[cfg(test)]
            AnyConn::Fake(c) => AnyCanceller::Fake(c.canceller()),
        }
    }

    pub(crate) fn state_changed(&self) -> bool {
        dispatch!(self, AnyConn, |c| c.state_changed())
    }

    pub(crate) fn accept_state(&mut self) {
        dispatch!(self, AnyConn, |c| c.accept_state())
    }

    pub(crate) fn is_closed(&self) -> bool {
        dispatch!(self, AnyConn, |c| c.is_closed())
    }

    pub(crate) async fn role(&mut self) -> Result<HostRole> {
        dispatch!(self, AnyConn, |c| c.role().await)
    }

    pub(crate) async fn control(&mut self, control: Control<'_>) -> Result<()> {
        dispatch!(self, AnyConn, |c| c.control(control).await)
    }

    pub(crate) async fn script(&mut self, sql: &str) -> Result<()> {
        dispatch!(self, AnyConn, |c| c.script(sql).await)
    }

    pub(crate) async fn ping(&mut self) -> Result<()> {
        dispatch!(self, AnyConn, |c| c.ping().await)
    }

    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        placeholders: Placeholders,
    ) -> Result<u64> {
        dispatch!(self, AnyConn, |c| c
            .execute(sql, params, placeholders)
            .await)
    }

    pub(crate) async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<K>> {
        dispatch!(self, AnyConn, |c| c.insert_returning_id(sql, params).await)
    }

    pub(crate) async fn describe(&mut self, sql: &str) -> Result<Description> {
        dispatch!(self, AnyConn, |c| c.describe(sql).await)
    }

    pub(crate) async fn copy_in(
        &mut self,
        target: CopyTarget<'_>,
        rows: &dyn CopyRows,
    ) -> Result<u64> {
        dispatch!(self, AnyConn, |c| c.copy_in(target, rows).await)
    }

    pub(crate) async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(AnyRow) -> Result<bool> + Send,
    ) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            AnyConn::Pg(c) => c.for_each_row(sql, params, |r| each(AnyRow::Pg(r))).await,
            #[cfg(feature = "mysql")]
            AnyConn::My(c) => c.for_each_row(sql, params, |r| each(AnyRow::My(r))).await,
            #[cfg(test)]
            AnyConn::Fake(c) => c.for_each_row(sql, params, |r| each(AnyRow::Fake(r))).await,
        }
    }

    pub(crate) async fn open_rows<'c>(
        &'c mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<AnyRows<'c>> {
        match self {
            #[cfg(feature = "postgres")]
            AnyConn::Pg(c) => c.open_rows(sql, params).await.map(AnyRows::Pg),
            #[cfg(feature = "mysql")]
            AnyConn::My(c) => c.open_rows(sql, params).await.map(AnyRows::My),
            #[cfg(test)]
            AnyConn::Fake(c) => c.open_rows(sql, params).await.map(AnyRows::Fake),
        }
    }
}

impl AnyRows<'_> {
    /// The next row, `None` after the last.
    #[inline]
    pub(crate) async fn next(&mut self) -> Result<Option<AnyRow>> {
        match self {
            #[cfg(feature = "postgres")]
            AnyRows::Pg(rows) => Ok(postgres::PgConn::next_row(rows).await?.map(AnyRow::Pg)),
            #[cfg(feature = "mysql")]
            AnyRows::My(rows) => Ok(mysql::MyConn::next_row(rows).await?.map(AnyRow::My)),
            #[cfg(test)]
            AnyRows::Fake(rows) => Ok(fake::FakeConn::next_row(rows).await?.map(AnyRow::Fake)),
        }
    }

    /// Ends a result read to its last row: the session is idle again afterwards.
    pub(crate) async fn finish(self) -> Result<()> {
        match self {
            #[cfg(feature = "postgres")]
            AnyRows::Pg(rows) => postgres::PgConn::finish_rows(rows).await,
            #[cfg(feature = "mysql")]
            AnyRows::My(rows) => mysql::MyConn::finish_rows(rows).await,
            #[cfg(test)]
            AnyRows::Fake(rows) => fake::FakeConn::finish_rows(rows).await,
        }
    }
}

impl AnyRow {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        dispatch!(self, AnyRow, |r| row_len_of(r))
    }

    pub(crate) fn column_name(&self, index: usize) -> Option<&str> {
        dispatch!(self, AnyRow, |r| column_name_of(r, index))
    }

    #[inline]
    pub(crate) fn column_is(&self, index: usize, name: &str) -> bool {
        dispatch!(self, AnyRow, |r| column_is_of(r, index, name))
    }

    pub(crate) fn column_type(&self, index: usize) -> String {
        dispatch!(self, AnyRow, |r| column_type_of(r, index))
    }

    #[inline(always)] // the derive's per-field path
    pub(crate) fn decode<T: Decode>(&self, index: usize) -> std::result::Result<T, String> {
        dispatch!(self, AnyRow, |r| decode_of(r, index))
    }

    #[inline(always)] // the derive's per-field path
    pub(crate) fn take<T: Decode>(&mut self, index: usize) -> std::result::Result<T, String> {
        dispatch!(self, AnyRow, |r| take_of(r, index))
    }
}

/// The row functions of the adapter whose row `R` is, found from the row's type.
trait RowOf {
    type Adapter: Adapter<Row = Self>;
}
#[cfg(feature = "postgres")]
impl RowOf for <postgres::PgConn as Adapter>::Row {
    type Adapter = postgres::PgConn;
}
#[cfg(feature = "mysql")]
impl RowOf for <mysql::MyConn as Adapter>::Row {
    type Adapter = mysql::MyConn;
}
#[cfg(test)]
impl RowOf for <fake::FakeConn as Adapter>::Row {
    type Adapter = fake::FakeConn;
}

#[inline]
fn row_len_of<R: RowOf>(row: &R) -> usize {
    R::Adapter::row_len(row)
}
fn column_name_of<R: RowOf>(row: &R, index: usize) -> Option<&str> {
    R::Adapter::column_name(row, index)
}
#[inline]
fn column_is_of<R: RowOf>(row: &R, index: usize, name: &str) -> bool {
    R::Adapter::column_is(row, index, name)
}
fn column_type_of<R: RowOf>(row: &R, index: usize) -> String {
    R::Adapter::column_type(row, index)
}
#[inline(always)]
fn decode_of<T: Decode, R: RowOf>(row: &R, index: usize) -> std::result::Result<T, String> {
    R::Adapter::decode(row, index)
}
#[inline(always)]
fn take_of<T: Decode, R: RowOf>(row: &mut R, index: usize) -> std::result::Result<T, String> {
    R::Adapter::take(row, index)
}

/// Whether `backend`'s rows borrow nothing of their session, so that a stream can own them
/// (see [`AnyRows::detach`]).
pub(crate) fn rows_detach(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// Rows that borrow nothing of their session (PostgreSQL's), which a stream can own next to
/// the guard that holds the session and poll directly.
pub(crate) enum DetachedRows {
    #[cfg(feature = "postgres")]
    Pg(postgres::PgRows),
}

impl<'c> AnyRows<'c> {
    /// The rows without their borrow of the session, where the backend's rows have none.
    pub(crate) fn detach(self) -> std::result::Result<DetachedRows, AnyRows<'c>> {
        match self {
            #[cfg(feature = "postgres")]
            AnyRows::Pg(rows) => Ok(DetachedRows::Pg(rows)),
            #[allow(unreachable_patterns)]
            other => Err(other),
        }
    }
}

impl DetachedRows {
    /// The next row, `None` after the last.
    #[inline]
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<AnyRow>>> {
        #[cfg(feature = "postgres")]
        match self {
            DetachedRows::Pg(rows) => rows.poll_next(cx).map(|r| r.map(|r| r.map(AnyRow::Pg))),
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = cx;
            match *self {}
        }
    }
}

/// One notification, as [`Listener`](crate::Listener) yields it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// The payload (may be empty).
    pub payload: String,
    /// The server process id of the sending session.
    pub process_id: i32,
}

/// A dedicated session that listens for notifications; dropping it ends the `LISTEN`.
pub(crate) enum ListenSession {
    #[cfg(feature = "postgres")]
    Pg(#[allow(dead_code)] postgres::PgListener), // kept for its drop
}

impl AnyConnector {
    /// Opens a session outside the pool that listens on `channels` and forwards each
    /// notification to `sink`.
    pub(crate) async fn listen(
        &self,
        channels: &[&str],
        sink: tokio::sync::mpsc::UnboundedSender<Result<Notification>>,
    ) -> Result<ListenSession> {
        match self {
            #[cfg(feature = "postgres")]
            AnyConnector::Pg(c) => c.listen(channels, sink).await.map(ListenSession::Pg),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = (channels, sink);
                Err(Error::Config(
                    "LISTEN/NOTIFY is PostgreSQL-only; this pool talks to MySQL/MariaDB".into(),
                ))
            }
        }
    }
}
