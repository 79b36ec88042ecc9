//! Where migrations come from: a folder read at run time (the CLI), or files embedded at
//! compile time by `embed_migrations!` (services). Both go through [`assemble`], so a folder
//! means the same thing either way: the macro embeds file names and scripts, and the names are
//! parsed here only, when `Migrator::new` runs.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use super::Migration;
use crate::error::{Error, Result};

/// Which script of a migration a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Up,
    Down,
}

/// Splits `0001_create_users.up.sql` into `(1, "create_users", Up)`.
///
/// `Ok(None)` for a file that is not a migration at all (not `.sql`, or hidden), so that a
/// README can sit next to the scripts; an error for a `.sql` file that breaks the pattern,
/// since that is almost always a typo that would otherwise be skipped silently.
pub(super) fn parse_file_name(
    file: &str,
) -> std::result::Result<Option<(i64, &str, Direction)>, String> {
    if file.starts_with('.') || !file.ends_with(".sql") {
        return Ok(None);
    }
    let expected = "expected `<version>_<name>.up.sql` or `<version>_<name>.down.sql`, \
                    e.g. `0001_create_users.up.sql`";
    let (stem, direction) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, Direction::Up)
    } else if let Some(stem) = file.strip_suffix(".down.sql") {
        (stem, Direction::Down)
    } else {
        return Err(format!("`{file}`: {expected}"));
    };
    let Some((version, name)) = stem.split_once('_') else {
        return Err(format!("`{file}`: {expected}"));
    };
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return Err(format!("`{file}`: {expected}"));
    }
    match version.parse::<i64>() {
        Ok(v) if v > 0 => Ok(Some((v, name, direction))),
        _ => Err(format!(
            "`{file}`: the version must be a whole number from 1 to {}",
            i64::MAX
        )),
    }
}

/// The scripts found for one version so far.
#[derive(Default)]
struct Parts {
    name: String,
    up: Option<Cow<'static, str>>,
    down: Option<Cow<'static, str>>,
}

/// Builds migrations from `(file name, contents)` pairs: every up script once, down scripts
/// optional but only next to their up script, one name per version.
pub(super) fn assemble(
    files: impl IntoIterator<Item = (String, Cow<'static, str>)>,
) -> Result<Vec<Migration>> {
    let mut by_version: BTreeMap<i64, Parts> = BTreeMap::new();
    for (file, sql) in files {
        let Some((version, name, direction)) = parse_file_name(&file).map_err(Error::Migration)?
        else {
            continue;
        };
        let parts = by_version.entry(version).or_default();
        if parts.name.is_empty() {
            parts.name = name.to_owned();
        } else if parts.name != name {
            return Err(Error::Migration(format!(
                "version {version} is used twice, by `{}` and `{name}`: each migration needs a \
                 version of its own",
                parts.name
            )));
        }
        let slot = match direction {
            Direction::Up => &mut parts.up,
            Direction::Down => &mut parts.down,
        };
        if slot.is_some() {
            return Err(Error::Migration(format!("`{file}` is given twice")));
        }
        *slot = Some(sql);
    }
    by_version
        .into_iter()
        .map(|(version, parts)| {
            let Some(up) = parts.up else {
                return Err(Error::Migration(format!(
                    "migration {version} `{}` has a down script but no up script \
                     (`{version:04}_{}.up.sql`)",
                    parts.name, parts.name
                )));
            };
            let mut m = Migration::new(version, parts.name, up);
            m.down = parts.down;
            Ok(m)
        })
        .collect()
}

/// Reads every migration in `dir` (not its subfolders), in file-name order as
/// `embed_migrations!` lists them, so that a folder with several faults gives the same error
/// either way.
pub(super) fn read_dir(dir: &Path) -> Result<Vec<Migration>> {
    let io_error = |what: &Path, e: std::io::Error| {
        Error::Migration(format!("reading {}: {e}", what.display()))
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| io_error(dir, e))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.path();
        if !entry.file_type().map_err(|e| io_error(&path, e))?.is_file() {
            continue;
        }
        let Some(file) = entry.file_name().to_str().map(str::to_owned) else {
            // A name that is not UTF-8 cannot match the pattern; say so rather than skip it.
            return Err(Error::Migration(format!(
                "{}: file name is not UTF-8",
                path.display()
            )));
        };
        if parse_file_name(&file).map_err(Error::Migration)?.is_none() {
            continue;
        }
        let sql = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        files.push((file, Cow::Owned(sql)));
    }
    assemble(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(names: &[&str]) -> Vec<(String, Cow<'static, str>)> {
        names
            .iter()
            .map(|n| (n.to_string(), Cow::Owned(format!("-- {n}"))))
            .collect()
    }

    #[test]
    fn file_names_parse_or_are_rejected() {
        assert_eq!(
            parse_file_name("0001_create_users.up.sql"),
            Ok(Some((1, "create_users", Direction::Up)))
        );
        assert_eq!(
            parse_file_name("20240101120000_a_b.down.sql"),
            Ok(Some((20_240_101_120_000, "a_b", Direction::Down)))
        );
        assert_eq!(parse_file_name("README.md"), Ok(None));
        assert_eq!(parse_file_name(".0001_x.up.sql.swp"), Ok(None));
        for bad in [
            "0001_x.sql",
            "0001.up.sql",
            "0001_.up.sql",
            "x1_name.up.sql",
            "0000_zero.up.sql",
            "99999999999999999999_big.up.sql",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn assembles_in_version_order_with_optional_downs() {
        let ms = assemble(files(&[
            "0002_b.up.sql",
            "0001_a.down.sql",
            "notes.txt",
            "0001_a.up.sql",
        ]))
        .unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!((ms[0].version, &*ms[0].name), (1, "a"));
        assert_eq!(ms[0].down.as_deref(), Some("-- 0001_a.down.sql"));
        assert_eq!((ms[1].version, ms[1].down.is_none()), (2, true));
        assert_eq!(ms[1].checksum, super::super::checksum("-- 0002_b.up.sql"));
    }

    #[test]
    fn rejects_duplicates_and_orphan_downs() {
        let dup = assemble(files(&["0001_a.up.sql", "1_b.up.sql"])).unwrap_err();
        assert!(dup.to_string().contains("version 1 is used twice"), "{dup}");
        let orphan = assemble(files(&["0003_c.down.sql"])).unwrap_err();
        assert!(orphan.to_string().contains("no up script"), "{orphan}");
        let mismatch = assemble(files(&["0001_a.up.sql", "0001_b.down.sql"])).unwrap_err();
        assert!(mismatch.to_string().contains("used twice"), "{mismatch}");
    }
}
