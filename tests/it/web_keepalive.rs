//! Idle upgraded connections and event streams, on the real server with short intervals: a
//! quiet WebSocket is pinged and closed with 1011 when the pongs stop (raw frames from a socket,
//! and Python's `websockets`, which answers pings by itself); a quiet event stream gets
//! `: keep-alive` comments, and ends once its client is gone.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use server::{HttpConfig, RuntimeConfig, Server, ShutdownHandle};
use web::Router;
use web::routing::get;
use web::sse::{Event, KeepAlive, Sse};
use web::ws::{Message, WebSocketUpgrade, WsError};

use crate::live_ws::python3;

/// The ping interval of these tests' WebSockets.
const PING: Duration = Duration::from_millis(200);
/// Their pong timeout.
const PONG: Duration = Duration::from_millis(300);
/// The keep-alive interval of their event streams.
const KEEP_ALIVE: Duration = Duration::from_millis(100);

/// A server on a free port, stopped when dropped.
pub(crate) struct Serving {
    pub(crate) addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `app` on one worker, the way `sockserve` serves the site.
pub(crate) fn serve(app: impl server::Service) -> Serving {
    let mut server = Server::new(RuntimeConfig {
        threads: 1,
        grace: Duration::from_secs(1),
        ..RuntimeConfig::default()
    });
    let addr = server
        .http(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            app,
            HttpConfig::default(),
        )
        .expect("bind");
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run().expect("server runs"));
    Serving {
        addr,
        shutdown,
        thread: Some(thread),
    }
}

/// An echo endpoint with short keep-alive times that reports how its `recv` loop ended.
fn echo_app(ended: mpsc::Sender<String>) -> Router {
    let ended = std::sync::Mutex::new(ended);
    let ended = std::sync::Arc::new(ended);
    Router::new().route(
        "/ws",
        get(move |ws: WebSocketUpgrade| {
            let ended = ended.clone();
            async move {
                ws.without_compression()
                    .ping_interval(PING)
                    .pong_timeout(PONG)
                    .on_upgrade(move |mut socket| async move {
                        let why = loop {
                            match socket.recv().await {
                                Some(Ok(m @ (Message::Text(_) | Message::Binary(_)))) => {
                                    if socket.send(m).await.is_err() {
                                        break "send failed".to_owned();
                                    }
                                }
                                Some(Ok(_)) => {}
                                Some(Err(WsError::TimedOut)) => break "timed out".to_owned(),
                                Some(Err(e)) => break format!("error: {e}"),
                                None => break "closed".to_owned(),
                            }
                        };
                        let _ = ended.lock().map(|tx| tx.send(why));
                    })
            }
        }),
    )
}

/// Opens a WebSocket with raw bytes; returns the socket after the `101`.
fn handshake(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        s,
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .expect("send");
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    s
}

/// One server frame (unmasked, short): its opcode and payload; `None` at the end of the stream.
fn frame(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).ok()?;
    let len = usize::from(head[1] & 0x7f);
    assert!(len < 126, "a short frame");
    let mut payload = vec![0; len];
    s.read_exact(&mut payload).ok()?;
    Some((head[0] & 0x0f, payload))
}

/// A masked client frame.
fn send_frame(s: &mut TcpStream, opcode: u8, payload: &[u8]) {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    s.write_all(&out).expect("send frame");
}

#[test]
fn a_silent_websocket_is_pinged_then_closed_with_1011() {
    let (tx, ended) = mpsc::channel();
    let server = serve(echo_app(tx));
    let mut s = handshake(server.addr);
    let start = Instant::now();
    let (op, _) = frame(&mut s).expect("a ping");
    assert_eq!(op, 0x9, "a ping after the interval");
    assert!(start.elapsed() >= PING - Duration::from_millis(20));
    // No pong: a close with 1011, then the end of the connection.
    let (op, payload) = frame(&mut s).expect("a close");
    assert_eq!(op, 0x8);
    assert_eq!(&payload[..2], &1011u16.to_be_bytes());
    assert_eq!(&payload[2..], b"keepalive ping timeout");
    assert!(frame(&mut s).is_none(), "the connection ends");
    assert!(start.elapsed() < Duration::from_secs(3));
    let why = ended.recv_timeout(Duration::from_secs(5)).expect("ended");
    assert_eq!(why, "timed out");
}

#[test]
fn a_websocket_that_answers_its_pings_stays_open() {
    let (tx, ended) = mpsc::channel();
    let server = serve(echo_app(tx));
    let mut s = handshake(server.addr);
    let mut pings = 0;
    let start = Instant::now();
    while start.elapsed() < 4 * (PING + PONG) {
        let (op, payload) = frame(&mut s).expect("a frame");
        assert_eq!(op, 0x9, "only pings while quiet");
        send_frame(&mut s, 0xA, &payload);
        pings += 1;
    }
    assert!(pings >= 4, "{pings} pings");
    send_frame(&mut s, 0x1, b"still here");
    assert_eq!(frame(&mut s), Some((0x1, b"still here".to_vec())));
    // A client that keeps talking is never pinged.
    for i in 0..6 {
        std::thread::sleep(PING / 2);
        let text = format!("message {i}");
        send_frame(&mut s, 0x1, text.as_bytes());
        assert_eq!(frame(&mut s), Some((0x1, text.into_bytes())));
    }
    send_frame(&mut s, 0x8, &1000u16.to_be_bytes());
    assert_eq!(frame(&mut s).map(|f| f.0), Some(0x8));
    assert_eq!(
        ended.recv_timeout(Duration::from_secs(5)).as_deref(),
        Ok("closed")
    );
}

/// Python's `websockets` with its own pings off: it answers the server's, so an idle
/// connection outlives several pong timeouts and still echoes.
#[test]
fn pythons_websockets_client_stays_connected_while_idle() {
    let (tx, _ended) = mpsc::channel();
    let server = serve(echo_app(tx));
    let script = r#"
import asyncio, sys, websockets
async def main():
    url = f"ws://{sys.argv[1]}:{sys.argv[2]}/ws"
    async with websockets.connect(url, ping_interval=None) as ws:
        await asyncio.sleep(float(sys.argv[3]))
        await ws.send("after the silence")
        print(await asyncio.wait_for(ws.recv(), 5))
        print("open" if ws.open else "closed")
asyncio.run(main())
"#;
    let idle = (4 * (PING + PONG)).as_secs_f64().to_string();
    let out = Command::new(python3())
        .args(["-c", script])
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string())
        .arg(idle)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "after the silence\nopen\n");
}

/// Sets its flag when dropped: the event stream holding it is gone.
struct DropFlag(mpsc::Sender<()>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// An event stream that sends one event, then nothing; it holds a [`DropFlag`].
fn sse_app(dropped: mpsc::Sender<()>) -> Router {
    let dropped = std::sync::Arc::new(std::sync::Mutex::new(dropped));
    Router::new().route(
        "/events",
        get(move || {
            let flag = dropped.lock().map(|tx| DropFlag(tx.clone())).ok();
            async move {
                let first = futures_util::stream::once(async { Event::default().data("hello") });
                let quiet = futures_util::stream::unfold(flag, |flag| async move {
                    std::future::pending::<()>().await;
                    Some((Event::default(), flag))
                });
                Sse::new(futures_util::StreamExt::chain(first, quiet))
                    .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
            }
        }),
    )
}

#[test]
fn a_quiet_event_stream_gets_keep_alive_comments_and_ends_when_the_client_leaves() {
    let (tx, dropped) = mpsc::channel();
    let server = serve(sse_app(tx));
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(s, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let start = Instant::now();
    while seen.windows(12).filter(|w| w == b": keep-alive").count() < 3 {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "the stream stays open");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(start.elapsed() >= 2 * KEEP_ALIVE);
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("text/event-stream"), "{text}");
    assert!(text.contains("data: hello\n\n"), "{text}");
    assert!(text.contains(": keep-alive\n\n"), "{text}");
    assert!(dropped.try_recv().is_err(), "still streaming");
    drop(s);
    // The next keep-alive or two find the connection gone, and the stream is dropped.
    dropped
        .recv_timeout(Duration::from_secs(5))
        .expect("the stream ends once its client is gone");
}
