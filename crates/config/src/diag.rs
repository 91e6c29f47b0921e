//! Diagnostics: every mistake found in a configuration, each with the line and column it is at.

use std::fmt;
use std::ops::Range;

/// One mistake: where it is (1-based line and column, in characters) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong, in one sentence without the position.
    pub message: String,
}

/// Every mistake in one configuration, in the order they appear in the file. Its `Display`
/// prints one `FILE:LINE:COL: message` line per mistake, as compilers do, so editors can jump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The file's name as the user gave it (`<string>` for text that came from no file).
    pub file: String,
    /// The mistakes, sorted by position.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// How many mistakes there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none (a [`crate::Config::load`] error always has at least one).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Collects mistakes by byte span while the text is at hand, and turns spans into positions.
#[derive(Debug)]
pub(crate) struct Collector<'a> {
    src: &'a str,
    found: Vec<(usize, String)>,
}

impl<'a> Collector<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Collector {
            src,
            found: Vec::new(),
        }
    }

    /// Records `message` at the start of `span`.
    pub(crate) fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let message = message.into();
        let at = span.start.min(self.src.len());
        // The same mistake reached twice (a key removed and retried) is reported once.
        if !self.found.iter().any(|(s, m)| *s == at && *m == message) {
            self.found.push((at, message));
        }
    }

    /// The text mistakes are found in.
    pub(crate) fn src(&self) -> &'a str {
        self.src
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The mistakes in file order, named after `file`.
    pub(crate) fn finish(mut self, file: &str) -> Diagnostics {
        self.found.sort_by_key(|(at, _)| *at);
        let items = self
            .found
            .into_iter()
            .map(|(at, message)| {
                let (line, column) = position(self.src, at);
                Diagnostic {
                    line,
                    column,
                    message,
                }
            })
            .collect();
        Diagnostics {
            file: file.to_string(),
            items,
        }
    }
}

/// The 1-based line and column (in characters) of byte `at` in `src`.
pub fn position(src: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let before = &src[..at];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = src[line_start..at].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = "a = 1\nbé = 2\n";
        assert_eq!(position(src, 0), (1, 1));
        assert_eq!(position(src, 6), (2, 1));
        // `=` after a two-byte character is the fourth character.
        assert_eq!(position(src, 10), (2, 4));
        assert_eq!(position(src, 999), (3, 1));
    }

    #[test]
    fn display_is_one_line_per_mistake() {
        let mut c = Collector::new("x = 1\ny = 2\n");
        c.at(6..7, "second");
        c.at(0..1, "first");
        c.at(0..1, "first");
        let d = c.finish("site.toml");
        assert_eq!(d.to_string(), "site.toml:1:1: first\nsite.toml:2:1: second");
    }
}
