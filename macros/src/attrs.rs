//! `#[weir(...)]` on a struct and on its fields (an enum and its variants for `Type`): the one
//! parser behind every derive.
//!
//! Every key is listed once in [`KEYS`], with where it goes and which derive takes it, so
//! a key the derive does not take is reported with that derive's own list of keys.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr, Token};

use crate::rename::RenameRule;

/// The derive being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    FromRow,
    Entity,
    /// `Type` on an enum: the enum takes `rename_all`, its variants `rename`.
    Enum,
    /// `Type` on a struct of one field: no keys at all.
    Newtype,
}

impl Derive {
    fn name(self) -> &'static str {
        match self {
            Derive::FromRow => "FromRow",
            Derive::Entity => "Entity",
            Derive::Enum | Derive::Newtype => "Type",
        }
    }

    fn takes(self, key: &Key) -> bool {
        key.derives.contains(&self)
    }

    /// "unknown weir attribute `x` on {this}".
    fn place_name(self, place: Place) -> &'static str {
        match (self, place) {
            (Derive::FromRow, Place::Struct) => "a struct",
            (Derive::FromRow, Place::Field) => "a field",
            (Derive::Entity, Place::Struct) => "an entity",
            (Derive::Entity, Place::Field) => "an entity field",
            (Derive::Enum, Place::Struct) => "an enum",
            (Derive::Enum, Place::Field) => "a variant",
            (Derive::Newtype, Place::Struct) => "a newtype",
            (Derive::Newtype, Place::Field) => "a newtype's field",
        }
    }

    /// "`x` goes on {member}, not on {container}" and the other way round.
    fn place_words(self) -> (&'static str, &'static str) {
        match self {
            Derive::Enum => ("the enum", "a variant"),
            _ => ("the struct", "a field"),
        }
    }

    /// What `rename = "..."` names, for its error when empty.
    fn renamed(self) -> &'static str {
        match self {
            Derive::Enum => "label",
            _ => "column name",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Struct,
    Field,
}

struct Key {
    name: &'static str,
    place: Place,
    /// The derives that take it.
    derives: &'static [Derive],
}

const ROWS: &[Derive] = &[Derive::FromRow, Derive::Entity];
const ROWS_AND_ENUMS: &[Derive] = &[Derive::FromRow, Derive::Entity, Derive::Enum];
const ENTITY: &[Derive] = &[Derive::Entity];

/// Every key, in the order error messages list them.
const KEYS: [Key; 7] = [
    key("table", Place::Struct, ENTITY),
    key("rename_all", Place::Struct, ROWS_AND_ENUMS),
    key("rename", Place::Field, ROWS_AND_ENUMS),
    key("default", Place::Field, ROWS),
    key("primary_key", Place::Field, ENTITY),
    key("generated", Place::Field, ENTITY),
    key("version", Place::Field, ENTITY),
];

const fn key(name: &'static str, place: Place, derives: &'static [Derive]) -> Key {
    Key {
        name,
        place,
        derives,
    }
}

/// Options from `#[weir(...)]` on the struct.
#[derive(Default)]
pub(crate) struct StructAttrs {
    /// `table = "..."` (Entity only).
    pub(crate) table: Option<LitStr>,
    /// `rename_all = "..."`, with the span of the key for errors about it.
    pub(crate) rename_all: Option<(RenameRule, Span)>,
}

/// Options from `#[weir(...)]` on a field; each flag holds the span of its key.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) default: Option<Span>,
    pub(crate) primary_key: Option<Span>,
    pub(crate) generated: Option<Span>,
    pub(crate) version: Option<Span>,
}

/// Collects errors so that every problem is reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The fields of the struct a derive is on; enums and unions are errors.
pub(crate) fn struct_fields(input: &DeriveInput, derive: Derive) -> syn::Result<&Fields> {
    let (span, kind) = match &input.data {
        Data::Struct(data) => return Ok(&data.fields),
        Data::Enum(data) => (data.enum_token.span, "enums"),
        Data::Union(data) => (data.union_token.span, "unions"),
    };
    Err(syn::Error::new(
        span,
        format!(
            "{} can be derived only for structs, not {kind}",
            derive.name()
        ),
    ))
}

fn is_weir(attr: &Attribute) -> bool {
    attr.path().is_ident("weir")
}

/// The struct's `#[weir(...)]` options for `derive`; problems go to `errors`.
pub(crate) fn parse_struct(
    attrs: &[Attribute],
    derive: Derive,
    errors: &mut Errors,
) -> StructAttrs {
    let mut opts = StructAttrs::default();
    for_each_key(
        attrs,
        derive,
        Place::Struct,
        errors,
        |name, meta| match name {
            "table" => {
                let lit = non_empty(meta, name, "table name must not be empty")?;
                set(&mut opts.table, lit, meta, name)
            }
            "rename_all" => {
                let rule = rename_rule(meta)?;
                set(&mut opts.rename_all, (rule, meta.path.span()), meta, name)
            }
            _ => Err(unhandled(meta, name)),
        },
    );
    opts
}

/// A field's `#[weir(...)]` options for `derive`, conflicts checked; problems go to `errors`.
pub(crate) fn parse_field(attrs: &[Attribute], derive: Derive, errors: &mut Errors) -> FieldAttrs {
    let mut opts = FieldAttrs::default();
    for_each_key(attrs, derive, Place::Field, errors, |name, meta| {
        let slot = match name {
            "rename" => {
                let empty = format!("{} must not be empty", derive.renamed());
                let lit = non_empty(meta, name, &empty)?;
                return set(&mut opts.rename, lit, meta, name);
            }
            "default" => &mut opts.default,
            "primary_key" => &mut opts.primary_key,
            "generated" => &mut opts.generated,
            "version" => &mut opts.version,
            _ => return Err(unhandled(meta, name)),
        };
        expect_flag(meta, name)?;
        set(slot, meta.path.span(), meta, name)
    });
    let mut conflict = |span: Option<Span>, msg: &str| {
        if let Some(span) = span {
            errors.push(syn::Error::new(span, msg));
        }
    };
    if opts.default.is_some() {
        let rename = opts.rename.as_ref().map(LitStr::span);
        for (span, name) in [
            (rename, "rename"),
            (opts.primary_key, "primary_key"),
            (opts.version, "version"),
        ] {
            conflict(
                span,
                &format!("`{name}` and `default` conflict: a `default` field reads no column"),
            );
        }
    }
    if opts.primary_key.is_none() {
        conflict(
            opts.generated,
            "`generated` marks a database-generated primary key: write \
             `#[weir(primary_key, generated)]`",
        );
    }
    if opts.primary_key.is_some() {
        conflict(opts.version, "the version column cannot be the primary key");
    }
    opts
}

/// Runs `f` on every key in the `#[weir(...)]` attributes that `derive` takes at `place`,
/// and reports every other key, with the keys it expected.
fn for_each_key(
    attrs: &[Attribute],
    derive: Derive,
    place: Place,
    errors: &mut Errors,
    mut f: impl FnMut(&'static str, &ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    let (container, member) = derive.place_words();
    for attr in attrs.iter().filter(|a| is_weir(a)) {
        let res = attr.parse_nested_meta(|meta| {
            let known = KEYS
                .iter()
                .find(|k| derive.takes(k) && meta.path.is_ident(k.name));
            match known {
                Some(key) if key.place == place => f(key.name, &meta),
                Some(_) if place == Place::Struct => Err(meta.error(format!(
                    "`{}` goes on {member}, not on {container}",
                    path_name(&meta)
                ))),
                Some(_) => Err(meta.error(format!(
                    "`{}` goes on {container}, not on {member}",
                    path_name(&meta)
                ))),
                None if place == Place::Field
                    && ROWS.contains(&derive)
                    && meta.path.is_ident("flatten") =>
                {
                    Err(meta.error(
                        "flatten is not supported: a `weir::Row` can be consumed only once; \
                         list the nested struct's fields here instead",
                    ))
                }
                None => Err(meta.error(format!(
                    "unknown weir attribute `{}` on {}; {}",
                    path_name(&meta),
                    derive.place_name(place),
                    expected(derive, place)
                ))),
            }
        });
        if let Err(err) = res {
            errors.push(err);
        }
    }
}

/// "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
fn expected(derive: Derive, place: Place) -> String {
    let names: Vec<String> = KEYS
        .iter()
        .filter(|k| k.place == place && derive.takes(k))
        .map(|k| format!("`{}`", k.name))
        .collect();
    match names.as_slice() {
        [] => format!("{} takes none", derive.place_name(place)),
        [one] => format!("expected {one}"),
        [a, b] => format!("expected {a} or {b}"),
        _ => format!("expected one of {}", names.join(", ")),
    }
}

/// A key in [`KEYS`] that its parser has no arm for: a bug here, reported rather than a panic.
fn unhandled(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Error {
    meta.error(format!(
        "weir-macros does not handle `{name}` here (a bug in weir-macros)"
    ))
}

/// Stores a key's value, unless the key was given already.
fn set<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta<'_>,
    name: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("duplicate `{name}` attribute")));
    }
    *slot = Some(value);
    Ok(())
}

/// Rejects `key = value` / `key(...)` after a flag such as `default`.
fn expect_flag(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        Err(meta.error(format!("`{name}` takes no value: write `#[weir({name})]`")))
    } else {
        Ok(())
    }
}

/// Parses the `= "..."` of `key = "..."`, with a clear error if it is missing.
fn string_value(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("expected `{name} = \"...\"`")));
    }
    meta.value()?.parse::<LitStr>()
}

/// The rule named by `rename_all = "..."`.
fn rename_rule(meta: &ParseNestedMeta<'_>) -> syn::Result<RenameRule> {
    let lit = string_value(meta, "rename_all")?;
    RenameRule::from_name(&lit.value()).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!(
                "unknown rename_all rule `{}`; expected one of {}",
                lit.value(),
                RenameRule::expected()
            ),
        )
    })
}

/// [`string_value`] that must not be `""`.
fn non_empty(meta: &ParseNestedMeta<'_>, name: &str, empty: &str) -> syn::Result<LitStr> {
    let lit = string_value(meta, name)?;
    if lit.value().is_empty() {
        return Err(syn::Error::new(lit.span(), empty));
    }
    Ok(lit)
}

fn path_name(meta: &ParseNestedMeta<'_>) -> String {
    let segments: Vec<String> = meta
        .path
        .segments
        .iter()
        .map(|s| s.ident.unraw().to_string())
        .collect();
    segments.join("::")
}

#[cfg(test)]
mod tests;
