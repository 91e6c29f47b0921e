//! The `websocket_chat` and `sse_clock` examples, served by the real server on 127.0.0.1:0
//! and driven over sockets: two chat members by raw WebSocket frames, the clock by a streaming
//! read. Each example's source is compiled in here as a module, so what is tested is what
//! `cargo run --example` serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod support;

use support::Running;

#[allow(dead_code)]
#[path = "../examples/sse_clock.rs"]
mod sse_clock;
#[allow(dead_code)]
#[path = "../examples/websocket_chat.rs"]
mod websocket_chat;

/// How long a stopping server waits for its open connections.
const GRACE: Duration = Duration::from_millis(200);

fn serve(app: impl server::Service) -> Running {
    support::serve(app, GRACE)
}

/// A minimal WebSocket client: the handshake, masked text frames out, frames in.
struct Client {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr, path: &str) -> Client {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .expect("handshake");
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = s.read(&mut chunk).expect("read");
            assert!(n > 0, "closed during the handshake");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert!(
            head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{head}"
        );
        buf.drain(..end + 4);
        Client { s, buf }
    }

    fn send_text(&mut self, text: &str) {
        let key = [0x12u8, 0x34, 0x56, 0x78];
        let mut frame = vec![0x81, 0x80 | u8::try_from(text.len()).expect("short")];
        frame.extend_from_slice(&key);
        frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.s.write_all(&frame).expect("send");
    }

    /// The next frame's opcode and payload.
    fn recv(&mut self) -> (u8, Vec<u8>) {
        loop {
            if self.buf.len() >= 2 {
                let len = usize::from(self.buf[1] & 0x7F);
                assert!(len < 126, "a short frame");
                assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
                if self.buf.len() >= 2 + len {
                    let op = self.buf[0] & 0x0F;
                    let payload = self.buf[2..2 + len].to_vec();
                    self.buf.drain(..2 + len);
                    return (op, payload);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.s.read(&mut chunk).expect("read");
            assert!(n > 0, "closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn recv_text(&mut self) -> String {
        let (op, payload) = self.recv();
        assert_eq!(op, 1, "a text frame");
        String::from_utf8(payload).expect("utf-8")
    }
}

#[test]
fn websocket_chat_carries_each_members_lines_to_everyone() {
    let server = serve(websocket_chat::app());
    let mut ann = Client::connect(server.addr, "/ws?name=Ann");
    assert_eq!(ann.recv_text(), "* Ann joined");
    let mut bob = Client::connect(server.addr, "/ws?name=Bob");
    assert_eq!(bob.recv_text(), "* Bob joined");
    assert_eq!(ann.recv_text(), "* Bob joined");
    ann.send_text("hello, Bob");
    assert_eq!(ann.recv_text(), "Ann: hello, Bob");
    assert_eq!(bob.recv_text(), "Ann: hello, Bob");
    // Bob leaves with a close handshake; Ann hears of it.
    bob.s
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8])
        .expect("close");
    let (op, payload) = bob.recv();
    assert_eq!(
        (op, &payload[..]),
        (8, &[0x03, 0xE8][..]),
        "the close echoed"
    );
    assert_eq!(ann.recv_text(), "* Bob left");
}

#[test]
fn sse_clock_ticks_once_a_second_with_ids() {
    let server = serve(sse_clock::app());
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(s, "GET /clock HTTP/1.1\r\nHost: x\r\n\r\n").expect("send");
    let started = Instant::now();
    let mut lines = BufReader::new(s).lines().map(|l| l.expect("a line"));
    let head: Vec<String> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
    let head = head.join("\n").to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    // Each event arrives as it is made, as a chunk of its own: two ticks, a second apart.
    let mut ids = Vec::new();
    for line in lines {
        if let Some(id) = line.strip_prefix("id: ") {
            ids.push(id.to_string());
            if ids.len() == 2 {
                break;
            }
        }
        if let Some(data) = line.strip_prefix("data: ") {
            assert!(data.ends_with(" UTC") && data.len() == 12, "{data}");
        }
    }
    assert_eq!(ids, ["0", "1"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
}
