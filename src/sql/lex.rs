//! The lexical rules of both dialects, in one place: where a string literal, a quoted name, a
//! comment or a PostgreSQL dollar-quoted body begins and ends. Everything else is code. The
//! placeholder rewrite, the blank check, the session scan and the statement splitter all walk
//! SQL through [`skip`].

use crate::engine::Backend;

/// What a run of SQL that is not code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// A string literal, a quoted identifier or a dollar-quoted body.
    Quoted,
    /// A comment.
    Comment,
    /// MySQL's `/*! ... */` (mysqldump writes them): a comment to other servers, code that
    /// MySQL and MariaDB run.
    Executable,
}

/// If a literal, quoted name, comment or dollar-quoted body starts at byte `i` of `sql`, what it
/// is and the index just past it (the end of `sql` when it is not closed).
#[inline]
pub(crate) fn skip(sql: &[u8], i: usize, backend: Backend) -> Option<(Hidden, usize)> {
    let my = backend == Backend::MySql;
    let next = sql.get(i + 1).copied();
    match sql[i] {
        b'\'' => {
            let backslash = my || is_escape_string_prefix(sql, i);
            Some((Hidden::Quoted, quoted_end(sql, i, b'\'', backslash)))
        }
        b'"' => Some((Hidden::Quoted, quoted_end(sql, i, b'"', my))),
        b'`' => Some((Hidden::Quoted, quoted_end(sql, i, b'`', false))),
        b'-' if next == Some(b'-') && (!my || is_mysql_dash_comment(sql, i)) => {
            Some((Hidden::Comment, line_end(sql, i)))
        }
        b'#' if my => Some((Hidden::Comment, line_end(sql, i))),
        b'/' if next == Some(b'*') => {
            let kind = if my && sql.get(i + 2) == Some(&b'!') {
                Hidden::Executable
            } else {
                Hidden::Comment
            };
            Some((kind, block_comment_end(sql, i, !my)))
        }
        b'$' if !my => dollar_quote_end(sql, i).map(|end| (Hidden::Quoted, end)),
        _ => None,
    }
}

/// Whether `c` may be part of an identifier (any non-ASCII byte counts, as in both servers).
#[inline]
pub(crate) fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The index of the newline ending the line `start` is on (the end of `sql` on the last line).
fn line_end(sql: &[u8], start: usize) -> usize {
    sql[start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(sql.len(), |p| start + p)
}

/// MySQL starts a `--` comment only when a blank or control character follows (`1--1` is
/// arithmetic there).
fn is_mysql_dash_comment(sql: &[u8], i: usize) -> bool {
    sql.get(i + 2)
        .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// End (exclusive) of the block comment opening at `start`; PostgreSQL nests them.
fn block_comment_end(sql: &[u8], start: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < sql.len() {
        if sql[i] == b'/' && sql.get(i + 1) == Some(&b'*') {
            if depth == 0 || nested {
                depth += 1;
            }
            i += 2;
        } else if sql[i] == b'*' && sql.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    sql.len()
}

/// Whether the `'` at `i` opens a PostgreSQL escape string `E'...'` (the `E` being a token of
/// its own, not the end of an identifier).
fn is_escape_string_prefix(sql: &[u8], i: usize) -> bool {
    i >= 1 && matches!(sql[i - 1], b'e' | b'E') && (i < 2 || !is_ident_byte(sql[i - 2]))
}

/// End (exclusive) of the quoted run opening at `start`; a doubled quote is one quote, and with
/// `backslash` a backslash escapes the next byte.
fn quoted_end(sql: &[u8], start: usize, quote: u8, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < sql.len() {
        let c = sql[i];
        if backslash && c == b'\\' {
            i += 2;
        } else if c == quote {
            if sql.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    sql.len()
}

/// End (exclusive) of a dollar-quoted body `$tag$...$tag$` opening at `start`, or `None` when
/// the `$` opens no such quote (`$1`, or `$` inside an identifier).
fn dollar_quote_end(sql: &[u8], start: usize) -> Option<usize> {
    if start > 0 && is_ident_byte(sql[start - 1]) {
        return None;
    }
    let mut j = start + 1;
    while j < sql.len() && sql[j] != b'$' {
        let c = sql[j];
        let ok = c.is_ascii_alphabetic()
            || c == b'_'
            || c >= 0x80
            || (j > start + 1 && c.is_ascii_digit());
        if !ok {
            return None;
        }
        j += 1;
    }
    if j >= sql.len() {
        return None;
    }
    let tag = &sql[start..=j];
    let body = j + 1;
    Some(
        sql[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map_or(sql.len(), |p| body + p + tag.len()),
    )
}
