//! The session lock that serializes migration runs on one database.

use std::time::Duration;

use super::{checksum, hex, HISTORY_TABLE, PG_LOCK_KEY};
use crate::connection::Connection;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::Executor;

/// The session lock that serializes runs on one database.
pub(super) struct Lock {
    /// MySQL's lock name; PostgreSQL's key is fixed.
    mysql_name: Option<String>,
}

impl Lock {
    pub(super) async fn take(conn: &Connection, timeout: Duration) -> Result<Lock> {
        let busy = || {
            Error::Migration(format!(
                "could not take the migration lock within {timeout:?}: another run has held it \
                 that long (see Migrator::with_lock_timeout)"
            ))
        };
        match conn.backend() {
            Backend::Postgres => {
                // Waits in the server's queue; the deadline cancels the wait on the server.
                match conn
                    .with_timeout(timeout)
                    .execute("SELECT pg_advisory_lock($1)", (PG_LOCK_KEY,))
                    .await
                {
                    Ok(_) => Ok(Lock { mysql_name: None }),
                    Err(Error::QueryTimeout { .. }) => Err(busy()),
                    Err(e) => Err(e),
                }
            }
            Backend::MySql => {
                let database: Option<String> = conn.fetch_scalar("SELECT DATABASE()", ()).await?;
                let Some(database) = database else {
                    return Err(Error::Migration(
                        "no database selected: name one in the URL to migrate it".into(),
                    ));
                };
                // Lock names are limited to 64 characters; database names may use all of them.
                let name = format!("{HISTORY_TABLE}.{}", hex(checksum(&database)));
                // GET_LOCK takes whole seconds: round up, so that a short timeout still waits.
                let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
                let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
                let got: Option<i64> = conn
                    // A backstop only: GET_LOCK gives up on its own first.
                    .with_timeout(timeout.saturating_add(Duration::from_secs(5)))
                    .fetch_scalar("SELECT GET_LOCK($1, $2)", (name.as_str(), seconds))
                    .await?;
                if got == Some(1) {
                    Ok(Lock {
                        mysql_name: Some(name),
                    })
                } else {
                    Err(busy())
                }
            }
        }
    }

    /// Releases the lock. Failing to is only logged: the connection is closed on its way back
    /// to the pool, since its session took a lock, and that releases it too.
    pub(super) async fn release(self, conn: &Connection) {
        let r = match &self.mysql_name {
            None => {
                conn.execute("SELECT pg_advisory_unlock($1)", (PG_LOCK_KEY,))
                    .await
            }
            Some(name) => {
                conn.execute("SELECT RELEASE_LOCK($1)", (name.as_str(),))
                    .await
            }
        };
        if let Err(e) = r {
            tracing::warn!(
                "releasing the migration lock failed (the connection will be closed): {e}"
            );
        }
    }
}
