//! PostgreSQL adapter over tokio-postgres and deadpool-postgres: connect, run statements,
//! convert values, classify errors, cancel. It makes no timeout, retry or pooling decision.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::{pin_mut, TryStreamExt};
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};
#[cfg(feature = "tls")]
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{CancelToken, NoTls, RowStream};

use super::pg_socket::{Endpoint, PgSocket};
use super::Slot;
use crate::config::{DatabaseConfig, SslMode};
use crate::engine::Backend;
use crate::error::{ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error, Result};
use crate::executor::CopyRows;
use crate::types::{Cell, Decode, Param};

type BoxError = Box<dyn StdError + Sync + Send>;

/// The TLS connector a connection was opened with; cancel requests must use the same.
#[derive(Clone)]
enum PgTls {
    None,
    #[cfg(feature = "tls")]
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

/// Opens PostgreSQL connections for the pool.
pub(crate) struct PgConnector {
    /// The session settings, for pooled connections and listeners alike.
    config: tokio_postgres::Config,
    /// Where to open sockets, and how long the opening and the close may take.
    server: Arc<Server>,
    tls: PgTls,
}

/// How to reach the server: for sessions and for cancel requests alike.
struct Server {
    endpoint: Endpoint,
    connect_timeout: Duration,
    /// How long a closed session's socket waits for the server to close its end.
    linger: Duration,
    target: String,
}

impl Server {
    async fn socket(&self) -> Result<PgSocket> {
        self.endpoint
            .connect(self.connect_timeout, self.linger)
            .await
            .map_err(|e| Error::Connect {
                backend: Backend::Postgres,
                target: self.target.clone(),
                message: e.to_string(),
                kind: ConnectErrorKind::Network,
            })
    }

    #[cfg(feature = "tls")]
    fn tls(
        &self,
        t: &tokio_postgres_rustls::MakeRustlsConnect,
    ) -> Result<<tokio_postgres_rustls::MakeRustlsConnect as MakeTlsConnect<PgSocket>>::TlsConnect>
    {
        MakeTlsConnect::<PgSocket>::make_tls_connect(&mut t.clone(), self.endpoint.tls_name())
            .map_err(|e| Error::Connect {
                backend: Backend::Postgres,
                target: self.target.clone(),
                message: e.to_string(),
                kind: ConnectErrorKind::Tls,
            })
    }
}

impl PgConnector {
    pub(crate) fn new(cfg: &DatabaseConfig) -> Result<Self> {
        let mut pg = tokio_postgres::Config::new();
        pg.user(&cfg.user);
        if let Some(p) = &cfg.password {
            pg.password(&p.0);
        }
        if let Some(db) = &cfg.database {
            pg.dbname(db);
        }
        let endpoint = match &cfg.socket {
            #[cfg(unix)]
            Some(dir) => Endpoint::Unix(dir.join(format!(".s.PGSQL.{}", cfg.port))),
            #[cfg(not(unix))]
            Some(_) => return Err(Error::Config("Unix sockets need a Unix system".into())),
            None => Endpoint::Tcp {
                host: cfg.host.clone(),
                port: cfg.port,
            },
        };
        if let Some(name) = &cfg.application_name {
            pg.application_name(name);
        }
        let tls = match cfg.ssl_mode {
            SslMode::Disable => PgTls::None,
            #[cfg(not(feature = "tls"))]
            SslMode::Prefer => PgTls::None,
            #[cfg(feature = "tls")]
            mode => PgTls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(
                crate::tls::pg_tls_config(mode, cfg.ssl_root_cert.as_deref())?,
            )),
            #[cfg(not(feature = "tls"))]
            _ => return Err(Error::Config("TLS needs weir's `tls` feature".into())),
        };
        pg.ssl_mode(match cfg.ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        Ok(PgConnector {
            config: pg,
            server: Arc::new(Server {
                endpoint,
                connect_timeout: cfg.connect_timeout,
                linger: cfg.cleanup_timeout,
                target: cfg.target(),
            }),
            tls,
        })
    }

    /// Opens a connection on a socket of weir's own and hands its I/O half to `run`; the one
    /// place that matches on the TLS variant (the I/O half's type differs per TLS stream).
    async fn open(&self, run: impl RunConnection) -> Result<tokio_postgres::Client> {
        let socket = self.server.socket().await?;
        match &self.tls {
            PgTls::None => {
                let (client, conn) = self
                    .config
                    .connect_raw(socket, NoTls)
                    .await
                    .map_err(|e| connect_error(&self.server.target, &e))?;
                run.run(conn);
                Ok(client)
            }
            #[cfg(feature = "tls")]
            PgTls::Rustls(t) => {
                let (client, conn) = self
                    .config
                    .connect_raw(socket, self.server.tls(t)?)
                    .await
                    .map_err(|e| connect_error(&self.server.target, &e))?;
                run.run(conn);
                Ok(client)
            }
        }
    }

    /// Opens a session that occupies `slot` until the server has closed it.
    pub(crate) async fn connect(&self, slot: Slot) -> Result<PgConn> {
        let client = self.open(Pooled(slot)).await?;
        let cancel = PgCanceller {
            token: client.cancel_token(),
            server: self.server.clone(),
            tls: self.tls.clone(),
        };
        // deadpool-postgres aborts the task it is given when the client drops, which would
        // cut the socket without a goodbye; it gets a stand-in, and the connection runs in a
        // task of weir's own that ends when the server has closed the session.
        let stand_in = tokio::spawn(std::future::pending::<()>());
        let client = deadpool_postgres::ClientWrapper::new(client, stand_in);
        Ok(PgConn { client, cancel })
    }

    /// Opens a dedicated connection that listens on `channels` and forwards each notification.
    /// It lives outside the pool: notifications arrive on the connection's own message stream,
    /// which the pool's connections do not read.
    pub(crate) async fn listen(
        &self,
        channels: &[&str],
        sink: tokio::sync::mpsc::UnboundedSender<Result<crate::listen::Notification>>,
    ) -> Result<tokio_postgres::Client> {
        let client = self.open(Listening(sink)).await?;
        let mut sql = String::new();
        for channel in channels {
            sql.push_str("LISTEN ");
            sql.push_str(&crate::sql::quote_identifier(
                crate::engine::Backend::Postgres,
                channel,
            )?);
            sql.push(';');
        }
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| map_error(&e))?;
        Ok(client)
    }
}

/// One PostgreSQL session with its prepared-statement cache.
pub(crate) struct PgConn {
    client: deadpool_postgres::ClientWrapper,
    cancel: PgCanceller,
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
        let socket = self.server.socket().await?;
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

impl PgConn {
    pub(crate) fn canceller(&self) -> PgCanceller {
        self.cancel.clone()
    }

    /// Whether the socket is known closed, without a round trip.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs SQL through the simple protocol (transaction control, hooks, pings).
    pub(crate) async fn simple(&self, sql: &str) -> Result<()> {
        self.client
            .batch_execute(sql)
            .await
            .map_err(|e| map_error(&e))
    }

    async fn prepare(&self, sql: &str, params: &[Param<'_>]) -> Result<tokio_postgres::Statement> {
        let stmt = match self.client.prepare_cached(sql).await {
            Ok(stmt) => stmt,
            // A placeholder past $65535 overflows the protocol's 16-bit parameter count: the
            // driver cannot read the server's reply and drops the connection. Name the cause.
            Err(e) if e.as_db_error().is_none() => {
                crate::sql::rewrite_placeholders(sql, false)?;
                return Err(map_error(&e));
            }
            Err(e) => return Err(map_error(&e)),
        };
        if stmt.params().len() != params.len() {
            return Err(Error::ParamCount {
                expected: stmt.params().len(),
                given: params.len(),
            });
        }
        Ok(stmt)
    }

    pub(crate) async fn execute(&self, sql: &str, params: &[Param<'_>]) -> Result<u64> {
        let stmt = self.prepare(sql, params).await?;
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

    pub(crate) async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<RowStream> {
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

    /// Loads `rows` into `table` with one binary `COPY ... FROM STDIN`: the driver's fastest
    /// bulk path, several times a multi-row `INSERT`, and one transaction however many rows.
    /// Each row has `width` values; the column types come from a prepared `INSERT` on the same
    /// columns, so values encode exactly as they would bind.
    pub(crate) async fn copy_in(
        &self,
        table: &str,
        columns: &str,
        width: usize,
        rows: &dyn CopyRows,
    ) -> Result<u64> {
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
            .client
            .prepare_cached(&format!(
                "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
            ))
            .await
            .map_err(|e| map_error(&e))?;
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

    /// Drops a cached statement the server no longer accepts.
    fn forget(&self, sql: &str) {
        self.client.statement_cache.remove(sql, &[]);
    }

    /// Runs `sql` and hands each row to `each` until it returns `false`; the rest of the
    /// result is read and dropped so the session is idle again.
    pub(crate) async fn for_each_row(
        &self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(tokio_postgres::Row) -> Result<bool>,
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
}

/// What runs a freshly opened connection's I/O half.
trait RunConnection {
    fn run<T>(self, conn: tokio_postgres::Connection<PgSocket, T>)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;
}

/// A pooled session: its task holds the pool slot until the session has ended.
struct Pooled(Slot);

impl RunConnection for Pooled {
    fn run<T>(self, conn: tokio_postgres::Connection<PgSocket, T>)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        drive(conn, self.0);
    }
}

/// A LISTEN connection: its task forwards notifications to the listener.
struct Listening(tokio::sync::mpsc::UnboundedSender<Result<crate::listen::Notification>>);

impl RunConnection for Listening {
    fn run<T>(self, conn: tokio_postgres::Connection<PgSocket, T>)
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        tokio::spawn(forward_notifications(conn, self.0));
    }
}

/// Runs a pooled connection's I/O until the session ends, holding the session's pool slot
/// until then. With every client gone, the connection says goodbye (Terminate) and ends once
/// the server has closed the socket (see `pg_socket`), which it does on its way out of the
/// session: a replacement opened on the freed slot never finds the old session still there.
fn drive<S, T>(conn: tokio_postgres::Connection<S, T>, slot: Slot)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("PostgreSQL connection ended: {e}");
        }
        drop(slot);
    });
}

/// Drives a listening connection and forwards its notifications until either side goes.
async fn forward_notifications<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
    sink: tokio::sync::mpsc::UnboundedSender<Result<crate::listen::Notification>>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    pin_mut!(messages);
    while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
        let item = match message {
            Ok(tokio_postgres::AsyncMessage::Notification(n)) => Ok(crate::listen::Notification {
                channel: n.channel().to_owned(),
                payload: n.payload().to_owned(),
                process_id: n.process_id(),
            }),
            Ok(_) => continue,
            Err(e) => Err(Error::ConnectionLost(e.to_string())),
        };
        let failed = item.is_err();
        if sink.send(item).is_err() || failed {
            return;
        }
    }
}

fn binds<'a>(params: &'a [Param<'a>]) -> impl ExactSizeIterator<Item = Bind<'a>> + 'a {
    binds_from(params, 0)
}

/// Binds for `params`, numbered from `first` (a COPY row's values are numbered across rows).
fn binds_from<'a>(
    params: &'a [Param<'a>],
    first: usize,
) -> impl ExactSizeIterator<Item = Bind<'a>> + 'a {
    params.iter().enumerate().map(move |(i, param)| Bind {
        index: first + i,
        param,
    })
}

/// A parameter with its position, so an encode failure can name it.
struct Bind<'a> {
    index: usize,
    param: &'a Param<'a>,
}

/// tokio-postgres logs its parameters' `Debug` at DEBUG (through `log`): show the position and
/// Rust type only, never the value.
impl std::fmt::Debug for Bind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${} ({})", self.index + 1, self.param.rust_type())
    }
}

/// An encode failure on its way through tokio-postgres, which boxes it.
#[derive(Debug)]
struct EncodeFailure {
    index: usize,
    rust_type: &'static str,
    sql_type: String,
    reason: String,
}

impl std::fmt::Display for EncodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter ${}: {}", self.index + 1, self.reason)
    }
}

impl StdError for EncodeFailure {}

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode(self.param, ty, out).map_err(|reason| {
            Box::new(EncodeFailure {
                index: self.index,
                rust_type: self.param.rust_type(),
                sql_type: ty.name().to_owned(),
                reason,
            }) as BoxError
        })
    }

    // Every type is accepted here; `encode` checks the pair and says what does not fit.
    fn accepts(_: &Type) -> bool {
        true
    }

    postgres_types::to_sql_checked!();
}

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
        || matches!(ty.kind(), Kind::Enum(_))
}

fn delegate<T: ToSql>(v: T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    v.to_sql_checked(ty, out).map_err(|e| e.to_string())
}

fn range<T, E>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|_| "value out of range for the column type".to_string())
}

fn encode(param: &Param<'_>, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    match (param, ty) {
        (Param::Null, _) => Ok(IsNull::Yes),
        (Param::Bool(v), &Type::BOOL) => delegate(*v, ty, out),
        (Param::Int(v), &Type::INT2) => delegate(range(i16::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::INT4) => delegate(range(i32::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::INT8) => delegate(*v, ty, out),
        (Param::Int(v), &Type::OID) => delegate(range(u32::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::Int(v), &Type::FLOAT8) => delegate(*v as f64, ty, out),
        (Param::Int(v), &Type::NUMERIC) => {
            numeric_from_int(i128::from(*v), out);
            Ok(IsNull::No)
        }
        (Param::UInt(v), &Type::INT2) => delegate(range(i16::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::INT4) => delegate(range(i32::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::INT8) => delegate(range(i64::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::OID) => delegate(range(u32::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::UInt(v), &Type::FLOAT8) => delegate(*v as f64, ty, out),
        (Param::UInt(v), &Type::NUMERIC) => {
            numeric_from_int(i128::from(*v), out);
            Ok(IsNull::No)
        }
        (Param::F32(v), &Type::FLOAT4) => delegate(*v, ty, out),
        (Param::F32(v), &Type::FLOAT8) => delegate(f64::from(*v), ty, out),
        (Param::F64(v), &Type::FLOAT8) => delegate(*v, ty, out),
        (Param::F64(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::Str(s), &Type::JSONB) => {
            // jsonb's binary form is a version byte and the text.
            out.extend_from_slice(&[1]);
            out.extend_from_slice(s.as_bytes());
            Ok(IsNull::No)
        }
        (Param::Str(s), t) if is_text(t) || *t == Type::JSON => {
            out.extend_from_slice(s.as_bytes());
            Ok(IsNull::No)
        }
        (Param::Bytes(b), &Type::BYTEA) => {
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        #[cfg(feature = "decimal")]
        (Param::F64(v), &Type::NUMERIC) => delegate(
            rust_decimal::Decimal::try_from(*v).map_err(|e| e.to_string())?,
            ty,
            out,
        ),
        #[cfg(feature = "decimal")]
        (Param::Str(s), &Type::NUMERIC) => delegate(
            rust_decimal::Decimal::from_str_exact(s).map_err(|e| format!("`{s}`: {e}"))?,
            ty,
            out,
        ),
        #[cfg(feature = "decimal")]
        (Param::Decimal(d), &Type::NUMERIC) => delegate(*d, ty, out),
        #[cfg(feature = "chrono")]
        (Param::Date(d), &Type::DATE) => delegate(pg_date(*d)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::Time(t), &Type::TIME) => delegate(pg_time(*t)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTime(t), &Type::TIMESTAMP) => delegate(pg_timestamp(*t)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTime(t), &Type::TIMESTAMPTZ) => delegate(pg_timestamp(*t)?.and_utc(), ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTimeUtc(t), &Type::TIMESTAMPTZ) => {
            delegate(pg_timestamp(t.naive_utc())?.and_utc(), ty, out)
        }
        #[cfg(feature = "chrono")]
        (Param::DateTimeUtc(t), &Type::TIMESTAMP) => {
            delegate(pg_timestamp(t.naive_utc())?, ty, out)
        }
        #[cfg(feature = "uuid")]
        (Param::Uuid(u), &Type::UUID) => delegate(*u, ty, out),
        #[cfg(feature = "uuid")]
        (Param::Uuid(u), t) if is_text(t) => {
            out.extend_from_slice(u.hyphenated().to_string().as_bytes());
            Ok(IsNull::No)
        }
        #[cfg(feature = "json")]
        (Param::Json(j), &Type::JSON | &Type::JSONB) => delegate(*j, ty, out),
        (Param::Untyped(s), _) => encode_untyped(s, ty, out),
        _ => Err("incompatible types".into()),
    }
}

/// An integer as PostgreSQL's binary `numeric`: base-10000 digits, most significant first.
fn numeric_from_int(v: i128, out: &mut BytesMut) {
    let mut digits = [0u16; 10]; // u128::MAX has 39 decimal digits: 10 base-10000 groups
    let mut n = 0;
    let mut rest = v.unsigned_abs();
    while rest > 0 {
        digits[n] = (rest % 10_000) as u16;
        rest /= 10_000;
        n += 1;
    }
    // Trailing zero groups are implied by the weight.
    let weight = n.saturating_sub(1);
    let zeros = digits[..n].iter().take_while(|&&d| d == 0).count();
    out.extend_from_slice(&((n - zeros) as u16).to_be_bytes());
    out.extend_from_slice(&(weight as u16).to_be_bytes());
    out.extend_from_slice(&(if v < 0 { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // display scale: a whole number
    for d in digits[zeros..n].iter().rev() {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// PostgreSQL's dates and timestamps begin on 24 November 4714 BC (chrono's year -4713); its
/// timestamps end in 294276, past chrono's last year, and its dates later still.
#[cfg(feature = "chrono")]
fn pg_first_day() -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::from_ymd_opt(-4713, 11, 24).ok_or_else(|| "no first day".to_string())
}

#[cfg(feature = "chrono")]
fn pg_date(d: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    if d < pg_first_day()? {
        return Err(format!(
            "{d} is outside PostgreSQL's date range (4714-11-24 BC to 5874897-12-31)"
        ));
    }
    Ok(d)
}

#[cfg(feature = "chrono")]
fn pg_timestamp(t: chrono::NaiveDateTime) -> Result<chrono::NaiveDateTime, String> {
    if t.date() < pg_first_day()? {
        return Err(format!(
            "{t} is outside PostgreSQL's timestamp range \
             (4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999)"
        ));
    }
    pg_time(t.time())?;
    Ok(t)
}

/// A time of day; chrono's leap second (a second's worth of extra nanoseconds) has no
/// PostgreSQL form.
#[cfg(feature = "chrono")]
fn pg_time(t: chrono::NaiveTime) -> Result<chrono::NaiveTime, String> {
    use chrono::Timelike;
    if t.nanosecond() >= 1_000_000_000 {
        return Err(format!(
            "{t} is a leap second, which PostgreSQL cannot store"
        ));
    }
    Ok(t)
}

/// Reads text as the parameter's type, as psql reads a literal.
fn encode_untyped(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    let bad = || format!("`{s}` is not a valid {}", ty.name());
    let t = s.trim();
    let typed = match *ty {
        Type::BOOL => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "yes" | "y" | "on" => Param::Bool(true),
            "f" | "false" | "0" | "no" | "n" | "off" => Param::Bool(false),
            _ => return Err(bad()),
        },
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            Param::Int(t.parse().map_err(|_| bad())?)
        }
        Type::FLOAT4 | Type::FLOAT8 => Param::F64(t.parse().map_err(|_| bad())?),
        Type::BYTEA => match t.strip_prefix("\\x") {
            Some(hex) if hex.len() % 2 == 0 => {
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect();
                out.extend_from_slice(&bytes.ok_or_else(bad)?);
                return Ok(IsNull::No);
            }
            _ => Param::Bytes(s.as_bytes()),
        },
        #[cfg(feature = "decimal")]
        Type::NUMERIC => Param::Str(t),
        #[cfg(feature = "chrono")]
        Type::DATE => Param::Date(t.parse().map_err(|_| bad())?),
        #[cfg(feature = "chrono")]
        Type::TIME => Param::Time(t.parse().map_err(|_| bad())?),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMP => Param::DateTime(
            chrono::NaiveDateTime::parse_from_str(&t.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| bad())?,
        ),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMPTZ => Param::DateTimeUtc(
            chrono::DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1))
                .map_err(|_| bad())?
                .to_utc(),
        ),
        #[cfg(feature = "uuid")]
        Type::UUID => Param::Uuid(t.parse().map_err(|_| bad())?),
        _ => Param::Str(s),
    };
    encode(&typed, ty, out)
}

/// One PostgreSQL column as tokio-postgres hands it over: its type and raw bytes, borrowed
/// from the row. [`Decode`](crate::Decode) reads the common types straight from it, with no
/// [`Cell`] in between; the rest (and every error) go through [`PgValue::cell`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct PgValue<'a> {
    ty: &'a Type,
    raw: Option<&'a [u8]>,
}

impl<'a> PgValue<'a> {
    /// The value classified by its SQL type.
    ///
    /// # Errors
    /// The bytes do not hold a value of the column's type.
    #[inline]
    pub fn cell(self) -> Result<Cell<'a>, String> {
        match self.raw {
            None => Ok(Cell::Null),
            Some(raw) => decode_cell(self.ty, raw),
        }
    }

    /// Whether the value is SQL NULL.
    #[inline]
    pub fn is_null(self) -> bool {
        self.raw.is_none()
    }

    /// An `int2`, `int4` or `int8` value; `None` for anything else, left to [`PgValue::cell`].
    #[inline]
    pub fn int(self) -> Option<i64> {
        let raw = self.raw?;
        match *self.ty {
            Type::INT8 => raw.try_into().ok().map(i64::from_be_bytes),
            Type::INT4 => raw
                .try_into()
                .ok()
                .map(|b| i64::from(i32::from_be_bytes(b))),
            Type::INT2 => raw
                .try_into()
                .ok()
                .map(|b| i64::from(i16::from_be_bytes(b))),
            _ => None,
        }
    }

    /// A `float8` or `float4` value; `None` for anything else.
    #[inline]
    pub fn float8(self) -> Option<f64> {
        let raw = self.raw?;
        match *self.ty {
            Type::FLOAT8 => raw.try_into().ok().map(f64::from_be_bytes),
            Type::FLOAT4 => raw
                .try_into()
                .ok()
                .map(|b| f64::from(f32::from_be_bytes(b))),
            _ => None,
        }
    }

    /// A `bool` value; `None` for anything else.
    #[inline]
    pub fn bool(self) -> Option<bool> {
        match (self.ty, self.raw?) {
            (&Type::BOOL, [b]) => Some(*b != 0),
            _ => None,
        }
    }

    /// The bytes of a `text`, `varchar`, `bpchar` or `name` value, not yet checked as UTF-8;
    /// `None` for anything else (other text-like types go through [`PgValue::cell`]).
    #[inline]
    pub fn text(self) -> Option<&'a [u8]> {
        match *self.ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => self.raw,
            _ => None,
        }
    }
}

/// `T` decoded inside tokio-postgres's own `try_get`, which hands over the column's type and
/// bytes after one bounds check: no second lookup of the column, no [`Cell`] for common types.
struct Decoded<T>(Result<T, String>);

impl<'a, T: Decode> FromSql<'a> for Decoded<T> {
    #[inline]
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Decoded(T::decode_pg(PgValue { ty, raw: Some(raw) })))
    }
    #[inline]
    fn from_sql_null(ty: &Type) -> Result<Self, BoxError> {
        Ok(Decoded(T::decode_pg(PgValue { ty, raw: None })))
    }
    #[inline]
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Decodes column `index` of `row` into `T`; the error is the reason alone (the caller names
/// the column and types).
#[inline]
pub(crate) fn decode<T: Decode>(row: &tokio_postgres::Row, index: usize) -> Result<T, String> {
    match row.try_get::<usize, Decoded<T>>(index) {
        Ok(Decoded(decoded)) => decoded,
        Err(e) => Err(cell_error(&e)),
    }
}

/// The reason alone, without tokio-postgres's "error deserializing column" wrapper.
#[cold]
fn cell_error(e: &tokio_postgres::Error) -> String {
    e.source()
        .map_or_else(|| e.to_string(), ToString::to_string)
}

#[inline]
fn from<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<T, String> {
    T::from_sql(ty, raw).map_err(|e| e.to_string())
}

#[inline]
fn decode_cell<'a>(ty: &Type, raw: &'a [u8]) -> Result<Cell<'a>, String> {
    Ok(match *ty {
        Type::BOOL => Cell::Bool(from(ty, raw)?),
        Type::INT2 => Cell::Int(i64::from(from::<i16>(ty, raw)?)),
        Type::INT4 => Cell::Int(i64::from(from::<i32>(ty, raw)?)),
        Type::INT8 => Cell::Int(from(ty, raw)?),
        Type::OID => Cell::Int(i64::from(from::<u32>(ty, raw)?)),
        Type::CHAR => Cell::Int(i64::from(from::<i8>(ty, raw)?)),
        Type::FLOAT4 => Cell::F32(from(ty, raw)?),
        Type::FLOAT8 => Cell::F64(from(ty, raw)?),
        Type::BYTEA => Cell::Bytes(raw),
        Type::NUMERIC => Cell::PgNumeric(raw),
        Type::JSON => Cell::Json(raw),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => Cell::Json(rest),
            _ => return Err("unsupported jsonb version".into()),
        },
        #[cfg(feature = "chrono")]
        Type::DATE => Cell::Date(from(ty, raw)?),
        #[cfg(feature = "chrono")]
        Type::TIME => Cell::Time(from(ty, raw)?),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMP => Cell::DateTime(from(ty, raw)?),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMPTZ => Cell::DateTimeUtc(from(ty, raw)?),
        #[cfg(feature = "uuid")]
        Type::UUID => Cell::Uuid(from(ty, raw)?),
        _ if is_text(ty) => Cell::Text(raw),
        _ => Cell::Other(raw),
    })
}

/// A cached statement whose result columns changed under it (the table was altered or
/// recreated). The server refused it before running anything, so preparing again and retrying
/// once cannot run the statement twice.
fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code().code() == "0A000"
            && db
                .message()
                .contains("cached plan must not change result type")
    })
}

/// Classifies an error from a statement on an open connection.
pub(crate) fn map_error(e: &tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        // FATAL ends the session: the server is shutting down or crashed (57P01, 57P02), or an
        // admin terminated the backend. Whatever was in flight may or may not have taken effect.
        if matches!(db.severity(), "FATAL" | "PANIC") {
            return Error::ConnectionLost(format!("{} ({})", db.message(), db.code().code()));
        }
        let code = db.code().code();
        return DatabaseError::new(
            Backend::Postgres,
            code.to_owned(),
            None,
            db.message().to_owned(),
            db.constraint().map(str::to_owned),
            kind_of(code),
        )
        .into_error();
    }
    if let Some(f) = e.source().and_then(|s| s.downcast_ref::<EncodeFailure>()) {
        return Error::Encode {
            index: f.index,
            rust_type: f.rust_type,
            sql_type: f.sql_type.clone(),
            reason: f.reason.clone(),
        };
    }
    if e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        return Error::ConnectionLost(e.to_string());
    }
    Error::Driver(e.to_string())
}

/// What a SQLSTATE means on any backend.
fn kind_of(sqlstate: &str) -> DatabaseErrorKind {
    match sqlstate {
        "23505" => DatabaseErrorKind::UniqueViolation,
        "23503" => DatabaseErrorKind::ForeignKeyViolation,
        "23502" => DatabaseErrorKind::NotNullViolation,
        "23514" => DatabaseErrorKind::CheckViolation,
        "40001" => DatabaseErrorKind::SerializationFailure,
        "40P01" => DatabaseErrorKind::Deadlock,
        "55P03" => DatabaseErrorKind::LockTimeout,
        "57014" => DatabaseErrorKind::Cancelled,
        "25P02" => DatabaseErrorKind::InFailedTransaction,
        s if s.starts_with("42") => DatabaseErrorKind::Syntax,
        _ => DatabaseErrorKind::Other,
    }
}

/// Classifies an error from opening a connection.
fn connect_error(target: &str, e: &tokio_postgres::Error) -> Error {
    let (kind, message) = match e.as_db_error() {
        Some(db) => {
            let kind = match db.code().code() {
                "28P01" | "28000" => ConnectErrorKind::Authentication,
                "3D000" => ConnectErrorKind::UnknownDatabase,
                // "the database system is starting up / shutting down / in recovery": nothing
                // was sent, and the same connect may succeed in a moment.
                "57P03" => ConnectErrorKind::Network,
                _ => ConnectErrorKind::Other,
            };
            (kind, format!("{} ({})", db.message(), db.code().code()))
        }
        None => {
            let text = error_chain(e);
            let lower = text.to_ascii_lowercase();
            let kind = if lower.contains("tls")
                || lower.contains("ssl")
                || lower.contains("certificate")
            {
                ConnectErrorKind::Tls
            } else if lower.contains("password") || lower.contains("authentication") {
                ConnectErrorKind::Authentication
            } else {
                ConnectErrorKind::Network
            };
            (kind, text)
        }
    };
    Error::Connect {
        backend: Backend::Postgres,
        target: target.to_owned(),
        message,
        kind,
    }
}

/// The error and its causes on one line: tokio-postgres keeps the useful part in `source`.
fn error_chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        cur = s.source();
    }
    text
}
