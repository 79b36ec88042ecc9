//! The builder: one setter per setting, each consuming and returning the settings.

use std::path::PathBuf;
use std::time::Duration;

use super::{
    CheckoutOrder, DatabaseConfig, Lane, LoadBalanceHosts, Secret, SslMode, TargetSessionAttrs,
};
use crate::retry::RetryPolicy;

impl DatabaseConfig {
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
    /// Sets the list of hosts, each with its port, tried in order (or at random, see
    /// [`with_load_balance_hosts`](Self::with_load_balance_hosts)) for each new session, as a
    /// URL's `h1:5432,h2:5433` does. An empty list leaves no host, which `validate` refuses.
    #[must_use]
    pub fn with_hosts<H: Into<String>>(
        mut self,
        hosts: impl IntoIterator<Item = (H, u16)>,
    ) -> Self {
        let mut hosts = hosts.into_iter().map(|(h, p)| (h.into(), p));
        (self.host, self.port) = hosts.next().unwrap_or((String::new(), self.port));
        self.more_hosts = hosts.collect();
        self
    }
    /// Sets which hosts a session may be opened on. Default: [`TargetSessionAttrs::Any`].
    #[must_use]
    pub fn with_target_session_attrs(mut self, attrs: TargetSessionAttrs) -> Self {
        self.target_session_attrs = attrs;
        self
    }
    /// Sets the order hosts are tried in. Default: [`LoadBalanceHosts::Disable`].
    #[must_use]
    pub fn with_load_balance_hosts(mut self, order: LoadBalanceHosts) -> Self {
        self.load_balance_hosts = order;
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
    /// [`Executor::with_timeout`](crate::Executor::with_timeout). Default: none (the one wait
    /// weir does not bound unless asked).
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }
    /// Sets the number of prepared statements cached per session, the least recently used
    /// closed first. On PostgreSQL, `0` runs unnamed statements and keeps none on the server:
    /// the setting behind a pooler in transaction mode (PgBouncer before 1.21). Default: 256.
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

    /// Sets the slow-statement threshold: a call that takes longer (for a stream, until its
    /// last row is read) logs one WARN (`tracing`) with its SQL text (never its parameter
    /// values), how long it took, its lane, the pool (`pool_name`, by default `host:port/database`) and the backend.
    /// Plain calls, streams and `BEGIN`/`COMMIT`/`ROLLBACK` all count. Default: 1 s, as
    /// sqlx's `log_slow_statements`; `None` turns it off.
    #[must_use]
    pub fn with_slow_statement_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.slow_statement_threshold = threshold;
        self
    }

    /// Sets the leak-detection threshold: a [`Connection`](crate::Connection) or a
    /// [`Transaction`](crate::Transaction) held longer logs one WARN naming the line that
    /// took it (`acquire`, `begin`), how long it has been held and the pool, then an INFO when
    /// it is returned (dropped, committed or rolled back). Catches a task that waits on the
    /// pool for a row its own open transaction holds. One-shot calls on the pool are not
    /// watched. Default: 60 s; `None` turns it off.
    #[must_use]
    pub fn with_leak_detection_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.leak_detection_threshold = threshold;
        self
    }

    /// Names the pool: the `pool` label of every metric and the pool its warnings name, so
    /// that two pools on one server tell apart. Default: `host:port/database`.
    #[must_use]
    pub fn with_pool_name(mut self, name: impl Into<String>) -> Self {
        self.pool_name = Some(name.into());
        self
    }

    /// The retry policy. Default: 5 attempts, 20 ms to 1 s backoff, 10 s in all.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }
}
