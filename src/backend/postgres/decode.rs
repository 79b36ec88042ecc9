//! Columns decoded inside tokio-postgres's own `try_get`: one bounds check and no second
//! lookup of the column; the common types read straight from the bytes.

use std::error::Error as StdError;

use postgres_types::{FromSql, Kind, Type};

use super::encode::is_text;
use super::BoxError;
use crate::types::{ArrayCells, ColumnValue, Decode, Param};

/// One PostgreSQL column as tokio-postgres hands it over: its type and raw bytes, borrowed
/// from the row. [`Decode`] reads the common types straight from it, with no [`Param`] in
/// between; the rest (and every error) go through [`ColumnValue::cell`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PgValue<'a> {
    ty: &'a Type,
    raw: Option<&'a [u8]>,
}

impl<'a> PgValue<'a> {
    /// A value of type `ty`; `None` for NULL.
    pub(super) fn new(ty: &'a Type, raw: Option<&'a [u8]>) -> Self {
        PgValue { ty, raw }
    }
}

impl<'a> ColumnValue<'a> for PgValue<'a> {
    /// The value classified by its SQL type.
    ///
    /// # Errors
    /// The bytes do not hold a value of the column's type.
    #[inline]
    fn classify(self) -> Result<Param<'a>, String> {
        match self.raw {
            None => Ok(Param::Null),
            Some(raw) => decode_cell(self.ty, raw),
        }
    }

    /// Whether the value is SQL NULL.
    #[inline]
    fn is_null(self) -> bool {
        self.raw.is_none()
    }

    /// An `int2`, `int4` or `int8` value; `None` for anything else, left to `cell`.
    #[inline]
    fn int(self) -> Option<i64> {
        let raw = self.raw?;
        match *self.ty {
            Type::INT8 => raw.try_into().ok().map(i64::from_be_bytes),
            Type::INT4 => raw
                .try_into()
                .ok()
                .map(|b| i64::from(i32::from_be_bytes(b))),
            Type::INT2 => raw
                .try_into()
                .ok()
                .map(|b| i64::from(i16::from_be_bytes(b))),
            _ => None,
        }
    }

    /// A `float8` or `float4` value; `None` for anything else.
    #[inline]
    fn float(self) -> Option<f64> {
        let raw = self.raw?;
        match *self.ty {
            Type::FLOAT8 => raw.try_into().ok().map(f64::from_be_bytes),
            Type::FLOAT4 => raw
                .try_into()
                .ok()
                .map(|b| f64::from(f32::from_be_bytes(b))),
            _ => None,
        }
    }

    /// A `bool` value; `None` for anything else.
    #[inline]
    fn bool(self) -> Option<bool> {
        match (self.ty, self.raw?) {
            (&Type::BOOL, [b]) => Some(*b != 0),
            _ => None,
        }
    }

    /// The bytes of a `text`, `varchar`, `bpchar` or `name` value, not yet checked as UTF-8;
    /// `None` for anything else (other text-like types go through `cell`).
    #[inline]
    fn text(self) -> Option<&'a [u8]> {
        match *self.ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => self.raw,
            _ => None,
        }
    }

    /// The elements of an array value, each a value of the element type.
    fn array(
        self,
    ) -> Option<Result<ArrayCells<impl Iterator<Item = Result<Self, String>>>, String>> {
        match self.ty.kind() {
            Kind::Array(elem) => Some(super::array::cells(elem, self.raw?)),
            _ => None,
        }
    }
}

/// `T` decoded inside tokio-postgres's own `try_get`, which hands over the column's type and
/// bytes after one bounds check: no second lookup of the column, no [`Param`] for common types.
struct Decoded<T>(Result<T, String>);

impl<'a, T: Decode> FromSql<'a> for Decoded<T> {
    #[inline]
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Decoded(T::decode_value(PgValue { ty, raw: Some(raw) })))
    }
    #[inline]
    fn from_sql_null(ty: &Type) -> Result<Self, BoxError> {
        Ok(Decoded(T::decode_value(PgValue { ty, raw: None })))
    }
    #[inline]
    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Decodes column `index` of `row` into `T`; the error is the reason alone (the caller names
/// the column and types).
#[inline]
pub(super) fn decode<T: Decode>(row: &tokio_postgres::Row, index: usize) -> Result<T, String> {
    match row.try_get::<usize, Decoded<T>>(index) {
        Ok(Decoded(decoded)) => decoded,
        Err(e) => Err(cell_error(&e)),
    }
}

/// The reason alone, without tokio-postgres's "error deserializing column" wrapper.
#[cold]
fn cell_error(e: &tokio_postgres::Error) -> String {
    e.source()
        .map_or_else(|| e.to_string(), ToString::to_string)
}

#[inline]
fn from<'a, T: FromSql<'a>>(ty: &Type, raw: &'a [u8]) -> Result<T, String> {
    T::from_sql(ty, raw).map_err(|e| e.to_string())
}

#[inline]
fn decode_cell<'a>(ty: &Type, raw: &'a [u8]) -> Result<Param<'a>, String> {
    Ok(match *ty {
        Type::BOOL => Param::Bool(from(ty, raw)?),
        Type::INT2 => Param::Int(i64::from(from::<i16>(ty, raw)?)),
        Type::INT4 => Param::Int(i64::from(from::<i32>(ty, raw)?)),
        Type::INT8 => Param::Int(from(ty, raw)?),
        Type::OID => Param::Int(i64::from(from::<u32>(ty, raw)?)),
        Type::FLOAT4 => Param::F32(from(ty, raw)?),
        Type::FLOAT8 => Param::F64(from(ty, raw)?),
        Type::BYTEA => Param::Bytes(raw),
        Type::NUMERIC => Param::PgNumeric(raw),
        Type::JSON => Param::JsonText(raw),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => Param::JsonText(rest),
            _ => return Err("unsupported jsonb version".into()),
        },
        #[cfg(feature = "chrono")]
        Type::DATE => Param::Date(from(ty, raw)?),
        #[cfg(feature = "chrono")]
        Type::TIME => super::other::time(raw)?,
        #[cfg(feature = "chrono")]
        Type::TIMESTAMP => Param::DateTime(from(ty, raw)?),
        #[cfg(feature = "chrono")]
        Type::TIMESTAMPTZ => Param::DateTimeUtc(from(ty, raw)?),
        #[cfg(feature = "uuid")]
        Type::UUID => Param::Uuid(from(ty, raw)?),
        _ if is_text(ty) => Param::Text(raw),
        _ => super::other::decode(ty, raw)?,
    })
}
