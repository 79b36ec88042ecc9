//! A pool on each test server, for reading rows into derived structs. The queries select
//! literals, so no tables and no database of their own are needed.

use std::future::Future;
use std::time::Duration;

use weir::{Backend, Database};

/// Runs `body` with a one-connection pool on each backend's test server (see
/// `weir::testing`). Without a server a backend is skipped, unless `CI` is set.
pub async fn each_server<F, Fut>(mut body: F)
where
    F: FnMut(Database, Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in [Backend::Postgres, Backend::MySql] {
        let config = match weir::testing::server_config(backend).await {
            Ok(config) => config,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
                panic!("CI is set and no {backend} server: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED on {backend}: {e}");
                continue;
            }
        };
        let db = Database::connect_with(config.with_max_size(1))
            .await
            .unwrap();
        body(db.clone(), backend).await;
        db.close(Duration::from_secs(1)).await;
    }
}

/// `SELECT a AS "x", b AS "y"`, each name quoted for `backend`.
pub fn select(backend: Backend, columns: &[(&str, &str)]) -> String {
    let list: Vec<String> = columns
        .iter()
        .map(|(value, name)| format!("{value} AS {}", quote(backend, name)))
        .collect();
    format!("SELECT {}", list.join(", "))
}

/// `"name"` or `` `name` ``, the quote character doubled inside.
fn quote(backend: Backend, name: &str) -> String {
    let q = match backend {
        Backend::Postgres => "\"",
        Backend::MySql => "`",
    };
    format!("{q}{}{q}", name.replace(q, &format!("{q}{q}")))
}
