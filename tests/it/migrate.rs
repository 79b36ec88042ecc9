//! Migrations: up and down to a target, status, checksums of applied migrations, racing
//! migrators, the lock timeout, failures (rolled back on PostgreSQL, dirty on MySQL), and the
//! repository's own migrations embedded at compile time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use weir::migrate::{
    checksum, EmbeddedMigration, MigrationState, MigrationStatus, Migrator, OnMissing,
};
use weir::{Backend, Database, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    up_applies_pending_once_and_records_checksums,
    up_and_down_to_a_target,
    down_without_a_script_refuses_before_running_anything,
    changed_migration_is_reported_and_refused,
    missing_files_are_reported_and_refused_unless_ignored,
    failed_migration_rolls_back_or_is_left_dirty,
    no_transaction_migrations_run_outside_a_transaction,
    racing_migrators_apply_each_migration_once,
    lock_wait_gives_up_after_the_lock_timeout,
    embedded_migrations_match_the_folder_and_apply,
);

/// Three migrations in SQL both backends accept: two tables, then rows in one of them.
const BASIC: &[(&str, &str)] = &[
    (
        "0001_create_a.up.sql",
        "CREATE TABLE a (x INT);\nINSERT INTO a VALUES (1);\n",
    ),
    ("0001_create_a.down.sql", "DROP TABLE a;\n"),
    ("0002_create_b.up.sql", "CREATE TABLE b (y INT);\n"),
    ("0002_create_b.down.sql", "DROP TABLE b;\n"),
    (
        "0003_fill_b.up.sql",
        "-- two rows\nINSERT INTO b VALUES (1);\nINSERT INTO b VALUES (2);\n",
    ),
    ("0003_fill_b.down.sql", "DELETE FROM b;\n"),
];

/// A folder of migration files under the system temp dir, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(files: &[(&str, &str)]) -> Folder {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "weir_migrate_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        let folder = Folder(path);
        for (name, sql) in files {
            folder.write(name, sql);
        }
        folder
    }

    fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.0.join(name), sql).unwrap();
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.0.join(name)).unwrap();
    }

    fn migrator(&self) -> Migrator {
        Migrator::from_dir(&self.0).unwrap()
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn table_exists(ctx: &Ctx, table: &str) -> bool {
    let sql = ctx.sql(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = $1",
    );
    ctx.db.fetch_scalar::<i64, _>(sql, (table,)).await.unwrap() > 0
}

async fn count(db: &Database, table: &str) -> i64 {
    db.fetch_scalar(&format!("SELECT COUNT(*) FROM {table}"), ())
        .await
        .unwrap()
}

/// The history table's rows: version, name, checksum, dirty.
async fn history(db: &Database) -> Vec<(i64, String, String, bool)> {
    db.fetch_all(
        "SELECT version, name, checksum, dirty FROM weir_migrations ORDER BY version",
        (),
    )
    .await
    .unwrap()
}

async fn states(m: &Migrator, db: &Database) -> Vec<(i64, MigrationState)> {
    m.status(db)
        .await
        .unwrap()
        .iter()
        .map(|s: &MigrationStatus| (s.version, s.state))
        .collect()
}

fn migration_error<T: std::fmt::Debug>(r: weir::Result<T>) -> String {
    match r {
        Err(Error::Migration(msg)) => msg,
        other => panic!("expected Error::Migration, got {other:?}"),
    }
}

fn hex(sql: &str) -> String {
    format!("{:016x}", checksum(sql))
}

/// `up` applies every pending migration in order and records each with the checksum of its
/// file; a second `up` finds nothing to do and runs nothing again.
async fn up_applies_pending_once_and_records_checksums(ctx: Ctx) {
    let dir = Folder::new(BASIC);
    let m = dir.migrator();
    use MigrationState::*;
    // Before the first run there is no history table: everything is pending.
    assert_eq!(
        states(&m, &ctx.db).await,
        [(1, Pending), (2, Pending), (3, Pending)]
    );
    assert_eq!(m.up(&ctx.db).await.unwrap(), [1, 2, 3]);
    assert_eq!(
        history(&ctx.db).await,
        [
            (1, "create_a".into(), hex(BASIC[0].1), false),
            (2, "create_b".into(), hex(BASIC[2].1), false),
            (3, "fill_b".into(), hex(BASIC[4].1), false),
        ]
    );
    assert_eq!(count(&ctx.db, "b").await, 2);

    assert_eq!(m.up(&ctx.db).await.unwrap(), Vec::<i64>::new());
    assert_eq!(count(&ctx.db, "a").await, 1);
    assert_eq!(count(&ctx.db, "b").await, 2);
    assert_eq!(history(&ctx.db).await.len(), 3);
    let status = m.status(&ctx.db).await.unwrap();
    assert!(status.iter().all(|s| s.state == Applied), "{status:?}");
    assert!(status
        .iter()
        .all(|s| s.applied_at.is_some() && s.execution_ms.is_some()));
    assert_eq!(status[2].name, "fill_b");
}

/// `up_to` stops at its target; `down` reverts newest first down to its target, deleting the
/// history rows; everything can be applied again afterwards.
async fn up_and_down_to_a_target(ctx: Ctx) {
    let dir = Folder::new(BASIC);
    let m = dir.migrator();
    use MigrationState::*;
    assert_eq!(m.up_to(&ctx.db, 2).await.unwrap(), [1, 2]);
    assert_eq!(
        states(&m, &ctx.db).await,
        [(1, Applied), (2, Applied), (3, Pending)]
    );
    assert_eq!(count(&ctx.db, "b").await, 0);
    assert_eq!(m.up(&ctx.db).await.unwrap(), [3]);

    assert_eq!(m.down(&ctx.db, 1).await.unwrap(), [3, 2]);
    assert!(!table_exists(&ctx, "b").await);
    assert!(table_exists(&ctx, "a").await);
    assert_eq!(
        states(&m, &ctx.db).await,
        [(1, Applied), (2, Pending), (3, Pending)]
    );
    assert_eq!(m.down(&ctx.db, 1).await.unwrap(), Vec::<i64>::new());
    assert_eq!(m.down(&ctx.db, 0).await.unwrap(), [1]);
    assert!(!table_exists(&ctx, "a").await);
    assert!(history(&ctx.db).await.is_empty());

    assert_eq!(m.up(&ctx.db).await.unwrap(), [1, 2, 3]);
    assert_eq!(count(&ctx.db, "b").await, 2);
}

/// A `down` that would pass a migration without a down script names it and reverts nothing,
/// not even the newer migrations that could be reverted.
async fn down_without_a_script_refuses_before_running_anything(ctx: Ctx) {
    let dir = Folder::new(BASIC);
    dir.remove("0002_create_b.down.sql");
    let m = dir.migrator();
    m.up(&ctx.db).await.unwrap();
    let msg = migration_error(m.down(&ctx.db, 0).await);
    assert!(msg.contains("migration 2 `create_b`"), "{msg}");
    assert!(msg.contains("no down script"), "{msg}");
    assert_eq!(history(&ctx.db).await.len(), 3);
    assert_eq!(count(&ctx.db, "b").await, 2, "migration 3 was reverted");
    // Above the gap, down works.
    assert_eq!(m.down(&ctx.db, 2).await.unwrap(), [3]);
}

/// An applied migration whose file changed shows as Changed and makes `up` fail naming it,
/// before anything pending runs. A file that differs only in line endings is not a change.
async fn changed_migration_is_reported_and_refused(ctx: Ctx) {
    let dir = Folder::new(BASIC);
    dir.migrator().up(&ctx.db).await.unwrap();
    dir.write("0002_create_b.up.sql", "CREATE TABLE b (y BIGINT);\n");
    dir.write("0004_create_d.up.sql", "CREATE TABLE d (z INT);\n");
    // Windows line endings only: still the same migration.
    dir.write("0001_create_a.up.sql", &BASIC[0].1.replace('\n', "\r\n"));
    let m = dir.migrator();
    use MigrationState::*;
    assert_eq!(
        states(&m, &ctx.db).await,
        [(1, Applied), (2, Changed), (3, Applied), (4, Pending)]
    );
    let msg = migration_error(m.up(&ctx.db).await);
    assert!(msg.contains("migration 2 `create_b` was changed"), "{msg}");
    assert!(msg.contains(&hex(BASIC[2].1)), "{msg}");
    assert!(!table_exists(&ctx, "d").await, "a pending migration ran");
    assert_eq!(history(&ctx.db).await.len(), 3);
    assert!(
        m.down(&ctx.db, 0).await.is_err(),
        "down ran past a changed migration"
    );

    dir.write("0002_create_b.up.sql", BASIC[2].1);
    assert_eq!(dir.migrator().up(&ctx.db).await.unwrap(), [4]);
}

/// An applied migration with no file (an older binary) shows as Missing; `up` refuses naming
/// it unless told to ignore it.
async fn missing_files_are_reported_and_refused_unless_ignored(ctx: Ctx) {
    let dir = Folder::new(BASIC);
    dir.migrator().up(&ctx.db).await.unwrap();
    dir.remove("0003_fill_b.up.sql");
    dir.remove("0003_fill_b.down.sql");
    let m = dir.migrator();
    let status = m.status(&ctx.db).await.unwrap();
    assert_eq!(status[2].state, MigrationState::Missing);
    assert_eq!(status[2].name, "fill_b");
    let msg = migration_error(m.up(&ctx.db).await);
    assert!(msg.contains("migration 3 `fill_b`"), "{msg}");
    assert!(msg.contains("no file"), "{msg}");
    let lenient = m.with_on_missing(OnMissing::Ignore);
    assert_eq!(lenient.up(&ctx.db).await.unwrap(), Vec::<i64>::new());
    let msg = migration_error(lenient.down(&ctx.db, 0).await);
    assert!(msg.contains("cannot revert migration 3 `fill_b`"), "{msg}");
}

/// A migration that fails half-way: on PostgreSQL nothing of it remains (no table, no history
/// row); on MySQL, where DDL commits on its own, its row stays dirty and every later run
/// refuses with instructions until the row is dealt with by hand.
async fn failed_migration_rolls_back_or_is_left_dirty(ctx: Ctx) {
    let dir = Folder::new(&BASIC[..2]);
    let broken = "CREATE TABLE t2 (x INT);\nINSERT INTO nowhere VALUES (1);\n";
    dir.write("0002_broken.up.sql", broken);
    let m = dir.migrator();
    let msg = migration_error(m.up(&ctx.db).await);
    assert!(msg.contains("migration 2 `broken` failed"), "{msg}");
    assert!(msg.contains("nowhere"), "the server's error is lost: {msg}");
    assert!(msg.contains("this run applied [1] before it"), "{msg}");
    assert!(table_exists(&ctx, "a").await);
    use MigrationState::*;
    match ctx.backend {
        Backend::Postgres => {
            assert!(msg.contains("rolled back"), "{msg}");
            assert!(!table_exists(&ctx, "t2").await, "half a migration remains");
            assert_eq!(history(&ctx.db).await.len(), 1);
            assert_eq!(states(&m, &ctx.db).await, [(1, Applied), (2, Pending)]);
        }
        Backend::MySql => {
            assert!(msg.contains("dirty"), "{msg}");
            assert!(table_exists(&ctx, "t2").await);
            assert_eq!(
                history(&ctx.db).await[1],
                (2, "broken".into(), hex(broken), true)
            );
            assert_eq!(states(&m, &ctx.db).await, [(1, Applied), (2, Dirty)]);
            // The next run refuses, saying what to do; even a fixed file does not run.
            dir.write("0002_broken.up.sql", "CREATE TABLE t2 (x INT);\n");
            let m = dir.migrator();
            let msg = migration_error(m.up(&ctx.db).await);
            assert!(
                msg.contains("migration 2 `broken` is marked dirty"),
                "{msg}"
            );
            assert!(
                msg.contains("DELETE FROM weir_migrations WHERE version = 2"),
                "{msg}"
            );
            assert!(
                m.down(&ctx.db, 0).await.is_err(),
                "down ran past a dirty row"
            );
            // Fixed by hand: undo what ran, forget the attempt, run again.
            ctx.db.execute("DROP TABLE t2", ()).await.unwrap();
            ctx.db
                .execute("DELETE FROM weir_migrations WHERE version = 2", ())
                .await
                .unwrap();
            assert_eq!(m.up(&ctx.db).await.unwrap(), [2]);
            assert_eq!(states(&m, &ctx.db).await, [(1, Applied), (2, Applied)]);
        }
    }
}

/// `-- weir:no-transaction` lets a PostgreSQL migration run what a transaction forbids
/// (`CREATE INDEX CONCURRENTLY`); such a migration is tracked like every MySQL one, dirty
/// when it fails.
async fn no_transaction_migrations_run_outside_a_transaction(ctx: Ctx) {
    let index = ctx.sql(
        "-- weir:no-transaction\nCREATE INDEX CONCURRENTLY a_x ON a (x);\n",
        "-- weir:no-transaction\nCREATE INDEX a_x ON a (x);\n",
    );
    let dir = Folder::new(&BASIC[..2]);
    dir.write("0002_index_a.up.sql", index);
    let m = dir.migrator();
    assert_eq!(m.up(&ctx.db).await.unwrap(), [1, 2]);
    assert!(history(&ctx.db).await.iter().all(|(.., dirty)| !dirty));

    dir.write(
        "0003_bad_index.up.sql",
        "-- weir:no-transaction\nCREATE INDEX a_nope ON a (nope);\n",
    );
    let msg = migration_error(dir.migrator().up(&ctx.db).await);
    assert!(
        msg.contains("migration 3 `bad_index` failed part-way"),
        "{msg}"
    );
    assert_eq!(
        dir.migrator().status(&ctx.db).await.unwrap()[2].state,
        MigrationState::Dirty
    );
}

/// Four migrators on four pools race to migrate one database: each migration is applied
/// exactly once (one history row each, its INSERT ran once), and every migrator succeeds.
async fn racing_migrators_apply_each_migration_once(ctx: Ctx) {
    let sleep = ctx.sql("SELECT pg_sleep(0.3);", "DO SLEEP(0.3);");
    let dir = Folder::new(&[
        ("0001_create_ran.up.sql", "CREATE TABLE ran (n INT);"),
        (
            "0002_slow_insert.up.sql",
            &format!("INSERT INTO ran VALUES (2);\n{sleep}\n"),
        ),
        ("0003_insert.up.sql", "INSERT INTO ran VALUES (3);"),
    ]);
    let m = dir.migrator();
    let mut racers = Vec::new();
    for _ in 0..4 {
        let db = ctx.pool(|c| c.with_max_size(1)).await;
        let m = m.clone();
        // Spawned: a migration run must be Send to start from a service's main task.
        racers.push(tokio::spawn(async move { m.up(&db).await }));
    }
    let mut applied = Vec::new();
    for racer in racers {
        applied.extend(racer.await.unwrap().unwrap());
    }
    applied.sort_unstable();
    assert_eq!(applied, [1, 2, 3], "a migration ran twice or not at all");
    assert_eq!(history(&ctx.db).await.len(), 3);
    let ran: Vec<(i32, i64)> = ctx
        .db
        .fetch_all("SELECT n, COUNT(*) FROM ran GROUP BY n ORDER BY n", ())
        .await
        .unwrap();
    assert_eq!(ran, [(2, 1), (3, 1)]);
}

/// A migrator that cannot get the lock within its lock timeout fails saying so, while the run
/// holding it completes; afterwards it finds nothing to do.
async fn lock_wait_gives_up_after_the_lock_timeout(ctx: Ctx) {
    let sleep = ctx.sql("SELECT pg_sleep(3);", "DO SLEEP(3);");
    let dir = Folder::new(&[("0001_slow.up.sql", sleep)]);
    let holder = dir.migrator();
    let db = ctx.db.clone();
    let holding = tokio::spawn(async move { holder.up(&db).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiter = dir.migrator().with_lock_timeout(Duration::from_secs(1));
    let other = ctx.pool(|c| c.with_max_size(1)).await;
    let msg = migration_error(waiter.up(&other).await);
    assert!(
        msg.contains("could not take the migration lock within 1s"),
        "{msg}"
    );
    assert_eq!(holding.await.unwrap().unwrap(), [1]);
    assert_eq!(waiter.up(&other).await.unwrap(), Vec::<i64>::new());
}

static PG_MIGRATIONS: &[EmbeddedMigration] = weir::embed_migrations!("migrations/postgres");
static MYSQL_MIGRATIONS: &[EmbeddedMigration] = weir::embed_migrations!("migrations/mysql");

/// The repository's own migrations, embedded by `embed_migrations!`, are the same migrations
/// (scripts and checksums) that `from_dir` reads at run time; they apply, give the example
/// schema, and revert.
async fn embedded_migrations_match_the_folder_and_apply(ctx: Ctx) {
    let (embedded, folder) = match ctx.backend {
        Backend::Postgres => (PG_MIGRATIONS, "migrations/postgres"),
        Backend::MySql => (MYSQL_MIGRATIONS, "migrations/mysql"),
    };
    let m = Migrator::new(embedded).unwrap();
    let from_dir = Migrator::from_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(folder)).unwrap();
    assert_eq!(m.migrations(), from_dir.migrations());
    let names: Vec<(i64, &str)> = m
        .migrations()
        .iter()
        .map(|m| (m.version, &*m.name))
        .collect();
    assert_eq!(
        names,
        [
            (1, "create_users"),
            (2, "create_jobs"),
            (3, "create_accounts")
        ]
    );

    assert_eq!(m.up(&ctx.db).await.unwrap(), [1, 2, 3]);
    let db = &ctx.db;
    db.execute(
        "INSERT INTO users (name, email) VALUES ($1, $2)",
        ("ada", "ada@example.com"),
    )
    .await
    .unwrap();
    let user: (i64, String, i64) = db
        .fetch_one("SELECT id, name, version FROM users", ())
        .await
        .unwrap();
    assert_eq!(user, (1, "ada".into(), 0));
    let dup = db
        .execute(
            "INSERT INTO users (name, email) VALUES ($1, $2)",
            ("bob", "ada@example.com"),
        )
        .await
        .unwrap_err();
    assert!(dup.is_unique_violation(), "{dup:?}");
    db.execute("INSERT INTO jobs (payload) VALUES ($1)", ("{}",))
        .await
        .unwrap();
    let job: (String, i32) = db
        .fetch_one("SELECT status, attempts FROM jobs", ())
        .await
        .unwrap();
    assert_eq!(job, ("queued".into(), 0));
    db.execute(
        "INSERT INTO accounts (owner, balance) VALUES ($1, $2)",
        ("ada", 100_i64),
    )
    .await
    .unwrap();
    assert_eq!(count(db, "accounts").await, 1);

    assert_eq!(from_dir.up(db).await.unwrap(), Vec::<i64>::new());
    assert_eq!(m.down(db, 0).await.unwrap(), [3, 2, 1]);
    for table in ["users", "jobs", "accounts"] {
        assert!(!table_exists(&ctx, table).await, "{table} still exists");
    }
}
