//! MySQL/MariaDB adapter over mysql_async: connect, rewrite placeholders, run statements,
//! convert values, classify errors, cancel with `KILL QUERY`. It makes no timeout, retry or
//! pooling decision.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::consts::{ColumnFlags, ColumnType, StatusFlags};
use mysql_async::prelude::Queryable;
use mysql_async::{BinaryProtocol, Column, Conn, Opts, OptsBuilder, Value};

use super::Slot;
use crate::config::{DatabaseConfig, SslMode};
use crate::engine::Backend;
use crate::error::{ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error, Result};
use crate::sql::RewriteCache;
use crate::types::{Cell, Param};

/// Opens MySQL/MariaDB connections for the pool.
pub(crate) struct MyConnector {
    opts: Opts,
    /// For `sslmode=prefer`: the same options without TLS, used once the server said it has none.
    plain: Option<Opts>,
    server_has_no_tls: AtomicBool,
    target: String,
    rewrites: Arc<RewriteCache>,
    /// Bounds the side connections cancels open at once, so a burst of cancellations cannot
    /// exhaust the server's connection slots.
    cancel_slots: Arc<tokio::sync::Semaphore>,
    /// How long closing a session may take.
    linger: Duration,
    /// Where closed sessions wait for the server to let them go before their slot frees up.
    farewells: Farewells,
}

impl MyConnector {
    pub(crate) fn new(cfg: &DatabaseConfig) -> Result<Self> {
        let mut b = OptsBuilder::default()
            .user(Some(cfg.user.clone()))
            .pass(cfg.password.as_ref().map(|p| p.0.clone()))
            .db_name(cfg.database.clone())
            .stmt_cache_size(cfg.statement_cache_capacity)
            // Keep to the address given: a silent switch to the Unix socket would bypass
            // whatever the user put in between (a proxy, a tunnel).
            .prefer_socket(false)
            .tcp_nodelay(true);
        b = match &cfg.socket {
            Some(path) => b.socket(Some(path.display().to_string())),
            None => b.ip_or_hostname(cfg.host.clone()).tcp_port(cfg.port),
        };
        if let Some(name) = &cfg.application_name {
            b = b.connect_attributes(HashMap::from([("program_name".to_owned(), name.clone())]));
        }
        let plain = b.clone();
        let (opts, plain) = match cfg.ssl_mode {
            SslMode::Disable => (Opts::from(plain), None),
            #[cfg(not(feature = "tls"))]
            SslMode::Prefer => (Opts::from(plain), None),
            #[cfg(not(feature = "tls"))]
            _ => return Err(Error::Config("TLS needs weir's `tls` feature".into())),
            #[cfg(feature = "tls")]
            mode => {
                let tls = b.ssl_opts(crate::tls::mysql_ssl_opts(
                    mode,
                    cfg.ssl_root_cert.as_deref(),
                ));
                let fallback = (mode == SslMode::Prefer).then(|| Opts::from(plain));
                (Opts::from(tls), fallback)
            }
        };
        Ok(MyConnector {
            opts,
            plain,
            server_has_no_tls: AtomicBool::new(false),
            target: cfg.target(),
            rewrites: Arc::new(RewriteCache::default()),
            cancel_slots: Arc::new(tokio::sync::Semaphore::new(4)),
            linger: cfg.cleanup_timeout,
            farewells: Farewells::default(),
        })
    }

    /// Ends the side connection that watches closing sessions, for a pool that is closing.
    pub(crate) async fn quiet(&self) {
        self.farewells.quiet(self.linger).await;
    }

    /// Opens a session that occupies `slot` until the server no longer lists it (see `Drop`).
    pub(crate) async fn connect(&self, slot: Slot) -> Result<MyConn> {
        let (mut conn, mut opts) = match &self.plain {
            Some(plain) if self.server_has_no_tls.load(Ordering::Relaxed) => {
                (Conn::new(plain.clone()).await, plain)
            }
            _ => (Conn::new(self.opts.clone()).await, &self.opts),
        };
        if let (
            Err(mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)),
            Some(plain),
        ) = (&conn, &self.plain)
        {
            self.server_has_no_tls.store(true, Ordering::Relaxed);
            conn = Conn::new(plain.clone()).await;
            // The cancel side connection must take the same road as this one.
            opts = plain;
        }
        let mut conn = conn.map_err(|e| connect_error(&self.target, e))?;
        // Lets the server flag, in its OK packets, statements that changed the session, so that
        // only such connections are reset instead of every one on every return.
        conn.query_drop("SET SESSION session_track_state_change = ON")
            .await
            .map_err(|e| connect_error(&self.target, e))?;
        // A value over this makes the server hang up mid-write, which reads as a lost
        // connection; knowing it, `bind` refuses such a value, typed, before sending anything.
        let max_packet: Option<u64> = conn
            .query_first("SELECT @@max_allowed_packet")
            .await
            .map_err(|e| connect_error(&self.target, e))?;
        let cancel = MyCanceller {
            opts: opts.clone(),
            id: conn.id(),
            slots: Arc::clone(&self.cancel_slots),
        };
        let farewells = self.farewells.sender(&cancel.opts);
        Ok(MyConn {
            conn: Some(conn),
            slot: Some(slot),
            linger: self.linger,
            farewells,
            rewrites: Arc::clone(&self.rewrites),
            cancel,
            state_changed: false,
            max_packet: max_packet.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX)),
        })
    }
}

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
    pub(crate) async fn cancel(&self) -> Result<()> {
        let _slot = self.slots.acquire().await.map_err(|_| Error::PoolClosed)?;
        let mut side = Conn::new(self.opts.clone()).await.map_err(map_error)?;
        // The id is the server's own connection number, not user input.
        let r = side.query_drop(format!("KILL QUERY {}", self.id)).await;
        let _ = side.disconnect().await;
        r.map_err(map_error)
    }
}

/// How a statement's placeholders are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1..$n`, as every statement of weir's callers: rewritten to `?`, and a `?` refused.
    Dollar,
    /// `?` already, in SQL weir wrote itself (a bulk insert's thousands of values), sent as it is.
    Question,
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

impl MyConn {
    pub(crate) fn canceller(&self) -> MyCanceller {
        self.cancel.clone()
    }

    /// Whether the server reported a session state change since the connection opened.
    pub(crate) fn state_changed(&self) -> bool {
        self.state_changed
    }

    /// Takes the session as it is now as the one every borrower gets.
    pub(crate) fn accept_state(&mut self) {
        self.state_changed = false;
    }

    /// The session, for a statement.
    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::ConnectionLost("the session was closed".into()))
    }

    /// Records whether the last statement changed the session, as the server reports it.
    pub(crate) fn note_ok_packet(&mut self) {
        if let Some(ok) = self.conn.as_ref().and_then(Conn::last_ok_packet) {
            self.state_changed |= ok
                .status_flags()
                .contains(StatusFlags::SERVER_SESSION_STATE_CHANGED);
        }
    }

    /// Runs SQL through the text protocol (transaction control, hooks, pings).
    /// Transaction control only: weir's own statements, whose effect on the session weir
    /// tracks itself, so the server's state-change flag is not read here.
    pub(crate) async fn simple(&mut self, sql: &str) -> Result<()> {
        self.conn()?.query_drop(sql).await.map_err(map_error)
    }

    pub(crate) async fn ping(&mut self) -> Result<()> {
        self.conn()?.ping().await.map_err(map_error)
    }

    /// Refuses a value the server would not accept (it hangs up on a packet over its
    /// `max_allowed_packet`, and the caller would see a lost connection).
    fn check_sizes(&self, params: &[Param<'_>]) -> Result<()> {
        for (index, param) in params.iter().enumerate() {
            let len = match param {
                Param::Str(s) | Param::Untyped(s) => s.len(),
                Param::Bytes(b) => b.len(),
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

    fn bind<'s>(
        &self,
        sql: &'s str,
        params: &[Param<'_>],
        marks: Placeholders,
    ) -> Result<Bound<'s>> {
        self.check_sizes(params)?;
        // SQL with neither `$` nor `?` needs no lexing; a `?` in the caller's SQL is lexed
        // (once, the verdict cached with the rewrite) to refuse it outside literals.
        if marks == Placeholders::Question || !(sql.contains('$') || sql.contains('?')) {
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
        let rw = self.rewrites.get(sql)?;
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

    /// Runs a statement; `marks` says how its placeholders are written.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        marks: Placeholders,
    ) -> Result<u64> {
        let b = self.bind(sql, params, marks)?;
        let conn = self.conn()?;
        conn.exec_drop(b.sql.as_str(), b.params)
            .await
            .map_err(map_error)?;
        let affected = conn.affected_rows();
        self.note_ok_packet();
        Ok(affected)
    }

    /// Runs an INSERT and returns the AUTO_INCREMENT value it generated (the first one of a
    /// multi-row INSERT), if any: MySQL 8 has no `RETURNING`.
    pub(crate) async fn execute_returning_id(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<u64>> {
        let b = self.bind(sql, params, Placeholders::Dollar)?;
        let conn = self.conn()?;
        conn.exec_drop(b.sql.as_str(), b.params)
            .await
            .map_err(map_error)?;
        let id = conn.last_insert_id();
        self.note_ok_packet();
        Ok(id)
    }

    /// Runs `sql` and hands each row to `each` until it returns `false` or fails; the rest of
    /// the result is read and dropped so the session is idle again.
    pub(crate) async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(mysql_async::Row) -> Result<bool>,
    ) -> Result<()> {
        self.start_rows(sql, params).await?;
        let mut outcome = Ok(());
        while let Some(row) = self.next_row().await? {
            match each(row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.finish_rows().await?;
        outcome
    }

    /// Runs `sql` and leaves its result unread in the session, for [`MyConn::next_row`] to
    /// read row by row and [`MyConn::finish_rows`] to end.
    pub(crate) async fn start_rows(&mut self, sql: &str, params: &[Param<'_>]) -> Result<()> {
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

    /// The next row of the result [`MyConn::start_rows`] left pending, `None` after the last.
    #[inline]
    pub(crate) async fn next_row(&mut self) -> Result<Option<mysql_async::Row>> {
        self.pending()?.next().await.map_err(map_error)
    }

    /// Reads what is left of the pending result, so the session is idle again, and notes
    /// whether the statement changed the session.
    pub(crate) async fn finish_rows(&mut self) -> Result<()> {
        self.pending()?.drop_result().await.map_err(map_error)?;
        self.note_ok_packet();
        Ok(())
    }
}

impl Drop for MyConn {
    /// Closes the session off the caller's path, and gives its slot back only once the server
    /// no longer lists the session: a session cut off mid-statement stays on the server until
    /// that statement ends, and even one that said goodbye is listed, busy with its last
    /// reply, for a moment after mysql_async has dropped the socket; opening its replacement
    /// before that would hold more sessions than the pool's maximum.
    fn drop(&mut self) {
        let (Some(mut conn), slot) = (self.conn.take(), self.slot.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime left: mysql_async's own drop does what it can
        };
        let (linger, farewells) = (self.linger, self.farewells.take());
        let deadline = deadline_after(linger);
        runtime.spawn(async move {
            let id = conn.id();
            let close = async move {
                // `disconnect` says goodbye without reading the rest of a result left unread
                // (a stream dropped part-way), and the server would keep writing it. A trivial
                // statement first reads that result out, so the goodbye finds the session idle.
                // After a command cut off mid-way mysql_async is out of step with the server
                // and takes the cut statement's reply (once the cancel ended it) for this
                // one's; that is harmless, for the slot waits for the server's list below.
                // Dropping such a session at once instead was worse: MariaDB, seeing the
                // client gone, marks the session killed, and a killed SLEEP lingered for
                // seconds (the CLI's timeout test caught it).
                if let Err(e) = conn.query_drop("DO 0").await {
                    tracing::debug!("draining a closing MySQL session: {e}");
                }
                if let Err(e) = conn.disconnect().await {
                    tracing::debug!("closing a MySQL session: {e}");
                }
            };
            if tokio::time::timeout_at(deadline, close).await.is_err() {
                tracing::warn!("closing a MySQL session timed out; its slot is given back");
                return;
            }
            // The slot stays here, and so does the deadline: this task frees it, whatever
            // the watcher (perhaps on another runtime, perhaps stalled) does. A watcher that
            // cannot look drops `gone`, which frees the slot at once.
            if let Some(farewells) = farewells {
                let (gone, seen) = tokio::sync::oneshot::channel();
                if farewells.send(Farewell::Closed { id, gone }).is_ok()
                    && tokio::time::timeout_at(deadline, seen).await.is_err()
                {
                    tracing::warn!(
                        "the server still lists a closed MySQL session after the cleanup timeout; its slot is given back"
                    );
                }
            }
            drop(slot);
        });
    }
}

/// `now + after`, or a year from now for a timeout too large to add (`Duration::MAX` as "no
/// limit").
fn deadline_after(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 24 * 3600)))
        .unwrap_or(now)
}

/// What the watcher is told.
enum Farewell {
    /// Session `id` was closed; `gone` gets word once the server no longer lists it.
    Closed {
        id: u32,
        gone: tokio::sync::oneshot::Sender<()>,
    },
    /// The pool is closing: end the side connection now, then answer.
    Quiet(tokio::sync::oneshot::Sender<()>),
}

type FarewellSender = tokio::sync::mpsc::UnboundedSender<Farewell>;

/// One watcher task per pool, started with its first connection, that looks up every closed
/// session in the server's process list over one side connection of its own and tells each
/// closing task once its session is gone. One connection and one query serve any number of
/// closes, where a side connection per close would double the connects of a timeout storm.
#[derive(Default)]
struct Farewells {
    sender: std::sync::Mutex<Option<FarewellSender>>,
}

impl Farewells {
    /// A sender to the watcher, starting it if none runs (or it ended with its runtime).
    /// `None` outside a runtime: slots are then given back as soon as a session is closed.
    fn sender(&self, opts: &Opts) -> Option<FarewellSender> {
        let mut sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = sender.as_ref().filter(|tx| !tx.is_closed()) {
            return Some(tx.clone());
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        runtime.spawn(watch_farewells(opts.clone(), rx));
        *sender = Some(tx.clone());
        Some(tx)
    }

    /// Ends the watcher's side connection, if it has one, so a closed pool leaves no session
    /// behind; waits at most `within`.
    async fn quiet(&self, within: Duration) {
        let tx = self
            .sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(tx) = tx else { return };
        let (done, answered) = tokio::sync::oneshot::channel();
        if tx.send(Farewell::Quiet(done)).is_ok() {
            let _ = tokio::time::timeout(within, answered).await;
        }
    }
}

/// How often the watcher looks while sessions are closing; how long one look may take; how
/// long its side connection stays open once none are closing; how long it waits before trying
/// again after a look failed (meanwhile slots are freed as soon as sessions are closed).
const FAREWELL_POLL: Duration = Duration::from_millis(5);
const FAREWELL_LOOK: Duration = Duration::from_secs(1);
const FAREWELL_IDLE: Duration = Duration::from_secs(2);
const FAREWELL_RETRY: Duration = Duration::from_secs(1);

async fn watch_farewells(opts: Opts, mut rx: tokio::sync::mpsc::UnboundedReceiver<Farewell>) {
    let mut closing: Vec<(u32, tokio::sync::oneshot::Sender<()>)> = Vec::new();
    let mut side: Option<Conn> = None;
    let mut blind_until: Option<tokio::time::Instant> = None;
    loop {
        if closing.is_empty() {
            let next = match side {
                Some(_) => tokio::time::timeout(FAREWELL_IDLE, rx.recv()).await,
                None => Ok(rx.recv().await),
            };
            match next {
                Ok(Some(msg)) => take(msg, &mut closing, &mut side).await,
                Ok(None) => break, // the pool and its sessions are gone
                Err(_) => {
                    end_side(&mut side).await;
                    continue;
                }
            }
        }
        while let Ok(msg) = rx.try_recv() {
            take(msg, &mut closing, &mut side).await;
        }
        // A closing task that gave up (its deadline passed) no longer waits for word.
        closing.retain(|(_, gone)| !gone.is_closed());
        if closing.is_empty() {
            continue;
        }
        if blind_until.is_some_and(|t| tokio::time::Instant::now() < t) {
            closing.clear(); // cannot look: the slots go back at once
            continue;
        }
        let ids: Vec<u32> = closing.iter().map(|(id, _)| *id).collect();
        let look = tokio::time::timeout(FAREWELL_LOOK, still_listed(&mut side, &opts, &ids)).await;
        match look {
            Ok(Ok(listed)) => {
                blind_until = None;
                for (id, gone) in std::mem::take(&mut closing) {
                    if listed.contains(&u64::from(id)) {
                        closing.push((id, gone));
                    } else {
                        let _ = gone.send(());
                    }
                }
            }
            failed => {
                if blind_until.is_none() {
                    let why = match failed {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {FAREWELL_LOOK:?}"),
                    };
                    tracing::warn!(
                        "cannot look up closing MySQL sessions ({why}); their slots are given back without waiting for the server"
                    );
                }
                side = None; // failed or cut off mid-query: not reusable
                blind_until = Some(tokio::time::Instant::now() + FAREWELL_RETRY);
                closing.clear();
            }
        }
        if !closing.is_empty() {
            tokio::time::sleep(FAREWELL_POLL).await;
        }
    }
    end_side(&mut side).await;
}

/// Files a closed session, or ends the side connection for a closing pool.
async fn take(
    msg: Farewell,
    closing: &mut Vec<(u32, tokio::sync::oneshot::Sender<()>)>,
    side: &mut Option<Conn>,
) {
    match msg {
        Farewell::Closed { id, gone } => closing.push((id, gone)),
        Farewell::Quiet(done) => {
            end_side(side).await;
            let _ = done.send(());
        }
    }
}

async fn end_side(side: &mut Option<Conn>) {
    if let Some(conn) = side.take() {
        let _ = tokio::time::timeout(FAREWELL_LOOK, conn.disconnect()).await;
    }
}

/// Which of the sessions `ids` the server still lists, over the watcher's side connection
/// (opened if needed).
async fn still_listed(
    side: &mut Option<Conn>,
    opts: &Opts,
    ids: &[u32],
) -> std::result::Result<Vec<u64>, mysql_async::Error> {
    let conn = match side {
        Some(conn) => conn,
        None => side.insert(Conn::new(opts.clone()).await?),
    };
    let marks = vec!["?"; ids.len()].join(", ");
    let values: Vec<Value> = ids.iter().map(|id| Value::from(*id)).collect();
    conn.exec(
        format!("SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN ({marks})"),
        values,
    )
    .await
}

fn positional(values: Vec<Value>) -> mysql_async::Params {
    if values.is_empty() {
        mysql_async::Params::Empty
    } else {
        mysql_async::Params::Positional(values)
    }
}

/// The value of parameter `index` as mysql_async sends it. A date or time MySQL cannot hold is
/// refused here: the binary protocol carries the year as 16 bits and the server stores what it
/// cannot read as a zero date, silently.
#[cfg_attr(not(feature = "chrono"), allow(unused_variables))]
fn to_value(index: usize, p: &Param<'_>) -> Result<Value> {
    Ok(match p {
        Param::Null => Value::NULL,
        Param::Bool(b) => Value::Int(i64::from(*b)),
        Param::Int(v) => Value::Int(*v),
        Param::UInt(v) => Value::UInt(*v),
        Param::F32(v) => Value::Float(*v),
        Param::F64(v) => Value::Double(*v),
        Param::Str(s) | Param::Untyped(s) => Value::Bytes(s.as_bytes().to_vec()),
        Param::Bytes(b) => Value::Bytes(b.to_vec()),
        #[cfg(feature = "chrono")]
        Param::Date(d) => {
            use chrono::Datelike;
            let year = mysql_year(index, p, "DATE", d.year())?;
            Value::Date(year, d.month() as u8, d.day() as u8, 0, 0, 0, 0)
        }
        #[cfg(feature = "chrono")]
        Param::Time(t) => {
            use chrono::Timelike;
            Value::Time(
                false,
                0,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                micros(index, p, "TIME", t.nanosecond())?,
            )
        }
        #[cfg(feature = "chrono")]
        Param::DateTime(t) => datetime_value(index, p, t)?,
        #[cfg(feature = "chrono")]
        Param::DateTimeUtc(t) => datetime_value(index, p, &t.naive_utc())?,
        #[cfg(feature = "uuid")]
        Param::Uuid(u) => Value::Bytes(u.hyphenated().to_string().into_bytes()),
        #[cfg(feature = "json")]
        Param::Json(j) => Value::Bytes(j.to_string().into_bytes()),
        #[cfg(feature = "decimal")]
        Param::Decimal(d) => Value::Bytes(d.to_string().into_bytes()),
    })
}

#[cfg(feature = "chrono")]
fn datetime_value(index: usize, p: &Param<'_>, t: &chrono::NaiveDateTime) -> Result<Value> {
    use chrono::{Datelike, Timelike};
    Ok(Value::Date(
        mysql_year(index, p, "DATETIME", t.year())?,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        micros(index, p, "DATETIME", t.nanosecond())?,
    ))
}

/// The year of a MySQL `DATE` or `DATETIME`: 0 to 9999 (MySQL 8 documents 1000 to 9999 as
/// supported; both servers store the years before as they are). A `TIMESTAMP` column's
/// narrower range is the server's to check: it refuses what does not fit (error 1292).
#[cfg(feature = "chrono")]
fn mysql_year(index: usize, p: &Param<'_>, sql_type: &str, year: i32) -> Result<u16> {
    match u16::try_from(year) {
        Ok(y) if y <= 9999 => Ok(y),
        _ => Err(Error::Encode {
            index,
            rust_type: p.rust_type(),
            sql_type: sql_type.into(),
            reason: format!(
                "year {year} is outside MySQL's range for {sql_type} (years 0000 to 9999)"
            ),
        }),
    }
}

/// Microseconds of a time of day; a leap second (which chrono keeps as a second's worth of
/// extra nanoseconds) has no MySQL form.
#[cfg(feature = "chrono")]
fn micros(index: usize, p: &Param<'_>, sql_type: &str, nanos: u32) -> Result<u32> {
    if nanos >= 1_000_000_000 {
        return Err(Error::Encode {
            index,
            rust_type: p.rust_type(),
            sql_type: sql_type.into(),
            reason: "a leap second has no MySQL form".into(),
        });
    }
    Ok(nanos / 1000)
}

/// The name of a result column.
pub(crate) fn column_name(c: &Column) -> &str {
    std::str::from_utf8(c.name_ref()).unwrap_or("?")
}

/// The SQL name of a column's type, as MySQL writes it.
pub(crate) fn column_type_name(c: &Column) -> String {
    use ColumnType::*;
    let binary = c.character_set() == 63;
    let name = match c.column_type() {
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => "DECIMAL",
        MYSQL_TYPE_TINY => "TINYINT",
        MYSQL_TYPE_SHORT => "SMALLINT",
        MYSQL_TYPE_INT24 => "MEDIUMINT",
        MYSQL_TYPE_LONG => "INT",
        MYSQL_TYPE_LONGLONG => "BIGINT",
        MYSQL_TYPE_FLOAT => "FLOAT",
        MYSQL_TYPE_DOUBLE => "DOUBLE",
        MYSQL_TYPE_NULL => "NULL",
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "TIMESTAMP",
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "DATE",
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "TIME",
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "DATETIME",
        MYSQL_TYPE_YEAR => "YEAR",
        MYSQL_TYPE_BIT => "BIT",
        MYSQL_TYPE_JSON => "JSON",
        MYSQL_TYPE_ENUM => "ENUM",
        MYSQL_TYPE_SET => "SET",
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING if binary => "VARBINARY",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => "VARCHAR",
        MYSQL_TYPE_STRING if binary => "BINARY",
        MYSQL_TYPE_STRING => "CHAR",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB
            if binary =>
        {
            "BLOB"
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            "TEXT"
        }
        _ => "UNKNOWN",
    };
    if c.flags().contains(ColumnFlags::UNSIGNED_FLAG) && c.column_type().is_numeric_type() {
        format!("{name} UNSIGNED")
    } else {
        name.to_owned()
    }
}

/// Reads column `index` of `row` as a [`Cell`] borrowing the row.
#[inline]
pub(crate) fn cell(row: &mysql_async::Row, index: usize) -> Result<Cell<'_>, String> {
    // Numbers and NULL mean the same whatever the column: no look at its definition, and this
    // part inlines into each field of the `FromRow` derive.
    match row.as_ref(index) {
        Some(Value::NULL) => Ok(Cell::Null),
        Some(Value::Int(v)) => Ok(Cell::Int(*v)),
        Some(Value::UInt(v)) => Ok(Cell::UInt(*v)),
        Some(Value::Float(v)) => Ok(Cell::F32(*v)),
        Some(Value::Double(v)) => Ok(Cell::F64(*v)),
        _ => cell_by_column(row, index),
    }
}

/// Whether column `index` of `row` holds a byte buffer (text, binary, decimal, JSON...), which
/// can be moved out of the row instead of copied.
#[inline]
pub(crate) fn holds_bytes(row: &mysql_async::Row, index: usize) -> bool {
    matches!(row.as_ref(index), Some(Value::Bytes(_)))
}

/// [`cell`] for the values whose meaning depends on the column: bytes, dates and times.
fn cell_by_column(row: &mysql_async::Row, index: usize) -> Result<Cell<'_>, String> {
    let column = row
        .columns_ref()
        .get(index)
        .ok_or_else(|| format!("no column #{index}"))?;
    let value = row
        .as_ref(index)
        .ok_or_else(|| "value was already taken from the row".to_string())?;
    use ColumnType::*;
    Ok(match value {
        Value::NULL => Cell::Null,
        Value::Int(v) => Cell::Int(*v),
        Value::UInt(v) => Cell::UInt(*v),
        Value::Float(v) => Cell::F32(*v),
        Value::Double(v) => Cell::F64(*v),
        Value::Bytes(b) => match column.column_type() {
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
                Cell::DecimalText(std::str::from_utf8(b).map_err(|e| e.to_string())?)
            }
            MYSQL_TYPE_JSON => Cell::Json(b),
            // The text protocol sends numbers as text; weir uses it only for simple statements.
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => text_int(b, column)?,
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Cell::F64(
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or("bad float text")?,
            ),
            MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => Cell::Bytes(b),
            _ if column.character_set() == 63 => Cell::Bytes(b),
            _ => Cell::Text(b),
        },
        #[cfg(feature = "chrono")]
        Value::Date(y, mo, d, h, mi, s, us) => {
            let date =
                chrono::NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*mo), u32::from(*d))
                    .ok_or_else(|| {
                        format!("{y:04}-{mo:02}-{d:02} is not a calendar date (zero date?)")
                    })?;
            match column.column_type() {
                MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Cell::Date(date),
                _ => Cell::DateTime(
                    date.and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
                        .ok_or("invalid time of day")?,
                ),
            }
        }
        #[cfg(feature = "chrono")]
        Value::Time(false, 0, h, m, s, us) => Cell::Time(
            chrono::NaiveTime::from_hms_micro_opt(u32::from(*h), u32::from(*m), u32::from(*s), *us)
                .ok_or("invalid time of day")?,
        ),
        Value::Time(negative, days, h, m, s, us) => Cell::Duration {
            negative: *negative,
            micros: ((u64::from(*days) * 24 + u64::from(*h)) * 3600
                + u64::from(*m) * 60
                + u64::from(*s))
                * 1_000_000
                + u64::from(*us),
        },
        #[cfg(not(feature = "chrono"))]
        Value::Date(..) => return Err("dates need weir's `chrono` feature".into()),
    })
}

fn text_int<'a>(b: &[u8], column: &Column) -> Result<Cell<'a>, String> {
    let s = std::str::from_utf8(b).map_err(|e| e.to_string())?;
    if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
        s.parse()
            .map(Cell::UInt)
            .map_err(|_| format!("bad integer text {s}"))
    } else {
        s.parse()
            .map(Cell::Int)
            .map_err(|_| format!("bad integer text {s}"))
    }
}

/// Pulls the key or constraint name out of MySQL's message, which carries no separate field.
fn constraint_name(code: u16, message: &str) -> Option<String> {
    let between = |start: &str, end: char| {
        message
            .find(start)
            .map(|i| &message[i + start.len()..])
            .and_then(|rest| rest.split(end).next())
            .map(str::to_owned)
    };
    match code {
        // "Duplicate entry 'x' for key 'users.email'" (MySQL 8 prefixes the table).
        1062 | 1586 => {
            between("for key '", '\'').map(|k| k.rsplit('.').next().unwrap_or(&k).to_owned())
        }
        // "... CONSTRAINT `fk_name` FOREIGN KEY ..."
        1451 | 1452 => between("CONSTRAINT `", '`'),
        // "CONSTRAINT `name` failed for ..."
        3819 | 4025 => between("CONSTRAINT `", '`'),
        _ => None,
    }
}

/// What a MySQL/MariaDB error number means on any backend.
fn kind_of(number: u16) -> DatabaseErrorKind {
    match number {
        1062 | 1586 => DatabaseErrorKind::UniqueViolation,
        1216 | 1217 | 1451 | 1452 => DatabaseErrorKind::ForeignKeyViolation,
        1048 | 1364 => DatabaseErrorKind::NotNullViolation,
        3819 | 4025 => DatabaseErrorKind::CheckViolation,
        1213 => DatabaseErrorKind::Deadlock,
        1205 => DatabaseErrorKind::LockTimeout,
        1317 | 1969 | 3024 => DatabaseErrorKind::Cancelled,
        1064 | 1146 | 1054 | 1049 => DatabaseErrorKind::Syntax,
        _ => DatabaseErrorKind::Other,
    }
}

/// Classifies an error from a statement on an open connection.
pub(crate) fn map_error(e: mysql_async::Error) -> Error {
    use mysql_async::{DriverError, Error as E};
    match e {
        // The server ended the session (shutting down, killed by an administrator): the
        // connection is gone, and a commit it interrupted has an unknown outcome.
        E::Server(s) if matches!(s.code, 1053 | 1927) => {
            Error::ConnectionLost(format!("ERROR {} ({}): {}", s.code, s.state, s.message))
        }
        E::Server(s) => DatabaseError::new(
            Backend::MySql,
            s.state,
            Some(s.code),
            s.message.clone(),
            constraint_name(s.code, &s.message),
            kind_of(s.code),
        )
        .into_error(),
        E::Driver(DriverError::StmtParamsMismatch { required, supplied }) => Error::ParamCount {
            expected: usize::from(required),
            given: supplied,
        },
        E::Driver(DriverError::ConnectionClosed) => {
            Error::ConnectionLost("connection to the server is closed".into())
        }
        E::Io(io) => Error::ConnectionLost(io.to_string()),
        E::Url(u) => Error::Config(u.to_string()),
        other => Error::Driver(other.to_string()),
    }
}

/// Classifies an error from opening a connection.
fn connect_error(target: &str, e: mysql_async::Error) -> Error {
    use mysql_async::{DriverError, Error as E, IoError};
    let (kind, message) = match &e {
        E::Server(s) => (
            match s.code {
                1045 | 1044 | 1698 => ConnectErrorKind::Authentication,
                1049 => ConnectErrorKind::UnknownDatabase,
                _ => ConnectErrorKind::Other,
            },
            format!("ERROR {} ({}): {}", s.code, s.state, s.message),
        ),
        E::Driver(DriverError::NoClientSslFlagFromServer) => (
            ConnectErrorKind::Tls,
            "TLS is required but the server does not offer it".to_owned(),
        ),
        #[cfg(feature = "tls")]
        E::Io(IoError::Tls(t)) => (ConnectErrorKind::Tls, t.to_string()),
        // A failed handshake (untrusted certificate, wrong name) comes out of tokio-rustls as
        // an I/O error wrapping the rustls error: it is not a network failure to retry.
        #[cfg(feature = "tls")]
        E::Io(IoError::Io(io)) if io.get_ref().is_some_and(|e| e.is::<rustls::Error>()) => {
            (ConnectErrorKind::Tls, io.to_string())
        }
        E::Io(IoError::Io(io)) => (ConnectErrorKind::Network, io.to_string()),
        other => (ConnectErrorKind::Other, other.to_string()),
    };
    Error::Connect {
        backend: Backend::MySql,
        target: target.to_owned(),
        message,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::{constraint_name, deadline_after};
    use std::time::Duration;

    #[test]
    fn a_timeout_too_large_to_add_gives_a_far_deadline_not_a_panic() {
        let now = tokio::time::Instant::now();
        assert!(deadline_after(Duration::MAX) > now + Duration::from_secs(3600));
        let soon = deadline_after(Duration::from_secs(5));
        assert!(soon >= now + Duration::from_secs(5) && soon < now + Duration::from_secs(60));
    }

    #[test]
    fn finds_key_names_in_messages() {
        assert_eq!(
            constraint_name(
                1062,
                "Duplicate entry 'a@b' for key 'users.users_email_key'"
            )
            .as_deref(),
            Some("users_email_key")
        );
        assert_eq!(
            constraint_name(1062, "Duplicate entry 'a@b' for key 'email'").as_deref(),
            Some("email")
        );
        assert_eq!(
            constraint_name(
                1452,
                "Cannot add or update a child row: a foreign key constraint fails (`t`.`c`, CONSTRAINT `c_ibfk_1` FOREIGN KEY (`p`) REFERENCES `p` (`id`))"
            )
            .as_deref(),
            Some("c_ibfk_1")
        );
    }
}
