//! Escaping untrusted text for HTML.

use std::fmt::Write;

/// `text` with `& < > " '` replaced by entities, safe in element content and quoted attributes.
///
/// ```
/// assert_eq!(web::html::escape("<b>\"hi\" & 'bye'</b>"),
///            "&lt;b&gt;&quot;hi&quot; &amp; &#39;bye&#39;&lt;/b&gt;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

/// Appends `text`, escaped, to `out` (no allocation beyond `out` growing).
pub fn escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..i]);
        out.push_str(entity(rest.as_bytes()[i]));
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// The entity for one of the five special bytes.
fn entity(b: u8) -> &'static str {
    match b {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        _ => "&#39;",
    }
}

/// A value that formats escaped: `write!(page, "<p>{}</p>", Escaped(&name))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(entity(rest.as_bytes()[i]))?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

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
