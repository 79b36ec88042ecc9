//! What an [`after_connect`](crate::DatabaseConfig::after_connect) hook may do with a new session.

use crate::conn::Conn;
use crate::engine::Backend;
use crate::error::Result;
use crate::row::FromRow;
use crate::types::Params;

/// A new session, before it joins the pool. Statements run here shape every later use of the
/// session (time zone, search path, session variables).
pub struct SessionRef<'c> {
    pub(crate) conn: &'c mut Conn,
}

impl std::fmt::Debug for SessionRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRef")
            .field("backend", &self.conn.backend())
            .finish()
    }
}

impl SessionRef<'_> {
    /// Which backend the session belongs to, for hooks that differ per backend.
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// Runs a statement, returning rows affected.
    ///
    /// # Errors
    /// The server's error; it fails the connect.
    pub async fn execute<P: Params>(&mut self, sql: &str, params: P) -> Result<u64> {
        self.conn.execute(sql, &params.to_params()).await
    }

    /// Runs a query and collects its rows.
    ///
    /// # Errors
    /// The server's error or a decode error; it fails the connect.
    pub async fn fetch_all<T: FromRow + Send, P: Params>(
        &mut self,
        sql: &str,
        params: P,
    ) -> Result<Vec<T>> {
        self.conn.fetch_all(sql, &params.to_params()).await
    }
}
