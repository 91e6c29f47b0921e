//! HTTP/2 over cleartext with prior knowledge (h2c): curl, nghttp and h2load against the real
//! binary, and raw frames for what no client sends (connection-specific fields, GOAWAY).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::harness::{self, Running, have};
use crate::site::{fresh_db, start};

/// `curl --http2-prior-knowledge ARGS URL`: (`http_version status`, body).
pub(crate) fn curl(args: &[&str], url: &str) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-s", "--http2-prior-knowledge", "-o"])
        .arg(&body)
        .args(["-w", "%{http_version} %{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    (
        harness::stdout(&out),
        std::fs::read(&body).unwrap_or_default(),
    )
}

#[test]
fn curl_gets_the_demo_page_over_h2c() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let (status, body) = curl(&[], &s.url("/"));
    assert_eq!(status, "2 200");
    assert!(String::from_utf8_lossy(&body).contains("<html"), "{body:?}");
}

#[test]
fn curl_gets_a_range_of_a_file_over_h2c() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("f.bin"), &data).expect("write");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "serve", "."]);
    let (status, body) = curl(&["-r", "100000-100099"], &s.url("/f.bin"));
    assert_eq!(status, "2 206");
    assert_eq!(body, &data[100_000..100_100]);
    // The whole file, larger than every window, arrives intact.
    let (status, body) = curl(&[], &s.url("/f.bin"));
    assert_eq!(status, "2 200");
    assert_eq!(body, data);
}

#[test]
fn curl_posts_to_the_guestbook_api_over_h2c() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let (status, _) = curl(
        &[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            r#"{"name":"Ann","message":"over h2"}"#,
        ],
        &s.url("/api/messages"),
    );
    assert_eq!(status, "2 201");
    let (status, body) = curl(&[], &s.url("/api/messages"));
    assert_eq!(status, "2 200");
    assert!(String::from_utf8_lossy(&body).contains("over h2"));
}

#[test]
fn head_over_h2c_has_the_length_and_no_body() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let out = Command::new("curl")
        .args(["-s", "--http2-prior-knowledge", "-I", &s.url("/test.jpg")])
        .output()
        .expect("run curl");
    let head = harness::stdout(&out);
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    assert!(head.contains("content-length: "), "{head}");
    assert!(
        head.contains("date: ") && head.contains("server: sockserve"),
        "{head}"
    );
    assert!(!head.to_ascii_lowercase().contains("connection:"), "{head}");
}

#[test]
fn echo_over_h2c_says_http2_and_shows_the_pseudo_headers() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let (status, body) = curl(&[], &s.url("/echo?format=json"));
    assert_eq!(status, "2 200");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["version"], "HTTP/2");
    let headers = v["headers"].as_array().expect("headers");
    let field = |name: &str| {
        headers
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(field(":method").as_deref(), Some("GET"));
    assert_eq!(field(":scheme").as_deref(), Some("http"));
    assert_eq!(field(":path").as_deref(), Some("/echo?format=json"));
    assert_eq!(field(":authority"), Some(s.addr.to_string()));
    assert_eq!(field("host"), Some(s.addr.to_string()));
}

#[test]
fn the_access_log_says_http_2_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let db = dir.path().join("guestbook.db");
    let s = Running::start(&[
        "-p",
        "0",
        "--db",
        db.to_str().expect("utf-8"),
        "--access-log",
        log.to_str().expect("utf-8"),
    ]);
    let (status, _) = curl(&[], &s.url("/time"));
    assert_eq!(status, "2 200");
    let text = harness::log_lines(&log, 1, Duration::from_secs(5));
    assert!(text.contains("\"GET /time HTTP/2.0\" 200 "), "{text}");
}

#[test]
fn no_http2_answers_the_preface_as_http1_would() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "--no-http2", "serve"]);
    let reply = s.exchange(PREFACE);
    assert!(reply.starts_with(b"HTTP/1.1 505 "), "{reply:?}");
}

#[test]
fn nghttp_fetches_the_page_and_its_assets() {
    if !have("nghttp") {
        eprintln!("skipped: nghttp (Debian's nghttp2-client) is not installed");
        return;
    }
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let out = Command::new("nghttp")
        .args(["-ans", &s.url("/")])
        .output()
        .expect("run nghttp");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert!(text.contains("/test.jpg"), "{text}");
}

#[test]
fn h2load_runs_many_streams_on_few_connections() {
    if !have("h2load") {
        eprintln!("skipped: h2load (Debian's nghttp2-client) is not installed");
        return;
    }
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let out = Command::new("h2load")
        .args(["-n", "400", "-c", "2", "-m", "100", &s.url("/test.jpg")])
        .output()
        .expect("run h2load");
    let text = harness::stdout(&out);
    assert!(
        text.contains("400 succeeded, 0 failed, 0 errored"),
        "{text}"
    );
    assert!(text.contains("status codes: 400 2xx"), "{text}");
}

// Raw frames: what no well-behaved client sends.

/// The client connection preface (RFC 9113 3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const SETTINGS: u8 = 0x4;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;
pub(crate) const PROTOCOL_ERROR: u32 = 0x1;
pub(crate) const ENHANCE_YOUR_CALM: u32 = 0xb;

pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len())
        .expect("small frame")
        .to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A header block of literal fields without indexing and without Huffman coding.
pub(crate) fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in fields {
        b.push(0x00);
        b.push(u8::try_from(name.len()).expect("short name"));
        b.extend_from_slice(name.as_bytes());
        b.push(u8::try_from(value.len()).expect("short value"));
        b.extend_from_slice(value.as_bytes());
    }
    b
}

pub(crate) fn request_block(method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut fields = vec![
        (":method", method),
        (":scheme", "http"),
        (":authority", "x"),
        (":path", path),
    ];
    fields.extend_from_slice(extra);
    block(&fields)
}

/// A connection that has sent the preface and an empty SETTINGS frame.
pub(crate) fn open(s: &Running) -> TcpStream {
    let mut c = s.connect();
    c.write_all(PREFACE).expect("preface");
    c.write_all(&frame(SETTINGS, 0, 0, &[])).expect("settings");
    c
}

/// One frame: (type, flags, stream, payload); `None` at EOF.
pub(crate) fn read_frame(c: &mut TcpStream) -> Option<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    c.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0; len];
    c.read_exact(&mut payload).ok()?;
    Some((head[3], head[4], stream, payload))
}

/// Reads frames until one of `kind` arrives (on `stream`, when given).
pub(crate) fn until(
    c: &mut TcpStream,
    kind: u8,
    stream: Option<u32>,
) -> Option<(u8, u32, Vec<u8>)> {
    loop {
        let (k, flags, id, payload) = read_frame(c)?;
        if k == kind && stream.is_none_or(|s| s == id) {
            return Some((flags, id, payload));
        }
    }
}

pub(crate) fn error_code(payload: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([
        payload[at],
        payload[at + 1],
        payload[at + 2],
        payload[at + 3],
    ])
}

#[test]
fn a_connection_specific_field_resets_the_stream_and_the_connection_serves_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "serve"]);
    let mut c = open(&s);
    for (stream, field) in [(1, ("connection", "keep-alive")), (3, ("te", "gzip"))] {
        let headers = request_block("GET", "/", &[field]);
        c.write_all(&frame(HEADERS, END_HEADERS | END_STREAM, stream, &headers))
            .expect("headers");
        let (_, _, payload) = until(&mut c, RST_STREAM, Some(stream)).expect("RST_STREAM");
        assert_eq!(error_code(&payload, 0), PROTOCOL_ERROR, "{field:?}");
    }
    let headers = request_block("GET", "/", &[("te", "trailers")]);
    c.write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 5, &headers))
        .expect("headers");
    until(&mut c, HEADERS, Some(5)).expect("a response on the same connection");
}

#[test]
fn graceful_shutdown_sends_goaway_and_finishes_the_stream_in_flight() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let mut c = open(&s);
    let headers = request_block("POST", "/echo?format=json", &[("content-length", "5")]);
    c.write_all(&frame(HEADERS, END_HEADERS, 1, &headers))
        .expect("headers");
    // The stream is open before the signal: wait until the server has seen it (its SETTINGS
    // acknowledgement comes after ours was read, and the HEADERS was sent before that).
    std::thread::sleep(Duration::from_millis(300));
    s.terminate();
    let (_, _, goaway) = until(&mut c, GOAWAY, Some(0)).expect("GOAWAY");
    assert_eq!(error_code(&goaway, 4), 0, "NO_ERROR");
    c.write_all(&frame(DATA, END_STREAM, 1, b"hello"))
        .expect("body");
    until(&mut c, HEADERS, Some(1)).expect("the response's HEADERS");
    let mut body = Vec::new();
    loop {
        let (flags, _, data) = until(&mut c, DATA, Some(1)).expect("the response's DATA");
        body.extend_from_slice(&data);
        if flags & END_STREAM != 0 {
            break;
        }
    }
    assert!(String::from_utf8_lossy(&body).contains("hello"), "{body:?}");
}

#[test]
fn rapid_reset_gets_goaway_and_other_clients_are_still_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "serve"]);
    let mut c = open(&s);
    let mut flood = Vec::new();
    for i in 0..1000u32 {
        let id = 2 * i + 1;
        flood.extend(frame(
            HEADERS,
            END_HEADERS,
            id,
            &request_block("GET", "/", &[]),
        ));
        flood.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes())); // CANCEL
    }
    // The server may close while the flood is still being written.
    let _ = c.write_all(&flood);
    let (_, _, goaway) = until(&mut c, GOAWAY, Some(0)).expect("GOAWAY");
    assert_eq!(error_code(&goaway, 4), ENHANCE_YOUR_CALM);
    let (status, _) = curl(&[], &s.url("/"));
    assert_eq!(status, "2 200");
}

#[test]
fn a_body_longer_than_its_content_length_resets_the_stream_even_when_unread() {
    // `serve` answers a POST without reading its body; the response must still not go out as
    // if the malformed request had been whole (RFC 9113 8.1.1).
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "serve"]);
    let mut c = open(&s);
    let headers = request_block("POST", "/", &[("content-length", "1")]);
    c.write_all(&frame(HEADERS, END_HEADERS, 1, &headers))
        .expect("headers");
    // Time for the handler to answer before the body arrives.
    std::thread::sleep(Duration::from_millis(200));
    c.write_all(&frame(DATA, END_STREAM, 1, b"test"))
        .expect("body");
    loop {
        let (kind, _, stream, payload) = read_frame(&mut c).expect("a frame");
        assert!(
            !(kind == HEADERS && stream == 1),
            "answered a malformed request"
        );
        if kind == RST_STREAM && stream == 1 {
            assert_eq!(error_code(&payload, 0), PROTOCOL_ERROR);
            break;
        }
    }
}

#[test]
fn streams_cancelled_after_their_handler_started_get_goaway_past_the_bound() {
    // A steady pace, a few at a time: under the h2 crate's count of streams reset before they
    // are accepted, so only the driver's own count of cancelled handlers can stop it.
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let mut c = open(&s);
    let goaway = std::thread::scope(|scope| {
        let mut reader = c.try_clone().expect("clone");
        let found = scope.spawn(move || until(&mut reader, GOAWAY, Some(0)));
        let mut id = 1u32;
        'rounds: for _ in 0..60 {
            let mut opened = Vec::new();
            let mut cancels = Vec::new();
            for _ in 0..8 {
                // The handler waits for a body that never comes.
                let headers = request_block("POST", "/echo", &[("content-length", "5")]);
                opened.extend(frame(HEADERS, END_HEADERS, id, &headers));
                cancels.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
                id += 2;
            }
            for bytes in [opened, cancels] {
                if c.write_all(&bytes).is_err() {
                    break 'rounds;
                }
                std::thread::sleep(Duration::from_millis(15));
            }
        }
        found.join().expect("reader")
    });
    let (_, _, payload) = goaway.expect("GOAWAY");
    assert_eq!(error_code(&payload, 4), ENHANCE_YOUR_CALM);
    let (status, _) = curl(&[], &s.url("/time"));
    assert_eq!(status, "2 200");
}

#[test]
fn get_with_http2_prior_knowledge_speaks_h2c() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let out = Command::new(harness::BIN)
        .args(["get", "--http2-prior-knowledge", "-i"])
        .arg(s.url("/echo?format=json"))
        .output()
        .expect("run sockserve get");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert!(text.starts_with("HTTP/2 200\r\n"), "{text}");
    assert!(text.contains(r#""version":"HTTP/2""#), "{text}");
    assert!(text.contains(r#"[":method","GET"]"#), "{text}");
}

#[test]
fn a_cgi_script_streams_a_large_body_both_ways_over_h2c() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = bin.join("cat.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'Content-Type: application/octet-stream'\necho\ncat\n",
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let upload = dir.path().join("up.bin");
    // Larger than the stream and connection windows, so flow control must move on both sides.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&upload, &data).expect("write upload");
    let s = Running::start_in(Some(dir.path()), &["-p", "0", "-q", "serve", "--cgi", "."]);
    let (status, body) = curl(
        &["--data-binary", &format!("@{}", upload.display())],
        &s.url("/cgi-bin/cat.sh"),
    );
    assert_eq!(status, "2 200");
    assert!(body == data, "{} bytes back of {}", body.len(), data.len());
}

#[test]
fn a_stream_whose_window_stays_shut_is_reset_after_the_write_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.bin"), vec![7u8; 1 << 20]).expect("write");
    let s = Running::start_in(
        Some(dir.path()),
        &["-p", "0", "-q", "--write-timeout", "1", "serve"],
    );
    let mut c = s.connect();
    c.write_all(PREFACE).expect("preface");
    // SETTINGS_INITIAL_WINDOW_SIZE = 0: the server may send no body byte on any stream.
    let mut zero_window = vec![0x00, 0x04];
    zero_window.extend_from_slice(&0u32.to_be_bytes());
    c.write_all(&frame(SETTINGS, 0, 0, &zero_window))
        .expect("settings");
    let headers = request_block("GET", "/big.bin", &[]);
    c.write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &headers))
        .expect("headers");
    let started = std::time::Instant::now();
    let (_, _, payload) = until(&mut c, RST_STREAM, Some(1)).expect("RST_STREAM");
    assert_eq!(error_code(&payload, 0), 0x8, "CANCEL");
    assert!(started.elapsed() < Duration::from_secs(5));
    let (status, body) = curl(&[], &s.url("/big.bin"));
    assert_eq!((status.as_str(), body.len()), ("2 200", 1 << 20));
}

#[test]
fn expect_100_continue_gets_an_interim_head_before_the_body_is_sent() {
    let (_dir, db) = fresh_db();
    let s = start(&db);
    let mut c = open(&s);
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let headers = request_block(
        "POST",
        "/echo?format=json",
        &[("content-length", "5"), ("expect", "100-continue")],
    );
    c.write_all(&frame(HEADERS, END_HEADERS, 1, &headers))
        .expect("headers");
    // The client waits: nothing of the body goes before the interim response.
    let (flags, _, _) = until(&mut c, HEADERS, Some(1)).expect("100 Continue");
    assert_eq!(
        flags & END_STREAM,
        0,
        "an interim head does not end the stream"
    );
    c.write_all(&frame(DATA, END_STREAM, 1, b"hello"))
        .expect("body");
    until(&mut c, HEADERS, Some(1)).expect("the final response head");
    let mut body = Vec::new();
    loop {
        let (flags, _, payload) = until(&mut c, DATA, Some(1)).expect("the response body");
        body.extend_from_slice(&payload);
        if flags & END_STREAM != 0 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("hello"), "{text}");
}
