//! Values both ways: every supported Rust type round-trips on both backends; mismatches are
//! typed errors that name the column, the SQL type and the Rust type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;
use weir::{Backend, Error, Executor, FromRow, Value};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    every_type_round_trips,
    nulls_round_trip_as_none,
    decode_mismatch_names_column_and_types,
    encode_mismatch_and_overflow_are_typed,
    hostile_text_is_stored_byte_for_byte,
    untyped_text_binds_to_the_column_type,
    wider_reads_keep_the_value,
    u64_and_unsigned_values_bind_faithfully,
    dates_and_times_out_of_range_are_refused_before_sending,
);

#[derive(Debug, PartialEq, FromRow)]
struct AllTypes {
    b: bool,
    i8v: i8,
    i16v: i16,
    i32v: i32,
    i64v: i64,
    f32v: f32,
    f64v: f64,
    s: String,
    bytes: Vec<u8>,
    d: NaiveDate,
    tm: NaiveTime,
    dt: NaiveDateTime,
    dtz: DateTime<Utc>,
    u: Uuid,
    j: serde_json::Value,
    dec: Decimal,
}

async fn create(ctx: &Ctx) {
    let ddl = ctx.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, b BOOLEAN, i8v SMALLINT, i16v SMALLINT, i32v INTEGER, i64v BIGINT, \
         f32v REAL, f64v DOUBLE PRECISION, s TEXT, bytes BYTEA, d DATE, tm TIME, dt TIMESTAMP, dtz TIMESTAMPTZ, \
         u UUID, j JSONB, dec NUMERIC(30,6))",
        "CREATE TABLE t (id INT PRIMARY KEY, b BOOLEAN, i8v TINYINT, i16v SMALLINT, i32v INT, i64v BIGINT, \
         f32v FLOAT, f64v DOUBLE, s MEDIUMTEXT, bytes BLOB, d DATE, tm TIME(6), dt DATETIME(6), dtz DATETIME(6), \
         u CHAR(36), j JSON, `dec` DECIMAL(30,6))",
    );
    ctx.db.execute(ddl, ()).await.unwrap();
}

fn sample() -> AllTypes {
    AllTypes {
        b: true,
        i8v: -128,
        i16v: i16::MIN,
        i32v: i32::MAX,
        i64v: i64::MIN,
        f32v: 1.5,
        f64v: -2.25e300,
        s: "héllo 🦀 \"quoted\" 'single' \\ back".into(),
        bytes: vec![0, 1, 2, 254, 255],
        d: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        tm: NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap(),
        dt: NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_micro_opt(1, 2, 3, 4)
            .unwrap(),
        dtz: DateTime::parse_from_rfc3339("2030-06-01T12:00:00.5Z")
            .unwrap()
            .to_utc(),
        u: Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
        j: serde_json::json!({"a": [1, 2, {"b": null}], "s": "ü"}),
        dec: Decimal::from_str_exact("-12345678901234.123456").unwrap(),
    }
}

fn columns(ctx: &Ctx) -> &'static str {
    match ctx.backend {
        Backend::Postgres => {
            "b, i8v, i16v, i32v, i64v, f32v, f64v, s, bytes, d, tm, dt, dtz, u, j, dec"
        }
        Backend::MySql => {
            "b, i8v, i16v, i32v, i64v, f32v, f64v, s, bytes, d, tm, dt, dtz, u, j, `dec`"
        }
    }
}

/// Each type is written as a parameter and read back equal.
async fn every_type_round_trips(ctx: Ctx) {
    create(&ctx).await;
    let v = sample();
    let cols = columns(&ctx);
    ctx.db
        .execute(
            &format!("INSERT INTO t (id, {cols}) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"),
            (
                v.b, v.i8v, v.i16v, v.i32v, v.i64v, v.f32v, v.f64v, &v.s, &v.bytes, v.d, v.tm, v.dt,
                v.dtz, v.u, &v.j, v.dec,
            ),
        )
        .await
        .unwrap();
    let back: AllTypes = ctx
        .db
        .fetch_one(&format!("SELECT {cols} FROM t WHERE id = $1"), (1,))
        .await
        .unwrap();
    assert_eq!(back, v);
    // The same row as dynamic values keeps every digit and byte.
    let row: weir::Row = ctx
        .db
        .fetch_one(&format!("SELECT {cols} FROM t"), ())
        .await
        .unwrap();
    let values = row.values().unwrap();
    assert_eq!(values[8], Value::Bytes(v.bytes.clone()));
    assert_eq!(values[15], Value::Decimal("-12345678901234.123456".into()));
    assert_eq!(values[7], Value::Text(v.s.clone()));
    assert_eq!(values[9], Value::Date(v.d));
    match &values[14] {
        Value::Json(j) => assert_eq!(*j, v.j),
        // MariaDB's JSON is LONGTEXT on the wire: without a schema it reads back as text.
        Value::Text(t) if ctx.backend == Backend::MySql => {
            assert_eq!(serde_json::from_str::<serde_json::Value>(t).unwrap(), v.j)
        }
        other => panic!("json column read as {other:?}"),
    }
}

/// `Option::None` writes NULL into any column type and reads back as `None`.
async fn nulls_round_trip_as_none(ctx: Ctx) {
    create(&ctx).await;
    let cols = columns(&ctx);
    ctx.db
        .execute(
            &format!("INSERT INTO t (id, {cols}) VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"),
            (
                None::<bool>, None::<i8>, None::<i16>, None::<i32>, None::<i64>, None::<f32>,
                None::<f64>, None::<String>, None::<Vec<u8>>, None::<NaiveDate>, None::<NaiveTime>,
                None::<NaiveDateTime>, None::<DateTime<Utc>>, None::<Uuid>,
                None::<serde_json::Value>, None::<Decimal>,
            ),
        )
        .await
        .unwrap();
    let (s, d, j): (Option<String>, Option<NaiveDate>, Option<serde_json::Value>) =
        ctx.db.fetch_one("SELECT s, d, j FROM t", ()).await.unwrap();
    assert_eq!((s, d, j), (None, None, None));
    let row: weir::Row = ctx
        .db
        .fetch_one(&format!("SELECT {cols} FROM t"), ())
        .await
        .unwrap();
    assert!(row.values().unwrap().iter().all(|v| *v == Value::Null));
}

/// Reading a column as the wrong Rust type names the column, the SQL type and the Rust type.
async fn decode_mismatch_names_column_and_types(ctx: Ctx) {
    create(&ctx).await;
    ctx.db
        .execute("INSERT INTO t (id, s) VALUES (1, 'text')", ())
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT s FROM t", ())
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            column,
            sql_type,
            rust_type,
            ..
        } => {
            assert_eq!(column, "s");
            assert_eq!(sql_type.to_lowercase(), "text");
            assert_eq!(*rust_type, "i64");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    // NULL into a non-Option is a decode error too, saying so.
    let err = ctx
        .db
        .fetch_scalar::<String, _>("SELECT b FROM t", ())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NULL"), "{err}");
    // Rust types are named as users write them, not by their full paths.
    let text = err.to_string();
    assert!(text.contains("as Rust `String`"), "{text}");
    assert!(!text.contains("alloc::"), "{text}");
    let err = ctx
        .db
        .fetch_scalar::<Option<chrono::NaiveDate>, _>("SELECT s FROM t", ())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("as Rust `Option<NaiveDate>`"),
        "{err}"
    );
    // A narrowing read that does not fit is out of range, not truncated.
    ctx.db
        .execute("UPDATE t SET i64v = $1", (1i64 << 40,))
        .await
        .unwrap();
    let err = ctx
        .db
        .fetch_scalar::<i32, _>("SELECT i64v FROM t", ())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    assert_eq!(ctx.db.status().in_use, 0);
}

/// A value that does not fit its column is a typed error and writes nothing.
async fn encode_mismatch_and_overflow_are_typed(ctx: Ctx) {
    create(&ctx).await;
    let overflow = ctx
        .db
        .execute("INSERT INTO t (id, i32v) VALUES (1, $1)", (i64::MAX,))
        .await
        .unwrap_err();
    let wrong_type = ctx
        .db
        .execute("INSERT INTO t (id, i32v) VALUES (2, $1)", ("not a number",))
        .await
        .unwrap_err();
    match ctx.backend {
        // PostgreSQL knows the parameter types: weir refuses before sending.
        Backend::Postgres => {
            assert!(
                matches!(&overflow, Error::Encode { index: 0, sql_type, .. } if sql_type == "int4"),
                "{overflow:?}"
            );
            assert!(
                overflow.to_string().contains("cannot encode Rust `i64`"),
                "{overflow}"
            );
            assert!(matches!(wrong_type, Error::Encode { .. }), "{wrong_type:?}");
        }
        // MySQL converts on the server, which refuses in strict mode.
        Backend::MySql => {
            assert_eq!(overflow.code().as_deref(), Some("1264"), "{overflow:?}");
            assert_eq!(wrong_type.code().as_deref(), Some("1366"), "{wrong_type:?}");
        }
    }
    let count: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM t", ())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// Values that look like SQL, quotes, backslashes and large strings are bound, never spliced.
async fn hostile_text_is_stored_byte_for_byte(ctx: Ctx) {
    create(&ctx).await;
    let big = "é".repeat(500_000); // 1 MB of UTF-8
    let hostile = [
        "'; DROP TABLE t; --".to_string(),
        "\\'\\\"\\\\ $1 ? %s".to_string(),
        "🦀👩‍👩‍👧".to_string(),
        big,
    ];
    for (i, s) in hostile.iter().enumerate() {
        ctx.db
            .execute("INSERT INTO t (id, s) VALUES ($1, $2)", (i as i32, s))
            .await
            .unwrap();
        let back: String = ctx
            .db
            .fetch_scalar("SELECT s FROM t WHERE id = $1", (i as i32,))
            .await
            .unwrap();
        assert!(back == *s, "value {i} changed");
    }
    let count: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM t", ())
        .await
        .unwrap();
    assert_eq!(count, hostile.len() as i64);
}

/// Untyped text (what a CLI reads) binds to integer, float, bool, date, numeric, uuid and
/// text columns alike; text that does not fit is a typed error.
async fn untyped_text_binds_to_the_column_type(ctx: Ctx) {
    use weir::Param::Untyped;
    create(&ctx).await;
    let dec = ctx.sql("dec", "`dec`");
    ctx.db
        .execute(
            &format!("INSERT INTO t (id, i32v, f64v, b, d, {dec}, u, s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
            weir::params![
                Untyped("1"),
                Untyped("-42"),
                Untyped("2.5"),
                Untyped("1"),
                Untyped("2024-01-31"),
                Untyped("10.250000"),
                Untyped("67e55044-10b1-426f-9247-bb680e5fe0c8"),
                Untyped("plain text")
            ],
        )
        .await
        .unwrap();
    let row: (i32, f64, bool, NaiveDate, Decimal, Uuid, String) = ctx
        .db
        .fetch_one(&format!("SELECT i32v, f64v, b, d, {dec}, u, s FROM t"), ())
        .await
        .unwrap();
    assert_eq!(row.0, -42);
    assert_eq!(row.1, 2.5);
    assert!(row.2);
    assert_eq!(row.3, NaiveDate::from_ymd_opt(2024, 1, 31).unwrap());
    assert_eq!(row.4, Decimal::from_str_exact("10.25").unwrap());
    assert_eq!(row.5.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
    assert_eq!(row.6, "plain text");
    let err = ctx
        .db
        .execute("UPDATE t SET i32v = $1", (Untyped("forty"),))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Encode { .. } | Error::Database(_)),
        "{err:?}"
    );
}

/// Columns read into wider Rust types keep their value: small integers keep their sign in an
/// `i64`, a REAL reads as `f64`, VARCHAR and CHAR columns as `String`, a boolean as `bool`, and
/// NULL as `None` in each (PostgreSQL reads these straight from the driver's bytes).
async fn wider_reads_keep_the_value(ctx: Ctx) {
    ctx.db
        .execute(
            "CREATE TABLE w (id INT, a SMALLINT, b INTEGER, c REAL, d VARCHAR(10), e CHAR(4), f BOOLEAN)",
            (),
        )
        .await
        .unwrap();
    ctx.db
        .execute(
            "INSERT INTO w VALUES (1, $1, $2, $3, $4, $5, $6), (2, NULL, NULL, NULL, NULL, NULL, NULL)",
            (i16::MIN, i32::MIN, 1.5f32, "v\u{e9}", "ab", true),
        )
        .await
        .unwrap();
    let (a, b, c, d, e, f): (i64, i64, f64, String, String, bool) = ctx
        .db
        .fetch_one("SELECT a, b, c, d, e, f FROM w WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!((a, b, c), (-32768, -2_147_483_648, 1.5));
    assert_eq!(d, "v\u{e9}");
    // PostgreSQL pads CHAR(n) with spaces, MySQL strips them.
    assert_eq!(e.trim_end(), "ab");
    assert!(f);
    type Nulls = (
        Option<i64>,
        Option<i64>,
        Option<f64>,
        Option<String>,
        Option<String>,
        Option<bool>,
    );
    let nulls: Nulls = ctx
        .db
        .fetch_one("SELECT a, b, c, d, e, f FROM w WHERE id = 2", ())
        .await
        .unwrap();
    assert_eq!(nulls, (None, None, None, None, None, None));
}

/// A `u64` binds, and a MySQL `BIGINT UNSIGNED` above `i64::MAX` copied through `Value`
/// keeps its value (it was bound as NULL). On PostgreSQL it goes into `numeric`, and into a
/// `bigint` only when it fits: otherwise a typed `Encode` error before sending.
async fn u64_and_unsigned_values_bind_faithfully(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE u (id INT PRIMARY KEY, n NUMERIC(20, 0), small BIGINT)",
                "CREATE TABLE u (id INT PRIMARY KEY, n BIGINT UNSIGNED, small BIGINT)",
            ),
            (),
        )
        .await
        .unwrap();
    let big = u64::MAX - 6;
    ctx.db
        .execute(
            "INSERT INTO u (id, n, small) VALUES (1, $1, $2)",
            (big, 42u64),
        )
        .await
        .unwrap();
    let (n, small): (u64, u64) = ctx
        .db
        .fetch_one("SELECT n, small FROM u WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!((n, small), (big, 42));
    // Copied through the dynamic Value, as a tool that knows no schema does.
    let value: Value = ctx
        .db
        .fetch_scalar("SELECT n FROM u WHERE id = 1", ())
        .await
        .unwrap();
    let expected = match ctx.backend {
        Backend::MySql => Value::UInt(big),
        Backend::Postgres => Value::Decimal(big.to_string()),
    };
    assert_eq!(value, expected);
    ctx.db
        .execute("INSERT INTO u (id, n) VALUES (2, $1)", (&value,))
        .await
        .unwrap();
    let copied: u64 = ctx
        .db
        .fetch_scalar("SELECT n FROM u WHERE id = 2", ())
        .await
        .unwrap();
    assert_eq!(copied, big, "the value was lost on its way through Value");
    ctx.db
        .execute("INSERT INTO u (id, n) VALUES (3, $1)", (Value::UInt(big),))
        .await
        .unwrap();
    let again: u64 = ctx
        .db
        .fetch_scalar("SELECT n FROM u WHERE id = 3", ())
        .await
        .unwrap();
    assert_eq!(again, big);
    // Too large for a signed column: refused, nothing written.
    let err = ctx
        .db
        .execute("INSERT INTO u (id, small) VALUES (4, $1)", (big,))
        .await
        .unwrap_err();
    match ctx.backend {
        Backend::Postgres => assert!(
            matches!(&err, Error::Encode { index: 0, rust_type: "u64", sql_type, .. } if sql_type == "int8"),
            "{err:?}"
        ),
        Backend::MySql => assert_eq!(err.code().as_deref(), Some("1264"), "{err:?}"),
    }
    let rows: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM u", ())
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

/// A date or time the column cannot hold is an `Encode` error naming the parameter and the
/// range, before anything is sent, on both backends (MariaDB stored a year-10000 timestamp as
/// `0000-00-00 00:00:00` and `NaiveDateTime::MIN` as year 1). Values at the edges of each
/// range round-trip.
async fn dates_and_times_out_of_range_are_refused_before_sending(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE d (id INT PRIMARY KEY, d DATE, dt TIMESTAMP, dtz TIMESTAMPTZ, tm TIME)",
                "CREATE TABLE d (id INT PRIMARY KEY, d DATE, dt DATETIME(6), dtz DATETIME(6), tm TIME(6))",
            ),
            (),
        )
        .await
        .unwrap();
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    let year_10000 = date(10000, 1, 1).and_hms_opt(0, 0, 0).unwrap();
    let leap = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
    let mut refused: Vec<(&str, Error)> = Vec::new();
    let sql = "INSERT INTO d (id, d, dt, dtz, tm) VALUES (1, $1, $2, $3, $4)";
    let ok_date = date(2024, 1, 31);
    let ok_dt = ok_date.and_hms_opt(12, 0, 0).unwrap();
    let ok_tm = NaiveTime::from_hms_opt(1, 2, 3).unwrap();
    let err = |r: weir::Result<u64>| r.unwrap_err();
    refused.push((
        "NaiveDate::MIN",
        err(ctx
            .db
            .execute(sql, (NaiveDate::MIN, ok_dt, ok_dt.and_utc(), ok_tm))
            .await),
    ));
    refused.push((
        "NaiveDateTime::MIN",
        err(ctx
            .db
            .execute(sql, (ok_date, NaiveDateTime::MIN, ok_dt.and_utc(), ok_tm))
            .await),
    ));
    refused.push((
        "DateTime<Utc>::MIN_UTC",
        err(ctx
            .db
            .execute(sql, (ok_date, ok_dt, DateTime::<Utc>::MIN_UTC, ok_tm))
            .await),
    ));
    refused.push((
        "leap second",
        err(ctx
            .db
            .execute(sql, (ok_date, ok_dt, ok_dt.and_utc(), leap))
            .await),
    ));
    if ctx.backend == Backend::MySql {
        refused.push((
            "year 10000",
            err(ctx
                .db
                .execute(sql, (ok_date, year_10000, ok_dt.and_utc(), ok_tm))
                .await),
        ));
        refused.push((
            "date year 10000",
            err(ctx
                .db
                .execute(sql, (date(10000, 1, 1), ok_dt, ok_dt.and_utc(), ok_tm))
                .await),
        ));
    }
    for (what, e) in &refused {
        assert!(matches!(e, Error::Encode { .. }), "{what}: {e:?}");
        let text = e.to_string();
        assert!(
            text.contains("range") || text.contains("leap"),
            "{what}: {text}"
        );
    }
    let count: i64 = ctx
        .db
        .fetch_scalar("SELECT COUNT(*) FROM d", ())
        .await
        .unwrap();
    assert_eq!(count, 0, "a refused value was written");
    // The edges round-trip.
    let (first, last) = match ctx.backend {
        Backend::Postgres => (date(-4713, 11, 24), date(262_142, 12, 31)),
        Backend::MySql => (date(0, 1, 1), date(9999, 12, 31)),
    };
    let last_dt = last.and_hms_micro_opt(23, 59, 59, 999_999).unwrap();
    let first_dt = first.and_hms_opt(0, 0, 0).unwrap();
    ctx.db
        .execute(sql, (first, first_dt, last_dt.and_utc(), ok_tm))
        .await
        .unwrap();
    let back: (NaiveDate, NaiveDateTime, DateTime<Utc>) = ctx
        .db
        .fetch_one("SELECT d, dt, dtz FROM d WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!(back, (first, first_dt, last_dt.and_utc()));
}
