//! Quickstart: connect, create a table, insert a few rows, query them, print a table.
//!
//! ```sh
//! cargo run --example quickstart                                   # local PostgreSQL
//! DATABASE_URL=mysql://root@127.0.0.1/test cargo run --example quickstart
//! ```

use weir::{Database, Executor, FromRow};

#[derive(Debug, FromRow)]
struct User {
    id: i64,
    name: String,
    email: Option<String>,
}

#[tokio::main]
async fn main() -> weir::Result<()> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let db = Database::connect(&url).await?;
    println!("connected to {} ({})", db.config().target(), db.backend());

    db.execute(
        "CREATE TABLE IF NOT EXISTS users (
             id BIGINT PRIMARY KEY,
             name VARCHAR(100) NOT NULL,
             email VARCHAR(200)
         )",
        (),
    )
    .await?;

    // One transaction: either all three rows are replaced or none.
    let tx = db.begin().await?;
    tx.execute("DELETE FROM users WHERE id IN ($1, $2, $3)", (1, 2, 3))
        .await?;
    for (id, name, email) in [
        (1, "Ada Lovelace", Some("ada@example.com")),
        (2, "Grace Hopper", Some("grace@example.com")),
        (3, "Edsger Dijkstra", None),
    ] {
        tx.execute(
            "INSERT INTO users (id, name, email) VALUES ($1, $2, $3)",
            (id, name, email),
        )
        .await?;
    }
    tx.commit().await?;

    let users: Vec<User> = db
        .fetch_all(
            "SELECT id, name, email FROM users ORDER BY id LIMIT $1",
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
