//! The settings' own small types: TLS modes, checkout order, lanes, transaction options, and
//! the password wrapper that keeps it out of every `Debug`.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

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
    pub(super) fn parse(s: &str) -> Result<Self> {
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

/// Which hosts of the list a session may be opened on: libpq's `target_session_attrs`, on
/// both backends. On MySQL/MariaDB a host is read-only when `@@read_only` or
/// `@@innodb_read_only` is set, and counts as a standby then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any host that answers (the first, in list order). Default.
    #[default]
    Any,
    /// A host that takes writes (PostgreSQL: not in recovery and
    /// `default_transaction_read_only` off).
    ReadWrite,
    /// A host that takes no writes: a standby, or a primary set read-only.
    ReadOnly,
    /// A host not in recovery (PostgreSQL); a writable host (MySQL).
    Primary,
    /// A host in recovery (PostgreSQL); a read-only host (MySQL).
    Standby,
    /// A standby if one answers, else any host.
    PreferStandby,
}

impl TargetSessionAttrs {
    pub(super) fn parse(value: &str) -> Result<Self> {
        Ok(match value.to_ascii_lowercase().as_str() {
            "any" => TargetSessionAttrs::Any,
            "read-write" => TargetSessionAttrs::ReadWrite,
            "read-only" => TargetSessionAttrs::ReadOnly,
            "primary" => TargetSessionAttrs::Primary,
            "standby" => TargetSessionAttrs::Standby,
            "prefer-standby" => TargetSessionAttrs::PreferStandby,
            other => {
                return Err(Error::Config(format!(
                    "invalid target_session_attrs `{other}` (expected any, read-write, read-only, \
                     primary, standby or prefer-standby)"
                )))
            }
        })
    }

    /// The value as a URL writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetSessionAttrs::Any => "any",
            TargetSessionAttrs::ReadWrite => "read-write",
            TargetSessionAttrs::ReadOnly => "read-only",
            TargetSessionAttrs::Primary => "primary",
            TargetSessionAttrs::Standby => "standby",
            TargetSessionAttrs::PreferStandby => "prefer-standby",
        }
    }

    /// Whether a session that hit a read-only server must be discarded: the pool wants a
    /// writable host, and the next session should walk the host list again.
    pub(crate) fn wants_writes(self) -> bool {
        matches!(
            self,
            TargetSessionAttrs::ReadWrite | TargetSessionAttrs::Primary
        )
    }
}

/// The order in which hosts are tried: libpq's `load_balance_hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadBalanceHosts {
    /// In the order given. Default.
    #[default]
    Disable,
    /// In a random order per new session, spreading sessions over the hosts that fit.
    Random,
}

impl LoadBalanceHosts {
    pub(super) fn parse(value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "disable" => Ok(LoadBalanceHosts::Disable),
            "random" => Ok(LoadBalanceHosts::Random),
            other => Err(Error::Config(format!(
                "invalid load_balance_hosts `{other}` (expected disable or random)"
            ))),
        }
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

/// Which idle connection the pool hands out next (URL option `checkout_order=lifo|fifo`).
///
/// The trade, measured on MariaDB (BENCHMARKS.md has the figures): LIFO keeps a rarely run
/// statement prepared on the connection that ran it last, which makes bulk loads faster; FIFO
/// was faster for a lone caller.
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
    pub(super) fn parse(value: &str) -> Result<Self> {
        match value.to_ascii_lowercase().as_str() {
            "lifo" => Ok(CheckoutOrder::Lifo),
            "fifo" => Ok(CheckoutOrder::Fifo),
            other => Err(Error::Config(format!(
                "invalid checkout_order `{other}` (expected lifo or fifo)"
            ))),
        }
    }
}

/// Limits of one lane (bulkhead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    /// Statements of this lane in flight at once.
    pub max_in_flight: usize,
    /// Calls allowed to wait for a permit; past it a call fails at once with [`Error::Shed`].
    pub max_queue: usize,
    /// How long a call may wait for a permit before [`Error::QueueTimeout`].
    pub queue_timeout: Duration,
}

impl Lane {
    /// A lane of `max_in_flight` statements, a queue of 4 times that, and a 5 s queue timeout.
    #[must_use]
    pub fn new(max_in_flight: usize) -> Self {
        Lane {
            max_in_flight,
            max_queue: max_in_flight.saturating_mul(4),
            queue_timeout: Duration::from_secs(5),
        }
    }

    /// Sets the queue length.
    #[must_use]
    pub fn with_max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// Sets the queue timeout.
    #[must_use]
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }
}

/// Transaction isolation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED` (PostgreSQL runs it as read committed).
    ReadUncommitted,
    /// `READ COMMITTED`: PostgreSQL's default.
    ReadCommitted,
    /// `REPEATABLE READ`: MySQL's and MariaDB's default.
    RepeatableRead,
    /// `SERIALIZABLE`.
    Serializable,
}

impl IsolationLevel {
    /// The level as SQL writes it.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// Whether a transaction may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessMode {
    /// Reads and writes. Default.
    #[default]
    ReadWrite,
    /// Reads only: writes fail on the server.
    ReadOnly,
}

/// How to start a transaction. Default: the server's isolation level, read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxOptions {
    /// Isolation level; `None` keeps the server's default.
    pub isolation: Option<IsolationLevel>,
    /// Read-write or read-only.
    pub access: AccessMode,
}

impl TxOptions {
    /// Sets the isolation level.
    #[must_use]
    pub fn isolation(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Makes the transaction read-only.
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.access = AccessMode::ReadOnly;
        self
    }
}
