//! `embed_migrations!` embeds each `.sql` file of a folder; `Migrator::new` reads their names
//! with the parser `Migrator::from_dir` uses, so both see the same migrations and the same
//! faults.

use std::path::PathBuf;

use weir::migrate::{EmbeddedMigration, Migrator};
use weir::Error;

static OK: &[EmbeddedMigration] = weir::embed_migrations!("tests/fixtures/migrations/ok");
static MISNAMED: &[EmbeddedMigration] =
    weir::embed_migrations!("tests/fixtures/migrations/misnamed");
static DUPLICATE: &[EmbeddedMigration] =
    weir::embed_migrations!("tests/fixtures/migrations/duplicate");
static ORPHAN: &[EmbeddedMigration] = weir::embed_migrations!("tests/fixtures/migrations/orphan");

fn folder(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrations")
        .join(name)
}

#[test]
fn embeds_in_version_order_with_optional_downs() {
    // The README and the hidden script are not embedded.
    assert_eq!(OK.len(), 3);
    let m = Migrator::new(OK).unwrap();
    let names: Vec<(i64, &str)> = m
        .migrations()
        .iter()
        .map(|m| (m.version, &*m.name))
        .collect();
    assert_eq!(names, [(1, "first"), (2, "second")]);
    let first = &m.migrations()[0];
    assert_eq!(first.up, "CREATE TABLE first (id INT);\n");
    assert_eq!(first.down.as_deref(), Some("DROP TABLE first;\n"));
    assert_eq!(m.migrations()[1].down, None);
    let from_dir = Migrator::from_dir(folder("ok")).unwrap();
    assert_eq!(m.migrations(), from_dir.migrations());
}

#[test]
fn misnamed_duplicate_and_orphan_files_fail_as_in_from_dir() {
    for (embedded, name, message) in [
        (
            MISNAMED,
            "misnamed",
            "`0001_x.sql`: expected `<version>_<name>.up.sql` or `<version>_<name>.down.sql`",
        ),
        (
            DUPLICATE,
            "duplicate",
            "version 1 is used twice, by `a` and `b`",
        ),
        (
            ORPHAN,
            "orphan",
            "migration 3 `c` has a down script but no up script",
        ),
    ] {
        let err = Migrator::new(embedded).unwrap_err();
        assert!(
            matches!(&err, Error::Migration(m) if m.contains(message)),
            "{name}: {err:?}"
        );
        let from_dir = Migrator::from_dir(folder(name)).unwrap_err();
        assert_eq!(err.to_string(), from_dir.to_string(), "{name}");
    }
}
