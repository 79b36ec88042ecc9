//! The span of one call, with the attributes of OpenTelemetry's semantic conventions for
//! database client calls: `db.system.name`, `db.namespace`, `db.query.text` (the SQL with its
//! placeholders, never a parameter value), `db.operation.name`, `server.address`,
//! `server.port`, and on failure `db.response.status_code` and `error.type`. The
//! `otel.name`, `otel.kind` and `otel.status_code` fields are the ones `tracing-opentelemetry`
//! reads for the exported span's name, kind and status.
//!
//! Nothing here runs unless a subscriber wants the span: its fields are worked out only after
//! the span proved enabled.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use tracing::field::Empty;
use tracing::Span;

use crate::config::DatabaseConfig;
use crate::engine::Backend;
use crate::error::Error;
use crate::session::Peer;

/// What every span of one pool says about the server: shared by its lanes.
#[derive(Debug)]
pub(crate) struct SpanAttrs {
    backend: Backend,
    /// `mariadb` or `mysql` once a session has said which; `postgresql` from the start.
    system: OnceLock<&'static str>,
    namespace: Option<Arc<str>>,
    /// `host` and `port` of a pool on one host (a socket path and no port for a Unix
    /// socket); `None` for a host list, whose sessions may be on any of them.
    server: Option<(Arc<str>, Option<u16>)>,
}

impl SpanAttrs {
    pub(crate) fn new(config: &DatabaseConfig) -> Self {
        let server = match (&config.socket, config.hosts().as_slice()) {
            (Some(path), _) => Some((path.display().to_string().into(), None)),
            (None, [(host, port)]) => Some(((*host).into(), Some(*port))),
            (None, _) => None,
        };
        SpanAttrs {
            backend: config.backend,
            system: OnceLock::new(),
            namespace: config.database().map(Into::into),
            server,
        }
    }

    /// Attributes of a pool known by its backend alone, for unit tests.
    #[cfg(test)]
    pub(crate) fn bare(backend: Backend) -> Self {
        SpanAttrs {
            backend,
            system: OnceLock::new(),
            namespace: None,
            server: None,
        }
    }

    /// Whether a session has said which server this is.
    #[inline]
    pub(crate) fn knows_system(&self) -> bool {
        self.system.get().is_some()
    }

    /// Takes the server's product name once a session has opened (`MySQL or MariaDB` before
    /// that changes nothing).
    pub(crate) fn learn(&self, server_name: &str) {
        if self.system.get().is_some() {
            return;
        }
        let system = match server_name {
            "PostgreSQL" => "postgresql",
            "MariaDB" => "mariadb",
            "MySQL" => "mysql",
            _ => return,
        };
        let _ = self.system.set(system);
    }

    /// `db.system.name`: what a session said, or the backend's own name before the first
    /// session of a lazily built MySQL-protocol pool opened.
    fn system(&self) -> &'static str {
        match (self.system.get(), self.backend) {
            (Some(s), _) => s,
            (None, Backend::Postgres) => "postgresql",
            (None, Backend::MySql) => "mysql",
        }
    }

    /// The span of one call running `sql` in `lane`, at DEBUG; disabled, and costing one
    /// interest check, when no subscriber wants it (its field values are evaluated only
    /// once it is enabled).
    pub(crate) fn call_span(&self, lane: &str, sql: &str) -> Span {
        let server = self.server.as_ref();
        let span = tracing::debug_span!(
            "weir.call",
            "otel.name" = Empty,
            "otel.kind" = "client",
            "otel.status_code" = Empty,
            "db.system.name" = self.system(),
            "db.namespace" = self.namespace.as_deref(),
            "db.operation.name" = Empty,
            "db.query.text" = sql,
            "server.address" = server.map(|(address, _)| &**address),
            // An i64: OpenTelemetry has no unsigned integers (a u64 would arrive as text).
            "server.port" = server.and_then(|(_, port)| port.map(i64::from)),
            "db.response.status_code" = Empty,
            "error.type" = Empty,
            "weir.lane" = lane,
        );
        if !span.is_disabled() {
            let operation = operation_name(sql);
            let name = self.span_name(operation.as_deref(), self.system());
            span.record("otel.name", name.as_ref());
            span.record("db.operation.name", operation.as_deref());
        }
        span
    }

    /// Records the server a call's session is on, for a pool on a host list (a pool on one
    /// host named it when the span began).
    pub(crate) fn record_server(&self, span: &Span, peer: &Peer) {
        if self.server.is_none() {
            span.record("server.address", peer.address.as_str());
            if let Some(port) = peer.port {
                span.record("server.port", i64::from(port));
            }
        }
    }

    /// The conventions' span name: `{db.operation.name} {target}`, where the target is the
    /// first of the database name and `server.address:server.port` that is known (weir does
    /// not parse the table out of the SQL); the target alone without an operation; the system
    /// name without either.
    fn span_name(&self, operation: Option<&str>, system: &'static str) -> Cow<'static, str> {
        let target = match (&self.namespace, &self.server) {
            (Some(ns), _) => Some(ns.to_string()),
            (None, Some((address, Some(port)))) => Some(format!("{address}:{port}")),
            (None, Some((address, None))) => Some(address.to_string()),
            (None, None) => None,
        };
        match (operation, target) {
            (Some(op), Some(t)) => format!("{op} {t}").into(),
            (Some(op), None) => op.to_owned().into(),
            (None, Some(t)) => t.into(),
            (None, None) => system.into(),
        }
    }
}

/// Records a failed call on its span: the server's code (SQLSTATE on PostgreSQL, the error
/// number on MySQL and MariaDB) as `db.response.status_code`, and `error.type`: that code for
/// a server error, weir's name for the error otherwise. Never the message, which may quote a
/// value.
#[cold]
pub(crate) fn record_error(span: &Span, e: &Error) {
    span.record("otel.status_code", "error");
    match e.code() {
        Some(code) => {
            span.record("db.response.status_code", code.as_str());
            span.record("error.type", code.as_str());
        }
        None => {
            span.record("error.type", error_type(e));
        }
    }
}

/// A low-cardinality name for an error the server did not report.
fn error_type(e: &Error) -> &'static str {
    match e {
        Error::Config(_) => "config",
        Error::Connect { .. } => "connect",
        Error::Unreachable { .. } => "unreachable",
        Error::NoSuitableHost { .. } => "no_suitable_host",
        Error::PoolTimeout { .. } => "pool_timeout",
        Error::QueryTimeout { .. } => "query_timeout",
        Error::Shed { .. } => "shed",
        Error::QueueTimeout { .. } => "queue_timeout",
        Error::CommitOutcomeUnknown(_) => "commit_outcome_unknown",
        Error::UniqueViolation(_) | Error::ForeignKeyViolation(_) | Error::Database(_) => {
            "database"
        }
        Error::ParamCount { .. } => "param_count",
        Error::Encode { .. } => "encode",
        Error::Decode { .. } => "decode",
        Error::ColumnNotFound(_) => "column_not_found",
        Error::UnknownColumn { .. } => "unknown_column",
        Error::RowNotFound => "row_not_found",
        Error::Aborted => "aborted",
        Error::TransactionAborted(_) => "transaction_aborted",
        Error::InvalidStatement(_) => "invalid_statement",
        Error::StaleEntity { .. } => "stale_entity",
        Error::Migration(_) => "migration",
        Error::PoolClosed => "pool_closed",
        Error::ConnectionLost(_) => "connection_lost",
        Error::Tls(_) => "tls",
        Error::Driver(_) => "driver",
    }
}

/// The statement's first keyword, upper-cased (`SELECT`, `INSERT`, `WITH`), past leading
/// blanks, comments and opening parentheses; `None` when the SQL starts otherwise.
fn operation_name(sql: &str) -> Option<String> {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first keyword, past blanks, comments and parentheses; nothing for other starts.
    #[test]
    fn operation_names() {
        assert_eq!(operation_name("select 1").as_deref(), Some("SELECT"));
        assert_eq!(
            operation_name("  -- c\n/* d */ (SELECT 1) UNION (SELECT 2)").as_deref(),
            Some("SELECT")
        );
        assert_eq!(operation_name("INSERT INTO t").as_deref(), Some("INSERT"));
        assert_eq!(operation_name("WITH x AS (..)").as_deref(), Some("WITH"));
        assert_eq!(operation_name("  "), None);
        assert_eq!(operation_name("$1"), None);
    }

    /// `{operation} {database}`, falling back to the server, then the system.
    #[test]
    fn span_names() {
        let c =
            DatabaseConfig::from_url("postgres://u@h:5433/shop").unwrap_or_else(|e| panic!("{e}"));
        let a = SpanAttrs::new(&c);
        assert_eq!(a.span_name(Some("SELECT"), "postgresql"), "SELECT shop");
        assert_eq!(a.span_name(None, "postgresql"), "shop");
        let c = DatabaseConfig::from_url("mysql://u@h:3307").unwrap_or_else(|e| panic!("{e}"));
        let a = SpanAttrs::new(&c);
        assert_eq!(a.span_name(Some("SELECT"), "mysql"), "SELECT h:3307");
        let a = SpanAttrs::bare(Backend::MySql);
        assert_eq!(a.span_name(None, a.system()), "mysql");
        a.learn("MySQL or MariaDB");
        assert_eq!(a.system(), "mysql");
        a.learn("MariaDB");
        assert_eq!(a.system(), "mariadb");
    }
}
