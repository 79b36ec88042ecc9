//! An adapter with no server behind it, for unit tests of the rules above the adapter contract
//! (a session's return rules, cancellation, deadlines, the transaction rule) with paused time.
//! They add to the tests against real servers, never replace them.
//!
//! What a statement does is read from its text: one containing `hang` (or the text a test set
//! with [`Log::hang_on`]) never completes, `fail` fails as a server error, `lost` as a lost
//! connection; anything else succeeds. Every statement and cancel is written to the log the
//! test holds.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{Adapter, Control, CopyTarget, Placeholders, Slot};
use crate::config::DatabaseConfig;
use crate::describe::{ColumnDescription, Description};
use crate::engine::Backend;
use crate::error::{DatabaseError, DatabaseErrorKind, Error, Result};
use crate::types::{CopyRows, Decode, Param};

/// What the fake server saw; shared by a connector, its sessions and their cancellers.
#[derive(Debug, Default)]
pub(crate) struct Log {
    statements: Mutex<Vec<String>>,
    cancels: AtomicUsize,
    hang_on: Mutex<Option<String>>,
}

impl Log {
    fn push(&self, what: impl Into<String>) {
        if let Ok(mut statements) = self.statements.lock() {
            statements.push(what.into());
        }
    }

    /// Every statement run so far, transaction control included, in order.
    pub(crate) fn statements(&self) -> Vec<String> {
        self.statements
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// From now on, a statement containing `text` never completes (`ROLLBACK`, say).
    pub(crate) fn hang_on(&self, text: &str) {
        if let Ok(mut hang) = self.hang_on.lock() {
            *hang = Some(text.to_owned());
        }
    }

    fn hangs(&self, sql: &str) -> bool {
        sql.contains("hang")
            || self
                .hang_on
                .lock()
                .is_ok_and(|h| h.as_deref().is_some_and(|t| sql.contains(t)))
    }

    /// Cancels sent so far.
    pub(crate) fn cancels(&self) -> usize {
        self.cancels.load(Ordering::SeqCst)
    }
}

/// Opens fake sessions that log into one [`Log`].
#[derive(Debug, Default)]
pub(crate) struct FakeConnector {
    pub(crate) log: Arc<Log>,
}

/// A fake session.
pub(crate) struct FakeConn {
    log: Arc<Log>,
    _slot: Slot,
}

/// A fake session's canceller.
#[derive(Clone)]
pub(crate) struct FakeCanceller(Arc<Log>);

/// One row: a value per column, named `c0`, `c1`, ...
pub(crate) struct FakeRow(Vec<Option<i64>>);

/// The rows of a query, read one at a time.
pub(crate) struct FakeRows(std::vec::IntoIter<FakeRow>);

impl FakeConn {
    pub(crate) fn backend(&self) -> Backend {
        Backend::Postgres
    }

    /// What the statement `sql` does, by its text.
    async fn run(&self, sql: &str) -> Result<()> {
        self.log.push(sql);
        if self.log.hangs(sql) {
            std::future::pending::<()>().await;
        }
        if sql.contains("lost") {
            return Err(Error::ConnectionLost("fake connection lost".into()));
        }
        if sql.contains("fail") {
            return Err(DatabaseError::new(
                Backend::Postgres,
                "23505".into(),
                None,
                "fake failure".into(),
                None,
                DatabaseErrorKind::UniqueViolation,
            )
            .into_error());
        }
        Ok(())
    }
}

impl Adapter for FakeConn {
    type Connector = FakeConnector;
    type Canceller = FakeCanceller;
    type Row = FakeRow;
    type Rows<'c> = FakeRows;

    fn connector(_: &DatabaseConfig) -> Result<FakeConnector> {
        Ok(FakeConnector::default())
    }

    async fn connect(connector: &FakeConnector, slot: Slot) -> Result<FakeConn> {
        Ok(FakeConn {
            log: Arc::clone(&connector.log),
            _slot: slot,
        })
    }

    async fn quiet(_: &FakeConnector) {}

    async fn role(&mut self) -> Result<super::HostRole> {
        Ok(super::HostRole {
            read_only: false,
            standby: false,
        })
    }

    fn canceller(&self) -> FakeCanceller {
        FakeCanceller(Arc::clone(&self.log))
    }

    async fn cancel(canceller: &FakeCanceller) -> Result<()> {
        canceller.0.cancels.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn state_changed(&self) -> bool {
        false
    }

    fn accept_state(&mut self) {}

    fn is_closed(&self) -> bool {
        false
    }

    async fn control(&mut self, control: Control<'_>) -> Result<()> {
        let sql = match control {
            Control::Begin(_) => "BEGIN".to_owned(),
            Control::Commit => "COMMIT".to_owned(),
            Control::Rollback => "ROLLBACK".to_owned(),
            Control::Savepoint(d) => format!("SAVEPOINT {d}"),
            Control::Release(d) => format!("RELEASE {d}"),
            Control::RollbackTo(d) => format!("ROLLBACK TO {d}"),
        };
        self.run(&sql).await
    }

    async fn script(&mut self, sql: &str) -> Result<()> {
        self.run(sql).await
    }

    async fn ping(&mut self) -> Result<()> {
        self.run("ping").await
    }

    async fn execute(&mut self, sql: &str, _: &[Param<'_>], _: Placeholders) -> Result<u64> {
        self.run(sql).await.map(|()| 1)
    }

    async fn insert_returning_id<K: Decode + Send>(
        &mut self,
        sql: &str,
        _: &[Param<'_>],
    ) -> Result<Option<K>> {
        self.run(sql).await?;
        K::decode(Param::Int(1)).map(Some).map_err(Error::Driver)
    }

    /// One nullable column `n`, no parameters.
    async fn describe(&mut self, sql: &str) -> Result<Description> {
        self.run(sql).await?;
        let n = ColumnDescription::new("n".into(), "int8".into(), Some(true));
        Ok(Description::new(Vec::new(), vec![n]))
    }

    async fn copy_in(&mut self, target: CopyTarget<'_>, rows: &dyn CopyRows) -> Result<u64> {
        self.run(target.table).await?;
        Ok(rows.count() as u64)
    }

    async fn for_each_row(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        mut each: impl FnMut(FakeRow) -> Result<bool> + Send,
    ) -> Result<()> {
        let mut rows = self.open_rows(sql, params).await?;
        while let Some(row) = Self::next_row(&mut rows).await? {
            if !each(row)? {
                break;
            }
        }
        Ok(())
    }

    /// Three rows of one column: 1, 2, 3.
    async fn open_rows(&mut self, sql: &str, _: &[Param<'_>]) -> Result<FakeRows> {
        self.run(sql).await?;
        let rows: Vec<FakeRow> = (1..=3).map(|i| FakeRow(vec![Some(i)])).collect();
        Ok(FakeRows(rows.into_iter()))
    }

    async fn next_row(rows: &mut Self::Rows<'_>) -> Result<Option<FakeRow>> {
        Ok(rows.0.next())
    }

    async fn finish_rows(_: Self::Rows<'_>) -> Result<()> {
        Ok(())
    }

    fn row_len(row: &FakeRow) -> usize {
        row.0.len()
    }

    fn column_name(row: &FakeRow, index: usize) -> Option<&str> {
        const NAMES: [&str; 4] = ["c0", "c1", "c2", "c3"];
        (index < row.0.len())
            .then(|| NAMES.get(index).copied())
            .flatten()
    }

    fn column_is(row: &FakeRow, index: usize, name: &str) -> bool {
        Self::column_name(row, index) == Some(name)
    }

    fn column_type(_: &FakeRow, _: usize) -> String {
        "int8".into()
    }

    fn decode<T: Decode>(row: &FakeRow, index: usize) -> std::result::Result<T, String> {
        match row.0.get(index) {
            Some(Some(v)) => T::decode(Param::Int(*v)),
            Some(None) => T::decode(Param::Null),
            None => Err(format!("no column {index}")),
        }
    }

    fn take<T: Decode>(row: &mut FakeRow, index: usize) -> std::result::Result<T, String> {
        Self::decode(row, index)
    }
}
