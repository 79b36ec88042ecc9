//! The test bed: `scripts/replicas up` once per process (`--owner` tears it down when this
//! process exits, however it ends). Tests take turns, since one that stops or promotes a
//! server must not pull it from under another; such a test marks its pair broken, and the next
//! test to need that pair starts it afresh (`up pg` or `up mysql`, about 2 s).

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;
use tokio::sync::{Mutex, MutexGuard};
use weir::{Backend, Database, DatabaseConfig, Executor, RetryPolicy};

/// A host of the bed, or any other address (a dead or silent port).
#[derive(Debug, Clone, Copy)]
pub enum Host {
    Primary,
    Replica,
    /// `127.0.0.1` on this port.
    Port(u16),
}

#[derive(Default)]
struct State {
    /// `name=url` lines of `scripts/replicas urls`, once it is up.
    urls: Option<HashMap<String, String>>,
    /// Pairs a test broke (stopped, demoted or promoted a server of): started afresh next.
    broken: Vec<Backend>,
}

static STATE: Mutex<Option<State>> = Mutex::const_new(None);

/// The bed, held for one test.
pub struct Bed {
    guard: MutexGuard<'static, Option<State>>,
    pub backend: Backend,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn script_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/replicas").to_owned()
}

/// This process's own port block and directory, so that two test runs on one machine (a CI
/// run beside a developer's) never meet: a block of 20 ports below 32768 whose five ports
/// (PostgreSQL, PgBouncer, MariaDB) are free now, picked from the process id, and a directory
/// named after the process.
fn own_bed() -> &'static (String, String) {
    static OWN: OnceLock<(String, String)> = OnceLock::new();
    OWN.get_or_init(|| {
        let pid = std::process::id();
        let free = |base: u16| {
            [1, 2, 3, 11, 12]
                .iter()
                .all(|o| std::net::TcpListener::bind(("127.0.0.1", base + o)).is_ok())
        };
        let base = (0..600u16)
            .map(|i| 20000 + ((pid as u16 % 600 + i) % 600) * 20)
            .find(|b| *b != 25660 && free(*b))
            .unwrap_or(21500);
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        };
        (base.to_string(), format!("{dir}/weir-replicas-test-{pid}"))
    })
}

/// Runs `scripts/replicas args` on this process's bed: its stdout, or its stderr as the error.
fn run_script(args: &[&str]) -> Result<String, String> {
    let (port, dir) = own_bed();
    let out = Command::new(script_path())
        .env("WEIR_REPLICAS_PORT", port)
        .env("WEIR_REPLICAS_DIR", dir)
        .args(args)
        .output()
        .map_err(|e| format!("scripts/replicas: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn parse_urls(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn pair(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "pg",
        Backend::MySql => "mysql",
    }
}

/// The bed for a test on `backend`, up and whole; `None` (after printing SKIPPED) when the
/// servers cannot run here and this is not CI.
pub async fn bed(backend: Backend, test: &str) -> Option<Bed> {
    let mut guard = STATE.lock().await;
    let state = guard.get_or_insert_with(State::default);
    let args: Option<Vec<String>> = if state.urls.is_none() {
        Some(vec![
            "up".into(),
            "all".into(),
            "--owner".into(),
            std::process::id().to_string(),
        ])
    } else if state.broken.contains(&backend) {
        Some(vec!["up".into(), pair(backend).into()])
    } else {
        None
    };
    if let Some(args) = args {
        let started = std::time::Instant::now();
        let up = move || run_script(&args.iter().map(String::as_str).collect::<Vec<_>>());
        match tokio::task::spawn_blocking(up).await {
            Ok(Ok(urls)) => {
                eprintln!("replicas up in {:?}", started.elapsed());
                state.urls = Some(parse_urls(&urls));
                state.broken.retain(|b| *b != backend);
            }
            Ok(Err(e)) if e.contains("missing:") && !in_ci() => {
                eprintln!("SKIPPED {test}: {}", e.trim());
                return None;
            }
            Ok(Err(e)) => panic!("scripts/replicas up failed: {e}"),
            Err(e) => panic!("scripts/replicas up: {e}"),
        }
    }
    Some(Bed { guard, backend })
}

impl Bed {
    fn state(&mut self) -> &mut State {
        match self.guard.as_mut() {
            Some(s) => s,
            None => unreachable!("bed() made the state"),
        }
    }

    fn url_of(&mut self, name: &str) -> String {
        let prefix = match self.backend {
            Backend::Postgres => "pg",
            Backend::MySql => "my",
        };
        let key = format!("{prefix}_{name}");
        match self.state().urls.as_ref().and_then(|u| u.get(&key)) {
            Some(url) => url.clone(),
            None => panic!("scripts/replicas urls printed no {key}"),
        }
    }

    /// A URL over `hosts`, in that order, with `query` options added.
    pub fn url(&mut self, hosts: &[Host], query: &str) -> String {
        let primary = self.url_of("primary");
        let replica = self.url_of("replica");
        let authority = |url: &str| -> String {
            let after_at = url.rsplit_once('@').map_or("", |(_, r)| r);
            after_at.split('/').next().unwrap_or_default().to_owned()
        };
        let list: Vec<String> = hosts
            .iter()
            .map(|h| match h {
                Host::Primary => authority(&primary),
                Host::Replica => authority(&replica),
                Host::Port(p) => format!("127.0.0.1:{p}"),
            })
            .collect();
        let (head, rest) = primary.rsplit_once('@').unwrap_or_default();
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        // A short connect_timeout unless `query` sets its own (the last one given counts).
        format!(
            "{head}@{}/{path}&connect_timeout=2s&{query}",
            list.join(",")
        )
    }

    /// The URL of PgBouncer (transaction mode, before the primary) with `query` options; `None`
    /// (after printing SKIPPED) when pgbouncer is not installed and this is not CI.
    pub fn bouncer_url(&mut self, query: &str, test: &str) -> Option<String> {
        match self.state().urls.as_ref().and_then(|u| u.get("pg_bouncer")) {
            Some(url) => Some(format!("{url}&connect_timeout=2s&{query}")),
            None if in_ci() => panic!("CI=true and scripts/replicas started no pgbouncer"),
            None => {
                eprintln!("SKIPPED {test}: pgbouncer is not installed");
                None
            }
        }
    }

    /// A pool over `hosts` with `query` options; a refused connect is not retried.
    pub async fn pool(&mut self, hosts: &[Host], query: &str) -> weir::Result<Database> {
        let url = self.url(hosts, query);
        let config = DatabaseConfig::from_url(&url)?.with_retry(RetryPolicy::never());
        Database::connect_with(config).await
    }

    /// The password of the bed's servers, which no error may show.
    pub fn password(&mut self) -> String {
        let url = self.url_of("primary");
        let userinfo = url.split_once("://").map_or("", |(_, r)| r);
        let userinfo = userinfo.rsplit_once('@').map_or("", |(u, _)| u);
        userinfo.split_once(':').map_or("", |(_, p)| p).to_owned()
    }

    /// `scripts/replicas args` (`stop pg_replica`, `promote mysql`, ...); the pair counts as
    /// broken from here on, so the next test starts it afresh.
    pub async fn script(&mut self, args: &[&str]) {
        let backend = self.backend;
        if !self.state().broken.contains(&backend) {
            self.state().broken.push(backend);
        }
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        let out = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_script(&args)
        })
        .await;
        match out {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("scripts/replicas: {e}"),
            Err(e) => panic!("scripts/replicas: {e}"),
        }
    }

    /// The pair is whole again (a test that broke it repaired it itself).
    pub fn repaired(&mut self) {
        let backend = self.backend;
        self.state().broken.retain(|b| *b != backend);
    }

    /// The name `scripts/replicas stop|start` knows this backend's server by.
    pub fn server(&self, host: Host) -> &'static str {
        match (self.backend, host) {
            (Backend::Postgres, Host::Primary) => "pg_primary",
            (Backend::Postgres, _) => "pg_replica",
            (Backend::MySql, Host::Primary) => "my_primary",
            (Backend::MySql, _) => "my_replica",
        }
    }

    /// `pg` or `mysql`, as `promote` and `demote` take it.
    pub fn pair(&self) -> &'static str {
        pair(self.backend)
    }
}

/// Whether the session `db` hands out is on a read-only server (a standby or replica).
pub async fn on_read_only(db: &Database) -> bool {
    match db.backend() {
        Backend::Postgres => db
            .fetch_scalar::<bool, _>("SELECT pg_is_in_recovery()", ())
            .await
            .unwrap(),
        Backend::MySql => {
            db.fetch_scalar::<i64, _>("SELECT @@read_only", ())
                .await
                .unwrap()
                != 0
        }
    }
}

/// Runs `body` on PostgreSQL, then on MariaDB, each with the bed held.
macro_rules! both {
    ($(#[$meta:meta])* $name:ident, |$bed:ident| $body:block) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in [weir::Backend::Postgres, weir::Backend::MySql] {
                let Some(mut $bed) = crate::bed::bed(backend, stringify!($name)).await else {
                    return;
                };
                let started = std::time::Instant::now();
                $body;
                eprintln!("{} on {backend}: {:?}", stringify!($name), started.elapsed());
            }
        }
    };
}
pub(crate) use both;
