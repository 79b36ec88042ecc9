//! Fresh databases for integration tests, on a real server.
//!
//! Where the server comes from, in order: `WEIR_TEST_PG_URL` / `WEIR_TEST_MYSQL_URL`; the local
//! servers (`postgres://postgres@127.0.0.1:5432/postgres`, `mysql://root@127.0.0.1:3306/test`);
//! with the `testcontainers` feature and a Docker engine, a container (postgres:16, mysql:8.4)
//! started once per test process. Each [`TestDatabase`] is a new, uniquely named database, so
//! tests run in parallel without seeing each other's tables. A [`ThrowawayPostgres`] is a server
//! of its own, started from the installed binaries for as long as it lives.

mod throwaway;

use std::sync::atomic::{AtomicU32, Ordering};

pub use throwaway::ThrowawayPostgres;

use crate::config::DatabaseConfig;
use crate::database::Database;
use crate::engine::Backend;
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::sql::quote_identifier;

/// The environment variable naming the test server for `backend`.
pub fn env_var(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "WEIR_TEST_PG_URL",
        Backend::MySql => "WEIR_TEST_MYSQL_URL",
    }
}

/// The local server tried when the environment names none.
pub fn default_url(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
        Backend::MySql => "mysql://root@127.0.0.1:3306/test?sslmode=disable",
    }
}

/// How to point the tests at a server, for messages when none answers.
pub fn how_to_provide(backend: Backend) -> String {
    format!(
        "no {backend} server reachable for tests: set {} to a server URL, start the local server \
         (see README), run `docker compose up -d`, or enable weir's `testcontainers` feature \
         with a running Docker engine",
        env_var(backend)
    )
}

/// A uniquely named database on a test server, dropped by [`TestDatabase::cleanup`].
#[derive(Debug)]
pub struct TestDatabase {
    db: Database,
    admin: Database,
    name: String,
    config: DatabaseConfig,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    /// Creates a fresh database named after `test_name` and connects a small pool to it.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Unreachable`] when no server answers (see
    /// [`how_to_provide`]); the server's error if `CREATE DATABASE` fails.
    pub async fn create(backend: Backend, test_name: &str) -> Result<TestDatabase> {
        let server = server_config(backend).await?;
        let admin = Database::connect_with(server.clone().with_max_size(1)).await?;
        let name = database_name(test_name);
        let quoted = quote_identifier(backend, &name)?;
        admin
            .execute(&format!("CREATE DATABASE {quoted}"), ())
            .await?;
        let config = server.with_database(name.clone()).with_max_size(4);
        let db = Database::connect_with(config.clone()).await?;
        Ok(TestDatabase {
            db,
            admin,
            name,
            config,
        })
    }

    /// The pool connected to the fresh database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The fresh database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Settings for connecting to the fresh database, e.g. with other pool limits.
    pub fn config(&self) -> DatabaseConfig {
        self.config.clone()
    }

    /// Closes the pool and drops the database.
    ///
    /// # Errors
    /// The server's error if `DROP DATABASE` fails.
    pub async fn cleanup(self) -> Result<()> {
        self.db.close(std::time::Duration::from_secs(5)).await;
        let quoted = quote_identifier(self.config.backend, &self.name)?;
        let sql = match self.config.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
            Backend::MySql => format!("DROP DATABASE IF EXISTS {quoted}"),
        };
        self.admin.execute(&sql, ()).await?;
        self.admin.close(std::time::Duration::from_secs(1)).await;
        Ok(())
    }
}

/// `weir_<test>_<pid>_<n>`, lower case, within both servers' 63-character limit.
fn database_name(test_name: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let mut stem: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    stem.truncate(63 - "weir_".len() - suffix.len());
    format!("weir_{stem}{suffix}")
}

/// The server to create test databases on, from the environment, the local default, or a
/// container.
///
/// # Errors
/// An error saying how to provide a server when none answers.
pub async fn server_config(backend: Backend) -> Result<DatabaseConfig> {
    if let Ok(url) = std::env::var(env_var(backend)) {
        let config = DatabaseConfig::from_url(&url)?;
        probe(&config).await?;
        return Ok(config);
    }
    let local = DatabaseConfig::from_url(default_url(backend))?;
    // A quick answer on whether a local server is there; the tests then get the default
    // connect timeout, which a busy machine's connects need.
    let quick = local
        .clone()
        .with_connect_timeout(std::time::Duration::from_secs(3));
    match probe(&quick).await {
        Ok(()) => Ok(local),
        Err(local_error) => {
            #[cfg(feature = "testcontainers")]
            {
                if let Ok(config) = containers::server(backend).await {
                    return Ok(config);
                }
            }
            Err(Error::Config(format!(
                "{} (local server: {local_error})",
                how_to_provide(backend)
            )))
        }
    }
}

async fn probe(config: &DatabaseConfig) -> Result<()> {
    let db = Database::connect_with(config.clone().with_max_size(1)).await?;
    db.close(std::time::Duration::from_secs(1)).await;
    Ok(())
}

#[cfg(feature = "testcontainers")]
mod containers {
    //! One container per backend per test process, kept until the process exits.

    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
    use tokio::sync::OnceCell;

    use crate::config::DatabaseConfig;
    use crate::engine::Backend;
    use crate::error::{Error, Result};

    static PG: OnceCell<ContainerAsync<testcontainers_modules::postgres::Postgres>> =
        OnceCell::const_new();
    static MY: OnceCell<ContainerAsync<testcontainers_modules::mysql::Mysql>> =
        OnceCell::const_new();

    fn docker_error(e: impl std::fmt::Display) -> Error {
        Error::Config(format!("testcontainers: {e}"))
    }

    pub(super) async fn server(backend: Backend) -> Result<DatabaseConfig> {
        match backend {
            Backend::Postgres => {
                let c = PG
                    .get_or_try_init(|| {
                        testcontainers_modules::postgres::Postgres::default()
                            .with_tag("16")
                            .start()
                    })
                    .await
                    .map_err(docker_error)?;
                let port = c.get_host_port_ipv4(5432).await.map_err(docker_error)?;
                DatabaseConfig::from_url(&format!(
                    "postgres://postgres:postgres@127.0.0.1:{port}/postgres?sslmode=disable"
                ))
            }
            Backend::MySql => {
                let c = MY
                    .get_or_try_init(|| {
                        testcontainers_modules::mysql::Mysql::default()
                            .with_tag("8.4")
                            .start()
                    })
                    .await
                    .map_err(docker_error)?;
                let port = c.get_host_port_ipv4(3306).await.map_err(docker_error)?;
                DatabaseConfig::from_url(&format!(
                    "mysql://root@127.0.0.1:{port}/test?sslmode=disable"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_fit_and_differ() {
        let a =
            super::database_name("a_very_long_test_name_that_goes_on_and_on_and_on_and_on_and_on");
        let b =
            super::database_name("a_very_long_test_name_that_goes_on_and_on_and_on_and_on_and_on");
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert!(super::database_name("Crate::Mod-Name").starts_with("weir_crate__mod_name_"));
    }
}
