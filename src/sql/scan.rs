//! The session scan: whether a statement may leave state in its session, and whether it holds
//! any statement at all.

use super::lex::{skip, Hidden};
use crate::engine::Backend;
use crate::error::{Error, Result};

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
pub(crate) fn may_change_session(backend: Backend, sql: &str) -> Result<bool> {
    // Runs on every statement, so it allocates nothing and reads the SQL once. The first word
    // is cut out by bytes, and only one starting with a letter some keyword below starts with
    // is compared at all: a SELECT costs two length checks.
    let rest = statement_start(backend, sql);
    if rest.is_empty() || rest.starts_with(';') {
        check_not_blank(backend, sql)?;
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

/// Whether `sql` holds nothing but white space, comments and semicolons.
pub(crate) fn is_blank(backend: Backend, sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() || b[i] == b';' {
            i += 1;
            continue;
        }
        match skip(b, i, backend) {
            Some((Hidden::Comment, end)) => i = end,
            _ => return false,
        }
    }
    true
}

#[cold]
fn check_not_blank(backend: Backend, sql: &str) -> Result<()> {
    if is_blank(backend, sql) {
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
fn statement_start(backend: Backend, sql: &str) -> &str {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() || b[i] == b'(' {
            i += 1;
            continue;
        }
        match skip(b, i, backend) {
            Some((Hidden::Comment, end)) => i = end,
            // MySQL runs what `/*!NNNNN` holds: the statement starts inside it.
            Some((Hidden::Executable, _)) => {
                i += 3;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    // `i` follows an ASCII byte, a comment's closing `*/`, or sits on a newline: a boundary.
    sql.get(i..).unwrap_or("")
}

/// The words of `text`: runs of letters, digits and underscores.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(may_change_session(Backend::MySql, sql).unwrap(), "{sql}");
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
            assert!(
                !may_change_session(Backend::MySql, sql).unwrap_or(false),
                "{sql}"
            );
        }
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
                matches!(
                    may_change_session(Backend::MySql, sql),
                    Err(Error::InvalidStatement(_))
                ),
                "{sql:?}"
            );
        }
        for sql in ["SELECT 1", "(SELECT 1)", "/* c */ SELECT 1", ";SELECT 1"] {
            assert!(!is_blank(Backend::MySql, sql), "{sql:?}");
            assert!(may_change_session(Backend::MySql, sql).is_ok(), "{sql:?}");
        }
        assert!(!is_blank(Backend::Postgres, "# c"));
    }

    #[test]
    fn postgres_comments_are_postgres_comments() {
        // MySQL runs what `/*!` holds (mysqldump's lines): a statement, not a blank one.
        let dump = "/*!40101 SET NAMES utf8mb4 */";
        assert!(!is_blank(Backend::MySql, dump));
        assert!(may_change_session(Backend::MySql, dump).unwrap());
        assert!(is_blank(Backend::Postgres, "/*!40101 SET NAMES utf8mb4 */"));
        let sql = "/* a /* nested */ b */ SET x = 1";
        assert!(may_change_session(Backend::Postgres, sql).unwrap());
        // MySQL does not nest comments: the statement starts at `b`.
        assert!(!may_change_session(Backend::MySql, sql).unwrap());
    }
}
