//! Integration tests against real servers: every test body runs on PostgreSQL and on
//! MySQL/MariaDB, each in a fresh database of its own.

mod common;

mod bad_input;
mod cancel;
mod column_types;
mod connect;
mod describe;
mod domain;
mod errors;
mod exhaustion;
mod flow;
mod health;
mod kill;
mod listen;
mod metrics;
mod migrate;
mod outage;
mod panics;
mod password;
mod phases;
mod pool;
mod private;
mod proxy;
mod queries;
mod repo;
mod secrets;
mod session;
mod spans;
mod statement_cache;
mod streaming;
mod throwaway;
mod tls;
mod tls_ca;
mod transactions;
mod types;
mod user_types;
mod warnings;
