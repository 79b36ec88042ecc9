//! Columns read from mysql_async's rows: numbers and NULL without a look at the column, the
//! rest by its definition; text and bytes moved out of the row rather than copied.

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value};

use crate::types::{Decode, Param};

/// The name of a result column.
pub(super) fn column_name(c: &Column) -> &str {
    std::str::from_utf8(c.name_ref()).unwrap_or("?")
}

/// The SQL name of a column's type, as MySQL writes it.
pub(super) fn column_type_name(c: &Column) -> String {
    use ColumnType::*;
    let binary = c.character_set() == 63;
    // A result set sends ENUM and SET columns as strings, with a flag that says which.
    if c.flags().contains(ColumnFlags::ENUM_FLAG) {
        return "ENUM".into();
    }
    if c.flags().contains(ColumnFlags::SET_FLAG) {
        return "SET".into();
    }
    let name = match c.column_type() {
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => "DECIMAL",
        MYSQL_TYPE_TINY => "TINYINT",
        MYSQL_TYPE_SHORT => "SMALLINT",
        MYSQL_TYPE_INT24 => "MEDIUMINT",
        MYSQL_TYPE_LONG => "INT",
        MYSQL_TYPE_LONGLONG => "BIGINT",
        MYSQL_TYPE_FLOAT => "FLOAT",
        MYSQL_TYPE_DOUBLE => "DOUBLE",
        MYSQL_TYPE_NULL => "NULL",
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "TIMESTAMP",
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "DATE",
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "TIME",
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "DATETIME",
        MYSQL_TYPE_YEAR => "YEAR",
        MYSQL_TYPE_BIT => "BIT",
        MYSQL_TYPE_JSON => "JSON",
        MYSQL_TYPE_ENUM => "ENUM",
        MYSQL_TYPE_SET => "SET",
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING if binary => "VARBINARY",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => "VARCHAR",
        MYSQL_TYPE_STRING if binary => "BINARY",
        MYSQL_TYPE_STRING => "CHAR",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB
            if binary =>
        {
            "BLOB"
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => {
            "TEXT"
        }
        _ => "UNKNOWN",
    };
    // A YEAR column is flagged unsigned, and counts as numeric, but is named without it.
    if c.flags().contains(ColumnFlags::UNSIGNED_FLAG)
        && c.column_type().is_numeric_type()
        && c.column_type() != MYSQL_TYPE_YEAR
    {
        format!("{name} UNSIGNED")
    } else {
        name.to_owned()
    }
}

/// Reads column `index` of `row` as a [`Param`] borrowing the row.
#[inline]
pub(super) fn cell(row: &mysql_async::Row, index: usize) -> Result<Param<'_>, String> {
    // Numbers and NULL mean the same whatever the column: no look at its definition, and this
    // part inlines into each field of the `FromRow` derive.
    match row.as_ref(index) {
        Some(Value::NULL) => Ok(Param::Null),
        Some(Value::Int(v)) => Ok(Param::Int(*v)),
        Some(Value::UInt(v)) => Ok(Param::UInt(*v)),
        Some(Value::Float(v)) => Ok(Param::F32(*v)),
        Some(Value::Double(v)) => Ok(Param::F64(*v)),
        _ => cell_by_column(row, index),
    }
}

/// Whether column `index` of `row` holds a byte buffer (text, binary, decimal, JSON...), which
/// can be moved out of the row instead of copied.
#[inline]
fn holds_bytes(row: &mysql_async::Row, index: usize) -> bool {
    matches!(row.as_ref(index), Some(Value::Bytes(_)))
}

/// [`cell`] for the values whose meaning depends on the column: bytes, dates and times.
fn cell_by_column(row: &mysql_async::Row, index: usize) -> Result<Param<'_>, String> {
    let column = row
        .columns_ref()
        .get(index)
        .ok_or_else(|| format!("no column #{index}"))?;
    let value = row
        .as_ref(index)
        .ok_or_else(|| "value was already taken from the row".to_string())?;
    use ColumnType::*;
    Ok(match value {
        Value::NULL => Param::Null,
        Value::Int(v) => Param::Int(*v),
        Value::UInt(v) => Param::UInt(*v),
        Value::Float(v) => Param::F32(*v),
        Value::Double(v) => Param::F64(*v),
        Value::Bytes(b) => match column.column_type() {
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
                Param::DecimalText(std::str::from_utf8(b).map_err(|e| e.to_string())?)
            }
            MYSQL_TYPE_JSON => Param::JsonText(b),
            // The text protocol sends numbers as text; weir uses it only for simple statements.
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => text_int(b, column)?,
            MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => Param::F64(
                std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or("bad float text")?,
            ),
            MYSQL_TYPE_BIT => Param::Bits(b),
            MYSQL_TYPE_GEOMETRY => Param::Bytes(b),
            _ if column.character_set() == 63 => Param::Bytes(b),
            _ => Param::Text(b),
        },
        #[cfg(feature = "chrono")]
        Value::Date(y, mo, d, h, mi, s, us) => {
            let date =
                chrono::NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*mo), u32::from(*d))
                    .ok_or_else(|| {
                        format!("{y:04}-{mo:02}-{d:02} is not a calendar date (zero date?)")
                    })?;
            match column.column_type() {
                MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Param::Date(date),
                _ => Param::DateTime(
                    date.and_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
                        .ok_or("invalid time of day")?,
                ),
            }
        }
        #[cfg(feature = "chrono")]
        Value::Time(false, 0, h, m, s, us) => Param::Time(
            chrono::NaiveTime::from_hms_micro_opt(u32::from(*h), u32::from(*m), u32::from(*s), *us)
                .ok_or("invalid time of day")?,
        ),
        Value::Time(negative, days, h, m, s, us) => Param::Duration {
            negative: *negative,
            micros: ((u64::from(*days) * 24 + u64::from(*h)) * 3600
                + u64::from(*m) * 60
                + u64::from(*s))
                * 1_000_000
                + u64::from(*us),
        },
        #[cfg(not(feature = "chrono"))]
        Value::Date(..) => return Err("dates need weir's `chrono` feature".into()),
    })
}

fn text_int<'a>(b: &[u8], column: &Column) -> Result<Param<'a>, String> {
    let s = std::str::from_utf8(b).map_err(|e| e.to_string())?;
    if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
        s.parse()
            .map(Param::UInt)
            .map_err(|_| format!("bad integer text {s}"))
    } else {
        s.parse()
            .map(Param::Int)
            .map_err(|_| format!("bad integer text {s}"))
    }
}

/// Decodes column `index` of `row` into `T`, where it lies.
#[inline]
pub(super) fn decode<T: Decode>(row: &mysql_async::Row, index: usize) -> Result<T, String> {
    cell(row, index).and_then(T::decode)
}

/// As [`decode`], but a text or binary value's buffer is moved out of the row into `T`
/// (`String`, `Vec<u8>`) rather than copied; the column then reads as already taken.
#[inline(always)] // the derive's per-field path
pub(super) fn take<T: Decode>(row: &mut mysql_async::Row, index: usize) -> Result<T, String> {
    if holds_bytes(row, index) {
        return take_bytes(row, index);
    }
    decode(row, index)
}

/// [`take`] for a byte value, out of line: one look at the cell says whether it is text or
/// binary (moved out) or a decimal, JSON or text-protocol number (decoded where it lies).
fn take_bytes<T: Decode>(row: &mut mysql_async::Row, index: usize) -> Result<T, String> {
    let text = match cell(row, index)? {
        Param::Text(_) => true,
        Param::Bytes(_) => false,
        cell => return T::decode(cell),
    };
    match row.take::<Value, _>(index) {
        Some(Value::Bytes(bytes)) => T::decode_owned(bytes, text),
        // Already taken: the ordinary path says why.
        _ => decode(row, index),
    }
}
