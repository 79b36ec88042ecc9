//! Tracing: each call's span carries OpenTelemetry's database attributes (system, database,
//! query text with its placeholders, operation, server) and, on failure, the server's code and
//! `error.type`; a parameter value is in no span or event. The pool's DEBUG events name a
//! connection opened, one discarded mid-statement and one closed, with why.

use std::time::Duration;

use weir::{Backend, Database, DatabaseConfig, Executor};

use crate::both_backends;
use crate::common::Ctx;
use crate::secrets::captured;

both_backends!(
    select_span_carries_the_database_attributes,
    failed_statement_span_carries_code_and_error_type,
    streamed_query_span_lasts_until_its_rows_end,
    pool_life_events_name_open_discard_and_close,
);

/// A parameter value that must appear in no captured line.
const VALUE: &str = "sp5SpanParamValue";

/// Runs `body` against a fresh pool built from `cfg`, capturing every span and event; returns
/// them as lines, with the server's name.
fn capture_with<F, Fut>(cfg: DatabaseConfig, body: F) -> (String, &'static str)
where
    F: FnOnce(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut server = "";
    let text = tokio::task::block_in_place(|| {
        captured(async {
            let db = Database::connect_with(cfg).await.unwrap();
            server = db.server_name();
            body(db.clone()).await;
            db.close(Duration::from_secs(1)).await;
        })
    });
    (text, server)
}

/// The `weir.call` span's line and every field recorded after it, as one line of
/// ` name=value` pairs: each capture below runs one call.
fn call_fields(text: &str) -> String {
    let mut lines = text.lines().skip_while(|l| !l.contains("span weir.call "));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no weir.call span:\n{text}"));
    let records: Vec<&str> = lines.filter_map(|l| l.strip_prefix("record:")).collect();
    format!(
        "{}{}",
        &head[head.find(':').unwrap() + 1..],
        records.join("")
    )
}

/// `db.system.name` for the server's own name.
fn system_name(server: &str) -> &'static str {
    match server {
        "PostgreSQL" => "postgresql",
        "MariaDB" => "mariadb",
        "MySQL" => "mysql",
        other => panic!("unexpected server {other}"),
    }
}

fn assert_has(fields: &str, want: &str) {
    assert!(fields.contains(want), "want `{want}` in:\n{fields}");
}

/// A SELECT with a bound parameter: the span names system, database, query text (with `$1`,
/// not the value), operation and server, is named `SELECT {database}` for OpenTelemetry, and
/// carries no failure attribute; the value is in no line.
async fn select_span_carries_the_database_attributes(ctx: Ctx) {
    let sql = ctx.sql(
        "SELECT $1::text AS v /* span-ok */",
        "SELECT CAST($1 AS CHAR) AS v /* span-ok */",
    );
    let (text, server) = capture_with(ctx.config.clone(), |db| async move {
        let v: String = db.fetch_scalar(sql, (VALUE,)).await.unwrap();
        assert_eq!(v, VALUE);
    });
    let fields = call_fields(&text);
    let c = &ctx.config;
    let database = c.database().unwrap();
    if ctx.backend == Backend::MySql {
        assert!(server == "MariaDB" || server == "MySQL", "{server}");
    }
    assert_has(&fields, &format!(" db.system.name={}", system_name(server)));
    assert_has(&fields, &format!(" db.namespace={database}"));
    assert_has(&fields, &format!(" db.query.text={sql}"));
    assert_has(&fields, " db.operation.name=SELECT");
    assert_has(&fields, &format!(" server.address={}", c.host()));
    assert_has(&fields, &format!(" server.port={}", c.port()));
    assert_has(&fields, &format!(" otel.name=SELECT {database}"));
    assert_has(&fields, " otel.kind=client");
    assert_has(&fields, " weir.lane=default");
    for absent in ["error.type", "db.response.status_code", "otel.status_code"] {
        assert!(!fields.contains(absent), "{absent} on a success:\n{fields}");
    }
    assert!(
        !text.contains(VALUE),
        "the parameter value was logged:\n{text}"
    );
}

/// A statement the server refuses: its span carries the server's code (SQLSTATE 42P01 on
/// PostgreSQL, error 1146 on MySQL and MariaDB) as `db.response.status_code` and `error.type`,
/// and the error status; an error of weir's own (a decode) names its kind, with no code.
async fn failed_statement_span_carries_code_and_error_type(ctx: Ctx) {
    let sql = "SELECT * FROM span_no_such_table WHERE id = $1";
    let (text, _) = capture_with(ctx.config.clone(), |db| async move {
        let e = db.execute(sql, (VALUE,)).await.unwrap_err();
        assert!(e.code().is_some(), "{e:?}");
    });
    let fields = call_fields(&text);
    let code = ctx.sql("42P01", "1146");
    assert_has(&fields, &format!(" db.response.status_code={code}"));
    assert_has(&fields, &format!(" error.type={code}"));
    assert_has(&fields, " otel.status_code=error");
    assert_has(&fields, &format!(" db.query.text={sql}"));
    assert!(
        !text.contains(VALUE),
        "the parameter value was logged:\n{text}"
    );

    let (text, _) = capture_with(ctx.config.clone(), |db| async move {
        let e = db
            .fetch_scalar::<i64, _>("SELECT 'x'", ())
            .await
            .unwrap_err();
        assert!(matches!(e, weir::Error::Decode { .. }), "{e:?}");
    });
    let fields = call_fields(&text);
    assert_has(&fields, " error.type=decode");
    assert!(!fields.contains("db.response.status_code"), "{fields}");
}

/// A streamed query's span carries the same attributes, and a stream the server refuses its
/// code; the parameter value is in neither.
async fn streamed_query_span_lasts_until_its_rows_end(ctx: Ctx) {
    use futures_util::TryStreamExt as _;
    let sql = ctx.sql(
        "SELECT $1::text AS v /* span-stream */",
        "SELECT CAST($1 AS CHAR) AS v /* span-stream */",
    );
    let (text, server) = capture_with(ctx.config.clone(), |db| async move {
        let rows: Vec<(String,)> = db
            .fetch_stream::<(String,), _>(sql, (VALUE,))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rows, [(VALUE.to_string(),)]);
    });
    let fields = call_fields(&text);
    assert_has(&fields, &format!(" db.system.name={}", system_name(server)));
    assert_has(&fields, &format!(" db.query.text={sql}"));
    assert_has(&fields, &format!(" server.port={}", ctx.config.port()));
    assert!(!fields.contains("error.type"), "{fields}");
    assert!(
        !text.contains(VALUE),
        "the parameter value was logged:\n{text}"
    );

    let bad = "SELECT * FROM span_no_such_stream_table";
    let (text, _) = capture_with(ctx.config.clone(), |db| async move {
        let r: weir::Result<Vec<(i64,)>> =
            db.fetch_stream::<(i64,), _>(bad, ()).try_collect().await;
        assert!(r.unwrap_err().code().is_some());
    });
    let fields = call_fields(&text);
    let code = ctx.sql("42P01", "1146");
    assert_has(&fields, &format!(" db.response.status_code={code}"));
    assert_has(&fields, " otel.status_code=error");
}

/// The pool's life at DEBUG: the connection `connect` opens, the one a statement past its
/// 1 s deadline is cut from (and whose span says `query_timeout`), and the idle ones `close`
/// closes, each with the server, and the reason it was closed.
async fn pool_life_events_name_open_discard_and_close(ctx: Ctx) {
    let sleep = ctx.sql("SELECT pg_sleep(5)", "SELECT SLEEP(5)");
    let (text, _) = capture_with(ctx.config.clone().with_min_idle(2), |db| async move {
        let e = db
            .with_timeout(Duration::from_secs(1))
            .execute(sleep, ())
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{e:?}");
    });
    let server = format!("server={}:{}", ctx.config.host(), ctx.config.port());
    let debug = |needle: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with("DEBUG event ") && l.contains(needle))
            .collect()
    };
    let opened = debug("connection opened");
    assert!(opened.len() >= 2, "{text}");
    assert!(opened.iter().all(|l| l.contains(&server)), "{opened:?}");
    let cut = debug("discarded mid-statement");
    assert_eq!(cut.len(), 1, "{text}");
    assert!(cut[0].contains("reason=mid_statement") && cut[0].contains(&server));
    let closed = debug("reason=pool_closed");
    assert!(!closed.is_empty(), "{text}");
    assert!(closed.iter().all(|l| l.contains("connection closed")));
    assert_has(&call_fields(&text), " error.type=query_timeout");
}
