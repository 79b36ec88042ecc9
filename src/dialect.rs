//! What differs in the SQL text between backends: placeholders and identifier quoting.
//!
//! weir takes `$1..$n` placeholders on both backends, as PostgreSQL and asyncpg write them. For
//! MySQL/MariaDB, which only know `?`, a small lexer rewrites them and records which parameter
//! goes to each `?`, so a number may repeat or come out of order. String literals, quoted
//! identifiers and comments are left alone. The rewrite is cached per SQL text.

// The rewrite serves MySQL only; a PostgreSQL-only build keeps it for its tests.
#![cfg_attr(not(feature = "mysql"), allow(dead_code))]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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

/// Rewrites `$n` placeholders to `?` for MySQL. With `refuse_question_marks`, a `?` outside
/// literals, quoted names and comments is an error: it would be taken as a placeholder on
/// MySQL and fail on PostgreSQL, where `?` is an operator.
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
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => i = skip_quoted(b, i, q),
            b'#' => i = skip_line(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                i = skip_line(b, i)
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = match sql[i + 2..].find("*/") {
                    Some(end) => i + 2 + end + 2,
                    None => b.len(),
                }
            }
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

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Returns the index just past the literal or quoted identifier opened at `start`.
fn skip_quoted(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && quote != b'`' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2; // doubled quote inside the literal
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

fn skip_line(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| start + p + 1)
}

/// Whether `sql` may leave state in its session that a later borrower of the connection would
/// inherit: session variables, temporary tables, prepared statements, cursors, session locks,
/// a transaction opened by hand. Such a connection is closed on return instead of reused.
///
/// MySQL and MariaDB also report most of these in their OK packets (weir turns
/// `session_track_state_change` on); this scan covers PostgreSQL, which reports nothing
/// comparable, and the session locks no server reports. It errs towards `true`: a false alarm
/// costs a reconnect, a miss leaks state.
///
/// # Errors
/// [`Error::InvalidStatement`] for a statement with nothing in it but white space, comments
/// and semicolons: PostgreSQL would answer it with nothing, MySQL with an error.
pub(crate) fn may_change_session(sql: &str) -> Result<bool> {
    // Runs on every statement, so it allocates nothing and reads the SQL once. The first word
    // is cut out by bytes, and only one starting with a letter some keyword below starts with
    // is compared at all: a SELECT costs two length checks.
    let rest = statement_start(sql);
    if rest.is_empty() || rest.starts_with(';') {
        check_not_blank(sql)?;
    }
    let end = rest
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(rest.len());
    // Cut at an ASCII byte, so `first` is whole characters.
    let (first, after) = rest.split_at(end);
    let is = |word: &str, name: &str| word.eq_ignore_ascii_case(name);
    let touches_session = match first.as_bytes().first().map(u8::to_ascii_uppercase) {
        Some(b'S') if is(first, "SET") => {
            // SET LOCAL and SET TRANSACTION end with the transaction they run in.
            !words(after)
                .next()
                .is_some_and(|w| is(w, "LOCAL") || is(w, "TRANSACTION"))
        }
        Some(b'C') if is(first, "CREATE") => words(after)
            .take(3)
            .any(|w| is(w, "TEMP") || is(w, "TEMPORARY")),
        Some(b'B' | b'D' | b'H' | b'L' | b'P' | b'R' | b'S' | b'U') => [
            "RESET",
            "PREPARE",
            "DEALLOCATE",
            "DECLARE",
            "LISTEN",
            "LOAD",
            "USE",
            "LOCK",
            "UNLOCK",
            "DISCARD",
            "BEGIN",
            "START",
            "DO",
            "HANDLER",
        ]
        .iter()
        .any(|name| is(first, name)),
        _ => false,
    };
    Ok(touches_session || calls_session_function(sql))
}

/// Whether `sql` holds nothing but white space, comments and semicolons (`#` comments on
/// MySQL only).
pub(crate) fn is_blank(backend: Backend, sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() || c == b';' => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => i = skip_line(b, i),
            b'#' if backend == Backend::MySql => i = skip_line(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = match sql[i + 2..].find("*/") {
                    Some(end) => i + 2 + end + 2,
                    None => b.len(),
                }
            }
            _ => return false,
        }
    }
    true
}

#[cold]
fn check_not_blank(sql: &str) -> Result<()> {
    // `#` counts as a comment here whatever the backend: on PostgreSQL a statement that
    // starts with one fails to parse anyway.
    if is_blank(Backend::MySql, sql) {
        return Err(Error::InvalidStatement(
            "the statement is empty (only white space, comments or semicolons)".into(),
        ));
    }
    Ok(())
}

/// Whether the SQL names `advisory_lock` (and its `pg_try_`/`_shared` kin), `set_config` or
/// `get_lock`. Each has an underscore, so only the few positions holding one are compared.
fn calls_session_function(text: &str) -> bool {
    let sql = text.as_bytes();
    let around = |i: usize, before: &str, after: &str| {
        i >= before.len()
            && sql[i - before.len()..i].eq_ignore_ascii_case(before.as_bytes())
            && sql
                .get(i + 1..i + 1 + after.len())
                .is_some_and(|a| a.eq_ignore_ascii_case(after.as_bytes()))
    };
    // `match_indices` on a char finds each underscore with memchr.
    text.match_indices('_').any(|(i, _)| {
        around(i, "advisory", "lock") || around(i, "set", "config") || around(i, "get", "lock")
    })
}

/// A statement from its first word on: past white space, comments and opening parentheses.
fn statement_start(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(after) = trimmed
            .strip_prefix("--")
            .or_else(|| trimmed.strip_prefix('#'))
        {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = trimmed.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return trimmed;
        }
    }
}

/// The words of `text`: runs of letters, digits and underscores.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
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
    fn blank_statements() {
        for sql in [
            "",
            "  ",
            ";",
            " ; ;",
            "-- c",
            "/* c */",
            "# c\n",
            "-- a\n/* b */;",
        ] {
            assert!(is_blank(Backend::MySql, sql), "{sql:?}");
            assert!(
                matches!(may_change_session(sql), Err(Error::InvalidStatement(_))),
                "{sql:?}"
            );
        }
        for sql in ["SELECT 1", "(SELECT 1)", "/* c */ SELECT 1", ";SELECT 1"] {
            assert!(!is_blank(Backend::MySql, sql), "{sql:?}");
            assert!(may_change_session(sql).is_ok(), "{sql:?}");
        }
        assert!(!is_blank(Backend::Postgres, "# c"));
    }

    #[test]
    fn cache_returns_same_rewrite() {
        let cache = RewriteCache::default();
        let a = cache.get("SELECT $1").unwrap();
        let b = cache.get("SELECT $1").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn spots_statements_that_change_the_session() {
        for sql in [
            "SET search_path TO x",
            "  set @a = 1",
            "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "CREATE TEMPORARY TABLE t (x int)",
            "create temp table t (x int)",
            "/* hi */ PREPARE p AS SELECT 1",
            "-- note\nLISTEN chan",
            "SELECT pg_advisory_lock(1)",
            "SELECT GET_LOCK('x', 0)",
            "SELECT set_config('a.b', 'c', false)",
            "BEGIN",
            "START TRANSACTION",
            "USE other",
            "LOCK TABLES t WRITE",
            "UNLOCK TABLES",
            "discard all",
            "((RESET ALL))",
            "HANDLER t OPEN",
            "DO 1",
        ] {
            assert!(may_change_session(sql).unwrap(), "{sql}");
        }
        for sql in [
            "SELECT id FROM users WHERE id = $1",
            "INSERT INTO settings (k) VALUES ('SET x')",
            "SET LOCAL statement_timeout = 5",
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "CREATE TABLE temperature (x int)",
            "SELECT pg_advisory_xact_lock(1)",
            "UPDATE t SET a = 1",
            "DELETE FROM t",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SETTLE",
            "",
            "/* unterminated",
        ] {
            assert!(!may_change_session(sql).unwrap_or(false), "{sql}");
        }
    }

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
