//! `describe` on PostgreSQL: the prepared statement's parameter and column types, and each
//! table column's `NOT NULL` from the catalog.

use std::collections::HashMap;

use postgres_types::{ToSql, Type};

use super::encode::type_name;
use super::error::map_error;
use super::PgConn;
use crate::describe::{ColumnDescription, Description, ParamDescription};
use crate::error::Result;

/// `NOT NULL` of the table columns a result reads, by table oid and column number.
const NOT_NULL: &str = "SELECT attrelid, attnum, attnotnull FROM pg_catalog.pg_attribute \
                        WHERE attrelid = ANY($1) AND attnum = ANY($2)";

/// Prepares `sql` (the statement stays in the session's cache for a later call to run) and
/// describes it; one more round trip when a column comes from a table.
pub(super) async fn describe(conn: &mut PgConn, sql: &str) -> Result<Description> {
    let stmt = conn.prepare_any(sql).await?;
    let params = stmt
        .params()
        .iter()
        .map(|t| ParamDescription::new(type_name(t)))
        .collect();
    let keys: Vec<(u32, i16)> = stmt
        .columns()
        .iter()
        .filter_map(|c| Some((c.table_oid()?, c.column_id()?)))
        .collect();
    let not_null = if keys.is_empty() {
        HashMap::new()
    } else {
        let oids: Vec<u32> = keys.iter().map(|k| k.0).collect();
        let numbers: Vec<i16> = keys.iter().map(|k| k.1).collect();
        // Unnamed: one round trip, nothing left on the server (or behind a pooler).
        let params: [(&(dyn ToSql + Sync), Type); 2] =
            [(&oids, Type::OID_ARRAY), (&numbers, Type::INT2_ARRAY)];
        conn.client
            .query_typed(NOT_NULL, &params)
            .await
            .map_err(|e| map_error(&e))?
            .iter()
            .map(|row| {
                let key: (u32, i16) = (row.try_get(0)?, row.try_get(1)?);
                Ok((key, row.try_get::<_, bool>(2)?))
            })
            .collect::<std::result::Result<HashMap<_, _>, tokio_postgres::Error>>()
            .map_err(|e| map_error(&e))?
    };
    let columns = stmt
        .columns()
        .iter()
        .map(|c| {
            let nullable = c
                .table_oid()
                .zip(c.column_id())
                .and_then(|key| not_null.get(&key))
                .map(|&not_null| !not_null);
            ColumnDescription::new(c.name().to_owned(), type_name(c.type_()), nullable)
        })
        .collect();
    Ok(Description::new(params, columns))
}
