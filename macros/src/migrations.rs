//! `embed_migrations!("dir")`: compiles a folder of migration scripts into the binary.
//!
//! The folder is read when the macro expands, relative to the calling crate's
//! `CARGO_MANIFEST_DIR`. Each script becomes an `include_str!` of its absolute path, so cargo
//! rebuilds when a script changes; a script *added* to the folder is only seen on the next
//! rebuild of the crate (stable proc macros cannot watch a folder), which a build script with
//! `cargo:rerun-if-changed=<dir>` forces.
//!
//! The file-name rules mirror `src/migrate/source.rs` in weir, which cannot be shared with a
//! proc-macro crate; weir's test `embedded_matches_from_dir` keeps the two in step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proc_macro2::{Literal, TokenStream as TokenStream2};
use quote::quote;
use syn::LitStr;

/// The scripts found for one version.
#[derive(Default)]
struct Parts {
    name: String,
    up: Option<PathBuf>,
    down: Option<PathBuf>,
}

/// Expands `embed_migrations!("dir")` with `dir` taken relative to `base`.
pub(crate) fn expand(base: &Path, input: TokenStream2) -> syn::Result<TokenStream2> {
    let lit: LitStr = syn::parse2(input)?;
    let dir = base.join(lit.value());
    let err = |msg: String| syn::Error::new(lit.span(), msg);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        err(format!(
            "cannot read migrations folder {}: {e}",
            dir.display()
        ))
    })?;
    let mut by_version: BTreeMap<i64, Parts> = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(format!("reading {}: {e}", dir.display())))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            return Err(err(format!("{}: file name is not UTF-8", path.display())));
        };
        let Some((version, name, is_up)) = parse_file_name(file).map_err(&err)? else {
            continue;
        };
        let parts = by_version.entry(version).or_default();
        if parts.name.is_empty() {
            parts.name = name.to_owned();
        } else if parts.name != name {
            return Err(err(format!(
                "version {version} is used twice, by `{}` and `{name}`: each migration needs a \
                 version of its own",
                parts.name
            )));
        }
        let slot = if is_up {
            &mut parts.up
        } else {
            &mut parts.down
        };
        *slot = Some(path);
    }
    let mut items = Vec::new();
    for (version, parts) in by_version {
        let Some(up) = parts.up else {
            return Err(err(format!(
                "migration {version} `{}` has a down script but no up script",
                parts.name
            )));
        };
        let up = path_literal(&up).map_err(&err)?;
        let down = match &parts.down {
            Some(p) => {
                let p = path_literal(p).map_err(&err)?;
                quote!(::core::option::Option::Some(::core::include_str!(#p)))
            }
            None => quote!(::core::option::Option::None),
        };
        let version = Literal::i64_suffixed(version);
        let name = &parts.name;
        items.push(quote! {
            ::weir::migrate::EmbeddedMigration {
                version: #version,
                name: #name,
                up: ::core::include_str!(#up),
                down: #down,
            }
        });
    }
    // A const item is 'static whatever the expressions in it, so the slice can go straight
    // into a `static` or into `Migrator::new`.
    Ok(quote! {{
        const __WEIR_MIGRATIONS: &[::weir::migrate::EmbeddedMigration] = &[#(#items),*];
        __WEIR_MIGRATIONS
    }})
}

fn path_literal(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: path is not UTF-8", path.display()))
}

/// `0001_create_users.up.sql` -> `(1, "create_users", true)`; `None` for files that are not
/// migrations (not `.sql`, hidden); an error for a misnamed `.sql` file.
fn parse_file_name(file: &str) -> Result<Option<(i64, &str, bool)>, String> {
    if file.starts_with('.') || !file.ends_with(".sql") {
        return Ok(None);
    }
    let expected = "expected `<version>_<name>.up.sql` or `<version>_<name>.down.sql`, \
                    e.g. `0001_create_users.up.sql`";
    let (stem, is_up) = if let Some(stem) = file.strip_suffix(".up.sql") {
        (stem, true)
    } else if let Some(stem) = file.strip_suffix(".down.sql") {
        (stem, false)
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
        Ok(v) if v > 0 => Ok(Some((v, name, is_up))),
        _ => Err(format!(
            "`{file}`: the version must be a whole number from 1 to {}",
            i64::MAX
        )),
    }
}

#[cfg(test)]
mod tests;
