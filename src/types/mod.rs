//! Values in both directions: [`Encode`] for parameters, [`Decode`] for columns, and [`Value`]
//! for code that does not know the schema.
//!
//! One borrowed model, [`Param`], both ways: what a Rust value binds as, and what a backend hands
//! over for a column (no allocation), which each Rust type decodes once, for both backends; and
//! one owned model, [`Value`], for code that does not know the schema. Integers widen and narrow with a range check,
//! so `i32` reads a PostgreSQL `bigint` `COUNT(*)` and `i64` reads a MySQL `INT`.

mod array;
mod decode;
mod decode_extra;
mod encode;
mod numeric;
mod pgtext;
mod value;

pub use array::{ArrayCells, ArrayElement, EncodeArray};
pub use decode::{label, unknown_label, ColumnValue, Decode};
pub(crate) use encode::CopyRows;
pub use encode::{Encode, Param, ParamList, Params};
pub(crate) use numeric::pg_numeric_to_string;
pub(crate) use pgtext::inet as pg_inet_text;
pub use value::Value;
