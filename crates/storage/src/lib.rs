//! The demo site's databases behind one async interface, with two backends:
//!
//! - **SQLite** (a file path): embedded, the default; one process owns the file.
//! - **PostgreSQL** (a `postgres://` URL): shared by several instances of the site behind a load
//!   balancer; new messages reach every instance through `LISTEN/NOTIFY`.
//!
//! The PostgreSQL driver is tokio-postgres with a deadpool pool: the plain async driver, with
//! prepared statements cached per connection and `LISTEN/NOTIFY` read straight off its connection,
//! and no compile-time database, macro layer or second SQLite driver as sqlx would bring.
//!
//! # Layout
//! - [`DbTarget`]: what `--db` names, a file or a URL.
//! - [`guestbook`]: the guestbook's [`Store`](guestbook::Store), the one interface handlers use,
//!   and its [`Event`](guestbook::Event)s.
//! - `sqlite` and `postgres`: the two backends, each with its versioned migrations.
//! - [`sessions`]: the framework's `SessionStore` on PostgreSQL, shared by every instance, the
//!   choice of a site's session store, and the secrets kept in `site_secrets`.
//! - [`testing`]: a throwaway PostgreSQL server in a temporary directory, for tests and benches.

pub mod guestbook;
mod postgres;
pub mod sessions;
mod sqlite;
pub mod testing;

use std::fmt;
use std::path::{Path, PathBuf};

/// What `--db` names: a SQLite file, or a PostgreSQL server by URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite database file, created with its schema when missing.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's URI syntax).
    Postgres(String),
}

impl DbTarget {
    /// A URL with one of PostgreSQL's schemes is a server; anything else is a file path (as
    /// libpq and most tools tell them apart).
    pub fn parse(value: &Path) -> DbTarget {
        match value.to_str() {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                DbTarget::Postgres(s.to_string())
            }
            _ => DbTarget::Sqlite(value.to_path_buf()),
        }
    }
}

impl From<&Path> for DbTarget {
    fn from(path: &Path) -> DbTarget {
        DbTarget::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for DbTarget {
    fn from(path: &PathBuf) -> DbTarget {
        DbTarget::Sqlite(path.clone())
    }
}

/// Shows the file, or the URL with its password replaced by `***`, so that logs and error
/// messages never print a secret.
impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Sqlite(path) => write!(f, "{}", path.display()),
            DbTarget::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbTarget({self})")
    }
}

/// `postgres://user:secret@host/db` -> `postgres://user:***@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// What a caller can do about a failed database call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The database cannot be reached now (down, restarting, too slow, its pool exhausted):
    /// the request may succeed later, so a page answers `503` with `Retry-After`.
    Unavailable,
    /// The database answered with an error (a bug, a full disk, corruption): `500`.
    Failed,
    /// The `--db` value cannot be used (a malformed URL): a start-up error.
    Config,
}

/// A database failure; the details go to the log, the client sees a plain `503` or `500`.
#[derive(Debug)]
pub struct StoreError {
    kind: ErrorKind,
    context: &'static str,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    pub(crate) fn new(
        kind: ErrorKind,
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            kind,
            context,
            source: Some(source.into()),
        }
    }

    pub(crate) fn bare(kind: ErrorKind, context: &'static str) -> StoreError {
        StoreError {
            kind,
            context,
            source: None,
        }
    }

    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether trying again later may work (the database is down or too slow).
    pub fn is_unavailable(&self) -> bool {
        self.kind == ErrorKind::Unavailable
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database: {}", self.context)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `error: cause: cause...`, for one log line or one line on the terminal.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_a_server_anything_else_a_file() {
        let t = |s: &str| DbTarget::parse(Path::new(s));
        assert!(matches!(t("postgres://u@h/db"), DbTarget::Postgres(_)));
        assert!(matches!(t("postgresql://h:5433/db"), DbTarget::Postgres(_)));
        assert!(matches!(t("book.db"), DbTarget::Sqlite(_)));
        assert!(matches!(t("./postgres:/x.db"), DbTarget::Sqlite(_)));
    }

    #[test]
    fn passwords_never_reach_the_log() {
        let t = DbTarget::parse(Path::new("postgres://app:s3cret@db.local:5432/book?x=1"));
        assert_eq!(t.to_string(), "postgres://app:***@db.local:5432/book?x=1");
        assert_eq!(
            DbTarget::parse(Path::new("postgres://app@h/b")).to_string(),
            "postgres://app@h/b"
        );
    }
}
