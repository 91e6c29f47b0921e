//! Integration tests: the HTTP/1.1 engine and runtime, black-box over real sockets.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::{BIN, Running, parse_response, read_to_close, request, statuses};

/// The demo site on a free port with its database in a fresh temporary directory.
pub fn site(extra: &[&str]) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("test.db");
    let db = db.to_str().expect("utf-8 path").to_string();
    let mut args = vec!["-p", "0", "--db", &db];
    args.extend_from_slice(extra);
    let server = Running::start_in(Some(dir.path()), &args);
    (server, dir)
}

#[test]
fn banner_names_the_bound_address() {
    let (server, _dir) = site(&[]);
    assert!(
        server.banner.starts_with("Listening on http://127.0.0.1:"),
        "{}",
        server.banner
    );
    assert!(server.banner.ends_with('/'));
    assert_ne!(server.addr.port(), 0);
}

#[test]
fn serves_the_tutorial_page_and_image() {
    let (server, _dir) = site(&[]);
    let page = request(server.addr, "GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("<title>WOW</title>"), "{html}");
    assert!(html.contains("Wow, sockserve"));
    assert!(html.contains(r#"<img src="test.jpg""#));
    assert!(page.header("date").is_some());
    assert!(
        page.header("server")
            .is_some_and(|s| s.starts_with("sockserve"))
    );

    let image = request(server.addr, "GET", "/test.jpg", &[], b"");
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/jpeg"));
    assert!(image.body.starts_with(&[0xFF, 0xD8, 0xFF]), "not a JPEG");
    assert!(image.body.ends_with(&[0xFF, 0xD9]));
    assert_eq!(
        image.header("content-length"),
        Some(image.body.len().to_string().as_str())
    );

    let missing = request(server.addr, "GET", "/nope", &[], b"");
    assert_eq!(missing.status, 404);
}

#[test]
fn head_has_the_length_but_no_body() {
    let (server, _dir) = site(&[]);
    let get = request(server.addr, "GET", "/test.jpg", &[], b"");
    let mut s = server.connect();
    s.write_all(b"HEAD /test.jpg HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let raw = read_to_close(&mut s);
    let head = parse_response(&raw, true).expect("response");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(raw.len(), end + 4, "HEAD response carried a body");
}

#[test]
fn page_and_image_share_one_keep_alive_connection() {
    let (server, _dir) = site(&[]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let first = read_one(&mut s);
    assert_eq!(first.status, 200);
    assert!(first.header("connection").is_none());
    s.write_all(b"GET /test.jpg HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let second = read_one(&mut s);
    assert_eq!(second.status, 200);
    assert_eq!(second.header("content-type"), Some("image/jpeg"));
}

/// Reads exactly one Content-Length-framed response from a kept-alive connection.
fn read_one(s: &mut TcpStream) -> crate::harness::Resp {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if data.len() >= end + 4 + len {
                return parse_response(&data[..end + 4 + len], false).unwrap();
            }
        }
        let n = s.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "connection closed early: {:?}",
            String::from_utf8_lossy(&data)
        );
        data.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn hundred_pipelined_requests_are_answered_in_order() {
    let (server, _dir) = site(&[]);
    let mut raw = Vec::new();
    let mut expected = Vec::new();
    for i in 0..100 {
        let (path, status) = match i % 3 {
            0 => ("/".to_string(), 200),
            1 => ("/test.jpg".to_string(), 200),
            _ => (format!("/missing-{i}"), 404),
        };
        raw.extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        expected.push(status);
    }
    raw.extend_from_slice(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    expected.push(200);
    let data = server.exchange(&raw);
    assert_eq!(statuses(&data), expected);
}

#[test]
fn connection_close_gets_exactly_one_response() {
    let (server, _dir) = site(&[]);
    let data = server.exchange(
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(statuses(&data), [200]);
    assert!(String::from_utf8_lossy(&data).contains("Connection: close\r\n"));
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let (server, _dir) = site(&[]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let data = read_to_close(&mut s); // returns only because the server closed
    assert_eq!(statuses(&data), [200]);

    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let first = read_one(&mut s);
    assert_eq!(first.header("connection"), Some("keep-alive"));
    s.write_all(b"GET /test.jpg HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_one(&mut s).status, 200);
}

#[test]
fn malformed_requests_get_400_and_a_closed_connection() {
    let (server, _dir) = site(&[]);
    let cases: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n\r\n",                                     // no Host
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",               // two Hosts
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nx", // disagreeing lengths
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",   // sign
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nFoo : bar\r\n\r\n", // space before colon
        b"GET / HTTP/1.1\r\nHost: a\r\nFoo: bar\r\n baz\r\n\r\n", // obs-fold
        b"GET / HTTP/1.1\r\nHost: a\r\nFoo: b\x00r\r\n\r\n", // NUL
        b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",           // space in target
        b"GET / HTTP/1.1\nHost: a\n\n",                    // bare LF
        b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n",    // userinfo
    ];
    for raw in cases {
        let data = server.exchange(raw);
        assert_eq!(
            statuses(&data),
            [400],
            "for {:?}",
            String::from_utf8_lossy(raw)
        );
        assert!(String::from_utf8_lossy(&data).contains("Connection: close"));
    }
}

#[test]
fn bytes_after_an_error_are_never_a_request() {
    let (server, _dir) = site(&[]);
    let data = server.exchange(
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(statuses(&data), [400]);
}

#[test]
fn versions_and_codings() {
    let (server, _dir) = site(&[]);
    let data = server.exchange(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n");
    assert_eq!(statuses(&data), [505]);
    let data = server.exchange(b"GET / HTTP/1.2\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&data), [200]);
    let data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(statuses(&data), [501]);
    let data = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(statuses(&data), [400]);
}

#[test]
fn leading_empty_line_is_ignored() {
    let (server, _dir) = site(&[]);
    let data = server.exchange(b"\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(statuses(&data), [200]);
}

#[test]
fn limits_map_to_414_431_413() {
    let (server, _dir) = site(&["--max-body-size", "1000", "--max-headers", "20"]);
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(20_000));
    assert_eq!(statuses(&server.exchange(long.as_bytes())), [414]);

    let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for i in 0..30 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(statuses(&server.exchange(many.as_bytes())), [431]);

    let big = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
        "b".repeat(70_000)
    );
    assert_eq!(statuses(&server.exchange(big.as_bytes())), [431]);

    let body = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n";
    assert_eq!(statuses(&server.exchange(body)), [413]);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let (server, _dir) = site(&[]);
    let mut s = server.connect();
    s.write_all(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 25];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"abcdGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let data = read_to_close(&mut s);
    let codes = statuses(&data);
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert_eq!(codes[1], 200);
}

#[test]
fn unread_small_body_is_skipped_and_the_connection_kept() {
    let (server, _dir) = site(&[]);
    // `/` does not take a body (405), so the server drains it and reads the next request.
    let data = server.exchange(
        b"PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let codes = statuses(&data);
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert_eq!(codes[1], 200);
}

#[test]
fn slow_clients_do_not_block_others_and_are_timed_out() {
    let (server, _dir) = site(&["--head-timeout", "3", "-q"]);
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut s = TcpStream::connect(server.addr).expect("connect slow client");
        s.write_all(b"G").unwrap();
        slow.push(s);
    }
    // A normal client is served while all of them dangle.
    for _ in 0..5 {
        assert_eq!(request(server.addr, "GET", "/", &[], b"").status, 200);
    }
    // Keep dripping: one byte each, well inside the per-read window but never a whole head.
    std::thread::sleep(Duration::from_millis(1500));
    for s in &mut slow {
        let _ = s.write_all(b"E");
    }
    assert_eq!(request(server.addr, "GET", "/", &[], b"").status, 200);
    // The head timeout closes them all, with a 408.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut timed_out = 0;
    for s in &mut slow {
        s.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10)),
        ))
        .unwrap();
        let data = read_to_close(s);
        if statuses(&data) == [408] {
            timed_out += 1;
        }
    }
    assert_eq!(timed_out, 1000);
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (server, _dir) = site(&["--idle-timeout", "1"]);
    let mut s = server.connect();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!(read_one(&mut s).status, 200);
    let rest = read_to_close(&mut s); // the server closes after the idle timeout
    assert!(rest.is_empty());
}

#[test]
fn access_log_has_one_common_log_line_per_request() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let (server, _d) = site(&["--access-log", log.to_str().unwrap()]);
    request(
        server.addr,
        "GET",
        "/test.jpg?x=1",
        &[("Authorization", "Basic YWxpY2U6c2VjcmV0")],
        b"",
    );
    request(server.addr, "GET", "/nope", &[], b"");
    // Lines are buffered per worker thread and written at least every second, so they may
    // arrive late and, from different threads, in either order.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    while text.lines().count() < 2 && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_by_key(|l| l.contains("/nope"));
    assert_eq!(lines.len(), 2, "{text}");
    // Credentials nobody verified name nobody (the site asks for none).
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{}", lines[0]);
    assert!(lines[0].contains("] \"GET /test.jpg?x=1 HTTP/1.1\" 200 "));
    assert!(lines[1].contains("\"GET /nope HTTP/1.1\" 404 "));
    let latency: f64 = lines[1].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(latency >= 0.0);
}

#[test]
fn ipv6_loopback_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let server = Running::start_in(
        Some(dir.path()),
        &["-b", "::1", "-p", "0", "--db", db.to_str().unwrap()],
    );
    assert!(
        server.banner.starts_with("Listening on http://[::1]:"),
        "{}",
        server.banner
    );
    assert_eq!(request(server.addr, "GET", "/", &[], b"").status, 200);
}

#[test]
fn bad_command_lines_fail_with_one_line() {
    let out = std::process::Command::new(BIN)
        .args(["--port", "notaport"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());

    let out = std::process::Command::new(BIN)
        .args(["--threads", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (server, dir) = site(&[]);
    let port = server.addr.port().to_string();
    let out = std::process::Command::new(BIN)
        .current_dir(dir.path())
        .args(["-p", &port, "--db", "other.db"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(&port), "{err}");
}

#[test]
fn sigterm_lets_idle_server_exit_zero() {
    let (mut server, _dir) = site(&[]);
    assert_eq!(request(server.addr, "GET", "/", &[], b"").status, 200);
    server.terminate();
    assert_eq!(server.wait_exit(Duration::from_secs(20)), Some(0));
}

#[test]
fn sigterm_during_a_slow_download_lets_it_finish() {
    let dir = tempfile::tempdir().unwrap();
    let size = 8 * 1024 * 1024;
    let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let root = dir.path().to_str().unwrap().to_string();
    let mut server = Running::start(&["serve", &root, "-p", "0", "--grace", "60"]);

    let mut s = server.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    let n = s.read(&mut buf).unwrap();
    got.extend_from_slice(&buf[..n]);
    server.terminate();
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused once shutdown began...
    assert!(
        TcpStream::connect(server.addr)
            .map(|c| {
                let mut c = c;
                c.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                read_to_close(&mut c).is_empty()
            })
            .unwrap_or(true)
    );
    // ...while the download in flight is read slowly to its end.
    loop {
        std::thread::sleep(Duration::from_millis(2));
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("download broken: {e}"),
        }
    }
    let end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(got[..end].starts_with(b"HTTP/1.1 200"));
    assert_eq!(got.len() - end - 4, size);
    assert!(got[end + 4..] == content[..]);
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    let _ = s.shutdown(Shutdown::Both);
}
