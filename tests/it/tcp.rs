//! Integration tests: `sockserve tcp listen|send` and `sockserve daytime`, over real sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use services::daytime::parse_daytime_line;

use crate::harness::{BIN, Running, parse_banner, read_to_close, silent_server, stderr, stdout};

/// Runs `sockserve ARGS...` to completion.
pub fn sockserve(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sockserve")
}

/// A failed run: non-zero exit and exactly one line on stderr, starting `sockserve: `.
fn assert_one_line_error(out: &Output) -> String {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected failure; stdout {:?}",
        stdout(out)
    );
    assert_eq!(err.lines().count(), 1, "stderr: {err:?}");
    assert!(err.starts_with("sockserve: "), "{err:?}");
    err
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Sends `message`, half-closes, and returns the reply.
fn talk(addr: SocketAddr, message: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(message).expect("write");
    s.shutdown(Shutdown::Write).expect("half-close");
    read_to_close(&mut s)
}

#[test]
fn listen_and_send_round_trip() {
    let server = Running::start(&["tcp", "listen", "-p", "0"]);
    assert!(
        server.banner.starts_with("Listening on tcp://127.0.0.1:"),
        "{}",
        server.banner
    );
    let out = sockserve(&["tcp", "send", &server.addr.to_string(), "can you hear me?"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Yes\n");
}

#[test]
fn echo_and_custom_replies() {
    let echo = Running::start(&["tcp", "listen", "-p", "0", "--echo"]);
    let out = sockserve(&["tcp", "send", &echo.addr.to_string(), "héllo\n"]);
    assert_eq!(stdout(&out), "héllo\n");
    let custom = Running::start(&["tcp", "listen", "-p", "0", "--reply", "Loud and clear"]);
    assert_eq!(talk(custom.addr, b"over"), b"Loud and clear");
}

#[test]
fn listener_prints_each_peer_and_message_escaped() {
    let mut child = Command::new(BIN)
        .args(["tcp", "listen", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let banner = lines.next().expect("banner").expect("read");
    let addr = parse_banner(&banner);
    let mut s = TcpStream::connect(addr).expect("connect");
    let local = s.local_addr().expect("local");
    s.write_all(b"two\nlines\x1b").expect("write");
    s.shutdown(Shutdown::Write).expect("half-close");
    assert_eq!(read_to_close(&mut s), b"Yes");
    let line = lines.next().expect("message line").expect("read");
    assert_eq!(line, format!("{local}: two\\nlines\\u{{1b}}"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn hundred_clients_at_once() {
    let server = Running::start(&["tcp", "listen", "-p", "0", "--echo", "--threads", "2"]);
    let barrier = Arc::new(Barrier::new(100));
    let clients: Vec<_> = (0..100)
        .map(|i| {
            let barrier = barrier.clone();
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_read_timeout(Some(Duration::from_secs(60)))
                    .expect("timeout");
                // Every client is connected before any of them speaks.
                barrier.wait();
                let message = format!("client {i}");
                s.write_all(message.as_bytes()).expect("write");
                s.shutdown(Shutdown::Write).expect("half-close");
                (message, read_to_close(&mut s))
            })
        })
        .collect();
    for c in clients {
        let (sent, got) = c.join().expect("client thread");
        assert_eq!(String::from_utf8_lossy(&got), sent);
    }
}

#[test]
fn send_to_a_closed_port_fails_in_one_line() {
    let port = closed_port();
    let out = sockserve(&["tcp", "send", &format!("127.0.0.1:{port}"), "hi"]);
    let err = assert_one_line_error(&out);
    assert!(
        err.contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn send_to_an_unknown_host_fails_in_one_line() {
    // `.invalid` never resolves (RFC 2606).
    let out = sockserve(&[
        "tcp",
        "send",
        "no-such-host.invalid:7",
        "hi",
        "--timeout",
        "20",
    ]);
    let err = assert_one_line_error(&out);
    assert!(err.contains("no-such-host.invalid"), "{err}");
}

#[test]
fn send_with_a_bad_address_is_a_usage_error() {
    let out = sockserve(&["tcp", "send", "localhost", "hi"]);
    let err = assert_one_line_error(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("HOST:PORT"), "{err}");
}

#[test]
fn send_times_out_when_the_server_never_answers() {
    let (addr, holder) = silent_server(Duration::from_secs(5));
    let out = sockserve(&["tcp", "send", &addr.to_string(), "hello?", "--timeout", "1"]);
    let err = assert_one_line_error(&out);
    assert!(
        err.contains("timed out after 1s waiting for the reply"),
        "{err}"
    );
    holder.join().expect("holder");
}

/// Asserts `line` is one CRLF-terminated ASCII line holding a time within 2 s of now.
fn assert_daytime_now(line: &[u8]) {
    let text = std::str::from_utf8(line).expect("ASCII");
    assert!(text.is_ascii() && text.ends_with("\r\n"), "{text:?}");
    assert_eq!(text.lines().count(), 1, "{text:?}");
    let sent = parse_daytime_line(text).unwrap_or_else(|| panic!("unparseable daytime {text:?}"));
    let now = SystemTime::now();
    let skew = now.duration_since(sent).unwrap_or_else(|e| e.duration());
    assert!(
        skew <= Duration::from_secs(2),
        "{text:?} is {skew:?} away from now"
    );
}

#[test]
fn daytime_over_tcp() {
    let server = Running::start(&["daytime", "-p", "0"]);
    assert!(
        server.banner.starts_with("Listening on tcp://127.0.0.1:"),
        "{}",
        server.banner
    );
    // The server speaks first and closes; the client sends nothing.
    let mut s = server.connect();
    assert_daytime_now(&read_to_close(&mut s));
}

#[test]
fn daytime_over_udp() {
    let server = Running::start(&["daytime", "-p", "0", "--udp"]);
    assert!(
        server.banner.starts_with("Listening on udp://127.0.0.1:"),
        "{}",
        server.banner
    );
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    // UDP may drop a datagram even on loopback under load; ask a few times.
    for _ in 0..10 {
        socket
            .send_to(b"what time is it?", server.addr)
            .expect("send");
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            assert_eq!(from, server.addr);
            assert_daytime_now(&buf[..n]);
            return;
        }
    }
    panic!("no daytime datagram from {}", server.addr);
}

#[test]
fn daytime_port_in_use_is_reported_before_the_banner() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = sockserve(&["daytime", "-p", &port]);
    let err = assert_one_line_error(&out);
    assert!(err.contains("cannot listen on 127.0.0.1:"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn daytime_default_port_is_13_with_the_privilege() {
    let mut child = Command::new(BIN)
        .args(["daytime"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    let _ = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut banner);
    let mut err = String::new();
    if banner.is_empty() {
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err);
    }
    let _ = child.kill();
    let _ = child.wait();
    if banner.is_empty() {
        // Without the privilege, or with port 13 taken: a clear message either way.
        assert!(err.contains("cannot listen on 127.0.0.1:13"), "{err}");
    } else {
        assert_eq!(banner.trim_end(), "Listening on tcp://127.0.0.1:13");
    }
}

#[test]
fn daytime_beside_the_demo_site() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("test.db");
    let port = closed_port().to_string();
    let site = Running::start_in(
        Some(dir.path()),
        &[
            "-p",
            "0",
            "--db",
            db.to_str().expect("utf-8"),
            "--daytime",
            &port,
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut s = TcpStream::connect(addr).expect("connect to --daytime port");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    assert_daytime_now(&read_to_close(&mut s));
    drop(site);
}
