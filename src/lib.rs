//! weir: async database access for PostgreSQL and MySQL/MariaDB behind one API.
//!
//! # Layout
//!
//! Modules are private; every public item is re-exported here, at one path (`migrate` and
//! `testing` are public modules of their own). Dependencies point down only, from each layer to
//! the ones above it in this list, never back; a folder is one unit whose files may refer to
//! each other. `.ci/check-layers` keeps it so.
//!
//! 1. Leaves, which name no other module but each other's plain data: `engine` ([`Backend`]),
//!    `error` ([`Error`] and its predicates), `describe` ([`Description`]), `config`
//!    ([`DatabaseConfig`]: plain settings, a URL parser, the builder), `types` ([`Encode`],
//!    [`Decode`], [`Value`]), `sql` (the one lexer of both dialects: `$n` placeholders for
//!    MySQL, the session scan, [`split_script`], identifier quoting), `retry` ([`RetryPolicy`]
//!    and its backoff), `stats` (per-lane counts and the pool's metric handles, also through
//!    the `metrics` facade).
//! 2. `backend`: the adapter contract, one crate-private trait, implemented by
//!    `backend/postgres` and `backend/mysql`, the only code that names a driver type. Adapters do
//!    I/O, write the SQL that differs per backend, convert values and classify error codes; they
//!    make no timeout, retry or pooling decision.
//! 3. `row` ([`Row`], [`FromRow`]), `session` (a checked-out session and the rules that keep it
//!    safe to reuse), `hook` (what an `after_connect` hook sees), `pool` (deadpool glue, the
//!    host list each new session walks for a host whose role fits `target_session_attrs`, the
//!    lease and its return rules, maintenance).
//! 4. `policy`: the one per-call path, the same for every call and both backends: lane permit,
//!    session, statement, under one deadline, counted per lane.
//! 5. `executor` (the [`Executor`] trait, sealed, and its streams) and the handles a service
//!    holds: [`Database`], [`Connection`], [`Transaction`], [`Listener`].
//! 6. `repo` ([`Entity`], [`Repo`]: typed reads and writes on either backend), [`migrate`]
//!    (versioned migrations with checksums and a lock), [`testing`] (fresh databases on a real
//!    server for integration tests).
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
//! Bounded by default: waiting for a connection, `acquire_timeout` (30 s), which includes
//! opening one, `connect_timeout` (10 s); a lane's queue, when a lane is configured (5 s);
//! cleaning up after a dropped call or transaction and closing a session, `cleanup_timeout`
//! (5 s). A saturated pool fails with [`Error::PoolTimeout`]; a server that cannot be reached
//! with [`Error::Unreachable`] or [`Error::Connect`], carrying the last connection error. With
//! a list of hosts, `connect_timeout` bounds each host tried, and a list with no fitting host
//! fails with [`Error::NoSuitableHost`], naming each host and why.
//!
//! Not bounded by default: the statement itself, and so the whole call. Set
//! `statement_timeout`, or [`Executor::with_timeout`] per call, for one deadline over the whole
//! call: lane permit, connection, statement. When it fires, a running statement is cancelled on
//! the server and the call fails with [`Error::QueryTimeout`], naming the phase it was in.
//! Without one, a statement waits as long as the server lets it: a statement blocked on a lock
//! that the same task's open transaction holds waits for ever. Reading a stream's rows is never
//! bounded by weir: the caller decides how long to read.
//!
//! # Warnings
//!
//! Two `tracing` WARNs point at bugs. A call slower than `slow_statement_threshold` (1 s) logs
//! its SQL text (never parameter values), elapsed time, lane, pool (`pool_name`, by default `host:port/database`) and
//! backend. A [`Connection`] or [`Transaction`] held longer than `leak_detection_threshold`
//! (60 s) logs the file and line of the [`Database::acquire`] or `begin` that took it, then an
//! INFO when it is returned; this is how the self-deadlock above shows. `off` disables either.
//!
//! # Metrics
//!
//! Through the `metrics` facade, each labelled with its `pool` (`pool_name`, default
//! `host:port/database`): gauges of the pool's connections and waiting callers and of each
//! lane's calls in flight and queued, histograms of acquire time and call duration, and
//! counters of calls by outcome, connections opened and closed by reason, cancels, retries,
//! sheds, queue timeouts and slow calls; docs/metrics.md lists them. A pool registers its
//! handles when it is built, with the recorder installed then; updating one costs an atomic
//! operation, no lock and no allocation.
//!
//! # Tracing
//!
//! Each call (and each `BEGIN`, `COMMIT` and `ROLLBACK`) is a `weir.call` span at DEBUG, with
//! `weir.acquire` and `weir.execute` inside it, carrying the attributes of OpenTelemetry's
//! semantic conventions for database client calls: `db.system.name` (`postgresql`, `mysql` or
//! `mariadb`), `db.namespace` (the database), `db.query.text` (the SQL with its placeholders,
//! never a parameter value), `db.operation.name` (its first keyword), `server.address` and
//! `server.port`; a failed call adds `db.response.status_code` (SQLSTATE on PostgreSQL, the
//! error number on MySQL and MariaDB) and `error.type` (that code, or weir's name for the
//! error, such as `query_timeout`). `otel.name` (`SELECT {database}`), `otel.kind` (`client`)
//! and `otel.status_code` are the fields `tracing-opentelemetry` makes the exported span's
//! name, kind and status of; `examples/otel.rs` exports them. A streamed query's span lasts until
//! its rows end, but is not entered while they are read. With no subscriber that wants them, a
//! call builds only a disabled span (its field values are not worked out).
//!
//! The pool logs at DEBUG each connection opened and each one closed, with the server and the
//! `reason` its metric counts (`idle_timeout`, `max_lifetime`, `broken`, `session_changed`,
//! `killed`, `pool_closed`), and each one discarded mid-statement (`mid_statement`: its
//! statement was cancelled on the server).
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

// Leaves: each names none of the modules below it.
mod config;
mod describe;
mod engine;
mod error;
mod retry;
mod sql;
mod stats;
mod types;
// The adapters, behind one trait.
mod backend;
// Sessions, rows and the pool.
mod hook;
mod pool;
mod row;
mod session;
// The one per-call policy path.
mod policy;
// The executor trait and the public handles.
mod connection;
mod database;
mod executor;
mod listen;
mod transaction;
// Built on the handles.
pub mod migrate;
mod repo;
pub mod testing;

pub use backend::Notification;
pub use config::{
    parse_duration, AccessMode, CheckoutOrder, DatabaseConfig, HookFuture, IsolationLevel, Lane,
    LoadBalanceHosts, SslMode, TargetSessionAttrs, TxOptions, UrlOption, URL_OPTIONS,
};
pub use connection::Connection;
pub use database::{BoxFuture, Database};
pub use describe::{ColumnDescription, Description, ParamDescription};
pub use engine::Backend;
pub use error::{
    CallPhase, ConnectErrorKind, DatabaseError, DatabaseErrorKind, Error, HostTried, Result,
};
pub use executor::{Executor, Scoped};
pub use hook::SessionRef;
pub use listen::Listener;
pub use policy::DEFAULT_LANE;
pub use pool::PoolStatus;
pub use repo::{Entity, Filter, Order, Page, Query, Repo};
pub use retry::RetryPolicy;
pub use row::{Column, ColumnIndex, FromRow, Row};
pub use sql::{quote_identifier, split_script, ScriptStatement};
pub use stats::{LaneSnapshot, Stats};
pub use transaction::Transaction;
pub use types::{
    ArrayCells, ArrayElement, ColumnValue, Decode, Encode, EncodeArray, Param, ParamList, Params,
    Value,
};
/// Embeds a folder of migrations in the binary, for [`migrate::Migrator::new`].
pub use weir_macros::embed_migrations;
/// Derives [`FromRow`] for a struct: named fields by column name (`#[weir(rename = "..")]`,
/// `#[weir(default)]`, `#[weir(rename_all = "..")]`), tuple structs by position.
pub use weir_macros::FromRow;
/// Derives [`Encode`] and [`Decode`] for a user type: an enum of unit variants, stored as text
/// (a text column, a PostgreSQL enum, a MySQL `ENUM`: one label per variant, the variant's name
/// by default, `#[weir(rename_all = "..")]` and `#[weir(rename = "..")]` as for [`FromRow`]), or
/// a newtype, stored exactly as its one field. See [`Decode`] for writing the impls by hand.
pub use weir_macros::Type;

/// What the derive macros expand to; not for direct use.
#[doc(hidden)]
pub mod __private {
    pub use crate::row::{ColumnMap, NameAt};
    pub use crate::types::{label, unknown_label};
}

/// The README's examples, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
