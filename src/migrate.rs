//! Versioned schema migrations, run by services at start-up or by the CLI.
//!
//! # Files
//!
//! A folder of SQL scripts, one migration per version: `<version>_<name>.up.sql` and, when the
//! migration can be undone, `<version>_<name>.down.sql` (`0001_create_users.up.sql`). Versions
//! are positive whole numbers, applied in numeric order; a script may hold several statements.
//! Services compile the folder into the binary with
//! [`embed_migrations!`](crate::embed_migrations) and [`Migrator::new`]; the CLI reads it at run
//! time with [`Migrator::from_dir`]. `migrations/postgres/` and `migrations/mysql/` in this
//! repository hold weir's own example schema.
//!
//! Cargo rebuilds an embedding crate when one of its scripts changes, but cannot see a file
//! added to the folder; a build script printing `cargo:rerun-if-changed=migrations` makes it.
//!
//! # History
//!
//! Applied migrations are rows of `weir_migrations` (created when missing): version, name, a
//! checksum of the up script, when it ran, how long it took, and whether it is `dirty`. The
//! checksum is 64-bit FNV-1a over the script's bytes (with `\r\n` read as `\n`, so a Windows
//! checkout is not a change), stored as 16 hex digits. An applied migration whose file changed
//! is never run again: [`Migrator::up`] and [`Migrator::down`] refuse, naming it, and
//! [`Migrator::status`] shows it as [`MigrationState::Changed`].
//!
//! # Concurrency
//!
//! Every run takes a lock first and holds it until it ends, on the one connection all of its
//! statements use, then reads the history: two services starting at once apply each migration
//! exactly once, the second finding nothing left to do. The lock is PostgreSQL's advisory lock
//! `pg_advisory_lock(8603398603344013170)` (`0x7765_6972_6d69_6772`, "weirmigr"; advisory locks
//! are per database) and MySQL's `GET_LOCK('weir_migrations.<hash of the database name>')`
//! (named locks are per server, hence the database in the name). Both are session locks, and
//! weir closes a connection whose session took one instead of returning it to the pool, so a
//! run that is cancelled or crashes releases the lock with its connection.
//!
//! # Failure
//!
//! On PostgreSQL each migration runs in a transaction together with its history row: a failing
//! migration leaves nothing behind, and the run stops with the error. MySQL and MariaDB commit
//! DDL statement by statement, so there a migration's row is written first, marked dirty, and
//! marked clean only once the whole script succeeded. A failure leaves it dirty, and every later
//! run refuses until someone has looked: the error names the migration and says how to clear
//! it. A PostgreSQL migration that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`)
//! starts with the line `-- weir:no-transaction` and is then tracked the MySQL way; it should
//! hold that one statement, since PostgreSQL runs several statements sent at once as one
//! implicit transaction. Scripts must not contain `BEGIN` or `COMMIT` of their own.
//!
//! Migration statements run without a deadline, whatever the pool's `statement_timeout`: an
//! index build may take long, and cancelling it half-way helps no one.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use crate::database::Database;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::Executor;

mod history;
mod lock;
mod source;

use history::{Applied, History};
use lock::Lock;

/// The history table's name.
pub const HISTORY_TABLE: &str = "weir_migrations";

/// The first line that runs a PostgreSQL migration outside a transaction.
pub const NO_TRANSACTION: &str = "-- weir:no-transaction";

/// "weirmigr" in ASCII: fixed, so that every process migrating a database contends for it.
const PG_LOCK_KEY: i64 = 0x7765_6972_6d69_6772;

/// Stands in for "no deadline" where weir takes a `Duration`: a century.
const NO_DEADLINE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// The checksum of a script: 64-bit FNV-1a over its bytes, with `\r\n` read as `\n`.
///
/// Chosen because it is stable by definition (std's `DefaultHasher` may change between Rust
/// releases), needs no dependency, and detects edits, which is all it is for; it is not a
/// defence against someone forging a script.
pub fn checksum(sql: &str) -> u64 {
    let bytes = sql.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// One migration: its version, name, scripts and the checksum of its up script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Position in the sequence; positive, unique.
    pub version: i64,
    /// The part of the file name after the version.
    pub name: Cow<'static, str>,
    /// The script that applies it.
    pub up: Cow<'static, str>,
    /// The script that undoes it, if there is one.
    pub down: Option<Cow<'static, str>>,
    /// [`checksum`] of `up`.
    pub checksum: u64,
}

impl Migration {
    /// A migration without a down script; its checksum is computed from `up`.
    pub fn new(
        version: i64,
        name: impl Into<Cow<'static, str>>,
        up: impl Into<Cow<'static, str>>,
    ) -> Migration {
        let up = up.into();
        Migration {
            version,
            name: name.into(),
            checksum: checksum(&up),
            up,
            down: None,
        }
    }

    /// Adds the script that undoes it.
    #[must_use]
    pub fn with_down(mut self, down: impl Into<Cow<'static, str>>) -> Migration {
        self.down = Some(down.into());
        self
    }

    fn label(&self) -> String {
        format!("migration {} `{}`", self.version, self.name)
    }
}

/// A migration script compiled into the binary by [`embed_migrations!`](crate::embed_migrations):
/// its file name and contents. [`Migrator::new`] reads the names as [`Migrator::from_dir`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedMigration {
    file: &'static str,
    sql: &'static str,
}

impl EmbeddedMigration {
    /// The script `sql` from the file named `file`; called by `embed_migrations!`.
    #[doc(hidden)]
    pub const fn new(file: &'static str, sql: &'static str) -> EmbeddedMigration {
        EmbeddedMigration { file, sql }
    }
}

/// Where a migration stands, comparing the files with the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, and its file is as it was then.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but its up script changed since: [`Migrator::up`] refuses until it is restored.
    Changed,
    /// Failed part-way (or is being applied right now by another run); see [`Migrator::up`].
    Dirty,
    /// Applied, but no file for it is known (an older binary, or a deleted file).
    Missing,
}

/// One line of [`Migrator::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The version.
    pub version: i64,
    /// The file's name, or the recorded one when the file is missing.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
    /// When it was applied, as the server renders its timestamp; `None` when pending.
    pub applied_at: Option<String>,
    /// How long its script ran, in milliseconds; `None` when pending.
    pub execution_ms: Option<i64>,
}

/// What [`Migrator::up`] does with applied migrations for which it has no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnMissing {
    /// Refuse to run, naming them: the binary is probably older than the database. Default.
    #[default]
    Fail,
    /// Carry on: useful while an older and a newer release run side by side.
    Ignore,
}

/// Applies, reverts and reports migrations; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Migrator {
    /// Sorted by version, versions unique.
    migrations: Vec<Migration>,
    lock_timeout: Duration,
    on_missing: OnMissing,
}

impl Migrator {
    /// Migrations embedded by [`embed_migrations!`](crate::embed_migrations):
    ///
    /// ```no_run
    /// # async fn f(db: &weir::Database) -> weir::Result<()> {
    /// use weir::migrate::{EmbeddedMigration, Migrator};
    ///
    /// static MIGRATIONS: &[EmbeddedMigration] = weir::embed_migrations!("migrations/postgres");
    ///
    /// Migrator::new(MIGRATIONS)?.up(db).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Migration`] when a `.sql` file is misnamed, a version is used twice, or a
    /// down script has no up script: what [`Migrator::from_dir`] says of the same folder.
    pub fn new(embedded: &'static [EmbeddedMigration]) -> Result<Migrator> {
        let files = embedded
            .iter()
            .map(|e| (e.file.to_owned(), Cow::Borrowed(e.sql)));
        Migrator::from_migrations(source::assemble(files)?)
    }

    /// Reads the migrations in `dir` (files named as in the [module docs](self); other
    /// files are ignored).
    ///
    /// # Errors
    /// [`Error::Migration`] when the folder cannot be read, a `.sql` file is misnamed or not
    /// UTF-8, a version is used twice, or a down script has no up script.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Migrator> {
        Migrator::from_migrations(source::read_dir(dir.as_ref())?)
    }

    /// Migrations built in code.
    ///
    /// # Errors
    /// [`Error::Migration`] for a version given twice or not positive.
    pub fn from_migrations(mut migrations: Vec<Migration>) -> Result<Migrator> {
        migrations.sort_by_key(|m| m.version);
        if let Some(m) = migrations.iter().find(|m| m.version <= 0) {
            return Err(Error::Migration(format!(
                "{}: versions start at 1",
                m.label()
            )));
        }
        if let Some(w) = migrations.windows(2).find(|w| w[0].version == w[1].version) {
            return Err(Error::Migration(format!(
                "version {} is used twice, by `{}` and `{}`",
                w[0].version, w[0].name, w[1].name
            )));
        }
        Ok(Migrator {
            migrations,
            lock_timeout: Duration::from_secs(600),
            on_missing: OnMissing::Fail,
        })
    }

    /// How long a run waits for another run's lock before failing. Default: 10 minutes.
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Migrator {
        self.lock_timeout = timeout;
        self
    }

    /// What [`up`](Self::up) does about applied migrations it has no file for. Default:
    /// [`OnMissing::Fail`].
    #[must_use]
    pub fn with_on_missing(mut self, on_missing: OnMissing) -> Migrator {
        self.on_missing = on_missing;
        self
    }

    /// The migrations, in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// Applies every pending migration, in version order. Returns the versions this call
    /// applied: empty when the database was up to date (or another process just did the work).
    ///
    /// # Errors
    /// [`Error::Migration`] before anything runs when an applied migration changed, is dirty,
    /// or (with [`OnMissing::Fail`]) has no file, or when the lock is not free within the lock
    /// timeout; [`Error::Migration`] naming the migration that failed, after those before it
    /// were applied; the pool's errors when no connection can be had.
    pub async fn up(&self, db: &Database) -> Result<Vec<i64>> {
        self.up_to(db, i64::MAX).await
    }

    /// Applies the pending migrations whose version is at most `target`, in version order.
    ///
    /// # Errors
    /// As [`up`](Self::up).
    pub async fn up_to(&self, db: &Database, target: i64) -> Result<Vec<i64>> {
        let mut conn = db.acquire().await?;
        let lock = Lock::take(&conn, self.lock_timeout).await?;
        let r = self.apply_up(&mut conn, target).await;
        lock.release(&conn).await;
        r
    }

    /// Reverts the applied migrations whose version is above `target`, newest first, with
    /// their down scripts; `down(db, 0)` reverts everything. Returns the versions reverted.
    ///
    /// # Errors
    /// [`Error::Migration`] before anything runs when one of them has no down script or no
    /// file, or when an applied migration changed or is dirty; [`Error::Migration`] naming
    /// the down script that failed, after those before it were reverted.
    pub async fn down(&self, db: &Database, target: i64) -> Result<Vec<i64>> {
        let mut conn = db.acquire().await?;
        let lock = Lock::take(&conn, self.lock_timeout).await?;
        let r = self.apply_down(&mut conn, target).await;
        lock.release(&conn).await;
        r
    }

    /// Every known migration and every applied one, in version order, with where it stands.
    /// Takes no lock: a migration being applied right now on MySQL shows as dirty.
    ///
    /// # Errors
    /// The server's errors reading the history table.
    pub async fn status(&self, db: &Database) -> Result<Vec<MigrationStatus>> {
        let history = History::new(db.backend())?;
        let applied = history.load(db).await?;
        let mut versions: Vec<i64> = applied.keys().copied().collect();
        versions.extend(self.migrations.iter().map(|m| m.version));
        versions.sort_unstable();
        versions.dedup();
        Ok(versions
            .into_iter()
            .map(|version| {
                let file = self.find(version);
                let row = applied.get(&version);
                let state = match (file, row) {
                    (_, Some(r)) if r.dirty => MigrationState::Dirty,
                    (Some(m), Some(r)) if r.checksum != hex(m.checksum) => MigrationState::Changed,
                    (Some(_), Some(_)) => MigrationState::Applied,
                    (None, Some(_)) => MigrationState::Missing,
                    (_, None) => MigrationState::Pending,
                };
                MigrationStatus {
                    version,
                    name: file.map_or_else(
                        || row.map(|r| r.name.clone()).unwrap_or_default(),
                        |m| m.name.to_string(),
                    ),
                    state,
                    applied_at: row.map(|r| r.applied_at.clone()),
                    execution_ms: row.map(|r| r.execution_ms),
                }
            })
            .collect())
    }

    fn find(&self, version: i64) -> Option<&Migration> {
        self.migrations
            .binary_search_by_key(&version, |m| m.version)
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// Refuses to go on when the history shows something a person must look at first.
    fn verify(&self, applied: &BTreeMap<i64, Applied>, on_missing: OnMissing) -> Result<()> {
        if let Some(row) = applied.values().find(|r| r.dirty) {
            return Err(dirty_error(row));
        }
        for row in applied.values() {
            match self.find(row.version) {
                Some(m) if hex(m.checksum) != row.checksum => {
                    return Err(Error::Migration(format!(
                        "{} was changed after it was applied (checksum {} then, {} now): an \
                         applied migration is never run again. Restore its file as it was, and \
                         put the change in a new migration",
                        m.label(),
                        row.checksum,
                        hex(m.checksum)
                    )))
                }
                None if on_missing == OnMissing::Fail => {
                    return Err(Error::Migration(format!(
                        "migration {} `{}` is applied but has no file here: this program's \
                         migrations are older than the database's. Run a newer release, or \
                         allow it with OnMissing::Ignore",
                        row.version, row.name
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn apply_up(&self, conn: &mut Connection, target: i64) -> Result<Vec<i64>> {
        let history = History::new(conn.backend())?;
        history.create(conn).await?;
        let applied = history.load(conn).await?;
        self.verify(&applied, self.on_missing)?;
        let mut done = Vec::new();
        for m in &self.migrations {
            if m.version > target || applied.contains_key(&m.version) {
                continue;
            }
            if let Err(e) = apply_one(conn, &history, m).await {
                return Err(after(e, "applied", &done));
            }
            tracing::info!(version = m.version, name = %m.name, "migration applied");
            done.push(m.version);
        }
        Ok(done)
    }

    async fn apply_down(&self, conn: &mut Connection, target: i64) -> Result<Vec<i64>> {
        let history = History::new(conn.backend())?;
        let applied = history.load(conn).await?;
        self.verify(&applied, OnMissing::Ignore)?;
        // Every script must exist before the first one runs: stopping half-way down would
        // leave the schema at a version nobody asked for.
        let mut plan = Vec::new();
        for row in applied.values().rev().filter(|r| r.version > target) {
            let Some(m) = self.find(row.version) else {
                return Err(Error::Migration(format!(
                    "cannot revert migration {} `{}`: it has no file here, so no down script",
                    row.version, row.name
                )));
            };
            let Some(down) = m.down.as_deref() else {
                return Err(Error::Migration(format!(
                    "cannot revert {}: it has no down script (`{:04}_{}.down.sql`); nothing \
                     was reverted",
                    m.label(),
                    m.version,
                    m.name
                )));
            };
            plan.push((m, down));
        }
        let mut done = Vec::new();
        for (m, down) in plan {
            if let Err(e) = revert_one(conn, &history, m, down).await {
                return Err(after(e, "reverted", &done));
            }
            tracing::info!(version = m.version, name = %m.name, "migration reverted");
            done.push(m.version);
        }
        Ok(done)
    }
}

/// Runs one up script and records it.
async fn apply_one(conn: &mut Connection, history: &History, m: &Migration) -> Result<()> {
    let started = Instant::now();
    if in_transaction(conn.backend(), &m.up) {
        let tx = conn.begin().await?;
        let r = async {
            run_script(&tx, &m.up).await?;
            history.insert(&tx, m, elapsed_ms(started), false).await
        }
        .await;
        match r {
            Ok(()) => tx.commit().await,
            Err(e) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!("rolling back failed {}: {rb}", m.label());
                }
                Err(Error::Migration(format!(
                    "{} failed and was rolled back, nothing of it remains: {e}",
                    m.label()
                )))
            }
        }
    } else {
        // DDL commits as it goes: record the attempt first, so that a failure half-way is
        // visible to the next run instead of looking like a migration never started.
        history.insert(conn, m, 0, true).await?;
        run_script(conn, &m.up)
            .await
            .map_err(|e| failed_part_way(m, &e))?;
        history
            .mark_clean(conn, m.version, elapsed_ms(started))
            .await
    }
}

/// Runs one down script and deletes its history row.
async fn revert_one(
    conn: &mut Connection,
    history: &History,
    m: &Migration,
    down: &str,
) -> Result<()> {
    if in_transaction(conn.backend(), down) {
        let tx = conn.begin().await?;
        let r = async {
            run_script(&tx, down).await?;
            history.delete(&tx, m.version).await
        }
        .await;
        match r {
            Ok(()) => tx.commit().await,
            Err(e) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!("rolling back failed down script of {}: {rb}", m.label());
                }
                Err(Error::Migration(format!(
                    "the down script of {} failed and was rolled back, the migration is still \
                     applied: {e}",
                    m.label()
                )))
            }
        }
    } else {
        history.mark_dirty(conn, m.version).await?;
        run_script(conn, down)
            .await
            .map_err(|e| failed_part_way(m, &e))?;
        history.delete(conn, m.version).await
    }
}

/// Whether a script runs inside a transaction: on PostgreSQL unless it opts out. MySQL commits
/// DDL implicitly, so a transaction there would promise an all-or-nothing it cannot keep.
fn in_transaction(backend: Backend, script: &str) -> bool {
    backend == Backend::Postgres && script.lines().next().map(str::trim) != Some(NO_TRANSACTION)
}

async fn run_script(on: &impl Executor, script: &str) -> Result<()> {
    // A migration of comments only has nothing to run (and an empty script is an error).
    if crate::sql::is_blank(on.backend(), script) {
        return Ok(());
    }
    on.with_timeout(NO_DEADLINE).execute_script(script).await
}

fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn hex(checksum: u64) -> String {
    format!("{checksum:016x}")
}

/// What to do about a dirty row, in words the person reading the log can act on.
fn dirty_help(version: i64) -> String {
    format!(
        "Fix the database by hand so that the migration is either fully applied or not at \
         all, then record which: `UPDATE {HISTORY_TABLE} SET dirty = FALSE WHERE version = \
         {version}` if it is applied, or `DELETE FROM {HISTORY_TABLE} WHERE version = \
         {version}` to have it run again"
    )
}

fn dirty_error(row: &Applied) -> Error {
    Error::Migration(format!(
        "migration {} `{}` is marked dirty in {HISTORY_TABLE}: it failed part-way in an \
         earlier run, and some of its statements may have taken effect. {}",
        row.version,
        row.name,
        dirty_help(row.version)
    ))
}

fn failed_part_way(m: &Migration, e: &Error) -> Error {
    Error::Migration(format!(
        "{} failed part-way and is marked dirty in {HISTORY_TABLE}; the statements before the \
         failing one may have taken effect: {e}. {}",
        m.label(),
        dirty_help(m.version)
    ))
}

/// Adds what this run completed before the failure to its error.
fn after(e: Error, verb: &str, done: &[i64]) -> Error {
    match e {
        Error::Migration(msg) if !done.is_empty() => {
            Error::Migration(format!("{msg} (this run {verb} {done:?} before it)"))
        }
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_fnv1a_64_and_ignores_crlf() {
        // Published FNV-1a test vectors: the value never depends on the Rust release.
        assert_eq!(checksum(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(checksum("foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(checksum("a;\r\nb;\r\n"), checksum("a;\nb;\n"));
        assert_ne!(checksum("a;\rb;"), checksum("a;b;"));
        assert_eq!(hex(1), "0000000000000001");
    }

    #[test]
    fn lock_key_is_the_documented_one() {
        // The module docs give operators this number to look for in pg_locks.
        assert_eq!(PG_LOCK_KEY, 8_603_398_603_344_013_170);
        assert_eq!(PG_LOCK_KEY.to_be_bytes(), *b"weirmigr");
    }

    #[test]
    fn only_postgres_runs_in_a_transaction_unless_opted_out() {
        assert!(in_transaction(Backend::Postgres, "CREATE TABLE t (x INT);"));
        assert!(!in_transaction(
            Backend::Postgres,
            "-- weir:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);"
        ));
        assert!(!in_transaction(Backend::MySql, "CREATE TABLE t (x INT);"));
    }

    #[test]
    fn migrator_rejects_duplicate_and_non_positive_versions() {
        let dup = Migrator::from_migrations(vec![
            Migration::new(2, "a", "SELECT 1"),
            Migration::new(2, "b", "SELECT 2"),
        ])
        .unwrap_err();
        assert!(dup.to_string().contains("version 2 is used twice"), "{dup}");
        let zero = Migrator::from_migrations(vec![Migration::new(0, "z", "")]).unwrap_err();
        assert!(zero.to_string().contains("versions start at 1"), "{zero}");
        let ok =
            Migrator::from_migrations(vec![Migration::new(3, "c", ""), Migration::new(1, "a", "")])
                .unwrap();
        let versions: Vec<i64> = ok.migrations().iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 3]);
    }
}
