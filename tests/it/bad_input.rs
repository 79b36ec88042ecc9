//! The bad-input matrix: malformed URLs, unknown database and user, syntax errors, wrong
//! parameter counts and types, numeric overflow both ways, NUL and invalid UTF-8, 65,536
//! parameters, a 100 MB value. Each is a documented typed error (or, where the server takes
//! it, a value stored intact), never a panic, and the pool is healthy afterwards.

use std::time::Duration;

use weir::{
    Backend, ConnectErrorKind, Database, DatabaseConfig, DatabaseErrorKind, Error, Executor, Param,
};

use crate::both_backends;
use crate::common::Ctx;
use crate::phases::assert_healthy;

both_backends!(
    unknown_database_and_user_are_typed_connect_errors,
    bad_statements_are_typed_and_leave_the_pool_healthy,
    out_of_range_numbers_are_typed_both_ways,
    nul_and_invalid_utf8_are_typed_or_stored_intact,
    sixty_five_thousand_parameters_are_checked_not_truncated,
    a_100_mb_value_is_stored_intact_or_a_typed_error,
);

/// Malformed URLs fail before any I/O with `Error::Config` naming the problem; a password in
/// the URL is never echoed.
#[test]
fn malformed_urls_are_config_errors() {
    for (url, needle) in [
        ("localhost/test", "no scheme"),
        ("127.0.0.1:5432/test", "no scheme"),
        ("oracle://u@h/db", "unsupported URL scheme"),
        ("redis://x/y", "unsupported URL scheme"),
        ("postgres://u@h:99999/db", "out of range"),
        ("mysql://u@h:0/db", "port 0"),
        ("mysql://u@h:port/db", "not a number"),
        ("mysql://u:%G0@h/db", "bad percent-escape in password `***`"),
        (
            "postgres://u:abc%4@h/db",
            "bad percent-escape in password `***`",
        ),
        ("postgres://u%zz@h/db", "bad percent-escape in user name"),
        ("postgres://u@h/d%b", "bad percent-escape in database name"),
        ("postgres://u@h/db%ff", "not valid UTF-8"),
        ("postgres://u@[::1/db", "unclosed `[`"),
        ("postgres://u@h/db?pool_max_size=0", "at least 1"),
        ("postgres://u@h/db?pool_max_size=-1", "not a whole number"),
        (
            "postgres://u@h/db?pool_max_sise=4",
            "unknown URL option `pool_max_sise`",
        ),
        (
            "mysql://u@h/db?frobnicate=1",
            "unknown URL option `frobnicate`",
        ),
        ("postgres://h/db?acquire_timeout=soon", "not a duration"),
        ("postgres://h/db?acquire_timeout=0", "greater than zero"),
        ("postgres://h/db?sslmode=maybe", "invalid sslmode"),
        (
            "mysql://h/db?pool_min_idle=5&pool_max_size=2",
            "larger than",
        ),
        // An empty host is not localhost, and an IPv6 address needs its brackets (these were
        // localhost and a host split at the wrong colon).
        ("postgres://u@:5432/db", "host is empty"),
        ("mysql://root@:3306/test", "host is empty"),
        ("postgres://u@::1/db", "in brackets"),
        ("mysql://u@fe80::1:3306/db", "in brackets"),
        // A password with an unescaped `/` or `?` ends the host early: the pieces after it are
        // the password's, and no message may echo them (one said "port `pw1` is not a number").
        ("postgres://app:pw1/Zq9@h/db", "percent-encode"),
        ("mysql://app:pw1?Zq9@h/db", "percent-encode"),
        ("postgres://app:pw1?Zq9=1&x@h/db", "percent-encode"),
        ("postgres://app:pw1?Zq9=x@h/db", "percent-encode"),
    ] {
        let err = match DatabaseConfig::from_url(url).and_then(|c| c.validate().map(|()| c)) {
            Err(e) => e,
            Ok(_) => panic!("{url} was accepted"),
        };
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
        let text = err.to_string();
        assert!(text.contains(needle), "{url}: {text}");
        for secret in ["%G0", "abc%4", "pw1", "Zq9"] {
            assert!(!text.contains(secret), "{url}: {text}");
        }
    }
}

/// What looks like an edge of the URL rules still parses as it should: a bracketed IPv6
/// address with or without a port, a host given as an option, a URL with no host at all.
#[test]
fn bracketed_ipv6_and_hosts_from_options_parse() {
    for (url, host, port) in [
        ("postgres://u@[::1]:5433/db", "::1", 5433),
        ("mysql://u@[::1]/db", "::1", 3306),
        ("postgres://u@/db?host=db.internal", "db.internal", 5432),
        ("postgres:///db", "localhost", 5432),
        // No host after the user: the default, as libpq reads it (this was refused).
        ("postgres://u@/db", "localhost", 5432),
        ("mysql://root@/test", "localhost", 3306),
    ] {
        let c = DatabaseConfig::from_url(url).unwrap();
        assert_eq!((c.host(), c.port()), (host, port), "{url}");
    }
    let c = DatabaseConfig::from_url("postgres://u@:5432/db?socket=/run/postgresql").unwrap();
    assert_eq!(c.host(), "localhost");
    // An `@` in an option's value is not taken for the end of credentials.
    let c = DatabaseConfig::from_url("postgres://h/db?application_name=svc@host").unwrap();
    assert_eq!(c.host(), "h");
}

/// An unknown database is `Connect { kind: UnknownDatabase }`, an unknown user
/// `Connect { kind: Authentication }`; the test's own pool is unaffected.
async fn unknown_database_and_user_are_typed_connect_errors(ctx: Ctx) {
    let retry = weir::RetryPolicy::never();
    let err = Database::connect_with(
        ctx.config
            .clone()
            .with_database("weir_no_such_db_x")
            .with_retry(retry),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::UnknownDatabase,
                ..
            }
        ),
        "{err:?}"
    );
    let err = Database::connect_with(
        ctx.config
            .clone()
            .with_user("weir_no_such_user_x")
            .with_retry(retry),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::Authentication,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_healthy(&ctx.db, 4).await;
}

fn expect_db_error(err: &Error, pg: &str, my: &str, backend: Backend) {
    let code = err
        .code()
        .unwrap_or_else(|| panic!("not a server error: {err:?}"));
    let want = match backend {
        Backend::Postgres => pg,
        Backend::MySql => my,
    };
    assert_eq!(code, want, "{err}");
}

/// A syntax error is `Database` of kind `Syntax`; too many or too few parameters is
/// `ParamCount` before anything runs; text where the column is an integer is `Encode` naming
/// the parameter on PostgreSQL (weir checks the type the server asks for) and `Database` 1366 on
/// MariaDB (the server refuses it in strict mode). No row is written; the pool stays healthy.
async fn bad_statements_are_typed_and_leave_the_pool_healthy(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (n INT NOT NULL)", ())
        .await
        .unwrap();
    let db = ctx.pool(|c| c.with_max_size(2)).await;
    let err = db
        .execute("INSERT INTO t (n) VALUS (1)", ())
        .await
        .unwrap_err();
    expect_db_error(&err, "42601", "1064", ctx.backend);
    assert_eq!(
        err.as_database_error().unwrap().kind(),
        DatabaseErrorKind::Syntax
    );
    // Where in the statement: PostgreSQL says (at `VALUS`, character 19); MySQL never does.
    let expected = match ctx.backend {
        Backend::Postgres => Some(19),
        Backend::MySql => None,
    };
    assert_eq!(err.as_database_error().unwrap().position, expected);
    let insert = "INSERT INTO t (n) VALUES ($1)";
    let err = db.execute(insert, (1, 2)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 1,
                given: 2
            }
        ),
        "{err:?}"
    );
    let err = db.execute(insert, ()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 1,
                given: 0
            }
        ),
        "{err:?}"
    );
    let err = db
        .execute("INSERT INTO t (n) VALUES ($1), ($2)", (1,))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 2,
                given: 1
            }
        ),
        "{err:?}"
    );
    let err = db.execute(insert, ("twelve",)).await.unwrap_err();
    match ctx.backend {
        Backend::Postgres => assert!(
            matches!(&err, Error::Encode { index: 0, sql_type, .. } if sql_type == "int4"),
            "{err:?}"
        ),
        Backend::MySql => expect_db_error(&err, "", "1366", ctx.backend),
    }
    let n: i64 = db.fetch_scalar("SELECT COUNT(*) FROM t", ()).await.unwrap();
    assert_eq!(n, 0);
    assert_healthy(&db, 2).await;
}

/// An i64 past INT's range into an INT column: `Encode` on PostgreSQL (checked before
/// sending), `Database` 1264 on MariaDB. A value past the Rust type's range when reading
/// (3,000,000,000 as i32, -1 as u32, 300 as i8) is `Decode` naming the column.
async fn out_of_range_numbers_are_typed_both_ways(ctx: Ctx) {
    ctx.db
        .execute("CREATE TABLE t (n INT NOT NULL)", ())
        .await
        .unwrap();
    let err = ctx
        .db
        .execute("INSERT INTO t (n) VALUES ($1)", (1i64 << 40,))
        .await
        .unwrap_err();
    match ctx.backend {
        Backend::Postgres => assert!(
            matches!(&err, Error::Encode { index: 0, reason, .. } if reason.contains("out of range")),
            "{err:?}"
        ),
        Backend::MySql => expect_db_error(&err, "", "1264", ctx.backend),
    }
    let big = ctx.sql("SELECT 3000000000::int8 AS big", "SELECT 3000000000 AS big");
    let err = ctx.db.fetch_scalar::<i32, _>(big, ()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, rust_type, .. } if column == "big" && rust_type.contains("i32")),
        "{err:?}"
    );
    let err = ctx
        .db
        .fetch_scalar::<u32, _>("SELECT -1 AS neg", ())
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }), "{err:?}");
    let err = ctx
        .db
        .fetch_one::<(i8,), _>("SELECT 300 AS small", ())
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }), "{err:?}");
    assert_healthy(&ctx.db, 4).await;
}

/// NUL inside text: PostgreSQL refuses it (`Database` 22021), MariaDB stores it byte for byte.
/// Bytes that are not UTF-8 sent for a text column: `Encode` on PostgreSQL, `Database` 1366 on
/// MariaDB. Binary data that is not UTF-8 read as `String`: `Decode`; as `Vec<u8>`: intact.
async fn nul_and_invalid_utf8_are_typed_or_stored_intact(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE t (id INT PRIMARY KEY, s TEXT)",
                "CREATE TABLE t (id INT PRIMARY KEY, s TEXT CHARACTER SET utf8mb4)",
            ),
            (),
        )
        .await
        .unwrap();
    let with_nul = "before\0after";
    let r = ctx
        .db
        .execute("INSERT INTO t (id, s) VALUES (1, $1)", (with_nul,))
        .await;
    match ctx.backend {
        Backend::Postgres => expect_db_error(&r.unwrap_err(), "22021", "", ctx.backend),
        Backend::MySql => {
            r.unwrap();
            let back: String = ctx
                .db
                .fetch_scalar("SELECT s FROM t WHERE id = 1", ())
                .await
                .unwrap();
            assert_eq!(back, with_nul);
        }
    }
    let not_utf8: &[u8] = &[b'a', 0xff, 0xfe, b'z'];
    let err = ctx
        .db
        .execute("INSERT INTO t (id, s) VALUES (2, $1)", (not_utf8,))
        .await
        .unwrap_err();
    match ctx.backend {
        Backend::Postgres => assert!(
            matches!(&err, Error::Encode { index: 0, sql_type, .. } if sql_type == "text"),
            "{err:?}"
        ),
        Backend::MySql => expect_db_error(&err, "", "1366", ctx.backend),
    }
    let blob = ctx.sql(
        "SELECT '\\x61fffe7a'::bytea AS b",
        "SELECT X'61FFFE7A' AS b",
    );
    let err = ctx
        .db
        .fetch_scalar::<String, _>(blob, ())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { column, .. } if column == "b"),
        "{err:?}"
    );
    let raw: Vec<u8> = ctx.db.fetch_scalar(blob, ()).await.unwrap();
    assert_eq!(raw, not_utf8);
    assert_healthy(&ctx.db, 4).await;
}

fn in_list(n: usize) -> String {
    let mut sql = String::from("SELECT COUNT(*) FROM (SELECT 1 AS x) s WHERE x IN (");
    for i in 1..=n {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push(')');
    sql
}

/// 65,535 parameters (both protocols' limit) run and find their value; 65,536 values for
/// 65,535 placeholders are `ParamCount`; a `$65536` placeholder is `InvalidStatement` naming it (on
/// MySQL before anything is sent; on PostgreSQL after the driver fails to read the server's
/// 16-bit parameter count). Never a panic, never a count silently wrapped.
async fn sixty_five_thousand_parameters_are_checked_not_truncated(ctx: Ctx) {
    let db = ctx.pool(|c| c.with_max_size(1)).await;
    let max = 65_535usize;
    let values: Vec<Param<'_>> = (0..max as i64).map(|i| Param::Int(i + 2)).collect();
    let mut hit = values.clone();
    hit[max - 1] = Param::Int(1);
    let sql = in_list(max);
    let n: i64 = db.fetch_scalar(&sql, hit).await.unwrap();
    assert_eq!(n, 1, "the last of 65,535 parameters was lost");
    let n: i64 = db.fetch_scalar(&sql, values.clone()).await.unwrap();
    assert_eq!(n, 0);
    let mut too_many = values.clone();
    too_many.push(Param::Int(1));
    let err = db
        .fetch_scalar::<i64, _>(&sql, too_many.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 65_535,
                given: 65_536
            }
        ),
        "{err:?}"
    );
    let err = db
        .fetch_scalar::<i64, _>(&in_list(max + 1), too_many)
        .await
        .unwrap_err();
    eprintln!("{}: $65536: {err}", ctx.backend);
    assert!(
        matches!(&err, Error::InvalidStatement(m) if m.contains("$65536")),
        "{err:?}"
    );
    assert_healthy(&db, 1).await;
}

/// A 100 MB value, as bytes and as text: stored and read back byte for byte where the server
/// takes it (PostgreSQL; MySQL with a large enough `max_allowed_packet`); otherwise refused
/// before anything is sent, as `Error::Encode` naming the parameter and the server's limit
/// (the server would hang up mid-write, which reads as a lost connection). The pool stays
/// healthy either way.
async fn a_100_mb_value_is_stored_intact_or_a_typed_error(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE t (id INT PRIMARY KEY, b BYTEA, s TEXT)",
                "CREATE TABLE t (id INT PRIMARY KEY, b LONGBLOB, s LONGTEXT)",
            ),
            (),
        )
        .await
        .unwrap();
    let db = ctx
        .pool(|c| {
            c.with_max_size(2)
                .with_statement_timeout(Some(Duration::from_secs(20)))
        })
        .await;
    const SIZE: usize = 100 * 1024 * 1024;
    let limit: Option<i64> = match ctx.backend {
        Backend::Postgres => None,
        Backend::MySql => Some(
            db.fetch_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)", ())
                .await
                .unwrap(),
        ),
    };
    let text: String = "weir-100MB-".repeat(SIZE / 11 + 1)[..SIZE].to_owned();
    for (column, id) in [("b", 1), ("s", 2)] {
        let sql = format!("INSERT INTO t (id, {column}) VALUES ($1, $2)");
        let r = if column == "b" {
            db.execute(&sql, (id, text.as_bytes())).await
        } else {
            db.execute(&sql, (id, text.as_str())).await
        };
        match r {
            Ok(1) => {
                let len: i64 = db
                    .fetch_scalar(
                        &format!(
                            "SELECT {} FROM t WHERE id = $1",
                            ctx.sql(
                                &format!("octet_length({column})::int8"),
                                &format!("LENGTH({column})")
                            )
                        ),
                        (id,),
                    )
                    .await
                    .unwrap();
                assert_eq!(len as usize, SIZE);
                let back: Vec<u8> = db
                    .fetch_scalar(&format!("SELECT {column} FROM t WHERE id = $1"), (id,))
                    .await
                    .unwrap();
                assert!(back == text.as_bytes(), "{column}: 100 MB value changed");
                eprintln!("{}: 100 MB in `{column}` stored and read back", ctx.backend);
            }
            Ok(n) => panic!("{column}: {n} rows"),
            Err(e) => {
                eprintln!("{}: 100 MB in `{column}`: {e}", ctx.backend);
                assert!(
                    limit.is_some_and(|l| (l as usize) < SIZE),
                    "refused though the server takes it: {e:?}"
                );
                let Error::Encode { index, reason, .. } = &e else {
                    panic!("{e:?}")
                };
                assert_eq!(*index, 1, "{e:?}");
                assert!(reason.contains("max_allowed_packet"), "{e:?}");
                let n: i64 = db.fetch_scalar("SELECT COUNT(*) FROM t", ()).await.unwrap();
                assert_eq!(n, 0, "a refused value left a row");
            }
        }
    }
    assert_healthy(&db, 2).await;
}
