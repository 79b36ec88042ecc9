//! Opening MySQL/MariaDB sessions: options, TLS with its `prefer` fallback, and the settings
//! every session starts with.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use super::error::connect_error;
use super::farewell::Farewells;
use super::{MyCanceller, MyConn};
use crate::backend::{HostRole, Slot};
use crate::config::{DatabaseConfig, SslMode};
use crate::error::Result;
use crate::sql::RewriteCache;

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
    /// Which server answered: MariaDB or MySQL, as its version says (known after a connect).
    mariadb: std::sync::OnceLock<bool>,
    /// Whether sessions read the server's role when opened (`target_session_attrs` is not
    /// `any`): in the round trip every connect makes anyway.
    check_role: bool,
}

impl MyConnector {
    pub(super) fn new(cfg: &DatabaseConfig) -> Result<Self> {
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
            _ => {
                return Err(crate::error::Error::Config(
                    "TLS needs weir's `tls` feature".into(),
                ))
            }
            #[cfg(feature = "tls")]
            mode => {
                let tls = b.ssl_opts(crate::backend::tls::mysql_ssl_opts(
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
            mariadb: std::sync::OnceLock::new(),
            check_role: cfg.target_session_attrs != crate::config::TargetSessionAttrs::Any,
        })
    }

    /// Ends the side connection that watches closing sessions, for a pool that is closing.
    pub(super) async fn quiet(&self) {
        self.farewells.quiet(self.linger).await;
    }

    /// Opens a session that occupies `slot` until the server no longer lists it (see `Drop`).
    pub(super) async fn connect(&self, slot: Slot) -> Result<MyConn> {
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
        // The same round trip says which server this is: MariaDB's version says so.
        // The role rides along when it matters (MySQL 8 and MariaDB both have both variables).
        let facts: Option<(u64, String, Option<HostRole>)> = if self.check_role {
            let sql = "SELECT @@max_allowed_packet, VERSION(), @@read_only, @@innodb_read_only";
            let row: Option<(u64, String, i64, i64)> = conn
                .query_first(sql)
                .await
                .map_err(|e| connect_error(&self.target, e))?;
            row.map(|(m, v, ro, inno)| (m, v, Some(role_of(ro, inno))))
        } else {
            let row: Option<(u64, String)> = conn
                .query_first("SELECT @@max_allowed_packet, VERSION()")
                .await
                .map_err(|e| connect_error(&self.target, e))?;
            row.map(|(m, v)| (m, v, None))
        };
        let (max_packet, version, role) =
            facts.map_or((None, String::new(), None), |(m, v, r)| (Some(m), v, r));
        let _ = self.mariadb.set(version.contains("MariaDB"));
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
            role,
            max_packet: max_packet.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX)),
        })
    }

    /// The role of the server `conn` is on: one round trip.
    pub(super) async fn query_role(conn: &mut Conn) -> Result<HostRole> {
        let row: Option<(i64, i64)> = conn
            .query_first("SELECT @@read_only, @@innodb_read_only")
            .await
            .map_err(super::error::map_error)?;
        Ok(row.map_or(role_of(0, 0), |(ro, inno)| role_of(ro, inno)))
    }

    /// The server's name: MariaDB or MySQL once a session was opened, both before.
    pub(crate) fn server_name(&self) -> &'static str {
        match self.mariadb.get() {
            Some(true) => "MariaDB",
            Some(false) => "MySQL",
            None => "MySQL or MariaDB",
        }
    }
}

/// MySQL has no standby apart from a read-only server: a replica is one by `read_only`.
fn role_of(read_only: i64, innodb_read_only: i64) -> HostRole {
    let read_only = read_only != 0 || innodb_read_only != 0;
    HostRole {
        read_only,
        standby: read_only,
    }
}
