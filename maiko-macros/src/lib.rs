//! Derive macros for [maiko](https://docs.rs/maiko). Use them through the
//! `maiko` facade (`use maiko::*;` or `use maiko::prelude::*;`).
//!
//! - `#[derive(Event)]` implements `maiko::Event`, keeping generics and
//!   bounds;
//! - `#[derive(Label)]` implements `maiko::Label` for an enum, returning
//!   each variant's name;
//! - `#[derive(SelfRouting)]` implements `maiko::Topic<Self> for Self`: the
//!   event is its own topic, and the topic's name is the variant's name.
//!
//! The generated code names the facade by absolute path (`::maiko::…`), so
//! it works in any module; a crate that renames the dependency can add
//! `extern crate your_name as maiko;`.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, parse_macro_input};

/// Implements `maiko::Event` for the type.
#[proc_macro_derive(Event)]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::maiko::Event for #ident #ty_generics #where_clause {}
    }
    .into()
}

/// Implements `maiko::Label` for an enum: `label()` is the variant's name.
///
/// A struct or union is a compile error.
#[proc_macro_derive(Label)]
pub fn derive_label(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let body = match variant_names(&input, "Label") {
        Ok(body) => body,
        Err(error) => return error.to_compile_error().into(),
    };
    quote! {
        impl #impl_generics ::maiko::Label for #ident #ty_generics #where_clause {
            fn label(&self) -> ::std::borrow::Cow<'static, str> {
                #body
            }
        }
    }
    .into()
}

/// Implements `maiko::Topic<Self> for Self`, so each event is routed by its
/// own value (for an enum without data: by its variant).
///
/// The type must be `Clone + Hash + Eq` and an `Event`. For an enum, the
/// topic's `name()` is the variant's name.
#[proc_macro_derive(SelfRouting)]
pub fn derive_self_routing(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let name = match &input.data {
        Data::Enum(_) => match variant_names(&input, "SelfRouting") {
            Ok(body) => quote! {
                fn name(&self) -> ::std::borrow::Cow<'static, str> {
                    #body
                }
            },
            Err(error) => return error.to_compile_error().into(),
        },
        _ => {
            let text = ident.to_string();
            quote! {
                fn name(&self) -> ::std::borrow::Cow<'static, str> {
                    ::std::borrow::Cow::Borrowed(#text)
                }
            }
        }
    };
    quote! {
        impl #impl_generics ::maiko::Topic<#ident #ty_generics> for #ident #ty_generics #where_clause {
            fn from_event(event: &Self) -> Self {
                ::std::clone::Clone::clone(event)
            }
            #name
        }
    }
    .into()
}

/// A `match self` returning each variant's name as a `Cow<'static, str>`.
fn variant_names(input: &DeriveInput, derive: &str) -> syn::Result<Tokens> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("{derive} can only be derived for enums"),
        ));
    };
    let arms = data.variants.iter().map(|variant| {
        let ident = &variant.ident;
        let text = ident.to_string();
        let pattern = match &variant.fields {
            Fields::Unit => quote! { Self::#ident },
            Fields::Unnamed(_) => quote! { Self::#ident(..) },
            Fields::Named(_) => quote! { Self::#ident { .. } },
        };
        quote! { #pattern => ::std::borrow::Cow::Borrowed(#text) }
    });
    if data.variants.is_empty() {
        return Ok(quote! { match *self {} });
    }
    Ok(quote! {
        match self {
            #(#arms),*
        }
    })
}
