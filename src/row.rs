//! Rows: a thin wrapper around the driver's own row, decoded straight into Rust types.

use std::fmt;

use crate::backend::AnyRow;
use crate::error::{Error, Result};
use crate::types::{Decode, Value};

/// One result row. It owns the driver's row; nothing is copied until a column is decoded.
pub struct Row {
    inner: AnyRow,
}

/// Name and SQL type of a result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name (or alias).
    pub name: String,
    /// The SQL type as the server names it (`int4`, `VARCHAR`, ...).
    pub sql_type: String,
}

impl Row {
    /// Wraps a driver's row.
    #[inline]
    pub(crate) fn new(inner: AnyRow) -> Self {
        Row { inner }
    }

    /// Number of columns.
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Names and SQL types of the columns, in order.
    pub fn columns(&self) -> Vec<Column> {
        (0..self.len())
            .map(|i| Column {
                name: self.column_name(i).unwrap_or_default().to_owned(),
                sql_type: self.column_type(i),
            })
            .collect()
    }

    /// The name of column `index`.
    pub fn column_name(&self, index: usize) -> Option<&str> {
        self.inner.column_name(index)
    }

    /// Whether column `index` is called `name` (no UTF-8 check of the server's name needed).
    #[inline]
    fn column_is(&self, index: usize, name: &str) -> bool {
        self.inner.column_is(index, name)
    }

    /// The SQL type of column `index`, as the server names it.
    pub fn column_type(&self, index: usize) -> String {
        self.inner.column_type(index)
    }

    /// Decodes a column, by index or name, into `T`.
    ///
    /// # Errors
    /// [`Error::ColumnNotFound`] for a missing column; [`Error::Decode`] naming the column, its
    /// SQL type and `T` when the value does not fit (including NULL into a non-`Option`).
    pub fn try_get<T: Decode, I: ColumnIndex>(&self, index: I) -> Result<T> {
        let i = index.position(self)?;
        self.inner
            .decode(i)
            .map_err(|reason| self.decode_error::<T>(i, reason))
    }

    /// As [`Row::try_get`], but a value the row owns (a MySQL text or binary value) is given
    /// to `T` rather than copied (`String`, `Vec<u8>`), after which that column reads as
    /// already taken. The `FromRow` derive reads each column once, through this.
    ///
    /// # Errors
    /// As [`Row::try_get`].
    #[doc(hidden)]
    #[inline(always)] // the derive's per-field path: no call frame between it and the driver
    pub fn try_take<T: Decode, I: ColumnIndex>(&mut self, index: I) -> Result<T> {
        let i = index.position(self)?;
        match self.inner.take(i) {
            Ok(v) => Ok(v),
            Err(reason) => Err(self.decode_error::<T>(i, reason)),
        }
    }

    /// Decodes a column into a [`Value`], whatever its type.
    ///
    /// # Errors
    /// As [`Row::try_get`].
    pub fn get_value<I: ColumnIndex>(&self, index: I) -> Result<Value> {
        self.try_get(index)
    }

    /// Decodes every column into a [`Value`].
    ///
    /// # Errors
    /// As [`Row::try_get`].
    pub fn values(&self) -> Result<Vec<Value>> {
        (0..self.len()).map(|i| self.try_get(i)).collect()
    }

    #[cold]
    #[inline(never)]
    fn decode_error<T>(&self, index: usize, reason: String) -> Error {
        Error::decode::<T>(
            self.column_name(index)
                .map_or_else(|| index.to_string(), str::to_owned),
            self.column_type(index),
            reason,
        )
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for i in 0..self.len() {
            let value = self.get_value(i).unwrap_or(Value::Null);
            map.entry(&self.column_name(i).unwrap_or("?"), &value);
        }
        map.finish()
    }
}

/// A way to name a column: its zero-based index or its name.
pub trait ColumnIndex {
    /// The zero-based position of this column in `row`.
    ///
    /// # Errors
    /// [`Error::ColumnNotFound`] when the row has no such column.
    fn position(&self, row: &Row) -> Result<usize>;
}

impl ColumnIndex for usize {
    #[inline]
    fn position(&self, row: &Row) -> Result<usize> {
        if *self < row.len() {
            Ok(*self)
        } else {
            Err(Error::ColumnNotFound(format!(
                "#{self} (row has {})",
                row.len()
            )))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, row: &Row) -> Result<usize> {
        (0..row.len())
            .find(|&i| row.column_is(i, self))
            .ok_or_else(|| Error::ColumnNotFound(format!("`{self}`")))
    }
}

/// A column named by the `FromRow` derive: its name, and the position of its field, which is
/// tried first. A query that selects columns in field order (the usual case) then costs one
/// name comparison per field instead of a search of the row's columns.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct NameAt<'a> {
    /// The column's name.
    pub name: &'a str,
    /// Where the column probably is.
    pub hint: usize,
}

impl ColumnIndex for NameAt<'_> {
    fn position(&self, row: &Row) -> Result<usize> {
        if row.column_is(self.hint, self.name) {
            Ok(self.hint)
        } else {
            self.name.position(row)
        }
    }
}

/// Where the `FromRow` derive found each field's column in the first row of a result, kept
/// for the rows after it: every row of one result has the same columns, so the names are
/// compared once per result instead of once per row.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// By field (its `NameAt::hint`): the column's position, or `UNKNOWN`.
    positions: [u16; MAPPED_FIELDS],
}

/// Fields past this many are looked up by name on every row.
const MAPPED_FIELDS: usize = 32;
const UNKNOWN: u16 = u16::MAX;

impl Default for ColumnMap {
    fn default() -> Self {
        Self {
            positions: [UNKNOWN; MAPPED_FIELDS],
        }
    }
}

impl ColumnMap {
    /// The position of `column` in `row`, found by name the first time only.
    ///
    /// # Errors
    /// [`Error::ColumnNotFound`] when the row has no such column.
    #[inline]
    pub fn locate(&mut self, row: &Row, column: NameAt<'_>) -> Result<usize> {
        match self.positions.get_mut(column.hint) {
            Some(&mut p) if p != UNKNOWN => Ok(usize::from(p)),
            Some(slot) => {
                let p = column.position(row)?;
                if let Ok(p16) = u16::try_from(p) {
                    *slot = p16;
                }
                Ok(p)
            }
            None => column.position(row),
        }
    }
}

/// A type built from one row: tuples by position, structs by column name with
/// `#[derive(weir::FromRow)]`, [`Row`] itself, or `Vec<Value>`.
pub trait FromRow: Sized {
    /// Builds `Self` from `row`.
    ///
    /// # Errors
    /// A missing column or a value that does not decode.
    fn from_row(row: Row) -> Result<Self>;

    /// As [`FromRow::from_row`], for one of several rows of the same result: `map` carries
    /// what an earlier row of that result learnt about the columns.
    ///
    /// # Errors
    /// As [`FromRow::from_row`].
    #[doc(hidden)]
    fn from_row_mapped(row: Row, map: &mut ColumnMap) -> Result<Self> {
        let _ = map;
        Self::from_row(row)
    }
}

impl FromRow for Row {
    fn from_row(row: Row) -> Result<Self> {
        Ok(row)
    }
}

impl FromRow for Vec<Value> {
    fn from_row(row: Row) -> Result<Self> {
        row.values()
    }
}

macro_rules! tuple_from_row {
    ($($name:ident : $idx:tt),+) => {
        impl<$($name: Decode),+> FromRow for ($($name,)+) {
            fn from_row(mut row: Row) -> Result<Self> {
                Ok(($(row.try_take::<$name, usize>($idx)?,)+))
            }
        }
    };
}

tuple_from_row!(A: 0);
tuple_from_row!(A: 0, B: 1);
tuple_from_row!(A: 0, B: 1, C: 2);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10);
tuple_from_row!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7, I: 8, J: 9, K: 10, L: 11);
