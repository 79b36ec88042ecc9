//! The one error type of weir, and the predicates services branch on.
//!
//! Server errors are classified once, in each backend's adapter (which holds that backend's
//! table of codes), into the same variants and [`DatabaseErrorKind`]s on both backends: a
//! duplicate key is [`Error::UniqueViolation`] on PostgreSQL and on MariaDB alike.

use std::fmt;
use std::time::Duration;

use crate::engine::Backend;

/// Shorthand for `Result<T, weir::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in weir.
///
/// Match on the variants, or use the predicates ([`Error::is_transient`],
/// [`Error::is_unique_violation`], ...) which mean the same on every backend.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration or URL is invalid: nothing was sent to any server.
    #[error("configuration error: {0}")]
    Config(String),

    /// A connection could not be opened: refused, unknown host, TLS failure, wrong password,
    /// unknown database. `source` is the driver's own error.
    #[error("could not connect to {backend} at {target}: {message}")]
    Connect {
        /// The backend we tried to reach.
        backend: Backend,
        /// `host:port` or socket path (never the password).
        target: String,
        /// What the driver or server said.
        message: String,
        /// What kind of connect failure this is.
        kind: ConnectErrorKind,
    },

    /// No connection could be opened in time: the database is unreachable (server down,
    /// blackholed address). Carries the last connection error seen.
    #[error("database at {target} unreachable: no connection within {waited:?}{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    Unreachable {
        /// `host:port` or socket path.
        target: String,
        /// How long the call waited.
        waited: Duration,
        /// The last connect error, if one was seen.
        last_error: Option<String>,
    },

    /// No host of the URL's list fits `target_session_attrs`: each refused, did not answer
    /// within `connect_timeout`, or has the wrong role. Nothing was sent; transient (after a
    /// failover a host may fit again).
    #[error("no host fits target_session_attrs={wanted} (tried {})", tried.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NoSuitableHost {
        /// The `target_session_attrs` asked for, as the URL writes it.
        wanted: &'static str,
        /// Each host tried, in order, and why it was passed over.
        tried: Vec<HostTried>,
    },

    /// No connection became free within the acquire timeout: every connection was busy. This is
    /// saturation, not an outage; an outage shows as [`Error::Connect`] or
    /// [`Error::Unreachable`].
    #[error("pool saturated: no connection became free within {waited:?} ({in_use} in use of {max_size})")]
    PoolTimeout {
        /// The acquire timeout that fired.
        waited: Duration,
        /// Connections in use when it fired.
        in_use: usize,
        /// The pool's maximum size.
        max_size: usize,
    },

    /// The call's deadline (`statement_timeout`, or a per-call `with_timeout`) fired. A
    /// statement that was running was cancelled on the server.
    #[error("query timed out after {after:?} while {phase}")]
    QueryTimeout {
        /// The timeout that fired.
        after: Duration,
        /// What the call was doing when it fired.
        phase: CallPhase,
    },

    /// The lane's queue was full: the call was refused at once instead of waiting (load
    /// shedding). Nothing was sent to the server.
    #[error("lane `{lane}` is full ({queued} calls already waiting): call shed")]
    Shed {
        /// The lane.
        lane: String,
        /// Calls waiting when this one arrived.
        queued: usize,
    },

    /// The call waited longer than its lane's queue timeout for a permit. Nothing was sent.
    #[error("waited {waited:?} for a permit of lane `{lane}`")]
    QueueTimeout {
        /// The lane.
        lane: String,
        /// The queue timeout that fired.
        waited: Duration,
    },

    /// The connection failed or timed out while `COMMIT` was in flight: the transaction may or
    /// may not have been committed. Never retried by weir; check, then decide.
    #[error("commit outcome unknown: {0}")]
    CommitOutcomeUnknown(String),

    /// A unique or primary key constraint was violated.
    #[error("unique violation: {0}")]
    UniqueViolation(Box<DatabaseError>),

    /// A foreign key constraint was violated.
    #[error("foreign key violation: {0}")]
    ForeignKeyViolation(Box<DatabaseError>),

    /// Any other error reported by the server (syntax, unknown table, deadlock, ...).
    #[error("{0}")]
    Database(Box<DatabaseError>),

    /// The statement takes a different number of parameters than were given.
    #[error("statement expects {expected} parameter(s) but {given} were given")]
    ParamCount {
        /// Parameters the statement declares.
        expected: usize,
        /// Parameters the call passed.
        given: usize,
    },

    /// A parameter could not be encoded as the SQL type the server expects.
    #[error("parameter ${}: cannot encode Rust `{}` as SQL `{sql_type}`: {reason}", index + 1, short_type_name(rust_type))]
    Encode {
        /// Zero-based parameter index (shown as `$index+1`).
        index: usize,
        /// The Rust type given.
        rust_type: &'static str,
        /// The SQL type the server asked for.
        sql_type: String,
        /// Why it does not fit.
        reason: String,
    },

    /// A column could not be decoded into the requested Rust type.
    #[error(
        "column `{column}`: cannot decode SQL `{sql_type}` as Rust `{}`: {reason}",
        short_type_name(rust_type)
    )]
    Decode {
        /// Column name (or index when the row has no such name).
        column: String,
        /// The column's SQL type.
        sql_type: String,
        /// The Rust type asked for.
        rust_type: &'static str,
        /// Why it does not fit (NULL into a non-`Option`, out of range, ...).
        reason: String,
    },

    /// A column asked for by name or index is not in the row.
    #[error("no column {0} in the row")]
    ColumnNotFound(String),

    /// A repository filter or order named a column its entity does not have. Nothing was sent.
    #[error("entity `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The entity's table.
        table: String,
        /// The column asked for.
        column: String,
    },

    /// `fetch_one` or `fetch_scalar` found no row.
    #[error("query returned no rows")]
    RowNotFound,

    /// An earlier statement on this connection was abandoned (timed out, or its future
    /// dropped) and cancelled on the server; its transaction can only be rolled back, which
    /// happens when the transaction or connection is dropped.
    #[error("an earlier statement on this connection was cancelled; its transaction is aborted")]
    Aborted,

    /// A statement of this transaction failed earlier, so the transaction is failed: every
    /// later statement and its `commit` fail with this error, carrying that first failure,
    /// until it is rolled back (or a nested transaction begun before the failure is). The
    /// same on both backends; see [`Transaction`](crate::Transaction).
    #[error("transaction aborted by an earlier failed statement ({0}); roll it back")]
    TransactionAborted(Box<Error>),

    /// weir refused the statement before sending it: it is empty, it uses `?` placeholders
    /// (write `$1..$n` on both backends), or a placeholder number is out of range.
    #[error("invalid statement: {0}")]
    InvalidStatement(String),

    /// An optimistic-locking update found the row changed (or gone) since it was read: the
    /// caller's copy is stale. Nothing was written.
    #[error("stale entity: `{table}` row {key} was changed or deleted since it was read")]
    StaleEntity {
        /// The entity's table.
        table: String,
        /// The row's key, as text.
        key: String,
    },

    /// A migration could not be applied or verified: a failed script, a changed applied
    /// migration, a dirty history row. The message says what to fix.
    #[error("migration: {0}")]
    Migration(String),

    /// The pool was closed; no new work is accepted.
    #[error("the pool is closed")]
    PoolClosed,

    /// The connection broke while in use (server gone, network reset, killed by an admin).
    /// Whether a statement in flight took effect is unknown.
    #[error("connection lost: {0}")]
    ConnectionLost(String),

    /// The TLS handshake or configuration failed.
    #[error("TLS error: {0}")]
    Tls(String),

    /// The driver reported something weir does not classify further.
    #[error("driver error: {0}")]
    Driver(String),
}

/// One host a new session was tried on, and why it was passed over (never a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTried {
    /// `host:port`.
    pub host: String,
    /// Why it was passed over: the connect error, a timeout, or its role.
    pub reason: String,
}

impl fmt::Display for HostTried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.host, self.reason)
    }
}

/// The phase a call was in, for [`Error::QueryTimeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// Waiting for a lane permit.
    Queue = 0,
    /// Waiting for or opening a connection.
    Acquire = 1,
    /// Running the statement.
    Execute = 2,
}

impl fmt::Display for CallPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CallPhase::Queue => "waiting for a lane permit",
            CallPhase::Acquire => "waiting for a connection",
            CallPhase::Execute => "running the statement",
        })
    }
}

/// What kind of failure a [`Error::Connect`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// TCP or socket connect failed (refused, no route, unknown host), or the server is not
    /// accepting connections yet (starting up, shutting down, in recovery). Transient.
    Network,
    /// The server rejected the user or password.
    Authentication,
    /// The database does not exist.
    UnknownDatabase,
    /// TLS negotiation failed, or TLS was required and the server offers none.
    Tls,
    /// Anything else the server said during start-up.
    Other,
}

/// An error reported by the database server, in backend-neutral form.
#[derive(Debug, Clone)]
pub struct DatabaseError {
    /// The backend that reported it.
    pub backend: Backend,
    /// SQLSTATE (PostgreSQL, and MySQL's own SQLSTATE).
    pub sqlstate: String,
    /// MySQL/MariaDB error number (`None` on PostgreSQL).
    pub number: Option<u16>,
    /// The server's message.
    pub message: String,
    /// Constraint or key name, where the server gives one.
    pub constraint: Option<String>,
    /// Where in the statement the error is, as a 1-based character position, where the server
    /// says (PostgreSQL does for syntax errors and unknown names; MySQL never does).
    pub position: Option<u32>,
    /// What it means on any backend; set by the adapter that read the code.
    kind: DatabaseErrorKind,
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.number {
            Some(n) => write!(f, "ERROR {n} ({}): {}", self.sqlstate, self.message)?,
            None => write!(f, "ERROR {}: {}", self.sqlstate, self.message)?,
        }
        if let Some(c) = &self.constraint {
            write!(f, " (constraint `{c}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for DatabaseError {}

/// Backend-neutral meaning of a server error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseErrorKind {
    /// Unique or primary key violation.
    UniqueViolation,
    /// Foreign key violation.
    ForeignKeyViolation,
    /// NOT NULL violation.
    NotNullViolation,
    /// CHECK constraint violation.
    CheckViolation,
    /// Serialization failure: retry the transaction.
    SerializationFailure,
    /// Deadlock detected: retry the transaction.
    Deadlock,
    /// Lock wait timed out.
    LockTimeout,
    /// The statement was cancelled or interrupted on the server.
    Cancelled,
    /// SQL syntax error or access to an unknown object.
    Syntax,
    /// The transaction was already aborted by an earlier error (PostgreSQL's 25P02): only a
    /// rollback is accepted.
    InFailedTransaction,
    /// The server takes no writes: a replica, or a primary turned read-only (PostgreSQL
    /// 25006; MySQL 1290 for `--read-only`, 1836). A session that gets it from a pool that wants
    /// a writable host is discarded, so that the next one walks the host list again.
    ReadOnly,
    /// Anything else.
    Other,
}

impl DatabaseError {
    /// A server error as an adapter classified it.
    pub(crate) fn new(
        backend: Backend,
        sqlstate: String,
        number: Option<u16>,
        message: String,
        constraint: Option<String>,
        kind: DatabaseErrorKind,
    ) -> Self {
        DatabaseError {
            backend,
            sqlstate,
            number,
            message,
            constraint,
            position: None,
            kind,
        }
    }

    /// The error with the position in the statement the server gave.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))] // MySQL gives no position
    pub(crate) fn at(mut self, position: Option<u32>) -> Self {
        self.position = position;
        self
    }

    /// The backend-neutral kind of this error.
    pub fn kind(&self) -> DatabaseErrorKind {
        self.kind
    }

    /// Wraps this error in the [`Error`] variant its kind calls for.
    pub(crate) fn into_error(self) -> Error {
        match self.kind {
            DatabaseErrorKind::UniqueViolation => Error::UniqueViolation(Box::new(self)),
            DatabaseErrorKind::ForeignKeyViolation => Error::ForeignKeyViolation(Box::new(self)),
            _ => Error::Database(Box::new(self)),
        }
    }
}

impl Error {
    /// A column that did not decode into `T`.
    #[cold]
    pub(crate) fn decode<T>(column: String, sql_type: String, reason: String) -> Error {
        Error::Decode {
            column,
            sql_type,
            rust_type: std::any::type_name::<T>(),
            reason,
        }
    }

    /// The error itself or, for [`Error::TransactionAborted`], the first error that failed
    /// the transaction: the predicates below answer for that one, so a commit that failed
    /// because of an earlier deadlock is transient, and its `code()` is the deadlock's.
    fn cause(&self) -> &Error {
        match self {
            Error::TransactionAborted(first) => first.cause(),
            e => e,
        }
    }

    /// The server error behind this error, if the server reported one.
    pub fn as_database_error(&self) -> Option<&DatabaseError> {
        match self.cause() {
            Error::UniqueViolation(e) | Error::ForeignKeyViolation(e) | Error::Database(e) => {
                Some(e)
            }
            _ => None,
        }
    }

    /// SQLSTATE, or the MySQL error number as text, when the server reported an error.
    pub fn code(&self) -> Option<String> {
        self.as_database_error().map(|e| match e.number {
            Some(n) => n.to_string(),
            None => e.sqlstate.clone(),
        })
    }

    /// Whether trying the same thing again later could succeed: connect failures, timeouts,
    /// saturation, lost connections, serialization failures, deadlocks and lock timeouts.
    ///
    /// This says nothing about whether a retry is *safe*: a write whose connection was lost may
    /// have been applied.
    pub fn is_transient(&self) -> bool {
        match self.cause() {
            Error::Connect { kind, .. } => *kind == ConnectErrorKind::Network,
            Error::Unreachable { .. }
            | Error::NoSuitableHost { .. }
            | Error::PoolTimeout { .. }
            | Error::QueryTimeout { .. }
            | Error::QueueTimeout { .. }
            | Error::Shed { .. }
            | Error::ConnectionLost(_) => true,
            Error::Database(e) => matches!(
                e.kind(),
                DatabaseErrorKind::SerializationFailure
                    | DatabaseErrorKind::Deadlock
                    | DatabaseErrorKind::LockTimeout
            ),
            _ => false,
        }
    }

    /// Whether this is a timeout of any phase (connect, acquire, query).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.cause(),
            Error::Unreachable { .. }
                | Error::PoolTimeout { .. }
                | Error::QueryTimeout { .. }
                | Error::QueueTimeout { .. }
        )
    }

    /// Whether retrying the whole transaction could succeed: a serialization failure, a
    /// deadlock, or a lock wait timeout.
    pub fn is_retryable_transaction_error(&self) -> bool {
        self.as_database_error().is_some_and(|e| {
            matches!(
                e.kind(),
                DatabaseErrorKind::SerializationFailure
                    | DatabaseErrorKind::Deadlock
                    | DatabaseErrorKind::LockTimeout
            )
        })
    }

    /// Whether the server refused a write because it is read-only (a replica, or a primary
    /// that was demoted): PostgreSQL 25006, MySQL 1290 (`--read-only`) and 1836.
    pub fn is_read_only(&self) -> bool {
        self.as_database_error()
            .is_some_and(|e| e.kind() == DatabaseErrorKind::ReadOnly)
    }

    /// Whether a unique or primary key constraint was violated.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self.cause(), Error::UniqueViolation(_))
    }

    /// Whether a foreign key constraint was violated.
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(self.cause(), Error::ForeignKeyViolation(_))
    }

    /// Whether the server could not be reached at all (as opposed to a saturated pool).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self.cause(),
            Error::Unreachable { .. }
                | Error::Connect {
                    kind: ConnectErrorKind::Network,
                    ..
                }
        )
    }
}

/// A Rust type's name as users write it: `Option<String>` for
/// `core::option::Option<alloc::string::String>`.
pub(crate) fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut path_start = 0;
    for (i, c) in name.char_indices() {
        if !(c.is_alphanumeric() || c == '_' || c == ':') {
            out.push_str(last_segment(&name[path_start..i]));
            out.push(c);
            path_start = i + c.len_utf8();
        }
    }
    out.push_str(last_segment(&name[path_start..]));
    out
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction failed by a deadlock answers as the deadlock: transient, retryable, its
    /// code the deadlock's.
    #[test]
    fn a_failed_transaction_answers_as_its_first_error() {
        let deadlock = DatabaseError::new(
            Backend::Postgres,
            "40P01".into(),
            None,
            "deadlock detected".into(),
            None,
            DatabaseErrorKind::Deadlock,
        )
        .into_error();
        let aborted = Error::TransactionAborted(Box::new(deadlock));
        assert!(aborted.is_transient());
        assert!(aborted.is_retryable_transaction_error());
        assert_eq!(aborted.code().as_deref(), Some("40P01"));
        assert!(!aborted.is_unique_violation());
    }

    #[test]
    fn type_names_as_users_write_them() {
        for (full, short) in [
            ("alloc::string::String", "String"),
            ("i64", "i64"),
            (
                "core::option::Option<alloc::string::String>",
                "Option<String>",
            ),
            ("alloc::vec::Vec<u8>", "Vec<u8>"),
            (
                "chrono::datetime::DateTime<chrono::offset::utc::Utc>",
                "DateTime<Utc>",
            ),
            ("(i64, alloc::string::String)", "(i64, String)"),
            ("&str", "&str"),
        ] {
            assert_eq!(short_type_name(full), short);
        }
    }
}
