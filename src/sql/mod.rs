//! SQL text: the one lexer of both dialects and what is built on it. `$n` placeholders rewritten
//! to `?` for MySQL (and `?` refused there), the session scan of each statement, blank
//! statements, a script split into statements, and identifier quoting.
//!
//! weir takes `$1..$n` placeholders on both backends, as PostgreSQL and asyncpg write them.

mod lex;
mod rewrite;
mod scan;
mod split;

#[cfg(feature = "postgres")]
pub(crate) use rewrite::rewrite_placeholders;
#[cfg(feature = "mysql")]
pub(crate) use rewrite::{RewriteCache, Rewritten};
pub(crate) use scan::{is_blank, may_change_session};
pub use split::{split_script, ScriptStatement};

use crate::engine::Backend;
use crate::error::{Error, Result};

/// Quotes an identifier (table, column, database name) for `backend`.
///
/// PostgreSQL gets `"name"`, MySQL/MariaDB `` `name` ``, with embedded quote characters doubled.
///
/// # Errors
/// [`Error::Config`] for an empty name or one containing NUL, which no server accepts.
pub fn quote_identifier(backend: Backend, name: &str) -> Result<String> {
    if name.is_empty() || name.contains('\0') {
        return Err(Error::Config(format!(
            "invalid identifier {name:?}: empty or contains NUL"
        )));
    }
    let q = match backend {
        Backend::Postgres => '"',
        Backend::MySql => '`',
    };
    let mut out = String::with_capacity(name.len() + 2);
    out.push(q);
    for c in name.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_per_backend() {
        assert_eq!(
            quote_identifier(Backend::Postgres, "we\"ird").unwrap(),
            "\"we\"\"ird\""
        );
        assert_eq!(
            quote_identifier(Backend::MySql, "we`ird").unwrap(),
            "`we``ird`"
        );
        assert!(quote_identifier(Backend::MySql, "a\0b").is_err());
    }
}
