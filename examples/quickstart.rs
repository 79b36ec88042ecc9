//! Quickstart: connect, create a table, insert a few rows in a transaction, query them, print a
//! table.
//!
//! ```sh
//! cargo run --example quickstart                                   # a local PostgreSQL
//! DATABASE_URL=mysql://root@127.0.0.1/test cargo run --example quickstart
//! ```
//!
//! With `DATABASE_URL` unset it tries PostgreSQL at `PGHOST`:`PGPORT` (default 127.0.0.1:5432),
//! and when nothing answers there it starts a throwaway PostgreSQL from the installed binaries,
//! runs against it and removes it.

use std::process::ExitCode;

use weir::testing::ThrowawayPostgres;
use weir::{Database, Executor, FromRow};

#[derive(Debug, FromRow)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match connect_and_run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn connect_and_run() -> weir::Result<()> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return run(&Database::connect(&url).await?).await;
    }
    let host = std::env::var("PGHOST").unwrap_or_else(|_| "127.0.0.1".into());
    let port = std::env::var("PGPORT").unwrap_or_else(|_| "5432".into());
    let local = format!("postgres://postgres@{host}:{port}/postgres");
    match Database::connect(&local).await {
        Ok(db) => run(&db).await,
        Err(e) if e.is_unreachable() => {
            let server = match ThrowawayPostgres::start().await {
                Ok(server) => server,
                Err(why) => {
                    eprintln!(
                        "nothing answers at {host}:{port} and no server could be started ({why}): install PostgreSQL (Debian: `apt install postgresql`), run `docker compose up -d --wait`, or set DATABASE_URL"
                    );
                    return Err(e);
                }
            };
            println!(
                "nothing answers at {host}:{port}: running against a throwaway PostgreSQL (removed on exit)"
            );
            let db = Database::connect(server.url()).await?;
            let outcome = run(&db).await;
            db.close(std::time::Duration::from_secs(5)).await;
            tokio::task::spawn_blocking(move || drop(server)).await.ok();
            outcome
        }
        Err(e) => Err(e),
    }
}

async fn run(db: &Database) -> weir::Result<()> {
    println!(
        "connected to {} ({})",
        db.config().target(),
        db.server_name()
    );

    // A table of its own, which no migration of the repository uses.
    db.execute(
        "CREATE TABLE IF NOT EXISTS quickstart_people (
             id BIGINT PRIMARY KEY,
             name VARCHAR(100) NOT NULL,
             email VARCHAR(200)
         )",
        (),
    )
    .await?;

    // One transaction: either all three rows are replaced or none.
    let tx = db.begin().await?;
    tx.execute(
        "DELETE FROM quickstart_people WHERE id IN ($1, $2, $3)",
        (1, 2, 3),
    )
    .await?;
    for (id, name, email) in [
        (1, "Ada Lovelace", Some("ada@example.com")),
        (2, "Grace Hopper", Some("grace@example.com")),
        (3, "Edsger Dijkstra", None),
    ] {
        tx.execute(
            "INSERT INTO quickstart_people (id, name, email) VALUES ($1, $2, $3)",
            (id, name, email),
        )
        .await?;
    }
    tx.commit().await?;

    let users: Vec<User> = db
        .fetch_all(
            "SELECT id, name, email FROM quickstart_people ORDER BY id LIMIT $1",
            (10,),
        )
        .await?;
    print_table(&users);
    db.close(std::time::Duration::from_secs(5)).await;
    Ok(())
}

fn print_table(users: &[User]) {
    let rows: Vec<[String; 3]> = users
        .iter()
        .map(|u| {
            [
                u.id.to_string(),
                u.name.clone(),
                u.email.clone().unwrap_or_else(|| "NULL".into()),
            ]
        })
        .collect();
    let header = ["id", "name", "email"];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 3]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(header);
    println!(
        "|{}|",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for r in &rows {
        line([&r[0], &r[1], &r[2]]);
    }
    println!("({} rows)", rows.len());
}
