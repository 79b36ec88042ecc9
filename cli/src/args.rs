//! Arguments that more than one command takes (`-p` parameters, `--timeout`), parsed the same way
//! wherever they appear.

use std::time::Duration;

use clap::Args;
use weir::Param;

#[derive(Args)]
pub struct ParamArgs {
    /// A parameter for $1, $2, ... in order (repeat -p). The server's type for the parameter
    /// decides how the text is read. `NULL` binds NULL; `\NULL` binds the text `NULL`.
    #[arg(
        short = 'p',
        long = "param",
        value_name = "VALUE",
        allow_hyphen_values = true
    )]
    pub values: Vec<String>,
}

/// Command-line text as parameters: the server's type for each decides how it is read.
pub fn bind(values: &[String]) -> Vec<Param<'_>> {
    values
        .iter()
        .map(|v| {
            if v == "NULL" {
                Param::Null
            } else if v.starts_with('\\') && v.trim_start_matches('\\') == "NULL" {
                // `\NULL` is the text NULL; each further backslash stands for itself.
                Param::Untyped(&v[1..])
            } else {
                Param::Untyped(v)
            }
        })
        .collect()
}

/// `500ms`, `2s`, `1.5s`, `5m`, `1h` or plain seconds, as in the URL options.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = weir::parse_duration("--timeout", s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

/// A duration the way the URL options spell it.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 || ms == 0 {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        if s % 3600 == 0 {
            format!("{}h", s / 3600)
        } else if s % 60 == 0 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_timeout("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_timeout("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_timeout("5m"), Ok(Duration::from_secs(300)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("0s").is_err());
        assert_eq!(human(Duration::from_millis(300)), "300ms");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
    }

    #[test]
    fn null_and_its_escape() {
        let v: Vec<String> = ["NULL", "\\NULL", "\\\\NULL", "null", "x"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            bind(&v),
            [
                Param::Null,
                Param::Untyped("NULL"),
                Param::Untyped("\\NULL"),
                Param::Untyped("null"),
                Param::Untyped("x")
            ]
        );
    }
}
