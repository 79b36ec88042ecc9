//! `#[weir(rename_all = "...")]`: how a field name becomes a column name, and a variant name
//! the label a `Type` enum is stored as.

use syn::ext::IdentExt;
use syn::{Ident, LitStr};

/// How `#[weir(rename_all = "...")]` turns a field name into a column name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    /// `snake_case`: lowercase words joined by `_`.
    Snake,
    /// `lowercase`: the field name in lowercase, separators kept.
    Lower,
    /// `UPPERCASE`: the field name in uppercase, separators kept.
    Upper,
    /// `camelCase`: first word lowercase, the others capitalised, no separator.
    Camel,
    /// `PascalCase`: every word capitalised, no separator.
    Pascal,
    /// `SCREAMING_SNAKE_CASE`: uppercase words joined by `_`.
    ScreamingSnake,
}

impl RenameRule {
    pub(crate) const ALL: [(&'static str, RenameRule); 6] = [
        ("snake_case", RenameRule::Snake),
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("camelCase", RenameRule::Camel),
        ("PascalCase", RenameRule::Pascal),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, rule)| rule)
    }

    /// The accepted names, quoted, for error messages.
    pub(crate) fn expected() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        names.join(", ")
    }

    /// Converts a field name (already without `r#`) to a column name.
    ///
    /// Words are split at `_` and at case changes (`userId`, `HTTPServer`),
    /// so names that are not `snake_case` convert sensibly too. Leading
    /// underscores are kept as they are.
    pub(crate) fn apply(self, field: &str) -> String {
        let body = field.trim_start_matches('_');
        let prefix = &field[..field.len() - body.len()];
        let converted = match self {
            RenameRule::Lower => body.to_lowercase(),
            RenameRule::Upper => body.to_uppercase(),
            RenameRule::Snake => join_words(body, "_", |_, w| w.to_lowercase()),
            RenameRule::ScreamingSnake => join_words(body, "_", |_, w| w.to_uppercase()),
            RenameRule::Camel => join_words(body, "", |i, w| {
                if i == 0 {
                    w.to_lowercase()
                } else {
                    capitalize(w)
                }
            }),
            RenameRule::Pascal => join_words(body, "", |_, w| capitalize(w)),
        };
        format!("{prefix}{converted}")
    }
}

/// The column a named field reads (or the label a `Type` enum's variant is stored as):
/// `rename`, else `rename_all` applied to the name, else the name; always without `r#`.
pub(crate) fn column_name(
    ident: &Ident,
    rename: Option<&LitStr>,
    rule: Option<RenameRule>,
) -> LitStr {
    if let Some(lit) = rename {
        return lit.clone();
    }
    let field = ident.unraw().to_string();
    let column = match rule {
        Some(rule) => rule.apply(&field),
        None => field,
    };
    LitStr::new(&column, ident.span())
}

fn join_words(name: &str, sep: &str, mut f: impl FnMut(usize, &str) -> String) -> String {
    split_words(name)
        .iter()
        .enumerate()
        .map(|(i, w)| f(i, w))
        .collect::<Vec<_>>()
        .join(sep)
}

/// `"wORD"` -> `"Word"`.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Splits an identifier into words: at `_`, before an uppercase letter that
/// follows a lowercase letter or digit (`userId` -> `user`, `Id`), and before
/// the last capital of an acronym followed by lowercase (`HTTPServer` ->
/// `HTTP`, `Server`). Digits stick to the word they follow.
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in name.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_uppercase() {
                let prev = chars[i - 1];
                let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
                let boundary = prev.is_lowercase()
                    || prev.is_numeric()
                    || (prev.is_uppercase() && next_is_lower);
                if boundary && !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            current.push(c);
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

#[cfg(test)]
mod tests;
