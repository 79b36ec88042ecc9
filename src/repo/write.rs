//! The repository's writes: insert (returning the generated key), insert_many (one binary COPY
//! on PostgreSQL, multi-row INSERTs on MySQL), update with optimistic locking, delete, upsert.

use super::sql::{value_at, Names, Sql, MAX_PARAMS};
use super::{Entity, Repo};
use crate::backend::CopyTarget;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::types::{CopyRows, Param};

/// The entities of one `insert_many` as `COPY` rows: the inserted columns of each, in order.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))] // COPY is PostgreSQL's
struct EntityRows<'e, T> {
    entities: &'e [T],
    columns: &'e [usize],
    entity: &'e str,
}

impl<T: Entity> CopyRows for EntityRows<'_, T> {
    fn count(&self) -> usize {
        self.entities.len()
    }

    fn write_row<'s>(&'s self, index: usize, out: &mut Vec<Param<'s>>) -> Result<()> {
        let Some(entity) = self.entities.get(index) else {
            return Err(Error::Config(format!("no row #{index} to copy")));
        };
        let values = entity.values();
        for &c in self.columns {
            out.push(value_at(&values, c, self.entity)?);
        }
        Ok(())
    }
}

impl<T: Entity> Repo<T> {
    /// Inserts `entity` and returns its key: the one the database generated for a
    /// `generated` key (`RETURNING` on PostgreSQL, `LAST_INSERT_ID()` on MySQL/MariaDB),
    /// the entity's own otherwise. The struct is not changed.
    ///
    /// # Errors
    /// [`Error::UniqueViolation`] for a duplicate key, naming the constraint or key; other
    /// server errors; [`Error::Config`] when a `generated` key was not generated (a table
    /// without `AUTO_INCREMENT` or identity on MySQL).
    pub async fn insert<E: Executor>(&self, db: &E, entity: &T) -> Result<T::Key> {
        let n = Names::of::<T>(db.backend())?;
        let values = entity.values();
        let mut sql = n.insert(&n.inserted(), &values)?;
        if !T::GENERATED_KEY {
            db.execute(&sql.text, sql.params).await?;
            return Ok(entity.key().clone());
        }
        if n.backend == Backend::Postgres {
            sql.push(" RETURNING ");
            sql.push(n.key());
        }
        crate::executor::insert_returning_id::<_, T::Key, _>(db, &sql.text, sql.params)
            .await?
            .ok_or_else(|| {
                Error::Config(format!(
                    "insert into `{}` generated no key: is `{}` AUTO_INCREMENT or identity?",
                    T::TABLE,
                    T::PRIMARY_KEY
                ))
            })
    }

    /// Inserts many entities and returns how many rows were inserted. Generated keys are not
    /// returned. PostgreSQL gets one binary `COPY` for all of them (all or nothing);
    /// MySQL/MariaDB get multi-row `INSERT`s, each carrying as many rows as fit under the
    /// server's limit of 65,535 parameters.
    ///
    /// On MySQL each statement stands alone: on the pool, a failure leaves the statements
    /// before it applied. Run it in a transaction for all or nothing on both backends. A call
    /// deadline (`statement_timeout`, [`Executor::with_timeout`]) covers each statement: on
    /// PostgreSQL that is the whole load.
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub async fn insert_many<E: Executor>(&self, db: &E, entities: &[T]) -> Result<u64> {
        if entities.is_empty() {
            return Ok(0);
        }
        let n = Names::of::<T>(db.backend())?;
        let columns = n.inserted();
        if columns.is_empty() {
            // Only a generated key: no multi-row form is common to both backends.
            for entity in entities {
                self.insert(db, entity).await?;
            }
            return Ok(entities.len() as u64);
        }
        if db.backend() == Backend::Postgres {
            // One binary COPY for every row: a few times faster than INSERT, one transaction,
            // and the rows' values are produced one row at a time as the COPY is sent.
            let rows = EntityRows {
                entities,
                columns: &columns,
                entity: n.entity,
            };
            let list = n.list(&columns);
            let target = CopyTarget {
                table: &n.table,
                columns: &list,
                width: columns.len(),
            };
            return crate::executor::copy_in(db, target, &rows).await;
        }
        let max_rows = (MAX_PARAMS / columns.len()).max(1);
        let head = format!("INSERT INTO {} ({}) VALUES ", n.table, n.list(&columns));
        // `?` placeholders go to the driver as they are, where `$n` would be rewritten (and
        // the rewrite cached by the whole, 400 KB, text); only a `$` in a quoted name would
        // make the statement read as `$n` style, so then it is written that way.
        let question_marks = !head.contains('$');
        let mut total = 0;
        // Full statements and one exact rest: mysql_async keeps prepared statements in a
        // bounded LRU cache, so a rest of any length adds no lasting statement.
        for chunk in entities.chunks(max_rows) {
            let mut sql = Sql::new(head.clone());
            sql.params.reserve(chunk.len() * columns.len());
            sql.text.reserve(chunk.len() * columns.len() * 8);
            for (r, entity) in chunk.iter().enumerate() {
                sql.push(if r == 0 { "(" } else { ", (" });
                let values = entity.values();
                for (i, &c) in columns.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    let value = value_at(&values, c, n.entity)?;
                    if question_marks {
                        sql.add(value);
                        sql.push("?");
                    } else {
                        sql.bind(value);
                    }
                }
                sql.push(")");
            }
            total += if question_marks {
                crate::executor::execute_native(db, &sql.text, sql.params).await?
            } else {
                db.execute(&sql.text, sql.params).await?
            };
        }
        Ok(total)
    }

    /// Writes every column of `entity` to its row, found by key.
    ///
    /// With a version column the write happens only if the stored version still equals the
    /// entity's; it then adds one to both. Otherwise the row changed or went away since it was
    /// read, nothing is written, and the call fails with [`Error::StaleEntity`]: a lost race
    /// is an error, never a silent overwrite.
    ///
    /// # Errors
    /// [`Error::StaleEntity`] (with a version column) or [`Error::RowNotFound`] (without)
    /// when no row was written; server errors, such as [`Error::UniqueViolation`].
    pub async fn update<E: Executor>(&self, db: &E, entity: &mut T) -> Result<()> {
        let n = Names::of::<T>(db.backend())?;
        let rows = {
            let values = entity.values();
            let mut sql = Sql::new(format!("UPDATE {} SET ", n.table));
            let mut first = true;
            for (i, column) in n.columns.iter().enumerate() {
                if i == n.key || Some(i) == n.version {
                    continue;
                }
                if !first {
                    sql.push(", ");
                }
                first = false;
                sql.push(column);
                sql.push(" = ");
                sql.bind(value_at(&values, i, n.entity)?);
            }
            if let Some(v) = n.version {
                if !first {
                    sql.push(", ");
                }
                first = false;
                let v = &n.columns[v];
                sql.push(&format!("{v} = {v} + 1"));
            }
            if first {
                // Nothing to write but the key: a no-op that still finds the row.
                sql.push(&format!("{k} = {k}", k = n.key()));
            }
            sql.push(" WHERE ");
            sql.push(n.key());
            sql.push(" = ");
            sql.bind(value_at(&values, n.key, n.entity)?);
            if let Some(v) = n.version {
                sql.push(" AND ");
                sql.push(&n.columns[v]);
                sql.push(" = ");
                sql.bind(value_at(&values, v, n.entity)?);
            }
            db.execute(&sql.text, sql.params).await?
        };
        if rows > 0 {
            entity.bump_version();
            return Ok(());
        }
        if T::VERSION.is_some() {
            return Err(Error::StaleEntity {
                table: T::TABLE.to_owned(),
                key: format!("{:?}", entity.key()),
            });
        }
        // MySQL counts changed rows, not matched ones: 0 may mean "already so". Ask.
        if self.exists_key(db, entity.key()).await? {
            Ok(())
        } else {
            Err(Error::RowNotFound)
        }
    }

    /// Deletes the row with this key; returns whether there was one.
    ///
    /// # Errors
    /// Server errors, such as [`Error::ForeignKeyViolation`].
    pub async fn delete<E: Executor>(&self, db: &E, key: &T::Key) -> Result<bool> {
        let n = Names::of::<T>(db.backend())?;
        let sql = format!("DELETE FROM {} WHERE {} = $1", n.table, n.key());
        Ok(db.execute(&sql, (key,)).await? > 0)
    }

    /// Inserts `entity`, or, when a row with its key exists, overwrites that row's other
    /// columns (and adds one to its version, without checking it). The key is written even
    /// when it is `generated`. PostgreSQL: `ON CONFLICT (key) DO UPDATE`; MySQL/MariaDB:
    /// `ON DUPLICATE KEY UPDATE`, which also fires on a conflict with any other unique key.
    ///
    /// # Errors
    /// Server errors, such as [`Error::UniqueViolation`] on another unique key (PostgreSQL).
    pub async fn upsert<E: Executor>(&self, db: &E, entity: &T) -> Result<()> {
        let n = Names::of::<T>(db.backend())?;
        let values = entity.values();
        let all: Vec<usize> = (0..n.columns.len()).collect();
        let mut sql = n.insert(&all, &values)?;
        let mut sets = Vec::new();
        for (i, column) in n.columns.iter().enumerate() {
            if i == n.key {
                continue;
            }
            sets.push(match (n.backend, Some(i) == n.version) {
                (Backend::Postgres, true) => format!("{column} = {}.{column} + 1", n.table),
                (Backend::Postgres, false) => format!("{column} = EXCLUDED.{column}"),
                (Backend::MySql, true) => format!("{column} = {column} + 1"),
                (Backend::MySql, false) => format!("{column} = VALUES({column})"),
            });
        }
        match n.backend {
            Backend::Postgres if sets.is_empty() => {
                sql.push(&format!(" ON CONFLICT ({}) DO NOTHING", n.key()));
            }
            Backend::Postgres => {
                sql.push(&format!(" ON CONFLICT ({}) DO UPDATE SET ", n.key()));
                sql.push(&sets.join(", "));
            }
            Backend::MySql => {
                if sets.is_empty() {
                    sets.push(format!("{k} = {k}", k = n.key()));
                }
                // VALUES() rather than MySQL 8's row alias, which MariaDB does not know.
                sql.push(" ON DUPLICATE KEY UPDATE ");
                sql.push(&sets.join(", "));
            }
        }
        db.execute(&sql.text, sql.params).await?;
        Ok(())
    }
}
