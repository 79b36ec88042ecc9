//! Private, throwaway servers for the tests that would hurt the shared ones: restart, crash,
//! password authentication, TLS.
//!
//! A [`PrivateServer`] is a PostgreSQL (`initdb` + `pg_ctl`, run as the `postgres` OS user when
//! the tests run as root) or MariaDB (`mariadb-install-db` + `mariadbd`) of its own, on a free
//! port of 127.0.0.1, in a directory of its own under `/dev/shm` (or `WEIR_PRIVATE_DIR`, or the
//! temp dir). The data directory is copied from a template made once (per harness version)
//! rather than initialised per test: under load, `initdb` takes seconds. Dropped (also when the
//! test panics), the server is stopped and its directory removed.
//!
//! Private servers take turns: each holds a global async lock for its whole life, so at most one
//! runs at a time (they still run beside the tests on the shared servers). A test must therefore
//! drop one before it starts another.
//!
//! When a binary is missing the test prints SKIPPED, or fails under `CI=true`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard, OnceCell};
use weir::{Backend, Database, DatabaseConfig, Executor, RetryPolicy};

use crate::common::eventually;

/// Bump when the template's contents change, so that a stale template is not reused.
const TEMPLATE_VERSION: u32 = 2;

/// The turn every private server holds while it lives.
static TURN: Mutex<()> = Mutex::const_new(());

static PG_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();
static MY_TEMPLATE: OnceCell<PathBuf> = OnceCell::const_new();

static NEXT: AtomicU32 = AtomicU32::new(0);

/// What a private server offers besides the superuser without password.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// Creates the user `weir` with this password (PostgreSQL: `scram-sha-256` for it in
    /// `pg_hba.conf`; MariaDB: `'weir'@'127.0.0.1' IDENTIFIED BY`).
    pub password: Option<String>,
    /// Serves TLS with this certificate (PEM, the chain) and private key (PEM).
    pub tls: Option<(String, String)>,
}

/// Where the binaries are.
enum Bins {
    Pg {
        bindir: PathBuf,
    },
    My {
        install_db: PathBuf,
        mariadbd: PathBuf,
    },
}

/// A throwaway server; see the module docs.
pub(crate) struct PrivateServer {
    backend: Backend,
    bins: Bins,
    dir: PathBuf,
    port: u16,
    /// The running `mariadbd`.
    child: Option<Child>,
    running: bool,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        match &self.bins {
            Bins::Pg { bindir } => {
                if self.running {
                    let _ = as_postgres(&bindir.join("pg_ctl"))
                        .args(["-D", &self.data().display().to_string()])
                        .args(["-m", "immediate", "-w", "stop"])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
            }
            Bins::My { .. } => {
                if let Some(mut child) = self.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    })
}

/// A command run as the `postgres` OS user when we are root (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Runs `cmd` to completion; its output is the error when it fails.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `cmd` with `input` on its standard input; its output is the error when it fails.
fn run_with_input(cmd: &mut Command, input: &str) -> Result<(), String> {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("{cmd:?}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The first of `names` found in `PATH` or in the usual system directories.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"].map(PathBuf::from));
    names
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

fn find_bins(backend: Backend) -> Result<Bins, String> {
    if is_root() && find_program(&["runuser"]).is_none() {
        return Err("running as root and no `runuser` to run the servers as another user".into());
    }
    match backend {
        Backend::Postgres => {
            let bindir = std::env::var_os("WEIR_PG_BINDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
            for b in ["initdb", "pg_ctl", "postgres"] {
                if !bindir.join(b).is_file() {
                    return Err(format!(
                        "no {} (set WEIR_PG_BINDIR to PostgreSQL's bin directory)",
                        bindir.join(b).display()
                    ));
                }
            }
            if is_root()
                && !Command::new("id")
                    .arg("postgres")
                    .output()
                    .is_ok_and(|o| o.status.success())
            {
                return Err("running as root and no `postgres` OS user".into());
            }
            Ok(Bins::Pg { bindir })
        }
        Backend::MySql => Ok(Bins::My {
            install_db: find_program(&["mariadb-install-db", "mysql_install_db"])
                .ok_or("no mariadb-install-db in PATH")?,
            mariadbd: find_program(&["mariadbd", "mysqld"]).ok_or("no mariadbd in PATH")?,
        }),
    }
}

/// Where servers and templates live: `WEIR_PRIVATE_DIR`, else `/dev/shm` (copying a data
/// directory of a thousand files there takes a tenth of the time it takes on a loaded disk),
/// else the temp dir.
fn base_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_PRIVATE_DIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    let writable = shm.is_dir()
        && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly())
        && std::fs::create_dir_all(shm.join("weir-probe")).is_ok();
    if writable {
        let _ = std::fs::remove_dir(shm.join("weir-probe"));
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn chown_postgres(path: &Path) -> Result<(), String> {
    if is_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path))?;
    }
    Ok(())
}

/// Makes the template data directory once: built aside, then renamed into place, so that a
/// half-made template is never used (also by a concurrent test process).
fn make_template(bins: &Bins) -> Result<PathBuf, String> {
    let (name, marker, program) = match bins {
        Bins::Pg { bindir } => ("pg", "PG_VERSION", bindir),
        Bins::My { install_db, .. } => ("my", "mysql", install_db),
    };
    // Named after the binaries too: another server version needs a template of its own.
    let slug: String = program
        .display()
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let tmp = base_dir();
    let target = tmp.join(format!(
        "weir-private-{name}-template-v{TEMPLATE_VERSION}{slug}"
    ));
    if target.join("data").join(marker).exists() {
        return Ok(target);
    }
    let work = tmp.join(format!(
        "weir-private-{name}-template-v{TEMPLATE_VERSION}.{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let data = work.join("data");
    let made = match bins {
        Bins::Pg { bindir } => chown_postgres(&work).and_then(|()| {
            run(as_postgres(&bindir.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "-N", "-E", "UTF8"])
                .args(["--locale=C", "--wal-segsize=1"]))
            .and_then(|()| {
                // The tests' database, made once here: CREATE DATABASE per server costs a
                // copy of template1.
                run_with_input(
                    as_postgres(&bindir.join("postgres"))
                        .args(["--single", "-D"])
                        .arg(&data)
                        .arg("template1"),
                    "ALTER DATABASE postgres RENAME TO weir\n",
                )
            })
        }),
        Bins::My { install_db, .. } => {
            let mut c = Command::new(install_db);
            c.arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                .args(["--innodb-log-file-size=4M"]);
            if is_root() {
                c.arg("--user=root");
            }
            run(&mut c)
        }
    };
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&work);
        return Err(e);
    }
    if std::fs::rename(&work, &target).is_err() {
        // Another process made it first.
        let _ = std::fs::remove_dir_all(&work);
    }
    if target.join("data").join(marker).exists() {
        Ok(target)
    } else {
        Err(format!("template {} not usable", target.display()))
    }
}

/// A literal for SQL text: the quote doubled, and (MySQL) the backslash escaped.
fn literal(backend: Backend, s: &str) -> String {
    let s = match backend {
        Backend::Postgres => s.replace('\'', "''"),
        Backend::MySql => s.replace('\\', "\\\\").replace('\'', "''"),
    };
    format!("'{s}'")
}

impl PrivateServer {
    /// Starts a private server of `backend`, with a database `weir` and, if asked, the user
    /// `weir` with a password and TLS. `None` when a binary is missing (SKIPPED is printed);
    /// under `CI=true` that fails the test instead.
    pub(crate) async fn start(backend: Backend, options: Options) -> Option<PrivateServer> {
        let bins = match find_bins(backend) {
            Ok(b) => b,
            Err(e) if in_ci() => panic!("CI=true and no private {backend} server possible: {e}"),
            Err(e) => {
                eprintln!("SKIPPED: no private {backend} server: {e}");
                return None;
            }
        };
        let turn = TURN.lock().await;
        let started = Instant::now();
        let template = match backend {
            Backend::Postgres => &PG_TEMPLATE,
            Backend::MySql => &MY_TEMPLATE,
        };
        let template = template
            .get_or_try_init(|| async { tokio::task::block_in_place(|| make_template(&bins)) })
            .await
            .unwrap_or_else(|e| panic!("template for a private {backend}: {e}"))
            .clone();
        let dir = base_dir().join(format!(
            "weir-{}-{}-{}",
            match backend {
                Backend::Postgres => "pg",
                Backend::MySql => "my",
            },
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = PrivateServer {
            backend,
            bins,
            dir,
            port: free_port(),
            child: None,
            running: false,
            _turn: turn,
        };
        tokio::task::block_in_place(|| server.prepare(&template, &options))
            .unwrap_or_else(|e| panic!("preparing a private {backend}: {e}"));
        server.start_again().await;
        server.setup(&options).await;
        eprintln!(
            "private {backend} on port {} ready in {:?}",
            server.port,
            started.elapsed()
        );
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Copies the template and writes the configuration.
    fn prepare(&self, template: &Path, options: &Options) -> Result<(), String> {
        run(Command::new("cp")
            .arg("-a")
            .arg(template.join("data"))
            .arg(self.data()))?;
        if let Some((cert, key)) = &options.tls {
            let write = |name: &str, pem: &str| {
                let path = self.dir.join(name);
                std::fs::write(&path, pem).map_err(|e| e.to_string())?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| e.to_string())
            };
            write("server.crt", cert)?;
            write("server.key", key)?;
        }
        if let Bins::Pg { .. } = self.bins {
            let mut conf = format!(
                "\n# weir private server\nport = {}\nlisten_addresses = '127.0.0.1'\n\
                 unix_socket_directories = '{}'\nmax_connections = 50\nshared_buffers = 16MB\n",
                self.port,
                self.dir.display()
            );
            if options.tls.is_some() {
                conf.push_str(&format!(
                    "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                    self.dir.display()
                ));
            }
            let mut all = std::fs::read_to_string(self.data().join("postgresql.conf"))
                .map_err(|e| e.to_string())?;
            all.push_str(&conf);
            std::fs::write(self.data().join("postgresql.conf"), all).map_err(|e| e.to_string())?;
            // The password user must prove it; everyone else is trusted.
            std::fs::write(
                self.data().join("pg_hba.conf"),
                "local all all trust\n\
                 host all weir 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 trust\n",
            )
            .map_err(|e| e.to_string())?;
            chown_postgres(&self.dir)?;
        }
        Ok(())
    }

    /// Creates the database `weir` (PostgreSQL's template has it), and the password user if
    /// asked.
    async fn setup(&self, options: &Options) {
        let admin = Database::connect_with(self.admin_config()).await.unwrap();
        let b = self.backend;
        if b == Backend::MySql {
            admin.execute_script("CREATE DATABASE weir").await.unwrap();
        }
        if let Some(pw) = &options.password {
            let sql = match b {
                Backend::Postgres => format!(
                    "SET password_encryption = 'scram-sha-256'; \
                     CREATE ROLE weir LOGIN SUPERUSER PASSWORD {}",
                    literal(b, pw)
                ),
                Backend::MySql => format!(
                    "CREATE USER 'weir'@'127.0.0.1' IDENTIFIED BY {}; \
                     GRANT ALL PRIVILEGES ON *.* TO 'weir'@'127.0.0.1'",
                    literal(b, pw)
                ),
            };
            admin.execute_script(&sql).await.unwrap();
        }
        admin.close(Duration::from_secs(1)).await;
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// The server's TCP address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The superuser (no password), on the database `weir`, over TCP without TLS.
    pub(crate) fn config(&self) -> DatabaseConfig {
        let url = match self.backend {
            Backend::Postgres => format!(
                "postgres://postgres@127.0.0.1:{}/weir?sslmode=disable",
                self.port
            ),
            Backend::MySql => format!("mysql://root@127.0.0.1:{}/weir?sslmode=disable", self.port),
        };
        DatabaseConfig::from_url(&url)
            .unwrap()
            .with_max_size(4)
            .with_connect_timeout(Duration::from_secs(2))
            .with_acquire_timeout(Duration::from_secs(5))
    }

    /// The superuser on no particular database (MySQL) or `template1`: sessions the health
    /// check does not count.
    pub(crate) fn admin_config(&self) -> DatabaseConfig {
        let url = match self.backend {
            Backend::Postgres => format!(
                "postgres://postgres@127.0.0.1:{}/template1?sslmode=disable",
                self.port
            ),
            Backend::MySql => format!("mysql://root@127.0.0.1:{}?sslmode=disable", self.port),
        };
        DatabaseConfig::from_url(&url)
            .unwrap()
            .with_max_size(1)
            .with_connect_timeout(Duration::from_secs(2))
            .with_retry(RetryPolicy::never())
    }

    /// Starts the stopped server on the same port and data directory; returns once it answers
    /// a query.
    pub(crate) async fn start_again(&mut self) {
        assert!(!self.running, "already running");
        tokio::task::block_in_place(|| match &self.bins {
            Bins::Pg { bindir } => run(as_postgres(&bindir.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "60", "start"])),
            Bins::My { mariadbd, .. } => {
                let mut c = Command::new(mariadbd);
                c.arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data().display()))
                    .arg(format!("--port={}", self.port))
                    .arg(format!("--socket={}", self.dir.join("my.sock").display()))
                    .arg(format!("--pid-file={}", self.dir.join("my.pid").display()))
                    .arg(format!(
                        "--log-error={}",
                        self.dir.join("server.log").display()
                    ))
                    .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
                    .args(["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=32M"])
                    .args(["--max-connections=100"]);
                if self.dir.join("server.crt").exists() {
                    c.arg(format!(
                        "--ssl-cert={}",
                        self.dir.join("server.crt").display()
                    ))
                    .arg(format!(
                        "--ssl-key={}",
                        self.dir.join("server.key").display()
                    ));
                }
                if is_root() {
                    c.arg("--user=root");
                }
                let child = c
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .map_err(|e| format!("{c:?}: {e}"))?;
                self.child = Some(child);
                Ok(())
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()));
        self.running = true;
        let admin = self.admin_config();
        let ready = eventually(Duration::from_secs(60), || {
            let admin = admin.clone();
            async move {
                match Database::connect_with(admin).await {
                    Ok(db) => {
                        db.close(Duration::from_secs(1)).await;
                        true
                    }
                    Err(_) => false,
                }
            }
        })
        .await;
        if !ready {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("mariadbd exited ({status})\n{}", self.log_tail());
                }
            }
            panic!(
                "private server did not answer within 60 s\n{}",
                self.log_tail()
            );
        }
    }

    /// Stops the server cleanly: `pg_ctl stop -m fast`, or SIGTERM to `mariadbd` (its normal
    /// shutdown), and waits until it is gone.
    pub(crate) async fn stop(&mut self) {
        self.halt(false).await;
    }

    /// Crashes the server: `pg_ctl stop -m immediate` (no checkpoint, crash recovery at the
    /// next start), or SIGKILL to `mariadbd`.
    pub(crate) async fn crash(&mut self) {
        self.halt(true).await;
    }

    /// Restarts the server: `pg_ctl restart -m fast`, or a normal MariaDB shutdown followed by
    /// a start. Returns once it answers a query.
    pub(crate) async fn restart(&mut self) {
        match &self.bins {
            Bins::Pg { bindir } => {
                let bindir = bindir.clone();
                tokio::task::block_in_place(|| {
                    run(as_postgres(&bindir.join("pg_ctl"))
                        .arg("-D")
                        .arg(self.data())
                        .arg("-l")
                        .arg(self.dir.join("server.log"))
                        .args(["-m", "fast", "-w", "-t", "60", "restart"]))
                })
                .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()));
                // pg_ctl waited for the start; this proves a query gets through.
                self.wait_answers().await;
            }
            Bins::My { .. } => {
                self.stop().await;
                self.start_again().await;
            }
        }
    }

    async fn wait_answers(&self) {
        let admin = self.admin_config();
        assert!(
            eventually(Duration::from_secs(60), || {
                let admin = admin.clone();
                async move { Database::connect_with(admin).await.is_ok() }
            })
            .await,
            "private server did not answer after a restart\n{}",
            self.log_tail()
        );
    }

    async fn halt(&mut self, crash: bool) {
        assert!(self.running, "not running");
        tokio::task::block_in_place(|| match &self.bins {
            Bins::Pg { bindir } => run(as_postgres(&bindir.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-m", if crash { "immediate" } else { "fast" }])
                .args(["-w", "-t", "60", "stop"])),
            Bins::My { .. } => {
                let mut child = self.child.take().ok_or("no mariadbd child")?;
                if crash {
                    child.kill().map_err(|e| e.to_string())?;
                } else {
                    run(Command::new("kill").args(["-TERM", &child.id().to_string()]))?;
                }
                let status = child.wait().map_err(|e| e.to_string())?;
                if !crash && !status.success() {
                    return Err(format!("mariadbd shut down with {status}"));
                }
                Ok(())
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()));
        self.running = false;
    }

    /// The end of the server's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The health check after a fault, on a private server: all `max` connections of `db` can be
/// taken at once; each is a session of its own that answers a nonce of its own (a stale result
/// of an abandoned query would not match); the server shows each of them idle and outside any
/// transaction; and it holds no more sessions on the database `weir` than `max`.
///
/// Other pools on the database `weir` must be closed first: they would be counted.
pub(crate) async fn assert_private_pool_healthy(server: &PrivateServer, db: &Database, max: usize) {
    let acquired = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::future::join_all((0..max).map(|_| db.acquire())),
    )
    .await
    .expect("taking every connection of the pool at once hung");
    let conns: Vec<_> = acquired
        .into_iter()
        .enumerate()
        .map(|(i, c)| c.unwrap_or_else(|e| panic!("connection {i} of {max}: {e:?}")))
        .collect();
    let backend = server.backend();
    let seed = std::process::id() as i64 * 1_000_003
        + Instant::now().elapsed().subsec_nanos() as i64
        + NEXT.fetch_add(1, Ordering::Relaxed) as i64 * 7919;
    let session_sql = match backend {
        Backend::Postgres => "SELECT $1::int8 + 0, pg_backend_pid()::int8",
        Backend::MySql => "SELECT $1 + 0, CAST(CONNECTION_ID() AS SIGNED)",
    };
    let mut sessions = Vec::new();
    for (i, conn) in conns.iter().enumerate() {
        let nonce = seed + i as i64 * 104_729;
        let (echo, session): (i64, i64) = conn
            .fetch_one(session_sql, (nonce,))
            .await
            .unwrap_or_else(|e| panic!("connection {i} of {max} failed its nonce: {e:?}"));
        assert_eq!(
            echo, nonce,
            "connection {i} answered another query's result"
        );
        sessions.push(session);
    }
    let mut distinct = sessions.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        max,
        "two connections share a session: {sessions:?}"
    );

    let admin = Database::connect_with(server.admin_config()).await.unwrap();
    for &session in &sessions {
        match backend {
            Backend::Postgres => {
                let (state, in_tx): (String, bool) = admin
                    .fetch_one(
                        "SELECT state, xact_start IS NOT NULL FROM pg_stat_activity WHERE pid::int8 = $1",
                        (session,),
                    )
                    .await
                    .unwrap();
                assert_eq!(
                    (state.as_str(), in_tx),
                    ("idle", false),
                    "session {session}"
                );
            }
            Backend::MySql => {
                let command: String = admin
                    .fetch_scalar(
                        "SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = $1",
                        (session,),
                    )
                    .await
                    .unwrap();
                assert_eq!(command, "Sleep", "session {session}");
                let in_trx = crate::common::innodb_trx_threads(&admin).await;
                assert!(
                    !in_trx.contains(&session),
                    "session {session} is inside a transaction"
                );
            }
        }
    }
    let count_sql = match backend {
        Backend::Postgres => "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = 'weir'",
        Backend::MySql => "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = 'weir'",
    };
    let started = Instant::now();
    loop {
        let seen: i64 = admin.fetch_scalar(count_sql, ()).await.unwrap();
        if seen <= max as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{seen} sessions on the server for a pool of {max}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    admin.close(Duration::from_secs(1)).await;
    drop(conns);
}
