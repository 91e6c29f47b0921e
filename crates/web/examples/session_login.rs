//! Logging in with a session: a login form protected against CSRF, the user's name kept in a
//! server-side session behind a signed cookie, a new session id at login, and logging out.
//!
//! ```text
//! SESSION_SECRET=$(openssl rand -base64 48) cargo run -p sockserve-web --example session_login [PORT]
//! open http://127.0.0.1:3000/        (alice / wonderland)
//! ```
//!
//! Sessions are kept in SQLite (`sessions.db` in the system's temporary directory, or the file
//! in `SESSION_DB`), so they survive a restart when the secret is the same.

use std::net::SocketAddr;

use server::{HttpConfig, RuntimeConfig, Server};
use web::askama::Template;
use web::cookies::{Key, key_from_secret};
use web::middleware::ServiceExt;
use web::routing::{get, post};
use web::session::SqliteStore;
use web::{
    CsrfLayer, CsrfToken, Form, InternalError, IntoResponse, Page, Redirect, Response, Router,
    Service, Session, SessionLayer, StatusCode,
};

/// The demo's only account.
const USERS: &[(&str, &str)] = &[("alice", "wonderland")];

#[derive(Template)]
#[template(
    ext = "html",
    askama = web::askama,
    source = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{% if let Some(user) = user %}Hello, {{ user }}{% else %}Log in{% endif %}</title></head>
<body>
{% if let Some(user) = user %}
<h1 id="hello">Hello, {{ user }}!</h1>
<p>You have visited {{ visits }} pages since logging in.</p>
<form method="post" action="/logout">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<button type="submit" id="logout">Log out</button>
</form>
{% else %}
<h1>Log in</h1>
{% if failed %}<p id="error">Wrong name or password.</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<label>Name <input id="name" name="name" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button type="submit" id="login">Log in</button>
</form>
{% endif %}
</body></html>
"#
)]
struct Home {
    user: Option<String>,
    visits: u32,
    failed: bool,
    csrf: String,
}

#[derive(serde::Deserialize)]
struct Login {
    name: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct Failed {
    #[serde(default)]
    failed: bool,
}

async fn home(
    session: Session,
    csrf: CsrfToken,
    web::Query(q): web::Query<Failed>,
) -> Result<Page<Home>, InternalError> {
    let user = session.get::<String>("user");
    let mut visits = 0;
    if user.is_some() {
        visits = session.get::<u32>("visits").unwrap_or(0) + 1;
        session.insert("visits", visits)?;
    }
    Ok(Page(Home {
        user,
        visits,
        failed: q.failed,
        csrf: csrf.as_str().to_string(),
    }))
}

async fn login(session: Session, Form(login): Form<Login>) -> Result<Response, InternalError> {
    let known = USERS
        .iter()
        .any(|(n, p)| *n == login.name && *p == login.password);
    if !known {
        return Ok(Redirect::to("/?failed=true").into_response());
    }
    // The privilege changes: a new id, so an id planted before login is worth nothing.
    session.cycle_id();
    session.insert("user", &login.name)?;
    Ok(Redirect::to("/").into_response())
}

async fn logout(session: Session) -> Redirect {
    session.flush();
    Redirect::to("/")
}

/// The application: its routes behind CSRF protection and sessions.
pub fn app(store: SqliteStore, key: Key) -> impl Service {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such page") })
        .layer(CsrfLayer::new())
        .layer(SessionLayer::new(store, key))
        .catch_panics()
}

/// The key from `SESSION_SECRET` (at least 32 bytes), or a random one (sessions then end
/// when the process does).
fn key() -> Result<Key, Box<dyn std::error::Error>> {
    match std::env::var("SESSION_SECRET") {
        Ok(secret) => Ok(key_from_secret(secret.as_bytes())?),
        Err(_) => {
            eprintln!("SESSION_SECRET not set: using a random key for this run");
            Ok(Key::generate())
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let db = std::env::var_os("SESSION_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("sessions.db"));
    let store = SqliteStore::open(&db)?;
    let mut server = Server::new(RuntimeConfig::default());
    let addr = server.http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app(store, key()?),
        HttpConfig::default(),
    )?;
    println!("Listening on http://{addr}/");
    server.run()?;
    Ok(())
}
