//! `#[derive(FromRow)]`: reads named fields by column name, tuple fields by position.

use proc_macro2::{Span, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    parse_quote, parse_quote_spanned, DeriveInput, Fields, GenericParam, Generics, Ident, Type,
    TypeParamBound, WherePredicate,
};

use crate::attrs::{self, struct_fields, Derive, Errors, FieldAttrs};
use crate::rename::{column_name, RenameRule};

/// The whole derive, on a parsed input.
pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = struct_fields(input, Derive::FromRow)?;
    let mut errors = Errors::default();
    let opts = attrs::parse_struct(&input.attrs, Derive::FromRow, &mut errors);
    let field_attrs: Vec<FieldAttrs> = fields
        .iter()
        .map(|f| attrs::parse_field(&f.attrs, Derive::FromRow, &mut errors))
        .collect();
    generate(input, fields, opts.rename_all, &field_attrs, errors)
}

/// The `FromRow` impl for a struct whose attributes are parsed (`field_attrs` in field order);
/// the Entity derive calls it too. Reports `errors` with its own.
pub(crate) fn generate(
    input: &DeriveInput,
    fields: &Fields,
    rename_all: Option<(RenameRule, Span)>,
    field_attrs: &[FieldAttrs],
    mut errors: Errors,
) -> syn::Result<TokenStream2> {
    if let (Some((_, span)), Fields::Unnamed(_) | Fields::Unit) = (rename_all, fields) {
        errors.push(syn::Error::new(
            span,
            "`rename_all` applies only to structs with named fields",
        ));
    }
    let rule = rename_all.map(|(rule, _)| rule);

    let names = GenericNames::new(&input.generics);
    let row = Ident::new("row", Span::call_site());
    let mut generics = input.generics.clone();
    let mut inits: Vec<TokenStream2> = Vec::new();
    let mut reads_any = false;
    let mut uses_map = false;
    let mut next_index = 0usize;

    for (pos, (field, opts)) in fields.iter().zip(field_attrs).enumerate() {
        let ty = &field.ty;
        let ty_span = ty.span();
        let field_ident = field.ident.as_ref();
        if let (None, Some(rename)) = (field_ident, &opts.rename) {
            errors.push(syn::Error::new(
                rename.span(),
                "`rename` applies only to named fields; tuple-struct fields are read by position",
            ));
        }

        let value = if opts.default.is_some() {
            if names.mentioned_in(ty) {
                add_bound(
                    &mut generics,
                    ty,
                    parse_quote_spanned!(ty_span=> ::std::default::Default),
                );
            }
            quote_spanned!(ty_span=> <#ty as ::std::default::Default>::default())
        } else {
            reads_any = true;
            if names.mentioned_in(ty) {
                add_bound(
                    &mut generics,
                    ty,
                    parse_quote_spanned!(ty_span=> ::weir::Decode),
                );
            }
            if let Some(ident) = field_ident {
                let column = column_name(ident, opts.rename.as_ref(), rule);
                let hint = proc_macro2::Literal::usize_suffixed(next_index);
                next_index += 1;
                uses_map = true;
                quote_spanned!(ty_span=> {
                    let at = map.locate(&#row, ::weir::__private::NameAt { name: #column, hint: #hint })?;
                    #row.try_take::<#ty, usize>(at)?
                })
            } else {
                let index = proc_macro2::Literal::usize_suffixed(next_index);
                next_index += 1;
                quote_spanned!(ty_span=> #row.try_take::<#ty, usize>(#index)?)
            }
        };
        let member = match field_ident {
            Some(ident) => syn::Member::Named(ident.clone()),
            None => syn::Member::Unnamed(syn::Index::from(pos)),
        };
        inits.push(quote!(#member: #value));
    }
    errors.finish()?;

    let body = match fields {
        Fields::Named(_) | Fields::Unnamed(_) => quote!(Self { #(#inits),* }),
        Fields::Unit => quote!(Self),
    };
    let param = if reads_any {
        row.clone()
    } else {
        Ident::new("_row", Span::call_site())
    };
    let map_param = if uses_map {
        Ident::new("map", Span::call_site())
    } else {
        Ident::new("_map", Span::call_site())
    };
    // Columns are taken out of the row (no copy of MySQL strings), so it is rebound mutable.
    let rebind = if reads_any {
        quote!(let mut #row = #row;)
    } else {
        quote!()
    };

    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &input.ident;

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::weir::FromRow for #name #ty_generics #where_clause {
            fn from_row(row: ::weir::Row) -> ::weir::Result<Self> {
                Self::from_row_mapped(row, &mut ::weir::__private::ColumnMap::default())
            }

            fn from_row_mapped(#param: ::weir::Row, #map_param: &mut ::weir::__private::ColumnMap) -> ::weir::Result<Self> {
                #rebind
                ::std::result::Result::Ok(#body)
            }
        }
    })
}

/// Names of the generic parameters, to find field types that mention them.
pub(crate) struct GenericNames {
    types: Vec<Ident>,
    lifetimes: Vec<Ident>,
}

impl GenericNames {
    pub(crate) fn new(generics: &Generics) -> Self {
        let mut types = Vec::new();
        let mut lifetimes = Vec::new();
        for param in &generics.params {
            match param {
                GenericParam::Type(t) => types.push(t.ident.clone()),
                GenericParam::Const(c) => types.push(c.ident.clone()),
                GenericParam::Lifetime(l) => lifetimes.push(l.lifetime.ident.clone()),
            }
        }
        GenericNames { types, lifetimes }
    }

    /// Whether `ty` mentions a generic parameter of the struct (by a token
    /// walk: a path segment that happens to share a parameter's name only
    /// adds a harmless predicate).
    pub(crate) fn mentioned_in(&self, ty: &Type) -> bool {
        if self.types.is_empty() && self.lifetimes.is_empty() {
            return false;
        }
        self.mentioned_in_tokens(quote!(#ty))
    }

    fn mentioned_in_tokens(&self, tokens: TokenStream2) -> bool {
        let mut after_quote = false;
        for tt in tokens {
            let found = match &tt {
                TokenTree::Group(g) => self.mentioned_in_tokens(g.stream()),
                TokenTree::Ident(id) if after_quote => self.lifetimes.iter().any(|l| l == id),
                TokenTree::Ident(id) => self.types.iter().any(|t| t == id),
                TokenTree::Punct(_) | TokenTree::Literal(_) => false,
            };
            if found {
                return true;
            }
            after_quote = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '\'');
        }
        false
    }
}

/// Adds `ty: bound` to the where clause, merged into an existing predicate
/// for the same type (`where T: Clone + ::weir::Decode`) and skipped if already
/// there, so that two fields of one type or a user's own `where T: ...` do not
/// produce repeated predicates (clippy's `type_repetition_in_bounds`).
pub(crate) fn add_bound(generics: &mut Generics, ty: &Type, bound: TypeParamBound) {
    let key = quote!(#ty).to_string();
    let bound_key = quote!(#bound).to_string();
    let where_clause = generics.make_where_clause();
    let existing = where_clause
        .predicates
        .iter_mut()
        .find_map(|pred| match pred {
            WherePredicate::Type(p) if p.lifetimes.is_none() => {
                let bounded = &p.bounded_ty;
                (quote!(#bounded).to_string() == key).then_some(p)
            }
            _ => None,
        });
    match existing {
        Some(p) => {
            if !p.bounds.iter().any(|b| quote!(#b).to_string() == bound_key) {
                p.bounds.push(bound);
            }
        }
        None => where_clause.predicates.push(parse_quote!(#ty: #bound)),
    }
}

#[cfg(test)]
mod tests;
