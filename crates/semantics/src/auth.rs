//! The `Authorization` field: its scheme, and the decoding of Basic credentials (RFC 7617).
//! Nothing here verifies a password: that is the auth crate's, which calls [`basic`], the one
//! Basic decoder in the tree. A user-id reaches the access log and CGI's `REMOTE_USER` only
//! once verified.
//!
//! ```text
//! credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]   (RFC 9110 11.4)
//! user-pass   = user-id ":" password                            (RFC 7617 2)
//! ```

use base64::Engine as _;

use crate::list::{is_token, trim_ows};

/// The `auth-scheme` of an `Authorization` value, as sent (schemes compare case-insensitively);
/// `None` when it is not a token.
pub fn scheme(value: &[u8]) -> Option<&[u8]> {
    let (scheme, _) = split(value);
    is_token(scheme).then_some(scheme)
}

/// The user-id and password of `Basic` credentials, `None` unless the value is `Basic` (any
/// case), one or more spaces and canonical base64 of `user-id:password` where the user-id is
/// non-empty, both parts are UTF-8 and neither holds a control character (RFC 7617 section 2:
/// "The user-id and password MUST NOT contain any control characters"). The user-id ends at the
/// first colon; the password may hold more.
pub fn basic(value: &[u8]) -> Option<(String, String)> {
    let (scheme, token) = split(value);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()?;
    let mut text = String::from_utf8(decoded).ok()?;
    let colon = text.find(':')?;
    let clean = |s: &str| !s.chars().any(char::is_control);
    if colon == 0 || !clean(&text) {
        return None;
    }
    let password = text.split_off(colon + 1);
    text.truncate(colon);
    Some((text, password))
}

/// The scheme and what follows its spaces, both without surrounding whitespace.
fn split(value: &[u8]) -> (&[u8], &[u8]) {
    let value = trim_ows(value);
    match value.iter().position(|&b| b == b' ') {
        Some(i) => (&value[..i], trim_ows(&value[i + 1..])),
        None => (value, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(credentials: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    }

    fn user(value: &str) -> Option<String> {
        basic(value.as_bytes()).map(|(user, _)| user)
    }

    #[test]
    fn basic_user_id() {
        assert_eq!(user(&encode("alice:pw")).as_deref(), Some("alice"));
        assert_eq!(user(&encode("alice:pw:x")).as_deref(), Some("alice"));
        assert_eq!(user(&encode("alice:")).as_deref(), Some("alice"));
        assert_eq!(user(&encode("J\u{f6}rg:pw")).as_deref(), Some("J\u{f6}rg"));
        assert_eq!(user("bAsIc   YWxpY2U6cHc=  ").as_deref(), Some("alice"));
        assert_eq!(user("\tBasic YWxpY2U6cHc=").as_deref(), Some("alice"));
    }

    #[test]
    fn basic_password_keeps_its_colons() {
        let (user, password) = basic(encode("alice:p:w").as_bytes()).expect("decodes");
        assert_eq!((user.as_str(), password.as_str()), ("alice", "p:w"));
        let (_, empty) = basic(encode("bob:").as_bytes()).expect("decodes");
        assert_eq!(empty, "");
    }

    #[test]
    fn malformed_basic_credentials_name_nobody() {
        assert_eq!(user(&encode("alice")), None, "no colon");
        assert_eq!(user(&encode(":pw")), None, "empty user-id");
        assert_eq!(user(&encode("al\nice:pw")), None, "control in user-id");
        assert_eq!(user(&encode("al\0ice:pw")), None, "NUL in user-id");
        assert_eq!(user(&encode("alice:p\x7fw")), None, "control in password");
        assert_eq!(user("Basic !!!"), None);
        assert_eq!(user("Basic YWxpY2U6cHc"), None, "padding missing");
        assert_eq!(user("Basic"), None);
        assert_eq!(user("Bearer YWxpY2U6cHc="), None);
        let latin1 = [b'B', b'a', b's', b'i', b'c', b' ', b'6', b'T', b'p', b'4'];
        assert_eq!(basic(&latin1), None, "0xe9 0x3a 0x78 is not UTF-8");
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme(b"Basic YWxpY2U6cHc="), Some(&b"Basic"[..]));
        assert_eq!(scheme(b" Bearer abc "), Some(&b"Bearer"[..]));
        assert_eq!(scheme(b"Negotiate"), Some(&b"Negotiate"[..]));
        assert_eq!(scheme(b""), None);
        assert_eq!(scheme(b"B@d x"), None);
    }
}
