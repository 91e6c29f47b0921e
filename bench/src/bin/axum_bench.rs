//! The framework workloads' peer: the routes of `web_bench` on axum 0.8, with tower-sessions
//! (axum's usual session layer) and the same askama template.

use std::process::ExitCode;

use askama::Template;
use axum::Json;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use clap::Parser;
use tower_sessions::cookie::time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer, SessionStore};

#[derive(Parser, Debug)]
#[command(about = "The axum side of the framework workloads")]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long)]
    port: u16,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The seeded session's id: its cookie is `id=AQAAAAAAAAAAAAAAAAAAAA`.
const SESSION_ID: i128 = 1;

#[derive(Template)]
#[template(path = "greeting.html")]
struct Greeting<'a> {
    user: &'a str,
    items: &'a [&'a str],
}

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

async fn page(session: Session) -> Response {
    let user = session.get::<String>("user").await.ok().flatten();
    let user = if user.as_deref() == Some("bench") {
        "bench"
    } else {
        "stranger"
    };
    match (Greeting { user, items: ITEMS }).render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(run(&args)),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::default();
    let record = Record {
        id: Id(SESSION_ID),
        data: [("user".to_string(), serde_json::json!("bench"))].into(),
        expiry_date: OffsetDateTime::now_utc() + Duration::days(3650),
    };
    store.save(&record).await?;
    let app = axum::Router::new()
        .route("/page", get(page))
        .layer(SessionManagerLayer::new(store).with_secure(false))
        .route("/json", get(json));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
