//! `/ws/echo`: the tutorial's request/reply lesson one level up. A WebSocket handshake gets a
//! socket that sends every text and binary message back as it came; a plain visit gets a page
//! that opens one from the browser and shows the replies.

use web::ws::{Message, WebSocket, WebSocketUpgrade, WsRejection};
use web::{Html, IntoResponse, Response};

/// Largest message the echo takes (1 MiB): a demo has no use for more, and a larger one shows
/// the size limit at work (the socket is closed with 1009).
pub const ECHO_MAX_MESSAGE: usize = 1 << 20;

/// `GET /ws/echo`.
pub async fn echo(ws: Result<WebSocketUpgrade, WsRejection>) -> Response {
    match ws {
        Ok(ws) => ws
            .max_message_size(ECHO_MAX_MESSAGE)
            .max_frame_size(ECHO_MAX_MESSAGE)
            .on_upgrade(echo_socket),
        // A browser visiting the address: the page that talks to it.
        Err(WsRejection::NotUpgrade) => Html(PAGE).into_response(),
        Err(other) => other.into_response(),
    }
}

/// Sends back every text and binary message until the client closes (pings are answered by
/// the socket itself).
async fn echo_socket(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(_) | Message::Binary(_) => msg,
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// The page at `/ws/echo`: a form whose lines go out over the socket, and the replies.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WebSocket echo</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1c2430; }
#log { border: 1px solid #ddd; padding: .5rem; min-height: 6rem; white-space: pre-wrap; overflow-wrap: anywhere; }
form { display: flex; gap: .5rem; margin: 1rem 0; }
input { flex: 1; font: inherit; padding: .4rem; }
</style>
</head>
<body>
<p><a href="/">Home</a></p>
<h1>WebSocket echo</h1>
<p>Status: <span id="status">connecting</span></p>
<form id="send"><input id="text" autocomplete="off" placeholder="Say something" required><button>Send</button></form>
<div id="log" aria-live="polite"></div>
<script>
"use strict";
const log = document.getElementById("log");
const status = document.getElementById("status");
const scheme = location.protocol === "https:" ? "wss:" : "ws:";
const socket = new WebSocket(scheme + "//" + location.host + "/ws/echo");
function line(text) {
  const p = document.createElement("div");
  p.textContent = text;
  log.appendChild(p);
}
socket.addEventListener("open", () => { status.textContent = "open"; });
socket.addEventListener("close", (e) => { status.textContent = "closed (" + e.code + ")"; });
socket.addEventListener("message", (e) => { line("< " + e.data); });
document.getElementById("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  line("> " + input.value);
  socket.send(input.value);
  input.value = "";
});
</script>
</body>
</html>
"#;
