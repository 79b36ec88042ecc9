//! Runs the real `weir` binary against PostgreSQL and MySQL/MariaDB, each test in a fresh
//! database of its own (see `weir::testing`).
//!
//! A server that does not answer skips the test with a message, except under `CI=true`, where
//! it fails.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use weir::testing::{self, TestDatabase};
use weir::{Backend, Database, Executor};

const BIN: &str = env!("CARGO_BIN_EXE_weir");
const BACKENDS: [Backend; 2] = [Backend::Postgres, Backend::MySql];

/// A fresh database and a URL for the binary to reach it.
struct Ctx {
    backend: Backend,
    url: String,
    tdb: TestDatabase,
}

impl Ctx {
    fn pg(&self) -> bool {
        self.backend == Backend::Postgres
    }

    fn db(&self) -> &Database {
        self.tdb.db()
    }

    /// Runs `weir --url <url> args...` with empty standard input.
    fn weir(&self, args: &[&str]) -> Output {
        self.weir_with_input(args, "")
    }

    fn weir_with_input(&self, args: &[&str], input: &str) -> Output {
        run_with_input(weir_cmd().arg("--url").arg(&self.url).args(args), input)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        weir_cmd()
            .arg("--url")
            .arg(&self.url)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start weir")
    }
}

/// The binary with no `DATABASE_URL` from the environment the tests run in.
fn weir_cmd() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("DATABASE_URL");
    cmd
}

fn run_with_input(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start weir");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    child.wait_with_output().expect("wait for weir")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts the exit code, showing the output when it differs.
#[track_caller]
fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// Asserts a failure reported the way the CLI promises: one `error:` line, no panic.
#[track_caller]
fn assert_one_error_line(o: &Output) -> String {
    let err = stderr(o);
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

/// The server URL the tests use, pointed at database `name`.
fn url_for(backend: Backend, name: &str) -> String {
    let server = std::env::var(testing::env_var(backend))
        .unwrap_or_else(|_| testing::default_url(backend).to_owned());
    let (scheme, rest) = server.split_once("://").expect("URL has a scheme");
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let authority = main.split('/').next().unwrap_or(main);
    match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// `url` with one more option; a repeated option overrides the earlier one.
fn with_option(url: &str, option: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{option}")
}

/// `url` with `password` added to its user, if it has none yet.
fn with_password(url: &str, password: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (user, host) = rest.split_once('@')?;
    (!user.contains(':')).then(|| format!("{scheme}://{user}:{password}@{host}"))
}

async fn setup(backend: Backend, test: &str) -> Option<Ctx> {
    match TestDatabase::create(backend, test).await {
        Ok(tdb) => Some(Ctx {
            backend,
            url: url_for(backend, tdb.name()),
            tdb,
        }),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{backend} server needed under CI: {e}")
        }
        Err(e) => {
            eprintln!("skipping {test} on {backend}: {e}");
            None
        }
    }
}

/// Runs `body` on each backend, in a fresh database dropped afterwards.
async fn each_backend(test: &str, body: impl AsyncFn(&Ctx)) {
    for backend in BACKENDS {
        let Some(ctx) = setup(backend, test).await else {
            continue;
        };
        body(&ctx).await;
        ctx.tdb.cleanup().await.expect("drop test database");
    }
}

/// Polls until no statement whose text contains `marker` runs on the server, for at most
/// `within`; returns whether it was gone in time.
async fn statement_gone(ctx: &Ctx, marker: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if running_statements(ctx, marker).await == 0 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Statements containing `marker` running on the server, other than this very query.
async fn running_statements(ctx: &Ctx, marker: &str) -> i64 {
    let pattern = format!("%{marker}%");
    let sql = if ctx.pg() {
        "SELECT count(*) FROM pg_stat_activity \
         WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()"
    } else {
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
         WHERE INFO LIKE $1 AND ID <> CONNECTION_ID()"
    };
    ctx.db()
        .fetch_scalar(sql, (pattern.as_str(),))
        .await
        .expect("read the server's activity")
}

fn sleep_sql(ctx: &Ctx, seconds: u32, marker: &str) -> String {
    if ctx.pg() {
        format!("SELECT pg_sleep({seconds}) AS {marker}")
    } else {
        format!("SELECT SLEEP({seconds}) AS {marker}")
    }
}

/// A three-row table with a unicode value, an RFC 4180 troublemaker, a NULL and an empty string.
async fn create_items(ctx: &Ctx) {
    let charset = if ctx.pg() {
        ""
    } else {
        " DEFAULT CHARSET = utf8mb4"
    };
    ctx.db()
        .execute(
            &format!(
                "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100), note VARCHAR(100)){charset}"
            ),
            (),
        )
        .await
        .unwrap();
    for (id, name, note) in [
        (1, "plain", Some("x")),
        (2, "Zoë 日本 🚀", None),
        (3, "a,b \"c\"\nd", Some("")),
    ] {
        ctx.db()
            .execute("INSERT INTO items VALUES ($1, $2, $3)", (id, name, note))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn query_prints_csv_json_and_table() {
    each_backend("cli_formats", async |ctx| {
        create_items(ctx).await;
        let sql = "SELECT id, name, note FROM items ORDER BY id";

        let o = ctx.weir(&["query", sql, "--format", "csv"]);
        assert_code(&o, 0);
        assert_eq!(
            stdout(&o),
            "id,name,note\r\n1,plain,x\r\n2,Zoë 日本 🚀,\r\n3,\"a,b \"\"c\"\"\nd\",\"\"\r\n"
        );

        let o = ctx.weir(&["query", sql, "--format", "json"]);
        assert_code(&o, 0);
        let out = stdout(&o);
        let rows: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(
            rows,
            [
                serde_json::json!({"id": 1, "name": "plain", "note": "x"}),
                serde_json::json!({"id": 2, "name": "Zoë 日本 🚀", "note": null}),
                serde_json::json!({"id": 3, "name": "a,b \"c\"\nd", "note": ""}),
            ]
        );
        assert!(
            out.starts_with("{\"id\":1,\"name\":"),
            "column order kept: {out}"
        );

        // The default format; wide characters take two columns, the newline is escaped.
        let o = ctx.weir(&["query", sql]);
        assert_code(&o, 0);
        assert_eq!(
            stdout(&o),
            concat!(
                " id | name        | note\n",
                "----+-------------+------\n",
                "  1 | plain       | x\n",
                "  2 | Zoë 日本 🚀 | NULL\n",
                "  3 | a,b \"c\"\\nd  |\n",
                "(3 rows)\n",
            )
        );
        assert_eq!(stderr(&o), "");
    })
    .await;
}

#[tokio::test]
async fn query_of_no_rows_prints_the_header() {
    each_backend("cli_no_rows", async |ctx| {
        create_items(ctx).await;
        let sql = "SELECT id, name FROM items WHERE id > $1";

        let o = ctx.weir(&["query", sql, "-p", "100"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), " id | name\n----+------\n(0 rows)\n");
        assert_eq!(stderr(&o), "");

        let o = ctx.weir(&["query", sql, "-p", "100", "--format", "csv"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "id,name\r\n");

        let o = ctx.weir(&["query", sql, "-p", "100", "--format", "json"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "");
    })
    .await;
}

#[tokio::test]
async fn query_of_a_statement_without_rows_prints_rows_affected() {
    each_backend("cli_query_affected", async |ctx| {
        create_items(ctx).await;
        let o = ctx.weir(&[
            "query",
            "UPDATE items SET note = 'y' WHERE id >= $1",
            "-p",
            "2",
        ]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "2 rows affected\n");
        assert_eq!(stderr(&o), "");

        let insert = "INSERT INTO items (id, name) VALUES (4, 'four')";
        let o = ctx.weir(&["query", insert, "--format", "csv"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "rows_affected\r\n1\r\n");
        let o = ctx.weir(&[
            "query",
            "DELETE FROM items WHERE id = 4",
            "--format",
            "json",
        ]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "{\"rows_affected\":1}\n");

        // Each ran once.
        let n: i64 = ctx
            .db()
            .fetch_scalar("SELECT COUNT(*) FROM items WHERE note = 'y'", ())
            .await
            .unwrap();
        assert_eq!(n, 2);
        let n: i64 = ctx
            .db()
            .fetch_scalar("SELECT COUNT(*) FROM items", ())
            .await
            .unwrap();
        assert_eq!(n, 3, "the insert and the delete each ran once");
    })
    .await;
}

#[tokio::test]
async fn exec_counts_selected_rows_the_same_on_both_backends() {
    each_backend("cli_exec_select", async |ctx| {
        create_items(ctx).await;
        let o = ctx.weir(&["exec", "SELECT id FROM items WHERE id <= 2"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "2 rows affected\n");

        let o = ctx.weir(&["exec", "SELECT id FROM items WHERE id > 100"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "0 rows affected\n");
    })
    .await;
}

#[tokio::test]
async fn json_shows_each_type_faithfully() {
    each_backend("cli_json_types", async |ctx| {
        let (sql, expected) = if ctx.pg() {
            (
                "SELECT 12.50::numeric AS d, DATE '2024-01-31' AS day, \
                 TIMESTAMP '2024-01-31 12:34:56.5' AS ts, '\\xdead'::bytea AS b, \
                 '{\"a\": [1, 2]}'::jsonb AS j, true AS t, 1.5::float8 AS f, \
                 9223372036854775807::int8 AS big",
                serde_json::json!({
                    "d": "12.50", "day": "2024-01-31", "ts": "2024-01-31T12:34:56.500",
                    "b": "\\xdead", "j": {"a": [1, 2]}, "t": true, "f": 1.5,
                    "big": 9223372036854775807_i64
                }),
            )
        } else {
            (
                "SELECT CAST(12.50 AS DECIMAL(10,2)) AS d, DATE '2024-01-31' AS day, \
                 TIMESTAMP '2024-01-31 12:34:56.5' AS ts, X'DEAD' AS b, \
                 1.5e0 AS f, 18446744073709551615 AS big",
                serde_json::json!({
                    "d": "12.50", "day": "2024-01-31", "ts": "2024-01-31T12:34:56.500",
                    "b": "\\xdead", "f": 1.5, "big": 18446744073709551615_u64
                }),
            )
        };
        let o = ctx.weir(&["query", sql, "--format", "json"]);
        assert_code(&o, 0);
        let row: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(row, expected);
    })
    .await;
}

/// Arrays, addresses, intervals, times with offsets, `"char"`, and MySQL's BIT, ENUM, SET
/// and YEAR print readably: arrays as JSON arrays, and as PostgreSQL writes them in a table
/// or CSV; the rest as text or numbers, never as wire bytes. An array parameter is typed as
/// an array literal.
#[tokio::test]
async fn column_types_print_readably() {
    each_backend("cli_column_types", async |ctx| {
        let (sql, params, json, table) = if ctx.pg() {
            (
                "SELECT $1::int8[] AS a, ARRAY['x y', NULL] AS t, '10.0.0.0/8'::cidr AS net, \
                 INTERVAL '1 day 02:00:00' AS iv, 'r'::\"char\" AS c, TIMETZ '12:00:00+02' AS tz",
                vec!["-p", "{1,2,3}"],
                serde_json::json!({
                    "a": [1, 2, 3], "t": ["x y", null], "net": "10.0.0.0/8",
                    "iv": "1 day 02:00:00", "c": "r", "tz": "12:00:00+02"
                }),
                concat!(
                    " a       | t            | net        | iv             | c | tz\n",
                    "---------+--------------+------------+----------------+---+-------------\n",
                    " {1,2,3} | {\"x y\",NULL} | 10.0.0.0/8 | 1 day 02:00:00 | r | 12:00:00+02\n",
                    "(1 row)\n",
                ),
            )
        } else {
            ctx.db()
                .execute_script(
                    "CREATE TABLE m (b BIT(10), e ENUM('ok', 'sad'), s SET('a', 'b', 'c'), y YEAR);
                     INSERT INTO m VALUES (b'1000000001', 'sad', 'a,c', 2024)",
                )
                .await
                .unwrap();
            (
                "SELECT b, e, s, y FROM m",
                vec![],
                serde_json::json!({"b": 513, "e": "sad", "s": "a,c", "y": 2024}),
                concat!(
                    " b   | e   | s   | y\n",
                    "-----+-----+-----+------\n",
                    " 513 | sad | a,c | 2024\n",
                    "(1 row)\n",
                ),
            )
        };
        let mut args = vec!["query", sql];
        args.extend(&params);
        let o = ctx.weir(&args);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), table);
        args.extend(["--format", "json"]);
        let o = ctx.weir(&args);
        assert_code(&o, 0);
        let row: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        assert_eq!(row, json);
    })
    .await;
}

#[tokio::test]
async fn parameters_bind_as_text_with_null_and_its_escape() {
    each_backend("cli_params", async |ctx| {
        let charset = if ctx.pg() {
            ""
        } else {
            " DEFAULT CHARSET = utf8mb4"
        };
        ctx.db()
            .execute(
                &format!(
                    "CREATE TABLE t (id INT, name VARCHAR(50), day DATE, amount DECIMAL(10,2)){charset}"
                ),
                (),
            )
            .await
            .unwrap();
        let insert = "INSERT INTO t VALUES ($1, $2, $3, $4)";
        for params in [
            ["1", "Zoë 日本 🚀", "2024-01-31", "12.50"],
            ["2", "NULL", "NULL", "NULL"],
            ["3", "\\NULL", "1999-12-31", "-0.05"],
            ["-4", "--not-a-flag", "2000-02-29", "0"],
        ] {
            let mut args = vec!["exec", insert];
            for p in &params {
                args.extend(["-p", p]);
            }
            let o = ctx.weir(&args);
            assert_code(&o, 0);
            assert_eq!(stdout(&o), "1 row affected\n");
        }

        let o = ctx.weir(&[
            "query",
            "SELECT id, name, day, amount FROM t WHERE id > $1 ORDER BY id",
            "-p",
            "-10",
            "--format",
            "json",
        ]);
        assert_code(&o, 0);
        let rows: Vec<serde_json::Value> = stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                serde_json::json!({"id": -4, "name": "--not-a-flag", "day": "2000-02-29", "amount": "0.00"}),
                serde_json::json!({"id": 1, "name": "Zoë 日本 🚀", "day": "2024-01-31", "amount": "12.50"}),
                serde_json::json!({"id": 2, "name": null, "day": null, "amount": null}),
                serde_json::json!({"id": 3, "name": "NULL", "day": "1999-12-31", "amount": "-0.05"}),
            ]
        );

        // A parameter compared with text: the unicode value round-trips through the server.
        let o = ctx.weir(&[
            "query",
            "SELECT id FROM t WHERE name = $1",
            "-p",
            "Zoë 日本 🚀",
            "--format",
            "csv",
        ]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "id\r\n1\r\n");

        // Too few parameters is a usage error.
        let o = ctx.weir(&["query", "SELECT id FROM t WHERE id = $1 OR id = $2", "-p", "1"]);
        assert_code(&o, 2);
        assert!(assert_one_error_line(&o).contains("parameter"));
    })
    .await;
}

#[tokio::test]
async fn database_errors_exit_1_with_one_line() {
    each_backend("cli_db_errors", async |ctx| {
        let o = ctx.weir(&["query", "SELEC 1"]);
        assert_code(&o, 1);
        assert_eq!(stdout(&o), "");
        if ctx.pg() {
            // PostgreSQL says where: the line and a caret under the place, as psql shows it.
            let err = stderr(&o);
            let lines: Vec<&str> = err.lines().collect();
            assert!(
                lines[0].starts_with("error: ") && lines[0].contains("42601"),
                "{err}"
            );
            assert_eq!(&lines[1..], ["LINE 1: SELEC 1", "        ^"], "{err}");
            let o = ctx.weir(&["query", "SELECT 1\nFORM t"]);
            assert_code(&o, 1);
            let err = stderr(&o);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(&lines[1..], ["LINE 2: FORM t", "             ^"], "{err}");
        } else {
            // MySQL gives no position: the one line.
            let err = assert_one_error_line(&o);
            assert!(err.contains("1064"), "{err}");
        }

        // A MySQL syntax error quotes the SQL near it, newlines included: still one line.
        // PostgreSQL's "at end of input" gets its caret one past the last character, as psql
        // puts it (no caret was printed before).
        let o = ctx.weir(&["exec", "SELECT 1 FROM\nnowhere_table\nWHERE"]);
        assert_code(&o, 1);
        if ctx.pg() {
            let err = stderr(&o);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(&lines[1..], ["LINE 3: WHERE", "             ^"], "{err}");
        } else {
            assert_one_error_line(&o);
        }

        // An unknown database is a connect error.
        let url = url_for(ctx.backend, "weir_cli_no_such_database");
        let o = run_with_input(weir_cmd().args(["--url", &url, "query", "SELECT 1"]), "");
        assert_code(&o, 1);
        assert_one_error_line(&o);

        // An unknown URL option is a configuration error.
        let url = with_option(&ctx.url, "bogus_option=1");
        let o = run_with_input(weir_cmd().args(["--url", &url, "query", "SELECT 1"]), "");
        assert_code(&o, 2);
        assert!(assert_one_error_line(&o).contains("bogus_option"));
    })
    .await;
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    // No URL at all.
    let o = run_with_input(weir_cmd().args(["query", "SELECT 1"]), "");
    assert_code(&o, 2);
    assert!(assert_one_error_line(&o).contains("DATABASE_URL"));

    // A URL of no supported kind.
    let o = run_with_input(weir_cmd().args(["--url", "redis://x/0", "ping"]), "");
    assert_code(&o, 2);
    assert_one_error_line(&o);

    // Bad flags and values, caught by the argument parser.
    for args in [
        &["query", "SELECT 1", "--format", "xml"][..],
        &["query", "SELECT 1", "--timeout", "soon"],
        &["query", "SELECT 1", "--no-such-flag"],
        &["frobnicate"],
        &["exec", "SELECT 1", "--file", "x.sql"],
    ] {
        let o = run_with_input(
            weir_cmd()
                .args(["--url", "postgres://u@127.0.0.1:1/x"])
                .args(args),
            "",
        );
        assert_code(&o, 2);
        assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    }

    // Input problems of `exec`.
    let o = run_with_input(
        weir_cmd().args([
            "--url",
            "postgres://u@127.0.0.1:1/x",
            "exec",
            "-f",
            "/nonexistent.sql",
        ]),
        "",
    );
    assert_code(&o, 2);
    assert_one_error_line(&o);
    let o = run_with_input(
        weir_cmd().args(["--url", "postgres://u@127.0.0.1:1/x", "exec"]),
        " -- nothing but a comment\n",
    );
    assert_code(&o, 2);
    assert!(assert_one_error_line(&o).contains("no SQL statement"));
}

#[test]
fn a_password_is_never_printed() {
    // Port 1 refuses at once: the error names the target, never the password.
    for url in [
        "postgres://alice:pw_s3cr3t_1@127.0.0.1:1/db",
        "mysql://alice:pw_s3cr3t_1@127.0.0.1:1/db",
    ] {
        let o = run_with_input(weir_cmd().args(["--url", url, "ping"]), "");
        assert_code(&o, 1);
        let err = assert_one_error_line(&o);
        assert!(err.contains("127.0.0.1:1"), "{err}");
        assert!(!err.contains("pw_s3cr3t"), "{err}");

        // Nor does --help show DATABASE_URL's value.
        let o = run_with_input(Command::new(BIN).env("DATABASE_URL", url).arg("--help"), "");
        assert_code(&o, 0);
        assert!(stdout(&o).contains("DATABASE_URL"));
        assert!(!stdout(&o).contains("pw_s3cr3t"), "{}", stdout(&o));
    }
}

#[tokio::test]
async fn url_comes_from_database_url() {
    each_backend("cli_env_url", async |ctx| {
        let o = run_with_input(
            Command::new(BIN).env("DATABASE_URL", &ctx.url).args([
                "query",
                "SELECT 1 AS one",
                "--format",
                "csv",
            ]),
            "",
        );
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "one\r\n1\r\n");
    })
    .await;
}

#[tokio::test]
async fn timeout_stops_the_statement_on_the_server() {
    each_backend("cli_timeout", async |ctx| {
        // As configured, and with TLS negotiation left to `prefer` as a user's URL would.
        for url in [ctx.url.clone(), with_option(&ctx.url, "sslmode=prefer")] {
            let marker = "weir_cli_timeout";
            let sql = sleep_sql(ctx, 30, marker);
            let started = Instant::now();
            let o = run_with_input(
                weir_cmd().args(["--url", &url, "query", &sql, "--timeout", "300ms"]),
                "",
            );
            let took = started.elapsed();
            assert_code(&o, 3);
            let err = assert_one_error_line(&o);
            assert!(err.contains("timed out after 300ms"), "{err}");
            assert!(err.contains("cancelled on the server"), "{err}");
            assert!(took < Duration::from_secs(5), "took {took:?}");
            assert!(
                statement_gone(ctx, marker, Duration::from_secs(1)).await,
                "the statement still runs on the server after the binary exited ({url})"
            );
        }

        // The server's own limit, from the URL, is a timeout too.
        let url = with_option(&ctx.url, "statement_timeout=200ms");
        let started = Instant::now();
        let o = run_with_input(
            weir_cmd().args(["--url", &url, "query", &sleep_sql(ctx, 3, "weir_cli_st")]),
            "",
        );
        assert_code(&o, 3);
        assert_one_error_line(&o);
        assert!(started.elapsed() < Duration::from_secs(3));

        // `exec` gives up on a statement the same way.
        let o = ctx.weir(&[
            "exec",
            &sleep_sql(ctx, 30, "weir_cli_exec_timeout"),
            "--timeout",
            "300ms",
        ]);
        assert_code(&o, 3);
        assert_one_error_line(&o);
        assert!(statement_gone(ctx, "weir_cli_exec_timeout", Duration::from_secs(1)).await);
    })
    .await;
}

#[tokio::test]
async fn ctrl_c_cancels_the_statement_and_exits_130() {
    each_backend("cli_interrupt", async |ctx| {
        let marker = "weir_cli_interrupt";
        let mut child = ctx.spawn(&["query", &sleep_sql(ctx, 30, marker)]);
        // Interrupt only once the statement runs (and the handler is in place).
        let deadline = Instant::now() + Duration::from_secs(10);
        while running_statements(ctx, marker).await == 0 {
            assert!(Instant::now() < deadline, "the statement never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for weir") {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "weir did not exit"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let o = child.wait_with_output().expect("output");
        assert_eq!(status.code(), Some(130), "{}", stderr(&o));
        assert!(assert_one_error_line(&o).contains("interrupted"));
        assert!(statement_gone(ctx, marker, Duration::from_secs(1)).await);
    })
    .await;
}

#[tokio::test]
async fn max_rows_stops_reading() {
    each_backend("cli_max_rows", async |ctx| {
        let series =
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) \
                      SELECT n FROM s";
        let o = ctx.weir(&["query", series, "--max-rows", "3", "--format", "csv"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "n\r\n1\r\n2\r\n3\r\n");
        assert!(
            stderr(&o).contains("stopped after 3 row(s)"),
            "{}",
            stderr(&o)
        );

        let o = ctx.weir(&["query", series, "--max-rows", "2"]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), " n\n---\n 1\n 2\n(2 rows)\n");

        // Fewer rows than the limit: no note.
        let o = ctx.weir(&[
            "query",
            "SELECT 1 AS n",
            "--max-rows",
            "5",
            "--format",
            "json",
        ]);
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "{\"n\":1}\n");
        assert_eq!(stderr(&o), "");
    })
    .await;
}

#[tokio::test]
async fn exec_runs_scripts_from_a_file_and_stdin() {
    each_backend("cli_exec", async |ctx| {
        let mut script = String::from(
            "-- notes; with a semicolon in a comment\n\
             CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(200));\n\
             INSERT INTO notes VALUES (1, 'semi;colon'), (2, 'it''s');\n\
             /* block; comment */ INSERT INTO notes VALUES (3, 'three');\n",
        );
        if ctx.pg() {
            script.push_str(
                "CREATE FUNCTION add_one(i int) RETURNS int AS $$\n\
                 BEGIN RETURN i + 1; END;\n\
                 $$ LANGUAGE plpgsql;\n\
                 INSERT INTO notes VALUES (add_one(3), $tag$dollar;quoted$tag$);\n",
            );
        } else {
            script.push_str(
                "# a hash comment; MySQL only\n\
                 INSERT INTO notes VALUES (4, \"dq;string\\\"\");\n",
            );
        }
        script.push_str("UPDATE notes SET body = CONCAT(body, '!') WHERE id < 3  -- last, no ;\n");
        let path = std::env::temp_dir().join(format!("{}.sql", ctx.tdb.name()));
        std::fs::write(&path, &script).unwrap();
        let o = ctx.weir(&["exec", "--file", path.to_str().unwrap()]);
        std::fs::remove_file(&path).ok();
        assert_code(&o, 0);
        let statements = if ctx.pg() { 6 } else { 5 };
        assert_eq!(
            stdout(&o),
            format!("{statements} statements, 6 rows affected\n")
        );
        assert_eq!(
            stderr(&o),
            "",
            "no progress bar when stderr is not a terminal"
        );

        // RFC 4180 quotes the MySQL value, which holds a double quote.
        let fourth = if ctx.pg() {
            "dollar;quoted"
        } else {
            "\"dq;string\"\"\""
        };
        let o = ctx.weir(&[
            "query",
            "SELECT body FROM notes ORDER BY id",
            "--format",
            "csv",
        ]);
        assert_code(&o, 0);
        assert_eq!(
            stdout(&o),
            format!("body\r\nsemi;colon!\r\nit's!\r\nthree\r\n{fourth}\r\n")
        );

        // From standard input, with and without `-`.
        let o = ctx.weir_with_input(
            &["exec"],
            "INSERT INTO notes VALUES (10, 'a');\nDELETE FROM notes WHERE id = 10;\n",
        );
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "2 statements, 2 rows affected\n");
        let o = ctx.weir_with_input(&["exec", "-"], "INSERT INTO notes VALUES (11, 'b')");
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "1 row affected\n");

        // Several statements run on one session: a temporary table outlives its statement.
        let o = ctx.weir_with_input(
            &["exec"],
            "CREATE TEMPORARY TABLE scratch (n INT); INSERT INTO scratch VALUES (1), (2);\n\
             INSERT INTO notes SELECT n + 20, 'from scratch' FROM scratch;",
        );
        assert_code(&o, 0);
        assert_eq!(stdout(&o), "3 statements, 4 rows affected\n");

        // The first error stops the script and names the statement.
        let o = ctx.weir_with_input(
            &["exec"],
            "INSERT INTO notes VALUES (30, 'x');\n\nINSERT INTO no_such_table VALUES (1);\n\
             INSERT INTO notes VALUES (31, 'y');\n",
        );
        assert_code(&o, 1);
        let err = if ctx.pg() {
            // The place in the statement, as psql shows it for a script's statement.
            let err = stderr(&o);
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(
                lines[1], "LINE 1: INSERT INTO no_such_table VALUES (1)",
                "{err}"
            );
            assert_eq!(lines.len(), 3, "{err}");
            err
        } else {
            assert_one_error_line(&o)
        };
        assert!(err.contains("statement 2 of 3 (line 3)"), "{err}");
        let ids: Vec<(i32,)> = ctx
            .db()
            .fetch_all("SELECT id FROM notes WHERE id >= 30 ORDER BY id", ())
            .await
            .unwrap();
        assert_eq!(ids, [(30,)]);
    })
    .await;
}

#[tokio::test]
async fn ping_reports_server_latency_and_pool_settings() {
    each_backend("cli_ping", async |ctx| {
        let url = with_option(&ctx.url, "pool_max_size=3&acquire_timeout=5s");
        let o = run_with_input(
            weir_cmd().args(["--url", &url, "ping", "--samples", "3"]),
            "",
        );
        assert_code(&o, 0);
        let out = stdout(&o);
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(str::trim)
                .unwrap_or_else(|| panic!("no {name} line in:\n{out}"))
                .to_owned()
        };
        let server = field("server");
        let version = field("version");
        if ctx.pg() {
            assert_eq!(server, "PostgreSQL");
            assert!(version.starts_with("PostgreSQL "), "{version}");
        } else {
            assert!(server == "MariaDB" || server == "MySQL", "{server}");
            assert_eq!(server == "MariaDB", version.contains("MariaDB"));
        }
        assert_eq!(field("database"), ctx.tdb.name());
        assert!(field("latency").contains("over 3 round trip(s)"), "{out}");
        let pool = field("pool");
        assert!(
            pool.contains("max_size 3") && pool.contains("acquire_timeout 5s"),
            "{pool}"
        );
        assert!(field("target").contains(':'), "{out}");

        // A password in the URL is used but never shown; PostgreSQL's trust auth ignores it,
        // MySQL's root refuses it, and neither echoes it.
        if let Some(url) = with_password(&ctx.url, "pw_s3cr3t_2") {
            let o = run_with_input(weir_cmd().args(["--url", &url, "ping"]), "");
            assert_code(&o, if ctx.pg() { 0 } else { 1 });
            assert!(!stdout(&o).contains("pw_s3cr3t") && !stderr(&o).contains("pw_s3cr3t"));
        }
    })
    .await;
}

#[tokio::test]
async fn exec_draws_a_progress_bar_on_a_terminal() {
    // util-linux `script` gives the binary a terminal; without it there is nothing to check.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipping: no `script` command to provide a terminal");
        return;
    }
    each_backend("cli_progress", async |ctx| {
        let command = format!(
            "{BIN} --url '{}' exec 'SELECT 1; SELECT 2; SELECT 3'",
            ctx.url
        );
        let o = run_with_input(
            Command::new("script")
                .args(["-qec", &command, "/dev/null"])
                .env_remove("DATABASE_URL"),
            "",
        );
        assert_code(&o, 0);
        let screen = stdout(&o);
        assert!(screen.contains("] 0/3 statements"), "{screen:?}");
        // Cleared before the summary.
        assert!(screen.contains("\r\x1b[2K"), "{screen:?}");
        assert!(screen.contains("3 statements, "), "{screen:?}");
    })
    .await;
}

/// `weir migrate` applies the repository's own migrations by default, reports status,
/// reverts to a target, and refuses a changed applied migration, on both backends.
#[tokio::test]
async fn migrate_up_status_down_and_refuses_changes() {
    each_backend("cli_migrate", async |ctx| {
        let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let run = |args: &[&str]| {
            run_with_input(
                weir_cmd()
                    .current_dir(repo)
                    .arg("--url")
                    .arg(&ctx.url)
                    .args(args),
                "",
            )
        };
        let o = run(&["migrate", "up"]);
        assert_code(&o, 0);
        assert!(
            stdout(&o).contains("applied 1 create_users"),
            "{}",
            stdout(&o)
        );
        let o = run(&["migrate", "up"]);
        assert_code(&o, 0);
        assert!(stdout(&o).contains("nothing applied"), "{}", stdout(&o));
        let o = run(&["migrate", "status"]);
        assert_code(&o, 0);
        assert!(
            stdout(&o).lines().filter(|l| l.contains("applied")).count() >= 3,
            "{}",
            stdout(&o)
        );
        let o = run(&["migrate", "down", "--target", "1"]);
        assert_code(&o, 0);
        assert!(stdout(&o).contains("reverted 3"), "{}", stdout(&o));
        let users: i64 = ctx
            .db()
            .fetch_scalar("SELECT COUNT(*) FROM users", ())
            .await
            .unwrap();
        assert_eq!(users, 0);

        // A copy of the folder whose first migration was edited after it was applied.
        let dir = std::env::temp_dir().join(format!(
            "weir-cli-migrate-{}-{}",
            std::process::id(),
            ctx.tdb.name()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sub = if ctx.pg() { "postgres" } else { "mysql" };
        for entry in std::fs::read_dir(format!("{repo}/migrations/{sub}")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let first = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.to_string_lossy().contains("0001") && p.to_string_lossy().ends_with(".up.sql")
            })
            .unwrap();
        let mut text = std::fs::read_to_string(&first).unwrap();
        text.push_str("\n-- edited after it was applied\n");
        std::fs::write(&first, text).unwrap();
        let dir_arg = dir.to_string_lossy().to_string();
        let o = run(&["migrate", "--dir", &dir_arg, "status"]);
        assert_code(&o, 1);
        assert!(stdout(&o).contains("CHANGED"), "{}", stdout(&o));
        let o = run(&["migrate", "--dir", &dir_arg, "up"]);
        assert_code(&o, 1);
        let line = assert_one_error_line(&o);
        assert!(line.contains('1'), "{line}");
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

/// Starts and ends with plain letters, so that a partial or escaped leak still shows.
const CANARY_URL: &str = "zq7Canary%40%3A%2F%3F%23%25%26%27%22Tail9wd";

/// A canary password with URL-special characters (`zq7Canary@:/?#%&'"Tail9wd`),
/// percent-encoded, in `--url` and in `DATABASE_URL`: `weir ping` and `weir query` use it
/// (PostgreSQL's trust auth lets it in, MariaDB's root refuses it: exit 1) and print none of it,
/// plain, in part or encoded, on stdout or stderr.
#[tokio::test]
async fn a_canary_password_is_never_printed() {
    each_backend("cli_canary", async |ctx| {
        let url = with_password(&ctx.url, CANARY_URL).expect("a URL without a password");
        for args in [&["ping"][..], &["query", "SELECT 1"]] {
            let by_flag = run_with_input(weir_cmd().arg("--url").arg(&url).args(args), "");
            let by_env = run_with_input(weir_cmd().env("DATABASE_URL", &url).args(args), "");
            for o in [&by_flag, &by_env] {
                assert_code(o, if ctx.pg() { 0 } else { 1 });
                let out = format!("{}\n{}", stdout(o), stderr(o));
                for part in ["zq7Canary", "Tail9wd", CANARY_URL] {
                    assert!(!out.contains(part), "{args:?}: {out}");
                }
            }
        }
    })
    .await;
}
