//! Columns: what a Rust value decodes from, for both backends at once.

use super::pg_numeric_to_string;

/// A column value as a backend hands it over, borrowed from the row: the one place where
/// backend wire formats meet Rust types. What a [`Decode`] implementation reads.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Cell<'r> {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (MySQL `BIGINT UNSIGNED`).
    UInt(u64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Text (UTF-8 on PostgreSQL; the column's character set on MySQL, UTF-8 by default).
    Text(&'r [u8]),
    /// Binary data.
    Bytes(&'r [u8]),
    /// An exact decimal as text (`-12.50`).
    DecimalText(&'r str),
    /// PostgreSQL `numeric` in its binary wire format.
    PgNumeric(&'r [u8]),
    /// A JSON document as text.
    Json(&'r [u8]),
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
    /// A MySQL `TIME` that is not a time of day (negative, or 24 hours and more).
    Duration {
        /// Whether it is negative.
        negative: bool,
        /// Whole microseconds.
        micros: u64,
    },
    /// A value of a type weir does not know, in the backend's wire format.
    Other(&'r [u8]),
}

/// A Rust type that can be read from a column.
pub trait Decode: Sized {
    /// Converts one cell; the caller adds the column name and SQL type to the error, so the
    /// error is the reason alone (`"value 300 is out of range"`).
    ///
    /// # Errors
    /// The cell holds NULL, another type, or a value out of `Self`'s range.
    fn decode(cell: Cell<'_>) -> Result<Self, String>;

    /// Converts a text (`text`) or binary cell whose buffer the row gives up (MySQL rows own
    /// theirs), so that `String` and `Vec<u8>` keep it instead of copying it. The default
    /// borrows it and goes through [`Decode::decode`].
    ///
    /// # Errors
    /// As [`Decode::decode`].
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        Self::decode(if text {
            Cell::Text(&bytes)
        } else {
            Cell::Bytes(&bytes)
        })
    }

    /// Converts a value as the backend hands it over, before it is classified: the common
    /// types read it straight from the wire, and the default goes through
    /// [`Decode::decode`]. Override it only to read a type faster.
    #[inline]
    fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
        Self::decode(value.cell()?)
    }
}

/// A column's value as a backend hands it over, classified only on demand: the common types
/// can be read straight from the wire, with no [`Cell`] in between.
pub trait ColumnValue<'a>: Copy {
    /// Whether the value is SQL NULL.
    fn is_null(self) -> bool;
    /// A signed integer of up to 64 bits; `None` for any other type (or NULL).
    fn int(self) -> Option<i64>;
    /// A floating-point number; `None` for any other type (or NULL).
    fn float(self) -> Option<f64>;
    /// A boolean; `None` for any other type (or NULL).
    fn bool(self) -> Option<bool>;
    /// The bytes of a plain text value, not yet checked as UTF-8; `None` for anything else.
    fn text(self) -> Option<&'a [u8]>;
    /// The value classified by its SQL type.
    ///
    /// # Errors
    /// The bytes do not hold a value of the column's type.
    fn cell(self) -> Result<Cell<'a>, String>;
}

/// Decodes through [`Decode::decode`] what the fast path `$fast` of a [`ColumnValue`] left.
macro_rules! fast_path {
    ($fast:ident, |$v:ident| $convert:expr) => {
        #[inline]
        fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
            match value.$fast() {
                Some($v) => $convert,
                None => Self::decode(value.cell()?),
            }
        }
    };
}

#[cold]
fn out_of_range(v: impl std::fmt::Display) -> String {
    format!("value {v} is out of range")
}

#[cold]
fn mismatch(cell: &Cell<'_>) -> String {
    match cell {
        Cell::Null => "unexpected NULL (use Option<T>)".into(),
        _ => "incompatible types".into(),
    }
}

fn int_from_cell(cell: Cell<'_>) -> Result<i128, String> {
    match cell {
        Cell::Int(v) => Ok(i128::from(v)),
        Cell::UInt(v) => Ok(i128::from(v)),
        Cell::Bool(b) => Ok(i128::from(b)),
        Cell::DecimalText(s) => s
            .parse::<i128>()
            .map_err(|_| format!("decimal {s} is not a whole number")),
        Cell::PgNumeric(raw) => {
            let s = pg_numeric_to_string(raw)?;
            s.parse::<i128>()
                .map_err(|_| format!("numeric {s} is not a whole number"))
        }
        other => Err(mismatch(&other)),
    }
}

macro_rules! decode_int {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(cell: Cell<'_>) -> Result<Self, String> {
                // The common case first, without widening to i128.
                if let Cell::Int(v) = cell {
                    return <$t>::try_from(v).map_err(|_| out_of_range(v));
                }
                let v = int_from_cell(cell)?;
                <$t>::try_from(v).map_err(|_| out_of_range(v))
            }

            fast_path!(int, |v| <$t>::try_from(v).map_err(|_| out_of_range(v)));
        }
    )*};
}
decode_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Decode for bool {
    fast_path!(bool, |b| Ok(b));

    #[inline]
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Bool(b) => Ok(b),
            Cell::Int(0) | Cell::UInt(0) => Ok(false),
            Cell::Int(1) | Cell::UInt(1) => Ok(true),
            Cell::Int(v) => Err(format!("integer {v} is not a boolean")),
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for f64 {
    fast_path!(float, |v| Ok(v));

    #[inline]
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::F64(v) => Ok(v),
            Cell::F32(v) => Ok(f64::from(v)),
            Cell::Int(v) => Ok(v as f64),
            Cell::UInt(v) => Ok(v as f64),
            Cell::DecimalText(s) => s.parse().map_err(|_| format!("bad decimal {s}")),
            Cell::PgNumeric(raw) => {
                let s = pg_numeric_to_string(raw)?;
                s.parse()
                    .map_err(|_| format!("numeric {s} is not a number"))
            }
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for f32 {
    #[inline]
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::F32(v) => Ok(v),
            // A MySQL FLOAT column arrives as float, but expressions over it as double.
            Cell::F64(v) => Ok(v as f32),
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for String {
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        if text {
            String::from_utf8(bytes).map_err(|_| "text is not valid UTF-8".to_string())
        } else {
            Self::decode(Cell::Bytes(&bytes))
        }
    }

    fast_path!(text, |b| std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| "text is not valid UTF-8".to_string()));

    #[inline]
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Text(b) | Cell::Json(b) => {
                String::from_utf8(b.to_vec()).map_err(|_| "text is not valid UTF-8".to_string())
            }
            Cell::DecimalText(s) => Ok(s.to_owned()),
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode_owned(bytes: Vec<u8>, _text: bool) -> Result<Self, String> {
        Ok(bytes)
    }

    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Bytes(b) | Cell::Text(b) => Ok(b.to_vec()),
            other => Err(mismatch(&other)),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        T::decode_owned(bytes, text).map(Some)
    }

    #[inline]
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            other => T::decode(other).map(Some),
        }
    }

    #[inline]
    fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
        if value.is_null() {
            Ok(None)
        } else {
            T::decode_value(value).map(Some)
        }
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::{mismatch, Cell, Decode};
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

    impl Decode for NaiveDate {
        fn decode(cell: Cell<'_>) -> Result<Self, String> {
            match cell {
                Cell::Date(d) => Ok(d),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for NaiveTime {
        fn decode(cell: Cell<'_>) -> Result<Self, String> {
            match cell {
                Cell::Time(t) => Ok(t),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for NaiveDateTime {
        fn decode(cell: Cell<'_>) -> Result<Self, String> {
            match cell {
                Cell::DateTime(t) => Ok(t),
                Cell::DateTimeUtc(t) => Ok(t.naive_utc()),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for DateTime<Utc> {
        fn decode(cell: Cell<'_>) -> Result<Self, String> {
            match cell {
                Cell::DateTimeUtc(t) => Ok(t),
                // MySQL DATETIME/TIMESTAMP carry no zone: weir reads them as UTC, which is what
                // it writes (set the session time zone to UTC for TIMESTAMP columns).
                Cell::DateTime(t) => Ok(t.and_utc()),
                other => Err(mismatch(&other)),
            }
        }
    }
}

#[cfg(feature = "uuid")]
impl Decode for uuid::Uuid {
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Uuid(u) => Ok(u),
            Cell::Bytes(b) if b.len() == 16 => uuid::Uuid::from_slice(b).map_err(|e| e.to_string()),
            Cell::Text(b) | Cell::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| "text is not a UUID".to_string()),
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(feature = "json")]
impl Decode for serde_json::Value {
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Json(b) | Cell::Text(b) => {
                serde_json::from_slice(b).map_err(|e| format!("invalid JSON: {e}"))
            }
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(feature = "decimal")]
impl Decode for rust_decimal::Decimal {
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        use std::str::FromStr;
        let parse = |s: &str| {
            rust_decimal::Decimal::from_str_exact(s)
                .or_else(|_| rust_decimal::Decimal::from_scientific(s))
                .map_err(|e| format!("decimal {s}: {e}"))
        };
        match cell {
            Cell::DecimalText(s) => parse(s),
            Cell::PgNumeric(raw) => parse(&pg_numeric_to_string(raw)?),
            Cell::Int(v) => Ok(rust_decimal::Decimal::from(v)),
            Cell::UInt(v) => Ok(rust_decimal::Decimal::from(v)),
            Cell::F64(v) => {
                rust_decimal::Decimal::from_str(&v.to_string()).map_err(|e| e.to_string())
            }
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_narrow_with_range_check() {
        assert_eq!(i32::decode(Cell::Int(7)).unwrap(), 7);
        assert!(i8::decode(Cell::Int(300))
            .unwrap_err()
            .contains("out of range"));
        assert!(i64::decode(Cell::Null).unwrap_err().contains("NULL"));
        assert_eq!(Option::<i64>::decode(Cell::Null).unwrap(), None);
        assert_eq!(i64::decode(Cell::DecimalText("42")).unwrap(), 42);
    }
}
