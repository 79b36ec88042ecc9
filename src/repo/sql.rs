//! SQL text for the repository: identifiers checked and quoted per backend, values bound as
//! `$n`, lists cut or padded to a few statement shapes.

use crate::dialect::quote_identifier;
use crate::error::{Backend, Error, Result};
use crate::types::Param;

use super::filter::{Arg, Filter, Node, Order};
use super::Entity;

/// Most bind parameters one generated statement carries. PostgreSQL and MySQL both stop at
/// 65,535 per statement; staying well below leaves room for a filter's own parameters.
pub(super) const MAX_PARAMS: usize = 60_000;

/// Lists of up to this many rows or keys are sent as they are. Longer ones are cut (batched
/// inserts) or padded (key lists) to powers of two, because every distinct SQL text becomes a
/// prepared statement cached for the life of the connection, and PostgreSQL's cache has no
/// bound: with this, an entity has a few dozen shapes, not one per list length.
pub(super) const SMALL_BATCH: usize = 16;

/// The error for a column an entity does not have.
pub(super) fn unknown_column(table: &str, column: &str) -> Error {
    Error::UnknownColumn {
        table: table.to_owned(),
        column: column.to_owned(),
    }
}

/// SQL text under construction and its parameters, numbered `$1..$n` as they are added.
pub(super) struct Sql<'a> {
    pub(super) text: String,
    pub(super) params: Vec<Param<'a>>,
}

impl<'a> Sql<'a> {
    pub(super) fn new(text: String) -> Self {
        Sql {
            text,
            params: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Adds a parameter without writing its placeholder; returns its number.
    pub(super) fn add(&mut self, p: Param<'a>) -> usize {
        self.params.push(p);
        self.params.len()
    }

    pub(super) fn placeholder(&mut self, n: usize) {
        self.text.push('$');
        self.text.push_str(&n.to_string());
    }

    pub(super) fn bind(&mut self, p: Param<'a>) {
        let n = self.add(p);
        self.placeholder(n);
    }

    /// Binds a comma-separated list, padded to its bucket length by repeating the last value
    /// (harmless in `IN`) so that lists of many lengths share a few statement texts.
    pub(super) fn bind_list(&mut self, values: &[Param<'a>]) {
        let len = values.len();
        let padded = if len <= SMALL_BATCH || len.next_power_of_two() > MAX_PARAMS {
            len
        } else {
            len.next_power_of_two()
        };
        let last = values.last().copied();
        let pad = last.into_iter().cycle().take(padded - len);
        for (i, v) in values.iter().copied().chain(pad).enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
    }
}

/// An entity's identifiers, checked and quoted for one backend.
pub(super) struct Names {
    pub(super) backend: Backend,
    pub(super) entity: &'static str,
    pub(super) raw: &'static [&'static str],
    pub(super) table: String,
    pub(super) columns: Vec<String>,
    pub(super) key: usize,
    pub(super) version: Option<usize>,
    pub(super) generated: bool,
}

impl Names {
    pub(super) fn of<T: Entity>(backend: Backend) -> Result<Names> {
        let position = |name: &str| T::COLUMNS.iter().position(|c| *c == name);
        let key =
            position(T::PRIMARY_KEY).ok_or_else(|| unknown_column(T::TABLE, T::PRIMARY_KEY))?;
        let version = match T::VERSION {
            Some(v) => Some(position(v).ok_or_else(|| unknown_column(T::TABLE, v))?),
            None => None,
        };
        Ok(Names {
            backend,
            entity: T::TABLE,
            raw: T::COLUMNS,
            table: quote_identifier(backend, T::TABLE)?,
            columns: T::COLUMNS
                .iter()
                .map(|c| quote_identifier(backend, c))
                .collect::<Result<_>>()?,
            key,
            version,
            generated: T::GENERATED_KEY,
        })
    }

    /// The index of a column named by the caller, or the typed error; never spliced as is.
    pub(super) fn index(&self, column: &str) -> Result<usize> {
        self.raw
            .iter()
            .position(|c| *c == column)
            .ok_or_else(|| unknown_column(self.entity, column))
    }

    pub(super) fn column(&self, column: &str) -> Result<&str> {
        Ok(&self.columns[self.index(column)?])
    }

    pub(super) fn key(&self) -> &str {
        &self.columns[self.key]
    }

    pub(super) fn select(&self) -> String {
        format!("SELECT {} FROM {}", self.columns.join(", "), self.table)
    }

    /// The columns an insert writes: all but a generated key.
    pub(super) fn inserted(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|&i| !(self.generated && i == self.key))
            .collect()
    }

    pub(super) fn list(&self, indexes: &[usize]) -> String {
        let names: Vec<&str> = indexes.iter().map(|&i| self.columns[i].as_str()).collect();
        names.join(", ")
    }

    /// `INSERT INTO t (a, b) VALUES ($1, $2)`, or the form with no column at all.
    pub(super) fn insert<'a>(&self, columns: &[usize], values: &[Param<'a>]) -> Result<Sql<'a>> {
        if columns.is_empty() {
            return Ok(Sql::new(match self.backend {
                Backend::Postgres => format!("INSERT INTO {} DEFAULT VALUES", self.table),
                Backend::MySql => format!("INSERT INTO {} () VALUES ()", self.table),
            }));
        }
        let mut sql = Sql::new(format!(
            "INSERT INTO {} ({}) VALUES (",
            self.table,
            self.list(columns)
        ));
        for (i, &c) in columns.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(value_at(values, c, self.entity)?);
        }
        sql.push(")");
        Ok(sql)
    }

    pub(super) fn render<'a>(&self, node: &'a Node, sql: &mut Sql<'a>) -> Result<()> {
        match node {
            Node::Compare(column, op, value) => {
                sql.push(self.column(column)?);
                sql.push(" ");
                sql.push(op);
                sql.push(" ");
                sql.bind(value.param());
            }
            Node::In(column, values) => {
                let column = self.column(column)?;
                if values.is_empty() {
                    sql.push("1 = 0");
                } else {
                    sql.push(column);
                    sql.push(" IN (");
                    let params: Vec<Param<'a>> = values.iter().map(Arg::param).collect();
                    sql.bind_list(&params);
                    sql.push(")");
                }
            }
            Node::Like(column, pattern) => {
                sql.push(self.column(column)?);
                sql.push(" LIKE ");
                sql.bind(pattern.param());
            }
            Node::IsNull(column, negated) => {
                sql.push(self.column(column)?);
                sql.push(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Node::And(nodes) | Node::Or(nodes) => {
                let (joiner, empty) = match node {
                    Node::And(_) => (" AND ", "1 = 1"),
                    _ => (" OR ", "1 = 0"),
                };
                if nodes.is_empty() {
                    sql.push(empty);
                }
                for (i, n) in nodes.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    sql.push("(");
                    self.render(n, sql)?;
                    sql.push(")");
                }
            }
            Node::Not(n) => {
                sql.push("NOT (");
                self.render(n, sql)?;
                sql.push(")");
            }
        }
        Ok(())
    }

    pub(super) fn filter<'a>(&self, filter: &'a Filter, sql: &mut Sql<'a>) -> Result<()> {
        self.render(&filter.0, sql)
    }

    /// The query's order, checked, completed with the key.
    pub(super) fn order(&self, order: &[(String, Order)]) -> Result<Vec<(usize, Order)>> {
        let mut out = order
            .iter()
            .map(|(c, o)| Ok((self.index(c)?, *o)))
            .collect::<Result<Vec<_>>>()?;
        if !out.iter().any(|&(i, _)| i == self.key) {
            out.push((self.key, Order::Asc));
        }
        Ok(out)
    }
}

pub(super) fn value_at<'a>(values: &[Param<'a>], index: usize, table: &str) -> Result<Param<'a>> {
    values.get(index).copied().ok_or_else(|| {
        Error::Config(format!(
            "entity `{table}` gave {} values for more columns",
            values.len()
        ))
    })
}

/// Writes `WHERE` for the first condition and `AND` for the next ones.
pub(super) struct Where(pub(super) bool);

impl Where {
    pub(super) fn next(&mut self, sql: &mut Sql<'_>) {
        sql.push(if self.0 { " AND " } else { " WHERE " });
        self.0 = true;
    }
}

/// Statement sizes for `n` rows at most `max` per statement: full statements, then the rest in
/// powers of two down to [`SMALL_BATCH`], then what is left. Few sizes means few statement
/// texts to prepare and cache, whatever the row counts callers send.
pub(super) fn piece_sizes(mut n: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n > 0 {
        let size = if n >= max {
            max
        } else if n > SMALL_BATCH {
            1 << (usize::BITS - 1 - n.leading_zeros())
        } else {
            n
        };
        out.push(size);
        n -= size;
    }
    out
}

/// The largest power of two no greater than `n` (at least 1).
pub(super) fn floor_power_of_two(n: usize) -> usize {
    if n <= 1 {
        1
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

pub(super) fn limit_param(n: u64) -> Param<'static> {
    Param::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_sizes_bound_the_statement_shapes() {
        assert_eq!(piece_sizes(0, 8), Vec::<usize>::new());
        assert_eq!(piece_sizes(5, 8192), [5]);
        assert_eq!(piece_sizes(16, 8192), [16]);
        assert_eq!(piece_sizes(20_000, 8192), [8192, 8192, 2048, 1024, 512, 32]);
        assert_eq!(piece_sizes(17, 8192), [16, 1]);
        assert_eq!(piece_sizes(7, 4), [4, 3]);
        for n in 0..3000 {
            let p = piece_sizes(n, 1024);
            assert_eq!(p.iter().sum::<usize>(), n);
            assert!(p
                .iter()
                .all(|&s| s <= 1024 && (s <= SMALL_BATCH || s.is_power_of_two())));
            let p = piece_sizes(n, 1000);
            assert_eq!(p.iter().sum::<usize>(), n);
            assert!(p
                .iter()
                .all(|&s| s == 1000 || s <= SMALL_BATCH || s.is_power_of_two()));
        }
        assert_eq!(floor_power_of_two(12_000), 8192);
        assert_eq!(floor_power_of_two(60_000), 32_768);
        assert_eq!(floor_power_of_two(0), 1);
    }

    #[test]
    fn key_lists_are_padded_to_a_bucket() {
        let mut sql = Sql::new(String::new());
        let p: Vec<Param<'_>> = (0..3).map(Param::Int).collect();
        sql.bind_list(&p);
        assert_eq!(sql.text, "$1, $2, $3");
        let mut sql = Sql::new(String::new());
        let p: Vec<Param<'_>> = (0..17).map(Param::Int).collect();
        sql.bind_list(&p);
        assert_eq!(sql.params.len(), 32);
        assert_eq!(sql.params[31], Param::Int(16));
    }
}
