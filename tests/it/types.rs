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
