//! Parameters as mysql_async sends them, with what MySQL cannot hold refused before sending.

use mysql_async::Value;

#[cfg(feature = "chrono")]
use crate::error::Error;
use crate::error::Result;
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
        Param::Bytes(b) => Value::Bytes(b.to_vec()),
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
    })
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
