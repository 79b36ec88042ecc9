//! What the macro lists from a folder. What the list means (versions, names, bad names) is
//! `Migrator::new`'s business, tested through the macro in `macros/tests/it/migrations.rs`.

use std::path::PathBuf;

use super::*;

/// A folder under the system temp dir, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str, files: &[(&str, &str)]) -> Dir {
        let path = std::env::temp_dir().join(format!("weir_macros_{tag}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        for (name, sql) in files {
            std::fs::write(path.join(name), sql).unwrap();
        }
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn expand_dir(dir: &Dir) -> syn::Result<String> {
    let lit = dir.0.to_str().unwrap();
    expand(Path::new("/nonexistent"), quote!(#lit)).map(|t| t.to_string())
}

#[test]
fn embeds_every_sql_file_by_name_in_name_order() {
    let dir = Dir::new(
        "ok",
        &[
            ("0002_second.up.sql", "SELECT 2"),
            ("0001_first.up.sql", "SELECT 1"),
            ("0001_first.down.sql", "SELECT -1"),
            ("README.md", "not a migration"),
            (".0003_hidden.up.sql", "SELECT 3"),
            // Misnamed: embedded all the same, for `Migrator::new` to reject.
            ("0004_x.sql", ""),
        ],
    );
    let out = expand_dir(&dir).unwrap();
    let path = |file: &str| dir.0.join(file).to_str().unwrap().to_owned();
    let entry = |file: &str| {
        let abs = path(file);
        quote!(::weir::migrate::EmbeddedMigration::new(#file, ::core::include_str!(#abs)))
            .to_string()
    };
    let entries: Vec<String> = [
        "0001_first.down.sql",
        "0001_first.up.sql",
        "0002_second.up.sql",
        "0004_x.sql",
    ]
    .iter()
    .map(|f| entry(f))
    .collect();
    let want = format!(
        "{{ const __WEIR_MIGRATIONS : & [:: weir :: migrate :: EmbeddedMigration] = & [{}] ; \
         __WEIR_MIGRATIONS }}",
        entries.join(" , ")
    );
    assert_eq!(out, want);
    assert!(!out.contains("README"), "{out}");
    assert!(!out.contains("hidden"), "{out}");
}

#[test]
fn an_empty_folder_embeds_nothing() {
    let dir = Dir::new("empty", &[]);
    let out = expand_dir(&dir).unwrap();
    assert!(out.contains("= & [] ;"), "{out}");
}

#[test]
fn an_unreadable_folder_is_a_compile_error() {
    let missing = expand(Path::new("/nonexistent"), quote!("nowhere")).unwrap_err();
    assert!(missing
        .to_string()
        .contains("cannot read migrations folder"));
    let not_a_string = expand(Path::new("/nonexistent"), quote!(nowhere)).unwrap_err();
    assert!(
        not_a_string.to_string().contains("expected string literal"),
        "{not_a_string}"
    );
}
