//! A script split into statements at `;`, the way each server's own client splits it: a `;`
//! inside a literal, a quoted name, a comment or a PostgreSQL dollar-quoted body does not end
//! a statement.

use super::lex::{skip, Hidden};
use crate::engine::Backend;

/// One statement of a script, from [`split_script`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// The statement's text, comments included, without the closing `;`.
    pub sql: String,
    /// 1-based line of its first character that is not blank or a comment.
    pub line: usize,
}

/// Splits `script` into its statements, for running them one at a time through the prepared
/// protocol (which takes one statement per call on both backends). A statement made only of
/// comments and blanks is dropped: the servers reject an empty query. MySQL's `/*! ... */`
/// comments, which the server runs (mysqldump writes them), count as statements.
pub fn split_script(backend: Backend, script: &str) -> Vec<ScriptStatement> {
    let b = script.as_bytes();
    let mut out = Vec::new();
    // Where the current statement began, and the line of its first significant byte.
    let mut from = 0;
    let mut first_line: Option<usize> = None;
    let mut line = 1;
    let mut i = 0;
    let count_lines = |from: usize, to: usize| b[from..to].iter().filter(|&&c| c == b'\n').count();
    while i < b.len() {
        let (end, significant) = match skip(b, i, backend) {
            Some((Hidden::Comment, end)) => (end, false),
            Some((Hidden::Quoted | Hidden::Executable, end)) => (end, true),
            None if b[i] == b';' => {
                if let Some(l) = first_line.take() {
                    out.push(statement(&script[from..i], l));
                }
                i += 1;
                from = i;
                continue;
            }
            None => (i + 1, !b[i].is_ascii_whitespace()),
        };
        if significant && first_line.is_none() {
            first_line = Some(line);
        }
        line += count_lines(i, end);
        i = end;
    }
    if let Some(l) = first_line {
        out.push(statement(&script[from..], l));
    }
    out
}

fn statement(text: &str, line: usize) -> ScriptStatement {
    ScriptStatement {
        sql: text.trim().to_owned(),
        line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(script: &str, backend: Backend) -> Vec<String> {
        split_script(backend, script)
            .into_iter()
            .map(|s| s.sql)
            .collect()
    }

    #[test]
    fn splits_at_semicolons_and_drops_empty_statements() {
        assert_eq!(
            sqls("SELECT 1; ;\n SELECT 2;  ", Backend::Postgres),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(sqls("SELECT 1", Backend::MySql), ["SELECT 1"]);
        assert!(sqls(" ;; -- only a comment\n", Backend::Postgres).is_empty());
    }

    #[test]
    fn quotes_and_comments_hide_semicolons() {
        let script = "INSERT INTO t VALUES ('a;b', \"c;d\"); -- x; y\nSELECT /* ; */ 2;";
        assert_eq!(
            sqls(script, Backend::Postgres),
            [
                "INSERT INTO t VALUES ('a;b', \"c;d\")",
                "-- x; y\nSELECT /* ; */ 2"
            ]
        );
        assert_eq!(
            sqls("SELECT 'it''s; fine'; SELECT 3", Backend::Postgres),
            ["SELECT 'it''s; fine'", "SELECT 3"]
        );
    }

    #[test]
    fn backslash_escapes_follow_the_dialect() {
        // MySQL: \' does not end the string.
        assert_eq!(
            sqls(r"SELECT 'a\';b'; SELECT 2", Backend::MySql),
            [r"SELECT 'a\';b'", "SELECT 2"]
        );
        // PostgreSQL: a backslash is ordinary in '...', an escape in E'...'.
        assert_eq!(
            sqls(r"SELECT 'a\'; SELECT 2", Backend::Postgres),
            [r"SELECT 'a\'", "SELECT 2"]
        );
        assert_eq!(
            sqls(r"SELECT E'a\';b'; SELECT 2", Backend::Postgres),
            [r"SELECT E'a\';b'", "SELECT 2"]
        );
    }

    #[test]
    fn mysql_comments_and_backticks() {
        assert_eq!(
            sqls("SELECT 1 # a; b\n; SELECT `x;y` FROM t", Backend::MySql),
            ["SELECT 1 # a; b", "SELECT `x;y` FROM t"]
        );
        // `--` without a following blank is not a comment in MySQL.
        assert_eq!(
            sqls("SELECT 1--1; SELECT 2", Backend::MySql),
            ["SELECT 1--1", "SELECT 2"]
        );
        // mysqldump's executable comments are statements.
        assert_eq!(
            sqls(
                "/*!40101 SET NAMES utf8mb4 */;
/* plain */;",
                Backend::MySql
            ),
            ["/*!40101 SET NAMES utf8mb4 */"]
        );
    }

    #[test]
    fn postgres_dollar_quotes_and_nested_comments() {
        let f = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql";
        assert_eq!(
            sqls(&format!("{f}; SELECT 2"), Backend::Postgres),
            [f, "SELECT 2"]
        );
        let g = "DO $body$ BEGIN PERFORM '$$;'; END $body$";
        assert_eq!(
            sqls(&format!("{g};SELECT 3;"), Backend::Postgres),
            [g, "SELECT 3"]
        );
        // $1 is a placeholder, a$b an identifier: neither opens a quote.
        assert_eq!(
            sqls("SELECT $1; SELECT a$b; SELECT 4", Backend::Postgres),
            ["SELECT $1", "SELECT a$b", "SELECT 4"]
        );
        assert_eq!(
            sqls("/* a /* b; */ c; */ SELECT 5; SELECT 6", Backend::Postgres),
            ["/* a /* b; */ c; */ SELECT 5", "SELECT 6"]
        );
    }

    #[test]
    fn reports_the_line_of_each_statement() {
        let stmts = split_script(Backend::Postgres, "\n-- header\nSELECT 1;\n\n  SELECT\n2;");
        assert_eq!(stmts[0].line, 3);
        assert_eq!(stmts[1].line, 5);
    }

    #[test]
    fn unterminated_quotes_keep_the_rest() {
        assert_eq!(sqls("SELECT 'a; b", Backend::Postgres), ["SELECT 'a; b"]);
        assert_eq!(
            sqls("SELECT $$ a; b", Backend::Postgres),
            ["SELECT $$ a; b"]
        );
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        assert_eq!(
            sqls("SELECT 'é;ü'; SELECT 'ø'", Backend::MySql),
            ["SELECT 'é;ü'", "SELECT 'ø'"]
        );
    }
}
