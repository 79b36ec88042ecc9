//! Values in both directions: [`Encode`] for parameters, [`Decode`] for columns, and [`Value`]
//! for code that does not know the schema.
//!
//! Each backend turns its wire value into a borrowed [`Cell`] (no allocation), and each Rust type
//! decodes from a `Cell` once, for both backends. Integers widen and narrow with a range check,
//! so `i32` reads a PostgreSQL `bigint` `COUNT(*)` and `i64` reads a MySQL `INT`.

mod decode;
mod encode;
mod numeric;
mod value;

pub use decode::{Cell, ColumnValue, Decode};
pub(crate) use encode::CopyRows;
pub use encode::{Encode, Param, ParamList, Params};
pub(crate) use numeric::pg_numeric_to_string;
pub use value::Value;
