//! A clock pushed to the browser with server-sent events: one `tick` event a second, each
//! with an id, and a page that shows it with `EventSource`.
//!
//! ```text
//! cargo run -p sockserve-web --example sse_clock [PORT]
//! curl -N http://127.0.0.1:3000/clock
//! open http://127.0.0.1:3000/
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use futures_core::Stream;
use server::{HttpConfig, RuntimeConfig, Server};
use web::middleware::ServiceExt;
use web::routing::get;
use web::sse::{Event, KeepAlive, Sse};
use web::{Html, Router};

/// How often the clock ticks.
const TICK: Duration = Duration::from_secs(1);

/// A `tick` event every [`TICK`], its data the time as `HH:MM:SS` UTC and its id a count.
fn ticks() -> impl Stream<Item = Event> + Send + 'static {
    futures_util::stream::unfold(0u64, |n| async move {
        if n > 0 {
            tokio::time::sleep(TICK).await;
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let event = Event::default()
            .event("tick")
            .id(n.to_string())
            .data(format!("{h:02}:{m:02}:{s:02} UTC"));
        Some((event, n + 1))
    })
}

async fn clock() -> Sse<impl Stream<Item = Event> + Send + 'static> {
    Sse::new(ticks()).keep_alive(KeepAlive::new())
}

/// The application.
pub fn app() -> impl web::Service {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/clock", get(clock))
        .catch_panics()
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let mut server = Server::new(RuntimeConfig::default());
    let addr = server.http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app(),
        HttpConfig::default(),
    )?;
    println!("Listening on http://{addr}/");
    server.run()
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Clock</title></head>
<body>
<h1 id="time">--:--:--</h1>
<script>
"use strict";
new EventSource("/clock").addEventListener("tick", (e) => {
  document.getElementById("time").textContent = e.data;
});
</script>
</body></html>
"#;
