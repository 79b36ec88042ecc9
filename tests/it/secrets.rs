//! Secrets stay secret: a canary password full of URL-special characters, given by URL and by
//! the builder, appears in no `Debug` or `Display` of a config, a pool or an error, and in no
//! log line at any level down to TRACE, weir's own or the drivers' (`tracing` and `log`). The
//! SQL text is in the DEBUG span; parameter values are in no log line at all. (The CLI, which
//! also takes the URL from the environment, is checked in `cli/tests/cli.rs`.)

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use weir::{Backend, Database, DatabaseConfig, Executor};

use crate::both_backends;
use crate::common::Ctx;

/// Starts and ends with plain letters, so that a leak shows even where `Debug` escapes the
/// quotes in the middle.
pub const CANARY: &str = "zq7Canary@:/?#%&'\"Tail9wd";
/// The same, percent-encoded for a URL.
pub const CANARY_URL: &str = "zq7Canary%40%3A%2F%3F%23%25%26%27%22Tail9wd";
const PARAM: &str = "pv8ParamValue";

/// Whether `text` shows the canary, whole or in part, plain or percent-encoded.
pub fn leaks(text: &str) -> bool {
    ["zq7Canary", "Tail9wd", CANARY_URL]
        .iter()
        .any(|s| text.contains(s))
}

both_backends!(canary_password_is_in_no_output_or_log_line);

/// Every span (name, level, fields, later records) and every event, as lines of text.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<Vec<String>>>,
    next_id: Arc<AtomicU64>,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl Capture {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut f = Fields(String::new());
        span.record(&mut f);
        let m = span.metadata();
        self.push(format!(
            "{} span {} {}:{}",
            m.level(),
            m.name(),
            m.target(),
            f.0
        ));
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut f = Fields(String::new());
        values.record(&mut f);
        self.push(format!("record:{}", f.0));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        let m = event.metadata();
        self.push(format!("{} event {}:{}", m.level(), m.target(), f.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

thread_local! {
    /// The `log` records of this thread go here while a test captures.
    static LOG_SINK: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// A process-wide `log` logger that forwards only to the capturing thread's sink, so that
/// tests running in parallel on other threads are not recorded (nor slowed beyond a check).
struct ThreadLogger;

impl log::Log for ThreadLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        LOG_SINK.with(|s| s.borrow().is_some())
    }
    fn log(&self, record: &log::Record<'_>) {
        LOG_SINK.with(|s| {
            if let Some(c) = s.borrow().as_ref() {
                c.push(format!(
                    "{} log {}: {}",
                    record.level(),
                    record.target(),
                    record.args()
                ));
            }
        });
    }
    fn flush(&self) {}
}

/// A subscriber that records nothing, kept registered for the whole run (see
/// [`install_log_bridge`]).
struct Bystander;

impl Subscriber for Bystander {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::OFF)
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the `log` bridge, and keeps a second `tracing` dispatch alive for the rest of the
/// run. With a capture as the only registered dispatch, tracing-core (0.1.36) works out a new
/// callsite's interest from the default of whichever thread reaches it first; a test on
/// another thread, with no subscriber, then caches "never" for a span such as `weir.call`, and
/// the capture missed it (a rare flake under load; tokio-rs/tracing#3611).
/// With two registered, every callsite is "sometimes" and asks the current thread's default.
fn install_log_bridge() {
    static ONCE: Once = Once::new();
    static BYSTANDER: OnceLock<tracing::Dispatch> = OnceLock::new();
    ONCE.call_once(|| {
        if log::set_logger(&ThreadLogger).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
        BYSTANDER.get_or_init(|| tracing::Dispatch::new(Bystander));
    });
}

/// Runs `body` on a single-threaded runtime of its own, on this thread, with every `tracing`
/// span and event and every `log` record captured; returns the captured lines.
pub fn captured<F>(body: F) -> String
where
    F: std::future::Future<Output = ()>,
{
    install_log_bridge();
    let capture = Capture::default();
    LOG_SINK.with(|s| *s.borrow_mut() = Some(capture.clone()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(capture.clone(), || runtime.block_on(body));
    drop(runtime);
    LOG_SINK.with(|s| *s.borrow_mut() = None);
    capture.text()
}

fn scheme(b: Backend) -> &'static str {
    match b {
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// The canary password by URL (percent-encoded) and by the builder: the configs parse to the
/// same password and show none of it; connecting (PostgreSQL's trust auth lets it in, MariaDB
/// refuses it: the authentication failure path) and running a query with a parameter log
/// nothing of it at TRACE, in weir's spans or the drivers' logs; the query's SQL is in its
/// DEBUG span and its parameter value in no line.
async fn canary_password_is_in_no_output_or_log_line(ctx: Ctx) {
    let c = &ctx.config;
    let url = format!(
        "{}://{}:{CANARY_URL}@{}:{}/{}?sslmode=disable&connect_timeout=3s",
        scheme(ctx.backend),
        c.user(),
        c.host(),
        c.port(),
        c.database().unwrap()
    );
    let by_url = DatabaseConfig::from_url(&url).unwrap();
    let by_builder = ctx.config.clone().with_password(CANARY);
    let backend = ctx.backend;
    let sql = ctx.sql(
        "SELECT $1::text AS v /* sql-marker-42 */",
        "SELECT CAST($1 AS CHAR) AS v /* sql-marker-42 */",
    );
    let mut outputs = Vec::new();
    for cfg in [by_url, by_builder] {
        outputs.push(format!("{cfg:?}"));
        let cfg2 = cfg.clone();
        let lines = tokio::task::block_in_place(|| {
            captured(async move {
                let r = Database::connect_with(cfg2.clone()).await;
                match (backend, r) {
                    (Backend::Postgres, Ok(db)) => {
                        tracing::info!(target: "secrets-test", "pool: {db:?}");
                        let v: String = db.fetch_scalar(sql, (PARAM,)).await.unwrap();
                        assert_eq!(v, PARAM);
                        tracing::info!(target: "secrets-test", "config: {:?}", db.config());
                        db.close(Duration::from_secs(1)).await;
                    }
                    (Backend::MySql, Err(e)) => {
                        assert!(
                            matches!(
                                e,
                                weir::Error::Connect {
                                    kind: weir::ConnectErrorKind::Authentication,
                                    ..
                                }
                            ),
                            "{e:?}"
                        );
                        tracing::info!(target: "secrets-test", "error: {e} / {e:?}");
                        // The same pool lazily: its calls fail with the same error.
                        let db = Database::connect_lazy_with(cfg2).unwrap();
                        let e = db.execute("SELECT 1", ()).await.unwrap_err();
                        tracing::info!(target: "secrets-test", "call error: {e} / {e:?} / {db:?}");
                    }
                    (b, r) => panic!("{b}: unexpected connect outcome {:?}", r.err()),
                }
            })
        });
        outputs.push(lines);
    }
    // The query path on MariaDB too, on the test's own (password-less) settings.
    let plain = ctx.config.clone().with_max_size(1);
    let lines = tokio::task::block_in_place(|| {
        captured(async move {
            let db = Database::connect_with(plain).await.unwrap();
            let v: String = db.fetch_scalar(sql, (PARAM,)).await.unwrap();
            assert_eq!(v, PARAM);
            db.close(Duration::from_secs(1)).await;
        })
    });
    outputs.push(lines);
    let all = outputs.join("\n");
    for (i, out) in outputs.iter().enumerate() {
        assert!(!leaks(out), "output {i} shows the canary:\n{out}");
    }
    assert!(
        !all.contains(PARAM),
        "a parameter value was logged:\n{}",
        all.lines()
            .filter(|l| l.contains(PARAM))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let sql_span = all
        .lines()
        .find(|l| l.contains("span weir.call") && l.contains("sql-marker-42"))
        .unwrap_or_else(|| panic!("no weir.call span with the SQL:\n{all}"));
    assert!(sql_span.starts_with("DEBUG"), "{sql_span}");
    assert!(all.contains("secrets-test"), "the capture saw nothing");
    if ctx.backend == Backend::Postgres {
        // The driver's own `log` lines were captured too (tokio-postgres logs each statement).
        assert!(
            all.contains("log tokio_postgres") && all.contains("with parameters: [$1 (&str)]"),
            "{all}"
        );
    }
    eprintln!(
        "{}: {} captured lines checked, none with the canary or the parameter",
        ctx.backend,
        all.lines().count()
    );
}
