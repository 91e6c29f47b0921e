//! Cookies (RFC 6265): read them from the request, add or remove them in the response, plain,
//! signed (the client can read but not change them) or private (encrypted: it can do neither).
//!
//! A jar is an extractor, and also a part of the response, so a handler takes it, changes it
//! and returns it next to the body:
//!
//! ```
//! use web::cookies::{Cookie, CookieJar};
//!
//! async fn visit(jar: CookieJar) -> (CookieJar, String) {
//!     let n: u32 = jar.get("visits").and_then(|c| c.value().parse().ok()).unwrap_or(0) + 1;
//!     let jar = jar.add(Cookie::new("visits", n.to_string()));
//!     (jar, format!("visit number {n}"))
//! }
//! ```
//!
//! Cookies set through a jar get the defaults a careful site would write by hand, each only
//! where the cookie does not say otherwise: `Path=/` (the browser's default is the request's
//! directory, which surprises everyone), `HttpOnly` (scripts cannot read it), `SameSite=Lax`
//! (not sent on cross-site subrequests or posts), and `Secure` when the request came over TLS.
//!
//! Signed and private jars take their [`Key`] from the router's state through
//! [`FromRef`]; make one with [`key_from_secret`] from configuration, so that cookies
//! survive a restart and every worker agrees.

use std::fmt;

use http1::{HeaderValue, Headers, header};
use server::Response;

use crate::extract::{FromRef, FromRequestParts, Parts};
use crate::response::IntoResponseParts;

pub use cookie::{Cookie, Expiration, Key, SameSite};

/// The shortest secret [`key_from_secret`] accepts: 256 bits, as the cookie crate's key
/// derivation requires.
pub const MIN_SECRET_LEN: usize = 32;

/// A secret shorter than [`MIN_SECRET_LEN`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretTooShort {
    /// The length given.
    pub len: usize,
}

impl fmt::Display for SecretTooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the cookie secret is {} bytes; at least {MIN_SECRET_LEN} are needed",
            self.len
        )
    }
}

impl std::error::Error for SecretTooShort {}

/// The signing and encryption key derived from a configured secret (at least 32 random bytes,
/// such as the output of `openssl rand -base64 48`). The same secret gives the same key.
pub fn key_from_secret(secret: &[u8]) -> Result<Key, SecretTooShort> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(SecretTooShort { len: secret.len() });
    }
    Ok(Key::derive_from(secret))
}

/// The cookies of a request, as a `cookie` jar. Pairs that do not parse are skipped, as
/// browsers skip them.
pub(crate) fn parse_request_cookies(headers: &Headers) -> cookie::CookieJar {
    let mut jar = cookie::CookieJar::new();
    for value in headers.get_all("cookie") {
        let Ok(text) = value.to_str() else { continue };
        for c in Cookie::split_parse_encoded(text).flatten() {
            jar.add_original(c.into_owned());
        }
    }
    jar
}

/// The request's cookie named `name`, the last one when several are (as the jar of
/// [`parse_request_cookies`] keeps it), without building a jar of every cookie: the session
/// layer looks for one cookie on every request, and parsing each of the others in full (the
/// cookie crate's parser, a copy of each, a hash set) cost more than the rest of the layer.
/// Only a pair whose name is `name` as sent, or might be once percent-decoded, is decoded.
pub(crate) fn request_cookie(headers: &Headers, name: &str) -> Option<Cookie<'static>> {
    let mut found = None;
    for value in headers.get_all("cookie") {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            let Some((raw_name, raw_value)) = pair.split_once('=') else {
                continue;
            };
            let raw_name = raw_name.trim();
            if raw_name != name && !raw_name.contains('%') {
                continue;
            }
            // What `Cookie::parse_encoded` does with a pair, without the rest of its parser:
            // both halves trimmed and percent-decoded as UTF-8.
            if let (Some(n), Some(v)) =
                (percent_decoded(raw_name), percent_decoded(raw_value.trim()))
                && n == name
            {
                found = Some(Cookie::new(n.into_owned(), v.into_owned()));
            }
        }
    }
    found
}

/// `raw` with its `%XX` escapes decoded (a `%` not followed by two hex digits stays, as
/// `percent_encoding` leaves it), if the result is UTF-8. One pass into a buffer of the right
/// size: the iterator `percent_decode_str` collects from grows its buffer byte by byte, which
/// showed in the session layer's profile.
fn percent_decoded(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    if !raw.contains('%') {
        return Some(std::borrow::Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits: at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(u8::MAX));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(std::borrow::Cow::Owned)
}

/// Fills in what `cookie` leaves unsaid: the defaults described in the module documentation.
pub(crate) fn with_defaults(mut c: Cookie<'static>, secure: bool) -> Cookie<'static> {
    if c.path().is_none() {
        c.set_path("/");
    }
    if c.http_only().is_none() {
        c.set_http_only(true);
    }
    if c.same_site().is_none() {
        c.set_same_site(SameSite::Lax);
    }
    if c.secure().is_none() && secure {
        c.set_secure(true);
    }
    c
}

/// Appends one `Set-Cookie` field per changed cookie of `jar`.
pub(crate) fn write_delta(jar: &cookie::CookieJar, secure: bool, res: &mut Response) {
    for c in jar.delta() {
        let c = with_defaults(c.clone(), secure);
        match HeaderValue::from_str(&c.encoded().to_string()) {
            Ok(v) => res.headers.append(header::SET_COOKIE, v),
            // Encoding percent-escapes the name and value; only a path or domain with control
            // bytes can fail, a mistake in the handler.
            Err(_) => tracing::error!(cookie = c.name(), "cookie is not a valid header value"),
        }
    }
}

/// The request's cookies, and the changes to send back. See the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    jar: cookie::CookieJar,
    secure: bool,
}

impl CookieJar {
    /// An empty jar, for a response to a request whose cookies were not read. Its cookies get
    /// no `Secure` by default.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// The jar of a request's cookies.
    pub fn from_headers(headers: &Headers, secure: bool) -> CookieJar {
        CookieJar {
            jar: parse_request_cookies(headers),
            secure,
        }
    }

    /// The cookie called `name`, as sent or as added since.
    pub fn get(&self, name: &str) -> Option<&Cookie<'static>> {
        self.jar.get(name)
    }

    /// Adds or replaces a cookie in the response.
    #[must_use = "the jar must be returned in the response"]
    #[allow(clippy::should_implement_trait)] // axum-extra's name: `jar.add(cookie)`
    pub fn add(mut self, cookie: impl Into<Cookie<'static>>) -> Self {
        self.jar.add(cookie);
        self
    }

    /// Tells the client to forget a cookie (give it the path and domain it was set with if
    /// they were not the defaults).
    #[must_use = "the jar must be returned in the response"]
    pub fn remove(mut self, cookie: impl Into<Cookie<'static>>) -> Self {
        self.jar.remove(cookie);
        self
    }

    /// Every cookie, as sent or as added since.
    pub fn iter(&self) -> impl Iterator<Item = &Cookie<'static>> {
        self.jar.iter()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CookieJar {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(CookieJar::from_headers(
            &parts.head.headers,
            parts.conn.is_tls(),
        ))
    }
}

impl IntoResponseParts for CookieJar {
    fn into_response_parts(self, res: &mut Response) {
        write_delta(&self.jar, self.secure, res);
    }
}

/// Defines a jar whose cookies are protected with a [`Key`] (signed or encrypted).
macro_rules! keyed_jar {
    ($(#[$doc:meta])* $name:ident, $view:ident, $view_mut:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            jar: cookie::CookieJar,
            key: Key,
            secure: bool,
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // The key stays out of logs.
                f.debug_struct(stringify!($name)).field("jar", &self.jar).finish()
            }
        }

        impl $name {
            /// An empty jar using `key`.
            pub fn new(key: Key) -> Self {
                $name { jar: cookie::CookieJar::new(), key, secure: false }
            }

            /// The jar of a request's cookies, checked with `key` as they are read.
            pub fn from_headers(headers: &Headers, key: Key, secure: bool) -> Self {
                $name { jar: parse_request_cookies(headers), key, secure }
            }

            /// The cookie called `name` in clear, if it is there and was made with this key;
            /// `None` if it is absent or was tampered with.
            pub fn get(&self, name: &str) -> Option<Cookie<'static>> {
                self.jar.$view(&self.key).get(name)
            }

            /// Adds or replaces a cookie in the response, protected with the key.
            #[must_use = "the jar must be returned in the response"]
            #[allow(clippy::should_implement_trait)] // axum-extra's name: `jar.add(cookie)`
            pub fn add(mut self, cookie: impl Into<Cookie<'static>>) -> Self {
                self.jar.$view_mut(&self.key).add(cookie);
                self
            }

            /// Tells the client to forget a cookie.
            #[must_use = "the jar must be returned in the response"]
            pub fn remove(mut self, cookie: impl Into<Cookie<'static>>) -> Self {
                self.jar.$view_mut(&self.key).remove(cookie);
                self
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name
        where
            Key: FromRef<S>,
        {
            type Rejection = std::convert::Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                Ok($name::from_headers(
                    &parts.head.headers,
                    Key::from_ref(state),
                    parts.conn.is_tls(),
                ))
            }
        }

        impl IntoResponseParts for $name {
            fn into_response_parts(self, res: &mut Response) {
                write_delta(&self.jar, self.secure, res);
            }
        }
    };
}

keyed_jar!(
    /// Cookies signed with a [`Key`] (HMAC-SHA256): the client sees the value but cannot change
    /// it. For a user id or preferences that must not be forged.
    SignedCookieJar,
    signed,
    signed_mut
);

keyed_jar!(
    /// Cookies encrypted with a [`Key`] (AES-256-GCM): the client can neither read nor change
    /// the value.
    PrivateCookieJar,
    private,
    private_mut
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IntoResponse;

    fn headers(cookie: &str) -> Headers {
        let mut h = Headers::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_str(cookie).expect("valid"),
        );
        h
    }

    /// Looking one cookie up finds what the whole jar would: the last of a name, decoded.
    #[test]
    fn one_cookie_is_found_as_the_jar_finds_it() {
        let cases = [
            "a=1; session=x%2Fy; b=2",
            "session=first; other=1; session=second",
            " session = spaced ;x=1",
            "sess%69on=encoded-name; a",
            "sessionx=1; xsession=2; session",
            "session=%FF%FE; session=%C3%A9t%C3%A9",
            "session=ok; session=%FF",
            "session=a=b; =x",
            "session=%G1%4%; a=1",
            "session=%2f%2F%41%",
            "",
        ];
        for case in cases {
            let h = headers(case);
            let jar = parse_request_cookies(&h);
            let whole = jar.get("session").map(|c| c.value().to_owned());
            let one = request_cookie(&h, "session").map(|c| c.value().to_owned());
            assert_eq!(one, whole, "{case}");
        }
        let mut two = headers("session=a");
        two.append(header::COOKIE, HeaderValue::from_static("x=1; session=b"));
        assert_eq!(
            request_cookie(&two, "session").map(|c| c.value().to_owned()),
            parse_request_cookies(&two)
                .get("session")
                .map(|c| c.value().to_owned())
        );
    }

    fn set_cookies(res: &Response) -> Vec<String> {
        res.headers
            .get_all("set-cookie")
            .map(|v| v.to_str().expect("ascii").to_string())
            .collect()
    }

    #[test]
    fn reads_and_writes_with_defaults() {
        let jar = CookieJar::from_headers(&headers("a=1; b=two%20words; =bad; c"), false);
        assert_eq!(jar.get("a").map(|c| c.value()), Some("1"));
        assert_eq!(jar.get("b").map(|c| c.value()), Some("two words"));
        let jar = jar.add(Cookie::new("theme", "dark")).remove("a");
        let res = (jar, "ok").into_response();
        let set = set_cookies(&res);
        assert!(set.contains(&"theme=dark; HttpOnly; SameSite=Lax; Path=/".to_string()));
        assert!(
            set.iter()
                .any(|c| c.starts_with("a=; ") && c.contains("Max-Age=0"))
        );
    }

    #[test]
    fn tls_requests_get_secure_cookies_unless_told_otherwise() {
        let jar = CookieJar::from_headers(&Headers::new(), true)
            .add(Cookie::new("x", "1"))
            .add(Cookie::build(("y", "2")).secure(false).http_only(false));
        let set = set_cookies(&(jar, "").into_response());
        assert!(
            set.iter()
                .any(|c| c.starts_with("x=1") && c.contains("Secure"))
        );
        assert!(
            set.iter()
                .any(|c| c.starts_with("y=2") && !c.contains("Secure") && !c.contains("HttpOnly"))
        );
    }

    #[test]
    fn signed_and_private_cookies_resist_tampering() {
        let key = key_from_secret(&[7; 32]).expect("long enough");
        assert_eq!(
            key_from_secret(b"short").err(),
            Some(SecretTooShort { len: 5 })
        );
        for private in [false, true] {
            let res = if private {
                (
                    PrivateCookieJar::new(key.clone()).add(("user", "alice")),
                    "",
                )
                    .into_response()
            } else {
                (SignedCookieJar::new(key.clone()).add(("user", "alice")), "").into_response()
            };
            let set = set_cookies(&res);
            let pair = set[0].split(';').next().expect("a pair").to_string();
            assert_eq!(pair.contains("alice"), !private);
            let get = |h: &Headers| {
                if private {
                    PrivateCookieJar::from_headers(h, key.clone(), false).get("user")
                } else {
                    SignedCookieJar::from_headers(h, key.clone(), false).get("user")
                }
            };
            assert_eq!(
                get(&headers(&pair)).map(|c| c.value().to_string()),
                Some("alice".into())
            );
            let forged = pair.replace("alice", "admin").replace('=', "=x");
            assert!(get(&headers(&forged)).is_none());
            let other = key_from_secret(&[8; 32]).expect("long enough");
            let jar = SignedCookieJar::from_headers(&headers(&pair), other, false);
            assert!(jar.get("user").is_none());
        }
    }
}
