//! Cross-site request forgery protection: a state-changing request must come from this site.
//!
//! The [`CsrfLayer`] checks every request with an unsafe method (anything but `GET`, `HEAD`,
//! `OPTIONS`, `TRACE`) twice, and refuses it with `403` unless both pass:
//!
//! 1. The browser's word: `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the user);
//!    without it, an `Origin` must name this host. Requests with neither (curl, old browsers)
//!    pass this check, as in Go's `CrossOriginProtection`.
//! 2. The synchronizer token (OWASP): a random token kept in the session must come back in the
//!    form field [`FIELD`] or the header [`HEADER`]. Pages get it with the [`CsrfToken`]
//!    extractor and put it in a hidden field:
//!
//! ```
//! use web::{CsrfLayer, CsrfToken, Html, Router, SessionLayer, routing::get};
//! use web::cookies::Key;
//! use web::session::MemoryStore;
//!
//! async fn form(token: CsrfToken) -> Html<String> {
//!     // A template escapes it for you; the token is URL-safe base64 in any case.
//!     Html(format!(
//!         r#"<form method="post"><input type="hidden" name="csrf_token" value="{}"><button>Go</button></form>"#,
//!         token.as_str()
//!     ))
//! }
//!
//! let app: Router = Router::new()
//!     .route("/", get(form).post(|| async { "done" }))
//!     .layer(CsrfLayer::new())
//!     .layer(SessionLayer::new(MemoryStore::new(), Key::generate()));
//! # let _ = app;
//! ```
//!
//! The layer needs the session, so it goes inside the [`crate::SessionLayer`] (written
//! before it). Multipart forms send the token in the header (the layer does not parse them).

use http1::Method;
use server::{Body, Request, Response, Service};

use crate::extract::{FromRequestParts, Parts};
use crate::middleware::Layer;
use crate::rejection::Rejection;
use crate::response::IntoResponse;
use crate::session::{Session, random_token};

/// The form field carrying the token.
pub const FIELD: &str = "csrf_token";

/// The header carrying the token, for scripts and multipart forms.
pub const HEADER: &str = "x-csrf-token";

/// Where the token is kept in the session.
const SESSION_KEY: &str = "_csrf";

/// Random bytes in a token: 256 bits.
const TOKEN_BYTES: usize = 32;

/// Largest form body the layer reads to find the token; larger is `413`, as the form extractor
/// would answer.
pub const MAX_CHECKED_FORM: usize = crate::extract::MAX_FORM_BODY;

/// The session's CSRF token, created on first use; put it in forms as the field [`FIELD`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// The token (URL-safe base64, nothing to escape).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's token, made and stored if it has none.
    pub fn of(session: &Session) -> Result<CsrfToken, Rejection> {
        if let Some(t) = session.get::<String>(SESSION_KEY) {
            return Ok(CsrfToken(t));
        }
        let token = random_token(TOKEN_BYTES)
            .map_err(|_| Rejection::MissingExtension("random bytes for a CSRF token"))?;
        session
            .insert(SESSION_KEY, &token)
            .map_err(|_| Rejection::MissingExtension("a session to keep the CSRF token"))?;
        Ok(CsrfToken(token))
    }
}

impl std::fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        CsrfToken::of(&session)
    }
}

/// Refuses cross-site state-changing requests; see the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct CsrfLayer {
    _private: (),
}

impl CsrfLayer {
    /// Both checks, on every unsafe method.
    pub fn new() -> CsrfLayer {
        CsrfLayer::default()
    }
}

impl<S: Service> Layer<S> for CsrfLayer {
    type Service = Csrf<S>;

    fn layer(&self, inner: S) -> Csrf<S> {
        Csrf { inner }
    }
}

/// A service behind a [`CsrfLayer`].
#[derive(Debug, Clone)]
pub struct Csrf<S> {
    inner: S,
}

impl<S: Service> Service for Csrf<S> {
    async fn call(&self, req: Request) -> Response {
        if is_safe(req.method()) {
            return self.inner.call(req).await;
        }
        match check(req).await {
            Ok(req) => self.inner.call(req).await,
            Err(rejection) => {
                tracing::debug!(reason = %rejection, "CSRF check refused a request");
                rejection.into_response()
            }
        }
    }
}

/// RFC 9110 9.2.1: the methods that do not change anything.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Both checks; the request comes back with its body readable again.
async fn check(mut req: Request) -> Result<Request, Rejection> {
    if let Some(why) = cross_site(&req) {
        return Err(Rejection::Csrf(why));
    }
    let session = req
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or(Rejection::MissingExtension(
            "Session (the CsrfLayer must be inside a SessionLayer)",
        ))?;
    let Some(expected) = session.get::<String>(SESSION_KEY) else {
        return Err(Rejection::Csrf(
            "no CSRF token in the session (load the form first)",
        ));
    };
    let sent = match req.headers().get_str(HEADER) {
        Some(token) => Some(token.to_string()),
        None => form_token(&mut req).await?,
    };
    match sent {
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(req),
        Some(_) => Err(Rejection::Csrf("wrong CSRF token")),
        None => Err(Rejection::Csrf("missing CSRF token")),
    }
}

/// Why the browser's own headers say the request is cross-site, if they do.
fn cross_site(req: &Request) -> Option<&'static str> {
    if let Some(site) = req.headers().get_str("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => None,
            _ => Some("the request comes from another site (Sec-Fetch-Site)"),
        };
    }
    let origin = req.headers().get_str("origin")?;
    let host = req.headers().get_str("host").unwrap_or("");
    // `Origin: scheme://host[:port]`; compare the authority with `Host`.
    let authority = origin.split_once("://").map_or("", |(_, a)| a);
    if authority.eq_ignore_ascii_case(host) {
        None
    } else {
        Some("the request comes from another origin (Origin)")
    }
}

/// The token from a URL-encoded form body; the body is put back for the handler.
async fn form_token(req: &mut Request) -> Result<Option<String>, Rejection> {
    let is_form = crate::extract::media_type(req.headers()).as_deref()
        == Some("application/x-www-form-urlencoded");
    if !is_form {
        return Ok(None);
    }
    let body = std::mem::replace(&mut req.body, Body::empty());
    let limit = crate::middleware::BodyLimit::of(&req.extensions, MAX_CHECKED_FORM);
    let bytes = body.collect(limit).await?;
    let token = form_urlencoded_field(&bytes, FIELD);
    req.body = Body::full(bytes);
    Ok(token)
}

/// The first value of `name` in a URL-encoded form.
fn form_urlencoded_field(bytes: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Compares without stopping at the first difference, so the time taken does not tell an
/// attacker how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(raw: &str) -> Request {
        Request::from_raw_head(raw.as_bytes(), Body::empty()).expect("valid head")
    }

    #[test]
    fn browser_headers() {
        let same =
            request("POST / HTTP/1.1\r\nHost: a.test\r\nSec-Fetch-Site: same-origin\r\n\r\n");
        assert_eq!(cross_site(&same), None);
        let other =
            request("POST / HTTP/1.1\r\nHost: a.test\r\nSec-Fetch-Site: cross-site\r\n\r\n");
        assert!(cross_site(&other).is_some());
        let sibling =
            request("POST / HTTP/1.1\r\nHost: a.test\r\nSec-Fetch-Site: same-site\r\n\r\n");
        assert!(cross_site(&sibling).is_some());
        let origin =
            request("POST / HTTP/1.1\r\nHost: a.test:8080\r\nOrigin: http://a.test:8080\r\n\r\n");
        assert_eq!(cross_site(&origin), None);
        let evil = request("POST / HTTP/1.1\r\nHost: a.test\r\nOrigin: https://evil.test\r\n\r\n");
        assert!(cross_site(&evil).is_some());
        let curl = request("POST / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        assert_eq!(cross_site(&curl), None);
    }

    #[test]
    fn token_comparison_and_form_field() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert_eq!(
            form_urlencoded_field(b"name=x&csrf_token=t%2Bk&z=1", FIELD).as_deref(),
            Some("t+k")
        );
        assert_eq!(form_urlencoded_field(b"name=x", FIELD), None);
    }
}
