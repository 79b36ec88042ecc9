//! Connection and pool settings: plain data, parsed from a URL (`url`) or built in code
//! (`builder`), validated before any I/O. Every wait for a connection and every cleanup has a
//! finite default; the statement itself has none (`statement_timeout` sets one): see the crate
//! docs' "Timeouts".

mod builder;
mod options;
mod url;
mod url_options;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use options::Secret;
pub use options::{
    AccessMode, CheckoutOrder, IsolationLevel, Lane, LoadBalanceHosts, SslMode, TargetSessionAttrs,
    TxOptions,
};
pub use url::parse_duration;
pub use url_options::{UrlOption, URL_OPTIONS};

use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// A future returned by an [`after_connect`](DatabaseConfig::after_connect) hook.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// The `after_connect` hook, kept opaque here: the session layer above knows its type (the
/// settings are a leaf that names no session).
pub(crate) type AfterConnect = Arc<dyn Any + Send + Sync>;

/// Everything needed to open connections and size the pool.
///
/// Build it from a URL with [`DatabaseConfig::from_url`] or in code with [`DatabaseConfig::new`]
/// and the setters; [`crate::Database::connect_with`] validates it.
#[derive(Clone)]
pub struct DatabaseConfig {
    pub(crate) backend: Backend,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The hosts after the first (`host`, `port`), in the order given.
    pub(crate) more_hosts: Vec<(String, u16)>,
    pub(crate) target_session_attrs: TargetSessionAttrs,
    pub(crate) load_balance_hosts: LoadBalanceHosts,
    pub(crate) socket: Option<PathBuf>,
    pub(crate) user: String,
    pub(crate) password: Option<Secret>,
    pub(crate) database: Option<String>,
    pub(crate) max_size: usize,
    pub(crate) min_idle: usize,
    pub(crate) acquire_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) cleanup_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) idle_check_after: Duration,
    pub(crate) checkout_order: CheckoutOrder,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) statement_cache_capacity: usize,
    pub(crate) ssl_mode: SslMode,
    pub(crate) ssl_root_cert: Option<PathBuf>,
    pub(crate) application_name: Option<String>,
    pub(crate) after_connect: Option<AfterConnect>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) default_lane: Option<Lane>,
    pub(crate) lanes: Vec<(String, Lane)>,
    pub(crate) retry: RetryPolicy,
    pub(crate) slow_statement_threshold: Option<Duration>,
    pub(crate) leak_detection_threshold: Option<Duration>,
    pub(crate) pool_name: Option<String>,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("backend", &self.backend)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("more_hosts", &self.more_hosts)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("load_balance_hosts", &self.load_balance_hosts)
            .field("socket", &self.socket)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("database", &self.database)
            .field("max_size", &self.max_size)
            .field("min_idle", &self.min_idle)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("cleanup_timeout", &self.cleanup_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_lifetime", &self.max_lifetime)
            .field("idle_check_after", &self.idle_check_after)
            .field("checkout_order", &self.checkout_order)
            .field("statement_timeout", &self.statement_timeout)
            .field("statement_cache_capacity", &self.statement_cache_capacity)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("application_name", &self.application_name)
            .field("after_connect", &self.after_connect.as_ref().map(|_| "Fn"))
            .field("max_in_flight", &self.max_in_flight)
            .field("default_lane", &self.default_lane)
            .field("lanes", &self.lanes)
            .field("retry", &self.retry)
            .field("slow_statement_threshold", &self.slow_statement_threshold)
            .field("leak_detection_threshold", &self.leak_detection_threshold)
            .field("pool_name", &self.pool_name)
            .finish()
    }
}

impl DatabaseConfig {
    /// Defaults for `backend`: localhost on the backend's standard port, user `postgres` or
    /// `root`, no database, and the documented pool defaults.
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        // PostgreSQL's client sees a closed socket on its own, so its ping is only for links a
        // firewall dropped silently. mysql_async keeps its socket out of reach: a session the
        // server killed while idle is found only by a ping, so MySQL pings any connection that
        // rested longer than HikariCP's alive-bypass window (500 ms). Under load, connections
        // come back sooner than that and pay nothing.
        let (port, user, idle_check_after) = match backend {
            Backend::Postgres => (5432, "postgres", Duration::from_secs(30)),
            Backend::MySql => (3306, "root", Duration::from_millis(500)),
        };
        DatabaseConfig {
            backend,
            host: "localhost".into(),
            port,
            more_hosts: Vec::new(),
            target_session_attrs: TargetSessionAttrs::Any,
            load_balance_hosts: LoadBalanceHosts::Disable,
            socket: None,
            user: user.into(),
            password: None,
            database: None,
            max_size: 10,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            cleanup_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            idle_check_after,
            checkout_order: CheckoutOrder::default(),
            statement_timeout: None,
            statement_cache_capacity: 256,
            ssl_mode: SslMode::default(),
            ssl_root_cert: None,
            application_name: None,
            after_connect: None,
            max_in_flight: None,
            default_lane: None,
            lanes: Vec::new(),
            retry: RetryPolicy::default(),
            slow_statement_threshold: Some(Duration::from_secs(1)),
            leak_detection_threshold: Some(Duration::from_secs(60)),
            pool_name: None,
        }
    }

    /// Checks the settings against each other; [`crate::Database::connect_with`] calls this.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting that is out of range.
    pub fn validate(&self) -> Result<()> {
        if self.max_size == 0 {
            return Err(Error::Config("pool_max_size must be at least 1".into()));
        }
        if self.min_idle > self.max_size {
            return Err(Error::Config(format!(
                "pool_min_idle ({}) is larger than pool_max_size ({})",
                self.min_idle, self.max_size
            )));
        }
        for (name, d) in [
            ("acquire_timeout", self.acquire_timeout),
            ("connect_timeout", self.connect_timeout),
            ("cleanup_timeout", self.cleanup_timeout),
        ] {
            if d.is_zero() {
                return Err(Error::Config(format!("{name} must be greater than zero")));
            }
        }
        if self.host.is_empty() && self.socket.is_none() {
            return Err(Error::Config("no host or socket given".into()));
        }
        for (name, lane) in self
            .lanes
            .iter()
            .map(|(n, l)| (n.as_str(), l))
            .chain(self.default_lane.iter().map(|l| ("default", l)))
        {
            if lane.max_in_flight == 0 {
                return Err(Error::Config(format!(
                    "lane `{name}` allows no statement in flight"
                )));
            }
        }
        if self.max_in_flight == Some(0) {
            return Err(Error::Config("max_in_flight must be at least 1".into()));
        }
        if self.port == 0 || self.more_hosts.iter().any(|(_, p)| *p == 0) {
            return Err(Error::Config("port 0 is not a valid port".into()));
        }
        if self.more_hosts.iter().any(|(h, _)| h.is_empty()) {
            return Err(Error::Config("a host of the host list is empty".into()));
        }
        if self.socket.is_some() && !self.more_hosts.is_empty() {
            return Err(Error::Config(
                "a socket and a list of hosts exclude each other".into(),
            ));
        }
        if !cfg!(feature = "tls") && !matches!(self.ssl_mode, SslMode::Disable | SslMode::Prefer) {
            return Err(Error::Config(format!(
                "sslmode {:?} needs weir's `tls` feature",
                self.ssl_mode
            )));
        }
        Ok(())
    }

    /// Which backend these settings are for.
    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// Host name or address. Default: `localhost`.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// TCP port. Default: 5432 or 3306.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Every host with its port, in the order given: the first is [`host`](Self::host) and
    /// [`port`](Self::port).
    pub fn hosts(&self) -> Vec<(&str, u16)> {
        std::iter::once((self.host.as_str(), self.port))
            .chain(self.more_hosts.iter().map(|(h, p)| (h.as_str(), *p)))
            .collect()
    }
    /// Which hosts a session may be opened on. Default: [`TargetSessionAttrs::Any`].
    pub fn target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }
    /// The order hosts are tried in. Default: [`LoadBalanceHosts::Disable`] (as listed).
    pub fn load_balance_hosts(&self) -> LoadBalanceHosts {
        self.load_balance_hosts
    }
    /// User name. Default: `postgres` or `root`.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// Database name, if one was given.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }
    /// Maximum connections in the pool. Default: 10.
    pub fn max_size(&self) -> usize {
        self.max_size
    }
    /// Connections kept open even when idle. Default: 0.
    pub fn min_idle(&self) -> usize {
        self.min_idle
    }
    /// How long a call waits for a free connection. Default: 30 s.
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }
    /// How long opening one connection may take. Default: 10 s.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// Idle connections older than this are closed. Default: 10 min.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
    /// Connections older than this are closed when next returned. Default: 30 min.
    pub fn max_lifetime(&self) -> Option<Duration> {
        self.max_lifetime
    }
    /// Default deadline of every call (lane permit, connection, statement); a statement still
    /// running when it fires is cancelled on the server. Default: none, so a statement waits
    /// as long as the server lets it (a lock held by the caller's own open transaction, for
    /// ever).
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
    }
    /// A call that takes longer logs a WARN with its SQL (never its parameter values), how
    /// long it took, its lane, the pool and the backend. Default: 1 s (sqlx's
    /// `log_slow_statements`); `None`: off.
    pub fn slow_statement_threshold(&self) -> Option<Duration> {
        self.slow_statement_threshold
    }
    /// A [`Connection`](crate::Connection) or [`Transaction`](crate::Transaction) held longer
    /// logs a WARN naming where it was taken, and an INFO when it is returned. Default: 60 s;
    /// `None`: off.
    pub fn leak_detection_threshold(&self) -> Option<Duration> {
        self.leak_detection_threshold
    }
    /// TLS mode. Default: `prefer`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The `pool` label of every metric and the pool named in warnings. Default:
    /// `host:port/database` (see [`DatabaseConfig::target`]).
    pub fn pool_name(&self) -> String {
        match &self.pool_name {
            Some(name) => name.clone(),
            None => format!("{}/{}", self.target(), self.database().unwrap_or_default()),
        }
    }

    /// `host:port` (each host of a list, comma-separated) or the socket path: what error
    /// messages name. Never the password.
    pub fn target(&self) -> String {
        match &self.socket {
            Some(s) => s.display().to_string(),
            None => self
                .hosts()
                .into_iter()
                .map(|(h, p)| host_port(h, p))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// One settings per host of the list, each naming that host alone: a connector per host.
    pub(crate) fn per_host(&self) -> Vec<DatabaseConfig> {
        self.hosts()
            .into_iter()
            .map(|(h, p)| DatabaseConfig {
                host: h.to_owned(),
                port: p,
                more_hosts: Vec::new(),
                ..self.clone()
            })
            .collect()
    }
}

/// `host:port`, an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
