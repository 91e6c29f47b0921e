//! A chat room over WebSocket: every message a client sends goes to everyone in the room,
//! with the sender's name; joins and leaves are announced.
//!
//! ```text
//! cargo run -p sockserve-web --example websocket_chat [PORT]
//! open http://127.0.0.1:3000/ in two windows
//! ```
//!
//! Each socket is split: one task reads from the client, another writes what the room says.
//! The room is a `tokio::sync::broadcast` channel; a client too slow to keep up skips what it
//! missed rather than holding everyone back.

use std::net::SocketAddr;

use futures_util::FutureExt as _;
use server::{HttpConfig, RuntimeConfig, Server};
use tokio::sync::broadcast;
use web::middleware::ServiceExt;
use web::routing::get;
use web::ws::{Message, WebSocket, WebSocketUpgrade};
use web::{Html, Query, Router, State};

/// Messages the room keeps for a reader that falls behind.
const BACKLOG: usize = 100;

/// Longest chat message (bytes): a chat line, not a file.
const MAX_MESSAGE: usize = 4096;

#[derive(Clone)]
struct Room(broadcast::Sender<String>);

#[derive(serde::Deserialize)]
struct Join {
    #[serde(default)]
    name: String,
}

async fn join(
    ws: WebSocketUpgrade,
    State(room): State<Room>,
    Query(join): Query<Join>,
) -> web::Response {
    let name: String = join
        .name
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    let name = if name.trim().is_empty() {
        "anonymous".to_string()
    } else {
        name
    };
    ws.max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| talk(socket, room, name))
}

/// One member: what they say goes to the room, what the room says goes to them.
async fn talk(socket: WebSocket, room: Room, name: String) {
    let (tx, mut rx) = socket.split();
    let mut heard = room.0.subscribe();
    let _ = room.0.send(format!("* {name} joined"));
    let mut forward = tokio::spawn(async move {
        loop {
            match heard.recv().await {
                Ok(line) => {
                    if tx.send(line).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let _ = room.0.send(format!("{name}: {text}"));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            _ = (&mut forward).map(drop) => break,
        }
    }
    forward.abort();
    let _ = room.0.send(format!("* {name} left"));
}

/// The application.
pub fn app() -> impl web::Service {
    let (room, _) = broadcast::channel(BACKLOG);
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/ws", get(join))
        .with_state(Room(room))
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
<html lang="en"><head><meta charset="utf-8"><title>Chat</title></head>
<body>
<h1>Chat</h1>
<form id="join"><input id="name" placeholder="Your name" required><button>Join</button></form>
<div id="log" style="white-space: pre-wrap"></div>
<form id="say" hidden><input id="text" autocomplete="off" required><button>Send</button></form>
<script>
"use strict";
let socket;
const log = document.getElementById("log");
document.getElementById("join").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = document.getElementById("name").value;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  socket = new WebSocket(scheme + "//" + location.host + "/ws?name=" + encodeURIComponent(name));
  socket.onmessage = (m) => { const d = document.createElement("div"); d.textContent = m.data; log.appendChild(d); };
  document.getElementById("join").hidden = true;
  document.getElementById("say").hidden = false;
});
document.getElementById("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  socket.send(text.value);
  text.value = "";
});
</script>
</body></html>
"#;
