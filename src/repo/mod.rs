//! Entities and a generic repository: get, find, list with offset or keyset pagination,
//! count, insert (returning the generated key), batched inserts, update with optimistic
//! locking, delete and upsert, the same on PostgreSQL and MySQL/MariaDB.
//!
//! An entity is a struct with `#[derive(Entity)]`, which implements [`Entity`] and also
//! [`FromRow`] (so do not derive `FromRow` as well):
//!
//! ```no_run
//! use weir::{Entity, Filter, Order, Page, Query, Repo};
//!
//! #[derive(Debug, Clone, Entity)]
//! #[weir(table = "users")]
//! struct User {
//!     #[weir(primary_key, generated)] // BIGSERIAL / IDENTITY, AUTO_INCREMENT: not inserted
//!     id: i64,
//!     name: String,
//!     #[weir(rename = "email_address")]
//!     email: Option<String>,
//!     #[weir(version)] // optimistic locking: `update` checks and bumps it
//!     version: i64,
//! }
//!
//! # async fn run(db: &weir::Database) -> weir::Result<()> {
//! let users = Repo::<User>::new();
//! let new = User { id: 0, name: "Ada".into(), email: None, version: 0 };
//! let id = users.insert(db, &new).await?;
//! let mut ada = users.get(db, &id).await?.ok_or(weir::Error::RowNotFound)?;
//! ada.email = Some("ada@example.com".into());
//! users.update(db, &mut ada).await?; // Error::StaleEntity if someone else updated it first
//! let query = Query::new()
//!     .filter(Filter::like("name", "A%").and(Filter::is_not_null("email_address")))
//!     .order_by("name", Order::Asc);
//! let first = users.list(db, &query, Page::Offset { offset: 0, limit: 20 }).await?;
//! if let Some(last) = first.last() {
//!     let next = users.list(db, &query, Page::After { row: last, limit: 20 }).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! Every method takes the executor per call, so one `Repo` value serves the pool, a
//! [`Connection`](crate::Connection) and a [`Transaction`](crate::Transaction) alike.
//!
//! # What is safe
//!
//! Identifiers (table, columns) come from the entity, are quoted for the backend
//! ([`quote_identifier`](crate::quote_identifier)) and never come from a filter's text: a
//! column named in a [`Filter`] or an order must be one of the entity's
//! [`COLUMNS`](Entity::COLUMNS), or the call fails before anything is sent. Values are always
//! bound parameters.
//!
//! # Backend differences that show through
//!
//! - Text comparison follows the column's collation: MySQL/MariaDB's defaults are
//!   case-insensitive and ignore trailing spaces, PostgreSQL's are not.
//! - `upsert` is `ON CONFLICT (key) DO UPDATE` on PostgreSQL but `ON DUPLICATE KEY UPDATE` on
//!   MySQL/MariaDB, which fires on a conflict with *any* unique key of the table.
//! - A duplicate key is [`Error::UniqueViolation`] on both, naming the constraint
//!   (PostgreSQL) or key (MySQL); a primary key is `<table>_pkey` on one and `PRIMARY` on the
//!   other unless the DDL names it.
//! - PostgreSQL refuses NUL characters in text (a server error, SQLSTATE 22021); MySQL stores
//!   them. Bytes may hold NUL on both.

mod filter;
mod sql;
mod write;

use std::fmt;
use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::row::FromRow;
use crate::types::{Decode, Encode, Param};

pub use filter::{Filter, Order, Page, Query};
use sql::{floor_power_of_two, limit_param, value_at, Names, Sql, Where, MAX_PARAMS};

/// Derives [`Entity`] and [`FromRow`] for a struct with named fields; see the trait.
pub use weir_macros::Entity;

/// A table row as a Rust struct: its table, columns, primary key and optional version column.
///
/// Implement it with `#[derive(Entity)]` (which implements [`FromRow`] too):
///
/// - `#[weir(table = "name")]` on the struct (required); `#[weir(rename_all = "...")]` as for
///   `FromRow`.
/// - `#[weir(primary_key)]` on exactly one field; add `generated` when the database makes the
///   key (an identity or serial column, `AUTO_INCREMENT`): inserts leave it out and return the
///   key the database chose. On MySQL/MariaDB that is `LAST_INSERT_ID()`, so a generated key
///   must be an `AUTO_INCREMENT` integer there; PostgreSQL reads back any type (`RETURNING`).
/// - `#[weir(version)]` on an integer field turns on optimistic locking: [`Repo::update`]
///   writes only if the stored version still equals the struct's, and adds one to both.
/// - `#[weir(rename = "column")]`, and `#[weir(default)]` for a field that is no column.
pub trait Entity: FromRow + Send + Sync {
    /// The primary key's type.
    type Key: Encode + Decode + Clone + fmt::Debug + Send + Sync;

    /// The table, unquoted.
    const TABLE: &'static str;
    /// Every column, unquoted, in field order, the key and the version included.
    const COLUMNS: &'static [&'static str];
    /// The primary key column; one of [`COLUMNS`](Self::COLUMNS).
    const PRIMARY_KEY: &'static str;
    /// Whether the database generates the key: inserts then leave it out.
    const GENERATED_KEY: bool;
    /// The optimistic-locking column, if any; one of [`COLUMNS`](Self::COLUMNS).
    const VERSION: Option<&'static str>;

    /// This row's key.
    fn key(&self) -> &Self::Key;

    /// The value of every column, in [`COLUMNS`](Self::COLUMNS) order.
    fn values(&self) -> Vec<Param<'_>>;

    /// Adds one to the version field, after an update wrote the row (no-op without one).
    fn bump_version(&mut self);

    /// The key as a parameter.
    fn key_param(&self) -> Param<'_> {
        self.key().encode()
    }

    /// The values an insert writes, in [`COLUMNS`](Self::COLUMNS) order: every column but a
    /// generated key.
    fn insert_values(&self) -> Vec<Param<'_>> {
        self.values()
            .into_iter()
            .zip(Self::COLUMNS)
            .filter(|(_, c)| !(Self::GENERATED_KEY && **c == Self::PRIMARY_KEY))
            .map(|(v, _)| v)
            .collect()
    }
}

/// The generic repository of an entity `T`. It holds nothing: each method takes the
/// [`Executor`] to run on (the pool, a connection, a transaction), so one `Repo` serves all.
///
/// Rows each statement touches are found by primary key; on the pool, each call is its own
/// statement on whatever connection is free (run several in a transaction to make them one).
pub struct Repo<T> {
    entity: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Repo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Repo<")?;
        f.write_str(std::any::type_name::<T>())?;
        f.write_str(">")
    }
}

impl<T> Clone for Repo<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Repo<T> {}

impl<T> Default for Repo<T> {
    fn default() -> Self {
        Repo {
            entity: PhantomData,
        }
    }
}

impl<T: Entity> Repo<T> {
    /// The repository of `T`.
    pub const fn new() -> Self {
        Repo {
            entity: PhantomData,
        }
    }

    /// The row with this key, if any.
    ///
    /// # Errors
    /// Server and decode errors; see [`Error`].
    pub async fn get<E: Executor>(&self, db: &E, key: &T::Key) -> Result<Option<T>> {
        let n = Names::of::<T>(db.backend())?;
        let sql = format!("{} WHERE {} = $1", n.select(), n.key());
        db.fetch_optional(&sql, (key,)).await
    }

    /// The rows with these keys, in no particular order; keys with no row are skipped.
    /// Long lists are sent in several statements.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_many<E: Executor>(&self, db: &E, keys: &[T::Key]) -> Result<Vec<T>> {
        let n = Names::of::<T>(db.backend())?;
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(floor_power_of_two(MAX_PARAMS)) {
            let mut sql = Sql::new(format!("{} WHERE {} IN (", n.select(), n.key()));
            let params: Vec<Param<'_>> = chunk.iter().map(Encode::encode).collect();
            sql.bind_list(&params);
            sql.push(")");
            out.extend(db.fetch_all::<T, _>(&sql.text, sql.params).await?);
        }
        Ok(out)
    }

    /// Every row that matches `filter`, in key order.
    ///
    /// # Errors
    /// An unknown column in the filter (before anything is sent); otherwise as
    /// [`get`](Self::get).
    pub async fn find<E: Executor>(&self, db: &E, filter: &Filter) -> Result<Vec<T>> {
        self.select(db, Some(filter), &[], &Page::All).await
    }

    /// The first row, in key order, that matches `filter`.
    ///
    /// # Errors
    /// As [`find`](Self::find).
    pub async fn find_one<E: Executor>(&self, db: &E, filter: &Filter) -> Result<Option<T>> {
        let page = Page::Offset {
            offset: 0,
            limit: 1,
        };
        Ok(self
            .select(db, Some(filter), &[], &page)
            .await?
            .into_iter()
            .next())
    }

    /// One page of the rows `query` selects, in its order.
    ///
    /// # Errors
    /// An unknown column in the filter or the order, or (with [`Page::AfterValues`])
    /// [`Error::ParamCount`] for a wrong number of cursor values, before anything is sent;
    /// otherwise as [`get`](Self::get).
    pub async fn list<E: Executor>(
        &self,
        db: &E,
        query: &Query,
        page: Page<'_, T>,
    ) -> Result<Vec<T>> {
        self.select(db, query.filter.as_ref(), &query.order, &page)
            .await
    }

    async fn select<E: Executor>(
        &self,
        db: &E,
        filter: Option<&Filter>,
        order: &[(String, Order)],
        page: &Page<'_, T>,
    ) -> Result<Vec<T>> {
        let n = Names::of::<T>(db.backend())?;
        let order = n.order(order)?;
        let mut sql = Sql::new(n.select());
        let mut clause = Where(false);
        if let Some(f) = filter {
            clause.next(&mut sql);
            sql.push("(");
            n.filter(f, &mut sql)?;
            sql.push(")");
        }
        let cursor: Option<Vec<Param<'_>>> = match page {
            Page::After { row, .. } => {
                let values = row.values();
                Some(
                    order
                        .iter()
                        .map(|&(i, _)| value_at(&values, i, n.entity))
                        .collect::<Result<_>>()?,
                )
            }
            Page::AfterValues { values, .. } => {
                if values.len() != order.len() {
                    return Err(Error::ParamCount {
                        expected: order.len(),
                        given: values.len(),
                    });
                }
                Some(values.iter().map(|v| v.encode()).collect())
            }
            Page::All | Page::Offset { .. } => None,
        };
        if let Some(cursor) = cursor {
            // (a > $1) OR (a = $1 AND b > $2) OR ...: any mix of directions, on both backends.
            clause.next(&mut sql);
            let slots: Vec<usize> = cursor.into_iter().map(|v| sql.add(v)).collect();
            sql.push("(");
            for (i, &(column, dir)) in order.iter().enumerate() {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push("(");
                for (&(equal, _), &slot) in order[..i].iter().zip(&slots) {
                    sql.push(&n.columns[equal]);
                    sql.push(" = ");
                    sql.placeholder(slot);
                    sql.push(" AND ");
                }
                sql.push(&n.columns[column]);
                sql.push(if dir == Order::Asc { " > " } else { " < " });
                sql.placeholder(slots[i]);
                sql.push(")");
            }
            sql.push(")");
        }
        sql.push(" ORDER BY ");
        for (i, &(column, dir)) in order.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push(&n.columns[column]);
            sql.push(dir.sql());
        }
        match page {
            Page::All => {}
            Page::Offset { offset, limit } => {
                sql.push(" LIMIT ");
                sql.bind(limit_param(*limit));
                sql.push(" OFFSET ");
                sql.bind(limit_param(*offset));
            }
            Page::After { limit, .. } | Page::AfterValues { limit, .. } => {
                sql.push(" LIMIT ");
                sql.bind(limit_param(*limit));
            }
        }
        db.fetch_all(&sql.text, sql.params).await
    }

    /// How many rows match `filter` (all rows with `None`).
    ///
    /// # Errors
    /// As [`find`](Self::find).
    pub async fn count<E: Executor>(&self, db: &E, filter: Option<&Filter>) -> Result<u64> {
        let n = Names::of::<T>(db.backend())?;
        let mut sql = Sql::new(format!("SELECT COUNT(*) FROM {}", n.table));
        if let Some(f) = filter {
            sql.push(" WHERE ");
            n.filter(f, &mut sql)?;
        }
        db.fetch_scalar(&sql.text, sql.params).await
    }

    /// Whether any row matches `filter`.
    ///
    /// # Errors
    /// As [`find`](Self::find).
    pub async fn exists<E: Executor>(&self, db: &E, filter: &Filter) -> Result<bool> {
        let n = Names::of::<T>(db.backend())?;
        let mut sql = Sql::new(format!("SELECT EXISTS (SELECT 1 FROM {} WHERE ", n.table));
        n.filter(filter, &mut sql)?;
        sql.push(")");
        db.fetch_scalar(&sql.text, sql.params).await
    }

    /// Whether a row with this key exists.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn exists_key<E: Executor>(&self, db: &E, key: &T::Key) -> Result<bool> {
        let n = Names::of::<T>(db.backend())?;
        let sql = format!("SELECT 1 FROM {} WHERE {} = $1", n.table, n.key());
        Ok(db
            .fetch_optional::<(i64,), _>(&sql, (key,))
            .await?
            .is_some())
    }
}
