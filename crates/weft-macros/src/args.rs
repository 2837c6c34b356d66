//! Parsing what is inside `#[weft::instrument(…)]`.
//!
//! Every mistake becomes a `syn::Error` spanned on the offending token, so rustc
//! underlines exactly what to fix.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Error, Expr, Ident, Lit, LitStr, Token, parenthesized};

/// The level names `level = "…"` accepts, as `weft::Level` variants. Matched without
/// regard to case, and `warning` means `warn`, as `weft::Level`'s `FromStr` does.
const LEVELS: [(&str, &str); 7] = [
    ("trace", "Trace"),
    ("debug", "Debug"),
    ("info", "Info"),
    ("notice", "Notice"),
    ("warn", "Warn"),
    ("error", "Error"),
    ("fatal", "Fatal"),
];

/// What to do with a returned `Err`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum ErrMode {
    /// Record it when the return type is spelled `…Result<…>`.
    #[default]
    Auto,
    /// `err`: record it even though the return type is an alias the macro cannot see
    /// through (`type Res<T> = Result<T, MyError>`).
    Always,
    /// `skip_err`: never record it.
    Never,
}

/// The parsed attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// The message template (also the span name); `None` means `Calling module::fn`.
    pub(crate) template: Option<LitStr>,
    /// The level as an expression of type `weft::Level`; `None` means no level on the
    /// span (it is filtered as `info`, as Logfire's spans are).
    pub(crate) level: Option<TokenStream>,
    /// Arguments not to record.
    pub(crate) skip: Vec<Ident>,
    /// Record no argument at all.
    pub(crate) skip_all: bool,
    /// Whether a returned `Err` marks the span failed.
    pub(crate) err: ErrMode,
}

const EXPECTED: &str = "expected a template string, `skip(arg, …)`, `skip_all`, \
                        `level = \"debug\"`, `err` or `skip_err`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            if input.peek(LitStr) {
                let template: LitStr = input.parse()?;
                if args.template.is_some() {
                    return Err(Error::new_spanned(template, "only one template is allowed"));
                }
                args.template = Some(template);
            } else if input.peek(Ident::peek_any) {
                args.parse_keyword(input)?;
            } else {
                let token: TokenTree = input.parse()?;
                return Err(Error::new_spanned(
                    token,
                    format!("unexpected token: {EXPECTED}"),
                ));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl Args {
    fn parse_keyword(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        let keyword = Ident::parse_any(input)?;
        match keyword.to_string().as_str() {
            "skip" => {
                let inner;
                parenthesized!(inner in input);
                let names = Punctuated::<Ident, Token![,]>::parse_terminated_with(
                    &inner,
                    Ident::parse_any,
                )?;
                self.skip.extend(names);
            }
            "skip_all" => set_flag(&mut self.skip_all, &keyword)?,
            "err" => self.set_err(ErrMode::Always, &keyword)?,
            "skip_err" => self.set_err(ErrMode::Never, &keyword)?,
            "level" => {
                if self.level.is_some() {
                    return Err(Error::new_spanned(keyword, "`level` is given twice"));
                }
                input.parse::<Token![=]>()?;
                self.level = Some(parse_level(input)?);
            }
            _ => {
                return Err(Error::new_spanned(
                    &keyword,
                    format!("unknown argument `{keyword}`: {EXPECTED}"),
                ));
            }
        }
        Ok(())
    }

    fn set_err(&mut self, mode: ErrMode, keyword: &Ident) -> syn::Result<()> {
        if self.err != ErrMode::Auto {
            return Err(Error::new_spanned(
                keyword,
                "give at most one of `err` and `skip_err`",
            ));
        }
        self.err = mode;
        Ok(())
    }
}

fn set_flag(flag: &mut bool, keyword: &Ident) -> syn::Result<()> {
    if *flag {
        return Err(Error::new_spanned(
            keyword,
            format!("`{keyword}` is given twice"),
        ));
    }
    *flag = true;
    Ok(())
}

/// `"debug"` (checked now, so a typo fails the build) or any constant expression of
/// type `weft::Level`, such as `weft::Level::Debug`. It must be constant because it
/// goes into the function's `static` call site.
fn parse_level(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    let expr: Expr = input.parse()?;
    let Expr::Lit(lit) = &expr else {
        return Ok(quote!(#expr));
    };
    let Lit::Str(name) = &lit.lit else {
        return Err(Error::new_spanned(
            expr,
            "expected a level name such as \"debug\" or a `weft::Level`",
        ));
    };
    let wanted = name.value().trim().to_ascii_lowercase();
    let wanted = if wanted == "warning" {
        "warn".to_owned()
    } else {
        wanted
    };
    match LEVELS.iter().find(|(n, _)| *n == wanted) {
        Some((_, variant)) => {
            let variant = Ident::new(variant, name.span());
            Ok(quote!(::weft::Level::#variant))
        }
        None => Err(Error::new_spanned(
            name,
            format!(
                "unknown level {:?}: expected one of trace, debug, info, notice, warn, error, fatal",
                name.value()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tokens: TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    fn error(tokens: TokenStream) -> String {
        match parse(tokens) {
            Ok(_) => String::from("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_means_defaults() -> syn::Result<()> {
        let args = parse(TokenStream::new())?;
        assert!(args.template.is_none() && args.level.is_none() && args.skip.is_empty());
        assert!(!args.skip_all);
        assert_eq!(args.err, ErrMode::Auto);
        Ok(())
    }

    #[test]
    fn everything_at_once() -> syn::Result<()> {
        let args = parse(quote!(
            "Doubling {x}",
            skip(a, self),
            skip_all,
            level = "Warning",
            skip_err,
        ))?;
        assert_eq!(
            args.template.map(|t| t.value()).as_deref(),
            Some("Doubling {x}")
        );
        assert_eq!(
            args.skip
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["a", "self"]
        );
        assert!(args.skip_all);
        assert_eq!(
            args.level.map(|l| l.to_string()).as_deref(),
            Some(":: weft :: Level :: Warn")
        );
        assert_eq!(args.err, ErrMode::Never);
        Ok(())
    }

    #[test]
    fn level_expressions_pass_through() -> syn::Result<()> {
        let args = parse(quote!(level = weft::Level::Debug, err))?;
        assert_eq!(
            args.level.map(|l| l.to_string()).as_deref(),
            Some("weft :: Level :: Debug")
        );
        assert_eq!(args.err, ErrMode::Always);
        Ok(())
    }

    #[rustfmt::skip]
    #[test]
    fn mistakes_are_named() {
        let cases = [
            (quote!(42), "unexpected token: expected a template string"),
            (quote!(fields(x)), "unknown argument `fields`"),
            (quote!("a", "b"), "only one template is allowed"),
            (quote!(level = "loud"), "unknown level \"loud\""),
            (quote!(level = 5), "expected a level name"),
            (quote!(level = "info", level = "debug"), "`level` is given twice"),
            (quote!(err, skip_err), "give at most one of `err` and `skip_err`"),
            (quote!(skip_all, skip_all), "`skip_all` is given twice"),
            (quote!(skip(1)), "expected ident"),
            (quote!("a" skip_all), "expected `,`"),
        ];
        for (tokens, want) in cases {
            let got = error(tokens.clone());
            assert!(got.starts_with(want), "{tokens}: got {got:?}, want {want:?}");
        }
    }
}
