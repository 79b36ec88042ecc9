//! The statements whose rows a session reads for its caller, and `describe`.

use super::{Kind, Session};
use crate::describe::Description;
use crate::error::{Error, Result};
use crate::row::{ColumnMap, FromRow, Row};
use crate::types::{Decode, Param};

impl Session {
    pub(crate) async fn fetch_all<T: FromRow + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut map = ColumnMap::default();
        statement!(self, Kind::Caller(sql), |raw| raw.for_each_row(
            sql,
            params,
            |row| {
                out.push(T::from_row_mapped(Row::new(row), &mut map)?);
                Ok(true)
            }
        ))?;
        Ok(out)
    }

    pub(crate) async fn fetch_optional<T: FromRow + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Option<T>> {
        let mut first = None;
        statement!(self, Kind::Caller(sql), |raw| raw.for_each_row(
            sql,
            params,
            |row| {
                first = Some(T::from_row(Row::new(row))?);
                Ok(false)
            }
        ))?;
        Ok(first)
    }

    pub(crate) async fn fetch_scalar<T: Decode + Send>(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<T> {
        let mut first = None;
        statement!(self, Kind::Caller(sql), |raw| raw.for_each_row(
            sql,
            params,
            |row| {
                first = Some(Row::new(row).try_get::<T, usize>(0)?);
                Ok(false)
            }
        ))?;
        first.ok_or(Error::RowNotFound)
    }

    /// Prepares a caller's statement without running it. A failure fails the open
    /// transaction, as PostgreSQL's server does.
    pub(crate) async fn describe(&mut self, sql: &str) -> Result<Description> {
        statement!(self, Kind::Describe(sql), |raw| raw.describe(sql))
    }
}
