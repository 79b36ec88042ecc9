//! Why a command failed, as the exit code and the one line on stderr: every error ends here, so
//! the codes stay the same for every command.

use std::io::{self, Write};
use std::process::ExitCode;

use weir::Error;

pub const EXIT_DATABASE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TIMEOUT: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why the command failed: the exit code, the one line to print, and what to show under it.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// Where in the statement, as psql shows it: the line, and a caret under the place.
    pub detail: Option<String>,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
            detail: None,
        }
    }

    pub fn context(self, what: &str) -> Self {
        Failure {
            message: format!("{what}: {}", self.message),
            ..self
        }
    }

    /// The failure of statement `sql`, with the place the server pointed at, if it did.
    pub fn from_statement(e: Error, sql: &str) -> Self {
        let position = e.as_database_error().and_then(|d| d.position);
        let mut f = Failure::from(e);
        f.detail = position.and_then(|p| caret(sql, p));
        f
    }
}

/// The line of `sql` holding 1-based character `position`, and a caret under it, as psql
/// shows a syntax error: `LINE 1: SELECT * FORM t` over `                 ^`.
fn caret(sql: &str, position: u32) -> Option<String> {
    let at = usize::try_from(position).ok()?.checked_sub(1)?;
    let (mut line_no, mut line_start, mut column) = (1, 0, 0);
    // One place past the last character: PostgreSQL's "at end of input" points there.
    let places = sql.char_indices().map(Some).chain(std::iter::once(None));
    for (i, place) in places.enumerate() {
        if i == at {
            let line = sql[line_start..].lines().next().unwrap_or("");
            let prefix = format!("LINE {line_no}: ");
            return Some(format!(
                "{prefix}{line}\n{}^",
                " ".repeat(prefix.chars().count() + column)
            ));
        }
        let Some((byte, c)) = place else { break };
        if c == '\n' {
            line_no += 1;
            line_start = byte + 1;
            column = 0;
        } else {
            column += 1;
        }
    }
    None
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Config(_) | Error::ParamCount { .. } => EXIT_USAGE,
            // An unreachable server is a connection failure, not a slow statement.
            Error::Unreachable { .. } => EXIT_DATABASE,
            e if e.is_timeout() || is_statement_timeout(e) => EXIT_TIMEOUT,
            _ => EXIT_DATABASE,
        };
        Failure {
            code,
            message: e.to_string(),
            detail: None,
        }
    }
}

/// The server stopped the statement at a limit of its own (`max_statement_time` set in the
/// server's configuration, say).
fn is_statement_timeout(e: &Error) -> bool {
    e.as_database_error().is_some_and(|d| match d.number {
        // MariaDB max_statement_time; MySQL max_execution_time.
        Some(n) => n == 1969 || n == 3024,
        None => d.sqlstate == "57014" && d.message.contains("statement timeout"),
    })
}

pub fn output_error(e: io::Error) -> Failure {
    Failure {
        code: EXIT_DATABASE,
        message: format!("writing output: {e}"),
        detail: None,
    }
}

/// Prints the failure as `error: ...` and gives its exit code.
pub fn fail(f: &Failure) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {}", one_line(&f.message));
    if let Some(detail) = &f.detail {
        let _ = writeln!(io::stderr(), "{detail}");
    }
    ExitCode::from(f.code)
}

/// Server messages may span lines (MySQL quotes the SQL near an error): keep errors to one.
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line() {
        assert_eq!(
            one_line("near 'x\n  y' at line 2\n"),
            "near 'x y' at line 2"
        );
    }

    #[test]
    fn caret_marks_the_place_and_the_end_of_input() {
        assert_eq!(
            caret("SELECT 1\nFORM t", 10).as_deref(),
            Some("LINE 2: FORM t\n        ^")
        );
        // "syntax error at end of input" points one past the last character.
        assert_eq!(
            caret("SELECT 1 +", 11).as_deref(),
            Some("LINE 1: SELECT 1 +\n                  ^")
        );
        assert_eq!(caret("SELECT 1 +", 12), None);
    }
}
