//! Tests on real replicated servers: a PostgreSQL primary + streaming replica and a MariaDB
//! primary + GTID replica, started by `scripts/replicas` (the script users run) once for this
//! binary and torn down by it when this process exits. Every test body runs on both backends,
//! but those of PgBouncer (in front of the PostgreSQL primary), which is PostgreSQL only.
//!
//! When the servers' binaries are missing the tests print SKIPPED, or fail under `CI=true`.

mod bed;
mod bouncer;
mod failover;
mod hosts;
