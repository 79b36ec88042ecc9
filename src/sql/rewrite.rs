//! `$n` placeholders rewritten to `?` for MySQL, which knows only `?`; the rewrite records which
//! parameter goes to each `?`, so a number may repeat or come out of order. Cached per SQL text.

// The rewrite serves MySQL only; a PostgreSQL-only build keeps it for its tests.
#![cfg_attr(not(feature = "mysql"), allow(dead_code))]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::lex::{is_ident_byte, skip};
use crate::engine::Backend;
use crate::error::{Error, Result};

/// SQL rewritten from `$n` to `?` placeholders.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rewritten {
    /// The SQL with `?` placeholders.
    pub(crate) sql: Box<str>,
    /// For each `?` in order, the zero-based index of the parameter it takes.
    pub(crate) order: Box<[u16]>,
    /// The highest `$n`: how many parameters the call must pass.
    pub(crate) param_count: usize,
}

/// Rewrites `$n` placeholders to `?` for MySQL. With `refuse_question_marks`, a `?` in code
/// (outside literals, quoted names and comments) is an error: it would be taken as a
/// placeholder on MySQL and fail on PostgreSQL, where `?` is an operator.
///
/// # Errors
/// [`Error::InvalidStatement`] for `$0`, a placeholder number past 65535, or a refused `?`.
pub(crate) fn rewrite_placeholders(sql: &str, refuse_question_marks: bool) -> Result<Rewritten> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut param_count = 0usize;
    let mut copied = 0; // bytes of `sql` already copied to `out`
    let mut i = 0;
    while i < b.len() {
        if let Some((_, end)) = skip(b, i, Backend::MySql) {
            i = end;
            continue;
        }
        match b[i] {
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit)
                && (i == 0 || !is_ident_byte(b[i - 1])) =>
            {
                let start = i;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: usize = sql[start + 1..i].parse().unwrap_or(usize::MAX);
                if n == 0 || n > usize::from(u16::MAX) {
                    return Err(Error::InvalidStatement(format!(
                        "invalid placeholder `{}`: placeholders run from $1 to $65535",
                        &sql[start..i]
                    )));
                }
                out.push_str(&sql[copied..start]);
                out.push('?');
                copied = i;
                order.push((n - 1) as u16);
                param_count = param_count.max(n);
            }
            b'?' if refuse_question_marks => {
                return Err(Error::InvalidStatement(
                    "`?` placeholders are not portable: write $1..$n, which weir sends to \
                     MySQL as `?` and PostgreSQL reads as they are"
                        .into(),
                ))
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    Ok(Rewritten {
        sql: out.into_boxed_str(),
        order: order.into_boxed_slice(),
        param_count,
    })
}

/// Caches placeholder rewrites by SQL text, so the hot path does not lex again.
#[derive(Debug, Default)]
pub(crate) struct RewriteCache {
    map: RwLock<HashMap<Box<str>, Arc<Rewritten>>>,
}

/// Beyond this many distinct statements (generated SQL, say) rewrites are no longer cached.
const REWRITE_CACHE_CAPACITY: usize = 4096;

impl RewriteCache {
    pub(crate) fn get(&self, sql: &str) -> Result<Arc<Rewritten>> {
        if let Ok(map) = self.map.read() {
            if let Some(hit) = map.get(sql) {
                return Ok(Arc::clone(hit));
            }
        }
        let rewritten = Arc::new(rewrite_placeholders(sql, true)?);
        if let Ok(mut map) = self.map.write() {
            if map.len() < REWRITE_CACHE_CAPACITY {
                map.insert(sql.into(), Arc::clone(&rewritten));
            }
        }
        Ok(rewritten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(sql: &str) -> (String, Vec<u16>, usize) {
        let r = rewrite_placeholders(sql, true).unwrap();
        (r.sql.into(), r.order.into(), r.param_count)
    }

    #[test]
    fn rewrites_in_order_repeated_and_out_of_order() {
        assert_eq!(
            rw("SELECT * FROM t WHERE a = $2 AND b = $1 OR c = $2"),
            (
                "SELECT * FROM t WHERE a = ? AND b = ? OR c = ?".into(),
                vec![1, 0, 1],
                2
            )
        );
        assert_eq!(rw("SELECT $10"), ("SELECT ?".into(), vec![9], 10));
    }

    #[test]
    fn leaves_literals_identifiers_and_comments_alone() {
        let sql = "SELECT '$1', 'it''s $2', 'a\\'$3', \"$4\", `co$5l`, x$6 -- $7\n, $1 # $8\n/* $9 */ FROM t";
        let (out, order, n) = rw(sql);
        assert_eq!(
            out,
            "SELECT '$1', 'it''s $2', 'a\\'$3', \"$4\", `co$5l`, x$6 -- $7\n, ? # $8\n/* $9 */ FROM t"
        );
        assert_eq!((order, n), (vec![0], 1));
    }

    #[test]
    fn double_dash_needs_whitespace_in_mysql() {
        assert_eq!(rw("SELECT 1--$1"), ("SELECT 1--?".into(), vec![0], 1));
    }

    #[test]
    fn rejects_dollar_zero() {
        assert!(matches!(
            rewrite_placeholders("SELECT $0", true),
            Err(Error::InvalidStatement(_))
        ));
    }

    #[test]
    fn refuses_question_marks_outside_literals_comments_and_names() {
        for sql in [
            "SELECT * FROM t WHERE a = ?",
            "SELECT $1, ?",
            "SELECT 1 -- c\n + ?",
        ] {
            assert!(
                matches!(rewrite_placeholders(sql, true), Err(Error::InvalidStatement(m)) if m.contains("$1..$n")),
                "{sql}"
            );
        }
        let quiet = "SELECT '?', \"?\", `?`, x -- ?\n # ?\n /* ? */ FROM t WHERE a = $1";
        assert_eq!(rewrite_placeholders(quiet, true).unwrap().param_count, 1);
        assert!(rewrite_placeholders("SELECT ?", false).is_ok());
    }

    #[test]
    fn cache_returns_same_rewrite() {
        let cache = RewriteCache::default();
        let a = cache.get("SELECT $1").unwrap();
        let b = cache.get("SELECT $1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }
}
