//! The URL options: one table that both reads them ([`DatabaseConfig::from_url`]) and documents
//! them (`docs/url-options.md` is written from it, and a test keeps the two the same).

use std::path::PathBuf;

use super::url::{parse_duration, parse_number, parse_optional_duration};
use super::{CheckoutOrder, DatabaseConfig, LoadBalanceHosts, SslMode, TargetSessionAttrs};
use crate::error::Result;

/// One option of a database URL's query string (`?name=value&...`).
#[derive(Clone, Copy)]
pub struct UrlOption {
    /// Its name.
    pub name: &'static str,
    /// Other names it answers to (the spellings of libpq, sqlx or MySQL's clients).
    pub aliases: &'static [&'static str],
    /// What it takes.
    pub value: &'static str,
    /// Its default.
    pub default: &'static str,
    /// What it sets.
    pub meaning: &'static str,
    set: fn(&mut DatabaseConfig, &str, &str) -> Result<()>,
}

impl std::fmt::Debug for UrlOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlOption")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl UrlOption {
    /// The option called `key` (by its name or an alias).
    pub(super) fn find(key: &str) -> Option<&'static UrlOption> {
        URL_OPTIONS
            .iter()
            .find(|o| o.name == key || o.aliases.contains(&key))
    }

    /// Applies `value` to `config`; `key` is the name the URL used, for the error.
    pub(super) fn apply(&self, config: &mut DatabaseConfig, key: &str, value: &str) -> Result<()> {
        (self.set)(config, key, value)
    }
}

const DURATION: &str = "a duration: `500ms`, `30s`, `5m`, `1h` or seconds";
const OPTIONAL_DURATION: &str = "a duration, or `none`/`off`/`0` for none";

/// Every option [`DatabaseConfig::from_url`] understands.
pub const URL_OPTIONS: &[UrlOption] = &[
    UrlOption {
        name: "pool_max_size",
        aliases: &["max_connections"],
        value: "a whole number, at least 1",
        default: "10",
        meaning: "The most sessions the pool opens at once.",
        set: |c, k, v| {
            c.max_size = parse_number(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "pool_min_idle",
        aliases: &["min_connections"],
        value: "a whole number",
        default: "0",
        meaning: "Sessions kept open even when idle.",
        set: |c, k, v| {
            c.min_idle = parse_number(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "acquire_timeout",
        aliases: &[],
        value: DURATION,
        default: "30s",
        meaning: "How long a call waits for a connection, opening one included: `PoolTimeout` (saturated) or `Unreachable` (down) after it.",
        set: |c, k, v| {
            c.acquire_timeout = parse_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "connect_timeout",
        aliases: &[],
        value: DURATION,
        default: "10s",
        meaning: "How long opening one session may take.",
        set: |c, k, v| {
            c.connect_timeout = parse_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "idle_timeout",
        aliases: &[],
        value: OPTIONAL_DURATION,
        default: "10m",
        meaning: "Idle sessions past it are closed (down to `pool_min_idle`).",
        set: |c, k, v| {
            c.idle_timeout = parse_optional_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "max_lifetime",
        aliases: &[],
        value: OPTIONAL_DURATION,
        default: "30m",
        meaning: "Sessions older than it are closed when next idle.",
        set: |c, k, v| {
            c.max_lifetime = parse_optional_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "idle_check_after",
        aliases: &[],
        value: DURATION,
        default: "30s on PostgreSQL, 500ms on MySQL",
        meaning: "A session idle at least this long is pinged before it is handed out (`0`: on every checkout).",
        set: |c, k, v| {
            c.idle_check_after = parse_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "checkout_order",
        aliases: &[],
        value: "`lifo` or `fifo`",
        default: "lifo",
        meaning: "Which idle session goes out next: the most recently returned, or the one idle longest.",
        set: |c, _, v| {
            c.checkout_order = CheckoutOrder::parse(v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "cleanup_timeout",
        aliases: &[],
        value: DURATION,
        default: "5s",
        meaning: "How long cleaning up after a dropped call (a rollback, a cancel) and closing a session may take.",
        set: |c, k, v| {
            c.cleanup_timeout = parse_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "statement_timeout",
        aliases: &[],
        value: OPTIONAL_DURATION,
        default: "none",
        meaning: "One deadline over each whole call (permit, connection, statement); a statement still running then is cancelled on the server.",
        set: |c, k, v| {
            c.statement_timeout = parse_optional_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "statement_cache_capacity",
        aliases: &[],
        value: "a whole number",
        default: "256",
        meaning: "Prepared statements cached per session, the least recently used closed first. On PostgreSQL `0` runs unnamed statements and keeps none: the setting for a pooler in transaction mode (PgBouncer before 1.21).",
        set: |c, k, v| {
            c.statement_cache_capacity = parse_number(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "sslmode",
        aliases: &["ssl-mode", "ssl_mode"],
        value: "`disable`, `prefer`, `require`, `verify-ca` or `verify-full`",
        default: "prefer",
        meaning: "TLS, with libpq's meanings on both backends.",
        set: |c, _, v| {
            c.ssl_mode = SslMode::parse(&v.to_ascii_lowercase())?;
            Ok(())
        },
    },
    UrlOption {
        name: "sslrootcert",
        aliases: &["ssl_root_cert", "ssl-ca"],
        value: "a path to PEM certificates",
        default: "the Mozilla roots",
        meaning: "The roots a server's certificate must chain to.",
        set: |c, _, v| {
            c.ssl_root_cert = Some(PathBuf::from(v));
            Ok(())
        },
    },
    UrlOption {
        name: "application_name",
        aliases: &[],
        value: "text",
        default: "none",
        meaning: "The name the server shows for these sessions.",
        set: |c, _, v| {
            c.application_name = Some(v.to_owned());
            Ok(())
        },
    },
    UrlOption {
        name: "max_in_flight",
        aliases: &[],
        value: "a whole number, at least 1",
        default: "none",
        meaning: "Statements in flight across all lanes, apart from the pool size.",
        set: |c, k, v| {
            c.max_in_flight = Some(parse_number(k, v)?);
            Ok(())
        },
    },
    UrlOption {
        name: "target_session_attrs",
        aliases: &[],
        value: "`any`, `read-write`, `read-only`, `primary`, `standby` or `prefer-standby`",
        default: "any",
        meaning: "Which host of `h1:p1,h2:p2` a new session goes to, by the role it reports when opened (libpq's meanings; MySQL: `@@read_only` or `@@innodb_read_only` is a standby).",
        set: |c, _, v| {
            c.target_session_attrs = TargetSessionAttrs::parse(v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "load_balance_hosts",
        aliases: &[],
        value: "`disable` or `random`",
        default: "disable",
        meaning: "Whether hosts are tried in the order given or in a random order per new session.",
        set: |c, _, v| {
            c.load_balance_hosts = LoadBalanceHosts::parse(v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "slow_statement_threshold",
        aliases: &[],
        value: OPTIONAL_DURATION,
        default: "1s",
        meaning: "A call slower than it logs a WARN with its SQL (never parameter values), elapsed time, lane, pool and backend.",
        set: |c, k, v| {
            c.slow_statement_threshold = parse_optional_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "pool_name",
        aliases: &[],
        value: "text",
        default: "`host:port/database`",
        meaning: "The `pool` label of every metric, and the pool that warnings name.",
        set: |c, _, v| {
            c.pool_name = Some(v.to_owned());
            Ok(())
        },
    },
    UrlOption {
        name: "leak_detection_threshold",
        aliases: &[],
        value: OPTIONAL_DURATION,
        default: "60s",
        meaning: "A `Connection` or `Transaction` held longer logs a WARN naming the line that took it, then an INFO when it is returned.",
        set: |c, k, v| {
            c.leak_detection_threshold = parse_optional_duration(k, v)?;
            Ok(())
        },
    },
    UrlOption {
        name: "host",
        aliases: &["socket"],
        value: "a host name, or a path for a Unix socket",
        default: "the URL's host",
        meaning: "Where to connect, for hosts a URL's authority cannot hold (a socket directory on PostgreSQL, a socket file on MySQL).",
        set: |c, _, v| {
            if v.starts_with('/') {
                c.socket = Some(PathBuf::from(v));
            } else {
                c.host = v.to_owned();
            }
            Ok(())
        },
    },
];

/// The table as markdown, as `docs/url-options.md` holds it.
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out = String::from(
        "# URL options\n\n\
         `scheme://[user[:password]@]host[:port][/database][?option=value&...]`, with scheme \
         `postgres`, `postgresql`, `mysql` or `mariadb`. Written from the table in \
         `src/config/url_options.rs` by `WEIR_WRITE_DOCS=1 cargo test --lib url_options`; a test \
         fails when the two differ.\n\n\
         | option | also | value | default | what it sets |\n|---|---|---|---|---|\n",
    );
    for o in URL_OPTIONS {
        let also: Vec<String> = o.aliases.iter().map(|a| format!("`{a}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            o.name,
            also.join(", "),
            o.value,
            o.default,
            o.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/url-options.md is the table, written out: the list a user reads is the list the
    /// code reads.
    #[test]
    fn url_options_doc_is_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/url-options.md");
        if std::env::var_os("WEIR_WRITE_DOCS").is_some() {
            std::fs::write(path, markdown()).unwrap();
        }
        let written = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            written == markdown(),
            "{path} differs from the table in src/config/url_options.rs: run \
             `WEIR_WRITE_DOCS=1 cargo test --lib url_options` and commit the file"
        );
    }

    /// Every option the table lists is read by a URL, under its name and each alias.
    #[test]
    fn every_option_and_alias_is_read() {
        for o in URL_OPTIONS {
            for key in std::iter::once(&o.name).chain(o.aliases) {
                let value = match o.name {
                    "checkout_order" => "fifo",
                    "target_session_attrs" => "prefer-standby",
                    "load_balance_hosts" => "random",
                    "sslmode" => "disable",
                    "host" => "db.example",
                    "sslrootcert" | "application_name" => "x",
                    n if n.ends_with("timeout")
                        || n.ends_with("_after")
                        || n.ends_with("_threshold")
                        || n == "max_lifetime" =>
                    {
                        "2s"
                    }
                    _ => "3",
                };
                let url = format!("postgres://u@h/db?{key}={value}");
                assert!(DatabaseConfig::from_url(&url).is_ok(), "{url}");
            }
        }
    }
}
