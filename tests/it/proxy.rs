//! A fault-injecting TCP proxy on 127.0.0.1:0 in front of a real server, and what weir does
//! when the network misbehaves: typed errors within the deadline, no partial result reported as
//! success, byte-identical results through 1-byte fragmentation.
//!
//! The proxy is controlled while it runs. [`FaultProxy::set`] changes the faults of every
//! connection (optionally only those accepted from [`Faults::first_conn`] on);
//! [`FaultProxy::set_conn`] overrides them for one connection, by its accept index (0, 1, ...).
//! Faults act per direction ([`Dir::Up`] client to server, [`Dir::Down`] server to client):
//! blackhole, 1-byte fragmentation, latency with seeded jitter, and a cut (RST or FIN) after a
//! number of bytes. [`FaultProxy::arm`] cuts every open connection at its next byte in one
//! direction: armed right before a COMMIT, it hits exactly that COMMIT.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use weir::{Database, Error, Executor};

use crate::both_backends;
use crate::common::{eventually, Ctx};

/// A direction of traffic through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// How a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cut {
    /// Both sockets closed with a reset (RST), as a crashed middlebox or host would.
    #[default]
    Reset,
    /// Both sockets closed in order (FIN), as a proxy or server that hangs up would.
    Close,
}

/// Faults of one direction.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// Forward nothing in this direction, keep the sockets open.
    pub blackhole: bool,
    /// Write this direction one byte at a time.
    pub fragment: bool,
    /// Forward at most this many bytes in this direction (counted per connection from its
    /// start), then cut the connection.
    pub cut_after: Option<u64>,
    /// How the connection is cut when `cut_after` is reached.
    pub cut: Cut,
}

/// What the proxy does to traffic, changeable while it runs.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Forward nothing in either direction, keep every socket open.
    pub blackhole: bool,
    /// Write one byte at a time, both directions.
    pub fragment: bool,
    /// Close new connections at once, with a reset.
    pub refuse: bool,
    /// Accept new connections and never connect them upstream.
    pub hang: bool,
    /// Delay before forwarding each read.
    pub latency: Duration,
    /// Up to this much more delay per read, drawn from the proxy's seeded generator.
    pub jitter: Duration,
    /// Client-to-server faults.
    pub up: Side,
    /// Server-to-client faults.
    pub down: Side,
    /// These faults apply to connections accepted with this index or later; earlier ones
    /// pass traffic untouched (unless overridden with `set_conn`).
    pub first_conn: usize,
}

impl Faults {
    fn side(&self, dir: Dir) -> &Side {
        match dir {
            Dir::Up => &self.up,
            Dir::Down => &self.down,
        }
    }

    fn side_mut(&mut self, dir: Dir) -> &mut Side {
        match dir {
            Dir::Up => &mut self.up,
            Dir::Down => &mut self.down,
        }
    }
}

/// No kill pending; reset; close.
const ALIVE: u8 = 0;
const KILL_RESET: u8 = 1;
const KILL_CLOSE: u8 = 2;

/// One accepted connection.
struct Link {
    index: usize,
    up: AtomicU64,
    down: AtomicU64,
    kill: AtomicU8,
    killed: Notify,
    open: std::sync::atomic::AtomicBool,
}

impl Link {
    fn bytes(&self, dir: Dir) -> &AtomicU64 {
        match dir {
            Dir::Up => &self.up,
            Dir::Down => &self.down,
        }
    }

    fn kill(&self, how: u8) {
        let _ = self
            .kill
            .compare_exchange(ALIVE, how, Ordering::SeqCst, Ordering::SeqCst);
        self.killed.notify_waiters();
        self.killed.notify_one();
    }
}

struct State {
    seed: u64,
    faults: Mutex<Faults>,
    per_conn: Mutex<HashMap<usize, Faults>>,
    links: Mutex<Vec<Arc<Link>>>,
    accepted: AtomicUsize,
    open: AtomicUsize,
    bytes: AtomicU64,
    up: AtomicU64,
    down: AtomicU64,
}

impl State {
    /// The faults in force for connection `index` now.
    fn faults_for(&self, index: usize) -> Faults {
        if let Some(f) = self.per_conn.lock().unwrap().get(&index) {
            return f.clone();
        }
        let f = self.faults.lock().unwrap();
        if index >= f.first_conn {
            f.clone()
        } else {
            Faults::default()
        }
    }
}

/// The proxy; dropped, it stops accepting and resets every open connection.
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
    /// A proxy to `upstream` with the default jitter seed.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        FaultProxy::start_seeded(upstream, 0x5eed).await
    }

    /// A proxy whose jitter is drawn from `seed`: each connection and direction gets its own
    /// generator, derived from the seed and the connection's index, so a run repeats.
    pub async fn start_seeded(upstream: SocketAddr, seed: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            seed,
            faults: Mutex::default(),
            per_conn: Mutex::default(),
            links: Mutex::default(),
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, upstream, state.clone()));
        FaultProxy {
            addr,
            state,
            accept,
        }
    }

    /// Changes the faults of every connection not overridden with `set_conn`.
    pub fn set(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.state.faults.lock().unwrap());
    }

    /// Changes the faults of connection `index` alone (starting from the faults it has now).
    pub fn set_conn(&self, index: usize, f: impl FnOnce(&mut Faults)) {
        let mut current = self.state.faults_for(index);
        f(&mut current);
        self.state.per_conn.lock().unwrap().insert(index, current);
    }

    /// Cuts every open connection at its next byte in direction `dir`.
    pub fn arm(&self, dir: Dir, cut: Cut) {
        self.cut_after_more(dir, 0, cut);
    }

    /// Cuts every open connection once `more` further bytes went through in direction `dir`.
    pub fn cut_after_more(&self, dir: Dir, more: u64, cut: Cut) {
        for link in self.links() {
            let sent = link.bytes(dir).load(Ordering::SeqCst);
            self.set_conn(link.index, |f| {
                let side = f.side_mut(dir);
                side.cut_after = Some(sent + more);
                side.cut = cut;
            });
        }
    }

    fn links(&self) -> Vec<Arc<Link>> {
        self.state
            .links
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.open.load(Ordering::SeqCst))
            .cloned()
            .collect()
    }

    /// Resets (RST) every open connection.
    pub fn reset_all(&self) {
        for link in self.links() {
            link.kill(KILL_RESET);
        }
    }

    /// Closes (FIN) every open connection.
    pub fn close_all(&self) {
        for link in self.links() {
            link.kill(KILL_CLOSE);
        }
    }

    /// Connections accepted so far; the next one gets this index.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Bytes forwarded so far, both directions.
    pub fn bytes(&self) -> u64 {
        self.state.bytes.load(Ordering::SeqCst)
    }

    /// Bytes forwarded so far in direction `dir`, all connections.
    pub fn bytes_dir(&self, dir: Dir) -> u64 {
        match dir {
            Dir::Up => self.state.up.load(Ordering::SeqCst),
            Dir::Down => self.state.down.load(Ordering::SeqCst),
        }
    }

    /// Bytes forwarded so far in direction `dir` on connection `index`.
    pub fn conn_bytes(&self, index: usize, dir: Dir) -> u64 {
        self.state
            .links
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.index == index)
            .map_or(0, |l| l.bytes(dir).load(Ordering::SeqCst))
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, state: Arc<State>) {
    while let Ok((client, _)) = listener.accept().await {
        let index = state.accepted.fetch_add(1, Ordering::SeqCst);
        let faults = state.faults_for(index);
        if faults.refuse {
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        let link = Arc::new(Link {
            index,
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            kill: AtomicU8::new(ALIVE),
            killed: Notify::new(),
            open: std::sync::atomic::AtomicBool::new(true),
        });
        state.links.lock().unwrap().push(link.clone());
        state.open.fetch_add(1, Ordering::SeqCst);
        let state = state.clone();
        tokio::spawn(async move {
            if faults.hang {
                while link.kill.load(Ordering::SeqCst) == ALIVE {
                    link.killed.notified().await;
                }
                if link.kill.load(Ordering::SeqCst) == KILL_RESET {
                    let _ = client.set_zero_linger();
                }
            } else if let Ok(server) = TcpStream::connect(upstream).await {
                relay(client, server, &state, &link).await;
            } else {
                let _ = client.set_zero_linger();
            }
            link.open.store(false, Ordering::SeqCst);
            state.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// How one direction's pump ended.
enum End {
    /// EOF or an error on a socket: close the other side in order.
    Eof,
    /// A cut or a kill.
    Cut(Cut),
}

async fn relay(client: TcpStream, server: TcpStream, state: &State, link: &Link) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let end = {
        let up = pump(&mut cr, &mut sw, state, link, Dir::Up);
        let down = pump(&mut sr, &mut cw, state, link, Dir::Down);
        tokio::select! {
            e = up => e,
            e = down => e,
        }
    };
    if let (Ok(c), Ok(s)) = (cr.reunite(cw), sr.reunite(sw)) {
        match end {
            End::Cut(Cut::Reset) => {
                let _ = c.set_zero_linger();
                let _ = s.set_zero_linger();
            }
            End::Cut(Cut::Close) | End::Eof => {
                let (mut c, mut s) = (c, s);
                let _ = c.shutdown().await;
                let _ = s.shutdown().await;
            }
        }
    }
}

/// splitmix64: a small seeded generator for the jitter.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn killed(link: &Link) -> Option<End> {
    match link.kill.load(Ordering::SeqCst) {
        ALIVE => None,
        KILL_CLOSE => Some(End::Cut(Cut::Close)),
        _ => Some(End::Cut(Cut::Reset)),
    }
}

/// Copies one direction until EOF, an error, a cut or a kill.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    state: &State,
    link: &Link,
    dir: Dir,
) -> End {
    let mut rng = state.seed ^ ((link.index as u64) << 1 | (dir == Dir::Down) as u64);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if let Some(end) = killed(link) {
            return end;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return End::Eof,
                Ok(n) => n,
            },
            _ = link.killed.notified() => continue,
        };
        // Wait out a blackhole, holding the chunk (so the sender sees backpressure).
        let faults = loop {
            if let Some(end) = killed(link) {
                return end;
            }
            let faults = state.faults_for(link.index);
            if !faults.blackhole && !faults.side(dir).blackhole {
                break faults;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                _ = link.killed.notified() => {}
            }
        };
        let side = faults.side(dir);
        let mut delay = faults.latency;
        if !faults.jitter.is_zero() {
            let extra = next_random(&mut rng) % (faults.jitter.as_micros() as u64 + 1);
            delay += Duration::from_micros(extra);
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let sent = link.bytes(dir).load(Ordering::SeqCst);
        let (n, cut) = match side.cut_after {
            Some(limit) if sent + n as u64 >= limit => {
                (limit.saturating_sub(sent) as usize, Some(side.cut))
            }
            _ => (n, None),
        };
        let ok = if faults.fragment || side.fragment {
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
            n == 0 || to.write_all(&buf[..n]).await.is_ok()
        };
        if !ok {
            return End::Eof;
        }
        link.bytes(dir).fetch_add(n as u64, Ordering::SeqCst);
        state.bytes.fetch_add(n as u64, Ordering::SeqCst);
        match dir {
            Dir::Up => state.up.fetch_add(n as u64, Ordering::SeqCst),
            Dir::Down => state.down.fetch_add(n as u64, Ordering::SeqCst),
        };
        if let Some(cut) = cut {
            return End::Cut(cut);
        }
    }
}

both_backends!(
    one_byte_fragments_give_identical_results,
    blackholed_network_is_a_timeout_and_the_pool_recovers,
    reset_mid_stream_is_an_error_not_a_short_result,
    refused_and_hanging_connects_are_typed,
    jittery_latency_keeps_every_answer_with_its_caller,
);

pub fn upstream(ctx: &Ctx) -> SocketAddr {
    format!("{}:{}", ctx.config.host(), ctx.config.port())
        .parse()
        .unwrap()
}

pub async fn through(ctx: &Ctx, proxy: &FaultProxy, max: usize) -> Database {
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

/// Through 1 ms latency with up to 4 ms of seeded jitter per read, 64 concurrent calls on a
/// pool of 4 each get their own answer; the proxy counts bytes each way, and `close_all` ends
/// every connection it holds.
async fn jittery_latency_keeps_every_answer_with_its_caller(ctx: Ctx) {
    let proxy = FaultProxy::start_seeded(upstream(&ctx), 42).await;
    proxy.set(|f| {
        f.latency = Duration::from_millis(1);
        f.jitter = Duration::from_millis(4);
    });
    let db = through(&ctx, &proxy, 4).await;
    let calls = (0..64i64).map(|i| {
        let db = db.clone();
        async move {
            let v: i64 = db.fetch_scalar("SELECT $1 + 0", (i * 31,)).await.unwrap();
            assert_eq!(v, i * 31, "an answer went to the wrong caller");
        }
    });
    futures_util::future::join_all(calls).await;
    let (up, down) = (proxy.bytes_dir(Dir::Up), proxy.bytes_dir(Dir::Down));
    assert!(up > 0 && down > 0);
    assert_eq!(up + down, proxy.bytes());
    assert!(proxy.open() >= 1);
    proxy.close_all();
    assert!(eventually(Duration::from_secs(2), || async { proxy.open() == 0 }).await);
}
