//! [`Value`]: any column value, owned, for code that does not know the schema.

use std::fmt;

use super::{array, pg_numeric_to_string, pgtext, ColumnValue, Decode, Encode, Param};

/// Any column value, for code that does not know the schema (the CLI, a JSON export).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer too large for `i64`'s sign (MySQL `BIGINT UNSIGNED`).
    UInt(u64),
    /// A float (single precision widened).
    Float(f64),
    /// An exact decimal, as text so that no digit is lost.
    Decimal(String),
    /// Text.
    Text(String),
    /// Binary data.
    Bytes(Vec<u8>),
    /// A calendar date.
    #[cfg(feature = "chrono")]
    Date(chrono::NaiveDate),
    /// A time of day.
    #[cfg(feature = "chrono")]
    Time(chrono::NaiveTime),
    /// A date and time without time zone.
    #[cfg(feature = "chrono")]
    DateTime(chrono::NaiveDateTime),
    /// An instant, in UTC.
    #[cfg(feature = "chrono")]
    DateTimeUtc(chrono::DateTime<chrono::Utc>),
    /// A UUID.
    #[cfg(feature = "uuid")]
    Uuid(uuid::Uuid),
    /// A JSON document.
    #[cfg(feature = "json")]
    Json(serde_json::Value),
    /// A value of a type weir cannot show (a range, a geometry...), in the backend's wire
    /// format.
    Unsupported(Vec<u8>),
    /// An array (PostgreSQL), one `Value` per element; a multi-dimensional array nests.
    Array(Vec<Value>),
}

impl Decode for Value {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            // A column of these must hold what it says: reading one is an error when it does not.
            Param::PgNumeric(raw) => Ok(Value::Decimal(pg_numeric_to_string(raw)?)),
            #[cfg(feature = "json")]
            Param::JsonText(b) => serde_json::from_slice(b)
                .map(Value::Json)
                .map_err(|e| format!("invalid JSON: {e}")),
            // A `u64` a signed integer can hold reads as one.
            Param::UInt(v) => Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int)),
            other => Ok(Value::owned(other)),
        }
    }

    fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
        match value.array() {
            Some(array) => array::array_value(array?),
            None => Self::decode(value.classify()?),
        }
    }
}

impl Value {
    /// An owned copy of any borrowed value (a filter keeps its values so): an `f32` widens, an
    /// exact decimal keeps its digits as text, text a tool could not type stays text, and what
    /// cannot be read as what it claims is kept as bytes.
    pub(crate) fn owned(value: Param<'_>) -> Value {
        match value {
            Param::Null => Value::Null,
            Param::Bool(v) => Value::Bool(v),
            Param::Int(v) => Value::Int(v),
            Param::UInt(v) => Value::UInt(v),
            Param::F32(v) => Value::Float(f64::from(v)),
            Param::F64(v) => Value::Float(v),
            Param::Str(s) | Param::Untyped(s) => Value::Text(s.to_owned()),
            Param::Text(b) => match String::from_utf8(b.to_vec()) {
                Ok(s) => Value::Text(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
            Param::Bytes(b) => Value::Bytes(b.to_vec()),
            Param::DecimalText(s) => Value::Decimal(s.to_owned()),
            Param::PgNumeric(raw) => pg_numeric_to_string(raw)
                .map_or_else(|_| Value::Unsupported(raw.to_vec()), Value::Decimal),
            #[cfg(feature = "json")]
            Param::JsonText(b) => serde_json::from_slice(b).map_or_else(
                |_| Value::Text(String::from_utf8_lossy(b).into_owned()),
                Value::Json,
            ),
            #[cfg(not(feature = "json"))]
            Param::JsonText(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
            #[cfg(feature = "chrono")]
            Param::Date(v) => Value::Date(v),
            #[cfg(feature = "chrono")]
            Param::Time(v) => Value::Time(v),
            #[cfg(feature = "chrono")]
            Param::DateTime(v) => Value::DateTime(v),
            #[cfg(feature = "chrono")]
            Param::DateTimeUtc(v) => Value::DateTimeUtc(v),
            #[cfg(feature = "uuid")]
            Param::Uuid(v) => Value::Uuid(v),
            #[cfg(feature = "json")]
            Param::Json(v) => Value::Json(v.clone()),
            #[cfg(feature = "decimal")]
            Param::Decimal(v) => Value::Decimal(v.to_string()),
            Param::Duration { negative, micros } => Value::Text(duration_text(negative, micros)),
            Param::Other(b) => Value::Unsupported(b.to_vec()),
            Param::Array(a) => Value::Array(
                (0..a.element_count())
                    .map(|i| Value::owned(a.element(i)))
                    .collect(),
            ),
            // No Rust type of their own: text as psql shows it.
            Param::Inet { addr, prefix } => Value::Text(pgtext::inet(addr, prefix)),
            Param::Interval {
                months,
                days,
                micros,
            } => Value::Text(pgtext::interval(months, days, micros)),
            Param::TimeTz { micros, offset } => Value::Text(pgtext::time_tz(micros, offset)),
            Param::Char(v) => Value::Text(pgtext::char_text(v)),
            // A MySQL BIT(n) is a number, as MySQL compares and shows it.
            Param::Bits(b) => {
                let n = b.iter().fold(0u128, |n, &byte| n << 8 | u128::from(byte));
                match (i64::try_from(n), u64::try_from(n)) {
                    (Ok(v), _) => Value::Int(v),
                    (_, Ok(v)) => Value::UInt(v),
                    _ => Value::Bytes(b.to_vec()),
                }
            }
        }
    }
}

/// A MySQL `TIME` interval as MySQL writes it: `[-]h:mm:ss[.ffffff]`.
pub(super) fn duration_text(negative: bool, micros: u64) -> String {
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let sign = if negative { "-" } else { "" };
    let mut s = format!(
        "{sign}{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac > 0 {
        s.push_str(&format!(".{frac:06}"));
    }
    s
}

impl Encode for Value {
    fn encode(&self) -> Param<'_> {
        match self {
            Value::Null => Param::Null,
            Value::Bool(b) => Param::Bool(*b),
            Value::Int(v) => Param::Int(*v),
            Value::UInt(v) => Param::UInt(*v),
            // Text is the only form that keeps every digit on both backends.
            Value::Decimal(s) => Param::Str(s),
            Value::Float(v) => Param::F64(*v),
            Value::Text(s) => Param::Str(s),
            Value::Bytes(b) | Value::Unsupported(b) => Param::Bytes(b),
            #[cfg(feature = "chrono")]
            Value::Date(d) => Param::Date(*d),
            #[cfg(feature = "chrono")]
            Value::Time(t) => Param::Time(*t),
            #[cfg(feature = "chrono")]
            Value::DateTime(t) => Param::DateTime(*t),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(t) => Param::DateTimeUtc(*t),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => Param::Uuid(*u),
            #[cfg(feature = "json")]
            Value::Json(j) => Param::Json(j),
            Value::Array(items) => Param::Array(items),
        }
    }
}

impl fmt::Display for Value {
    /// Plain text for people: NULL as `NULL`, bytes as `\x` hex, JSON compact, arrays as
    /// PostgreSQL writes them (`{1,2,NULL}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Decimal(s) | Value::Text(s) => f.write_str(s),
            Value::Bytes(b) | Value::Unsupported(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
            #[cfg(feature = "chrono")]
            Value::Date(d) => write!(f, "{d}"),
            #[cfg(feature = "chrono")]
            Value::Time(t) => write!(f, "{t}"),
            #[cfg(feature = "chrono")]
            Value::DateTime(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.f")),
            #[cfg(feature = "chrono")]
            Value::DateTimeUtc(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.f%:z")),
            #[cfg(feature = "uuid")]
            Value::Uuid(u) => write!(f, "{u}"),
            #[cfg(feature = "json")]
            Value::Json(j) => write!(f, "{j}"),
            Value::Array(items) => array::write_array(f, items),
        }
    }
}
