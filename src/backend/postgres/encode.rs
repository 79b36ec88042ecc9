//! Parameters encoded as the types the server asked for: every pair weir supports, a typed
//! reason for every pair it does not, and ranges checked before anything is sent.

use std::error::Error as StdError;

use bytes::BytesMut;
use postgres_types::{IsNull, Kind, ToSql, Type};

use super::BoxError;
use crate::types::Param;

pub(super) fn binds<'a>(params: &'a [Param<'a>]) -> impl ExactSizeIterator<Item = Bind<'a>> + 'a {
    binds_from(params, 0)
}

/// Binds for `params`, numbered from `first` (a COPY row's values are numbered across rows).
pub(super) fn binds_from<'a>(
    params: &'a [Param<'a>],
    first: usize,
) -> impl ExactSizeIterator<Item = Bind<'a>> + 'a {
    params.iter().enumerate().map(move |(i, param)| Bind {
        index: first + i,
        param,
    })
}

/// A parameter with its position, so an encode failure can name it.
pub(super) struct Bind<'a> {
    index: usize,
    param: &'a Param<'a>,
}

/// tokio-postgres logs its parameters' `Debug` at DEBUG (through `log`): show the position and
/// Rust type only, never the value.
impl std::fmt::Debug for Bind<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${} ({})", self.index + 1, self.param.rust_type())
    }
}

/// An encode failure on its way through tokio-postgres, which boxes it.
#[derive(Debug)]
pub(super) struct EncodeFailure {
    pub(super) index: usize,
    pub(super) rust_type: &'static str,
    pub(super) sql_type: String,
    pub(super) reason: String,
}

impl std::fmt::Display for EncodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter ${}: {}", self.index + 1, self.reason)
    }
}

impl StdError for EncodeFailure {}

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        encode(self.param, ty, out).map_err(|reason| {
            Box::new(EncodeFailure {
                index: self.index,
                rust_type: self.param.rust_type(),
                sql_type: type_name(ty),
                reason,
            }) as BoxError
        })
    }

    // Every type is accepted here; `encode` checks the pair and says what does not fit.
    fn accepts(_: &Type) -> bool {
        true
    }

    // `unknown` (an unnamed statement's text): sent as text, which the server reads as the
    // type it infers, like a literal.
    fn encode_format(&self, ty: &Type) -> postgres_types::Format {
        if *ty == Type::UNKNOWN {
            postgres_types::Format::Text
        } else {
            postgres_types::Format::Binary
        }
    }

    postgres_types::to_sql_checked!();
}

/// A type's name as people write it: `int8[]` for PostgreSQL's `_int8`.
pub(super) fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(elem) => format!("{}[]", elem.name()),
        _ => ty.name().to_owned(),
    }
}

pub(super) fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
        || matches!(ty.kind(), Kind::Enum(_))
}

fn delegate<T: ToSql>(v: T, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    v.to_sql_checked(ty, out).map_err(|e| e.to_string())
}

fn range<T, E>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|_| "value out of range for the column type".to_string())
}

pub(super) fn encode(param: &Param<'_>, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    match (param, ty) {
        (Param::Null, _) => Ok(IsNull::Yes),
        (Param::Bool(v), &Type::BOOL) => delegate(*v, ty, out),
        (Param::Int(v), &Type::INT2) => delegate(range(i16::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::INT4) => delegate(range(i32::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::INT8) => delegate(*v, ty, out),
        (Param::Int(v), &Type::OID) => delegate(range(u32::try_from(*v))?, ty, out),
        (Param::Int(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::Int(v), &Type::FLOAT8) => delegate(*v as f64, ty, out),
        (Param::Int(v), &Type::NUMERIC) => {
            numeric_from_int(i128::from(*v), out);
            Ok(IsNull::No)
        }
        (Param::UInt(v), &Type::INT2) => delegate(range(i16::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::INT4) => delegate(range(i32::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::INT8) => delegate(range(i64::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::OID) => delegate(range(u32::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::UInt(v), &Type::FLOAT8) => delegate(*v as f64, ty, out),
        (Param::UInt(v), &Type::NUMERIC) => {
            numeric_from_int(i128::from(*v), out);
            Ok(IsNull::No)
        }
        (Param::F32(v), &Type::FLOAT4) => delegate(*v, ty, out),
        (Param::F32(v), &Type::FLOAT8) => delegate(f64::from(*v), ty, out),
        (Param::F64(v), &Type::FLOAT8) => delegate(*v, ty, out),
        (Param::F64(v), &Type::FLOAT4) => delegate(*v as f32, ty, out),
        (Param::Str(s), &Type::JSONB) => {
            // jsonb's binary form is a version byte and the text.
            out.extend_from_slice(&[1]);
            out.extend_from_slice(s.as_bytes());
            Ok(IsNull::No)
        }
        (Param::Str(s), t) if is_text(t) || *t == Type::JSON => {
            out.extend_from_slice(s.as_bytes());
            Ok(IsNull::No)
        }
        // Values as a row held them, bound as what they are.
        (Param::Text(b) | Param::JsonText(b), &Type::JSONB) => {
            out.extend_from_slice(&[1]);
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        (Param::Text(b) | Param::JsonText(b), t) if is_text(t) || *t == Type::JSON => {
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        (Param::DecimalText(s), t) if is_text(t) => {
            out.extend_from_slice(s.as_bytes());
            Ok(IsNull::No)
        }
        #[cfg(feature = "decimal")]
        (Param::DecimalText(s), &Type::NUMERIC) => delegate(
            rust_decimal::Decimal::from_str_exact(s).map_err(|e| format!("`{s}`: {e}"))?,
            ty,
            out,
        ),
        (Param::PgNumeric(raw), &Type::NUMERIC) => {
            out.extend_from_slice(raw);
            Ok(IsNull::No)
        }
        (Param::Bytes(b), &Type::BYTEA) => {
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        #[cfg(feature = "decimal")]
        (Param::F64(v), &Type::NUMERIC) => delegate(
            rust_decimal::Decimal::try_from(*v).map_err(|e| e.to_string())?,
            ty,
            out,
        ),
        #[cfg(feature = "decimal")]
        (Param::Str(s), &Type::NUMERIC) => delegate(
            rust_decimal::Decimal::from_str_exact(s).map_err(|e| format!("`{s}`: {e}"))?,
            ty,
            out,
        ),
        #[cfg(feature = "decimal")]
        (Param::Decimal(d), &Type::NUMERIC) => delegate(*d, ty, out),
        #[cfg(feature = "chrono")]
        (Param::Date(d), &Type::DATE) => delegate(pg_date(*d)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::Time(t), &Type::TIME) => delegate(pg_time(*t)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTime(t), &Type::TIMESTAMP) => delegate(pg_timestamp(*t)?, ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTime(t), &Type::TIMESTAMPTZ) => delegate(pg_timestamp(*t)?.and_utc(), ty, out),
        #[cfg(feature = "chrono")]
        (Param::DateTimeUtc(t), &Type::TIMESTAMPTZ) => {
            delegate(pg_timestamp(t.naive_utc())?.and_utc(), ty, out)
        }
        #[cfg(feature = "chrono")]
        (Param::DateTimeUtc(t), &Type::TIMESTAMP) => {
            delegate(pg_timestamp(t.naive_utc())?, ty, out)
        }
        #[cfg(feature = "uuid")]
        (Param::Uuid(u), &Type::UUID) => delegate(*u, ty, out),
        #[cfg(feature = "uuid")]
        (Param::Uuid(u), t) if is_text(t) => {
            out.extend_from_slice(u.hyphenated().to_string().as_bytes());
            Ok(IsNull::No)
        }
        #[cfg(feature = "json")]
        (Param::Json(j), &Type::JSON | &Type::JSONB) => delegate(*j, ty, out),
        (Param::Untyped(s), _) => encode_untyped(s, ty, out),
        _ => encode_other(param, ty, out),
    }
}

/// The pairs past the common ones, out of their way.
fn encode_other(param: &Param<'_>, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    use super::other;
    match (param, ty) {
        (Param::Array(a), _) => super::array::encode_array(*a, ty, out),
        (Param::Int(v), &Type::CHAR) => delegate(range(i8::try_from(*v))?, ty, out),
        (Param::UInt(v), &Type::CHAR) => delegate(range(i8::try_from(*v))?, ty, out),
        (Param::Char(v), _) => encode(&Param::Int(i64::from(*v)), ty, out),
        (Param::Inet { addr, prefix }, &Type::INET | &Type::CIDR) => {
            other::encode_inet(*addr, *prefix, ty, out)
        }
        (Param::Inet { addr, prefix }, t) if is_text(t) => {
            out.extend_from_slice(crate::types::pg_inet_text(*addr, *prefix).as_bytes());
            Ok(IsNull::No)
        }
        // An address as text, as a `Value` holds one.
        (Param::Str(s), &Type::INET | &Type::CIDR) => encode_untyped(s, ty, out),
        (
            Param::Interval {
                months,
                days,
                micros,
            },
            &Type::INTERVAL,
        ) => Ok(other::encode_interval(*months, *days, *micros, out)),
        (Param::Duration { negative, micros }, &Type::INTERVAL) => {
            other::encode_duration(*negative, *micros, out)
        }
        (Param::TimeTz { micros, offset }, &Type::TIMETZ) => {
            Ok(other::encode_time_tz(*micros, *offset, out))
        }
        (Param::Bits(b), &Type::BYTEA) => {
            out.extend_from_slice(b);
            Ok(IsNull::No)
        }
        (_, t) if matches!(t.kind(), Kind::Array(_)) => Err(format!(
            "a {} parameter takes an array (Vec<T>, &[T]), not {}",
            type_name(t),
            param.rust_type()
        )),
        _ => Err("incompatible types".into()),
    }
}

/// An integer as PostgreSQL's binary `numeric`: base-10000 digits, most significant first.
fn numeric_from_int(v: i128, out: &mut BytesMut) {
    let mut digits = [0u16; 10]; // u128::MAX has 39 decimal digits: 10 base-10000 groups
    let mut n = 0;
    let mut rest = v.unsigned_abs();
    while rest > 0 {
        digits[n] = (rest % 10_000) as u16;
        rest /= 10_000;
        n += 1;
    }
    // Trailing zero groups are implied by the weight.
    let weight = n.saturating_sub(1);
    let zeros = digits[..n].iter().take_while(|&&d| d == 0).count();
    out.extend_from_slice(&((n - zeros) as u16).to_be_bytes());
    out.extend_from_slice(&(weight as u16).to_be_bytes());
    out.extend_from_slice(&(if v < 0 { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // display scale: a whole number
    for d in digits[zeros..n].iter().rev() {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// PostgreSQL's dates and timestamps begin on 24 November 4714 BC (chrono's year -4713); its
/// timestamps end in 294276, past chrono's last year, and its dates later still.
#[cfg(feature = "chrono")]
fn pg_first_day() -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::from_ymd_opt(-4713, 11, 24).ok_or_else(|| "no first day".to_string())
}

#[cfg(feature = "chrono")]
fn pg_date(d: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    if d < pg_first_day()? {
        return Err(format!(
            "{d} is outside PostgreSQL's date range (4714-11-24 BC to 5874897-12-31)"
        ));
    }
    Ok(d)
}

#[cfg(feature = "chrono")]
fn pg_timestamp(t: chrono::NaiveDateTime) -> Result<chrono::NaiveDateTime, String> {
    if t.date() < pg_first_day()? {
        return Err(format!(
            "{t} is outside PostgreSQL's timestamp range \
             (4714-11-24 00:00:00 BC to 294276-12-31 23:59:59.999999)"
        ));
    }
    pg_time(t.time())?;
    Ok(t)
}

/// A time of day; chrono's leap second (a second's worth of extra nanoseconds) has no
/// PostgreSQL form.
#[cfg(feature = "chrono")]
fn pg_time(t: chrono::NaiveTime) -> Result<chrono::NaiveTime, String> {
    use chrono::Timelike;
    if t.nanosecond() >= 1_000_000_000 {
        return Err(format!(
            "{t} is a leap second, which PostgreSQL cannot store"
        ));
    }
    Ok(t)
}

/// Reads text as the parameter's type, as psql reads a literal.
fn encode_untyped(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, String> {
    let bad = || format!("`{s}` is not a valid {}", type_name(ty));
    let t = s.trim();
    let typed = match *ty {
        Type::BOOL => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "yes" | "y" | "on" => Param::Bool(true),
            "f" | "false" | "0" | "no" | "n" | "off" => Param::Bool(false),
            _ => return Err(bad()),
        },
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => {
            Param::Int(t.parse().map_err(|_| bad())?)
        }
        Type::FLOAT4 | Type::FLOAT8 => Param::F64(t.parse().map_err(|_| bad())?),
        Type::BYTEA => match t.strip_prefix("\\x") {
            Some(hex) if hex.len() % 2 == 0 => {
                let bytes: Option<Vec<u8>> = (0..hex.len())
                    .step_by(2)
                    .map(|i| {
                        hex.get(i..i + 2)
                            .and_then(|h| u8::from_str_radix(h, 16).ok())
                    })
                    .collect();
                out.extend_from_slice(&bytes.ok_or_else(bad)?);
                return Ok(IsNull::No);
            }
            _ => Param::Bytes(s.as_bytes()),
        },
        #[cfg(feature = "decimal")]
        Type::NUMERIC => Param::Str(t),
        #[cfg(feature = "chrono")]
        Type::DATE => Param::Date(t.parse().map_err(|_| bad())?),
        #[cfg(feature = "chrono")]
        Type::TIME => Param::Time(t.parse().map_err(|_| bad())?),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMP => Param::DateTime(
            chrono::NaiveDateTime::parse_from_str(&t.replacen(' ', "T", 1), "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|_| bad())?,
        ),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMPTZ => Param::DateTimeUtc(
            chrono::DateTime::parse_from_rfc3339(&t.replacen(' ', "T", 1))
                .map_err(|_| bad())?
                .to_utc(),
        ),
        #[cfg(feature = "uuid")]
        Type::UUID => Param::Uuid(t.parse().map_err(|_| bad())?),
        Type::INET | Type::CIDR => super::other::parse_inet(t).ok_or_else(bad)?,
        _ if matches!(ty.kind(), Kind::Array(_)) => {
            return super::array::encode_untyped_array(s, ty, out)
        }
        _ => Param::Str(s),
    };
    encode(&typed, ty, out)
}
