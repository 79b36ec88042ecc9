//! The `weir_bench` database: dropped, recreated and filled on each server before its run.
//!
//! Tables (the same for every client):
//! - `users` (W1): `id BIGINT PRIMARY KEY, name, email`, ids 1..=100,000.
//! - `items` (W2): `(id BIGINT, n INT, x DOUBLE, s VARCHAR(32))`, the rows to stream.
//! - `ins` (W4 single-row inserts) and `bulk` (W4 bulk loads): emptied before each run.

use mysql_async::prelude::Queryable;
use tokio_postgres::NoTls;

use crate::clients::{Backend, DB_NAME, MY_HOST, MY_PORT, MY_USER, PG_HOST, PG_PORT, PG_USER};

/// One plain connection for setup and for emptying tables between runs (never timed).
pub enum Admin {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

async fn pg_connect(db: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::Config::new()
        .host(PG_HOST)
        .port(PG_PORT)
        .user(PG_USER)
        .dbname(db)
        .ssl_mode(tokio_postgres::config::SslMode::Disable)
        .connect(NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL on {PG_HOST}:{PG_PORT}: {e}"));
    tokio::spawn(conn);
    client
}

async fn my_connect(db: Option<&str>) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(MY_HOST)
        .tcp_port(MY_PORT)
        .user(Some(MY_USER))
        .db_name(db)
        .prefer_socket(false);
    mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("MySQL/MariaDB on {MY_HOST}:{MY_PORT}: {e}"))
}

impl Admin {
    pub async fn exec(&mut self, sql: &str) {
        match self {
            Admin::Pg(c) => c.batch_execute(sql).await.unwrap_or_else(|e| {
                let detail = e
                    .as_db_error()
                    .map_or(String::new(), |d| d.message().to_owned());
                panic!("{sql}: {e}: {detail}")
            }),
            Admin::My(c) => c
                .query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    pub async fn scalar_string(&mut self, sql: &str) -> String {
        match self {
            Admin::Pg(c) => c.query_one(sql, &[]).await.unwrap().get(0),
            Admin::My(c) => c.query_first::<String, _>(sql).await.unwrap().unwrap(),
        }
    }

    pub async fn count(&mut self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        match self {
            Admin::Pg(c) => c.query_one(&sql, &[]).await.unwrap().get(0),
            Admin::My(c) => c.query_first::<i64, _>(sql).await.unwrap().unwrap(),
        }
    }

    /// The server's version string.
    pub async fn version(&mut self) -> String {
        self.scalar_string("SELECT version()").await
    }

    pub async fn close(self) {
        if let Admin::My(c) = self {
            let _ = c.disconnect().await;
        }
    }
}

/// Drops and recreates `weir_bench` on `backend`, fills it, and returns a connection to it.
pub async fn setup(backend: Backend, users: u64, items: u64) -> Admin {
    match backend {
        Backend::Postgres => {
            let server = pg_connect("postgres").await;
            // One statement per call: a multi-statement string runs as one transaction.
            for sql in [
                format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
                format!("CREATE DATABASE {DB_NAME}"),
            ] {
                server.batch_execute(&sql).await.unwrap();
            }
            drop(server);
            let mut admin = Admin::Pg(pg_connect(DB_NAME).await);
            admin
                .exec(&format!(
                    "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200));
                     INSERT INTO users SELECT g, 'user ' || g, 'user' || g || '@example.com'
                       FROM generate_series(1::bigint, {users}) g;
                     CREATE TABLE items (id BIGINT NOT NULL, n INT NOT NULL, x DOUBLE PRECISION NOT NULL, s VARCHAR(32) NOT NULL);
                     INSERT INTO items SELECT g, (g * 7919) % 2000000000, g * 0.25, substr(md5(g::text), 1, 8 + (g % 25)::int)
                       FROM generate_series(1::bigint, {items}) g;
                     CREATE TABLE ins (id BIGSERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200), n BIGINT NOT NULL);
                     CREATE TABLE bulk (id BIGINT NOT NULL, n INT NOT NULL, x DOUBLE PRECISION NOT NULL, s VARCHAR(32) NOT NULL);"
                ))
                .await;
            admin.exec("VACUUM ANALYZE users, items").await;
            admin
        }
        Backend::MySql => {
            let mut server = my_connect(None).await;
            server
                .query_drop(format!("DROP DATABASE IF EXISTS {DB_NAME}"))
                .await
                .unwrap();
            server
                .query_drop(format!("CREATE DATABASE {DB_NAME}"))
                .await
                .unwrap();
            let _ = server.disconnect().await;
            let mut admin = Admin::My(my_connect(Some(DB_NAME)).await);
            admin
                .exec("CREATE TABLE digits (d INT NOT NULL PRIMARY KEY) ENGINE=InnoDB")
                .await;
            admin
                .exec("INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)")
                .await;
            admin
                .exec(
                    "CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200)) ENGINE=InnoDB",
                )
                .await;
            admin
                .exec(&format!(
                    "INSERT INTO users (id, name, email)
                     SELECT g, CONCAT('user ', g), CONCAT('user', g, '@example.com')
                     FROM ({}) t WHERE g <= {users}",
                    series(users)
                ))
                .await;
            admin
                .exec(
                    "CREATE TABLE items (id BIGINT NOT NULL, n INT NOT NULL, x DOUBLE NOT NULL, s VARCHAR(32) NOT NULL) ENGINE=InnoDB",
                )
                .await;
            admin
                .exec(&format!(
                    "INSERT INTO items (id, n, x, s)
                     SELECT g, (g * 7919) % 2000000000, g * 0.25, SUBSTR(MD5(g), 1, 8 + g % 25)
                     FROM ({}) t WHERE g <= {items}",
                    series(items)
                ))
                .await;
            admin
                .exec(
                    "CREATE TABLE ins (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200), n BIGINT NOT NULL) ENGINE=InnoDB",
                )
                .await;
            admin
                .exec(
                    "CREATE TABLE bulk (id BIGINT NOT NULL, n INT NOT NULL, x DOUBLE NOT NULL, s VARCHAR(32) NOT NULL) ENGINE=InnoDB",
                )
                .await;
            admin.exec("ANALYZE TABLE users, items").await;
            admin
        }
    }
}

/// `SELECT 1 + ... AS g` over enough cross-joined digit tables to reach `n` (MySQL has no
/// generate_series, and MariaDB's sequence engine is not in MySQL).
fn series(n: u64) -> String {
    let mut places = 1;
    while 10u64.pow(places) < n {
        places += 1;
    }
    let terms: Vec<String> = (0..places)
        .map(|p| format!("{} * d{p}.d", 10u64.pow(p)))
        .collect();
    let tables: Vec<String> = (0..places).map(|p| format!("digits d{p}")).collect();
    format!(
        "SELECT 1 + {} AS g FROM {}",
        terms.join(" + "),
        tables.join(", ")
    )
}

/// Asserts the tables hold what the workloads expect.
pub async fn check(admin: &mut Admin, users: u64, items: u64) {
    assert_eq!(admin.count("users").await, users as i64, "users rows");
    assert_eq!(admin.count("items").await, items as i64, "items rows");
}
