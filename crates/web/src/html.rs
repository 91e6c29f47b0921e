//! Escaping untrusted text for HTML: the rule is [`semantics::html`], shared with the static
//! file server's listings.

use std::fmt::Write;

pub use semantics::html::{Escaped, escape, escape_into};

/// Writes `text` escaped into any `fmt::Write`.
pub fn write_escaped(out: &mut impl Write, text: &str) -> std::fmt::Result {
    write!(out, "{}", Escaped(text))
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
