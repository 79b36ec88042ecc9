//! What an [`after_connect`](crate::DatabaseConfig::after_connect) hook may do with a new
//! session, and where the hook is kept: the settings hold it opaquely, this module knows its
//! type.

use std::sync::Arc;

use crate::config::{AfterConnect, DatabaseConfig, HookFuture};
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::row::FromRow;
use crate::session::Session;
use crate::types::Params;

/// A new session, before it joins the pool. Statements run here shape every later use of the
/// session (time zone, search path, session variables).
pub struct SessionRef<'c> {
    pub(crate) conn: &'c mut Session,
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

/// The hook as the settings keep it.
struct Hook(Box<dyn for<'a> Fn(&'a mut SessionRef<'_>) -> HookFuture<'a> + Send + Sync>);

impl DatabaseConfig {
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
        self.after_connect = Some(Arc::new(Hook(Box::new(hook))));
        self
    }
}

/// Runs the settings' `after_connect` hook on a new session.
pub(crate) async fn run_after_connect(hook: &AfterConnect, conn: &mut Session) -> Result<()> {
    let Some(Hook(hook)) = hook.downcast_ref::<Hook>() else {
        return Err(Error::Config(
            "after_connect hook of an unknown kind".into(),
        ));
    };
    hook(&mut SessionRef { conn }).await
}
