//! `embed_migrations!("dir")`: compiles a folder of migration scripts into the binary.
//!
//! The folder is read when the macro expands, relative to the calling crate's
//! `CARGO_MANIFEST_DIR`. Each script becomes an `include_str!` of its absolute path, so cargo
//! rebuilds when a script changes; a script *added* to the folder is only seen on the next
//! rebuild of the crate (stable proc macros cannot watch a folder), which a build script with
//! `cargo:rerun-if-changed=<dir>` forces.
//!
//! The macro does not read versions or names: it embeds every `.sql` file with its file name,
//! and `Migrator::new` parses the names with weir's one parser (`src/migrate/source.rs`), the
//! one `Migrator::from_dir` uses.

use std::path::Path;

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::LitStr;

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
    let mut scripts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| err(format!("reading {}: {e}", dir.display())))?;
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            return Err(err(format!("{}: file name is not UTF-8", path.display())));
        };
        // The parser skips these too; leaving them out keeps a README out of the binary.
        if file.starts_with('.') || !file.ends_with(".sql") {
            continue;
        }
        let Some(abs) = path.to_str() else {
            return Err(err(format!("{}: path is not UTF-8", path.display())));
        };
        scripts.push((file.to_owned(), abs.to_owned()));
    }
    // Sorted, so that the expansion (and the binary) does not depend on directory order.
    scripts.sort();
    let items = scripts.iter().map(|(file, abs)| {
        quote!(::weir::migrate::EmbeddedMigration::new(#file, ::core::include_str!(#abs)))
    });
    // A const item is 'static whatever the expressions in it, so the slice can go straight
    // into a `static` or into `Migrator::new`.
    Ok(quote! {{
        const __WEIR_MIGRATIONS: &[::weir::migrate::EmbeddedMigration] = &[#(#items),*];
        __WEIR_MIGRATIONS
    }})
}

#[cfg(test)]
mod tests;
