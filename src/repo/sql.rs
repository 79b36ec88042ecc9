//! SQL text for the repository: identifiers checked and quoted per backend, values bound as
//! `$n` (or `?` in MySQL bulk inserts), key lists padded to a few statement shapes.

use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::sql::quote_identifier;
use crate::types::{Encode, Param};

use super::filter::{Filter, Node, Order};
use super::Entity;

/// Most bind parameters one generated statement carries. PostgreSQL and MySQL both stop at
/// 65,535 per statement; staying well below leaves room for a filter's own parameters.
pub(super) const MAX_PARAMS: usize = 60_000;

/// Key lists of up to this many keys are sent as they are. Longer ones are padded to powers
/// of two, because every distinct SQL text becomes a prepared statement cached for the life of
/// the connection, and PostgreSQL's cache has no bound: with this, an entity has a few dozen
/// shapes, not one per list length.
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
        // Written digit by digit: a statement may carry 60,000 of these, and `to_string`
        // allocated for each one.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.text.push('$');
        for &d in &digits[at..] {
            self.text.push(char::from(d));
        }
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
                sql.bind(value.encode());
            }
            Node::In(column, values) => {
                let column = self.column(column)?;
                if values.is_empty() {
                    sql.push("1 = 0");
                } else {
                    sql.push(column);
                    sql.push(" IN (");
                    let params: Vec<Param<'a>> = values.iter().map(Encode::encode).collect();
                    sql.bind_list(&params);
                    sql.push(")");
                }
            }
            Node::Like(column, pattern) => {
                sql.push(self.column(column)?);
                sql.push(" LIKE ");
                sql.bind(pattern.encode());
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
    fn placeholders_are_written_in_decimal() {
        let mut sql = Sql::new(String::new());
        for n in [1, 9, 10, 99, 100, 65_535, usize::MAX] {
            sql.placeholder(n);
            sql.push(" ");
        }
        assert_eq!(
            sql.text,
            format!("$1 $9 $10 $99 $100 $65535 ${} ", usize::MAX)
        );
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
