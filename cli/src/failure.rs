//! Why a command failed, as the exit code and the one line on stderr: every error ends here, so
//! the codes stay the same for every command.

use std::io::{self, Write};
use std::process::ExitCode;

use weir::Error;

pub const EXIT_DATABASE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_TIMEOUT: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Why the command failed: the exit code and the one line to print.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    pub fn context(self, what: &str) -> Self {
        Failure {
            code: self.code,
            message: format!("{what}: {}", self.message),
        }
    }
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
    }
}

/// Prints the failure as `error: ...` and gives its exit code.
pub fn fail(f: &Failure) -> ExitCode {
    let _ = writeln!(io::stderr(), "error: {}", one_line(&f.message));
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
}
