//! Opening PostgreSQL sessions: the socket (weir's own, see `socket`), TLS, the start-up, and
//! the task that runs a session's I/O and holds its pool slot until the server has closed it.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "tls")]
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::NoTls;

use super::error::connect_error;
use super::socket::{Endpoint, PgSocket};
use super::statements::StatementCache;
use super::{PgCanceller, PgConn};
use crate::backend::{HostRole, Slot};
use crate::config::{DatabaseConfig, SslMode};
use crate::engine::Backend;
use crate::error::{ConnectErrorKind, Error, Result};

/// The TLS connector a connection was opened with; cancel requests must use the same.
#[derive(Clone)]
pub(super) enum PgTls {
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
    /// Named statements kept per session; 0: unnamed statements, for poolers.
    statement_cache_capacity: usize,
}

/// How to reach the server: for sessions and for cancel requests alike.
pub(super) struct Server {
    endpoint: Endpoint,
    connect_timeout: Duration,
    /// How long a closed session's socket waits for the server to close its end.
    linger: Duration,
    target: String,
}

impl Server {
    pub(super) async fn socket(&self) -> Result<PgSocket> {
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
    pub(super) fn tls(
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
    pub(super) fn new(cfg: &DatabaseConfig) -> Result<Self> {
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
                crate::backend::tls::pg_tls_config(mode, cfg.ssl_root_cert.as_deref())?,
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
            statement_cache_capacity: cfg.statement_cache_capacity,
        })
    }

    /// Opens a connection on a socket of weir's own and hands its I/O half to `run`; the one
    /// place that matches on the TLS variant (the I/O half's type differs per TLS stream).
    pub(super) async fn open(
        &self,
        run: impl RunConnection,
    ) -> Result<(tokio_postgres::Client, Option<HostRole>)> {
        let socket = self.server.socket().await?;
        match &self.tls {
            PgTls::None => {
                let (client, conn) = self
                    .config
                    .connect_raw(socket, NoTls)
                    .await
                    .map_err(|e| connect_error(&self.server.target, &e))?;
                let role = reported_role(&conn);
                run.run(conn);
                Ok((client, role))
            }
            #[cfg(feature = "tls")]
            PgTls::Rustls(t) => {
                let (client, conn) = self
                    .config
                    .connect_raw(socket, self.server.tls(t)?)
                    .await
                    .map_err(|e| connect_error(&self.server.target, &e))?;
                let role = reported_role(&conn);
                run.run(conn);
                Ok((client, role))
            }
        }
    }

    /// Opens a session that occupies `slot` until the server has closed it.
    pub(super) async fn connect(&self, slot: Slot) -> Result<PgConn> {
        let (client, role) = self.open(Pooled(slot)).await?;
        let cancel = PgCanceller {
            token: client.cancel_token(),
            server: self.server.clone(),
            tls: self.tls.clone(),
        };
        Ok(PgConn {
            client,
            cache: (self.statement_cache_capacity > 0)
                .then(|| StatementCache::new(self.statement_cache_capacity)),
            cancel,
            role,
        })
    }
}

/// The role a server reported in its start-up ParameterStatus messages: PostgreSQL 14 and
/// later report `in_hot_standby` and `default_transaction_read_only`, so reading it costs no
/// round trip.
fn reported_role<S, T>(conn: &tokio_postgres::Connection<S, T>) -> Option<HostRole>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let standby = conn.parameter("in_hot_standby")? == "on";
    let read_only = conn.parameter("default_transaction_read_only")? == "on";
    Some(HostRole {
        standby,
        read_only: standby || read_only,
    })
}

/// The role asked of the server, for one that reported none at start-up (before 14): one
/// simple-query round trip.
pub(super) async fn query_role(client: &tokio_postgres::Client) -> Result<HostRole> {
    let sql = "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')";
    let messages = client
        .simple_query(sql)
        .await
        .map_err(|e| super::error::map_error(&e))?;
    for m in messages {
        if let tokio_postgres::SimpleQueryMessage::Row(row) = m {
            let standby = row.get(0) == Some("t");
            return Ok(HostRole {
                standby,
                read_only: standby || row.get(1) == Some("on"),
            });
        }
    }
    Err(Error::Driver(format!("`{sql}` returned no row")))
}

/// What runs a freshly opened connection's I/O half.
pub(super) trait RunConnection {
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
