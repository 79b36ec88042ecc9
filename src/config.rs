//! Connection and pool settings: parsed from a URL or built in code, validated before any I/O.
//!
//! Every timeout has a finite default, so no call waits forever unless asked to.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::hook::SessionRef;
use crate::limit::Lane;
use crate::retry::RetryPolicy;

/// How TLS is negotiated, with libpq's meanings on both backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it, without verifying the certificate (unless a root
    /// certificate is given, as in libpq); fall back to plaintext when it offers none. Default.
    #[default]
    Prefer,
    /// Require TLS, without verifying the certificate (unless a root certificate is given, which
    /// makes it `verify-ca`, as in libpq).
    Require,
    /// Require TLS and a certificate chain to a trusted root.
    VerifyCa,
    /// Require TLS, a trusted chain, and a certificate for the host name connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" | "allow" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" | "verify_ca" => SslMode::VerifyCa,
            "verify-full" | "verify_full" | "verify-identity" => SslMode::VerifyFull,
            other => {
                return Err(Error::Config(format!(
                    "invalid sslmode `{other}` (expected disable, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }
}

/// A password: kept out of every `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A future returned by an [`after_connect`](DatabaseConfig::after_connect) hook.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// A function run on every new connection before it joins the pool.
pub(crate) type AfterConnect =
    Arc<dyn for<'a> Fn(&'a mut SessionRef<'_>) -> HookFuture<'a> + Send + Sync>;

/// Everything needed to open connections and size the pool.
///
/// Build it from a URL with [`DatabaseConfig::from_url`] or in code with [`DatabaseConfig::new`]
/// and the setters; [`crate::Database::connect_with`] validates it.
#[derive(Clone)]
pub struct DatabaseConfig {
    pub(crate) backend: Backend,
    pub(crate) host: String,
    pub(crate) port: u16,
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
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("backend", &self.backend)
            .field("host", &self.host)
            .field("port", &self.port)
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
            .finish()
    }
}

/// Which idle connection the pool hands out next (URL option `checkout_order=lifo|fifo`).
///
/// Measured on MariaDB in BENCHMARKS.md: LIFO keeps a rarely run statement (a bulk `INSERT` of
/// 60,000 parameters) prepared on the connection that ran it last, where FIFO met a cold
/// statement cache each time (bulk loads 0.97 against 0.74 of the raw driver); FIFO was faster
/// for a lone caller (1.09 against 0.90). Bare mysql_async connections show the same: one
/// caller rotating over four connections ran faster than on one connection in three of four
/// paired runs, so the cause is on the server's side (most likely its thread for the session
/// still finishing the previous query; not proven).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckoutOrder {
    /// The most recently returned connection first (the default): warm statement caches, and
    /// connections beyond the load stay idle long enough to be reaped.
    #[default]
    Lifo,
    /// The connection idle longest first: the load spreads over every open connection.
    Fifo,
}

impl CheckoutOrder {
    fn parse(value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "lifo" => Ok(CheckoutOrder::Lifo),
            "fifo" => Ok(CheckoutOrder::Fifo),
            other => Err(Error::Config(format!(
                "invalid checkout_order `{other}` (expected lifo or fifo)"
            ))),
        }
    }
}

/// The URL query options [`DatabaseConfig::from_url`] understands.
pub const URL_OPTIONS: &[&str] = &[
    "pool_max_size",
    "pool_min_idle",
    "acquire_timeout",
    "connect_timeout",
    "idle_timeout",
    "max_lifetime",
    "idle_check_after",
    "checkout_order",
    "cleanup_timeout",
    "statement_timeout",
    "statement_cache_capacity",
    "sslmode",
    "sslrootcert",
    "application_name",
    "max_in_flight",
    "host",
    "socket",
];

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
        }
    }

    /// Parses `postgres://`, `postgresql://`, `mysql://` or `mariadb://` URLs:
    /// `scheme://[user[:password]@]host[:port][/database][?option=value&...]`.
    ///
    /// Options: see [`URL_OPTIONS`]; durations take `500ms`, `30s`, `5m`, `1h` or plain seconds.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing or unknown scheme, a bad port, bad percent-escapes, an
    /// unknown option or an invalid option value. The message never contains the password.
    pub fn from_url(url: &str) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::Config("URL has no scheme: expected postgres://... or mysql://...".into())
        })?;
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            other => {
                return Err(Error::Config(format!(
                    "unsupported URL scheme `{other}` (expected postgres, postgresql, mysql or mariadb)"
                )))
            }
        };
        let mut cfg = DatabaseConfig::new(backend);
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        // The last '@' separates credentials: a password may contain an unescaped '@'.
        let hostport = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, pass) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if !user.is_empty() {
                    cfg.user = decode(user, "user name")?;
                }
                if let Some(p) = pass {
                    cfg.password = Some(Secret(decode(p, "password")?));
                }
                hostport
            }
            None => authority,
        };
        let (host, port) = split_host_port(hostport)?;
        if !host.is_empty() {
            cfg.host = decode(host, "host")?;
        }
        if let Some(p) = port {
            cfg.port = parse_port(p)?;
        }
        if let Some(db) = path.filter(|p| !p.is_empty()) {
            cfg.database = Some(decode(db, "database name")?);
        }
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value, key)?;
            cfg = cfg.apply_option(key, &value)?;
        }
        Ok(cfg)
    }

    fn apply_option(mut self, key: &str, value: &str) -> Result<Self> {
        match key {
            "pool_max_size" | "max_connections" => self.max_size = parse_number(key, value)?,
            "pool_min_idle" | "min_connections" => self.min_idle = parse_number(key, value)?,
            "acquire_timeout" => self.acquire_timeout = parse_duration(key, value)?,
            "connect_timeout" => self.connect_timeout = parse_duration(key, value)?,
            "cleanup_timeout" => self.cleanup_timeout = parse_duration(key, value)?,
            "idle_timeout" => self.idle_timeout = parse_optional_duration(key, value)?,
            "max_lifetime" => self.max_lifetime = parse_optional_duration(key, value)?,
            "idle_check_after" => self.idle_check_after = parse_duration(key, value)?,
            "checkout_order" => self.checkout_order = CheckoutOrder::parse(value)?,
            "statement_timeout" => self.statement_timeout = parse_optional_duration(key, value)?,
            "statement_cache_capacity" => self.statement_cache_capacity = parse_number(key, value)?,
            "sslmode" | "ssl-mode" | "ssl_mode" => {
                self.ssl_mode = SslMode::parse(&value.to_ascii_lowercase())?
            }
            "sslrootcert" | "ssl_root_cert" | "ssl-ca" => {
                self.ssl_root_cert = Some(PathBuf::from(value))
            }
            "application_name" => self.application_name = Some(value.to_owned()),
            "max_in_flight" => self.max_in_flight = Some(parse_number(key, value)?),
            "host" | "socket" => {
                if value.starts_with('/') {
                    self.socket = Some(PathBuf::from(value));
                } else {
                    self.host = value.to_owned();
                }
            }
            other => {
                return Err(Error::Config(format!(
                    "unknown URL option `{other}` (known: {})",
                    URL_OPTIONS.join(", ")
                )))
            }
        }
        Ok(self)
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
        if self.port == 0 {
            return Err(Error::Config("port 0 is not a valid port".into()));
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
    /// running when it fires is cancelled on the server. Default: none.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
    }
    /// TLS mode. Default: `prefer`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// `host:port` or the socket path: what error messages name. Never the password.
    pub fn target(&self) -> String {
        match &self.socket {
            Some(s) => s.display().to_string(),
            None if self.host.contains(':') => format!("[{}]:{}", self.host, self.port),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// Sets the host name or address.
    #[must_use]
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }
    /// Sets the TCP port.
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Connects through a Unix socket (PostgreSQL: the socket directory; MySQL: the socket file).
    #[must_use]
    pub fn with_socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.socket = Some(path.into());
        self
    }
    /// Sets the user name.
    #[must_use]
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }
    /// Sets the password. It never appears in `Debug`, `Display` or errors.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret(password.into()));
        self
    }
    /// Sets the database name.
    #[must_use]
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }
    /// Sets the maximum number of connections.
    #[must_use]
    pub fn with_max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }
    /// Sets how many connections are kept open while idle.
    #[must_use]
    pub fn with_min_idle(mut self, min_idle: usize) -> Self {
        self.min_idle = min_idle;
        self
    }
    /// Sets how long a call waits for a free connection.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
    /// Sets how long opening one connection may take.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets how long cleaning up a returned connection (a rollback, a health check) may take
    /// before the connection is discarded instead, and how long a closed session may keep its
    /// pool slot while the server still holds it (after that the slot is given back anyway,
    /// with a warning).
    #[must_use]
    pub fn with_cleanup_timeout(mut self, timeout: Duration) -> Self {
        self.cleanup_timeout = timeout;
        self
    }
    /// Sets the idle timeout (`None`: idle connections stay open).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }
    /// Sets the maximum connection lifetime (`None`: unlimited).
    #[must_use]
    pub fn with_max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }
    /// A connection idle at least this long is pinged before it is handed out. Default: 30 s on
    /// PostgreSQL (whose client notices a closed socket without one), 500 ms on MySQL (where a
    /// session killed on the server while idle is only found by a ping). `Duration::ZERO`
    /// pings on every checkout.
    #[must_use]
    pub fn with_idle_check_after(mut self, after: Duration) -> Self {
        self.idle_check_after = after;
        self
    }
    /// Sets which idle connection the pool hands out next. Default: [`CheckoutOrder::Lifo`].
    #[must_use]
    pub fn with_checkout_order(mut self, order: CheckoutOrder) -> Self {
        self.checkout_order = order;
        self
    }
    /// Sets the default deadline of every call; override per call with
    /// [`Executor::with_timeout`](crate::Executor::with_timeout).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }
    /// Sets the number of prepared statements cached per MySQL connection. Default: 256.
    #[must_use]
    pub fn with_statement_cache_capacity(mut self, capacity: usize) -> Self {
        self.statement_cache_capacity = capacity;
        self
    }
    /// Sets the TLS mode.
    #[must_use]
    pub fn with_ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = mode;
        self
    }
    /// Trusts the PEM root certificate(s) in this file instead of the built-in web roots.
    #[must_use]
    pub fn with_ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(path.into());
        self
    }
    /// Sets the application name the server shows for these sessions.
    #[must_use]
    pub fn with_application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }
    /// Limits statements in flight across all lanes, separately from the pool size.
    #[must_use]
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = Some(n);
        self
    }

    /// Limits the default lane (calls that name no lane). Default: unlimited.
    #[must_use]
    pub fn with_default_lane(mut self, lane: Lane) -> Self {
        self.default_lane = Some(lane);
        self
    }

    /// Adds a named lane (bulkhead): calls through
    /// [`Executor::lane`](crate::Executor::lane)`(name)` share its limits, so a slow report
    /// cannot take every connection.
    #[must_use]
    pub fn with_lane(mut self, name: impl Into<String>, lane: Lane) -> Self {
        let name = name.into();
        self.lanes.retain(|(n, _)| *n != name);
        self.lanes.push((name, lane));
        self
    }

    /// Sets how connect failures are retried, and the default for
    /// [`Database::transaction_with_retry`](crate::Database::transaction_with_retry).
    #[must_use]
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry policy. Default: 5 attempts, 20 ms to 1 s backoff, 10 s in all.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// Runs `hook` on every new connection before it joins the pool, e.g. to
    /// `SET TIME ZONE 'UTC'`. A failing hook fails the connect.
    ///
    /// ```no_run
    /// # async fn f() -> weir::Result<()> {
    /// let config = weir::DatabaseConfig::from_url("postgres://postgres@127.0.0.1/test")?
    ///     .after_connect(|session| Box::pin(async move {
    ///         session.execute("SET TIME ZONE 'UTC'", ()).await?;
    ///         Ok(())
    ///     }));
    /// let db = weir::Database::connect_with(config).await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn after_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'a> Fn(&'a mut SessionRef<'_>) -> HookFuture<'a> + Send + Sync + 'static,
    {
        self.after_connect = Some(Arc::new(hook));
        self
    }
}

fn decode(s: &str, what: &str) -> Result<String> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(s).collect();
    // A stray '%' that is not followed by two hex digits passes through percent_decode: refuse
    // it, since the user almost certainly meant something else.
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            // Never echo a password back, even in part.
            let shown = if what == "password" { "***" } else { s };
            return Err(Error::Config(format!(
                "bad percent-escape in {what} `{shown}`"
            )));
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Config(format!("{what} is not valid UTF-8 after percent-decoding")))
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::Config(format!("unclosed `[` in host `{s}`")))?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(Error::Config(format!(
                "unexpected `{after}` after host `[{host}]`"
            ))),
        };
    }
    Ok(match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

fn parse_port(p: &str) -> Result<u16> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(Error::Config(format!("port {n} is out of range 1-65535"))),
        Err(_) => Err(Error::Config(format!("port `{p}` is not a number"))),
    }
}

fn parse_number(key: &str, value: &str) -> Result<usize> {
    value
        .parse()
        .map_err(|_| Error::Config(format!("option {key}: `{value}` is not a whole number")))
}

/// Parses a duration as the URL options take it: `500ms`, `30s`, `5m`, `1h` or plain seconds.
/// `key` names the setting in the error.
///
/// # Errors
/// [`Error::Config`] naming `key` for anything else (negative, unknown unit, overflow).
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let bad = || {
        Error::Config(format!(
            "option {key}: `{value}` is not a duration (use e.g. 500ms, 30s, 5m, 1h)"
        ))
    };
    let v = value.trim();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

fn parse_optional_duration(key: &str, value: &str) -> Result<Option<Duration>> {
    match value {
        "" | "none" | "off" | "0" => Ok(None),
        v => parse_duration(key, v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_url() {
        let c = DatabaseConfig::from_url(
            "postgres://app:s%40cret@db.example:6543/shop?pool_max_size=4&acquire_timeout=250ms&sslmode=require&application_name=svc",
        )
        .unwrap();
        assert_eq!(c.backend, Backend::Postgres);
        assert_eq!(
            (c.user.as_str(), c.host.as_str(), c.port),
            ("app", "db.example", 6543)
        );
        assert_eq!(c.password.as_ref().unwrap().0, "s@cret");
        assert_eq!(c.database.as_deref(), Some("shop"));
        assert_eq!(c.max_size, 4);
        assert_eq!(c.acquire_timeout, Duration::from_millis(250));
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert!(!format!("{c:?}").contains("s@cret"));
    }

    #[test]
    fn mariadb_scheme_and_ipv6() {
        let c = DatabaseConfig::from_url("mariadb://root@[::1]:3307/test").unwrap();
        assert_eq!(c.backend, Backend::MySql);
        assert_eq!((c.host.as_str(), c.port), ("::1", 3307));
        assert_eq!(c.target(), "[::1]:3307");
    }

    #[test]
    fn rejects_bad_input_with_distinct_messages() {
        let cases = [
            ("127.0.0.1:5432/test", "no scheme"),
            ("redis://x/y", "unsupported URL scheme"),
            ("postgres://h:99999/db", "out of range"),
            ("postgres://h:abc/db", "not a number"),
            (
                "postgres://u:p%zz@h/db",
                "bad percent-escape in password `***`",
            ),
            (
                "postgres://h/db?frobnicate=1",
                "unknown URL option `frobnicate`",
            ),
            ("postgres://h/db?acquire_timeout=soon", "not a duration"),
            ("postgres://h/db?sslmode=maybe", "invalid sslmode"),
        ];
        for (url, want) in cases {
            let err = DatabaseConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err}");
            assert!(!err.contains("p%zz"), "{err}");
        }
    }

    #[test]
    fn validate_rejects_inconsistent_pool() {
        let c = DatabaseConfig::new(Backend::MySql)
            .with_max_size(2)
            .with_min_idle(3);
        assert!(matches!(c.validate(), Err(Error::Config(_))));
        let c = DatabaseConfig::new(Backend::MySql).with_max_size(0);
        assert!(matches!(c.validate(), Err(Error::Config(_))));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("k", "2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("k", "1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_duration("k", "-1s").is_err());
    }
}
