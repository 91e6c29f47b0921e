//! HTTP Basic authentication for sockserve (RFC 7617): who may reach a service, checked against
//! a password file in the formats Apache's `htpasswd` writes, or users given on the command
//! line. Nothing here touches a socket; the only I/O is reading the password file.
//!
//! A request passes with an `Authorization: Basic` field whose user and password match; the
//! user then travels with the request as [`server::RemoteUser`] (CGI's `REMOTE_USER`) and with
//! the response (the access log's user). Anything else gets `401` with
//! `WWW-Authenticate: Basic realm="...", charset="UTF-8"`; a client that failed
//! [`limit::MAX_FAILURES`] times in [`limit::FAILURE_WINDOW`] gets `429` with `Retry-After`.
//!
//! # Layout
//! - [`htpasswd`]: [`Htpasswd`], the users and their hashes (bcrypt, apr1, SHA-1, argon2).
//! - [`apr1`]: Apache's MD5 crypt.
//! - [`limit`]: [`Limiter`], failed attempts per client in a bounded table.
//! - [`guard`]: [`Auth`], the decision for a request, and [`Guarded`], a service behind it.

pub mod apr1;
pub mod guard;
pub mod htpasswd;
pub mod limit;

pub use guard::{Auth, AuthError, BadRealm, DEFAULT_REALM, Guarded, Outcome, RELOAD_CHECK};
pub use htpasswd::{Htpasswd, LineError, LoadError};
pub use limit::Limiter;

/// The user-id and password of `Authorization: Basic` credentials, not yet verified.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user-id (before the first `:`).
    pub user: String,
    /// The password (after it).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    /// The user only: a password is not for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Decodes an `Authorization` field value; `None` unless it is well-formed Basic
    /// credentials (the decoding is [`semantics::auth::basic`], the one in the tree).
    pub fn from_authorization(value: &[u8]) -> Option<Credentials> {
        semantics::auth::basic(value).map(|(user, password)| Credentials { user, password })
    }
}
