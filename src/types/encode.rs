//! Borrowed values: what a Rust value binds as ([`Encode`]), and what a column decodes from.

use smallvec::SmallVec;

use super::{EncodeArray, Value};

/// A value borrowed from the caller or from a row: what [`Encode`] produces and the backends
/// bind, and what a backend hands [`Decode`](super::Decode) for a column (the `Decode` docs
/// list which variant each backend gives for each column type). A few variants come only from
/// rows (noted on each); bound, each is sent as what it is where the column type takes it, and
/// is a typed error where it does not. Non-exhaustive: a `match` in a user's `Decode` ends with
/// a catch-all arm.
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
    /// Text as a row holds it, not yet checked as UTF-8 (UTF-8 on PostgreSQL; the column's
    /// character set on MySQL, UTF-8 by default). Bound, it is sent as text.
    Text(&'a [u8]),
    /// An exact decimal as text (`-12.50`), as MySQL sends one.
    DecimalText(&'a str),
    /// An exact decimal in PostgreSQL's binary `numeric` form, as PostgreSQL sends one.
    PgNumeric(&'a [u8]),
    /// A JSON document as text, as a row holds it. Bound, it is sent as JSON text.
    JsonText(&'a [u8]),
    /// A length of time: a MySQL `TIME` or PostgreSQL `time` that is not a time of day
    /// (negative, or 24 hours and more), or a [`std::time::Duration`].
    Duration {
        /// Whether it is negative.
        negative: bool,
        /// Whole microseconds.
        micros: u64,
    },
    /// A column of a type weir does not know, in the backend's wire format (rows only).
    Other(&'a [u8]),
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
    /// An array: `Vec<T>`, `&[T]` or `[T; N]` of an [`ArrayElement`](super::ArrayElement)
    /// type. PostgreSQL binds it as the array type the statement asks for (`int8[]` for
    /// `id = ANY($1)`); MySQL has no arrays: a typed error before sending.
    Array(&'a dyn EncodeArray),
    /// An IP address with the length of its network prefix (PostgreSQL `inet` and `cidr`); an
    /// [`IpAddr`](std::net::IpAddr) binds with the full length, 32 or 128.
    Inet {
        /// The address.
        addr: std::net::IpAddr,
        /// The network prefix length in bits.
        prefix: u8,
    },
    /// A PostgreSQL `interval`: months, days and microseconds, each with its own sign.
    Interval {
        /// Months (a year is 12).
        months: i32,
        /// Days.
        days: i32,
        /// Microseconds.
        micros: i64,
    },
    /// A PostgreSQL `timetz`: a time of day with its UTC offset (rows only).
    TimeTz {
        /// Microseconds since midnight (up to 24:00:00).
        micros: i64,
        /// Seconds east of UTC.
        offset: i32,
    },
    /// A PostgreSQL `"char"`: one byte (rows only).
    Char(i8),
    /// A MySQL `BIT(n)`: its bits as big-endian bytes (rows only).
    Bits(&'a [u8]),
}

impl Param<'_> {
    /// The Rust type this parameter came from, for error messages.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn rust_type(&self) -> &'static str {
        match self {
            Param::Null => "None",
            Param::Bool(_) => "bool",
            Param::Int(_) => "i64",
            Param::UInt(_) => "u64",
            Param::F32(_) => "f32",
            Param::F64(_) => "f64",
            Param::Str(_) => "&str",
            Param::Untyped(_) => "untyped text",
            Param::Bytes(_) => "&[u8]",
            Param::Text(_) => "text",
            Param::DecimalText(_) | Param::PgNumeric(_) => "decimal",
            Param::JsonText(_) => "JSON text",
            Param::Duration { .. } => "Duration",
            Param::Other(_) => "unknown type",
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
            Param::Array(a) => a.rust_type(),
            Param::Inet { .. } => "IpAddr",
            Param::Interval { .. } => "interval",
            Param::TimeTz { .. } => "time with time zone",
            Param::Char(_) => "i8",
            Param::Bits(_) => "bits",
        }
    }
}

/// A Rust value that can be bound as a statement parameter: with [`Decode`](super::Decode),
/// the extension point for user types. `#[derive(Type)]` implements both for an enum (bound
/// as its label, `Param::Str`) or a newtype (bound as its field); the [`Decode`](super::Decode)
/// docs show both written by hand for other types.
///
/// The backend converts the [`Param`] to the type the server expects for the parameter
/// (`Int` to an `int4` or a `numeric`, `Str` to text, an enum type or JSON...); a pair that
/// does not fit is an [`Error::Encode`](crate::Error::Encode) naming the parameter, before
/// anything is sent.
pub trait Encode: Sync {
    /// Borrows this value as a parameter: numbers and other small values by copy, text and
    /// bytes borrowed from `self`.
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
    std::net::IpAddr => |v| Param::Inet { addr: *v, prefix: if v.is_ipv4() { 32 } else { 128 } },
    // To the microsecond, as both servers keep it; a length past u64 microseconds (584,000
    // years) has no SQL form either, and is refused there.
    std::time::Duration => |v| Param::Duration {
        negative: false,
        micros: u64::try_from(v.as_micros()).unwrap_or(u64::MAX),
    },
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

/// Rows for a bulk load, produced one at a time while the `COPY` runs, so a bulk load never
/// holds the parameters of all its rows at once.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // COPY is PostgreSQL's
pub(crate) trait CopyRows: Sync {
    /// How many rows there are.
    fn count(&self) -> usize;

    /// Appends the values of row `index` to `out`.
    ///
    /// # Errors
    /// A row that cannot give its values.
    fn write_row<'s>(&'s self, index: usize, out: &mut Vec<Param<'s>>) -> crate::error::Result<()>;
}

/// Parameters as they go to a backend: inline for up to eight, no allocation.
pub type ParamList<'a> = SmallVec<[Param<'a>; 8]>;

/// A list of parameters: a tuple `(a, b, c)`, `()`, an array or slice of `&dyn Encode`, or
/// [`params!`](crate::params).
pub trait Params: Send {
    /// Collects the parameters, in `$1..$n` order (up to eight without allocating).
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
