//! Connecting: URLs, distinct typed errors for each way it fails, no password anywhere.

use std::time::{Duration, Instant};

use weir::{Backend, ConnectErrorKind, Database, DatabaseConfig, Error, Executor};

use crate::both_backends;
use crate::common::Ctx;

both_backends!(
    url_round_trip_connects,
    refused_port_is_a_fast_network_error,
    unknown_user_is_an_authentication_error_without_the_password,
    unknown_database_is_its_own_error,
    after_connect_hook_shapes_every_session,
    failing_after_connect_hook_fails_the_connect,
    unix_socket_connects_and_closes,
    the_server_is_called_by_its_name,
);

fn scheme(b: Backend) -> &'static str {
    match b {
        Backend::Postgres => "postgres",
        Backend::MySql => "mysql",
    }
}

/// A URL with pool options connects and the options take effect.
async fn url_round_trip_connects(ctx: Ctx) {
    let c = &ctx.config;
    let url = format!(
        "{}://{}@{}:{}/{}?pool_max_size=3&acquire_timeout=2s&application_name=weir-test&sslmode=disable",
        scheme(ctx.backend),
        c.user(),
        c.host(),
        c.port(),
        c.database().unwrap()
    );
    let db = Database::connect(&url).await.unwrap();
    assert_eq!(db.status().max_size, 3);
    assert_eq!(db.config().acquire_timeout(), Duration::from_secs(2));
    let one: i64 = db.fetch_scalar("SELECT 1", ()).await.unwrap();
    assert_eq!(one, 1);
    if ctx.backend == Backend::Postgres {
        let name: String = db.fetch_scalar("SHOW application_name", ()).await.unwrap();
        assert_eq!(name, "weir-test");
    }
    // `mariadb://` and `postgresql://` are accepted aliases.
    let alias = url.replacen(scheme(ctx.backend), ctx.sql("postgresql", "mariadb"), 1);
    Database::connect(&alias).await.unwrap();
}

/// Nothing listens on port 1: the error says network, arrives at once, and is not a timeout.
async fn refused_port_is_a_fast_network_error(ctx: Ctx) {
    let started = Instant::now();
    let cfg = ctx
        .config
        .clone()
        .with_port(1)
        .with_acquire_timeout(Duration::from_secs(20));
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    match &err {
        Error::Connect { kind, target, .. } => {
            assert_eq!(*kind, ConnectErrorKind::Network, "{err}");
            assert!(target.ends_with(":1"), "{target}");
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(err.is_unreachable() && err.is_transient());
}

/// A wrong user (or password) is an authentication error, and the password is nowhere in it.
async fn unknown_user_is_an_authentication_error_without_the_password(ctx: Ctx) {
    let canary = "Canary-p@ss:w/rd%41";
    let cfg = ctx
        .config
        .clone()
        .with_user("weir_no_such_user")
        .with_password(canary);
    assert!(!format!("{cfg:?}").contains("Canary"));
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::Authentication,
                ..
            }
        ),
        "{err:?}"
    );
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("Canary"), "{text}");
    }
    // The same through a URL, with the password percent-encoded.
    let url = format!(
        "{}://weir_no_such_user:Canary-p%40ss%3Aw%2Frd%2541@{}:{}/x?sslmode=disable",
        scheme(ctx.backend),
        ctx.config.host(),
        ctx.config.port()
    );
    let cfg = DatabaseConfig::from_url(&url).unwrap();
    assert!(!format!("{cfg:?}").contains("Canary"));
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("Canary"));
}

/// An unknown database is reported as such.
async fn unknown_database_is_its_own_error(ctx: Ctx) {
    let cfg = ctx.config.clone().with_database("weir_no_such_database");
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connect {
                kind: ConnectErrorKind::UnknownDatabase,
                ..
            }
        ),
        "{err:?}"
    );
}

/// The hook runs on every new connection before it is used.
async fn after_connect_hook_shapes_every_session(ctx: Ctx) {
    let cfg = ctx.config.clone().with_max_size(2).after_connect(|s| {
        Box::pin(async move {
            match s.backend() {
                Backend::Postgres => s.execute("SET TIME ZONE 'Asia/Tokyo'", ()).await?,
                Backend::MySql => s.execute("SET time_zone = '+09:00'", ()).await?,
            };
            Ok(())
        })
    });
    let db = Database::connect_with(cfg).await.unwrap();
    let sql = ctx.sql("SHOW TIME ZONE", "SELECT @@session.time_zone");
    // Two connections at once, so both sessions went through the hook.
    let a = db.acquire().await.unwrap();
    let b = db.acquire().await.unwrap();
    for conn in [&a, &b] {
        let tz: String = conn.fetch_scalar(sql, ()).await.unwrap();
        assert_eq!(tz, ctx.sql("Asia/Tokyo", "+09:00"));
    }
}

/// A hook error fails the connect with the hook's error.
async fn failing_after_connect_hook_fails_the_connect(ctx: Ctx) {
    let cfg = ctx.config.clone().after_connect(|s| {
        Box::pin(async move {
            s.execute("SELECT * FROM weir_no_such_table", ()).await?;
            Ok(())
        })
    });
    let err = Database::connect_with(cfg).await.unwrap_err();
    assert!(err.as_database_error().is_some(), "{err:?}");
}

// Malformed URLs: see `bad_input.rs`, which holds the whole bad-input matrix.

/// `?socket=` reaches the server over its Unix socket (the path the server reports), and a
/// discarded session over it is closed like a TCP one.
async fn unix_socket_connects_and_closes(ctx: Ctx) {
    let db = &ctx.db;
    let path: String = db
        .fetch_scalar(
            ctx.sql(
                "SELECT current_setting('unix_socket_directories')",
                "SELECT @@socket",
            ),
            (),
        )
        .await
        .unwrap();
    // PostgreSQL may list several directories; the first is where it listens for sure.
    let path = path.split(',').next().unwrap().trim().to_owned();
    assert!(
        path.starts_with('/'),
        "the server reports no socket: {path:?}"
    );
    let url = format!(
        "{}://{}@localhost/{}?socket={}",
        scheme(ctx.backend),
        ctx.config.user(),
        ctx.config.database().unwrap(),
        path
    );
    let over_socket = Database::connect(&url).await.unwrap();
    let via_socket: i64 = over_socket
        .fetch_scalar(
            ctx.sql(
                "SELECT CASE WHEN inet_server_addr() IS NULL THEN 1 ELSE 0 END::int8",
                "SELECT CAST(HOST NOT LIKE '%:%' AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE ID = CONNECTION_ID()",
            ),
            (),
        )
        .await
        .unwrap();
    assert_eq!(via_socket, 1, "the session did not come over the socket");
    let id_sql = ctx.sql(
        "SELECT pg_backend_pid()::int8",
        "SELECT CONNECTION_ID() + 0",
    );
    let conn = over_socket.acquire().await.unwrap();
    let id: i64 = conn.fetch_scalar(id_sql, ()).await.unwrap();
    // A session change makes the pool close this session when it comes back.
    conn.execute(
        ctx.sql("SET application_name = 'gone'", "SET @gone = 1"),
        (),
    )
    .await
    .unwrap();
    drop(conn);
    over_socket.close(Duration::from_secs(5)).await;
    let count = ctx.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = $1",
    );
    let listed: i64 = db.fetch_scalar(count, (id,)).await.unwrap();
    match ctx.backend {
        // weir waits until the server has closed the socket: by then the session is gone.
        Backend::Postgres => assert_eq!(listed, 0, "the server still lists closed session {id}"),
        // mysql_async cannot wait for that; MariaDB lets the session go a moment later.
        Backend::MySql => assert!(
            crate::common::eventually(Duration::from_secs(2), || async {
                db.fetch_scalar::<i64, _>(count, (id,)).await.unwrap() == 0
            })
            .await,
            "the server still lists closed session {id}"
        ),
    }
}

/// The pool names its server as it is: PostgreSQL, or MariaDB or MySQL as the server's version
/// says (a MariaDB server was called MySQL); a lazy pool that has opened nothing says both.
async fn the_server_is_called_by_its_name(ctx: Ctx) {
    let version: String = ctx
        .db
        .fetch_scalar(ctx.sql("SELECT version()", "SELECT VERSION()"), ())
        .await
        .unwrap();
    let expected = match ctx.backend {
        Backend::Postgres => "PostgreSQL",
        Backend::MySql if version.contains("MariaDB") => "MariaDB",
        Backend::MySql => "MySQL",
    };
    assert_eq!(ctx.db.server_name(), expected, "{version}");
    assert!(format!("{:?}", ctx.db).contains(expected));
    let lazy = weir::Database::connect_lazy_with(ctx.config.clone()).unwrap();
    let before = match ctx.backend {
        Backend::Postgres => "PostgreSQL",
        Backend::MySql => "MySQL or MariaDB",
    };
    assert_eq!(lazy.server_name(), before);
}
