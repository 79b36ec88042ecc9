//! The clients under test, each doing every workload's operation the way its users would.
//!
//! - weir: `Database` from a URL, `$n` placeholders on both backends.
//! - raw PostgreSQL: tokio-postgres on deadpool-postgres, `prepare_cached` statements, binary
//!   COPY for bulk loads.
//! - raw MySQL: mysql_async's own pool and statement cache, once with `reset_connection` off
//!   and once as it ships (COM_RESET_CONNECTION on every return).
//! - sqlx: `PgPool` / `MySqlPool` with defaults, `query_as` (its statement cache), `FromRow`
//!   written out as `#[derive(sqlx::FromRow)]` would generate it (the derive needs macros).
//! - bare deadpool (W3 only): a deadpool pool over driver connections that does nothing on
//!   checkout or return, the floor for a pooled checkout.

use std::pin::pin;

use deadpool::managed::{Metrics, RecycleResult};
use futures_util::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use sqlx::mysql::{MySqlConnectOptions, MySqlPoolOptions, MySqlRow, MySqlSslMode};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow, PgSslMode};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::NoTls;
use weir::Executor;
use weir::{Entity, Repo};

/// Connections per pool, for every client.
pub const POOL_SIZE: usize = 16;
/// Bulk inserts bind 4 parameters per row and stay below the 65,535-parameter limit that both
/// protocols share.
pub const BULK_CHUNK_ROWS: usize = 65_535 / 4;

pub const PG_HOST: &str = "127.0.0.1";
pub const PG_PORT: u16 = 5432;
pub const PG_USER: &str = "postgres";
pub const MY_HOST: &str = "127.0.0.1";
pub const MY_PORT: u16 = 3306;
pub const MY_USER: &str = "root";
pub const DB_NAME: &str = "weir_bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MySql,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::MySql => "MySQL/MariaDB",
        }
    }
}

const W1_PG: &str = "SELECT id, name, email FROM users WHERE id = $1";
const W1_MY: &str = "SELECT id, name, email FROM users WHERE id = ?";
const W2_SQL: &str = "SELECT id, n, x, s FROM items";
const W4_PG: &str = "INSERT INTO ins (name, email, n) VALUES ($1, $2, $3)";
const W4_MY: &str = "INSERT INTO ins (name, email, n) VALUES (?, ?, ?)";

/// W1's row.
#[derive(Debug, weir::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

/// W2's and W4 bulk's row: (bigint, int, double, varchar(32)). As an entity (which also
/// derives `FromRow`) it is what weir's bulk path, `Repo::insert_many`, writes to `bulk`.
#[derive(Debug, Clone, Entity)]
#[weir(table = "bulk")]
pub struct Item {
    #[weir(primary_key)]
    pub id: i64,
    pub n: i32,
    pub x: f64,
    pub s: String,
}

impl Item {
    fn checksum(&self) -> u64 {
        (self.id as u64) ^ (self.n as u64).rotate_left(17) ^ self.x.to_bits() ^ self.s.len() as u64
    }
}

// What `#[derive(sqlx::FromRow)]` expands to: columns by name.
macro_rules! sqlx_from_row {
    ($row:ty) => {
        impl<'r> sqlx::FromRow<'r, $row> for User {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(User {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                })
            }
        }
        impl<'r> sqlx::FromRow<'r, $row> for Item {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Item {
                    id: row.try_get("id")?,
                    n: row.try_get("n")?,
                    x: row.try_get("x")?,
                    s: row.try_get("s")?,
                })
            }
        }
    };
}
sqlx_from_row!(PgRow);
sqlx_from_row!(MySqlRow);

/// A deadpool manager over plain tokio-postgres clients that checks nothing on recycle.
pub struct BarePg(tokio_postgres::Config);

impl deadpool::managed::Manager for BarePg {
    type Type = tokio_postgres::Client;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, conn) = self.0.connect(NoTls).await?;
        tokio::spawn(conn);
        Ok(client)
    }

    async fn recycle(
        &self,
        _: &mut tokio_postgres::Client,
        _: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        Ok(())
    }
}

/// A deadpool manager over plain mysql_async connections that checks nothing on recycle.
pub struct BareMy(mysql_async::Opts);

impl deadpool::managed::Manager for BareMy {
    type Type = mysql_async::Conn;
    type Error = mysql_async::Error;

    async fn create(&self) -> Result<mysql_async::Conn, mysql_async::Error> {
        mysql_async::Conn::new(self.0.clone()).await
    }

    async fn recycle(
        &self,
        _: &mut mysql_async::Conn,
        _: &Metrics,
    ) -> RecycleResult<mysql_async::Error> {
        Ok(())
    }
}

pub enum Client {
    Weir(weir::Database),
    RawPg(deadpool_postgres::Pool),
    /// tokio-postgres doing W4's bulk load with the same multi-row INSERT as weir (a reference).
    RawPgInsert(deadpool_postgres::Pool),
    RawMy(mysql_async::Pool),
    SqlxPg(sqlx::PgPool),
    SqlxMy(sqlx::MySqlPool),
    BarePg(deadpool::managed::Pool<BarePg>),
    BareMy(deadpool::managed::Pool<BareMy>),
}

/// One client as the report names it.
pub struct Peer {
    /// Short name used in the ratio lines: `weir`, `raw`, `raw-reset`, `raw-insert`, `sqlx`,
    /// `deadpool`.
    pub id: &'static str,
    /// What it is, for the table.
    pub label: &'static str,
    pub client: std::sync::Arc<Client>,
}

impl Peer {
    pub fn new(id: &'static str, label: &'static str, client: Client) -> Self {
        Peer {
            id,
            label,
            client: std::sync::Arc::new(client),
        }
    }
}

fn pg_config() -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host(PG_HOST)
        .port(PG_PORT)
        .user(PG_USER)
        .dbname(DB_NAME)
        .ssl_mode(tokio_postgres::config::SslMode::Disable);
    c
}

fn my_opts(reset: bool) -> mysql_async::Opts {
    let constraints = mysql_async::PoolConstraints::new(POOL_SIZE, POOL_SIZE).unwrap();
    mysql_async::OptsBuilder::default()
        .ip_or_hostname(MY_HOST)
        .tcp_port(MY_PORT)
        .user(Some(MY_USER))
        .db_name(Some(DB_NAME))
        // Same transport as the others: TCP, not a switch to the Unix socket.
        .prefer_socket(false)
        .pool_opts(
            mysql_async::PoolOpts::default()
                .with_constraints(constraints)
                .with_reset_connection(reset),
        )
        .into()
}

pub fn weir_url(backend: Backend) -> String {
    match backend {
        Backend::Postgres => format!(
            "postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB_NAME}?sslmode=disable&pool_max_size={POOL_SIZE}"
        ),
        Backend::MySql => format!(
            "mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{DB_NAME}?sslmode=disable&pool_max_size={POOL_SIZE}"
        ),
    }
}

/// The clients of W1, W2 and W4 on `backend`, weir first.
pub async fn connect(backend: Backend) -> Vec<Peer> {
    let weir = weir::Database::connect(&weir_url(backend)).await.unwrap();
    match backend {
        Backend::Postgres => {
            let manager = deadpool_postgres::Manager::from_config(
                pg_config(),
                NoTls,
                deadpool_postgres::ManagerConfig::default(),
            );
            let raw = deadpool_postgres::Pool::builder(manager)
                .max_size(POOL_SIZE)
                .build()
                .unwrap();
            let sqlx = PgPoolOptions::new()
                .max_connections(POOL_SIZE as u32)
                .connect_with(
                    PgConnectOptions::new()
                        .host(PG_HOST)
                        .port(PG_PORT)
                        .username(PG_USER)
                        .database(DB_NAME)
                        .ssl_mode(PgSslMode::Disable),
                )
                .await
                .unwrap();
            vec![
                Peer::new("weir", "weir", Client::Weir(weir)),
                Peer::new(
                    "raw",
                    "tokio-postgres + deadpool-postgres",
                    Client::RawPg(raw),
                ),
                Peer::new("sqlx", "sqlx PgPool", Client::SqlxPg(sqlx)),
            ]
        }
        Backend::MySql => {
            let sqlx = MySqlPoolOptions::new()
                .max_connections(POOL_SIZE as u32)
                .connect_with(
                    MySqlConnectOptions::new()
                        .host(MY_HOST)
                        .port(MY_PORT)
                        .username(MY_USER)
                        .database(DB_NAME)
                        .ssl_mode(MySqlSslMode::Disabled),
                )
                .await
                .unwrap();
            vec![
                Peer::new("weir", "weir", Client::Weir(weir)),
                Peer::new(
                    "raw",
                    "mysql_async, reset_connection off",
                    Client::RawMy(mysql_async::Pool::new(my_opts(false))),
                ),
                Peer::new(
                    "raw-reset",
                    "mysql_async as shipped (reset on return)",
                    Client::RawMy(mysql_async::Pool::new(my_opts(true))),
                ),
                Peer::new("sqlx", "sqlx MySqlPool", Client::SqlxMy(sqlx)),
            ]
        }
    }
}

/// W3's extra client: a bare deadpool pool of the backend's driver connections.
pub fn bare_deadpool(backend: Backend) -> Peer {
    let client = match backend {
        Backend::Postgres => Client::BarePg(
            deadpool::managed::Pool::builder(BarePg(pg_config()))
                .max_size(POOL_SIZE)
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .unwrap(),
        ),
        Backend::MySql => Client::BareMy(
            deadpool::managed::Pool::builder(BareMy(my_opts(false)))
                .max_size(POOL_SIZE)
                .runtime(deadpool::Runtime::Tokio1)
                .build()
                .unwrap(),
        ),
    };
    Peer::new("deadpool", "bare deadpool (no-op recycle)", client)
}

/// W4 bulk's extra reference on PostgreSQL: tokio-postgres with weir's multi-row INSERT.
pub fn raw_insert(peers: &[Peer]) -> Option<Peer> {
    peers.iter().find_map(|p| match &*p.client {
        Client::RawPg(pool) => Some(Peer::new(
            "raw-insert",
            "tokio-postgres, multi-row INSERT",
            Client::RawPgInsert(pool.clone()),
        )),
        _ => None,
    })
}

pub async fn close(peers: Vec<Peer>) {
    for p in peers {
        match &*p.client {
            Client::Weir(db) => db.close(std::time::Duration::from_secs(5)).await,
            Client::RawPg(pool) | Client::RawPgInsert(pool) => pool.close(),
            Client::RawMy(pool) => {
                let _ = pool.clone().disconnect().await;
            }
            Client::SqlxPg(pool) => pool.close().await,
            Client::SqlxMy(pool) => pool.close().await,
            Client::BarePg(pool) => pool.close(),
            Client::BareMy(pool) => pool.close(),
        }
    }
}

/// `INSERT INTO bulk (id, n, x, s) VALUES (..), (..)` for `rows` rows, `$n` or `?` style.
fn bulk_sql(rows: usize, dollar: bool) -> String {
    let mut sql = String::with_capacity(40 + rows * 30);
    sql.push_str("INSERT INTO bulk (id, n, x, s) VALUES ");
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        if dollar {
            let b = r * 4;
            use std::fmt::Write;
            write!(sql, "(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4).unwrap();
        } else {
            sql.push_str("(?, ?, ?, ?)");
        }
    }
    sql
}

impl Client {
    /// W1: one point select by primary key.
    pub async fn point(&self, id: i64) {
        let user: User = match self {
            Client::Weir(db) => db.fetch_one(W1_PG, (id,)).await.unwrap(),
            Client::RawPg(pool) => {
                let c = pool.get().await.unwrap();
                let st = c.prepare_cached(W1_PG).await.unwrap();
                let row = c.query_one(&st, &[&id]).await.unwrap();
                User {
                    id: row.get(0),
                    name: row.get(1),
                    email: row.get(2),
                }
            }
            Client::RawMy(pool) => {
                let mut c = pool.get_conn().await.unwrap();
                let (id, name, email): (i64, String, Option<String>) =
                    c.exec_first(W1_MY, (id,)).await.unwrap().unwrap();
                User { id, name, email }
            }
            Client::SqlxPg(pool) => sqlx::query_as(W1_PG)
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap(),
            Client::SqlxMy(pool) => sqlx::query_as(W1_MY)
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap(),
            _ => unreachable!("not a W1 client"),
        };
        debug_assert_eq!(user.id, id);
        std::hint::black_box((user.id, user.name, user.email));
    }

    /// W2: streams the `items` table into structs; returns (rows, checksum).
    pub async fn stream(&self) -> (u64, u64) {
        let mut rows = 0u64;
        let mut sum = 0u64;
        let mut take = |item: Item| {
            rows += 1;
            sum = sum.wrapping_add(item.checksum());
        };
        match self {
            Client::Weir(db) => {
                let mut s = pin!(db.fetch_stream::<Item, _>(W2_SQL, ()));
                while let Some(item) = s.next().await {
                    take(item.unwrap());
                }
            }
            Client::RawPg(pool) => {
                let c = pool.get().await.unwrap();
                let st = c.prepare_cached(W2_SQL).await.unwrap();
                let mut s = pin!(c.query_raw(&st, std::iter::empty::<i64>()).await.unwrap());
                while let Some(row) = s.try_next().await.unwrap() {
                    take(Item {
                        id: row.get(0),
                        n: row.get(1),
                        x: row.get(2),
                        s: row.get(3),
                    });
                }
            }
            Client::RawMy(pool) => {
                let mut c = pool.get_conn().await.unwrap();
                let mut result = c.exec_iter(W2_SQL, ()).await.unwrap();
                while let Some(row) = result.next().await.unwrap() {
                    let (id, n, x, s) = mysql_async::from_row(row);
                    take(Item { id, n, x, s });
                }
            }
            Client::SqlxPg(pool) => {
                let mut s = sqlx::query_as::<_, Item>(W2_SQL).fetch(pool);
                while let Some(item) = s.try_next().await.unwrap() {
                    take(item);
                }
            }
            Client::SqlxMy(pool) => {
                let mut s = sqlx::query_as::<_, Item>(W2_SQL).fetch(pool);
                while let Some(item) = s.try_next().await.unwrap() {
                    take(item);
                }
            }
            _ => unreachable!("not a W2 client"),
        }
        (rows, sum)
    }

    /// W3: check a connection out and give it back, running nothing.
    pub async fn checkout(&self) {
        match self {
            Client::Weir(db) => drop(db.acquire().await.unwrap()),
            Client::RawPg(pool) | Client::RawPgInsert(pool) => drop(pool.get().await.unwrap()),
            Client::RawMy(pool) => drop(pool.get_conn().await.unwrap()),
            Client::SqlxPg(pool) => drop(pool.acquire().await.unwrap()),
            Client::SqlxMy(pool) => drop(pool.acquire().await.unwrap()),
            Client::BarePg(pool) => drop(pool.get().await.unwrap()),
            Client::BareMy(pool) => drop(pool.get().await.unwrap()),
        }
    }

    /// W4: one single-row autocommit insert.
    pub async fn insert_one(&self, n: i64) {
        let name = format!("user {n}");
        let email = format!("user{n}@example.com");
        match self {
            Client::Weir(db) => {
                db.execute(W4_PG, (name.as_str(), email.as_str(), n))
                    .await
                    .unwrap();
            }
            Client::RawPg(pool) => {
                let c = pool.get().await.unwrap();
                let st = c.prepare_cached(W4_PG).await.unwrap();
                c.execute(&st, &[&name, &email, &n]).await.unwrap();
            }
            Client::RawMy(pool) => {
                let mut c = pool.get_conn().await.unwrap();
                c.exec_drop(W4_MY, (name, email, n)).await.unwrap();
            }
            Client::SqlxPg(pool) => {
                sqlx::query(W4_PG)
                    .bind(name)
                    .bind(email)
                    .bind(n)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            Client::SqlxMy(pool) => {
                sqlx::query(W4_MY)
                    .bind(name)
                    .bind(email)
                    .bind(n)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            _ => unreachable!("not a W4 client"),
        }
    }

    /// W4 bulk: loads `rows` into `bulk` with the client's fastest bulk path; returns the rows
    /// loaded. weir: `Repo::insert_many` (one binary COPY on PostgreSQL, multi-row INSERTs it
    /// cuts below the parameter limit on MySQL); the others' multi-row INSERTs are chunked
    /// below the parameter limit; all in one transaction.
    pub async fn bulk(&self, rows: &[Item]) -> u64 {
        match self {
            Client::Weir(db) => {
                let tx = db.begin().await.unwrap();
                Repo::<Item>::new().insert_many(&tx, rows).await.unwrap();
                tx.commit().await.unwrap();
            }
            Client::RawPg(pool) => {
                let c = pool.get().await.unwrap();
                let sink = c
                    .copy_in("COPY bulk (id, n, x, s) FROM STDIN (FORMAT binary)")
                    .await
                    .unwrap();
                let types = [Type::INT8, Type::INT4, Type::FLOAT8, Type::VARCHAR];
                let mut w = pin!(BinaryCopyInWriter::new(sink, &types));
                for r in rows {
                    w.as_mut().write(&[&r.id, &r.n, &r.x, &r.s]).await.unwrap();
                }
                w.finish().await.unwrap();
            }
            Client::RawPgInsert(pool) => {
                let mut c = pool.get().await.unwrap();
                let tx = c.transaction().await.unwrap();
                for chunk in rows.chunks(BULK_CHUNK_ROWS) {
                    let st = tx
                        .prepare_cached(&bulk_sql(chunk.len(), true))
                        .await
                        .unwrap();
                    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(chunk.len() * 4);
                    for r in chunk {
                        params.extend([&r.id as &(dyn ToSql + Sync), &r.n, &r.x, &r.s]);
                    }
                    tx.execute(&st, &params).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            Client::RawMy(pool) => {
                let mut c = pool.get_conn().await.unwrap();
                let mut tx = c
                    .start_transaction(mysql_async::TxOpts::default())
                    .await
                    .unwrap();
                for chunk in rows.chunks(BULK_CHUNK_ROWS) {
                    let mut params: Vec<mysql_async::Value> = Vec::with_capacity(chunk.len() * 4);
                    for r in chunk {
                        params.extend([r.id.into(), r.n.into(), r.x.into(), r.s.as_str().into()]);
                    }
                    tx.exec_drop(bulk_sql(chunk.len(), false), params)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
            Client::SqlxPg(pool) => {
                let mut tx = pool.begin().await.unwrap();
                for chunk in rows.chunks(BULK_CHUNK_ROWS) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO bulk (id, n, x, s) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(r.n)
                            .push_bind(r.x)
                            .push_bind(&r.s);
                    });
                    qb.build().execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            Client::SqlxMy(pool) => {
                let mut tx = pool.begin().await.unwrap();
                for chunk in rows.chunks(BULK_CHUNK_ROWS) {
                    let mut qb = sqlx::QueryBuilder::new("INSERT INTO bulk (id, n, x, s) ");
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.id)
                            .push_bind(r.n)
                            .push_bind(r.x)
                            .push_bind(&r.s);
                    });
                    qb.build().execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            _ => unreachable!("not a W4 client"),
        }
        rows.len() as u64
    }
}
