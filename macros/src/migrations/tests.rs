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
fn embeds_in_version_order_with_optional_downs() {
    let dir = Dir::new(
        "ok",
        &[
            ("0002_second.up.sql", "SELECT 2"),
            ("0001_first.up.sql", "SELECT 1"),
            ("0001_first.down.sql", "SELECT -1"),
            ("README.md", "not a migration"),
        ],
    );
    let out = expand_dir(&dir).unwrap();
    let first = out.find("1i64").unwrap();
    let second = out.find("2i64").unwrap();
    assert!(first < second, "{out}");
    assert!(out.contains("0001_first.down.sql"), "{out}");
    assert!(
        out.contains(":: weir :: migrate :: EmbeddedMigration"),
        "{out}"
    );
    assert!(!out.contains("README"), "{out}");
}

#[test]
fn misnamed_duplicate_and_orphan_files_are_compile_errors() {
    for (tag, files, message) in [
        (
            "misnamed",
            vec![("0001_x.sql", "")],
            "expected `<version>_<name>.up.sql`",
        ),
        (
            "duplicate",
            vec![("0001_a.up.sql", ""), ("1_b.up.sql", "")],
            "version 1 is used twice",
        ),
        ("orphan", vec![("0003_c.down.sql", "")], "no up script"),
    ] {
        let dir = Dir::new(tag, &files);
        let e = expand_dir(&dir).unwrap_err().to_string();
        assert!(e.contains(message), "{tag}: {e}");
    }
    let missing = expand(Path::new("/nonexistent"), quote!("nowhere")).unwrap_err();
    assert!(missing
        .to_string()
        .contains("cannot read migrations folder"));
}
