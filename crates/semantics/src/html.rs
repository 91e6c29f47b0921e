//! Escaping untrusted text for HTML.

use std::fmt;

/// Appends `text`, escaped, to `out`.
pub fn escape_into(out: &mut String, text: &str) {
    let _ = for_each_piece(text, |piece| {
        out.push_str(piece);
        Ok(())
    });
}

/// `text` with `& < > " '` replaced by entities, safe in element content and in quoted
/// attribute values.
///
/// ```
/// assert_eq!(semantics::html::escape("<b>\"hi\" & 'bye'</b>"),
///            "&lt;b&gt;&quot;hi&quot; &amp; &#39;bye&#39;&lt;/b&gt;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

/// A value that formats escaped: `write!(page, "<p>{}</p>", Escaped(&name))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for_each_piece(self.0, |piece| f.write_str(piece))
    }
}

/// Hands `text` to `emit` in pieces: runs of plain text, and an entity for each special byte.
fn for_each_piece(text: &str, mut emit: impl FnMut(&str) -> fmt::Result) -> fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        emit(&rest[..i])?;
        emit(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[i + 1..];
    }
    emit(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_special_characters() {
        assert_eq!(escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("a &amp; b"), "a &amp;amp; b");
        assert_eq!(escape("plain caf\u{e9}"), "plain caf\u{e9}");
        assert_eq!(escape(""), "");
        assert_eq!(format!("{}", Escaped("x='1'")), "x=&#39;1&#39;");
        let mut out = String::from("<p>");
        escape_into(&mut out, "\u{1f600}<");
        assert_eq!(out, "<p>\u{1f600}&lt;");
    }
}
