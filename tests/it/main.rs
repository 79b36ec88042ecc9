//! Integration tests against real servers: every test body runs on PostgreSQL and on
//! MySQL/MariaDB, each in a fresh database of its own.

mod common;

mod bad_input;
mod connect;
mod domain;
mod errors;
mod flow;
mod listen;
mod migrate;
mod phases;
mod pool;
mod proxy;
mod queries;
mod repo;
mod secrets;
mod session;
mod streaming;
mod tls;
mod transactions;
mod types;
