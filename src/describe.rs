//! What [`Executor::describe`](crate::Executor::describe) tells of a statement: its parameter
//! types and result columns, as the server prepared it, without running it.

/// A statement as the server prepared it: its parameters and its result columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Description {
    /// The parameters `$1..$n`, in order.
    pub params: Vec<ParamDescription>,
    /// The result columns, in order; empty for a statement that returns no rows.
    pub columns: Vec<ColumnDescription>,
}

/// One parameter of a described statement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamDescription {
    /// The SQL type the server expects, as it names it (`int8`, `text`). MySQL and MariaDB
    /// type a parameter only when it is bound, and say `NULL` here.
    pub sql_type: String,
}

/// One result column of a described statement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnDescription {
    /// The column's name (or alias).
    pub name: String,
    /// The SQL type as the server names it (`int4`, `VARCHAR`, ...), as in
    /// [`Column::sql_type`](crate::Column::sql_type).
    pub sql_type: String,
    /// Whether the column may be NULL, where the server says: PostgreSQL knows it for a
    /// column read straight from a table (from its `NOT NULL`), MySQL and MariaDB for every
    /// column; `None` when unknown. A column of the nullable side of an outer join may still
    /// be NULL when its table says `NOT NULL`.
    pub nullable: Option<bool>,
}

impl Description {
    /// A description, for the adapters.
    pub(crate) fn new(params: Vec<ParamDescription>, columns: Vec<ColumnDescription>) -> Self {
        Description { params, columns }
    }
}

impl ParamDescription {
    /// A parameter of type `sql_type`.
    pub(crate) fn new(sql_type: String) -> Self {
        ParamDescription { sql_type }
    }
}

impl ColumnDescription {
    /// A column, for the adapters.
    pub(crate) fn new(name: String, sql_type: String, nullable: Option<bool>) -> Self {
        ColumnDescription {
            name,
            sql_type,
            nullable,
        }
    }
}
