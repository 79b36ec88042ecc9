//! A throwaway PostgreSQL (`weir::testing::ThrowawayPostgres`): started from the installed
//! binaries, it serves a pool, and when dropped it is stopped and its data removed.

use std::time::Duration;

use weir::testing::ThrowawayPostgres;
use weir::{Database, DatabaseConfig, Executor};

use crate::common::in_ci;

/// It starts, answers a query, and once dropped its port is closed and its directory gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throwaway_postgres_serves_and_is_removed_when_dropped() {
    let server = match ThrowawayPostgres::start().await {
        Ok(server) => server,
        Err(e) if in_ci() => panic!("CI=true and no throwaway PostgreSQL: {e}"),
        Err(e) => {
            eprintln!("SKIPPED a_throwaway_postgres_serves...: {e}");
            return;
        }
    };
    let url = server.url().to_owned();
    let port = DatabaseConfig::from_url(&url).unwrap().port();
    assert!(port < 32768, "{url}");
    // Only the URL's password lets anyone in (it trusted every local user before), and
    // neither its Debug nor its directory shows or shares it.
    let password = url
        .split_once("://postgres:")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(password, _)| password.to_owned())
        .expect("the URL has a password");
    assert!(password.len() >= 16, "{password}");
    assert!(!format!("{server:?}").contains(&password), "{server:?}");
    let without = DatabaseConfig::from_url(&url.replace(&format!(":{password}@"), "@"))
        .unwrap()
        .with_retry(weir::RetryPolicy::never());
    let refused = Database::connect_with(without).await.unwrap_err();
    assert!(
        matches!(
            refused,
            weir::Error::Connect {
                kind: weir::ConnectErrorKind::Authentication,
                ..
            }
        ),
        "{refused:?}"
    );
    let db = Database::connect(&url).await.unwrap();
    let version: String = db.fetch_scalar("SHOW server_version", ()).await.unwrap();
    assert!(!version.is_empty());
    db.close(Duration::from_secs(1)).await;
    let dirs = |port: u16| {
        std::fs::read_dir("/dev/shm")
            .into_iter()
            .chain(std::fs::read_dir(std::env::temp_dir()))
            .flatten()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .ends_with(&format!("-{port}"))
            })
            .count()
    };
    assert_eq!(dirs(port), 1, "its data directory");
    let mode = std::fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with(&format!("-{port}"))
        })
        .map(|e| std::os::unix::fs::PermissionsExt::mode(&e.metadata().unwrap().permissions()));
    assert_eq!(mode.map(|m| m & 0o777), Some(0o700), "its directory's mode");
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening on {port}"
    );
    assert_eq!(dirs(port), 0, "its data directory is left behind");
}
