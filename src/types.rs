//! Values in both directions: [`Encode`] for parameters, [`Decode`] for columns, and [`Value`]
//! for code that does not know the schema.
//!
//! Each backend turns its wire value into a borrowed [`Cell`] (no allocation), and each Rust type
//! decodes from a `Cell` once, for both backends. Integers widen and narrow with a range check,
//! so `i32` reads a PostgreSQL `bigint` `COUNT(*)` and `i64` reads a MySQL `INT`.

use std::fmt;

use smallvec::SmallVec;

#[doc(hidden)]
#[cfg(feature = "postgres")]
pub use crate::backend::postgres::PgValue;

/// One parameter, borrowed from the caller: what [`Encode`] produces and the backends bind.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Param<'a> {
    /// SQL NULL (any type).
    Null,
    /// A boolean.
    Bool(bool),
    /// Any Rust integer up to 64 bits.
    Int(i64),
    /// A `u64` (MySQL `BIGINT UNSIGNED`; on PostgreSQL a `numeric`, or a range-checked
    /// integer column).
    UInt(u64),
    /// A 32-bit float.
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// Text.
    Str(&'a str),
    /// Text that the parameter's SQL type decides how to read, like a literal typed at a SQL
    /// prompt: `"42"` binds to an integer column, `"2024-01-31"` to a date. For tools whose
    /// input is text (the CLI); MySQL converts it on the server.
    Untyped(&'a str),
    /// Binary data.
    Bytes(&'a [u8]),
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
    Json(&'a serde_json::Value),
    /// An exact decimal.
    #[cfg(feature = "decimal")]
    Decimal(rust_decimal::Decimal),
}

impl Param<'_> {
    /// The Rust type this parameter came from, for error messages.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn rust_type(&self) -> &'static str {
        match self {
            Param::Null => "None",
            Param::Bool(_) => "bool",
            Param::Int(_) => "integer",
            Param::UInt(_) => "u64",
            Param::F32(_) => "f32",
            Param::F64(_) => "f64",
            Param::Str(_) => "&str",
            Param::Untyped(_) => "untyped text",
            Param::Bytes(_) => "&[u8]",
            #[cfg(feature = "chrono")]
            Param::Date(_) => "NaiveDate",
            #[cfg(feature = "chrono")]
            Param::Time(_) => "NaiveTime",
            #[cfg(feature = "chrono")]
            Param::DateTime(_) => "NaiveDateTime",
            #[cfg(feature = "chrono")]
            Param::DateTimeUtc(_) => "DateTime<Utc>",
            #[cfg(feature = "uuid")]
            Param::Uuid(_) => "Uuid",
            #[cfg(feature = "json")]
            Param::Json(_) => "serde_json::Value",
            #[cfg(feature = "decimal")]
            Param::Decimal(_) => "Decimal",
        }
    }
}

/// A Rust value that can be bound as a statement parameter.
pub trait Encode: Sync {
    /// Borrows this value as a parameter.
    fn encode(&self) -> Param<'_>;
}

macro_rules! encode_as {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl Encode for $t {
            #[inline]
            fn encode(&self) -> Param<'_> {
                let $v = self;
                $e
            }
        }
    )*};
}

encode_as! {
    bool => |v| Param::Bool(*v),
    i8 => |v| Param::Int(i64::from(*v)),
    i16 => |v| Param::Int(i64::from(*v)),
    i32 => |v| Param::Int(i64::from(*v)),
    i64 => |v| Param::Int(*v),
    u8 => |v| Param::Int(i64::from(*v)),
    u16 => |v| Param::Int(i64::from(*v)),
    u32 => |v| Param::Int(i64::from(*v)),
    u64 => |v| Param::UInt(*v),
    f32 => |v| Param::F32(*v),
    f64 => |v| Param::F64(*v),
    str => |v| Param::Str(v),
    String => |v| Param::Str(v),
    [u8] => |v| Param::Bytes(v),
    Vec<u8> => |v| Param::Bytes(v),
}

#[cfg(feature = "chrono")]
encode_as! {
    chrono::NaiveDate => |v| Param::Date(*v),
    chrono::NaiveTime => |v| Param::Time(*v),
    chrono::NaiveDateTime => |v| Param::DateTime(*v),
    chrono::DateTime<chrono::Utc> => |v| Param::DateTimeUtc(*v),
    chrono::DateTime<chrono::FixedOffset> => |v| Param::DateTimeUtc(v.to_utc()),
}
#[cfg(feature = "uuid")]
encode_as! { uuid::Uuid => |v| Param::Uuid(*v) }
#[cfg(feature = "json")]
encode_as! { serde_json::Value => |v| Param::Json(v) }
#[cfg(feature = "decimal")]
encode_as! { rust_decimal::Decimal => |v| Param::Decimal(*v) }

impl<T: Encode + ?Sized> Encode for &T {
    #[inline]
    fn encode(&self) -> Param<'_> {
        (**self).encode()
    }
}

impl<T: Encode> Encode for Option<T> {
    #[inline]
    fn encode(&self) -> Param<'_> {
        match self {
            Some(v) => v.encode(),
            None => Param::Null,
        }
    }
}

impl Encode for Param<'_> {
    #[inline]
    fn encode(&self) -> Param<'_> {
        *self
    }
}

/// Parameters as they go to a backend: inline for up to eight, no allocation.
pub(crate) type ParamList<'a> = SmallVec<[Param<'a>; 8]>;

/// A list of parameters: a tuple `(a, b, c)`, `()`, an array or slice of `&dyn Encode`, or
/// [`params!`](crate::params).
pub trait Params: Send {
    /// Collects the parameters, in `$1..$n` order.
    #[doc(hidden)]
    fn to_params(&self) -> ParamList<'_>;
}

impl Params for () {
    #[inline]
    fn to_params(&self) -> ParamList<'_> {
        SmallVec::new()
    }
}

macro_rules! tuple_params {
    ($($name:ident),+) => {
        impl<$($name: Encode + Send),+> Params for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn to_params(&self) -> ParamList<'_> {
                let ($($name,)+) = self;
                let mut out = SmallVec::new();
                $(out.push($name.encode());)+
                out
            }
        }
    };
}

tuple_params!(A);
tuple_params!(A, B);
tuple_params!(A, B, C);
tuple_params!(A, B, C, D);
tuple_params!(A, B, C, D, E);
tuple_params!(A, B, C, D, E, F);
tuple_params!(A, B, C, D, E, F, G);
tuple_params!(A, B, C, D, E, F, G, H);
tuple_params!(A, B, C, D, E, F, G, H, I);
tuple_params!(A, B, C, D, E, F, G, H, I, J);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

impl Params for &[&dyn Encode] {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().map(|p| p.encode()).collect()
    }
}

impl<const N: usize> Params for [&dyn Encode; N] {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().map(|p| p.encode()).collect()
    }
}

impl Params for Vec<&dyn Encode> {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().map(|p| p.encode()).collect()
    }
}

impl Params for &[Param<'_>] {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().copied().collect()
    }
}

impl Params for Vec<Param<'_>> {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().copied().collect()
    }
}

impl Params for &[Value] {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().map(Encode::encode).collect()
    }
}

impl Params for Vec<Value> {
    fn to_params(&self) -> ParamList<'_> {
        self.iter().map(Encode::encode).collect()
    }
}

/// Builds a parameter list of mixed types: `params![id, "name", None::<i32>]`.
#[macro_export]
macro_rules! params {
    () => { () };
    ($($value:expr),+ $(,)?) => {
        [$(&$value as &dyn $crate::Encode),+]
    };
}

/// A column value as a backend hands it over, borrowed from the row: the one place where
/// backend wire formats meet Rust types.
#[doc(hidden)]
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
    /// Converts one cell; the caller adds the column name and SQL type to the error.
    #[doc(hidden)]
    fn decode(cell: Cell<'_>) -> Result<Self, String>;

    /// Converts a text (`text`) or binary cell whose buffer the row gives up (MySQL rows own
    /// theirs), so that `String` and `Vec<u8>` keep it instead of copying it.
    #[doc(hidden)]
    fn decode_owned(bytes: Vec<u8>, text: bool) -> Result<Self, String> {
        Self::decode(if text {
            Cell::Text(&bytes)
        } else {
            Cell::Bytes(&bytes)
        })
    }

    /// Converts one PostgreSQL value. The common types read it straight from the driver's
    /// bytes; the default goes through [`Decode::decode`].
    #[cfg(feature = "postgres")]
    #[doc(hidden)]
    #[inline]
    fn decode_pg(value: PgValue<'_>) -> Result<Self, String> {
        Self::decode(value.cell()?)
    }
}

/// Decodes through [`Decode::decode`] what the fast path `$fast` of a [`PgValue`] left.
#[cfg(feature = "postgres")]
macro_rules! pg_fast_path {
    ($fast:ident, |$v:ident| $convert:expr) => {
        #[inline]
        fn decode_pg(value: PgValue<'_>) -> Result<Self, String> {
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

            #[cfg(feature = "postgres")]
            pg_fast_path!(int, |v| <$t>::try_from(v).map_err(|_| out_of_range(v)));
        }
    )*};
}
decode_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Decode for bool {
    #[cfg(feature = "postgres")]
    pg_fast_path!(bool, |b| Ok(b));

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
    #[cfg(feature = "postgres")]
    pg_fast_path!(float8, |v| Ok(v));

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

    #[cfg(feature = "postgres")]
    pg_fast_path!(text, |b| std::str::from_utf8(b)
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

    #[cfg(feature = "postgres")]
    #[inline]
    fn decode_pg(value: PgValue<'_>) -> Result<Self, String> {
        if value.is_null() {
            Ok(None)
        } else {
            T::decode_pg(value).map(Some)
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

/// Formats PostgreSQL's binary `numeric` (base-10000 digits) as exact decimal text.
pub(crate) fn pg_numeric_to_string(raw: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<u16, String> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_string())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    // Integer part: base-10000 groups with index 0..=weight.
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight as usize {
            let d = digits.get(i).copied().unwrap_or(0);
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            let d = if i < 0 {
                0
            } else {
                digits.get(i as usize).copied().unwrap_or(0)
            };
            frac.push_str(&format!("{d:04}"));
            i += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Ok(out)
}

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
    /// A value of a type weir cannot show (an array, a range, a geometry...), in the backend's
    /// wire format.
    Unsupported(Vec<u8>),
}

impl Decode for Value {
    fn decode(cell: Cell<'_>) -> Result<Self, String> {
        Ok(match cell {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(v) => Value::Int(v),
            Cell::UInt(v) => match i64::try_from(v) {
                Ok(v) => Value::Int(v),
                Err(_) => Value::UInt(v),
            },
            Cell::F32(v) => Value::Float(f64::from(v)),
            Cell::F64(v) => Value::Float(v),
            Cell::Text(b) => match String::from_utf8(b.to_vec()) {
                Ok(s) => Value::Text(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
            Cell::Bytes(b) => Value::Bytes(b.to_vec()),
            Cell::DecimalText(s) => Value::Decimal(s.to_owned()),
            Cell::PgNumeric(raw) => Value::Decimal(pg_numeric_to_string(raw)?),
            #[cfg(feature = "json")]
            Cell::Json(b) => {
                Value::Json(serde_json::from_slice(b).map_err(|e| format!("invalid JSON: {e}"))?)
            }
            #[cfg(not(feature = "json"))]
            Cell::Json(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
            #[cfg(feature = "chrono")]
            Cell::Date(d) => Value::Date(d),
            #[cfg(feature = "chrono")]
            Cell::Time(t) => Value::Time(t),
            #[cfg(feature = "chrono")]
            Cell::DateTime(t) => Value::DateTime(t),
            #[cfg(feature = "chrono")]
            Cell::DateTimeUtc(t) => Value::DateTimeUtc(t),
            #[cfg(feature = "uuid")]
            Cell::Uuid(u) => Value::Uuid(u),
            Cell::Duration { negative, micros } => {
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
                Value::Text(s)
            }
            Cell::Other(b) => Value::Unsupported(b.to_vec()),
        })
    }
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
        }
    }
}

impl fmt::Display for Value {
    /// Plain text for people: NULL as `NULL`, bytes as `\x` hex, JSON compact.
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_to_text() {
        // 12345.678 : ndigits 3, weight 1, sign +, dscale 3, digits [1, 2345, 6780]
        let raw = [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C];
        assert_eq!(pg_numeric_to_string(&raw).unwrap(), "12345.678");
        // -0.05 : ndigits 1, weight -1, sign -, dscale 2, digits [500]
        let raw = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x01, 0xF4];
        assert_eq!(pg_numeric_to_string(&raw).unwrap(), "-0.05");
        // 0 : no digits, dscale 0
        assert_eq!(
            pg_numeric_to_string(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            "0"
        );
    }

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
