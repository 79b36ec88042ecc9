//! cg_probe: a fixed amount of client work for callgrind, weir against the raw driver it wraps.
//!
//! ```sh
//! cg_probe --backend postgres|mysql --client weir|raw --workload w1|w2 --n N [--warmup W]
//! cg_probe --backend postgres|mysql --setup     # create/fill the cg_ tables if needed, exit
//! ```
//!
//! `bench/callgrind.sh CHECKOUT` builds it (`cargo build --release -p weir-bench --bin
//! cg_probe`, or as an example in a checkout from before `bench/`), runs it under callgrind
//! and prints the instructions per operation.
//!
//! - W1: N point selects by primary key (`SELECT id, name, email, created_at FROM cg_users
//!   WHERE id = $1`), one caller, sequential; weir `fetch_one` into a `#[derive(FromRow)]`
//!   struct, the peer `prepare_cached` + `query_one` (tokio-postgres on deadpool-postgres) or
//!   `exec_first` (mysql_async pool, reset_connection off), as the benchmark (`--bin bench`)
//!   does.
//! - W2: one stream of exactly N rows of (bigint, int, double, varchar(32)) from `cg_items`
//!   (`WHERE id <= N`), into a struct: weir `fetch_stream` + the derive, the peer's row stream
//!   (`query_raw` / `exec_iter`).
//!
//! A current_thread runtime; setup (tables created and filled only when missing or wrong),
//! connect and warm-up (W ops, default 200; for W2, W-row streams twice) happen before the N
//! measured operations. Run under callgrind for two N and take (I(N2) - I(N1)) / (N2 - N1):
//! everything but the N operations cancels. No toggles, no timing.
//!
//! Servers: PostgreSQL 127.0.0.1:5432 user postgres, MySQL/MariaDB 127.0.0.1:3306 user root,
//! database `test` on both (the constants below).

use std::hint::black_box;
use std::pin::pin;

use futures_util::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;
use weir::Executor;

const PG_HOST: &str = "127.0.0.1";
const PG_PORT: u16 = 5432;
const PG_USER: &str = "postgres";
const MY_HOST: &str = "127.0.0.1";
const MY_PORT: u16 = 3306;
const MY_USER: &str = "root";
const DB: &str = "test";
/// Connections per pool, as in the benchmark.
const POOL_SIZE: usize = 16;

/// Rows of `cg_users` (W1 cycles through them) and of `cg_items` (W2's N can be at most this).
const USERS: i64 = 100_000;
const ITEMS: i64 = 500_000;

const W1_PG: &str = "SELECT id, name, email, created_at FROM cg_users WHERE id = $1";
const W1_MY: &str = "SELECT id, name, email, created_at FROM cg_users WHERE id = ?";
const W2_PG: &str = "SELECT id, n, x, s FROM cg_items WHERE id <= $1";
const W2_MY: &str = "SELECT id, n, x, s FROM cg_items WHERE id <= ?";

#[derive(Debug, weir::FromRow)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
    created_at: chrono::NaiveDateTime,
}

#[derive(Debug, weir::FromRow)]
struct Item {
    id: i64,
    n: i32,
    x: f64,
    s: String,
}

impl Item {
    fn checksum(&self) -> u64 {
        (self.id as u64) ^ (self.n as u64).rotate_left(17) ^ self.x.to_bits() ^ self.s.len() as u64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    MySql,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    W1,
    W2,
}

enum Client {
    Weir(weir::Database),
    RawPg(deadpool_postgres::Pool),
    RawMy(mysql_async::Pool),
}

struct Args {
    backend: Backend,
    client: String,
    workload: Workload,
    n: i64,
    warmup: i64,
    setup_only: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cg_probe --backend postgres|mysql --client weir|raw --workload w1|w2 --n N [--warmup W]\n       cg_probe --backend postgres|mysql --setup"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut backend = None;
    let mut client = None;
    let mut workload = None;
    let mut n = None;
    let mut warmup = 200;
    let mut setup_only = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--backend" => {
                backend = Some(match val().as_str() {
                    "postgres" | "pg" => Backend::Postgres,
                    "mysql" | "mariadb" | "my" => Backend::MySql,
                    _ => usage(),
                })
            }
            "--client" => client = Some(val()),
            "--workload" => {
                workload = Some(match val().to_ascii_lowercase().as_str() {
                    "w1" => Workload::W1,
                    "w2" => Workload::W2,
                    _ => usage(),
                })
            }
            "--n" => n = Some(val().parse().unwrap_or_else(|_| usage())),
            "--warmup" => warmup = val().parse().unwrap_or_else(|_| usage()),
            "--setup" => setup_only = true,
            _ => usage(),
        }
    }
    let backend = backend.unwrap_or_else(|| usage());
    if setup_only {
        return Args {
            backend,
            client: String::new(),
            workload: Workload::W1,
            n: 0,
            warmup: 0,
            setup_only,
        };
    }
    let client = client.unwrap_or_else(|| usage());
    if client != "weir" && client != "raw" {
        usage();
    }
    let workload = workload.unwrap_or_else(|| usage());
    let n = n.unwrap_or_else(|| usage());
    if workload == Workload::W2 && (n > ITEMS || warmup > ITEMS) {
        eprintln!("W2 streams at most {ITEMS} rows");
        std::process::exit(2);
    }
    Args {
        backend,
        client,
        workload,
        n,
        warmup,
        setup_only,
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: plain driver connections, tables created and filled only when missing or wrong.

async fn pg_admin() -> tokio_postgres::Client {
    let (client, conn) = pg_config().connect(NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn my_admin() -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(MY_HOST)
        .tcp_port(MY_PORT)
        .user(Some(MY_USER))
        .db_name(Some(DB))
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.unwrap()
}

/// Whether `cg_users` and `cg_items` exist with the expected rows (a count and a max).
const CHECK_SQL: &str =
    "SELECT (SELECT COUNT(*) FROM cg_users) + 0, (SELECT MAX(id) FROM cg_users) + 0, \
     (SELECT COUNT(*) FROM cg_items) + 0, (SELECT MAX(id) FROM cg_items) + 0";

async fn setup(backend: Backend) {
    let want = (USERS, USERS, ITEMS, ITEMS);
    match backend {
        Backend::Postgres => {
            let c = pg_admin().await;
            let ok = match c.query_one(CHECK_SQL, &[]).await {
                Ok(r) => {
                    let got: (Option<i64>, Option<i64>, Option<i64>, Option<i64>) =
                        (r.get(0), r.get(1), r.get(2), r.get(3));
                    got == (Some(want.0), Some(want.1), Some(want.2), Some(want.3))
                }
                Err(_) => false,
            };
            if ok {
                return;
            }
            eprintln!("cg_probe: creating cg_users and cg_items on PostgreSQL");
            c.batch_execute(&format!(
                "DROP TABLE IF EXISTS cg_users, cg_items;
                 CREATE TABLE cg_users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL,
                   email VARCHAR(200), created_at TIMESTAMP NOT NULL);
                 INSERT INTO cg_users SELECT g, 'user ' || lpad(g::text, 6, '0'),
                   'user' || lpad(g::text, 6, '0') || '@example.com',
                   TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second'
                   FROM generate_series(1::bigint, {USERS}) g;
                 CREATE TABLE cg_items (id BIGINT NOT NULL, n INT NOT NULL,
                   x DOUBLE PRECISION NOT NULL, s VARCHAR(32) NOT NULL);
                 INSERT INTO cg_items SELECT g, (g * 7919) % 2000000000, g * 0.25,
                   substr(md5(g::text), 1, 8 + (g % 25)::int)
                   FROM generate_series(1::bigint, {ITEMS}) g;"
            ))
            .await
            .unwrap();
            c.batch_execute("VACUUM ANALYZE cg_users, cg_items")
                .await
                .unwrap();
        }
        Backend::MySql => {
            let mut c = my_admin().await;
            let ok = match c
                .query_first::<(Option<i64>, Option<i64>, Option<i64>, Option<i64>), _>(CHECK_SQL)
                .await
            {
                Ok(Some(got)) => got == (Some(want.0), Some(want.1), Some(want.2), Some(want.3)),
                _ => false,
            };
            if !ok {
                eprintln!("cg_probe: creating cg_users and cg_items on MySQL/MariaDB");
                // MySQL has no generate_series: a cross join of digit tables.
                let places = 6; // 10^6 >= ITEMS, USERS
                let terms: Vec<String> = (0..places)
                    .map(|p| format!("{} * d{p}.d", 10i64.pow(p)))
                    .collect();
                let tables: Vec<String> = (0..places).map(|p| format!("cg_digits d{p}")).collect();
                let series = format!(
                    "SELECT 1 + {} AS g FROM {}",
                    terms.join(" + "),
                    tables.join(", ")
                );
                for sql in [
                    "DROP TABLE IF EXISTS cg_users, cg_items, cg_digits".to_string(),
                    "CREATE TABLE cg_digits (d INT NOT NULL PRIMARY KEY) ENGINE=InnoDB".to_string(),
                    "INSERT INTO cg_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)"
                        .to_string(),
                    "CREATE TABLE cg_users (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, \
                     email VARCHAR(200), created_at DATETIME NOT NULL) ENGINE=InnoDB"
                        .to_string(),
                    format!(
                        "INSERT INTO cg_users (id, name, email, created_at) \
                         SELECT g, CONCAT('user ', LPAD(g, 6, '0')), \
                         CONCAT('user', LPAD(g, 6, '0'), '@example.com'), \
                         TIMESTAMP '2024-01-01 00:00:00' + INTERVAL g SECOND \
                         FROM ({series}) t WHERE g <= {USERS}"
                    ),
                    "CREATE TABLE cg_items (id BIGINT NOT NULL, n INT NOT NULL, x DOUBLE NOT NULL, \
                     s VARCHAR(32) NOT NULL) ENGINE=InnoDB"
                        .to_string(),
                    format!(
                        "INSERT INTO cg_items (id, n, x, s) \
                         SELECT g, (g * 7919) % 2000000000, g * 0.25, SUBSTR(MD5(g), 1, 8 + g % 25) \
                         FROM ({series}) t WHERE g <= {ITEMS} ORDER BY g"
                    ),
                    "ANALYZE TABLE cg_users, cg_items".to_string(),
                ] {
                    c.query_drop(sql).await.unwrap();
                }
            }
            c.disconnect().await.unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients, connected as the benchmark's clients.rs does.

fn pg_config() -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host(PG_HOST)
        .port(PG_PORT)
        .user(PG_USER)
        .dbname(DB)
        .ssl_mode(tokio_postgres::config::SslMode::Disable);
    c
}

fn my_opts() -> mysql_async::Opts {
    let constraints = mysql_async::PoolConstraints::new(POOL_SIZE, POOL_SIZE).unwrap();
    mysql_async::OptsBuilder::default()
        .ip_or_hostname(MY_HOST)
        .tcp_port(MY_PORT)
        .user(Some(MY_USER))
        .db_name(Some(DB))
        .prefer_socket(false)
        .pool_opts(
            mysql_async::PoolOpts::default()
                .with_constraints(constraints)
                .with_reset_connection(false),
        )
        .into()
}

async fn connect(backend: Backend, client: &str) -> Client {
    match (client, backend) {
        ("weir", Backend::Postgres) => Client::Weir(
            weir::Database::connect(&format!(
                "postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{DB}?sslmode=disable&pool_max_size={POOL_SIZE}"
            ))
            .await
            .unwrap(),
        ),
        ("weir", Backend::MySql) => Client::Weir(
            weir::Database::connect(&format!(
                "mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{DB}?sslmode=disable&pool_max_size={POOL_SIZE}"
            ))
            .await
            .unwrap(),
        ),
        (_, Backend::Postgres) => {
            let manager = deadpool_postgres::Manager::from_config(
                pg_config(),
                NoTls,
                deadpool_postgres::ManagerConfig::default(),
            );
            Client::RawPg(
                deadpool_postgres::Pool::builder(manager)
                    .max_size(POOL_SIZE)
                    .build()
                    .unwrap(),
            )
        }
        (_, Backend::MySql) => Client::RawMy(mysql_async::Pool::new(my_opts())),
    }
}

async fn close(client: Client) {
    match client {
        Client::Weir(db) => db.close(std::time::Duration::from_secs(5)).await,
        Client::RawPg(pool) => pool.close(),
        Client::RawMy(pool) => pool.disconnect().await.unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// The operations, as the benchmark's clients.rs does them.

impl Client {
    /// W1: one point select by primary key.
    async fn point(&self, id: i64) -> usize {
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
                    created_at: row.get(3),
                }
            }
            Client::RawMy(pool) => {
                let mut c = pool.get_conn().await.unwrap();
                // mysql_async is built without its `chrono` feature here: the DATETIME comes
                // out as a `Value::Date` and is converted the way mysql_common would.
                let (id, name, email, at): (i64, String, Option<String>, mysql_async::Value) =
                    c.exec_first(W1_MY, (id,)).await.unwrap().unwrap();
                let created_at = match at {
                    mysql_async::Value::Date(y, mo, d, h, mi, s, us) => {
                        chrono::NaiveDate::from_ymd_opt(y.into(), mo.into(), d.into())
                            .unwrap()
                            .and_hms_micro_opt(h.into(), mi.into(), s.into(), us)
                            .unwrap()
                    }
                    other => panic!("created_at: {other:?}"),
                };
                User {
                    id,
                    name,
                    email,
                    created_at,
                }
            }
        };
        assert_eq!(user.id, id);
        let len = user.name.len()
            + user.email.as_ref().map_or(0, String::len)
            + (user.created_at.and_utc().timestamp() % 7) as usize;
        black_box(user);
        len
    }

    /// W2: streams the rows with `id <= n` into structs; returns (rows, checksum).
    async fn stream(&self, n: i64) -> (i64, u64) {
        let mut rows = 0i64;
        let mut sum = 0u64;
        let mut take = |item: Item| {
            rows += 1;
            sum = sum.wrapping_add(item.checksum());
            black_box(item);
        };
        match self {
            Client::Weir(db) => {
                let mut s = pin!(db.fetch_stream::<Item, _>(W2_PG, (n,)));
                while let Some(item) = s.next().await {
                    take(item.unwrap());
                }
            }
            Client::RawPg(pool) => {
                let c = pool.get().await.unwrap();
                let st = c.prepare_cached(W2_PG).await.unwrap();
                let params: [&(dyn ToSql + Sync); 1] = [&n];
                let mut s = pin!(c.query_raw(&st, params).await.unwrap());
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
                let mut result = c.exec_iter(W2_MY, (n,)).await.unwrap();
                while let Some(row) = result.next().await.unwrap() {
                    let (id, n, x, s) = mysql_async::from_row(row);
                    take(Item { id, n, x, s });
                }
            }
        }
        (rows, sum)
    }
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        setup(args.backend).await;
        if args.setup_only {
            return;
        }
        let client = connect(args.backend, &args.client).await;
        let (ops, check) = match args.workload {
            Workload::W1 => {
                let id_of = |i: i64| 1 + i % USERS;
                for i in 0..args.warmup {
                    client.point(id_of(i)).await;
                }
                let mut bytes = 0usize;
                for i in args.warmup..args.warmup + args.n {
                    bytes += client.point(id_of(i)).await;
                }
                (args.n, bytes as u64)
            }
            Workload::W2 => {
                for _ in 0..2 {
                    let (rows, _) = client.stream(args.warmup).await;
                    assert_eq!(rows, args.warmup, "warm-up rows");
                }
                let (rows, sum) = client.stream(args.n).await;
                assert_eq!(rows, args.n, "rows streamed");
                (rows, sum)
            }
        };
        close(client).await;
        println!(
            "backend={} client={} workload={} n={} ops={ops} check={check}",
            match args.backend {
                Backend::Postgres => "postgres",
                Backend::MySql => "mysql",
            },
            args.client,
            match args.workload {
                Workload::W1 => "w1",
                Workload::W2 => "w2",
            },
            args.n
        );
    });
}
