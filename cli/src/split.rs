//! Splits a script into statements at `;`, the way the server's own client would.
//!
//! Both backends take one statement per call through weir's (prepared) protocol, so `weir exec`
//! runs a script one statement at a time. A `;` inside a string, a quoted identifier, a comment
//! or a PostgreSQL dollar-quoted body does not end a statement.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text, comments included, without the closing `;`.
    pub sql: String,
    /// 1-based line of its first character that is not blank or a comment.
    pub line: usize,
}

/// Which lexical rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: dollar quoting, nested block comments, backslash escapes only in `E'...'`.
    Postgres,
    /// MySQL/MariaDB: `#` comments, `--` only before a space, backslash escapes in strings.
    MySql,
}

/// Splits `script` into its non-empty statements; a statement made only of comments and blanks
/// is dropped (the servers reject an empty query).
pub fn split(script: &str, dialect: Dialect) -> Vec<Statement> {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    // Line of the first significant character of the current statement, if any yet.
    let mut first_line: Option<usize> = None;
    let mut line = 1;
    let mut i = 0;
    let my = dialect == Dialect::MySql;

    // Copies chars[from..to] into the statement, counting lines.
    let copy = |current: &mut String, line: &mut usize, from: usize, to: usize| {
        for &c in &chars[from..to] {
            if c == '\n' {
                *line += 1;
            }
            current.push(c);
        }
    };

    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = if c == '-' && next == Some('-') && (!my || is_mysql_dash_comment(&chars, i)) {
            // Line comment: up to (not including) the newline.
            let e = find_from(&chars, i, '\n').unwrap_or(chars.len());
            copy(&mut current, &mut line, i, e);
            i = e;
            continue;
        } else if c == '#' && my {
            let e = find_from(&chars, i, '\n').unwrap_or(chars.len());
            copy(&mut current, &mut line, i, e);
            i = e;
            continue;
        } else if c == '/' && next == Some('*') {
            // MySQL runs the body of `/*! ... */` (mysqldump writes them): not a mere comment.
            if my && chars.get(i + 2) == Some(&'!') && first_line.is_none() {
                first_line = Some(line);
            }
            let e = block_comment_end(&chars, i, !my);
            copy(&mut current, &mut line, i, e);
            i = e;
            continue;
        } else if c == ';' {
            if let Some(l) = first_line.take() {
                out.push(Statement {
                    sql: current.trim().to_owned(),
                    line: l,
                });
            }
            current.clear();
            i += 1;
            continue;
        } else if c == '\'' || c == '"' || c == '`' {
            let backslash = my && c != '`' || c == '\'' && is_escape_string_prefix(&chars, i);
            quoted_end(&chars, i, c, backslash)
        } else if c == '$' && !my {
            dollar_quote_end(&chars, i).unwrap_or(i + 1)
        } else {
            i + 1
        };
        if first_line.is_none() && !c.is_whitespace() {
            first_line = Some(line);
        }
        copy(&mut current, &mut line, i, end);
        i = end;
    }
    if let Some(l) = first_line {
        out.push(Statement {
            sql: current.trim().to_owned(),
            line: l,
        });
    }
    out
}

fn find_from(chars: &[char], from: usize, target: char) -> Option<usize> {
    chars[from..]
        .iter()
        .position(|&c| c == target)
        .map(|p| from + p)
}

/// MySQL starts a `--` comment only when a blank or control character follows (`1--1` is
/// arithmetic there).
fn is_mysql_dash_comment(chars: &[char], i: usize) -> bool {
    chars
        .get(i + 2)
        .is_none_or(|c| c.is_whitespace() || c.is_control())
}

/// End (exclusive) of the block comment opening at `start`; PostgreSQL nests them.
fn block_comment_end(chars: &[char], start: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            if depth == 0 || nested {
                depth += 1;
            }
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// Whether the `'` at `i` opens a PostgreSQL escape string `E'...'` (the `E` being a token of its
/// own, not the end of an identifier).
fn is_escape_string_prefix(chars: &[char], i: usize) -> bool {
    i >= 1 && matches!(chars[i - 1], 'e' | 'E') && (i < 2 || !is_ident_char(chars[i - 2]))
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// End (exclusive) of the quoted run opening at `start`; a doubled quote is one quote, and with
/// `backslash` a backslash escapes the next character. Unterminated: the rest of the input.
fn quoted_end(chars: &[char], start: usize, quote: char, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash && c == '\\' {
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    chars.len()
}

/// End (exclusive) of a dollar-quoted body `$tag$...$tag$` opening at `start`, or `None` when
/// the `$` opens no such quote (`$1`, or `$` inside an identifier).
fn dollar_quote_end(chars: &[char], start: usize) -> Option<usize> {
    if start > 0 && is_ident_char(chars[start - 1]) {
        return None;
    }
    let mut j = start + 1;
    while j < chars.len() && chars[j] != '$' {
        let c = chars[j];
        let ok = c.is_alphabetic() || c == '_' || (j > start + 1 && c.is_ascii_digit());
        if !ok {
            return None;
        }
        j += 1;
    }
    if j >= chars.len() {
        return None;
    }
    let tag = &chars[start..=j];
    let mut k = j + 1;
    while k + tag.len() <= chars.len() {
        if chars[k..k + tag.len()] == *tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqls(script: &str, dialect: Dialect) -> Vec<String> {
        split(script, dialect).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn splits_at_semicolons_and_drops_empty_statements() {
        assert_eq!(
            sqls("SELECT 1; ;\n SELECT 2;  ", Dialect::Postgres),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(sqls("SELECT 1", Dialect::MySql), ["SELECT 1"]);
        assert!(sqls(" ;; -- only a comment\n", Dialect::Postgres).is_empty());
    }

    #[test]
    fn quotes_and_comments_hide_semicolons() {
        let script = "INSERT INTO t VALUES ('a;b', \"c;d\"); -- x; y\nSELECT /* ; */ 2;";
        assert_eq!(
            sqls(script, Dialect::Postgres),
            [
                "INSERT INTO t VALUES ('a;b', \"c;d\")",
                "-- x; y\nSELECT /* ; */ 2"
            ]
        );
        assert_eq!(
            sqls("SELECT 'it''s; fine'; SELECT 3", Dialect::Postgres),
            ["SELECT 'it''s; fine'", "SELECT 3"]
        );
    }

    #[test]
    fn backslash_escapes_follow_the_dialect() {
        // MySQL: \' does not end the string.
        assert_eq!(
            sqls(r"SELECT 'a\';b'; SELECT 2", Dialect::MySql),
            [r"SELECT 'a\';b'", "SELECT 2"]
        );
        // PostgreSQL: a backslash is ordinary in '...', an escape in E'...'.
        assert_eq!(
            sqls(r"SELECT 'a\'; SELECT 2", Dialect::Postgres),
            [r"SELECT 'a\'", "SELECT 2"]
        );
        assert_eq!(
            sqls(r"SELECT E'a\';b'; SELECT 2", Dialect::Postgres),
            [r"SELECT E'a\';b'", "SELECT 2"]
        );
    }

    #[test]
    fn mysql_comments_and_backticks() {
        assert_eq!(
            sqls("SELECT 1 # a; b\n; SELECT `x;y` FROM t", Dialect::MySql),
            ["SELECT 1 # a; b", "SELECT `x;y` FROM t"]
        );
        // `--` without a following blank is not a comment in MySQL.
        assert_eq!(
            sqls("SELECT 1--1; SELECT 2", Dialect::MySql),
            ["SELECT 1--1", "SELECT 2"]
        );
        // mysqldump's executable comments are statements.
        assert_eq!(
            sqls(
                "/*!40101 SET NAMES utf8mb4 */;
/* plain */;",
                Dialect::MySql
            ),
            ["/*!40101 SET NAMES utf8mb4 */"]
        );
    }

    #[test]
    fn postgres_dollar_quotes_and_nested_comments() {
        let f = "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql";
        assert_eq!(
            sqls(&format!("{f}; SELECT 2"), Dialect::Postgres),
            [f, "SELECT 2"]
        );
        let g = "DO $body$ BEGIN PERFORM '$$;'; END $body$";
        assert_eq!(
            sqls(&format!("{g};SELECT 3;"), Dialect::Postgres),
            [g, "SELECT 3"]
        );
        // $1 is a placeholder, a$b an identifier: neither opens a quote.
        assert_eq!(
            sqls("SELECT $1; SELECT a$b; SELECT 4", Dialect::Postgres),
            ["SELECT $1", "SELECT a$b", "SELECT 4"]
        );
        assert_eq!(
            sqls("/* a /* b; */ c; */ SELECT 5; SELECT 6", Dialect::Postgres),
            ["/* a /* b; */ c; */ SELECT 5", "SELECT 6"]
        );
    }

    #[test]
    fn reports_the_line_of_each_statement() {
        let stmts = split("\n-- header\nSELECT 1;\n\n  SELECT\n2;", Dialect::Postgres);
        assert_eq!(stmts[0].line, 3);
        assert_eq!(stmts[1].line, 5);
    }

    #[test]
    fn unterminated_quotes_keep_the_rest() {
        assert_eq!(sqls("SELECT 'a; b", Dialect::Postgres), ["SELECT 'a; b"]);
        assert_eq!(
            sqls("SELECT $$ a; b", Dialect::Postgres),
            ["SELECT $$ a; b"]
        );
    }
}
