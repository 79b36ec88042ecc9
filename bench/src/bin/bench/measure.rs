//! The measuring harness: closed-loop workers, percentiles, medians, peak RSS.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one timed run of one client produced.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Operations (queries, checkouts, rows) completed.
    pub ops: u64,
    pub elapsed: Duration,
    /// Per-operation latencies in nanoseconds, when recorded.
    pub latencies: Vec<u64>,
}

impl Run {
    pub fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }
}

/// A small, fast, seedable generator (xorshift64*), so every client sees the same ids.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Runs `concurrency` workers, each calling `op` back to back (a closed loop) until `duration`
/// is over. `op` gets a per-worker random number per call. With `record`, every operation's
/// latency is kept.
pub async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, record: bool, op: F) -> Run
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let op = op.clone();
        let stop = Arc::clone(&stop);
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(w as u64 + 1);
            let mut ops = 0u64;
            let mut lat = Vec::new();
            if record {
                lat.reserve(1 << 14);
            }
            while !stop.load(Ordering::Relaxed) {
                if record {
                    let t0 = Instant::now();
                    op(rng.next()).await;
                    lat.push(t0.elapsed().as_nanos() as u64);
                } else {
                    op(rng.next()).await;
                    // The flag is set by a timer, which a busy runtime may fire late; the
                    // clock, read now and then, ends the loop all the same.
                    if ops % 64 == 63 && Instant::now() >= deadline {
                        break;
                    }
                }
                ops += 1;
            }
            (ops, lat)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run::default();
    for w in workers {
        let (ops, lat) = w.await.expect("worker panicked");
        run.ops += ops;
        run.latencies.extend(lat);
    }
    run.elapsed = start.elapsed();
    run
}

/// Times one operation that reports how many items (rows) it handled.
pub async fn once<Fut>(fut: Fut) -> Run
where
    Fut: Future<Output = u64>,
{
    let start = Instant::now();
    let ops = fut.await;
    Run {
        ops,
        elapsed: start.elapsed(),
        latencies: Vec::new(),
    }
}

/// The `p`-th percentile (0..=100) of unsorted nanosecond samples, in milliseconds.
pub fn percentile_ms(samples: &mut [u64], p: f64) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    Some(samples[rank.min(samples.len() - 1)] as f64 / 1e6)
}

pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS. Linux only; false elsewhere.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Checks that resetting the peak works: touches 32 MiB and sees VmHWM rise, then resets.
pub fn peak_rss_works() -> bool {
    if !reset_peak_rss() {
        return false;
    }
    let before = status_mib("VmHWM").unwrap_or(0.0);
    let block = std::hint::black_box(vec![1u8; 32 << 20]);
    drop(block);
    let after = status_mib("VmHWM").unwrap_or(0.0);
    reset_peak_rss() && after - before >= 24.0 && status_mib("VmHWM").unwrap_or(0.0) < after - 16.0
}

/// A `Vm*` field of /proc/self/status, in MiB.
pub fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time on the whole machine, in this process and in the database servers, to tell how
/// much of the machine other programs (a compiler, say) took while a workload ran.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    at: std::time::Instant,
    /// Busy jiffies of all CPUs (user, nice, system; interrupts are left out, as they are
    /// mostly the loopback traffic of the benchmark itself).
    busy: u64,
    /// Jiffies of this process and of every postgres / mariadbd / mysqld process.
    ours: u64,
    /// Jiffies the hypervisor ran something else instead of this machine.
    steal: u64,
}

/// Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux).
const HZ: f64 = 100.0;

fn proc_jiffies(stat: &str) -> Option<(String, u64)> {
    // pid (comm) state ... utime stime: fields 14 and 15, counted after the comm's ')'.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_owned();
    let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

impl CpuSample {
    pub fn now() -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let busy = cpu.first()? + cpu.get(1)? + cpu.get(2)?;
        let me = std::process::id().to_string();
        let mut ours = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((comm, j)) = proc_jiffies(&stat) {
                if pid == me || comm == "postgres" || comm == "mariadbd" || comm == "mysqld" {
                    ours += j;
                }
            }
        }
        Some(CpuSample {
            at: std::time::Instant::now(),
            busy,
            ours,
            steal: *cpu.get(7).unwrap_or(&0),
        })
    }

    /// CPUs' worth of time that other programs used since `self` (0.5 = half a core),
    /// and that the hypervisor stole.
    pub fn others_since(&self) -> Option<(f64, f64)> {
        let now = CpuSample::now()?;
        let secs = now.at.duration_since(self.at).as_secs_f64();
        let others =
            now.busy.saturating_sub(self.busy) as f64 - now.ours.saturating_sub(self.ours) as f64;
        let steal = now.steal.saturating_sub(self.steal) as f64;
        Some(((others / HZ / secs).max(0.0), steal / HZ / secs))
    }
}
