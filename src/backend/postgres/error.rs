//! PostgreSQL's errors classified: SQLSTATE codes into backend-neutral kinds, connect failures
//! into kinds, and the driver's own failures into lost connections or encode errors.

use std::error::Error as StdError;

use super::encode::EncodeFailure;
use crate::engine::Backend;
use crate::error::{ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error};

/// A cached statement whose result columns changed under it (the table was altered or
/// recreated). The server refused it before running anything, so preparing again and retrying
/// once cannot run the statement twice.
pub(super) fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
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
        .at(match db.position() {
            Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p),
            _ => None,
        })
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
        "25006" => DatabaseErrorKind::ReadOnly,
        s if s.starts_with("42") => DatabaseErrorKind::Syntax,
        _ => DatabaseErrorKind::Other,
    }
}

/// Classifies an error from opening a connection.
pub(super) fn connect_error(target: &str, e: &tokio_postgres::Error) -> Error {
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
