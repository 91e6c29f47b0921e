//! What a guestbook post must be.

use std::fmt;

/// Longest name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest message, in characters after trimming.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// A post as the form or the API sent it; fields may be missing.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Draft {
    /// The `name` field.
    #[serde(default)]
    pub name: Option<String>,
    /// The `message` field.
    #[serde(default)]
    pub message: Option<String>,
}

/// A post that passed validation: trimmed, within the limits, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name.
    pub name: String,
    /// The message.
    pub message: String,
}

/// Which field is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// The field is absent or only whitespace.
    Empty(Field),
    /// The field is longer than its limit.
    TooLong(Field, usize),
    /// The field holds a control character (line breaks are allowed in a message only).
    ControlCharacter(Field),
}

/// A form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `name`.
    Name,
    /// `message`.
    Message,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Name => "name",
            Field::Message => "message",
        })
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Empty(field) => write!(f, "Please write a {field}."),
            Invalid::TooLong(field, max) => {
                write!(f, "The {field} is too long: at most {max} characters.")
            }
            Invalid::ControlCharacter(field) => {
                write!(
                    f,
                    "The {field} contains a control character; please remove it."
                )
            }
        }
    }
}

impl Draft {
    /// Checks the draft and returns the entry to store.
    pub fn validate(&self) -> Result<Entry, Invalid> {
        let name = check(self.name.as_deref(), Field::Name, MAX_NAME_CHARS, false)?;
        let message = check(
            self.message.as_deref(),
            Field::Message,
            MAX_MESSAGE_CHARS,
            true,
        )?;
        Ok(Entry { name, message })
    }
}

fn check(
    value: Option<&str>,
    field: Field,
    max: usize,
    multiline: bool,
) -> Result<String, Invalid> {
    let value = value.unwrap_or("").trim();
    if value.is_empty() {
        return Err(Invalid::Empty(field));
    }
    if value.chars().count() > max {
        return Err(Invalid::TooLong(field, max));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\r' || c == '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(Invalid::ControlCharacter(field));
    }
    // Browsers send line breaks as CRLF; store them as LF.
    Ok(value.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(name: &str, message: &str) -> Draft {
        Draft {
            name: Some(name.into()),
            message: Some(message.into()),
        }
    }

    #[test]
    fn accepts_and_trims() {
        let e = draft("  Ann ", "hi\r\nthere").validate().expect("valid");
        assert_eq!(
            e,
            Entry {
                name: "Ann".into(),
                message: "hi\nthere".into()
            }
        );
        assert!(draft(&"é".repeat(64), "x").validate().is_ok());
    }

    #[test]
    fn refuses_each_field() {
        assert_eq!(draft(" ", "x").validate(), Err(Invalid::Empty(Field::Name)));
        assert_eq!(
            Draft::default().validate(),
            Err(Invalid::Empty(Field::Name))
        );
        assert_eq!(
            draft("a", "").validate(),
            Err(Invalid::Empty(Field::Message))
        );
        assert_eq!(
            draft(&"a".repeat(65), "x").validate(),
            Err(Invalid::TooLong(Field::Name, 64))
        );
        assert_eq!(
            draft("a", &"b".repeat(2001)).validate(),
            Err(Invalid::TooLong(Field::Message, 2000))
        );
        assert_eq!(
            draft("a\nb", "x").validate(),
            Err(Invalid::ControlCharacter(Field::Name))
        );
        assert_eq!(
            draft("a", "x\u{7}").validate(),
            Err(Invalid::ControlCharacter(Field::Message))
        );
    }
}
