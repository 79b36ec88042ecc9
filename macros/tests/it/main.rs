//! The macros as users meet them: derives on real structs, read through weir's public API
//! (an `Entity`'s metadata, rows from a server).

mod common;

mod entity;
mod from_row;
mod rename;
