//! The connection core over real sockets: early errors, sticky body errors, `OPTIONS *`,
//! requests without a version, the body timeout, and the bytes logged for a cut response.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use crate::foundation::site;
use crate::harness::{Running, read_to_close, statuses};

/// The bytes after the first response head in `data`.
fn after_head(data: &[u8]) -> &[u8] {
    let end = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    &data[end + 4..]
}

#[test]
fn head_response_to_early_errors_has_no_body() {
    let (server, _dir) = site(&["-q"]);
    let long_target = format!("HEAD /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
    let many_fields = format!(
        "HEAD / HTTP/1.1\r\nHost: a\r\n{}\r\n",
        "X-A: b\r\n".repeat(200)
    );
    for (raw, status) in [
        ("HEAD / HTTP/1.1\r\n\r\n".to_string(), 400),
        ("HEAD / HTTP/2.0\r\nHost: a\r\n\r\n".to_string(), 505),
        (long_target, 414),
        (many_fields, 431),
        (
            "HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".to_string(),
            501,
        ),
        (
            "HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999\r\n\r\n".to_string(),
            413,
        ),
    ] {
        let data = server.exchange(raw.as_bytes());
        // Parsed by hand: a response to HEAD has a Content-Length but no body.
        let line = format!("HTTP/1.1 {status} ");
        assert!(
            data.starts_with(line.as_bytes()),
            "{status}: {}",
            String::from_utf8_lossy(&data)
        );
        assert!(
            after_head(&data).is_empty(),
            "{status}: {:?}",
            String::from_utf8_lossy(&data)
        );
    }
}

#[test]
fn malformed_chunked_trailer_is_400_and_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (site, _d) = site(&["-q"]);
    let serve = Running::start(&["serve", "-p", "0", "-q", dir.path().to_str().unwrap()]);
    for (server, path) in [(&site, "/echo"), (&site, "/"), (&serve, "/")] {
        for trailer in ["no colon", "A: b\r\n folded"] {
            let raw = format!(
                "POST {path} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                 3\r\nabc\r\n0\r\n{trailer}\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
            );
            let data = server.exchange(raw.as_bytes());
            assert_eq!(
                statuses(&data),
                [400],
                "{path} {trailer:?}: {}",
                String::from_utf8_lossy(&data)
            );
        }
    }
}

#[test]
fn options_asterisk_is_200_with_allow_on_every_service() {
    let dir = tempfile::tempdir().unwrap();
    let (site, _d) = site(&["-q"]);
    let serve = Running::start(&["serve", "-p", "0", "-q", dir.path().to_str().unwrap()]);
    for server in [&site, &serve] {
        let data = server.exchange(b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let text = String::from_utf8_lossy(&data).to_ascii_lowercase();
        assert_eq!(statuses(&data), [200], "{text}");
        assert!(text.contains("\r\nallow: "), "{text}");
    }
}

#[test]
fn request_line_without_version_is_answered_at_once() {
    let (server, _dir) = site(&["-q"]);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let t = Instant::now();
    s.write_all(b"GET /\r\n").unwrap();
    let data = read_to_close(&mut s);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(statuses(&data), [505], "{}", String::from_utf8_lossy(&data));
}

#[test]
fn body_timeout_fires_after_n_seconds_not_2n() {
    let (server, _dir) = site(&["-q", "--body-timeout", "1"]);
    let mut s = server.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let t = Instant::now();
    let data = read_to_close(&mut s);
    let took = t.elapsed();
    assert_eq!(statuses(&data), [408], "{}", String::from_utf8_lossy(&data));
    assert!(took < Duration::from_millis(1700), "{took:?}");
}

#[test]
fn access_log_counts_the_bytes_of_a_response_cut_short() {
    let dir = tempfile::tempdir().unwrap();
    let big = 64 * 1024 * 1024;
    std::fs::write(dir.path().join("big.bin"), vec![b'x'; big]).unwrap();
    let log = dir.path().join("access.log");
    let server = Running::start(&[
        "serve",
        "-p",
        "0",
        "--access-log",
        log.to_str().unwrap(),
        "--write-timeout",
        "1",
        dir.path().to_str().unwrap(),
    ]);
    let mut s = server.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut some = [0u8; 4096];
    let got = s.read(&mut some).unwrap();
    assert!(got > 0);
    // Stop reading: the server's write times out with part of the file sent.
    std::thread::sleep(Duration::from_millis(2500));
    let _ = s.shutdown(Shutdown::Both);
    drop(s);
    std::thread::sleep(Duration::from_millis(300));
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text.lines().find(|l| l.contains("/big.bin")).expect(&text);
    let bytes: u64 = line
        .split("\" 200 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect(line);
    assert!(bytes > 0 && bytes < big as u64, "{line}");
}
