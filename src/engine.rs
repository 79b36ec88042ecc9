//! Which database engine a pool, an error or a value belongs to. A leaf: every layer names it.

use std::fmt;

/// The database engine a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// PostgreSQL, through tokio-postgres.
    Postgres,
    /// MySQL or MariaDB, through mysql_async.
    MySql,
}

/// The protocol's name: `PostgreSQL`, or `MySQL/MariaDB` (the server itself, once connected,
/// is [`Database::server_name`](crate::Database::server_name)).
impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        })
    }
}
