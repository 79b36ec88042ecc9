//! How a PostgreSQL session runs statements: named and cached (a bounded LRU of prepared
//! statements), or unnamed, for poolers in transaction mode (`statement_cache_capacity=0`).

use std::collections::HashMap;

use postgres_types::Type;

use super::encode::{binds, Bind};
use crate::types::Param;

/// A session's prepared statements by SQL text, at most `capacity`, the least recently used
/// dropped first (tokio-postgres closes a statement on the server when it drops).
pub(super) struct StatementCache {
    capacity: usize,
    /// Each statement with the tick it was last used at.
    entries: HashMap<Box<str>, (tokio_postgres::Statement, u64)>,
    tick: u64,
}

impl StatementCache {
    pub(super) fn new(capacity: usize) -> Self {
        StatementCache {
            capacity,
            entries: HashMap::new(),
            tick: 0,
        }
    }

    /// The statement prepared for `sql`, marked as just used.
    #[inline]
    pub(super) fn get(&mut self, sql: &str) -> Option<tokio_postgres::Statement> {
        self.tick += 1;
        let (stmt, used) = self.entries.get_mut(sql)?;
        *used = self.tick;
        Some(stmt.clone())
    }

    /// Keeps `stmt` for `sql`, dropping the least recently used one when full: a linear scan,
    /// paid only after a prepare, which costs a round trip anyway.
    pub(super) fn insert(&mut self, sql: &str, stmt: tokio_postgres::Statement) {
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(sql) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.tick += 1;
        self.entries.insert(sql.into(), (stmt, self.tick));
    }

    pub(super) fn remove(&mut self, sql: &str) {
        self.entries.remove(sql);
    }
}

/// Binds for an unnamed statement, each with the type weir sends for it: the server cannot
/// be asked first (behind a pooler the answer may come from another server session), so a
/// value goes as its natural type, and text, whose column type the server decides, as
/// `unknown` in text form, like a literal.
pub(super) fn typed_binds<'a>(
    params: &'a [Param<'a>],
) -> impl ExactSizeIterator<Item = (Bind<'a>, Type)> + 'a {
    binds(params).zip(params.iter().map(param_type))
}

/// The natural PostgreSQL type of a parameter (`unknown`: the server infers it from the SQL).
pub(super) fn param_type(param: &Param<'_>) -> Type {
    match param {
        Param::Bool(_) => Type::BOOL,
        Param::Int(_) => Type::INT8,
        Param::UInt(_) | Param::PgNumeric(_) => Type::NUMERIC,
        Param::F32(_) => Type::FLOAT4,
        Param::F64(_) => Type::FLOAT8,
        Param::Bytes(_) | Param::Bits(_) => Type::BYTEA,
        Param::Duration { .. } | Param::Interval { .. } => Type::INTERVAL,
        Param::TimeTz { .. } => Type::TIMETZ,
        Param::Char(_) => Type::CHAR,
        Param::Inet { .. } => Type::INET,
        #[cfg(feature = "decimal")]
        Param::Decimal(_) => Type::NUMERIC,
        #[cfg(feature = "chrono")]
        Param::Date(_) => Type::DATE,
        #[cfg(feature = "chrono")]
        Param::Time(_) => Type::TIME,
        #[cfg(feature = "chrono")]
        Param::DateTime(_) => Type::TIMESTAMP,
        #[cfg(feature = "chrono")]
        Param::DateTimeUtc(_) => Type::TIMESTAMPTZ,
        #[cfg(feature = "uuid")]
        Param::Uuid(_) => Type::UUID,
        #[cfg(feature = "json")]
        Param::Json(_) => Type::JSONB,
        Param::Array(a) => (0..a.element_count())
            .map(|i| param_type(&a.element(i)))
            .find(|t| *t != Type::UNKNOWN)
            .and_then(|t| array_of(&t))
            .unwrap_or(Type::TEXT_ARRAY),
        Param::Null
        | Param::Str(_)
        | Param::Untyped(_)
        | Param::Text(_)
        | Param::DecimalText(_)
        | Param::JsonText(_)
        | Param::Other(_) => Type::UNKNOWN,
    }
}

/// The array type of an element type weir binds.
fn array_of(elem: &Type) -> Option<Type> {
    Some(match *elem {
        Type::BOOL => Type::BOOL_ARRAY,
        Type::INT8 => Type::INT8_ARRAY,
        Type::NUMERIC => Type::NUMERIC_ARRAY,
        Type::FLOAT4 => Type::FLOAT4_ARRAY,
        Type::FLOAT8 => Type::FLOAT8_ARRAY,
        Type::BYTEA => Type::BYTEA_ARRAY,
        Type::INTERVAL => Type::INTERVAL_ARRAY,
        Type::TIMETZ => Type::TIMETZ_ARRAY,
        Type::CHAR => Type::CHAR_ARRAY,
        Type::INET => Type::INET_ARRAY,
        Type::DATE => Type::DATE_ARRAY,
        Type::TIME => Type::TIME_ARRAY,
        Type::TIMESTAMP => Type::TIMESTAMP_ARRAY,
        Type::TIMESTAMPTZ => Type::TIMESTAMPTZ_ARRAY,
        Type::UUID => Type::UUID_ARRAY,
        Type::JSONB => Type::JSONB_ARRAY,
        _ => return None,
    })
}
