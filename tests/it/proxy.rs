//! A fault-injecting TCP proxy on 127.0.0.1:0 in front of a real server, and what weir does
//! when the network misbehaves: typed errors within the deadline, no partial result reported as
//! success, byte-identical results through 1-byte fragmentation.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use weir::{Database, Error, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};

/// What the proxy does to traffic, changeable while it runs.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Forward nothing, keep every socket open.
    pub blackhole: bool,
    /// Write one byte at a time.
    pub fragment: bool,
    /// Close new connections at once, with a reset.
    pub refuse: bool,
    /// Accept new connections and never connect them upstream.
    pub hang: bool,
    /// Delay before forwarding each read.
    pub latency: Duration,
}

#[derive(Default)]
struct State {
    faults: Mutex<Faults>,
    /// Bumped by `reset_all`: every pump that sees a new value resets its connection.
    reset_generation: AtomicU64,
    reset: Notify,
    accepted: AtomicUsize,
    open: AtomicUsize,
    bytes: AtomicU64,
}

/// The proxy; dropped, it stops accepting (open connections end with their pumps).
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset_all();
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let accept = tokio::spawn(accept_loop(listener, upstream, state.clone()));
        FaultProxy {
            addr,
            state,
            accept,
        }
    }

    pub fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.state.faults.lock().unwrap());
    }

    /// Resets (RST) every open connection.
    pub fn reset_all(&self) {
        self.state.reset_generation.fetch_add(1, Ordering::SeqCst);
        self.state.reset.notify_waiters();
    }

    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    pub fn bytes(&self) -> u64 {
        self.state.bytes.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<State>) {
    while let Ok((client, _)) = listener.accept().await {
        state.accepted.fetch_add(1, Ordering::SeqCst);
        let faults = state.faults.lock().unwrap().clone();
        if faults.refuse {
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        let state = state.clone();
        tokio::spawn(async move {
            state.open.fetch_add(1, Ordering::SeqCst);
            if faults.hang {
                state.reset.notified().await;
            } else if let Ok(server) = TcpStream::connect(upstream).await {
                relay(client, server, &state).await;
            }
            state.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn relay(client: TcpStream, server: TcpStream, state: &State) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let generation = state.reset_generation.load(Ordering::SeqCst);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = pump(&mut cr, &mut sw, state, generation);
    let down = pump(&mut sr, &mut cw, state, generation);
    let reset = tokio::select! {
        r = up => r,
        r = down => r,
    };
    if reset {
        if let (Ok(c), Ok(s)) = (cr.reunite(cw), sr.reunite(sw)) {
            let _ = c.set_zero_linger();
            let _ = s.set_zero_linger();
        }
    }
}

/// Copies one direction until EOF, an error, or a reset (returns true for a reset).
async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    state: &State,
    generation: u64,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return false,
                Ok(n) => n,
            },
            _ = state.reset.notified() => return true,
        };
        loop {
            if state.reset_generation.load(Ordering::SeqCst) != generation {
                return true;
            }
            let faults = state.faults.lock().unwrap().clone();
            if !faults.blackhole {
                if !faults.latency.is_zero() {
                    tokio::time::sleep(faults.latency).await;
                }
                let ok = if faults.fragment {
                    let mut ok = true;
                    for byte in &buf[..n] {
                        if to.write_all(std::slice::from_ref(byte)).await.is_err() {
                            ok = false;
                            break;
                        }
                        let _ = to.flush().await;
                    }
                    ok
                } else {
                    to.write_all(&buf[..n]).await.is_ok()
                };
                if !ok {
                    return false;
                }
                state.bytes.fetch_add(n as u64, Ordering::SeqCst);
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                _ = state.reset.notified() => return true,
            }
        }
    }
}

both_backends!(
    one_byte_fragments_give_identical_results,
    blackholed_network_is_a_timeout_and_the_pool_recovers,
    reset_mid_stream_is_an_error_not_a_short_result,
    refused_and_hanging_connects_are_typed,
);

fn upstream(ctx: &Ctx) -> SocketAddr {
    format!("{}:{}", ctx.config.host(), ctx.config.port())
        .parse()
        .unwrap()
}

async fn through(ctx: &Ctx, proxy: &FaultProxy, max: usize) -> Database {
    Database::connect_with(
        ctx.config
            .clone()
            .with_host("127.0.0.1")
            .with_port(proxy.addr.port())
            .with_max_size(max)
            .with_connect_timeout(Duration::from_secs(2))
            .with_acquire_timeout(Duration::from_secs(3)),
    )
    .await
    .unwrap()
}

/// Through a proxy that writes one byte at a time (every protocol message split at every
/// byte), results are identical to a direct connection.
async fn one_byte_fragments_give_identical_results(ctx: Ctx) {
    crate::queries::create_users(&ctx).await;
    for i in 0..50i64 {
        ctx.db
            .execute(
                "INSERT INTO users (id, name, email) VALUES ($1, $2, $3)",
                (
                    i,
                    format!("name {i} ✓"),
                    (i % 3 == 0).then(|| format!("u{i}@x")),
                ),
            )
            .await
            .unwrap();
    }
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    proxy.set(|f| f.fragment = true);
    let db = through(&ctx, &proxy, 2).await;
    let sql = "SELECT id, name, email FROM users WHERE id >= $1 ORDER BY id";
    let direct: Vec<(i64, String, Option<String>)> = ctx.db.fetch_all(sql, (0,)).await.unwrap();
    let fragmented: Vec<(i64, String, Option<String>)> = db.fetch_all(sql, (0,)).await.unwrap();
    assert_eq!(direct, fragmented);
    assert!(proxy.bytes() > 1000);
    let tx = db.begin().await.unwrap();
    tx.execute("UPDATE users SET name = $1 WHERE id = 1", ("fragmented",))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let name: String = ctx
        .db
        .fetch_scalar("SELECT name FROM users WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!(name, "fragmented");
}

/// With the network blackholed, a call fails with a typed timeout within its deadline; once the
/// network is back, the pool serves correct results again.
async fn blackholed_network_is_a_timeout_and_the_pool_recovers(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    let db = through(&ctx, &proxy, 2).await;
    let one: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert_eq!(one, 1);
    proxy.set(|f| f.blackhole = true);
    let started = Instant::now();
    let err = db
        .with_timeout(Duration::from_millis(300))
        .fetch_scalar::<i64, _>("SELECT 2", ())
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    proxy.set(|f| f.blackhole = false);
    for i in 0..20i64 {
        let v: i64 = db.fetch_scalar("SELECT $1 + 0", (i,)).await.unwrap();
        assert_eq!(v, i, "stale result after the blackhole");
    }
}

/// A connection reset while rows stream in ends the stream with a connection-lost error; it
/// never looks like a shorter, successful result.
async fn reset_mid_stream_is_an_error_not_a_short_result(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    proxy.set(|f| f.latency = Duration::from_millis(2));
    let db = through(&ctx, &proxy, 2).await;
    const D: &str = "(SELECT 0 d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 \
                     UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
    let my = format!(
        "SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 0, REPEAT('x', 200) FROM {D} a, {D} b, {D} c, {D} e, {D} f"
    );
    let sql = ctx.sql(
        "SELECT g::int8, repeat('x', 200) FROM generate_series(1, 100000) g",
        &my,
    );
    let stream = db.fetch_stream::<(i64, String), _>(sql, ());
    let mut stream = Box::pin(stream);
    let mut rows = 0;
    let mut outcome = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => {
                rows += 1;
                if rows == 100 {
                    proxy.reset_all();
                }
            }
            Err(e) => {
                outcome = Some(e);
                break;
            }
        }
    }
    drop(stream);
    let err = outcome.unwrap_or_else(|| panic!("stream ended cleanly after {rows} rows"));
    assert!(matches!(err, Error::ConnectionLost(_)), "{err:?}");
    assert!(rows < 100_000);
    assert!(eventually(Duration::from_secs(2), || async { db.status().in_use == 0 }).await);
    let v: i64 = db.fetch_scalar("SELECT 7", ()).await.unwrap();
    assert_eq!(v, 7);
}

/// A proxy that refuses connections gives a fast typed connect error; one that accepts and
/// never answers gives Unreachable after the connect timeout, not a hang.
async fn refused_and_hanging_connects_are_typed(ctx: Ctx) {
    let proxy = FaultProxy::start(upstream(&ctx)).await;
    proxy.set(|f| f.refuse = true);
    let cfg = ctx
        .config
        .clone()
        .with_host("127.0.0.1")
        .with_port(proxy.addr.port())
        .with_connect_timeout(Duration::from_millis(400))
        .with_retry(weir::RetryPolicy::never());
    let started = Instant::now();
    let err = Database::connect_with(cfg.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    proxy.set(|f| {
        f.refuse = false;
        f.hang = true;
    });
    let started = Instant::now();
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(proxy.accepted() >= 2);
    proxy.reset_all();
    assert!(eventually(Duration::from_secs(2), || async { proxy.open() == 0 }).await);
}
