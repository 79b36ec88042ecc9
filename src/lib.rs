//! weir: async database access for PostgreSQL and MySQL/MariaDB behind one API.
//!
//! # Layout
//!
//! - [`config`]: [`DatabaseConfig`], parsed from a URL or built in code; every timeout finite.
//! - [`pool`]: [`Database`], one deadpool-managed pool for both backends, with health checks,
//!   idle and lifetime limits, and graceful [`close`](Database::close).
//! - [`executor`]: the [`Executor`] trait: `execute`, `fetch_all`, `fetch_one`,
//!   `fetch_optional`, `fetch_scalar`, `fetch_stream`, on the pool, a [`Connection`] or a
//!   [`Transaction`] alike.
//! - `conn`: a checked-out session and the rules for giving it back to the pool.
//! - [`limit`]: lanes (bulkheads) that bound statements in flight and shed load; call deadlines.
//! - [`retry`]: backoff with full jitter; what is retried and what never is.
//! - [`migrate`]: versioned SQL migrations, embedded or read from a folder, with checksums, a
//!   lock against concurrent runs, and dirty tracking where DDL is not transactional.
//! - [`listen`]: PostgreSQL `LISTEN`/`NOTIFY` on a connection outside the pool.
//! - [`stats`]: outcome counts and latency per lane, also through the `metrics` facade.
//! - [`tx`]: [`Transaction`]s, savepoints by nesting, isolation and read-only options.
//! - [`types`]: [`Encode`] for parameters, [`Decode`] for columns, [`Value`] for any column.
//! - [`row`]: [`Row`] wraps the driver's row; [`FromRow`] builds structs and tuples from it.
//! - [`repo`]: entities (`#[derive(Entity)]`) and the generic [`Repo`]: get, find with typed
//!   filters, keyset or offset pages, insert returning the key, insert_many (binary COPY on
//!   PostgreSQL, multi-row INSERTs on MySQL), update with optimistic locking, delete, upsert,
//!   on either backend.
//! - `sql`: the one lexer of both dialects: `$n` placeholders rewritten for MySQL, the session
//!   scan, scripts split into statements ([`split_script`]), identifier quoting.
//! - [`error`]: the one [`Error`] type and the predicates services branch on.
//! - `backend/postgres`, `backend/mysql`: the driver adapters, the only code that names a
//!   driver type. They do I/O and classify errors; they make no policy decision.
//! - [`testing`]: fresh databases on a real server for integration tests.
//!
//! # Example
//!
//! ```no_run
//! use weir::{Database, Executor, FromRow};
//!
//! #[derive(Debug, FromRow)]
//! struct User {
//!     id: i64,
//!     name: String,
//!     email: Option<String>,
//! }
//!
//! # async fn run() -> weir::Result<()> {
//! // or "mysql://root@127.0.0.1/test": the same code runs on both.
//! let db = Database::connect("postgres://postgres@127.0.0.1/test").await?;
//! let users: Vec<User> = db
//!     .fetch_all("SELECT id, name, email FROM users LIMIT $1", (10,))
//!     .await?;
//! let mut tx = db.begin().await?;
//! tx.execute("UPDATE users SET name = $1 WHERE id = $2", ("Ada", 1)).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```
//!
//! # Placeholders
//!
//! Write `$1..$n` on both backends; a number may repeat or come out of order. On MySQL and
//! MariaDB weir rewrites them to `?` (string literals, quoted identifiers and comments are left
//! alone) and caches the rewrite per SQL text.
//!
//! # Timeouts
//!
//! `acquire_timeout` (default 30 s) bounds the whole wait for a connection, including opening
//! one (`connect_timeout`, default 10 s). A saturated pool fails with [`Error::PoolTimeout`]; a
//! server that cannot be reached with [`Error::Unreachable`] or [`Error::Connect`], carrying the
//! last connection error. `statement_timeout` (default none), or
//! [`Executor::with_timeout`] per call, is one deadline over the whole call: lane permit,
//! connection, statement. When it fires, a running statement is cancelled on the server and the
//! call fails with [`Error::QueryTimeout`], naming the phase it was in.
//!
//! # Lanes and retries
//!
//! [`DatabaseConfig::with_lane`] declares a bulkhead: calls through [`Executor::lane`] share its
//! limit on statements in flight, wait first come first served, and are shed
//! ([`Error::Shed`]) when its queue is full or time out waiting ([`Error::QueueTimeout`]).
//! weir retries on its own only connects that were refused; a statement that may have reached
//! the server is never retried behind the caller's back.
//! [`Database::transaction_with_retry`] re-runs a whole transaction on serialization
//! failures and deadlocks; a failure during `COMMIT` is [`Error::CommitOutcomeUnknown`].
//!
//! # Cancellation
//!
//! Dropping any weir future or stream at any point is safe. A connection whose statement was
//! still running has that statement cancelled on the server (PostgreSQL's cancel request,
//! MySQL's `KILL QUERY` from a separate connection) and is discarded, never reused mid-result;
//! its pool slot stays taken until the server has let the session go (at most `cleanup_timeout`),
//! so a storm of timeouts never leaves the server holding more sessions than `pool_max_size`. A
//! transaction dropped without commit is rolled back before its connection is reused, within
//! `cleanup_timeout` (default 5 s), or the connection is discarded.
//!
//! # Features
//!
//! `postgres` and `mysql` (the backends), `tls` (rustls, for `sslmode`), `chrono`, `uuid`,
//! `json`, `decimal` (value types): all on by default. `testcontainers` (off): test databases
//! in containers when no server is configured.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, missing_debug_implementations)]

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
compile_error!("weir needs at least one backend feature: `postgres` or `mysql`");

mod backend;
pub mod config;
mod conn;
mod engine;
pub mod error;
pub mod executor;
mod hook;
pub mod limit;
pub mod listen;
pub mod migrate;
pub mod pool;
pub mod repo;
pub mod retry;
pub mod row;
mod sql;
pub mod stats;
#[cfg(feature = "postgres")]
mod stream;
pub mod testing;
#[cfg(feature = "tls")]
mod tls;
pub mod tx;
pub mod types;

pub use config::{CheckoutOrder, DatabaseConfig, HookFuture, SslMode};
pub use conn::Connection;
pub use engine::Backend;
pub use error::{CallPhase, ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error, Result};
pub use executor::{Executor, Scoped};
pub use hook::SessionRef;
pub use limit::Lane;
pub use listen::{Listener, Notification};
pub use pool::{BoxFuture, Database, PoolStatus};
pub use repo::{Entity, Filter, Order, Page, Query, Repo};
pub use retry::RetryPolicy;
pub use row::{Column, ColumnIndex, FromRow, Row};
pub use sql::{quote_identifier, split_script, ScriptStatement};
pub use stats::{LaneSnapshot, Stats};
pub use tx::{AccessMode, IsolationLevel, Transaction, TxOptions};
pub use types::{Decode, Encode, Param, Params, Value};
/// Embeds a folder of migrations in the binary, for [`migrate::Migrator::new`].
pub use weir_macros::embed_migrations;
/// Derives [`FromRow`] for a struct: named fields by column name (`#[weir(rename = "..")]`,
/// `#[weir(default)]`, `#[weir(rename_all = "..")]`), tuple structs by position.
pub use weir_macros::FromRow;

#[doc(hidden)]
pub mod __private {
    pub use crate::conn::{Conn, Lease};
    pub use crate::executor::{CallScope, Overrides};
}

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
