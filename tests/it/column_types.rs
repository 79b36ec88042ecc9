//! The types a real schema has, past the common ones: PostgreSQL arrays, addresses, intervals,
//! times with offsets, `citext`, `"char"`, `oid`; MySQL `BIT`, `ENUM`, `SET`, `YEAR`, unsigned
//! integers, `TINYINT(1)` and JSON. Each round-trips where the backend has it; each mismatch is
//! a typed error naming the column, the SQL type and the Rust type; a dynamic `Value` shows each
//! readably, never as wire bytes.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;
use weir::{Backend, Decode, Encode, Error, Executor, Value};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    arrays_bind_and_decode,
    arrays_of_every_scalar_type_round_trip,
    array_mismatches_are_typed_errors,
    ip_addresses_both_ways,
    intervals_and_times_of_day,
    text_like_and_small_types,
    mysql_bit_enum_set_year_and_flags,
    json_columns_read_as_json,
);

/// Asserts `err` is a decode error for `column`, of SQL type `sql_type` (case ignored), read
/// as `rust_type` (as the error names it), and returns its text.
#[track_caller]
fn assert_decode_error(err: &Error, column: &str, sql_type: &str, rust_type: &str) -> String {
    match err {
        Error::Decode {
            column: c,
            sql_type: s,
            ..
        } => {
            assert_eq!(c, column, "{err}");
            assert_eq!(s.to_lowercase(), sql_type.to_lowercase(), "{err}");
            let text = err.to_string();
            assert!(text.contains(&format!("as Rust `{rust_type}`")), "{text}");
            text
        }
        other => panic!("expected a decode error for {column}, got {other:?}"),
    }
}

/// `id = ANY($1)` takes a `Vec<i64>` or a `&[i64]`; `text[]` reads into `Vec<String>`, an
/// `int8[]` with NULLs into `Vec<Option<i64>>`, and both into a `Value::Array`. On MySQL an
/// array parameter is an `Encode` error that names the portable ways, and nothing is sent.
async fn arrays_bind_and_decode(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE a (id BIGINT PRIMARY KEY, tags TEXT[], ns INT8[])",
                "CREATE TABLE a (id BIGINT PRIMARY KEY, tags TEXT, ns TEXT)",
            ),
            (),
        )
        .await
        .unwrap();
    for id in 1..=4i64 {
        ctx.db
            .execute("INSERT INTO a (id) VALUES ($1)", (id,))
            .await
            .unwrap();
    }
    let ids = vec![1i64, 3, 99];
    if ctx.backend == Backend::MySql {
        for err in [
            ctx.db
                .fetch_all::<(i64,), _>("SELECT id FROM a WHERE id IN ($1)", (&ids,))
                .await
                .unwrap_err(),
            ctx.db
                .execute("UPDATE a SET tags = 'x' WHERE id = $1", (&ids[..],))
                .await
                .unwrap_err(),
            ctx.db
                .execute(
                    "UPDATE a SET tags = 'x' WHERE id = $1",
                    (Value::Array(vec![Value::Int(1)]),),
                )
                .await
                .unwrap_err(),
        ] {
            assert!(matches!(err, Error::Encode { index: 0, .. }), "{err:?}");
            let text = err.to_string();
            assert!(text.contains("Filter::in_"), "{text}");
            assert!(text.contains("JSON"), "{text}");
        }
        let touched: i64 = ctx
            .db
            .fetch_scalar("SELECT COUNT(*) FROM a WHERE tags IS NOT NULL", ())
            .await
            .unwrap();
        assert_eq!(touched, 0, "a refused array parameter reached the server");
        return;
    }
    let found: Vec<(i64,)> = ctx
        .db
        .fetch_all("SELECT id FROM a WHERE id = ANY($1) ORDER BY id", (&ids,))
        .await
        .unwrap();
    assert_eq!(found, [(1,), (3,)]);
    let found: Vec<(i64,)> = ctx
        .db
        .fetch_all(
            "SELECT id FROM a WHERE id = ANY($1) ORDER BY id",
            (&ids[1..],),
        )
        .await
        .unwrap();
    assert_eq!(found, [(3,)]);
    let none: Vec<(i64,)> = ctx
        .db
        .fetch_all("SELECT id FROM a WHERE id = ANY($1)", (Vec::<i64>::new(),))
        .await
        .unwrap();
    assert!(none.is_empty());

    let tags = vec![
        "a".to_string(),
        "b c".into(),
        "{\"quoted\"},".into(),
        String::new(),
    ];
    let ns = vec![Some(1i64), None, Some(i64::MIN)];
    ctx.db
        .execute("UPDATE a SET tags = $1, ns = $2 WHERE id = 1", (&tags, &ns))
        .await
        .unwrap();
    let (t, n): (Vec<String>, Vec<Option<i64>>) = ctx
        .db
        .fetch_one("SELECT tags, ns FROM a WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!((&t, &n), (&tags, &ns));
    // NULL arrays and empty arrays.
    let (t, n): (Option<Vec<String>>, Option<Vec<Option<i64>>>) = ctx
        .db
        .fetch_one("SELECT tags, ns FROM a WHERE id = 2", ())
        .await
        .unwrap();
    assert_eq!((t, n), (None, None));
    ctx.db
        .execute(
            "UPDATE a SET tags = $1 WHERE id = 3",
            (Vec::<String>::new(),),
        )
        .await
        .unwrap();
    let t: Vec<String> = ctx
        .db
        .fetch_scalar("SELECT tags FROM a WHERE id = 3", ())
        .await
        .unwrap();
    assert!(t.is_empty());

    // Dynamic values: an array of values, nested for more dimensions.
    let row: weir::Row = ctx
        .db
        .fetch_one(
            "SELECT tags, ns, ARRAY[[1,2],[3,4]] AS grid FROM a WHERE id = 1",
            (),
        )
        .await
        .unwrap();
    let values = row.values().unwrap();
    assert_eq!(
        values[1],
        Value::Array(vec![Value::Int(1), Value::Null, Value::Int(i64::MIN)])
    );
    assert_eq!(values[0].to_string(), r#"{a,"b c","{\"quoted\"},",""}"#);
    assert_eq!(values[2].to_string(), "{{1,2},{3,4}}");
    assert_eq!(row.columns()[1].sql_type, "int8[]");
    // A Value::Array binds back as the array it came from.
    ctx.db
        .execute("UPDATE a SET ns = $1 WHERE id = 4", (&values[1],))
        .await
        .unwrap();
    let copied: Vec<Option<i64>> = ctx
        .db
        .fetch_scalar("SELECT ns FROM a WHERE id = 4", ())
        .await
        .unwrap();
    assert_eq!(copied, ns);
}

/// Reads `$1::<sql>` back as the Rust type it was bound from, for a list and for a list with
/// a NULL in it.
async fn round_trip<T>(ctx: &Ctx, sql_type: &str, values: Vec<T>)
where
    T: weir::ArrayElement + Encode + Decode + Clone + PartialEq + std::fmt::Debug + Send,
{
    let sql = format!("SELECT $1::{sql_type}[]");
    let back: Vec<T> = ctx.db.fetch_scalar(&sql, (&values,)).await.unwrap();
    assert_eq!(back, values, "{sql_type}[]");
    let mut with_null: Vec<Option<T>> = values.into_iter().map(Some).collect();
    with_null.insert(1, None);
    let back: Vec<Option<T>> = ctx.db.fetch_scalar(&sql, (&with_null,)).await.unwrap();
    assert_eq!(back, with_null, "{sql_type}[] with a NULL");
}

/// A `Vec` of every scalar type weir supports binds as that type's array and reads back; on
/// MySQL each is the same typed error.
async fn arrays_of_every_scalar_type_round_trip(ctx: Ctx) {
    if ctx.backend == Backend::MySql {
        let err = ctx
            .db
            .fetch_scalar::<i64, _>("SELECT $1", (vec!["a", "b"],))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Encode { rust_type, .. } if rust_type.contains("Vec<&str>")),
            "{err:?}"
        );
        return;
    }
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let at = day.and_hms_micro_opt(23, 59, 58, 123_456).unwrap();
    round_trip(&ctx, "bool", vec![true, false]).await;
    round_trip(&ctx, "int2", vec![i16::MIN, 7]).await;
    round_trip(&ctx, "int4", vec![i32::MAX, -1]).await;
    round_trip(&ctx, "int8", vec![i64::MIN, 0]).await;
    round_trip(&ctx, "float4", vec![1.5f32, -0.25]).await;
    round_trip(&ctx, "float8", vec![2.25e300, f64::MIN_POSITIVE]).await;
    round_trip(&ctx, "text", vec!["héllo 🦀".to_string(), "".into()]).await;
    round_trip(&ctx, "varchar", vec!["a,b".to_string(), "NULL".into()]).await;
    round_trip(&ctx, "bytea", vec![vec![0u8, 255], vec![]]).await;
    round_trip(
        &ctx,
        "date",
        vec![day, NaiveDate::from_ymd_opt(1, 1, 1).unwrap()],
    )
    .await;
    round_trip(&ctx, "time", vec![at.time(), NaiveTime::MIN]).await;
    round_trip(
        &ctx,
        "timestamp",
        vec![at, at - chrono::Duration::days(9000)],
    )
    .await;
    round_trip(
        &ctx,
        "timestamptz",
        vec![at.and_utc(), DateTime::<Utc>::UNIX_EPOCH],
    )
    .await;
    round_trip(&ctx, "uuid", vec![Uuid::from_u128(7), Uuid::nil()]).await;
    round_trip(
        &ctx,
        "jsonb",
        vec![serde_json::json!({"a": [1]}), serde_json::json!(null)],
    )
    .await;
    round_trip(
        &ctx,
        "json",
        vec![serde_json::json!("s"), serde_json::json!(1.5)],
    )
    .await;
    round_trip(
        &ctx,
        "numeric",
        vec![Decimal::from_str_exact("-12.50").unwrap(), Decimal::ZERO],
    )
    .await;
    round_trip(
        &ctx,
        "inet",
        vec![
            "10.1.2.3".parse::<IpAddr>().unwrap(),
            "::1".parse().unwrap(),
        ],
    )
    .await;
    round_trip(
        &ctx,
        "interval",
        vec![Duration::from_micros(90_500_000), Duration::ZERO],
    )
    .await;
    // Borrowed elements bind too: `&str`, and an offset time as its instant.
    let back: Vec<String> = ctx
        .db
        .fetch_scalar("SELECT $1::text[]", (vec!["a", "b c"],))
        .await
        .unwrap();
    assert_eq!(back, ["a", "b c"]);
    let offset = DateTime::parse_from_rfc3339("2024-01-31T12:00:00+02:00").unwrap();
    let back: Vec<DateTime<Utc>> = ctx
        .db
        .fetch_scalar("SELECT $1::timestamptz[]", ([offset],))
        .await
        .unwrap();
    assert_eq!(back, [offset.to_utc()]);
    // u16, u32, u64 and i8 bind as any integer array that holds them.
    let back: Vec<u64> = ctx
        .db
        .fetch_scalar("SELECT $1::int8[]", (vec![1u64, 2],))
        .await
        .unwrap();
    assert_eq!(back, [1, 2]);
    let back: Vec<NaiveDateTime> = ctx
        .db
        .fetch_scalar("SELECT $1::timestamp[]", ([at],))
        .await
        .unwrap();
    assert_eq!(back, [at]);
}

/// Mismatches with arrays are typed errors naming the column, the SQL type and the Rust type,
/// and the element at fault; an element out of the element type's range is refused before
/// sending.
async fn array_mismatches_are_typed_errors(ctx: Ctx) {
    if ctx.backend == Backend::MySql {
        // No array columns: a Vec read from a text column is a mismatch like any other.
        let err = ctx
            .db
            .fetch_scalar::<Vec<i64>, _>("SELECT 'x' AS s", ())
            .await
            .unwrap_err();
        assert_decode_error(&err, "s", "VARCHAR", "Vec<i64>");
        return;
    }
    let err = ctx
        .db
        .fetch_scalar::<Vec<i64>, _>("SELECT ARRAY[1, NULL]::int8[] AS ns", ())
        .await
        .unwrap_err();
    let text = assert_decode_error(&err, "ns", "int8[]", "Vec<i64>");
    assert!(text.contains("element 2: unexpected NULL"), "{text}");
    let err = ctx
        .db
        .fetch_scalar::<Vec<String>, _>("SELECT ARRAY[1, 2] AS ns", ())
        .await
        .unwrap_err();
    let text = assert_decode_error(&err, "ns", "int4[]", "Vec<String>");
    assert!(text.contains("element 1: incompatible types"), "{text}");
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT ARRAY[1] AS ns", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "ns", "int4[]", "i64");
    let err = ctx
        .db
        .fetch_scalar::<Vec<i32>, _>("SELECT 1 AS one", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "one", "int4", "Vec<i32>");
    let err = ctx
        .db
        .fetch_scalar::<Vec<i32>, _>("SELECT ARRAY[[1,2],[3,4]] AS grid", ())
        .await
        .unwrap_err();
    let text = assert_decode_error(&err, "grid", "int4[]", "Vec<i32>");
    assert!(text.contains("2-dimensional"), "{text}");
    // Out of the element type's range, or not an array where one is asked for: refused before
    // sending, naming the parameter.
    let err = ctx
        .db
        .fetch_scalar::<Vec<i32>, _>("SELECT $1::int4[]", (vec![1i64, 1 << 40],))
        .await
        .unwrap_err();
    match &err {
        Error::Encode {
            index: 0, sql_type, ..
        } => assert_eq!(sql_type, "int4[]"),
        other => panic!("expected an encode error, got {other:?}"),
    }
    assert!(err.to_string().contains("element 2"), "{err}");
    let err = ctx
        .db
        .fetch_scalar::<Vec<i64>, _>("SELECT $1::int8[]", (5i64,))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Encode { .. }), "{err:?}");
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT $1::int8", (vec![5i64],))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("an array binds only to an array type"),
        "{err}"
    );
}

/// `inet` and `cidr` read into `IpAddr` and bind from it on PostgreSQL; on MySQL an address is
/// text (a VARCHAR, or MariaDB's INET6). A network with a prefix does not fit one address.
async fn ip_addresses_both_ways(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE ip (id INT PRIMARY KEY, host INET, net CIDR)",
                "CREATE TABLE ip (id INT PRIMARY KEY, host VARCHAR(45), net VARCHAR(49))",
            ),
            (),
        )
        .await
        .unwrap();
    let v4: IpAddr = "192.168.0.7".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    ctx.db
        .execute(
            "INSERT INTO ip (id, host, net) VALUES (1, $1, $2), (2, $3, '10.0.0.0/8')",
            (v4, v6, v6),
        )
        .await
        .unwrap();
    let (a, b): (IpAddr, IpAddr) = ctx
        .db
        .fetch_one("SELECT host, net FROM ip WHERE id = 1", ())
        .await
        .unwrap();
    assert_eq!((a, b), (v4, v6));
    let values = ctx
        .db
        .fetch_one::<weir::Row, _>("SELECT host, net FROM ip WHERE id = 2", ())
        .await
        .unwrap()
        .values()
        .unwrap();
    assert_eq!(
        values,
        [
            Value::Text("2001:db8::1".into()),
            Value::Text("10.0.0.0/8".into())
        ]
    );
    if ctx.backend == Backend::Postgres {
        let err = ctx
            .db
            .fetch_scalar::<IpAddr, _>("SELECT net FROM ip WHERE id = 2", ())
            .await
            .unwrap_err();
        let text = assert_decode_error(&err, "net", "cidr", "IpAddr");
        assert!(text.contains("10.0.0.0/8 is a network"), "{text}");
        // The text a Value holds binds back; a cidr with host bits is refused before sending.
        ctx.db
            .execute("UPDATE ip SET net = $1 WHERE id = 1", (&values[1],))
            .await
            .unwrap();
        let err = ctx
            .db
            .execute(
                "UPDATE ip SET net = $1",
                (Value::Text("10.0.0.1/8".into()),),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Encode { sql_type, .. } if sql_type == "cidr"),
            "{err:?}"
        );
        let err = ctx
            .db
            .fetch_scalar::<i64, _>("SELECT host FROM ip WHERE id = 1", ())
            .await
            .unwrap_err();
        assert_decode_error(&err, "host", "inet", "i64");
    } else {
        let mariadb = ctx
            .db
            .fetch_scalar::<String, _>("SELECT VERSION()", ())
            .await
            .unwrap()
            .contains("MariaDB");
        if mariadb {
            ctx.db
                .execute("CREATE TABLE ip6 (a INET6)", ())
                .await
                .unwrap();
            ctx.db
                .execute("INSERT INTO ip6 VALUES ($1)", (v6,))
                .await
                .unwrap();
            let back: IpAddr = ctx.db.fetch_scalar("SELECT a FROM ip6", ()).await.unwrap();
            assert_eq!(back, v6);
        }
        let err = ctx
            .db
            .fetch_scalar::<IpAddr, _>("SELECT 'nope' AS host", ())
            .await
            .unwrap_err();
        assert_decode_error(&err, "host", "VARCHAR", "IpAddr");
    }
}

/// A `std::time::Duration` binds to a PostgreSQL `interval` and a MySQL `TIME` and reads back;
/// an interval of months or days shows as psql writes it and does not fit a `Duration`; a
/// `time` of 24:00:00 and a `timetz` do not fit a `NaiveTime`, and say why.
async fn intervals_and_times_of_day(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE iv (id INT PRIMARY KEY, d INTERVAL)",
                "CREATE TABLE iv (id INT PRIMARY KEY, d TIME(6))",
            ),
            (),
        )
        .await
        .unwrap();
    let short = Duration::from_micros(5_025_000); // 00:00:05.025
    let long = Duration::from_secs(30 * 3600 + 1); // 30:00:01
    ctx.db
        .execute(
            "INSERT INTO iv (id, d) VALUES (1, $1), (2, $2)",
            (short, long),
        )
        .await
        .unwrap();
    let back: Vec<(Duration,)> = ctx
        .db
        .fetch_all("SELECT d FROM iv ORDER BY id", ())
        .await
        .unwrap();
    assert_eq!(back, [(short,), (long,)]);
    let shown: Value = ctx
        .db
        .fetch_scalar("SELECT d FROM iv WHERE id = 2", ())
        .await
        .unwrap();
    assert_eq!(shown, Value::Text("30:00:01".into()));
    let err = ctx
        .db
        .fetch_scalar::<NaiveTime, _>("SELECT d FROM iv WHERE id = 2", ())
        .await
        .unwrap_err();
    let sql_type = ctx.sql("interval", "TIME");
    assert_decode_error(&err, "d", sql_type, "NaiveTime");
    if ctx.backend == Backend::MySql {
        let err = ctx
            .db
            .fetch_scalar::<Duration, _>("SELECT CAST('-01:00:00' AS TIME) AS d", ())
            .await
            .unwrap_err();
        let text = assert_decode_error(&err, "d", "TIME", "Duration");
        assert!(text.contains("-1:00:00 is negative"), "{text}");
        return;
    }
    let row: weir::Row = ctx
        .db
        .fetch_one(
            "SELECT INTERVAL '1 year 2 mons 3 days 04:05:06.5' AS a, INTERVAL '-1 day 2 hours' AS b, \
             TIME '24:00:00' AS c, TIMETZ '12:34:56.5+02' AS d",
            (),
        )
        .await
        .unwrap();
    assert_eq!(
        row.values().unwrap(),
        [
            Value::Text("1 year 2 mons 3 days 04:05:06.5".into()),
            Value::Text("-1 days +02:00:00".into()),
            Value::Text("24:00:00".into()),
            Value::Text("12:34:56.5+02".into()),
        ]
    );
    let err = row.try_get::<Duration, _>("a").unwrap_err();
    let text = assert_decode_error(&err, "a", "interval", "Duration");
    assert!(text.contains("months or days"), "{text}");
    let err = row.try_get::<NaiveTime, _>("c").unwrap_err();
    let text = assert_decode_error(&err, "c", "time", "NaiveTime");
    assert!(text.contains("24:00:00 is not a time of day"), "{text}");
    assert_eq!(
        row.try_get::<Duration, _>("c").unwrap(),
        Duration::from_secs(86_400)
    );
    let err = row.try_get::<NaiveTime, _>("d").unwrap_err();
    let text = assert_decode_error(&err, "d", "timetz", "NaiveTime");
    assert!(text.contains("UTC offset"), "{text}");
    // Too long for an interval: refused before sending.
    let err = ctx
        .db
        .execute("UPDATE iv SET d = $1", (Duration::MAX,))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Encode { sql_type, .. } if sql_type == "interval"),
        "{err:?}"
    );
}

/// PostgreSQL: `citext` as `String` both ways, `jsonb`, `bytea`, `oid` as `u32` and `"char"`
/// as `i8` (shown as its character). MySQL: `TINYINT(1)` as `bool`, `BIGINT UNSIGNED` as
/// `u64`.
async fn text_like_and_small_types(ctx: Ctx) {
    if ctx.backend == Backend::MySql {
        ctx.db
            .execute(
                "CREATE TABLE s (flag TINYINT(1), big BIGINT UNSIGNED, blob_ BLOB)",
                (),
            )
            .await
            .unwrap();
        ctx.db
            .execute(
                "INSERT INTO s VALUES ($1, $2, $3)",
                (true, u64::MAX, vec![0u8, 1, 255]),
            )
            .await
            .unwrap();
        let row: (bool, u64, Vec<u8>) = ctx
            .db
            .fetch_one("SELECT flag, big, blob_ FROM s", ())
            .await
            .unwrap();
        assert_eq!(row, (true, u64::MAX, vec![0, 1, 255]));
        let err = ctx
            .db
            .fetch_scalar::<i64, _>("SELECT big FROM s", ())
            .await
            .unwrap_err();
        assert_decode_error(&err, "big", "BIGINT UNSIGNED", "i64");
        return;
    }
    ctx.db
        .execute_script(
            "CREATE EXTENSION IF NOT EXISTS citext;
             CREATE TABLE s (name CITEXT, doc JSONB, data BYTEA, o OID, c \"char\")",
        )
        .await
        .unwrap();
    let doc = serde_json::json!({"k": [1, "two", null]});
    ctx.db
        .execute(
            "INSERT INTO s VALUES ($1, $2, $3, $4, $5)",
            ("Ada", &doc, vec![0u8, 255], 4_000_000_000u32, b'r' as i8),
        )
        .await
        .unwrap();
    let row: (String, serde_json::Value, Vec<u8>, u32, i8) = ctx
        .db
        .fetch_one(
            "SELECT name, doc, data, o, c FROM s WHERE name = $1",
            ("ADA",),
        )
        .await
        .unwrap();
    assert_eq!(
        row,
        (
            "Ada".into(),
            doc.clone(),
            vec![0, 255],
            4_000_000_000,
            b'r' as i8
        )
    );
    let values = ctx
        .db
        .fetch_one::<weir::Row, _>("SELECT name, doc, data, o, c FROM s", ())
        .await
        .unwrap()
        .values()
        .unwrap();
    assert_eq!(
        values,
        [
            Value::Text("Ada".into()),
            Value::Json(doc),
            Value::Bytes(vec![0, 255]),
            Value::Int(4_000_000_000),
            Value::Text("r".into()),
        ]
    );
    // `i8` reads "char", and out of range values are refused before sending.
    let err = ctx
        .db
        .execute("UPDATE s SET c = $1", (300i32,))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Encode { sql_type, .. } if sql_type == "char"),
        "{err:?}"
    );
    let err = ctx
        .db
        .fetch_scalar::<u8, _>("SELECT o FROM s", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "o", "oid", "u8");
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT name FROM s", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "name", "citext", "i64");
}

/// MySQL `BIT(n)` reads as a number (`u64`), as bytes (`Vec<u8>`) and `BIT(1)` as `bool`;
/// `ENUM` and `SET` as `String`, named as such; `YEAR` as an integer. PostgreSQL has none of
/// these (its enums are text both ways).
async fn mysql_bit_enum_set_year_and_flags(ctx: Ctx) {
    if ctx.backend == Backend::Postgres {
        ctx.db
            .execute_script(
                "CREATE TYPE mood AS ENUM ('ok', 'sad');
                 CREATE TABLE m (e mood)",
            )
            .await
            .unwrap();
        ctx.db
            .execute("INSERT INTO m VALUES ($1)", ("sad",))
            .await
            .unwrap();
        let e: String = ctx.db.fetch_scalar("SELECT e FROM m", ()).await.unwrap();
        assert_eq!(e, "sad");
        return;
    }
    ctx.db
        .execute(
            "CREATE TABLE m (b BIT(10), flag BIT(1), e ENUM('ok', 'sad'), s SET('a', 'b', 'c'), y YEAR)",
            (),
        )
        .await
        .unwrap();
    ctx.db
        .execute(
            "INSERT INTO m VALUES ($1, $2, $3, $4, $5)",
            (513u64, true, "sad", "a,c", 2024),
        )
        .await
        .unwrap();
    let row: (u64, Vec<u8>, bool, String, String, u16) = ctx
        .db
        .fetch_one("SELECT b, b, flag, e, s, y FROM m", ())
        .await
        .unwrap();
    assert_eq!(
        row,
        (513, vec![2, 1], true, "sad".into(), "a,c".into(), 2024)
    );
    let r: weir::Row = ctx
        .db
        .fetch_one("SELECT b, flag, e, s, y FROM m", ())
        .await
        .unwrap();
    assert_eq!(
        r.values().unwrap(),
        [
            Value::Int(513),
            Value::Int(1),
            Value::Text("sad".into()),
            Value::Text("a,c".into()),
            Value::Int(2024),
        ]
    );
    let types: Vec<String> = r.columns().into_iter().map(|c| c.sql_type).collect();
    assert_eq!(types, ["BIT", "BIT", "ENUM", "SET", "YEAR"]);
    // Bytes bind into a BIT column as its bits.
    ctx.db
        .execute("UPDATE m SET b = $1", (vec![3u8, 0],))
        .await
        .unwrap();
    let b: u64 = ctx.db.fetch_scalar("SELECT b FROM m", ()).await.unwrap();
    assert_eq!(b, 768);
    let err = ctx
        .db
        .fetch_scalar::<bool, _>("SELECT b FROM m", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "b", "BIT", "bool");
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT e FROM m", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "e", "ENUM", "i64");
    let err = ctx
        .db
        .fetch_scalar::<NaiveDate, _>("SELECT y FROM m", ())
        .await
        .unwrap_err();
    assert_decode_error(&err, "y", "YEAR", "NaiveDate");
}

/// A JSON column reads into `serde_json::Value` on both backends, and as `Value::Json` where
/// the server says the column is JSON: PostgreSQL and MySQL 8 do; MariaDB's JSON is LONGTEXT
/// with a `json_valid` check, sent as text unless the client asks for MariaDB's extended
/// column metadata, which mysql_async does not, so there it reads as `Value::Text`.
async fn json_columns_read_as_json(ctx: Ctx) {
    ctx.db
        .execute(
            ctx.sql(
                "CREATE TABLE j (id INT, doc JSON, docb JSONB)",
                "CREATE TABLE j (id INT, doc JSON, docb JSON)",
            ),
            (),
        )
        .await
        .unwrap();
    let doc = serde_json::json!({"a": [1, 2.5, "x"], "b": {"c": null}});
    ctx.db
        .execute("INSERT INTO j VALUES (1, $1, $2)", (&doc, &doc))
        .await
        .unwrap();
    let (a, b): (serde_json::Value, serde_json::Value) = ctx
        .db
        .fetch_one("SELECT doc, docb FROM j", ())
        .await
        .unwrap();
    assert_eq!((&a, &b), (&doc, &doc));
    let v: Value = ctx.db.fetch_scalar("SELECT doc FROM j", ()).await.unwrap();
    let mariadb = ctx.backend == Backend::MySql
        && ctx
            .db
            .fetch_scalar::<String, _>("SELECT VERSION()", ())
            .await
            .unwrap()
            .contains("MariaDB");
    match v {
        Value::Json(j) => assert_eq!(j, doc),
        Value::Text(t) if mariadb => {
            assert_eq!(serde_json::from_str::<serde_json::Value>(&t).unwrap(), doc)
        }
        other => panic!("a JSON column read as {other:?}"),
    }
    // Invalid JSON is refused by the server on both (MariaDB's json_valid check).
    let err = ctx
        .db
        .execute("INSERT INTO j (id, doc) VALUES (2, $1)", ("{not json",))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Database(_)), "{err:?}");
    let err = ctx
        .db
        .fetch_scalar::<i64, _>("SELECT doc FROM j", ())
        .await
        .unwrap_err();
    let sql_type = match ctx.backend {
        Backend::Postgres => "json",
        Backend::MySql if mariadb => "TEXT",
        Backend::MySql => "JSON",
    };
    assert_decode_error(&err, "doc", sql_type, "i64");
}
