//! Settings from a URL:
//! `scheme://[user[:password]@]host[:port][,host[:port]...][/database][?option=value&...]`.

use std::time::Duration;

use super::url_options::{UrlOption, URL_OPTIONS};
use super::{DatabaseConfig, Secret};
use crate::engine::Backend;
use crate::error::{Error, Result};

impl DatabaseConfig {
    /// Parses `postgres://`, `postgresql://`, `mysql://` or `mariadb://` URLs:
    /// `scheme://[user[:password]@]host[:port][,host[:port]...][/database][?option=value&...]`.
    /// With several hosts, `target_session_attrs` says which one a new session may go to.
    ///
    /// Options: see [`URL_OPTIONS`] (and docs/url-options.md, written from it); durations take
    /// `500ms`, `30s`, `5m`, `1h` or plain seconds.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing or unknown scheme, a bad port, bad percent-escapes, an
    /// unknown option or an invalid option value. The message never contains the password.
    pub fn from_url(url: &str) -> Result<Self> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            Error::Config("URL has no scheme: expected postgres://... or mysql://...".into())
        })?;
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            other => {
                return Err(Error::Config(format!(
                    "unsupported URL scheme `{other}` (expected postgres, postgresql, mysql or mariadb)"
                )))
            }
        };
        // With no `@` before the first `/` or `?` but one after it, the `@` most likely ends
        // credentials holding an unescaped `/` or `?`: the pieces parsed below would be parts
        // of the password, so no error may echo them.
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(authority_end);
        let ambiguous = !authority.contains('@') && after.contains('@');
        let credentials_split = || {
            Error::Config(
                "the URL has an `@` after its host: if the user name or password holds `/`, `?` \
                 or `@`, percent-encode them (%2F, %3F, %40); an `@` in the database name or an \
                 option's name must be %40 too"
                    .into(),
            )
        };
        if ambiguous && at_outside_option_values(after) {
            return Err(credentials_split());
        }
        Self::from_url_parts(backend, rest)
            .map_err(|e| if ambiguous { credentials_split() } else { e })
    }

    fn from_url_parts(backend: Backend, rest: &str) -> Result<Self> {
        let mut cfg = DatabaseConfig::new(backend);
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        // The last '@' separates credentials: a password may contain an unescaped '@'.
        let hostport = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                let (user, pass) = match userinfo.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (userinfo, None),
                };
                if !user.is_empty() {
                    cfg.user = decode(user, "user name")?;
                }
                if let Some(p) = pass {
                    cfg.password = Some(Secret(decode(p, "password")?));
                }
                hostport
            }
            None => authority,
        };
        // `h1:5432,h2:5433`: a list of hosts, each with its own port or the default one.
        let default_port = cfg.port;
        let mut pieces = hostport.split(',');
        let (host, port) = split_host_port(pieces.next().unwrap_or_default())?;
        for piece in pieces {
            let (h, p) = split_host_port(piece)?;
            if h.is_empty() || host.is_empty() {
                return Err(Error::Config(
                    "the URL's host list has an empty host (`h1,,h2`, or a comma at an end)".into(),
                ));
            }
            let p = p.map(parse_port).transpose()?.unwrap_or(default_port);
            cfg.more_hosts.push((decode(h, "host")?, p));
        }
        // `scheme:///db` and `scheme://user@/db` leave the host to its default (or to a
        // `host=` option), as libpq does; an empty host before a port is a typo.
        let empty_host = host.is_empty() && port.is_some();
        if !host.is_empty() {
            cfg.host = decode(host, "host")?;
        }
        if let Some(p) = port {
            cfg.port = parse_port(p)?;
        }
        if let Some(db) = path.filter(|p| !p.is_empty()) {
            cfg.database = Some(decode(db, "database name")?);
        }
        let mut host_given = false;
        for pair in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value, key)?;
            host_given |= matches!(key, "host" | "socket");
            cfg = cfg.apply_option(key, &value)?;
        }
        if empty_host && !host_given {
            return Err(Error::Config(
                "the URL's host is empty (`user@:port`): name a host, or give `host=` or `socket=`"
                    .into(),
            ));
        }
        Ok(cfg)
    }

    fn apply_option(mut self, key: &str, value: &str) -> Result<Self> {
        let Some(option) = UrlOption::find(key) else {
            let known: Vec<&str> = URL_OPTIONS.iter().map(|o| o.name).collect();
            return Err(Error::Config(format!(
                "unknown URL option `{key}` (known: {}; see docs/url-options.md)",
                known.join(", ")
            )));
        };
        option.apply(&mut self, key, value)?;
        Ok(self)
    }
}

/// Whether an `@` in what follows a URL's host sits in the path or in an option's name, where
/// none belongs, rather than in an option's value (`application_name=svc@host`).
fn at_outside_option_values(after_authority: &str) -> bool {
    let (path, query) = after_authority
        .split_once('?')
        .unwrap_or((after_authority, ""));
    path.contains('@')
        || query.split('&').any(|pair| {
            pair.split_once('=')
                .map_or(pair, |(key, _)| key)
                .contains('@')
        })
}

fn decode(s: &str, what: &str) -> Result<String> {
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(s).collect();
    // A stray '%' that is not followed by two hex digits passes through percent_decode: refuse
    // it, since the user almost certainly meant something else.
    let b = s.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            // Never echo a password back, even in part.
            let shown = if what == "password" { "***" } else { s };
            return Err(Error::Config(format!(
                "bad percent-escape in {what} `{shown}`"
            )));
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| Error::Config(format!("{what} is not valid UTF-8 after percent-decoding")))
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| Error::Config(format!("unclosed `[` in host `{s}`")))?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(Error::Config(format!(
                "unexpected `{after}` after host `[{host}]`"
            ))),
        };
    }
    if s.matches(':').count() > 1 {
        return Err(Error::Config(format!(
            "host `{s}` looks like an IPv6 address: write it in brackets, as `[{s}]` or `[::1]:5432`"
        )));
    }
    Ok(match s.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

fn parse_port(p: &str) -> Result<u16> {
    match p.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(Error::Config(format!("port {n} is out of range 1-65535"))),
        Err(_) => Err(Error::Config(format!("port `{p}` is not a number"))),
    }
}

pub(super) fn parse_number(key: &str, value: &str) -> Result<usize> {
    value
        .parse()
        .map_err(|_| Error::Config(format!("option {key}: `{value}` is not a whole number")))
}

/// Parses a duration as the URL options take it: `500ms`, `30s`, `5m`, `1h` or plain seconds.
/// `key` names the setting in the error.
///
/// # Errors
/// [`Error::Config`] naming `key` for anything else (negative, unknown unit, overflow).
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let bad = || {
        Error::Config(format!(
            "option {key}: `{value}` is not a duration (use e.g. 500ms, 30s, 5m, 1h)"
        ))
    };
    let v = value.trim();
    let split = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

pub(super) fn parse_optional_duration(key: &str, value: &str) -> Result<Option<Duration>> {
    match value {
        "" | "none" | "off" | "0" => Ok(None),
        v => parse_duration(key, v).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SslMode;

    #[test]
    fn parses_full_url() {
        let c = DatabaseConfig::from_url(
            "postgres://app:s%40cret@db.example:6543/shop?pool_max_size=4&acquire_timeout=250ms&sslmode=require&application_name=svc",
        )
        .unwrap();
        assert_eq!(c.backend, Backend::Postgres);
        assert_eq!(
            (c.user.as_str(), c.host.as_str(), c.port),
            ("app", "db.example", 6543)
        );
        assert_eq!(c.password.as_ref().unwrap().0, "s@cret");
        assert_eq!(c.database.as_deref(), Some("shop"));
        assert_eq!(c.max_size, 4);
        assert_eq!(c.acquire_timeout, Duration::from_millis(250));
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert!(!format!("{c:?}").contains("s@cret"));
    }

    #[test]
    fn mariadb_scheme_and_ipv6() {
        let c = DatabaseConfig::from_url("mariadb://root@[::1]:3307/test").unwrap();
        assert_eq!(c.backend, Backend::MySql);
        assert_eq!((c.host.as_str(), c.port), ("::1", 3307));
        assert_eq!(c.target(), "[::1]:3307");
    }

    #[test]
    fn rejects_bad_input_with_distinct_messages() {
        let cases = [
            ("127.0.0.1:5432/test", "no scheme"),
            ("redis://x/y", "unsupported URL scheme"),
            ("postgres://h:99999/db", "out of range"),
            ("postgres://h:abc/db", "not a number"),
            (
                "postgres://u:p%zz@h/db",
                "bad percent-escape in password `***`",
            ),
            (
                "postgres://h/db?frobnicate=1",
                "unknown URL option `frobnicate`",
            ),
            ("postgres://h/db?acquire_timeout=soon", "not a duration"),
            ("postgres://h/db?sslmode=maybe", "invalid sslmode"),
        ];
        for (url, want) in cases {
            let err = DatabaseConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err}");
            assert!(!err.contains("p%zz"), "{err}");
        }
    }

    #[test]
    fn validate_rejects_inconsistent_pool() {
        let c = DatabaseConfig::new(Backend::MySql)
            .with_max_size(2)
            .with_min_idle(3);
        assert!(matches!(c.validate(), Err(Error::Config(_))));
        let c = DatabaseConfig::new(Backend::MySql).with_max_size(0);
        assert!(matches!(c.validate(), Err(Error::Config(_))));
    }

    /// A host list keeps each host's port (or the default), brackets included; the options
    /// that pick among them are read.
    #[test]
    fn host_lists() {
        let c = DatabaseConfig::from_url(
            "postgres://u:pw@h1:5433,[::1],h3:6000/db?target_session_attrs=read-write&load_balance_hosts=random",
        )
        .unwrap();
        assert_eq!(c.hosts(), [("h1", 5433), ("::1", 5432), ("h3", 6000)]);
        assert_eq!(c.target(), "h1:5433,[::1]:5432,h3:6000");
        assert_eq!(
            c.target_session_attrs(),
            crate::TargetSessionAttrs::ReadWrite
        );
        assert_eq!(c.load_balance_hosts(), crate::LoadBalanceHosts::Random);
        assert_eq!(c.per_host().len(), 3);
        assert_eq!(c.per_host()[1].target(), "[::1]:5432");
        let c = DatabaseConfig::from_url("mysql://u@a,b:3307/db").unwrap();
        assert_eq!(c.hosts(), [("a", 3306), ("b", 3307)]);
        for (url, want) in [
            ("postgres://u@h1,,h2/db", "empty host"),
            ("postgres://u@h1,/db", "empty host"),
            ("postgres://u@,h2/db", "empty host"),
            ("postgres://u@h1,h2:x/db", "not a number"),
            (
                "postgres://u@h1,h2/db?target_session_attrs=master",
                "invalid target_session_attrs",
            ),
            (
                "postgres://u@h1/db?load_balance_hosts=yes",
                "invalid load_balance_hosts",
            ),
        ] {
            let err = DatabaseConfig::from_url(url).unwrap_err().to_string();
            assert!(err.contains(want), "{url}: {err}");
        }
        let err = DatabaseConfig::from_url("postgres://u:secret@h1,h2/db?target_session_attrs=x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("k", "2m").unwrap(), Duration::from_secs(120));
        assert_eq!(
            parse_duration("k", "1.5").unwrap(),
            Duration::from_millis(1500)
        );
        assert!(parse_duration("k", "-1s").is_err());
    }
}
