//! Parameters as mysql_async sends them, with what MySQL cannot hold refused before sending.

use mysql_async::Value;

use crate::error::{Error, Result};
use crate::types::Param;

pub(super) fn positional(values: Vec<Value>) -> mysql_async::Params {
    if values.is_empty() {
        mysql_async::Params::Empty
    } else {
        mysql_async::Params::Positional(values)
    }
}

/// The value of parameter `index` as mysql_async sends it. A date or time MySQL cannot hold is
/// refused here: the binary protocol carries the year as 16 bits and the server stores what it
/// cannot read as a zero date, silently.
#[cfg_attr(not(feature = "chrono"), allow(unused_variables))]
pub(super) fn to_value(index: usize, p: &Param<'_>) -> Result<Value> {
    Ok(match p {
        Param::Null => Value::NULL,
        Param::Bool(b) => Value::Int(i64::from(*b)),
        Param::Int(v) => Value::Int(*v),
        Param::UInt(v) => Value::UInt(*v),
        Param::F32(v) => Value::Float(*v),
        Param::F64(v) => Value::Double(*v),
        Param::Str(s) | Param::Untyped(s) => Value::Bytes(s.as_bytes().to_vec()),
        Param::Bytes(b) | Param::Text(b) | Param::JsonText(b) => Value::Bytes(b.to_vec()),
        Param::DecimalText(s) => Value::Bytes(s.as_bytes().to_vec()),
        Param::PgNumeric(raw) => Value::Bytes(
            crate::types::pg_numeric_to_string(raw)
                .map_err(|reason| refused(index, p, "DECIMAL", reason))?
                .into_bytes(),
        ),
        Param::Duration { negative, micros } => time_value(index, p, *negative, *micros)?,
        Param::Other(_) => {
            return Err(refused(
                index,
                p,
                "any type",
                "a value of a type weir does not know has no MySQL form".into(),
            ))
        }
        #[cfg(feature = "chrono")]
        Param::Date(d) => {
            use chrono::Datelike;
            let year = mysql_year(index, p, "DATE", d.year())?;
            Value::Date(year, d.month() as u8, d.day() as u8, 0, 0, 0, 0)
        }
        #[cfg(feature = "chrono")]
        Param::Time(t) => {
            use chrono::Timelike;
            Value::Time(
                false,
                0,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                micros(index, p, "TIME", t.nanosecond())?,
            )
        }
        #[cfg(feature = "chrono")]
        Param::DateTime(t) => datetime_value(index, p, t)?,
        #[cfg(feature = "chrono")]
        Param::DateTimeUtc(t) => datetime_value(index, p, &t.naive_utc())?,
        #[cfg(feature = "uuid")]
        Param::Uuid(u) => Value::Bytes(u.hyphenated().to_string().into_bytes()),
        #[cfg(feature = "json")]
        Param::Json(j) => Value::Bytes(j.to_string().into_bytes()),
        #[cfg(feature = "decimal")]
        Param::Decimal(d) => Value::Bytes(d.to_string().into_bytes()),
        Param::Array(_) => return Err(no_arrays(index, p)),
        // An address as text: what a VARCHAR column and MariaDB's INET6 take.
        Param::Inet { addr, prefix } => {
            Value::Bytes(crate::types::pg_inet_text(*addr, *prefix).into_bytes())
        }
        Param::Interval {
            months: 0,
            days: 0,
            micros,
        } => time_value(index, p, *micros < 0, micros.unsigned_abs())?,
        Param::Interval { .. } => {
            return Err(refused(
                index,
                p,
                "TIME",
                "an interval of months or days has no MySQL form (their length varies)".into(),
            ))
        }
        Param::TimeTz { .. } => {
            return Err(refused(
                index,
                p,
                "TIME",
                "MySQL has no time with time zone".into(),
            ))
        }
        Param::Char(v) => Value::Int(i64::from(*v)),
        Param::Bits(b) => Value::Bytes(b.to_vec()),
    })
}

/// An array parameter: MySQL and MariaDB have no array type.
#[cold]
fn no_arrays(index: usize, p: &Param<'_>) -> Error {
    refused(
        index,
        p,
        "any type",
        "MySQL and MariaDB have no array type: for `IN (...)` use the repository's \
         Filter::in_ (one parameter per value), or bind a JSON array (serde_json::Value) \
         and read it with JSON_TABLE or JSON_CONTAINS"
            .into(),
    )
}

#[cfg(feature = "chrono")]
fn datetime_value(index: usize, p: &Param<'_>, t: &chrono::NaiveDateTime) -> Result<Value> {
    use chrono::{Datelike, Timelike};
    Ok(Value::Date(
        mysql_year(index, p, "DATETIME", t.year())?,
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
        micros(index, p, "DATETIME", t.nanosecond())?,
    ))
}

/// The year of a MySQL `DATE` or `DATETIME`: 0 to 9999 (MySQL 8 documents 1000 to 9999 as
/// supported; both servers store the years before as they are). A `TIMESTAMP` column's
/// narrower range is the server's to check: it refuses what does not fit (error 1292).
#[cfg(feature = "chrono")]
fn mysql_year(index: usize, p: &Param<'_>, sql_type: &str, year: i32) -> Result<u16> {
    match u16::try_from(year) {
        Ok(y) if y <= 9999 => Ok(y),
        _ => Err(Error::Encode {
            index,
            rust_type: p.rust_type(),
            sql_type: sql_type.into(),
            reason: format!(
                "year {year} is outside MySQL's range for {sql_type} (years 0000 to 9999)"
            ),
        }),
    }
}

/// Microseconds of a time of day; a leap second (which chrono keeps as a second's worth of
/// extra nanoseconds) has no MySQL form.
#[cfg(feature = "chrono")]
fn micros(index: usize, p: &Param<'_>, sql_type: &str, nanos: u32) -> Result<u32> {
    if nanos >= 1_000_000_000 {
        return Err(Error::Encode {
            index,
            rust_type: p.rust_type(),
            sql_type: sql_type.into(),
            reason: "a leap second has no MySQL form".into(),
        });
    }
    Ok(nanos / 1000)
}

/// A `TIME` interval: MySQL's range is -838:59:59 to 838:59:59.
fn time_value(index: usize, p: &Param<'_>, negative: bool, micros: u64) -> Result<Value> {
    const MAX_MICROS: u64 = (838 * 3600 + 59 * 60 + 59) * 1_000_000 + 999_999;
    if micros > MAX_MICROS {
        return Err(refused(
            index,
            p,
            "TIME",
            "outside MySQL's TIME range (-838:59:59 to 838:59:59)".into(),
        ));
    }
    let secs = micros / 1_000_000;
    Ok(Value::Time(
        negative,
        (secs / 86_400) as u32,
        (secs / 3600 % 24) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (micros % 1_000_000) as u32,
    ))
}

/// Parameter `index` refused before sending: MySQL cannot hold it as `sql_type`.
fn refused(index: usize, p: &Param<'_>, sql_type: &str, reason: String) -> Error {
    Error::Encode {
        index,
        rust_type: p.rust_type(),
        sql_type: sql_type.into(),
        reason,
    }
}
