//! [`Auth`]: Basic authentication in front of any service, and [`Guarded`], a service behind it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderValue, StatusCode, header};
use server::{RemoteUser, Request, Response, Service};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Credentials, Htpasswd, Limiter, LoadError};

/// Passwords remembered as verified (their SHA-256), so that a page with twenty images does not
/// cost twenty bcrypt checks, as Caddy's `basic_auth` caches them. When full, it is emptied.
pub const MAX_VERIFIED: usize = 1024;

/// The realm shown when none is configured (Apache's examples, Caddy's default).
pub const DEFAULT_REALM: &str = "restricted";

/// What a request that asks for a protected resource gets.
#[derive(Debug)]
pub enum Outcome {
    /// The credentials are right: this is the user.
    Allowed(RemoteUser),
    /// No credentials, or wrong ones: `401` with the challenge.
    Challenge,
    /// Too many failed attempts from this client: `429` with `Retry-After` (seconds).
    TooMany(u64),
}

/// Basic authentication against a set of users, with failed attempts limited per client.
pub struct Auth {
    realm: HeaderValue,
    users: RwLock<Arc<Htpasswd>>,
    /// The password files the users came from, re-read when they change.
    files: Option<Files>,
    limiter: Limiter,
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("realm", &self.realm)
            .field("users", &self.users().len())
            .finish_non_exhaustive()
    }
}

/// How often, at most, the password files' modification times are looked at.
pub const RELOAD_CHECK: Duration = Duration::from_secs(2);

/// The password files behind an [`Auth`], and when they were last looked at.
struct Files {
    /// Users given otherwise (`--auth user:password`), kept across reloads.
    fixed: Htpasswd,
    paths: Vec<PathBuf>,
    state: Mutex<(Instant, Vec<Option<SystemTime>>)>,
}

/// Why [`Auth::with_files`] failed.
#[derive(Debug)]
pub enum AuthError {
    /// A password file could not be read or parsed.
    Load(LoadError),
    /// The realm cannot be sent.
    Realm(BadRealm),
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Load(e) => e.fmt(f),
            AuthError::Realm(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::Load(e) => e.source(),
            AuthError::Realm(_) => None,
        }
    }
}

/// `fixed` and every file's users (the first entry for a user wins).
fn load_all(fixed: &Htpasswd, paths: &[PathBuf]) -> Result<Htpasswd, LoadError> {
    let mut users = fixed.clone();
    for p in paths {
        users.merge(Htpasswd::load(p)?);
    }
    Ok(users)
}

/// A file's modification time, `None` when it cannot be read.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A realm that cannot be sent in `WWW-Authenticate` (a control character).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRealm;

impl fmt::Display for BadRealm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the realm may not hold control characters")
    }
}

impl std::error::Error for BadRealm {}

impl Auth {
    /// Checks requests against `users`, naming `realm` in the challenge (`None`:
    /// [`DEFAULT_REALM`]).
    pub fn new(realm: Option<&str>, users: Htpasswd) -> Result<Auth, BadRealm> {
        Ok(Auth {
            realm: challenge_value(realm.unwrap_or(DEFAULT_REALM))?,
            users: RwLock::new(Arc::new(users)),
            files: None,
            limiter: Limiter::new(),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// Checks requests against `fixed` users and those of the password files at `paths`,
    /// which are read now and again whenever one changes (its modification time, looked at
    /// every [`RELOAD_CHECK`] at most), as Apache and nginx read theirs on every request: a
    /// user added with `htpasswd` can log in without a restart. A file that no longer parses
    /// keeps the users it had, with a warning.
    pub fn with_files(
        realm: Option<&str>,
        fixed: Htpasswd,
        paths: Vec<PathBuf>,
    ) -> Result<Auth, AuthError> {
        let stamps = paths.iter().map(|p| modified(p)).collect();
        let users = load_all(&fixed, &paths).map_err(AuthError::Load)?;
        let mut auth = Auth::new(realm, users).map_err(AuthError::Realm)?;
        auth.files = Some(Files {
            fixed,
            paths,
            state: Mutex::new((Instant::now(), stamps)),
        });
        Ok(auth)
    }

    /// The users it checks against now.
    pub fn users(&self) -> Arc<Htpasswd> {
        self.refresh();
        Arc::clone(&self.users.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Re-reads the password files when one changed since the last look.
    fn refresh(&self) {
        let Some(files) = &self.files else { return };
        let mut state = files.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.elapsed() < RELOAD_CHECK {
            return;
        }
        state.0 = Instant::now();
        let stamps: Vec<_> = files.paths.iter().map(|p| modified(p)).collect();
        if stamps == state.1 {
            return;
        }
        state.1 = stamps;
        match load_all(&files.fixed, &files.paths) {
            Ok(users) => {
                *self.users.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(users);
                self.verified
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
                tracing::info!("password files re-read");
            }
            Err(e) => {
                tracing::warn!(error = %e, "password file not re-read; the users it had stay")
            }
        }
    }

    /// Decides on a request from its `Authorization` value and its client. Hash checks (bcrypt,
    /// argon2: milliseconds of CPU) run on the blocking pool, never on the event loop.
    pub async fn decide(
        self: &Arc<Self>,
        authorization: Option<&[u8]>,
        client: std::net::IpAddr,
    ) -> Outcome {
        let Some(creds) = authorization.and_then(Credentials::from_authorization) else {
            return Outcome::Challenge;
        };
        if let Some(wait) = self.limiter.blocked(client, Instant::now()) {
            return Outcome::TooMany(wait.as_secs().max(1));
        }
        let ok = if self.remembered(&creds) {
            true
        } else {
            let this = Arc::clone(self);
            let (user, password) = (creds.user.clone(), creds.password.clone());
            let checked =
                tokio::task::spawn_blocking(move || this.users().verify(&user, &password));
            let ok = checked.await.unwrap_or(false);
            if ok {
                self.remember(&creds);
            }
            ok
        };
        if ok {
            self.limiter.succeeded(client);
            Outcome::Allowed(RemoteUser::new(creds.user))
        } else {
            self.limiter.failed(client, Instant::now());
            tracing::info!(%client, user = %creds.user.escape_debug(), "authentication failed");
            Outcome::Challenge
        }
    }

    /// Checks `req`: the verified user, or the response that refuses it. What it needs is
    /// taken from `req` at once, so the future does not borrow it.
    pub fn check(
        self: &Arc<Self>,
        req: &Request,
    ) -> impl Future<Output = Result<RemoteUser, Response>> + Send + use<> {
        let value = req.headers().get("authorization").cloned();
        let client = req.conn.peer.ip();
        let this = Arc::clone(self);
        async move {
            match this
                .decide(value.as_ref().map(|v| v.as_bytes()), client)
                .await
            {
                Outcome::Allowed(user) => Ok(user),
                Outcome::Challenge => Err(this.challenge()),
                Outcome::TooMany(secs) => Err(too_many(secs)),
            }
        }
    }

    /// `401` with `WWW-Authenticate: Basic realm="...", charset="UTF-8"` (RFC 7617 2.1: the
    /// server expects user-ids and passwords in UTF-8).
    pub fn challenge(&self) -> Response {
        let mut r = Response::error(StatusCode::UNAUTHORIZED);
        r.headers
            .append(header::WWW_AUTHENTICATE, self.realm.clone());
        r
    }

    fn remembered(&self, creds: &Credentials) -> bool {
        let digest = Sha256::digest(creds.password.as_bytes());
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified
            .get(&creds.user)
            .is_some_and(|known| bool::from(known.ct_eq(&digest[..])))
    }

    fn remember(&self, creds: &Credentials) {
        let digest: [u8; 32] = Sha256::digest(creds.password.as_bytes()).into();
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(creds.user.clone(), digest);
    }
}

/// `Basic realm="REALM", charset="UTF-8"`, the realm's `"` and `\` escaped as a
/// quoted-string needs (RFC 9110 5.6.4).
fn challenge_value(realm: &str) -> Result<HeaderValue, BadRealm> {
    let mut v = String::with_capacity(realm.len() + 40);
    v.push_str("Basic realm=\"");
    for c in realm.chars() {
        if c.is_control() {
            return Err(BadRealm);
        }
        if c == '"' || c == '\\' {
            v.push('\\');
        }
        v.push(c);
    }
    v.push_str("\", charset=\"UTF-8\"");
    HeaderValue::from_str(&v).map_err(|_| BadRealm)
}

/// `429 Too Many Requests` with `Retry-After` (RFC 6585 4).
fn too_many(secs: u64) -> Response {
    let mut r = Response::error(StatusCode::TOO_MANY_REQUESTS);
    r.headers
        .append(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// A service that only verified users reach. The user travels in the request's extensions
/// ([`RemoteUser`], CGI's `REMOTE_USER`) and in the response, for the access log.
#[derive(Debug, Clone)]
pub struct Guarded<S> {
    auth: Arc<Auth>,
    inner: S,
}

impl<S> Guarded<S> {
    /// `inner` behind `auth`.
    pub fn new(auth: Arc<Auth>, inner: S) -> Guarded<S> {
        Guarded { auth, inner }
    }
}

impl<S: Service> Service for Guarded<S> {
    fn call(&self, mut req: Request) -> impl Future<Output = Response> + Send {
        let checked = self.auth.check(&req);
        async move {
            match checked.await {
                Ok(user) => {
                    req.extensions.insert(user.clone());
                    let mut r = self.inner.call(req).await;
                    r.user = Some(user);
                    r
                }
                Err(refused) => refused,
            }
        }
    }

    fn options_asterisk(&self) -> Response {
        self.inner.options_asterisk()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_is_a_quoted_string() {
        let v = challenge_value("a \"b\" \\c").expect("valid");
        assert_eq!(v, "Basic realm=\"a \\\"b\\\" \\\\c\", charset=\"UTF-8\"");
        assert_eq!(challenge_value("x\ny"), Err(BadRealm));
    }

    fn header(creds: &str) -> Vec<u8> {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(creds)
        )
        .into_bytes()
    }

    #[test]
    fn password_files_are_read_again_when_they_change() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("users");
        std::fs::write(&path, "bob:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n").expect("write");
        let mut fixed = Htpasswd::new();
        fixed.add_password("ann", "x").expect("valid");
        let auth = Auth::with_files(None, fixed, vec![path.clone()]).expect("loads");
        assert!(auth.users().verify("bob", "pw") && auth.users().verify("ann", "x"));
        std::fs::write(&path, "carl:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n").expect("write");
        let later = SystemTime::now() + Duration::from_secs(10);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(later))
            .expect("touch");
        if let Some(files) = &auth.files {
            files.state.lock().expect("lock").0 = Instant::now() - RELOAD_CHECK;
        }
        let users = auth.users();
        assert!(users.verify("carl", "pw") && !users.contains("bob"));
        assert!(users.verify("ann", "x"), "command-line users stay");
    }

    #[tokio::test]
    async fn decides_and_limits() {
        let mut users = Htpasswd::new();
        users.add_password("ann", "pw").expect("valid");
        let auth = Arc::new(Auth::new(Some("R"), users).expect("realm"));
        let ip = "192.0.2.1".parse().expect("ip");
        assert!(matches!(auth.decide(None, ip).await, Outcome::Challenge));
        let good = header("ann:pw");
        match auth.decide(Some(&good), ip).await {
            Outcome::Allowed(user) => assert_eq!(user.name(), "ann"),
            other => panic!("{other:?}"),
        }
        let bad = header("ann:nope");
        for _ in 0..crate::limit::MAX_FAILURES {
            assert!(matches!(
                auth.decide(Some(&bad), ip).await,
                Outcome::Challenge
            ));
        }
        assert!(matches!(
            auth.decide(Some(&good), ip).await,
            Outcome::TooMany(_)
        ));
        let other = "192.0.2.2".parse().expect("ip");
        assert!(matches!(
            auth.decide(Some(&good), other).await,
            Outcome::Allowed(_)
        ));
    }
}
