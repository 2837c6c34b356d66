//! Questions about the function's syntax: which names its arguments bind, whether a
//! type is `impl Trait` or a `Result`, and whether the body is one async block.
//!
//! A macro sees tokens, not types, so every answer here is about spelling:
//! `io::Result<()>` is a `Result`, an alias `type Res = Result<…>` is not (hence the
//! `err` argument).

use syn::visit::Visit;
use syn::{
    Block, Expr, ExprAsync, ExprCall, GenericArgument, Ident, Pat, PathArguments, Stmt, Type,
};

/// Appends the names `pat` binds, in order: `x` for `x: T`, `a` and `b` for
/// `(a, b): (T, U)`, `x` and `y` for `Point { x, y }: Point`, nothing for `_`.
pub(crate) fn bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                bindings(sub, out);
            }
        }
        Pat::Tuple(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::TupleStruct(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::Slice(p) => p.elems.iter().for_each(|e| bindings(e, out)),
        Pat::Struct(p) => p.fields.iter().for_each(|f| bindings(&f.pat, out)),
        Pat::Reference(p) => bindings(&p.pat, out),
        Pat::Type(p) => bindings(&p.pat, out),
        Pat::Paren(p) => bindings(&p.pat, out),
        // Every case of an or-pattern binds the same names: the first one lists them.
        Pat::Or(p) => {
            if let Some(first) = p.cases.first() {
                bindings(first, out);
            }
        }
        _ => {}
    }
}

/// Whether `impl Trait` appears anywhere in `ty`. Such an argument is not recorded: its
/// type is anonymous, so the user could not add a `Serialize` bound to it anyway. In a
/// return type it cannot be written as a `let` or closure annotation.
pub(crate) fn has_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// Whether `ty` is spelled `Result<…>` or `some::path::Result<…>` (`io::Result`,
/// `anyhow::Result`, `fmt::Result`).
pub(crate) fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Result")
        }
        Type::Paren(p) => is_result(&p.elem),
        Type::Group(g) => is_result(&g.elem),
        _ => false,
    }
}

/// `E` in `Result<T, E>`, where a missing `Debug` is best reported; `None` for
/// one-parameter aliases such as `io::Result<T>`.
pub(crate) fn error_type(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &path.path.segments.last()?.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    types.nth(1)
}

/// `T` in a return type such as `impl Future<Output = T>` or
/// `Pin<Box<dyn Future<Output = T> + Send + 'a>>`: the first `Output = …` binding.
pub(crate) fn future_output(ty: &Type) -> Option<&Type> {
    struct Finder<'a>(Option<&'a Type>);
    impl<'a> Visit<'a> for Finder<'a> {
        fn visit_path_arguments(&mut self, args: &'a PathArguments) {
            if let PathArguments::AngleBracketed(a) = args {
                let output = a.args.iter().find_map(|arg| match arg {
                    GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
                    _ => None,
                });
                self.0 = self.0.or(output);
            }
            syn::visit::visit_path_arguments(self, args);
        }
    }
    let mut finder = Finder(None);
    finder.visit_type(ty);
    finder.0
}

/// A body that is nothing but an async block: the shape of a hand-written async
/// function, `fn f() -> impl Future<Output = T> { async move { … } }`, and of what
/// `#[async_trait]` generates, `Box::pin(async move { … })`.
pub(crate) enum AsyncBody<'a> {
    /// `async move { … }`
    Bare(&'a ExprAsync),
    /// `Box::pin(async move { … })`: the call, whose only argument is the block.
    Boxed(&'a ExprCall, &'a ExprAsync),
}

pub(crate) fn async_body(block: &Block) -> Option<AsyncBody<'_>> {
    let [Stmt::Expr(expr, None)] = block.stmts.as_slice() else {
        return None;
    };
    match expr {
        Expr::Async(body) => Some(AsyncBody::Bare(body)),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            match call.args.first() {
                Some(Expr::Async(body)) => Some(AsyncBody::Boxed(call, body)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `Box::pin`, however much of `std::boxed::Box::pin` is spelled out.
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let mut rev = path.path.segments.iter().rev();
    matches!((rev.next(), rev.next()), (Some(f), Some(b)) if f.ident == "pin" && b.ident == "Box")
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn names(pat: &Pat) -> Vec<String> {
        let mut out = Vec::new();
        bindings(pat, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn patterns_bind_their_names() {
        assert_eq!(names(&parse_quote!(mut x)), ["x"]);
        assert_eq!(names(&parse_quote!((a, (b, _)))), ["a", "b"]);
        assert_eq!(
            names(&parse_quote!(Point { x, y: renamed, .. })),
            ["x", "renamed"]
        );
        assert_eq!(names(&parse_quote!(Wrapper(inner))), ["inner"]);
        assert_eq!(
            names(&parse_quote!(&[first, ref rest @ ..])),
            ["first", "rest"]
        );
        assert!(names(&parse_quote!(_)).is_empty());
    }

    #[test]
    fn types_are_judged_by_spelling() {
        assert!(has_impl_trait(&parse_quote!(impl Fn())));
        assert!(has_impl_trait(&parse_quote!(&mut Vec<impl Display>)));
        assert!(!has_impl_trait(&parse_quote!(Box<dyn Fn()>)));
        assert!(is_result(&parse_quote!(Result<u8, E>)));
        assert!(is_result(&parse_quote!(std::io::Result<()>)));
        assert!(!is_result(&parse_quote!(Option<Result<u8, E>>)));
        assert!(!is_result(&parse_quote!(<T as Tr>::Result)));
        let result: Type = parse_quote!(Result<u8, MyError>);
        let error = error_type(&result).map(|t| quote::quote!(#t).to_string());
        assert_eq!(error.as_deref(), Some("MyError"));
        assert!(error_type(&parse_quote!(io::Result<u8>)).is_none());
    }

    #[test]
    fn future_outputs_are_found() {
        let boxed: Type = parse_quote!(Pin<Box<dyn Future<Output = io::Result<u8>> + Send + 'a>>);
        let output = future_output(&boxed);
        assert!(output.is_some_and(is_result));
        assert!(future_output(&parse_quote!(impl Future<Output = ()>)).is_some());
        assert!(future_output(&parse_quote!(u8)).is_none());
    }

    #[test]
    fn async_bodies_are_recognised() {
        let bare: Block = parse_quote!({ async move { 1 } });
        assert!(matches!(async_body(&bare), Some(AsyncBody::Bare(_))));
        let boxed: Block = parse_quote!({ std::boxed::Box::pin(async { 1 }) });
        assert!(matches!(async_body(&boxed), Some(AsyncBody::Boxed(..))));
        let more: Block = parse_quote!({
            let x = 1;
            async move { x }
        });
        assert!(async_body(&more).is_none());
        let stmt: Block = parse_quote!({
            async move { 1 };
        });
        assert!(async_body(&stmt).is_none());
    }
}
