//! The framework workloads' sockserve side: a JSON route, and a page that reads the visitor's
//! session and renders a template. `axum_bench` serves the same two routes with axum 0.8,
//! tower-sessions and the same template, for the side-by-side comparison.
//!
//! The session is seeded at start with a fixed id and a fixed key, so that the load generator
//! can send the same `Cookie` header on every request (see `SESSION_COOKIE` in workloads.rs).

use std::net::SocketAddr;
use std::process::ExitCode;

use askama::Template;
use clap::Parser;
use server::{HttpConfig, RuntimeConfig, Server};
use web::cookies::key_from_secret;
use web::routing::get;
use web::session::{MemoryStore, Record, SessionStore};
use web::{Json, Page, Router, Session, SessionLayer};

#[derive(Parser, Debug)]
#[command(about = "The sockserve-web side of the framework workloads")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The signing secret (a benchmark's, not a real one).
const SECRET: &[u8] = b"sockserve bench secret: not for anything real!!!";
/// The seeded session's id.
const SESSION_ID: &str = "benchbenchbenchbenchbe";

#[derive(Template)]
#[template(path = "greeting.html")]
struct Greeting<'a> {
    user: &'a str,
    items: &'a [&'a str],
}

/// The items every page lists.
const ITEMS: &[&str] = &[
    "plaintext",
    "file-1k",
    "listing",
    "framework-json",
    "framework-session",
];

#[derive(serde::Serialize)]
struct Item {
    id: u32,
    title: &'static str,
    done: bool,
    tags: [&'static str; 2],
}

async fn json() -> Json<Item> {
    Json(Item {
        id: 1,
        title: "measure the framework",
        done: false,
        tags: ["bench", "json"],
    })
}

async fn page(session: Session) -> Page<Greeting<'static>> {
    let user = session.get::<String>("user");
    let user: &'static str = if user.as_deref() == Some("bench") {
        "bench"
    } else {
        "stranger"
    };
    Page(Greeting { user, items: ITEMS })
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("web_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let record = Record {
        id: SESSION_ID.to_string(),
        data: [("user".to_string(), serde_json::json!("bench"))].into(),
        created: now,
        expires: now + 10 * 365 * 24 * 3600,
    };
    let seeded = store.save(&record);
    tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(seeded)?;
    let key = key_from_secret(SECRET)?;
    let app = Router::new()
        .route("/page", get(page))
        .layer(SessionLayer::new(store, key))
        .route("/json", get(json));
    let mut server = Server::new(RuntimeConfig {
        threads: args.threads,
        ..RuntimeConfig::default()
    });
    server.http(
        SocketAddr::from(([127, 0, 0, 1], args.port)),
        app,
        HttpConfig::default(),
    )?;
    server.run()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cookie the workload sends is the one this key signs for the seeded id.
    #[test]
    fn the_workloads_cookie_is_signed_with_this_key() {
        let key = key_from_secret(SECRET).expect("key");
        let jar = web::SignedCookieJar::new(key).add(("session", SESSION_ID));
        let res = web::IntoResponse::into_response((jar, ""));
        let set = res.headers.get_str("set-cookie").expect("a cookie");
        let pair = set.split(';').next().expect("pair");
        assert_eq!(
            format!("Cookie: {pair}; id=AQAAAAAAAAAAAAAAAAAAAA"),
            SESSION_COOKIE
        );
    }

    /// A copy of `workloads::SESSION_COOKIE` (the harness and this binary are separate crates).
    const SESSION_COOKIE: &str = "Cookie: session=PB%2FW1VY+3tGPqo6PFdGM1zLIPEl5cRU3hjVISfrt%2FqE%3Dbenchbenchbenchbenchbe; id=AQAAAAAAAAAAAAAAAAAAAA";
}
