//! weir against the drivers it wraps and against sqlx, on the local PostgreSQL and MariaDB.
//!
//! ```sh
//! cargo run --release -p weir-bench --bin bench -- [--backend postgres|mysql|both] [--quick]
//!     [--svg PATH] [--out PATH] [--rounds N] [--secs S]
//! ```
//!
//! Every workload runs for every client in the same process, interleaved (round 1 in order,
//! round 2 in reverse, ...), and each figure is the median over rounds. The run prints a
//! markdown table, one `ratio weir/<peer> <workload> <backend>: <x.xx>` line per peer and
//! workload (throughput ratio: above 1 is weir ahead), and the issue's targets. See
//! BENCHMARKS.md for what each workload does and the latest figures.
//!
//! - W1: point select by primary key, random ids, closed loop at 1, 16 and 64 callers.
//! - W2: stream 1,000,000 rows (bigint, int, double, varchar(32)) into structs; peak RSS.
//! - W3: pool checkout and return, no query, 64 callers on a pool of 16.
//! - W4: single-row autocommit inserts (16 callers); a 100,000-row bulk load.
//! - W5: W1 at 16 and 64 callers through weir with flow control set (statement timeout, a lane
//!   limit, a global in-flight limit) against weir without: what flow control costs.
//!
//! `--quick` (the CI smoke test, debug build) runs everything small and short.

mod clients;
mod measure;
mod report;
mod setup;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clients::{Backend, Item, Peer};
use measure::{closed_loop, median, once, percentile_ms, Run};
use report::Result as Row;
use setup::Admin;

/// Rows in `users`; W1 picks ids uniformly in 1..=USERS.
const USERS: u64 = 100_000;

struct Settings {
    quick: bool,
    rounds: usize,
    /// One W1 / W4-single round, per client.
    secs: Duration,
    /// One W3 round, per client.
    w3_secs: Duration,
    warmup: Duration,
    stream_rows: u64,
    bulk_rows: usize,
    /// `--workloads W1,W3`: only these (all when empty).
    workloads: Vec<String>,
    /// `--clients weir,raw`: only these (all when empty).
    clients: Vec<String>,
}

impl Settings {
    fn wants_workload(&self, w: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|x| x.eq_ignore_ascii_case(w))
    }
    fn wants_client(&self, id: &str) -> bool {
        self.clients.is_empty() || self.clients.iter().any(|x| x == id)
    }
}

struct Args {
    backends: Vec<Backend>,
    settings: Settings,
    svg: Option<String>,
    out: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--backend postgres|mysql|both] [--quick] [--svg PATH] [--out PATH] [--rounds N] [--secs S] [--workloads W1,W2,W3,W4,W5] [--clients weir,raw,raw-reset,raw-insert,sqlx,deadpool]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut backends = vec![Backend::Postgres, Backend::MySql];
    let (mut quick, mut svg, mut out, mut rounds, mut secs) = (false, None, None, None, None);
    let (mut workloads, mut clients) = (Vec::new(), Vec::new());
    let list = |v: String| v.split(',').map(str::to_owned).collect::<Vec<_>>();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--backend" => {
                backends = match value().as_str() {
                    "postgres" | "pg" => vec![Backend::Postgres],
                    "mysql" | "mariadb" => vec![Backend::MySql],
                    "both" => vec![Backend::Postgres, Backend::MySql],
                    _ => usage(),
                }
            }
            "--quick" => quick = true,
            "--svg" => svg = Some(value()),
            "--out" => out = Some(value()),
            "--workloads" => workloads = list(value()),
            "--clients" => clients = list(value()),
            "--rounds" => rounds = Some(value().parse().unwrap_or_else(|_| usage())),
            "--secs" => secs = Some(value().parse::<f64>().unwrap_or_else(|_| usage())),
            "--rss-probe" => {
                let backend = match value().as_str() {
                    "postgres" => Backend::Postgres,
                    "mysql" => Backend::MySql,
                    _ => usage(),
                };
                let rows = value().parse().unwrap_or_else(|_| usage());
                rss_probe(backend, rows);
            }
            _ => usage(),
        }
    }
    let mut settings = if quick {
        Settings {
            quick,
            rounds: 2,
            secs: Duration::from_millis(250),
            w3_secs: Duration::from_millis(200),
            warmup: Duration::from_millis(100),
            stream_rows: 100_000,
            bulk_rows: 20_000,
            workloads,
            clients,
        }
    } else {
        Settings {
            quick,
            rounds: 11,
            secs: Duration::from_millis(600),
            w3_secs: Duration::from_millis(300),
            warmup: Duration::from_millis(500),
            stream_rows: 1_000_000,
            bulk_rows: 100_000,
            workloads,
            clients,
        }
    };
    if let Some(r) = rounds {
        settings.rounds = r;
    }
    if let Some(s) = secs {
        settings.secs = Duration::from_secs_f64(s);
    }
    if svg.is_none() && !quick {
        svg = Some(format!("{}/benchmarks/w1.svg", repo_dir().display()));
    }
    Args {
        backends,
        settings,
        svg,
        out,
    }
}

/// Round `r` visits the clients forwards, the next one backwards: A B C, C B A, ...
fn order(round: usize, n: usize) -> Vec<usize> {
    if round % 2 == 0 {
        (0..n).collect()
    } else {
        (0..n).rev().collect()
    }
}

fn summarize(
    backend: Backend,
    workload: &str,
    peer: &Peer,
    unit: &'static str,
    runs: Vec<Run>,
) -> Row {
    let rounds: Vec<f64> = runs.iter().map(Run::per_sec).collect();
    let (mut p50, mut p99) = (Vec::new(), Vec::new());
    for mut run in runs {
        if let Some(v) = percentile_ms(&mut run.latencies, 50.0) {
            p50.push(v);
        }
        if let Some(v) = percentile_ms(&mut run.latencies, 99.0) {
            p99.push(v);
        }
    }
    Row {
        backend,
        workload: workload.to_owned(),
        peer: peer.id,
        label: peer.label,
        unit,
        value: median(&rounds),
        rounds,
        p50_ms: (!p50.is_empty()).then(|| median(&p50)),
        p99_ms: (!p99.is_empty()).then(|| median(&p99)),
        rss_peak: None,
        rss_rise: None,
    }
}

fn progress(backend: Backend, workload: &str, round: usize, peer: &Peer, run: &Run, unit: &str) {
    eprintln!(
        "  {} {workload} round {}: {:<10} {:>12.0} {unit} ({} in {:.2}s)",
        backend.name(),
        round + 1,
        peer.id,
        run.per_sec(),
        run.ops,
        run.elapsed.as_secs_f64()
    );
}

/// One closed-loop workload: who runs it, how, and what to do before each run.
struct Loop<'a> {
    backend: Backend,
    workload: &'a str,
    unit: &'static str,
    concurrency: usize,
    duration: Duration,
    /// Keep every operation's latency (for p50/p99).
    record: bool,
    /// SQL run (untimed) before each client's run.
    before_each: Option<&'a str>,
}

/// Runs `op` in a closed loop for every peer, `rounds` times, interleaved.
async fn interleaved<F, Fut>(
    s: &Settings,
    peers: &[Peer],
    admin: &mut Admin,
    l: Loop<'_>,
    op: F,
) -> Vec<Row>
where
    F: Fn(Arc<clients::Client>, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Loop {
        backend,
        workload,
        unit,
        concurrency,
        duration,
        record,
        before_each,
    } = l;
    let mut runs: Vec<Vec<Run>> = peers.iter().map(|_| Vec::new()).collect();
    for round in 0..s.rounds {
        for i in order(round, peers.len()) {
            if let Some(sql) = before_each {
                admin.exec(sql).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            let client = Arc::clone(&peers[i].client);
            let op = op.clone();
            let run = closed_loop(concurrency, duration, record, move |r| {
                op(Arc::clone(&client), r)
            })
            .await;
            progress(backend, workload, round, &peers[i], &run, unit);
            runs[i].push(run);
        }
    }
    peers
        .iter()
        .zip(runs)
        .map(|(p, r)| summarize(backend, workload, p, unit, r))
        .collect()
}

/// Opens every pool's connections and prepares the statements before anything is timed.
async fn warm_up<F, Fut>(s: &Settings, peers: &[Peer], op: F)
where
    F: Fn(Arc<clients::Client>, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for p in peers {
        let client = Arc::clone(&p.client);
        let op = op.clone();
        let run = closed_loop(64, s.warmup, false, move |r| op(Arc::clone(&client), r)).await;
        eprintln!("  warm-up {}: {} ops", p.id, run.ops);
    }
}

async fn point(c: Arc<clients::Client>, r: u64) {
    c.point((r % USERS) as i64 + 1).await
}

async fn checkout(c: Arc<clients::Client>, _: u64) {
    c.checkout().await
}

async fn insert_one(c: Arc<clients::Client>, r: u64) {
    c.insert_one((r >> 2) as i64).await
}

async fn w1(s: &Settings, backend: Backend, peers: &[Peer], admin: &mut Admin) -> Vec<Row> {
    warm_up(s, peers, point).await;
    let mut out = Vec::new();
    for conc in [1, 16, 64] {
        let workload = format!("W1-c{conc}");
        out.extend(
            interleaved(
                s,
                peers,
                admin,
                Loop {
                    backend,
                    workload: &workload,
                    unit: "q/s",
                    concurrency: conc,
                    duration: s.secs,
                    record: true,
                    before_each: None,
                },
                point,
            )
            .await,
        );
    }
    out
}

/// W5: W1 through weir with a statement timeout, a lane limit and a global in-flight limit
/// set, against W1 through weir without them: what flow control costs per call.
async fn w5(s: &Settings, backend: Backend, admin: &mut Admin) -> Vec<Row> {
    let url = clients::weir_url(backend);
    let plain = weir::Database::connect(&url).await.unwrap();
    let flow = weir::Database::connect_with(
        weir::DatabaseConfig::from_url(&url)
            .unwrap()
            .with_statement_timeout(Some(Duration::from_secs(30)))
            .with_default_lane(weir::Lane::new(64).with_max_queue(1024))
            .with_max_in_flight(64),
    )
    .await
    .unwrap();
    let peers = vec![
        Peer::new("weir", "weir, no limits", clients::Client::Weir(plain)),
        Peer::new(
            "weir-flow",
            "weir, statement_timeout 30s + lane of 64 + max_in_flight 64",
            clients::Client::Weir(flow),
        ),
    ];
    warm_up(s, &peers, point).await;
    let mut out = Vec::new();
    for conc in [16, 64] {
        let workload = format!("W5-c{conc}");
        out.extend(
            interleaved(
                s,
                &peers,
                admin,
                Loop {
                    backend,
                    workload: &workload,
                    unit: "q/s",
                    concurrency: conc,
                    duration: s.secs,
                    record: true,
                    before_each: None,
                },
                point,
            )
            .await,
        );
    }
    clients::close(peers).await;
    out
}

/// `--rss-probe <backend> <rows>` (internal): streams the W2 rows through weir in this fresh
/// process, prints its peak RSS and exits. The target is about what streaming costs a
/// service, which an in-process figure after every other workload and peer would overstate.
fn rss_probe(backend: Backend, rows: u64) -> ! {
    // Arguments are read inside `main`'s runtime: block on it rather than start another.
    let streamed = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let db = weir::Database::connect(&clients::weir_url(backend))
                .await
                .unwrap();
            clients::Client::Weir(db).stream().await.0
        })
    });
    assert_eq!(streamed, rows, "the probe streamed {streamed} rows");
    let peak = measure::status_mib("VmHWM").unwrap_or(f64::NAN);
    println!("rss-probe peak MiB: {peak:.1}");
    std::process::exit(0)
}

/// Runs [`rss_probe`] in a child process; its peak RSS in MiB.
fn fresh_process_peak_rss(backend: Backend, rows: u64) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let name = match backend {
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    };
    let out = std::process::Command::new(exe)
        .args(["--rss-probe", name, &rows.to_string()])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("rss-probe peak MiB: "))
        .and_then(|v| v.trim().parse().ok())
}

async fn w2(s: &Settings, backend: Backend, peers: &[Peer]) -> Vec<Row> {
    let mut runs: Vec<Vec<Run>> = peers.iter().map(|_| Vec::new()).collect();
    let mut peaks: Vec<(f64, f64)> = peers.iter().map(|_| (0.0, 0.0)).collect();
    let mut reference = None;
    if !measure::peak_rss_works() {
        eprintln!("  (peak RSS cannot be reset here: /proc/self/clear_refs; figures are the process's peak so far)");
    }
    for round in 0..s.rounds {
        for i in order(round, peers.len()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let before = measure::status_mib("VmRSS").unwrap_or(f64::NAN);
            measure::reset_peak_rss();
            let start = Instant::now();
            let (rows, sum) = peers[i].client.stream().await;
            let elapsed = start.elapsed();
            let peak = measure::status_mib("VmHWM").unwrap_or(f64::NAN);
            assert_eq!(rows, s.stream_rows, "{} streamed {rows} rows", peers[i].id);
            assert_eq!(
                *reference.get_or_insert(sum),
                sum,
                "{} read different data",
                peers[i].id
            );
            let run = Run {
                ops: rows,
                elapsed,
                latencies: Vec::new(),
            };
            progress(backend, "W2", round, &peers[i], &run, "rows/s");
            eprintln!("      peak RSS {peak:.1} MiB (before {before:.1})");
            peaks[i].0 = peaks[i].0.max(peak);
            peaks[i].1 = peaks[i].1.max(peak - before);
            runs[i].push(run);
        }
    }
    let fresh = fresh_process_peak_rss(backend, s.stream_rows);
    eprintln!("  weir W2 in a fresh process: peak RSS {fresh:?} MiB");
    peers
        .iter()
        .zip(runs)
        .zip(peaks)
        .map(|((p, r), (peak, rise))| Row {
            // weir's figure is its own process's (see `rss_probe`); the peers' are in-process.
            rss_peak: if p.id == "weir" {
                fresh.or(Some(peak))
            } else {
                Some(peak)
            },
            rss_rise: Some(rise),
            ..summarize(backend, "W2", p, "rows/s", r)
        })
        .collect()
}

async fn w3(s: &Settings, backend: Backend, peers: &[Peer], admin: &mut Admin) -> Vec<Row> {
    let bare: Vec<Peer> = [clients::bare_deadpool(backend)]
        .into_iter()
        .filter(|p| s.wants_client(p.id))
        .collect();
    let all: Vec<&Peer> = peers.iter().chain(&bare).collect();
    let all: Vec<Peer> = all
        .into_iter()
        .map(|p| Peer {
            id: p.id,
            label: p.label,
            client: Arc::clone(&p.client),
        })
        .collect();
    warm_up(s, &all, checkout).await;
    let out = interleaved(
        s,
        &all,
        admin,
        Loop {
            backend,
            workload: "W3",
            unit: "ops/s",
            concurrency: 64,
            duration: s.w3_secs,
            record: false,
            before_each: None,
        },
        checkout,
    )
    .await;
    drop(all);
    clients::close(bare).await;
    out
}

async fn w4_single(s: &Settings, backend: Backend, peers: &[Peer], admin: &mut Admin) -> Vec<Row> {
    warm_up(s, peers, insert_one).await;
    interleaved(
        s,
        peers,
        admin,
        Loop {
            backend,
            workload: "W4-single",
            unit: "rows/s",
            concurrency: 16,
            duration: s.secs,
            record: true,
            before_each: Some("TRUNCATE TABLE ins"),
        },
        insert_one,
    )
    .await
}

/// W4 bulk's rows: the same for every client.
fn bulk_rows(n: usize) -> Vec<Item> {
    let mut rng = measure::Rng::new(42);
    (0..n)
        .map(|i| {
            let len = 8 + (rng.next() % 25) as usize;
            let s: String = (0..len)
                .map(|_| char::from(b'a' + (rng.next() % 26) as u8))
                .collect();
            Item {
                id: i as i64 + 1,
                n: (rng.next() % 1_000_000) as i32,
                x: (rng.next() % 1_000_000) as f64 / 8.0,
                s,
            }
        })
        .collect()
}

async fn w4_bulk(s: &Settings, backend: Backend, peers: &[Peer], admin: &mut Admin) -> Vec<Row> {
    let rows = bulk_rows(s.bulk_rows);
    let extra = clients::raw_insert(peers).filter(|p| s.wants_client(p.id));
    let all: Vec<&Peer> = peers.iter().chain(extra.as_ref()).collect();
    let mut runs: Vec<Vec<Run>> = all.iter().map(|_| Vec::new()).collect();
    for round in 0..s.rounds {
        for i in order(round, all.len()) {
            admin.exec("TRUNCATE TABLE bulk").await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let run = once(all[i].client.bulk(&rows)).await;
            assert_eq!(admin.count("bulk").await, rows.len() as i64);
            progress(backend, "W4-bulk", round, all[i], &run, "rows/s");
            runs[i].push(run);
        }
    }
    all.iter()
        .zip(runs)
        .map(|(p, r)| summarize(backend, "W4-bulk", p, "rows/s", r))
        .collect()
}

struct Env {
    versions: Vec<(Backend, String)>,
    load_before: String,
    /// CPUs' worth of time other programs took, and the hypervisor stole, per workload.
    others: Vec<(String, f64, f64)>,
}

impl Env {
    /// Notes how busy other programs kept the machine while a workload ran.
    fn note_others(&mut self, what: String, since: Option<measure::CpuSample>) {
        if let Some((cores, steal)) = since.and_then(|s| s.others_since()) {
            if cores > 0.1 || steal > 0.1 {
                eprintln!(
                    "   ! other programs used {cores:.2} CPUs and the hypervisor stole {steal:.2} during {what}: figures are noisy"
                );
            }
            self.others.push((what, cores, steal));
        }
    }
}

async fn run_backend(s: &Settings, backend: Backend, env: &mut Env) -> Vec<Row> {
    eprintln!("== {}: creating {}", backend.name(), clients::DB_NAME);
    let t = Instant::now();
    let mut admin = setup::setup(backend, USERS, s.stream_rows).await;
    setup::check(&mut admin, USERS, s.stream_rows).await;
    env.versions.push((backend, admin.version().await));
    eprintln!("   filled in {:.1}s", t.elapsed().as_secs_f64());
    let (peers, unwanted) = clients::connect(backend)
        .await
        .into_iter()
        .partition(|p| s.wants_client(p.id));
    clients::close(unwanted).await;
    let mut out = Vec::new();
    let be = backend.name();
    if s.wants_workload("W1") {
        eprintln!("== {be}: W1 point select");
        let cpu = measure::CpuSample::now();
        out.extend(w1(s, backend, &peers, &mut admin).await);
        env.note_others(format!("{be} W1"), cpu);
    }
    if s.wants_workload("W2") {
        eprintln!("== {be}: W2 stream {} rows", s.stream_rows);
        let cpu = measure::CpuSample::now();
        out.extend(w2(s, backend, &peers).await);
        env.note_others(format!("{be} W2"), cpu);
    }
    if s.wants_workload("W3") {
        eprintln!("== {be}: W3 checkout");
        let cpu = measure::CpuSample::now();
        out.extend(w3(s, backend, &peers, &mut admin).await);
        env.note_others(format!("{be} W3"), cpu);
    }
    if s.wants_workload("W4") {
        eprintln!("== {be}: W4 inserts");
        let cpu = measure::CpuSample::now();
        out.extend(w4_single(s, backend, &peers, &mut admin).await);
        out.extend(w4_bulk(s, backend, &peers, &mut admin).await);
        env.note_others(format!("{be} W4"), cpu);
    }
    clients::close(peers).await;
    if s.wants_workload("W5") {
        eprintln!("== {be}: W5 flow control cost");
        let cpu = measure::CpuSample::now();
        out.extend(w5(s, backend, &mut admin).await);
        env.note_others(format!("{be} W5"), cpu);
    }
    admin.close().await;
    out
}

/// The repository's root (this package is its `bench/` member): benchmarks/, Cargo.lock.
fn repo_dir() -> &'static std::path::Path {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here)
}

fn first_line_of(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

fn lock_versions(names: &[&str]) -> Vec<String> {
    let lock = std::fs::read_to_string(repo_dir().join("Cargo.lock")).unwrap_or_default();
    let mut out = Vec::new();
    for name in names {
        let key = format!("name = \"{name}\"\nversion = \"");
        if let Some(i) = lock.find(&key) {
            let rest = &lock[i + key.len()..];
            let v = rest.split('"').next().unwrap_or("?");
            out.push(format!("{name} {v}"));
        }
    }
    out
}

fn environment(s: &Settings, env: &Env) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = first_line_of("/proc/cpuinfo", "model name").unwrap_or_else(|| "?".into());
    let mem = first_line_of("/proc/meminfo", "MemTotal")
        .and_then(|m| m.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("?".into(), |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0));
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map_or("?".into(), |o| {
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        });
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let profile = if cfg!(debug_assertions) {
        "debug (figures are not representative)"
    } else {
        "release"
    };
    let mut out = String::new();
    out.push_str(&format!(
        "- machine: {cpus} CPUs ({model}), {mem} RAM; clients and servers share it\n"
    ));
    out.push_str(&format!(
        "- load average (1/5/15 min) before: {}; after: {}\n",
        env.load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        load_after
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    if !env.others.is_empty() {
        let list: Vec<String> = env
            .others
            .iter()
            .map(|(w, c, st)| format!("{w} {c:.2}/{st:.2}"))
            .collect();
        out.push_str(&format!(
            "- CPUs' worth of time taken by programs other than the benchmark and the two servers / stolen by the hypervisor, per workload (0.00/0.00 = a quiet machine): {}\n",
            list.join(", ")
        ));
    }
    out.push_str(&format!("- {rustc}, {profile} build\n"));
    for (b, v) in &env.versions {
        out.push_str(&format!("- {}: {v}\n", b.name()));
    }
    out.push_str(&format!(
        "- crates: {}\n",
        lock_versions(&[
            "weir",
            "tokio",
            "tokio-postgres",
            "deadpool-postgres",
            "deadpool",
            "mysql_async",
            "sqlx"
        ])
        .join(", ")
    ));
    out.push_str(&format!(
        "- settings: {} rounds; W1 and W4-single {:.2}s per client per round, W3 {:.2}s; W2 {} rows; W4 bulk {} rows; pools of {}{}\n",
        s.rounds,
        s.secs.as_secs_f64(),
        s.w3_secs.as_secs_f64(),
        s.stream_rows,
        s.bulk_rows,
        clients::POOL_SIZE,
        if s.quick { "; --quick" } else { "" }
    ));
    out
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let s = &args.settings;
    let started = Instant::now();
    let mut env = Env {
        versions: Vec::new(),
        load_before: std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
        others: Vec::new(),
    };
    let mut results = Vec::new();
    for &b in &args.backends {
        results.extend(run_backend(s, b, &mut env).await);
    }

    let mut report = String::new();
    report.push_str("## Environment\n\n");
    report.push_str(&environment(s, &env));
    report.push_str(&format!(
        "- run took {:.0}s\n\n",
        started.elapsed().as_secs_f64()
    ));
    report.push_str("## Results\n\n");
    report.push_str("Throughput is q/s, rows/s or ops/s (higher is better), the median over rounds; ± is half the spread between the slowest and the fastest round. \"weir ÷ client\" (and each ratio line) is the median of the per-round ratios, weir and the client having run back to back in each round; above 1 means weir is ahead.\n\n");
    report.push_str(&report::table(&results));
    report.push_str("\n```text\n");
    for (line, _) in report::ratio_lines(&results) {
        report.push_str(&line);
        report.push('\n');
    }
    report.push('\n');
    for line in report::targets(&results) {
        report.push_str(&line);
        report.push('\n');
    }
    report.push_str("```\n");
    println!("{report}");

    if let Some(path) = &args.out {
        std::fs::write(path, &report).unwrap_or_else(|e| panic!("{path}: {e}"));
        eprintln!("report written to {path}");
    }
    if let Some(path) = &args.svg {
        let note = format!(
            "median of {} rounds of {:.2}s per client and concurrency; {} CPUs shared by clients and servers",
            s.rounds,
            s.secs.as_secs_f64(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        if let Some(dir) = std::path::Path::new(path).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, report::w1_svg(&results, &note))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        eprintln!("W1 chart written to {path}");
    }
}
