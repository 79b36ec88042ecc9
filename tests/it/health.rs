//! The pool health check run after every fault: every connection can be taken at once, each
//! answers a nonce of its own, the server shows each idle and outside any transaction, and the
//! server never held more of the pool's connections than its maximum.
//!
//! The server knows nothing of pools, so a [`Watched`] pool records the server-side id of each
//! connection it opens (an `after_connect` hook); a sampler task counts, every 20 ms, how many
//! of those ids the server still lists, and keeps the peak.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use weir::{Backend, Database, DatabaseConfig, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};

both_backends!(fresh_pool_is_healthy);

/// A pool whose connections are known by their server-side ids, sampled in the background.
pub struct Watched {
    pub db: Database,
    pub max: usize,
    ids: Arc<Mutex<HashSet<i64>>>,
    admin: Database,
    backend: Backend,
    peak: Arc<AtomicUsize>,
    samples: Arc<AtomicUsize>,
    sampler: tokio::task::JoinHandle<()>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.sampler.abort();
    }
}

/// `pg_backend_pid()` / `CONNECTION_ID()`, as BIGINT.
pub fn id_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "SELECT pg_backend_pid()::int8",
        Backend::MySql => "SELECT CONNECTION_ID() + 0",
    }
}

/// A connection as the server sees it: id, state, open InnoDB transactions.
type ServerRow = (i64, String, i64);

/// Every session on the admin pool's database (the test's), as the server lists them.
async fn server_sessions(admin: &Database, backend: Backend) -> Vec<ServerRow> {
    let sql = match backend {
        Backend::Postgres => {
            "SELECT pid::int8, COALESCE(state, ''), 0::int8 FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        Backend::MySql => {
            let in_trx = crate::common::innodb_trx_threads(admin).await;
            let rows: Vec<(i64, String)> = admin
                .fetch_all(
                    "SELECT CAST(p.ID AS SIGNED), p.COMMAND FROM information_schema.PROCESSLIST p \
                     WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID()",
                    (),
                )
                .await
                .unwrap();
            return rows
                .into_iter()
                .map(|(id, command)| (id, command, i64::from(in_trx.contains(&id))))
                .collect();
        }
    };
    admin.fetch_all(sql, ()).await.unwrap()
}

/// A pool on the test's database built by `f`, watched from the server. The `after_connect`
/// hook that records ids replaces any hook `f` set.
pub async fn watch(ctx: &Ctx, f: impl FnOnce(DatabaseConfig) -> DatabaseConfig) -> Watched {
    let ids = Arc::new(Mutex::new(HashSet::new()));
    let recorded = ids.clone();
    let backend = ctx.backend;
    let cfg = f(ctx.config.clone()).after_connect(move |s| {
        let recorded = recorded.clone();
        Box::pin(async move {
            let rows: Vec<(i64,)> = s.fetch_all(id_sql(backend), ()).await?;
            recorded
                .lock()
                .unwrap()
                .extend(rows.into_iter().map(|(id,)| id));
            Ok(())
        })
    });
    let max = cfg.max_size();
    let db = Database::connect_with(cfg).await.unwrap();
    let admin = Database::connect_with(ctx.config.clone().with_max_size(1))
        .await
        .unwrap();
    let (peak, samples) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let sampler = {
        let (admin, ids, peak, samples) =
            (admin.clone(), ids.clone(), peak.clone(), samples.clone());
        tokio::spawn(async move {
            loop {
                let n = live_count(&admin, backend, &ids).await;
                peak.fetch_max(n, Ordering::SeqCst);
                samples.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    Watched {
        db,
        max,
        ids,
        admin,
        backend,
        peak,
        samples,
        sampler,
    }
}

/// How many of the pool's connections the server lists now.
async fn live_count(admin: &Database, backend: Backend, ids: &Mutex<HashSet<i64>>) -> usize {
    let rows = server_sessions(admin, backend).await;
    let ids = ids.lock().unwrap();
    rows.iter().filter(|(id, _, _)| ids.contains(id)).count()
}

impl Watched {
    /// Takes one sample now through `admin` (a connection of the caller's, so as not to wait
    /// behind the background sampler's), for a test that wants to look more often than every
    /// 20 ms; returns how many of the pool's sessions the server lists.
    pub async fn sample_now(&self, admin: &Database) -> usize {
        // Only the ids: the full look (transactions from InnoDB's status on MySQL) is too slow
        // to sample often.
        let sql = match self.backend {
            Backend::Postgres => {
                "SELECT pid::int8 FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()"
            }
            Backend::MySql => {
                "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
            }
        };
        let rows: Vec<(i64,)> = admin.fetch_all(sql, ()).await.unwrap();
        let n = {
            let ids = self.ids.lock().unwrap();
            rows.iter().filter(|(id,)| ids.contains(id)).count()
        };
        self.peak.fetch_max(n, Ordering::SeqCst);
        self.samples.fetch_add(1, Ordering::Relaxed);
        n
    }

    /// The most connections of this pool the server listed at once, so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Connections this pool has opened so far.
    /// Stops counting session `id` as the pool's: the test killed it on the server, which
    /// tears it down on its own time (MariaDB lists it as `Killed` meanwhile); the pool gave
    /// it up when the kill reached it. Sessions whose statement weir cancelled still count.
    pub fn forget(&self, id: i64) {
        self.ids.lock().unwrap().remove(&id);
    }

    pub fn opened(&self) -> usize {
        self.ids.lock().unwrap().len()
    }

    /// Server samples taken so far.
    pub fn samples(&self) -> usize {
        self.samples.load(Ordering::Relaxed)
    }
}

static NONCE: AtomicI64 = AtomicI64::new(1_000_003);

/// Asserts the pool is healthy; see the module docs. Waits up to 5 s for work still being
/// cleaned up (a rollback of an abandoned transaction) to finish first.
pub async fn assert_pool_healthy(ctx: &Ctx, pool: &Watched) {
    let (db, max) = (&pool.db, pool.max);
    let quiet = || {
        let s = db.status();
        let lanes_idle = db
            .stats()
            .lanes
            .iter()
            .all(|l| l.in_flight == 0 && l.waiting == 0);
        s.in_use == 0 && s.waiting == 0 && lanes_idle
    };
    assert!(
        eventually(Duration::from_secs(5), || async { quiet() }).await,
        "leaked connection or permit: {:?} {:?}",
        db.status(),
        db.stats()
    );
    let held = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::join_all((0..max).map(|_| db.acquire())),
    )
    .await
    .expect("could not take every connection of the pool at once");
    let held: Vec<_> = held
        .into_iter()
        .map(|c| c.expect("taking every connection at once"))
        .collect();
    assert_eq!(db.status().in_use, max);
    let sql = match ctx.backend {
        Backend::Postgres => "SELECT $1::int8 + 0, pg_backend_pid()::int8",
        Backend::MySql => "SELECT $1 + 0, CONNECTION_ID() + 0",
    };
    let answers = futures_util::future::join_all(held.iter().map(|c| async move {
        let nonce = NONCE.fetch_add(7919, Ordering::Relaxed);
        let (got, id): (i64, i64) = c.fetch_one(sql, (nonce,)).await.unwrap();
        assert_eq!(
            got, nonce,
            "stale result: a connection answered another query"
        );
        id
    }))
    .await;
    let mine: HashSet<i64> = answers.into_iter().collect();
    assert_eq!(mine.len(), max, "two leases on one session");
    {
        let ids = pool.ids.lock().unwrap();
        assert!(mine.iter().all(|id| ids.contains(id)), "unknown session");
    }
    // The server lists exactly the held sessions of this pool, each idle outside any
    // transaction: nothing the pool let go of is still open there.
    let started = std::time::Instant::now();
    let (settled, last) = loop {
        let rows = server_sessions(&pool.admin, pool.backend).await;
        let ids = pool.ids.lock().unwrap().clone();
        let last: Vec<ServerRow> = rows.into_iter().filter(|r| ids.contains(&r.0)).collect();
        let ok = last.len() == max
            && last.iter().all(|(id, state, trx)| {
                mine.contains(id)
                    && match pool.backend {
                        Backend::Postgres => state == "idle",
                        Backend::MySql => state == "Sleep" && *trx == 0,
                    }
            });
        if ok || started.elapsed() > Duration::from_secs(5) {
            break (ok, last);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        settled,
        "server view of the pool's sessions {last:?}, held {mine:?}"
    );
    let peak = pool.peak().max(last.len());
    assert!(
        peak <= max,
        "the server held {peak} connections of a pool of {max}"
    );
    drop(held);
}

/// A fresh pool passes the check, twice in a row, and the check takes every connection.
async fn fresh_pool_is_healthy(ctx: Ctx) {
    let pool = watch(&ctx, |c| c.with_max_size(3)).await;
    assert_pool_healthy(&ctx, &pool).await;
    assert_pool_healthy(&ctx, &pool).await;
    assert_eq!(pool.opened(), 3);
    assert!(pool.samples() > 0);
    assert_eq!(pool.db.status().idle, 3);
}
