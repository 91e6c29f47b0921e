//! The session layer: load before the handler, save after.

use std::sync::Arc;
use std::time::Duration;

use cookie::Key;
use http1::StatusCode;
use server::{Request, Response, Service};

use super::store::{Record, SessionStore, StoreError};
use super::{
    DEFAULT_ABSOLUTE_TIMEOUT, DEFAULT_COOKIE_NAME, DEFAULT_IDLE_TIMEOUT, Session, now, random_token,
};
use crate::cookies::{Cookie, request_cookie, write_delta};
use crate::middleware::Layer;

/// Random bytes in a session id: 128 bits, as OWASP asks for at least 64 bits of entropy.
const ID_BYTES: usize = 16;

/// An unchanged session is saved again (moving its idle deadline) only when the deadline
/// would move by at least this much, so that a busy client does not cost a write per request.
const TOUCH_INTERVAL: i64 = 60;

/// Every this many saves, the layer asks the store to drop expired sessions, so a table of
/// sessions that were never logged out of does not grow without bound (PHP's session GC does
/// the same by probability).
const CLEANUP_EVERY: u64 = 1000;

struct Config {
    saves: std::sync::atomic::AtomicU64,
    store: Arc<dyn SessionStore>,
    key: Key,
    cookie_name: String,
    idle: i64,
    absolute: i64,
}

/// Gives every request a [`Session`]; see the [module documentation](super).
#[derive(Clone)]
pub struct SessionLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie_name", &self.config.cookie_name)
            .field("idle", &self.config.idle)
            .field("absolute", &self.config.absolute)
            .finish()
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl SessionLayer {
    /// Sessions kept in `store`, their id cookie signed with `key` (from configuration, so
    /// sessions survive a restart: see [`crate::cookies::key_from_secret`]).
    pub fn new(store: impl SessionStore, key: Key) -> SessionLayer {
        SessionLayer {
            config: Arc::new(Config {
                saves: std::sync::atomic::AtomicU64::new(0),
                store: Arc::new(store),
                key,
                cookie_name: DEFAULT_COOKIE_NAME.to_string(),
                idle: secs(DEFAULT_IDLE_TIMEOUT),
                absolute: secs(DEFAULT_ABSOLUTE_TIMEOUT),
            }),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        // Only called while building, before the layer is cloned.
        Arc::get_mut(&mut self.config).expect("a SessionLayer is configured before it is used")
    }

    /// The cookie's name (default [`DEFAULT_COOKIE_NAME`]).
    pub fn with_cookie_name(mut self, name: &str) -> SessionLayer {
        self.config_mut().cookie_name = name.to_string();
        self
    }

    /// How long a session lasts without a request (default [`DEFAULT_IDLE_TIMEOUT`]).
    pub fn with_idle_timeout(mut self, idle: Duration) -> SessionLayer {
        self.config_mut().idle = secs(idle);
        self
    }

    /// How long a session lasts at most (default [`DEFAULT_ABSOLUTE_TIMEOUT`]).
    pub fn with_absolute_timeout(mut self, absolute: Duration) -> SessionLayer {
        self.config_mut().absolute = secs(absolute);
        self
    }
}

impl<S: Service> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// A service behind a [`SessionLayer`].
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService").finish_non_exhaustive()
    }
}

impl<S: Service> Service for SessionService<S> {
    async fn call(&self, mut req: Request) -> Response {
        let config = &self.config;
        let cookie = request_cookie(req.headers(), &config.cookie_name);
        let cookie_seen = cookie.is_some();
        let id = cookie
            .and_then(|c| cookie::CookieJar::new().signed(&config.key).verify(c))
            .map(|c| c.value().to_string());
        let loaded = match id {
            Some(id) => match config.store.load(&id).await {
                Ok(found) => found.filter(|r| r.expires > now()),
                Err(e) => return store_failed(&e),
            },
            None => None,
        };
        let secure = req.conn.is_tls();
        let session = Session::from_record(loaded);
        req.extensions.insert(session.clone());
        let mut res = self.inner.call(req).await;
        if let Err(e) = finish(config, &session, cookie_seen, secure, &mut res).await {
            return store_failed(&e);
        }
        res
    }
}

/// What `Retry-After` asks of a client when the store is unavailable, in seconds: about how
/// long a database restart or fail-over takes.
pub const STORE_RETRY_AFTER: &str = "2";

/// The answer when the store fails: the handler's work is not confirmed to the client.
fn store_failed(e: &StoreError) -> Response {
    match e {
        StoreError::Full => {
            tracing::warn!("session store full");
            Response::error(StatusCode::SERVICE_UNAVAILABLE)
        }
        StoreError::Backend(source) => {
            tracing::error!(error = %source, "session store failed");
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
        StoreError::Unavailable(source) => {
            tracing::warn!(error = %source, "session store unavailable");
            let mut r = Response::error(StatusCode::SERVICE_UNAVAILABLE);
            r.headers.append(
                http1::header::RETRY_AFTER,
                http1::HeaderValue::from_static(STORE_RETRY_AFTER),
            );
            r
        }
    }
}

/// Saves, renews, rotates or ends the session after the handler, and sets the cookie.
async fn finish(
    config: &Config,
    session: &Session,
    cookie_seen: bool,
    secure: bool,
    res: &mut Response,
) -> Result<(), StoreError> {
    let (loaded, data, modified, cycle, flushed) = {
        let mut s = session.lock();
        (
            s.loaded.take(),
            std::mem::take(&mut s.data),
            s.modified,
            s.cycle,
            s.flushed,
        )
    };
    let now = now();
    let created = loaded.as_ref().map_or(now, |r| r.created);
    let expires = (now.saturating_add(config.idle)).min(created.saturating_add(config.absolute));
    if flushed || data.is_empty() || expires <= now {
        // No session to keep: forget the stored one and the browser's cookie.
        if let Some(old) = &loaded {
            config.store.delete(&old.id).await?;
        }
        if cookie_seen {
            set_cookie(config, removal(config), secure, res);
        }
        return Ok(());
    }
    let renew = loaded
        .as_ref()
        .is_none_or(|r| modified || cycle || expires - r.expires >= TOUCH_INTERVAL);
    if !renew {
        return Ok(());
    }
    let id = match &loaded {
        Some(old) if !cycle => old.id.clone(),
        _ => {
            if let Some(old) = &loaded {
                config.store.delete(&old.id).await?;
            }
            random_token(ID_BYTES).map_err(StoreError::backend)?
        }
    };
    let record = Record {
        id,
        data,
        created,
        expires,
    };
    config.store.save(&record).await?;
    let saves = config
        .saves
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if saves % CLEANUP_EVERY == CLEANUP_EVERY - 1 {
        match config.store.delete_expired(now).await {
            Ok(n) => tracing::debug!(dropped = n, "expired sessions dropped"),
            // The request succeeded; a failed clean-up is retried after the next batch.
            Err(e) => tracing::warn!(error = %e, "cannot drop expired sessions"),
        }
    }
    let cookie = Cookie::build((config.cookie_name.clone(), record.id))
        .max_age(cookie::time::Duration::seconds(expires - now))
        .build();
    set_cookie(config, cookie, secure, res);
    Ok(())
}

/// The cookie that tells the browser to forget the session.
fn removal(config: &Config) -> Cookie<'static> {
    let mut c = Cookie::new(config.cookie_name.clone(), "");
    c.make_removal();
    c
}

/// Sets the session cookie, signed, with the jar's defaults (`HttpOnly`, `SameSite=Lax`,
/// `Path=/`, `Secure` over TLS).
fn set_cookie(config: &Config, cookie: Cookie<'static>, secure: bool, res: &mut Response) {
    let mut jar = cookie::CookieJar::new();
    if cookie.value().is_empty() {
        jar.add(cookie);
    } else {
        jar.signed_mut(&config.key).add(cookie);
    }
    write_delta(&jar, secure, res);
}
