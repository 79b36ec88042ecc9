//! Shared test harness: a fresh database per test, on each backend.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use weir::testing::TestDatabase;
use weir::{Backend, Database, DatabaseConfig, Executor};

/// What a test body gets: a pool on its own database, and how to open more.
pub struct Ctx {
    pub db: Database,
    pub backend: Backend,
    pub config: DatabaseConfig,
}

impl Ctx {
    /// Picks the SQL for this backend.
    pub fn sql<'a>(&self, pg: &'a str, my: &'a str) -> &'a str {
        match self.backend {
            Backend::Postgres => pg,
            Backend::MySql => my,
        }
    }

    /// A second pool on the same database, with changed settings.
    pub async fn pool(&self, f: impl FnOnce(DatabaseConfig) -> DatabaseConfig) -> Database {
        Database::connect_with(f(self.config.clone()))
            .await
            .unwrap()
    }

    /// Statements of this test's database that are running right now, seen from the server.
    pub async fn running(&self, needle: &str) -> i64 {
        let admin = Database::connect_with(self.config.clone().with_max_size(1))
            .await
            .unwrap();
        let n = match self.backend {
            Backend::Postgres => admin
                .fetch_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
                    (format!("%{needle}%"),),
                )
                .await
                .unwrap(),
            Backend::MySql => admin
                .fetch_scalar(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND INFO LIKE $1 AND ID <> CONNECTION_ID()",
                    (format!("%{needle}%"),),
                )
                .await
                .unwrap(),
        };
        admin.close(Duration::from_secs(1)).await;
        n
    }

    /// Open transactions on this test's database other than the caller's, seen from the server.
    pub async fn open_transactions(&self) -> i64 {
        let admin = Database::connect_with(self.config.clone().with_max_size(1))
            .await
            .unwrap();
        let n = match self.backend {
            Backend::Postgres => admin
                .fetch_scalar(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                    (),
                )
                .await
                .unwrap(),
            Backend::MySql => {
                let in_trx = innodb_trx_threads(&admin).await;
                let ours: Vec<(i64,)> = admin
                    .fetch_all(
                        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                         WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
                        (),
                    )
                    .await
                    .unwrap();
                ours.iter().filter(|(id,)| in_trx.contains(id)).count() as i64
            }
        };
        admin.close(Duration::from_secs(1)).await;
        n
    }
}

/// Thread ids of the MySQL/MariaDB sessions inside an InnoDB transaction, from
/// `SHOW ENGINE INNODB STATUS`. Not from `information_schema.INNODB_TRX`: MariaDB serves that
/// table from a cache it refreshes only after 100 ms without readers, so tests polling it in
/// parallel kept it seconds stale (a panicked transaction, long rolled back, still listed).
pub async fn innodb_trx_threads(admin: &Database) -> Vec<i64> {
    let (_, _, status): (String, String, String) = admin
        .fetch_one("SHOW ENGINE INNODB STATUS", ())
        .await
        .unwrap();
    let mut threads = Vec::new();
    let mut active = false;
    for line in status.lines() {
        if line.starts_with("---TRANSACTION ") {
            active = line.contains(", ACTIVE");
        } else if let Some(rest) = line.strip_prefix("MySQL thread id ") {
            if active {
                if let Some(id) = rest.split(',').next().and_then(|s| s.trim().parse().ok()) {
                    threads.push(id);
                }
            }
            active = false;
        }
    }
    threads
}

/// Polls `check` until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Runs `body` on a fresh database of `backend`, then drops the database, even if it panicked.
pub async fn run<F, Fut>(backend: Backend, name: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let tdb = match TestDatabase::create(backend, name).await {
        Ok(t) => t,
        Err(e) if in_ci() => panic!("CI=true and no {backend} server: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {name} on {backend}: {e}");
            return;
        }
    };
    let ctx = Ctx {
        db: tdb.db().clone(),
        backend,
        config: tdb.config(),
    };
    let outcome = AssertUnwindSafe(body(ctx)).catch_unwind().await;
    if let Err(e) = tdb.cleanup().await {
        eprintln!("could not drop test database: {e}");
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each listed `async fn name(ctx: Ctx)` as two tests: `name::postgres` and
/// `name::mysql`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run(weir::Backend::Postgres, concat!(module_path!(), "_pg"), super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                $crate::common::run(weir::Backend::MySql, concat!(module_path!(), "_my"), super::$name).await
            }
        }
    )*};
}
