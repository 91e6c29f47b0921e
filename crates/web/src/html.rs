//! Escaping untrusted text for HTML: the rule is [`semantics::html`], shared with the static
//! file server's listings and, through [`HtmlEscaper`], with every template.

use std::fmt::Write;

pub use semantics::html::{Escaped, escape, escape_into};

/// askama's escaper for `.html` templates, so a template escapes exactly as the rest of the
/// server does (`&lt;`, `&amp;`, `&quot;`, `&#39;`) rather than with askama's numeric entities.
/// A crate turns it on with an `askama.toml` beside its `Cargo.toml`:
///
/// ```toml
/// [[escaper]]
/// path = "web::html::HtmlEscaper"
/// extensions = ["html"]
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlEscaper;

impl askama::filters::Escaper for HtmlEscaper {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> std::fmt::Result {
        write!(dest, "{}", Escaped(string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_script() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(format!("{}", Escaped("a&b")), "a&amp;b");
        assert_eq!(escape("plain"), "plain");
    }
}
