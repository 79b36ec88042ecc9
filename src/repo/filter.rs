//! Typed filters, orders and pages: what the repository's reads select. A filter owns its
//! values; its column names are checked against the entity when a statement is built.

use std::fmt;

use crate::types::{Encode, Value};

/// A typed condition on an entity's columns: `Filter::eq("email", e).and(Filter::gt("age", 18))`.
///
/// Columns are the entity's column names (after `rename`); one the entity does not have fails
/// the call before anything is sent. Values are bound, never written into the SQL. A filter
/// owns its values, so it can be built once and reused.
///
/// Comparing with a NULL value (`eq("x", None::<i32>)`) matches nothing, as in SQL: use
/// [`is_null`](Self::is_null).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(pub(super) Node);

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Compare(String, &'static str, Value),
    In(String, Vec<Value>),
    Like(String, Value),
    IsNull(String, bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

impl Filter {
    fn compare(column: &str, op: &'static str, value: impl Encode) -> Filter {
        Filter(Node::Compare(
            column.to_owned(),
            op,
            Value::owned(value.encode()),
        ))
    }

    /// `column = value`.
    pub fn eq(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, "=", value)
    }

    /// `column <> value`.
    pub fn ne(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, "<>", value)
    }

    /// `column < value`.
    pub fn lt(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, "<", value)
    }

    /// `column <= value`.
    pub fn le(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, "<=", value)
    }

    /// `column > value`.
    pub fn gt(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, ">", value)
    }

    /// `column >= value`.
    pub fn ge(column: &str, value: impl Encode) -> Filter {
        Self::compare(column, ">=", value)
    }

    /// `column IN (values...)`; an empty list matches nothing. Each value is a parameter, and
    /// a statement takes at most 65,535: for long key lists use
    /// [`Repo::get_many`](super::Repo::get_many), which splits them.
    pub fn in_<V: Encode>(column: &str, values: impl IntoIterator<Item = V>) -> Filter {
        let values = values
            .into_iter()
            .map(|v| Value::owned(v.encode()))
            .collect();
        Filter(Node::In(column.to_owned(), values))
    }

    /// `column LIKE pattern`: `%` and `_` are wildcards and `\` escapes them, on both backends.
    pub fn like(column: &str, pattern: impl Encode) -> Filter {
        Filter(Node::Like(
            column.to_owned(),
            Value::owned(pattern.encode()),
        ))
    }

    /// `column IS NULL`.
    pub fn is_null(column: &str) -> Filter {
        Filter(Node::IsNull(column.to_owned(), false))
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(column: &str) -> Filter {
        Filter(Node::IsNull(column.to_owned(), true))
    }

    /// Both conditions.
    #[must_use]
    pub fn and(self, other: Filter) -> Filter {
        Filter(match (self.0, other.0) {
            (Node::And(mut a), Node::And(b)) => {
                a.extend(b);
                Node::And(a)
            }
            (Node::And(mut a), b) => {
                a.push(b);
                Node::And(a)
            }
            (a, b) => Node::And(vec![a, b]),
        })
    }

    /// Either condition.
    #[must_use]
    pub fn or(self, other: Filter) -> Filter {
        Filter(match (self.0, other.0) {
            (Node::Or(mut a), Node::Or(b)) => {
                a.extend(b);
                Node::Or(a)
            }
            (Node::Or(mut a), b) => {
                a.push(b);
                Node::Or(a)
            }
            (a, b) => Node::Or(vec![a, b]),
        })
    }

    /// The opposite condition (`NOT (...)`; as in SQL, a NULL column matches neither).
    #[allow(clippy::should_implement_trait)] // `!filter` would read worse than `filter.not()`
    #[must_use]
    pub fn not(self) -> Filter {
        Filter(Node::Not(Box::new(self.0)))
    }

    /// Every condition of `filters`; with none, every row.
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter(Node::And(filters.into_iter().map(|f| f.0).collect()))
    }

    /// Any condition of `filters`; with none, no row.
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Filter {
        Filter(Node::Or(filters.into_iter().map(|f| f.0).collect()))
    }
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl Order {
    pub(super) fn sql(self) -> &'static str {
        match self {
            Order::Asc => " ASC",
            Order::Desc => " DESC",
        }
    }
}

/// What [`Repo::list`](super::Repo::list) reads: an optional filter and an order.
///
/// The order is completed with the primary key (ascending) when it does not name it, so that
/// it is total: pages neither repeat nor skip rows with equal sort values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub(super) filter: Option<Filter>,
    pub(super) order: Vec<(String, Order)>,
}

impl Query {
    /// Every row, in key order.
    pub fn new() -> Query {
        Query::default()
    }

    /// Keeps only rows that match `filter` (and any filter given before).
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Query {
        self.filter = Some(match self.filter.take() {
            Some(f) => f.and(filter),
            None => filter,
        });
        self
    }

    /// Sorts by `column` after the columns given before.
    #[must_use]
    pub fn order_by(mut self, column: &str, order: Order) -> Query {
        self.order.push((column.to_owned(), order));
        self
    }
}

/// Which rows of a [`Query`] [`Repo::list`](super::Repo::list) returns.
pub enum Page<'a, T> {
    /// All of them.
    All,
    /// `limit` rows after skipping `offset`. Simple, but the server still reads the rows it
    /// skips, and rows inserted meanwhile shift the pages.
    Offset {
        /// Rows to skip.
        offset: u64,
        /// Most rows to return.
        limit: u64,
    },
    /// Keyset pagination: `limit` rows that come after `row` in the query's order (typically
    /// the last row of the previous page). Each page costs an index seek, however deep, and
    /// is stable under inserts. The order's columns should be NOT NULL: a NULL sorts nowhere
    /// in a comparison.
    After {
        /// The row to continue after.
        row: &'a T,
        /// Most rows to return.
        limit: u64,
    },
    /// Keyset pagination from a cursor's values instead of a row: one value per column of
    /// the query's order, then the key's unless the order names the key.
    AfterValues {
        /// The sort values of the row to continue after.
        values: &'a [&'a dyn Encode],
        /// Most rows to return.
        limit: u64,
    },
}

impl<T> fmt::Debug for Page<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Page::All => f.write_str("All"),
            Page::Offset { offset, limit } => f
                .debug_struct("Offset")
                .field("offset", offset)
                .field("limit", limit)
                .finish(),
            Page::After { limit, .. } => f.debug_struct("After").field("limit", limit).finish(),
            Page::AfterValues { values, limit } => f
                .debug_struct("AfterValues")
                .field("values", &values.len())
                .field("limit", limit)
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_flat() {
        let f = Filter::eq("a", 1)
            .and(Filter::eq("b", 2))
            .and(Filter::eq("c", 3));
        assert!(matches!(&f.0, Node::And(v) if v.len() == 3));
        let f = Filter::eq("a", 1)
            .or(Filter::eq("b", 2))
            .or(Filter::is_null("c"));
        assert!(matches!(&f.0, Node::Or(v) if v.len() == 3));
        assert_eq!(Filter::in_("a", [1, 2]), Filter::in_("a", vec![1i64, 2]));
        assert_eq!(
            Filter::eq("s", String::from("x")),
            Filter::eq("s", "x"),
            "owned and borrowed text make the same filter"
        );
    }
}
