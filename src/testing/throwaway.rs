//! A PostgreSQL server of its own, started from the installed binaries and removed when dropped:
//! for a quickstart on a machine with no server running, or tests that must not touch a shared
//! one. It lives in a fresh data directory (under `/dev/shm` where there is one), listens on
//! 127.0.0.1 on a free port below 32768 (the kernel lends the ports above to outgoing
//! connections), lets in only the holder of a random password (other users of the machine
//! share its loopback), and runs as the `postgres` OS user when started by root (PostgreSQL
//! refuses to run as root). Its directory has a random name and mode 0700.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// A throwaway PostgreSQL server; dropping it stops the server and removes its data.
pub struct ThrowawayPostgres {
    bindir: PathBuf,
    dir: PathBuf,
    url: String,
}

impl ThrowawayPostgres {
    /// Starts one and waits until it accepts connections (a few seconds: `initdb` runs).
    ///
    /// The binaries are found in `WEIR_PG_BINDIR`, else in the newest
    /// `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package), else wherever
    /// `pg_config --bindir` says.
    ///
    /// # Errors
    /// [`Error::Config`] saying what is missing (the binaries; running as root, `runuser` or a
    /// `postgres` OS user) or which step failed, with its output.
    pub async fn start() -> Result<ThrowawayPostgres> {
        tokio::task::spawn_blocking(start_blocking)
            .await
            .map_err(|e| Error::Config(format!("starting a throwaway PostgreSQL: {e}")))?
    }

    /// The URL of its `postgres` database, as user `postgres`, with the server's password.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Debug for ThrowawayPostgres {
    /// The directory and the port; never the URL, which holds the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThrowawayPostgres")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Drop for ThrowawayPostgres {
    /// Stops the server at once (its data is thrown away) and removes the directory; blocks for
    /// as long as `pg_ctl stop` takes.
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_postgres(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_blocking() -> Result<ThrowawayPostgres> {
    let bindir = find_bindir()?;
    if is_root() {
        if find_program("runuser").is_none() {
            return Err(fail(
                "running as root, and there is no `runuser` to run it as `postgres`",
            ));
        }
        if !Command::new("id")
            .arg("postgres")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Err(fail(
                "running as root, and there is no `postgres` OS user to run it as",
            ));
        }
    }
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let port = free_port()?;
    // A name nobody can guess, made with create_dir (never reusing what is there) and mode
    // 0700: a shared /dev/shm must not let another user plant or read anything in it.
    let dir = base.join(format!("weir-throwaway-pg-{}-{port}", random_hex(8)?));
    private_dir(&dir).map_err(|e| fail(&format!("{}: {e}", dir.display())))?;
    let password = random_hex(16)?;
    // From here on, dropping it removes what was made, even when a step fails.
    let server = ThrowawayPostgres {
        url: format!("postgres://postgres:{password}@127.0.0.1:{port}/postgres?sslmode=disable"),
        bindir,
        dir,
    };
    let pwfile = server.dir.join("pwfile");
    std::fs::write(&pwfile, &password).map_err(|e| fail(&format!("{}: {e}", pwfile.display())))?;
    if is_root() {
        run(Command::new("chown")
            .arg("-R")
            .arg("postgres:")
            .arg(&server.dir))?;
    }
    let data = server.dir.join("data");
    let initdb = run(as_postgres(&server.bindir.join("initdb"))
        .arg("-D")
        .arg(&data)
        .arg(format!("--pwfile={}", pwfile.display()))
        .args([
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            "-N",
            "-E",
            "UTF8",
            "--locale=C",
        ]));
    let _ = std::fs::remove_file(&pwfile);
    initdb?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
        server.dir.display()
    );
    run(as_postgres(&server.bindir.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(server.dir.join("log"))
        .args(["-o", &options, "-w", "start"]))?;
    Ok(server)
}

/// `bytes` random bytes from the kernel, as hex.
fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| fail(&format!("/dev/urandom: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates `dir`, which must not exist yet, readable by its owner only.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn fail(why: &str) -> Error {
    Error::Config(format!("cannot start a throwaway PostgreSQL: {why}"))
}

/// PostgreSQL's bin directory: `WEIR_PG_BINDIR`, Debian's newest, or `pg_config --bindir`.
fn find_bindir() -> Result<PathBuf> {
    let has_bins = |d: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(dir) = std::env::var_os("WEIR_PG_BINDIR").map(PathBuf::from) {
        return if has_bins(&dir) {
            Ok(dir)
        } else {
            Err(fail(&format!(
                "no initdb, pg_ctl and postgres in WEIR_PG_BINDIR ({})",
                dir.display()
            )))
        };
    }
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| has_bins(d))
        .collect();
    debian.sort();
    if let Some((_, dir)) = debian.pop() {
        return Ok(dir);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match from_pg_config {
        Some(dir) if has_bins(&dir) => Ok(dir),
        _ => Err(fail(
            "no PostgreSQL binaries (initdb, pg_ctl, postgres) installed",
        )),
    }
}

/// A port below 32768 nobody listens on now.
fn free_port() -> Result<u16> {
    let start = 20_000 + (std::process::id() % 10_000) as u16;
    (start..32_000)
        .chain(20_000..start)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .ok_or_else(|| fail("no free port below 32768"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn find_program(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `program` run as the `postgres` OS user when we are root.
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
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(&format!("{cmd:?}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(fail(&format!(
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}
