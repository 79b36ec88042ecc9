//! Server outages, on private servers: a restart and a crash under a write load lose no
//! acknowledged write and write nothing twice, every failure is typed, the pool is back within
//! 2 s of the server and does not storm it with connects; a server that is down when the pool
//! is created fails calls fast and typed, and the first call after it is back succeeds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use weir::{ConnectErrorKind, Database, Error, Executor, RetryPolicy};

use crate::both_backends;
use crate::common::Ctx;
use crate::private::{assert_private_pool_healthy, Options, PrivateServer};
use crate::proxy::FaultProxy;

both_backends!(
    restart_under_write_load_loses_nothing,
    crash_under_write_load_loses_nothing,
    server_down_at_pool_creation_fails_fast_then_recovers,
);

/// Writers of the load.
const WRITERS: usize = 4;
/// The pool's size.
const POOL: usize = 4;

/// What one writer saw.
#[derive(Default)]
struct WriterLog {
    /// Tokens whose INSERT returned Ok.
    acked: Vec<String>,
    /// When each Ok call ended.
    oks: Vec<Instant>,
    /// Each failed call: when it ended, its variant, and its message.
    errors: Vec<(Instant, String, String)>,
}

/// The variant of an error, and whether it is one an outage may produce: a lost connection,
/// an unreachable server (refused or timed-out connect), or a call deadline.
fn variant(e: &Error) -> (String, bool) {
    match e {
        Error::ConnectionLost(_) => ("ConnectionLost".into(), true),
        Error::Unreachable { .. } => ("Unreachable".into(), true),
        Error::Connect { kind, .. } => (
            format!("Connect({kind:?})"),
            *kind == ConnectErrorKind::Network,
        ),
        Error::QueryTimeout { phase, .. } => (format!("QueryTimeout({phase:?})"), true),
        other => (format!("{other:?}"), false),
    }
}

/// One writer: autocommit INSERTs of unique tokens until told to stop, the next one as soon
/// as the last one returned, failed or not: a client with no backoff of its own, so that
/// whatever paces the connects in an outage is weir's.
async fn writer(db: Database, id: usize, stop: Arc<AtomicBool>) -> WriterLog {
    let mut log = WriterLog::default();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let token = format!("w{id}-{n}");
        n += 1;
        let r = db
            .execute("INSERT INTO writes (token) VALUES ($1)", (token.as_str(),))
            .await;
        let at = Instant::now();
        match r {
            Ok(1) => {
                log.acked.push(token);
                log.oks.push(at);
            }
            Ok(rows) => panic!("INSERT of {token} affected {rows} rows"),
            Err(e) => {
                log.errors.push((at, variant(&e).0, e.to_string()));
                // Lets the other tasks of this runtime run; no pause.
                tokio::task::yield_now().await;
            }
        }
    }
    log
}

/// Polls the server's own port (not the proxy's) until it refuses and then accepts again;
/// returns when it accepted again.
async fn port_back(addr: SocketAddr) -> Instant {
    let mut was_down = false;
    loop {
        let up = matches!(
            tokio::time::timeout(
                Duration::from_millis(200),
                tokio::net::TcpStream::connect(addr)
            )
            .await,
            Ok(Ok(_))
        );
        if !up {
            was_down = true;
        } else if was_down {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Clone, Copy, Debug)]
enum Outage {
    Restart,
    Crash,
}

async fn restart_under_write_load_loses_nothing(ctx: Ctx) {
    write_load_through(ctx, Outage::Restart).await;
}

async fn crash_under_write_load_loses_nothing(ctx: Ctx) {
    write_load_through(ctx, Outage::Crash).await;
}

/// A restart (`pg_ctl restart -m fast`, MariaDB's normal shutdown and a start) or a crash
/// (`pg_ctl stop -m immediate`, `kill -9` of mariadbd; started again 500 ms later) while four
/// writers insert unique tokens through a pool of four: every acknowledged token is in the
/// table, none is there twice, every failure is a lost connection, an unreachable server or a
/// deadline, the first call succeeds within 2 s of the server's port accepting again, the
/// connections opened through the proxy stay within what the retry policy allows, and the
/// pool passes the health check.
async fn write_load_through(ctx: Ctx, outage: Outage) {
    let Some(mut server) = PrivateServer::start(ctx.backend, Options::default()).await else {
        return;
    };
    let direct = Database::connect_with(server.config().with_max_size(1))
        .await
        .unwrap();
    // Not unique: a token written twice would show.
    direct
        .execute("CREATE TABLE writes (token VARCHAR(64) NOT NULL)", ())
        .await
        .unwrap();
    direct.close(Duration::from_secs(1)).await;

    let proxy = FaultProxy::start(server.addr()).await;
    let policy = RetryPolicy::default();
    let db = Database::connect_with(
        server
            .config()
            .with_port(proxy.addr.port())
            .with_max_size(POOL)
            .with_connect_timeout(Duration::from_secs(1))
            .with_acquire_timeout(Duration::from_secs(2))
            .with_statement_timeout(Some(Duration::from_secs(3)))
            .with_retry(policy),
    )
    .await
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| tokio::spawn(writer(db.clone(), id, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let back = tokio::spawn(port_back(server.addr()));
    let accepted_before = proxy.accepted();
    let outage_started = Instant::now();
    match outage {
        Outage::Restart => server.restart().await,
        Outage::Crash => {
            server.crash().await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            server.start_again().await;
        }
    }
    let back_at = tokio::time::timeout(Duration::from_secs(10), back)
        .await
        .expect("the server's port never refused and accepted again")
        .unwrap();
    // Let every writer succeed again, then a little more.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let accepted_in_window = proxy.accepted() - accepted_before;
    let window = outage_started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for w in writers {
        logs.push(w.await.unwrap());
    }

    // Zero acknowledged writes lost, zero written twice.
    let check = Database::connect_with(server.config().with_max_size(1))
        .await
        .unwrap();
    let rows: Vec<(String, i64)> = check
        .fetch_all("SELECT token, COUNT(*) FROM writes GROUP BY token", ())
        .await
        .unwrap();
    check.close(Duration::from_secs(1)).await;
    let in_table: HashMap<String, i64> = rows.into_iter().collect();
    let twice: Vec<_> = in_table.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "written twice: {twice:?}");
    let acked: Vec<&String> = logs.iter().flat_map(|l| &l.acked).collect();
    let lost: Vec<_> = acked
        .iter()
        .filter(|t| !in_table.contains_key(**t))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );

    // Every failure typed as an outage.
    let mut variants: HashMap<String, usize> = HashMap::new();
    for (_, v, _) in logs.iter().flat_map(|l| &l.errors) {
        *variants.entry(v.clone()).or_default() += 1;
    }
    let untyped: Vec<_> = logs
        .iter()
        .flat_map(|l| &l.errors)
        .filter(|(_, v, _)| !variant_allowed(v))
        .collect();
    assert!(
        untyped.is_empty(),
        "failures outside the outage variants: {variants:?}, e.g. {:?}",
        untyped[0]
    );
    // The outage was real: the port refused (`port_back`) and the pool had to reconnect.
    // Calls may all have succeeded: a connect refused while the server is down or starting up
    // is retried within the call.
    assert!(
        proxy.accepted() > accepted_before,
        "the pool never reconnected"
    );

    // Recovery within 2 s of the port accepting again.
    let first_ok = logs
        .iter()
        .flat_map(|l| &l.oks)
        .filter(|t| **t > back_at)
        .min()
        .copied()
        .expect("no call succeeded after the server came back");
    let recovery = first_ok - back_at;
    assert!(
        recovery < Duration::from_secs(2),
        "first success {recovery:?} after the port accepted"
    );
    for (i, l) in logs.iter().enumerate() {
        assert!(
            l.oks.iter().any(|t| *t > back_at),
            "writer {i} never succeeded after the server came back"
        );
    }

    // No reconnect storm: see `storm_bound`.
    let failed_calls: usize = logs.iter().map(|l| l.errors.len()).sum();
    let failing = logs
        .iter()
        .flat_map(|l| &l.errors)
        .map(|(at, _, _)| *at - outage_started)
        .max()
        .unwrap_or_default();
    let bound = storm_bound(policy, failing);
    assert!(
        accepted_in_window <= bound,
        "{accepted_in_window} connections through the proxy in {window:?}, failing for {failing:?} \
         ({failed_calls} failed calls; bound {bound})"
    );

    eprintln!(
        "{} {outage:?}: {} acknowledged, {} in table, {} not acknowledged but written; failures {variants:?}; \
         port back {:?} after the outage began, first success {recovery:?} after that; \
         {accepted_in_window} connects through the proxy in {window:?}, calls failing for {failing:?} \
         ({failed_calls} failed calls, bound {bound})",
        ctx.backend,
        acked.len(),
        in_table.len(),
        in_table.len() - acked.len(),
        back_at - outage_started,
    );

    assert_private_pool_healthy(&server, &db, POOL).await;
    db.close(Duration::from_secs(1)).await;
}

fn variant_allowed(v: &str) -> bool {
    matches!(v, "ConnectionLost" | "Unreachable" | "Connect(Network)")
        || v.starts_with("QueryTimeout(")
}

/// The most connections the pool may open while calls fail for `failing`, from the retry
/// policy: weir opens connections only for calls (none in the background with `min_idle` 0);
/// a call makes at most `max_attempts` connects, with a jittered backoff between them whose
/// expected sum is half the caps, (20 + 40 + 80 + 160) / 2 = 150 ms with the defaults. Each
/// writer thus runs at most `max_attempts` connects per such cycle; the bound counts a cycle as
/// a third of its expectation (a writer whose cycles are that short over a whole outage is
/// vanishingly unlikely: over 5 cycles, 4.4 standard deviations below the mean), plus one
/// cycle per writer and one connect per slot to refill the pool. Connects that are not backed
/// off (an error not retried, so the writer calls again at once) run far past it.
fn storm_bound(policy: RetryPolicy, failing: Duration) -> usize {
    let expected_backoff: Duration = (1..policy.max_attempts)
        .map(|k| {
            policy
                .initial_backoff
                .saturating_mul(1 << (k - 1))
                .min(policy.max_backoff)
                / 2
        })
        .sum();
    let cycle = expected_backoff / 3;
    let cycles = (failing.as_secs_f64() / cycle.as_secs_f64()).ceil() as usize + 1;
    POOL + WRITERS * policy.max_attempts as usize * cycles
}

/// The pool created while the server is down: `connect_with` fails at once with a typed
/// connect error, a lazily created pool fails each call typed and well within its deadline,
/// and once the server accepts again the very next call succeeds.
async fn server_down_at_pool_creation_fails_fast_then_recovers(ctx: Ctx) {
    let Some(mut server) = PrivateServer::start(ctx.backend, Options::default()).await else {
        return;
    };
    server.stop().await;
    let config = server
        .config()
        .with_connect_timeout(Duration::from_secs(2))
        .with_acquire_timeout(Duration::from_secs(5));

    let started = Instant::now();
    let err = Database::connect_with(config.clone()).await.unwrap_err();
    let took = started.elapsed();
    assert!(err.is_unreachable(), "{err:?}");
    assert!(
        took < Duration::from_millis(500),
        "connect_with took {took:?}"
    );

    let db = Database::connect_lazy_with(config).unwrap();
    let deadline = Duration::from_secs(5);
    for _ in 0..3 {
        let started = Instant::now();
        let err = db
            .with_timeout(deadline)
            .fetch_scalar::<i64, _>("SELECT 1", ())
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert!(err.is_unreachable(), "{err:?}");
        // The retry policy's backoff (at most 20+40+80+160 ms) and four refused connects.
        assert!(
            took < Duration::from_secs(1),
            "a call took {took:?} of its {deadline:?}"
        );
    }

    server.start_again().await;
    let back = Instant::now();
    let one: i64 = db
        .with_timeout(deadline)
        .fetch_scalar("SELECT 1", ())
        .await
        .unwrap();
    assert_eq!(one, 1);
    eprintln!(
        "{}: connect_with failed in {took:?}; first call after the server answered took {:?}",
        ctx.backend,
        back.elapsed()
    );
    assert_private_pool_healthy(&server, &db, 4).await;
    db.close(Duration::from_secs(1)).await;
}
