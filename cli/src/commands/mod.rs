//! One file per subcommand: its clap arguments and its `run`, which `main` dispatches to.

pub mod exec;
pub mod migrate;
pub mod ping;
pub mod query;
