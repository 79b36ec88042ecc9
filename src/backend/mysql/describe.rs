//! `describe` on MySQL and MariaDB: the prepared statement's parameters and columns, the
//! `$n` placeholders rewritten as for running it.

use mysql_async::consts::ColumnFlags;
use mysql_async::prelude::Queryable;
use mysql_async::Column;

use super::decode::{column_name, column_type_name};
use super::error::map_error;
use super::{MyConn, SqlText};
use crate::backend::Placeholders;
use crate::describe::{ColumnDescription, Description, ParamDescription};
use crate::error::Result;

/// Prepares `sql` and describes it. With the driver's statement cache on, the statement stays
/// there for a later call to run; without it, it is closed here.
pub(super) async fn describe(conn: &mut MyConn, sql: &str) -> Result<Description> {
    let text = conn.sql_text(sql, Placeholders::Dollar)?;
    let session = conn.conn()?;
    let stmt = session.prep(text.as_str()).await.map_err(map_error)?;
    let marks = stmt.params();
    // `$n` may appear several times or out of order: each parameter takes the type of the
    // first `?` it became.
    let params = match &text {
        SqlText::Original(_) => marks.iter().map(param).collect(),
        SqlText::Rewritten(rw) => (0..rw.param_count)
            .map(|n| {
                rw.order
                    .iter()
                    .zip(marks)
                    .find(|(&i, _)| usize::from(i) == n)
                    .map_or_else(
                        || ParamDescription::new("unknown".into()),
                        |(_, c)| param(c),
                    )
            })
            .collect(),
    };
    let columns = stmt
        .columns()
        .iter()
        .map(|c| {
            let not_null = c.flags().contains(ColumnFlags::NOT_NULL_FLAG);
            ColumnDescription::new(
                column_name(c).to_owned(),
                column_type_name(c),
                Some(!not_null),
            )
        })
        .collect();
    if session.opts().stmt_cache_size() == 0 {
        session.close(stmt).await.map_err(map_error)?;
    }
    Ok(Description::new(params, columns))
}

fn param(c: &Column) -> ParamDescription {
    ParamDescription::new(column_type_name(c))
}
