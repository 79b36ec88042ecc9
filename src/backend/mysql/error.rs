//! MySQL's and MariaDB's errors classified: error numbers into backend-neutral kinds, and
//! the key or constraint a message names.

use crate::engine::Backend;
use crate::error::{ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error};

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
        1836 => DatabaseErrorKind::ReadOnly,
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
            // 1290 is any option that forbids a statement; only --read-only (and
            // --super-read-only) make the server read-only.
            if s.code == 1290 && s.message.contains("read-only") {
                DatabaseErrorKind::ReadOnly
            } else {
                kind_of(s.code)
            },
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
pub(super) fn connect_error(target: &str, e: mysql_async::Error) -> Error {
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
    use super::constraint_name;

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
