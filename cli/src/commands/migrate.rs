//! `weir migrate up|down|status`: the library's migrator, run from a folder.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use weir::migrate::{MigrationState, Migrator};
use weir::{Backend, Database, DatabaseConfig};

use crate::failure::{Failure, EXIT_DATABASE};

#[derive(Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    action: Action,

    /// Folder of `<version>_<name>.up.sql` / `.down.sql` files. Default: `migrations/postgres`
    /// or `migrations/mysql`, by the URL's backend.
    #[arg(long, global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Action {
    /// Apply pending migrations, all of them or up to --target.
    Up {
        /// Highest version to apply.
        #[arg(long)]
        target: Option<i64>,
    },
    /// Revert applied migrations newer than --target (0 reverts all), newest first.
    Down {
        /// Version to go back to.
        #[arg(long)]
        target: i64,
    },
    /// List every migration: applied, pending, changed, dirty, or missing its file.
    Status,
}

pub async fn run(config: DatabaseConfig, args: MigrateArgs) -> Result<(), Failure> {
    let dir = args.dir.unwrap_or_else(|| {
        PathBuf::from(match config.backend() {
            Backend::Postgres => "migrations/postgres",
            Backend::MySql => "migrations/mysql",
        })
    });
    let migrator = Migrator::from_dir(&dir)
        .map_err(|e| Failure::from(e).context(&dir.display().to_string()))?;
    let db = Database::connect_with(config.with_max_size(2)).await?;
    let outcome = match args.action {
        Action::Up { target } => {
            let applied = match target {
                Some(t) => migrator.up_to(&db, t).await?,
                None => migrator.up(&db).await?,
            };
            report("applied", &applied, &migrator);
            Ok(())
        }
        Action::Down { target } => {
            let reverted = migrator.down(&db, target).await?;
            report("reverted", &reverted, &migrator);
            Ok(())
        }
        Action::Status => {
            let list = migrator.status(&db).await?;
            let width = list.iter().map(|m| m.name.len()).max().unwrap_or(4);
            println!(
                "{:>8}  {:<width$}  {:<8}  applied at",
                "version", "name", "state"
            );
            for m in &list {
                println!(
                    "{:>8}  {:<width$}  {:<8}  {}",
                    m.version,
                    m.name,
                    state(m.state),
                    m.applied_at.as_deref().unwrap_or("")
                );
            }
            let bad = list
                .iter()
                .filter(|m| matches!(m.state, MigrationState::Changed | MigrationState::Dirty))
                .count();
            if bad > 0 {
                Err(Failure {
                    code: EXIT_DATABASE,
                    message: format!(
                        "{bad} migration(s) changed or dirty: `weir migrate up` will refuse"
                    ),
                    detail: None,
                })
            } else {
                Ok(())
            }
        }
    };
    db.close(std::time::Duration::from_secs(2)).await;
    outcome
}

fn report(what: &str, versions: &[i64], migrator: &Migrator) {
    if versions.is_empty() {
        println!("nothing {what}: the database is up to date");
        return;
    }
    for v in versions {
        let name = migrator
            .migrations()
            .iter()
            .find(|m| m.version == *v)
            .map_or("", |m| &*m.name);
        println!("{what} {v} {name}");
    }
}

fn state(s: MigrationState) -> &'static str {
    match s {
        MigrationState::Applied => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Changed => "CHANGED",
        MigrationState::Dirty => "DIRTY",
        MigrationState::Missing => "missing",
    }
}
