//! The history table, `weir_migrations`, in each backend's dialect.

use std::collections::BTreeMap;

use super::{hex, Migration, HISTORY_TABLE};
use crate::engine::Backend;
use crate::error::Result;
use crate::executor::Executor;
use crate::sql::quote_identifier;

/// One row of the history table.
pub(super) struct Applied {
    pub(super) version: i64,
    pub(super) name: String,
    pub(super) checksum: String,
    pub(super) dirty: bool,
    pub(super) execution_ms: i64,
    pub(super) applied_at: String,
}

/// The history table, in one backend's dialect.
pub(super) struct History {
    backend: Backend,
    /// The quoted table name.
    table: String,
}

impl History {
    pub(super) fn new(backend: Backend) -> Result<History> {
        Ok(History {
            backend,
            table: quote_identifier(backend, HISTORY_TABLE)?,
        })
    }

    pub(super) async fn create(&self, on: &impl Executor) -> Result<()> {
        let t = &self.table;
        let sql = match self.backend {
            Backend::Postgres => format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 version BIGINT PRIMARY KEY, \
                 name TEXT NOT NULL, \
                 checksum VARCHAR(64) NOT NULL, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
                 execution_ms BIGINT NOT NULL DEFAULT 0, \
                 dirty BOOLEAN NOT NULL DEFAULT FALSE)"
            ),
            Backend::MySql => format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 version BIGINT NOT NULL PRIMARY KEY, \
                 name VARCHAR(255) NOT NULL, \
                 checksum VARCHAR(64) NOT NULL, \
                 applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
                 execution_ms BIGINT NOT NULL DEFAULT 0, \
                 dirty BOOLEAN NOT NULL DEFAULT FALSE)"
            ),
        };
        on.execute(&sql, ()).await.map(drop)
    }

    async fn exists(&self, on: &impl Executor) -> Result<bool> {
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = $1"
            }
            Backend::MySql => {
                "SELECT COUNT(*) FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = $1"
            }
        };
        let n: i64 = on.fetch_scalar(sql, (HISTORY_TABLE,)).await?;
        Ok(n > 0)
    }

    pub(super) async fn load(&self, on: &impl Executor) -> Result<BTreeMap<i64, Applied>> {
        if !self.exists(on).await? {
            return Ok(BTreeMap::new());
        }
        let applied_at = match self.backend {
            Backend::Postgres => "CAST(applied_at AS TEXT)",
            Backend::MySql => "CAST(applied_at AS CHAR)",
        };
        let rows: Vec<(i64, String, String, bool, i64, String)> = on
            .fetch_all(
                &format!(
                    "SELECT version, name, checksum, dirty, execution_ms, {applied_at} \
                     FROM {} ORDER BY version",
                    self.table
                ),
                (),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(version, name, checksum, dirty, execution_ms, applied_at)| {
                    let row = Applied {
                        version,
                        name,
                        checksum,
                        dirty,
                        execution_ms,
                        applied_at,
                    };
                    (version, row)
                },
            )
            .collect())
    }

    pub(super) async fn insert(
        &self,
        on: &impl Executor,
        m: &Migration,
        execution_ms: i64,
        dirty: bool,
    ) -> Result<()> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_ms, dirty) \
             VALUES ($1, $2, $3, $4, $5)",
            self.table
        );
        let params = (m.version, &*m.name, hex(m.checksum), execution_ms, dirty);
        on.execute(&sql, params).await.map(drop)
    }

    pub(super) async fn mark_clean(
        &self,
        on: &impl Executor,
        version: i64,
        execution_ms: i64,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET dirty = FALSE, execution_ms = $1 WHERE version = $2",
            self.table
        );
        on.execute(&sql, (execution_ms, version)).await.map(drop)
    }

    pub(super) async fn mark_dirty(&self, on: &impl Executor, version: i64) -> Result<()> {
        let sql = format!("UPDATE {} SET dirty = TRUE WHERE version = $1", self.table);
        on.execute(&sql, (version,)).await.map(drop)
    }

    pub(super) async fn delete(&self, on: &impl Executor, version: i64) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE version = $1", self.table);
        on.execute(&sql, (version,)).await.map(drop)
    }
}
