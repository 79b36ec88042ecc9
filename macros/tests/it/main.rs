//! The macros as users meet them: derives on real structs, read through weir's public API
//! (an `Entity`'s metadata, rows from a server), and `embed_migrations!` on fixture folders.

mod common;

mod entity;
mod from_row;
mod migrations;
mod rename;
mod user_type;
