//! Columns: what a Rust value decodes from, for both backends at once.

use super::{pg_numeric_to_string, ArrayCells, Param};

/// A Rust type that can be read from a column: with [`Encode`](crate::Encode), the extension
/// point for user types.
///
/// `#[derive(Type)]` writes both for the common cases: an enum of unit variants stored as
/// text (a text column, a PostgreSQL enum type, a MySQL `ENUM`), and a newtype stored as its
/// field (`struct UserId(i64)` costs what an `i64` does). For anything else, implement both by
/// hand: [`Encode::encode`](crate::Encode::encode) returns the [`Param`] to bind, and
/// [`Decode::decode`] reads the [`Param`] a backend hands over for the column, which depends on
/// the column's SQL type and the backend:
///
/// | column | PostgreSQL | MySQL / MariaDB |
/// |---|---|---|
/// | NULL, any type | `Null` | `Null` |
/// | integers | `Int` | `Int`; `UInt` for `BIGINT UNSIGNED` (and a generated key) |
/// | `boolean` | `Bool` | `Int` (0 or 1: `BOOLEAN` is `TINYINT(1)`) |
/// | `real` / `FLOAT`, `double precision` / `DOUBLE` | `F32`, `F64` | `F32`, `F64` |
/// | `numeric` / `DECIMAL` | `PgNumeric` (binary) | `DecimalText` |
/// | text, `varchar`, `char`, an enum type / `ENUM`, `SET` | `Text` (bytes, UTF-8 unchecked) | `Text` |
/// | `bytea` / `BLOB`, `VARBINARY`, `BINARY` | `Bytes` | `Bytes` |
/// | `json`, `jsonb` / `JSON` | `JsonText` | `JsonText` (MariaDB: `Text`, its JSON is `LONGTEXT`) |
/// | `date`, `time`, `timestamp`, `timestamptz` / `DATE`, `TIME`, `DATETIME`, `TIMESTAMP` | `Date`, `Time` (`Duration` for 24:00:00), `DateTime`, `DateTimeUtc` | `Date`, `Time` (`Duration` past a day or negative), `DateTime` |
/// | `interval`, `timetz` | `Interval`, `TimeTz` | (no such types) |
/// | `inet`, `cidr` | `Inet` | (no such type: `Text`, MariaDB's `INET6` too) |
/// | `"char"` / `BIT(n)` | `Char` | `Bits` |
/// | `uuid` | `Uuid` | (no such type: `Text` or `Bytes`) |
/// | arrays (`int8[]`...) | `Other` to `decode`; the elements through [`ColumnValue::array`] in `decode_value` | (no arrays) |
/// | any other type | `Other` (wire bytes) or `Text` for text-like types | `Text` or `Bytes` |
///
/// `Str`, `Untyped` and `Array` only bind; they never come from a row. A row's exact decimals are read
/// most simply through an existing impl (`i64`, `f64`, `rust_decimal::Decimal`):
/// `Decimal::decode(cell)`. The error is the reason alone: weir adds the column, its SQL type
/// and the Rust type, and returns [`Error::Decode`](crate::Error::Decode).
///
/// [`Encode::encode`](crate::Encode::encode) borrows: the `Param` it returns holds a number
/// (or a date, a UUID...) by value, or text and bytes borrowed from `self`. A type whose SQL
/// form would have to be built on each call (formatted text) keeps that form in a field, or is
/// bound through a conversion at the call site (`&money.to_string()`).
///
/// Money stored as whole cents in an integer column, and an e-mail address stored as text and
/// checked when read:
///
/// ```
/// use weir::{Decode, Encode, Param};
///
/// #[derive(Debug, PartialEq)]
/// struct Money {
///     cents: i64,
/// }
///
/// impl Encode for Money {
///     fn encode(&self) -> Param<'_> {
///         Param::Int(self.cents) // a BIGINT column on both backends
///     }
/// }
///
/// impl Decode for Money {
///     fn decode(cell: Param<'_>) -> Result<Self, String> {
///         match cell {
///             Param::Int(cents) => Ok(Money { cents }),
///             // MySQL hands a BIGINT UNSIGNED column over as UInt.
///             Param::UInt(v) => i64::try_from(v)
///                 .map(|cents| Money { cents })
///                 .map_err(|_| format!("{v} cents is out of range")),
///             Param::Null => Err("unexpected NULL (use Option<Money>)".into()),
///             _ => Err("expected whole cents in an integer column".into()),
///         }
///     }
/// }
///
/// #[derive(Debug, PartialEq)]
/// struct Email(String);
///
/// impl Encode for Email {
///     fn encode(&self) -> Param<'_> {
///         Param::Str(&self.0) // borrowed from self: no copy
///     }
/// }
///
/// impl Decode for Email {
///     fn decode(cell: Param<'_>) -> Result<Self, String> {
///         // String's own impl reads Text (checking UTF-8) and says what a NULL or a number is.
///         let text = String::decode(cell)?;
///         if text.contains('@') {
///             Ok(Email(text))
///         } else {
///             Err(format!("{text:?} is not an e-mail address"))
///         }
///     }
/// }
///
/// // What the backends hand over for a BIGINT and a text column:
/// assert_eq!(Money::decode(Param::Int(1250)), Ok(Money { cents: 1250 }));
/// assert!(Money::decode(Param::Null).unwrap_err().contains("Option<Money>"));
/// let mail = Email::decode(Param::Text(b"ada@example.com")).unwrap();
/// assert_eq!(mail.encode(), Param::Str("ada@example.com"));
/// assert!(Email::decode(Param::Text(b"nobody")).is_err());
/// ```
///
/// Both then bind as parameters (`(&money, &mail)`), read as columns (`fetch_scalar::<Money,
/// _>`, `FromRow` fields, `Option<Money>` for NULL) and serve as an [`Entity`](crate::Entity)
/// key (which needs `Clone` and `Debug` too).
pub trait Decode: Sized {
    /// Converts one cell; the caller adds the column name and SQL type to the error, so the
    /// error is the reason alone (`"value 300 is out of range"`).
    ///
    /// # Errors
    /// The cell holds NULL, another type, or a value out of `Self`'s range.
    fn decode(cell: Param<'_>) -> Result<Self, String>;

    /// Converts a text (`text`) or binary cell whose buffer the row gives up (MySQL rows own
    /// theirs), so that `String` and `Vec<u8>` keep it instead of copying it. The default
    /// borrows it and goes through [`Decode::decode`], which is right for a user type; a
    /// wrapper of `String` or `Vec<u8>` delegates to keep the buffer (the `Type` derive does).
    ///
    /// # Errors
    /// As [`Decode::decode`].
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        Self::decode(if text {
            Param::Text(&bytes)
        } else {
            Param::Bytes(&bytes)
        })
    }

    /// Converts a value as the backend hands it over, before it is classified: the common
    /// types read it straight from the wire, and the default goes through
    /// [`Decode::decode`]. Override it only to read a type faster, e.g. a wrapper delegating
    /// to its field's type (the `Type` derive does).
    #[inline]
    fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
        Self::decode(value.classify()?)
    }
}

/// A column's value as a backend hands it over, classified only on demand: the common types
/// can be read straight from the wire, with no [`Param`] in between.
///
/// The backends implement it; a user type meets it only in [`Decode::decode_value`], to pass
/// it on to another type's `decode_value` or to [`ColumnValue::classify`] it into a [`Param`].
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
    fn classify(self) -> Result<Param<'a>, String>;

    /// An array value, its elements each a value of the element type; `None` when the value
    /// is not an array (or is NULL). Only PostgreSQL has arrays.
    ///
    /// # Errors
    /// The bytes do not hold an array.
    fn array(
        self,
    ) -> Option<Result<ArrayCells<impl Iterator<Item = Result<Self, String>>>, String>> {
        None::<Result<ArrayCells<std::iter::Empty<Result<Self, String>>>, String>>
    }
}

/// Decodes through [`Decode::decode`] what the fast path `$fast` of a [`ColumnValue`] left.
macro_rules! fast_path {
    ($fast:ident, |$v:ident| $convert:expr) => {
        #[inline]
        fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
            match value.$fast() {
                Some($v) => $convert,
                None => Self::decode(value.classify()?),
            }
        }
    };
}

#[cold]
fn out_of_range(v: impl std::fmt::Display) -> String {
    format!("value {v} is out of range")
}

#[cold]
pub(super) fn mismatch(cell: &Param<'_>) -> String {
    match cell {
        Param::Null => "unexpected NULL (use Option<T>)".into(),
        Param::Array(_) => "an array does not fit (read it as Vec<T>)".into(),
        _ => "incompatible types".into(),
    }
}

/// The text a `#[derive(Type)]` enum is read from: a text column (a PostgreSQL enum or a
/// MySQL `ENUM` arrives as text too). For the derive's expansion only.
#[inline]
pub fn label(cell: Param<'_>) -> Result<&str, String> {
    match cell {
        Param::Text(b) => std::str::from_utf8(b).map_err(|_| "text is not valid UTF-8".into()),
        Param::Str(s) => Ok(s),
        other => Err(mismatch(&other)),
    }
}

/// The reason a `#[derive(Type)]` enum gives for text that is none of its labels: the text
/// (shortened past 100 characters) and every label. For the derive's expansion only.
#[cold]
pub fn unknown_label(text: &str, labels: &[&str]) -> String {
    let mut shown: String = text.chars().take(100).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    let quoted: Vec<String> = labels.iter().map(|l| format!("{l:?}")).collect();
    let expected = match quoted.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", quoted.join(", ")),
    };
    format!("unknown label {shown:?}; expected {expected}")
}

fn int_from_cell(cell: Param<'_>) -> Result<i128, String> {
    match cell {
        Param::Int(v) => Ok(i128::from(v)),
        Param::UInt(v) => Ok(i128::from(v)),
        Param::Bool(b) => Ok(i128::from(b)),
        Param::DecimalText(s) => s
            .parse::<i128>()
            .map_err(|_| format!("decimal {s} is not a whole number")),
        Param::PgNumeric(raw) => {
            let s = pg_numeric_to_string(raw)?;
            s.parse::<i128>()
                .map_err(|_| format!("numeric {s} is not a whole number"))
        }
        Param::Char(v) => Ok(i128::from(v)),
        Param::Bits(b) => bits_to_u64(b).map(i128::from),
        other => Err(mismatch(&other)),
    }
}

/// A MySQL `BIT(n)` value (big-endian bytes) as a number.
fn bits_to_u64(b: &[u8]) -> Result<u64, String> {
    if b.len() > 8 {
        return Err(format!("{} bits do not fit 64", b.len() * 8));
    }
    Ok(b.iter().fold(0, |n, &byte| n << 8 | u64::from(byte)))
}

macro_rules! decode_int {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            #[inline]
            fn decode(cell: Param<'_>) -> Result<Self, String> {
                // The common case first, without widening to i128.
                if let Param::Int(v) = cell {
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
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Bool(b) => Ok(b),
            Param::Int(0) | Param::UInt(0) => Ok(false),
            Param::Int(1) | Param::UInt(1) => Ok(true),
            Param::Int(v) => Err(format!("integer {v} is not a boolean")),
            // BIT(1), the other way MySQL schemas keep a flag.
            Param::Bits(b) => match bits_to_u64(b)? {
                0 => Ok(false),
                1 => Ok(true),
                v => Err(format!("bits {v:#b} are not a boolean")),
            },
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for f64 {
    fast_path!(float, |v| Ok(v));

    #[inline]
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::F64(v) => Ok(v),
            Param::F32(v) => Ok(f64::from(v)),
            Param::Int(v) => Ok(v as f64),
            Param::UInt(v) => Ok(v as f64),
            Param::DecimalText(s) => s.parse().map_err(|_| format!("bad decimal {s}")),
            Param::PgNumeric(raw) => {
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
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::F32(v) => Ok(v),
            // A MySQL FLOAT column arrives as float, but expressions over it as double.
            Param::F64(v) => Ok(v as f32),
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for String {
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        if text {
            String::from_utf8(bytes).map_err(|_| "text is not valid UTF-8".to_string())
        } else {
            Self::decode(Param::Bytes(&bytes))
        }
    }

    fast_path!(text, |b| std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| "text is not valid UTF-8".to_string()));

    #[inline]
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Text(b) | Param::JsonText(b) => {
                String::from_utf8(b.to_vec()).map_err(|_| "text is not valid UTF-8".to_string())
            }
            Param::DecimalText(s) => Ok(s.to_owned()),
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for Vec<u8> {
    fn decode_owned(bytes: Vec<u8>, _text: bool) -> Result<Self, String> {
        Ok(bytes)
    }

    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Bytes(b) | Param::Text(b) | Param::Bits(b) => Ok(b.to_vec()),
            other => Err(mismatch(&other)),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        T::decode_owned(bytes, text).map(Some)
    }

    #[inline]
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Null => Ok(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_narrow_with_range_check() {
        assert_eq!(i32::decode(Param::Int(7)).unwrap(), 7);
        assert!(i8::decode(Param::Int(300))
            .unwrap_err()
            .contains("out of range"));
        assert!(i64::decode(Param::Null).unwrap_err().contains("NULL"));
        assert_eq!(Option::<i64>::decode(Param::Null).unwrap(), None);
        assert_eq!(i64::decode(Param::DecimalText("42")).unwrap(), 42);
    }
}
