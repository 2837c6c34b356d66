//! Message templates: `"Doubling {x}"` names the span (low cardinality) and, filled
//! with the span's attributes, becomes `logfire.msg`.
//!
//! Rendering happens on the export thread, never on the caller's, so a span pays
//! nothing for its message until it is exported.

use crate::value::Value;
use std::borrow::Cow;

/// Fills `{name}` placeholders from `attrs`. `{{` and `}}` are literal braces, a
/// placeholder with no matching attribute stays as written, and a format spec after
/// `:` (Python's `{x:.2f}`) is ignored rather than rejected.
pub(crate) fn render(template: &str, attrs: &[(Cow<'static, str>, Value)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            out.push('}');
            rest = after;
            continue;
        }
        match tail.find('}') {
            Some(end) => {
                let inner = &tail[1..end];
                let name = inner.split([':', '!']).next().unwrap_or(inner).trim();
                match attrs.iter().rev().find(|(k, _)| k == name) {
                    Some((_, v)) => v.write_display(&mut out),
                    None => out.push_str(&tail[..=end]),
                }
                rest = &tail[end + 1..];
            }
            None => {
                out.push_str(tail);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn renders_like_logfire() {
        let attrs = vec![
            (Cow::Borrowed("x"), Value::I64(2)),
            (Cow::Borrowed("user"), Value::Str("ada".into())),
            (Cow::Borrowed("items"), Value::Json("[1,2]".into(), crate::value::JsonKind::Array)),
        ];
        let rows = [
            ("Doubling {x}", "Doubling 2", "a field fills its placeholder"),
            ("Hello {user}, {x}!", "Hello ada, 2!", "several placeholders"),
            ("{items}", "[1,2]", "JSON values render as JSON"),
            ("{{x}} is {x}", "{x} is 2", "doubled braces are literal"),
            ("{missing} stays", "{missing} stays", "unknown names stay as written"),
            ("{x:.2f}", "2", "a format spec is ignored"),
            ("open { brace", "open { brace", "an unclosed brace is literal"),
            ("lone } brace", "lone } brace", "a lone closing brace is literal"),
            ("", "", "empty"),
            ("é{user}ü", "éadaü", "non-ASCII text around placeholders"),
        ];
        for (template, want, why) in rows {
            assert_eq!(render(template, &attrs), want, "{why}");
        }
    }
}
