//! HTTP/2 over TLS, chosen by ALPN `h2`: curl, `sockserve get --http2`, Python's httpx and
//! headless Chromium against every service (files, the site, CGI), with a test certificate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::harness::{self, Running};

/// A certificate for `localhost` and `127.0.0.1` and its key, as PEM files.
/// Shared with the other HTTP/2-over-TLS tests (`live_ws_h2`); its DER is Chromium's pin.
pub(crate) struct Cert {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) der: Vec<u8>,
}

impl Cert {
    pub(crate) fn new() -> Cert {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("rcgen");
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, made.cert.pem()).expect("write cert");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        Cert {
            dir,
            cert,
            key,
            der: made.cert.der().to_vec(),
        }
    }

    fn ca(&self) -> &str {
        self.cert.to_str().expect("utf-8")
    }

    /// `sockserve -p 0 --tls-cert .. --tls-key .. ARGS...` in `dir`.
    fn start(&self, dir: &Path, args: &[&str]) -> Running {
        let mut all = vec![
            "-p",
            "0",
            "--tls-cert",
            self.cert.to_str().expect("utf-8"),
            "--tls-key",
            self.key.to_str().expect("utf-8"),
        ];
        all.extend_from_slice(args);
        Running::start_in(Some(dir), &all)
    }
}

fn https(s: &Running, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", s.addr.port())
}

/// `curl --http2 --cacert CA ARGS URL`: (`http_version status`, headers, body).
fn curl(ca: &str, args: &[&str], url: &str) -> (String, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = dir.path().join("body");
    let head = dir.path().join("head");
    let out = Command::new("curl")
        .args(["-s", "--http2", "--cacert", ca, "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&head)
        .args(["-w", "%{http_version} %{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    (
        harness::stdout(&out),
        std::fs::read_to_string(&head).unwrap_or_default(),
        std::fs::read(&body).unwrap_or_default(),
    )
}

/// A directory with a page, a compressible text, a 3 MiB file and a subdirectory to list.
fn www() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<h1>h2 over TLS</h1>\n").expect("write");
    std::fs::write(
        dir.path().join("words.txt"),
        "HTTP/2 over TLS. ".repeat(500),
    )
    .expect("write");
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 5).map(|i| (i % 253) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/a.txt"), "a").expect("write");
    (dir, big)
}

#[test]
fn curl_gets_files_over_h2_with_ranges_conditionals_compression_head_and_listings() {
    let cert = Cert::new();
    let (dir, big) = www();
    let s = cert.start(dir.path(), &["serve", "."]);
    let ca = cert.ca();
    let (status, _, body) = curl(ca, &[], &https(&s, "/"));
    assert_eq!(
        (status.as_str(), body.as_slice()),
        ("2 200", &b"<h1>h2 over TLS</h1>\n"[..])
    );
    // Larger than every window, read in 64 KiB chunks and framed: intact.
    let (status, _, body) = curl(ca, &[], &https(&s, "/big.bin"));
    assert_eq!(status, "2 200");
    assert!(body == big, "{} bytes of {}", body.len(), big.len());
    let (status, _, body) = curl(ca, &["-r", "1000-1099"], &https(&s, "/big.bin"));
    assert_eq!(
        (status.as_str(), body.as_slice()),
        ("2 206", &big[1000..1100])
    );
    let (status, head, body) = curl(ca, &["-r", "0-1,10-11"], &https(&s, "/big.bin"));
    assert_eq!(status, "2 206");
    assert!(head.contains("multipart/byteranges"), "{head}");
    assert!(body.len() > 4, "{body:?}");
    let (_, head, _) = curl(ca, &[], &https(&s, "/words.txt"));
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .expect("an ETag")
        .trim()
        .to_string();
    let (status, _, body) = curl(
        ca,
        &["-H", &format!("If-None-Match: {etag}")],
        &https(&s, "/words.txt"),
    );
    assert_eq!((status.as_str(), body.len()), ("2 304", 0));
    let (status, head, body) = curl(ca, &["--compressed"], &https(&s, "/words.txt"));
    assert_eq!(status, "2 200");
    assert!(head.contains("content-encoding: "), "{head}");
    assert_eq!(body, "HTTP/2 over TLS. ".repeat(500).as_bytes());
    let (status, head, body) = curl(ca, &["-I"], &https(&s, "/big.bin"));
    assert_eq!(status, "2 200");
    assert!(
        head.contains(&format!("content-length: {}", big.len())),
        "{head}"
    );
    // With -I the head is what curl writes out: no body came.
    assert!(
        String::from_utf8_lossy(&body).starts_with("HTTP/2 200"),
        "{body:?}"
    );
    let (status, _, body) = curl(ca, &[], &https(&s, "/sub/"));
    assert_eq!(status, "2 200");
    assert!(String::from_utf8_lossy(&body).contains("a.txt"));
}

#[test]
fn the_site_over_h2_echoes_the_pseudo_headers_keeps_prg_and_logs_http_2_0() {
    let cert = Cert::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let db = dir.path().join("guestbook.db");
    let s = cert.start(
        dir.path(),
        &[
            "--db",
            db.to_str().expect("utf-8"),
            "--access-log",
            log.to_str().expect("utf-8"),
        ],
    );
    let ca = cert.ca();
    let (status, _, body) = curl(ca, &[], &https(&s, "/echo?format=json"));
    assert_eq!(status, "2 200");
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(v["version"], "HTTP/2");
    let headers = v["headers"].as_array().expect("headers");
    let field = |name: &str| {
        headers
            .iter()
            .find(|h| h[0] == name)
            .and_then(|h| h[1].as_str().map(str::to_owned))
    };
    assert_eq!(field(":method").as_deref(), Some("GET"));
    assert_eq!(field(":scheme").as_deref(), Some("https"));
    assert_eq!(field(":path").as_deref(), Some("/echo?format=json"));
    assert_eq!(
        field(":authority"),
        Some(format!("127.0.0.1:{}", s.addr.port()))
    );
    // Post, redirect, get: the form's 303 is followed by a GET that shows the message. The
    // form needs its session (a cookie jar) and its CSRF token, as a browser sends them.
    let jar_dir = tempfile::tempdir().expect("tempdir");
    let jar = jar_dir.path().join("cookies");
    let jar = jar.to_str().expect("utf-8 path");
    let (status, _, page) = curl(ca, &["-c", jar], &https(&s, "/guestbook"));
    assert_eq!(status, "2 200");
    let page = String::from_utf8_lossy(&page);
    let marker = r#"name="csrf_token" value=""#;
    let at = page.find(marker).expect("a CSRF token in the form") + marker.len();
    let token = page[at..].split('"').next().expect("token");
    let form = format!("name=Ann&message=over+h2+and+TLS&csrf_token={token}");
    let (status, _, body) = curl(
        ca,
        &["-L", "-b", jar, "-c", jar, "--data", &form],
        &https(&s, "/guestbook"),
    );
    assert_eq!(status, "2 200");
    assert!(String::from_utf8_lossy(&body).contains("over h2 and TLS"));
    let text = harness::log_lines(&log, 2, Duration::from_secs(5));
    assert!(
        text.contains("\"GET /echo?format=json HTTP/2.0\" 200 "),
        "{text}"
    );
    assert!(text.contains("\"POST /guestbook HTTP/2.0\" 303 "), "{text}");
}

#[test]
fn a_cgi_script_streams_a_large_body_both_ways_over_h2_and_tls() {
    use std::os::unix::fs::PermissionsExt as _;
    let cert = Cert::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&bin).expect("mkdir");
    let script = bin.join("cat.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'Content-Type: application/octet-stream'\necho \"X-Https: $HTTPS\"\necho\ncat\n",
    )
    .expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let upload = dir.path().join("up.bin");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&upload, &data).expect("write upload");
    let s = cert.start(dir.path(), &["serve", "--cgi", "."]);
    let (status, head, body) = curl(
        cert.ca(),
        &["--data-binary", &format!("@{}", upload.display())],
        &https(&s, "/cgi-bin/cat.sh"),
    );
    assert_eq!(status, "2 200");
    assert!(head.contains("x-https: on"), "{head}");
    assert!(body == data, "{} bytes back of {}", body.len(), data.len());
}

#[test]
fn no_http2_leaves_h2_out_of_alpn() {
    let cert = Cert::new();
    let (dir, _) = www();
    let s = cert.start(dir.path(), &["--no-http2", "serve", "."]);
    let (status, _, _) = curl(cert.ca(), &[], &https(&s, "/"));
    assert_eq!(status, "1.1 200");
}

#[test]
fn get_http2_negotiates_h2_traces_the_frames_and_falls_back_to_http1() {
    let cert = Cert::new();
    let (dir, _) = www();
    let s = cert.start(dir.path(), &["serve", "."]);
    let out = Command::new(harness::BIN)
        .args(["get", "--http2", "--trace", "-i", "--cacert", cert.ca()])
        .arg(https(&s, "/"))
        .output()
        .expect("run sockserve get");
    let (text, trace) = (harness::stdout(&out), harness::stderr(&out));
    assert!(out.status.success(), "{text}{trace}");
    assert!(text.starts_with("HTTP/2 200\r\n"), "{text}");
    assert!(text.ends_with("<h1>h2 over TLS</h1>\n"), "{text}");
    assert!(trace.contains("* ALPN h2"), "{trace}");
    // The frames in the order they crossed: ours first, the response's HEADERS before its DATA.
    let at = |what: &str| {
        trace
            .find(what)
            .unwrap_or_else(|| panic!("{what}: {trace}"))
    };
    assert!(
        at("> [SETTINGS stream=0") < at("> [HEADERS stream=1 "),
        "{trace}"
    );
    assert!(
        at("< [HEADERS stream=1 ") < at("< [DATA stream=1 "),
        "{trace}"
    );
    assert!(trace.contains("(END_STREAM)"), "{trace}");

    let old = cert.start(dir.path(), &["--no-http2", "serve", "."]);
    let out = Command::new(harness::BIN)
        .args(["get", "--http2", "--trace", "-i", "--cacert", cert.ca()])
        .arg(https(&old, "/"))
        .output()
        .expect("run sockserve get");
    let (text, trace) = (harness::stdout(&out), harness::stderr(&out));
    assert!(out.status.success(), "{text}{trace}");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(trace.contains("* ALPN http/1.1"), "{trace}");
    assert_eq!(trace.matches("* connected to").count(), 1, "{trace}");
}

/// A Python 3 that has `module` (the system's, where another one comes first on PATH).
fn python_with(module: &str) -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|py| {
        Command::new(py)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn python_httpx_speaks_http2_over_tls() {
    let py = python_with("httpx").expect("python3-httpx (scripts/test installs it)");
    let cert = Cert::new();
    let (dir, big) = www();
    let s = cert.start(dir.path(), &["serve", "."]);
    let program = r#"
import sys, httpx
with httpx.Client(http2=True, verify=sys.argv[1]) as c:
    for path in ("/", "/big.bin", "/sub/"):
        r = c.get(sys.argv[2] + path)
        print(r.http_version, r.status_code, len(r.content))
"#;
    let out = Command::new(py)
        .args(["-c", program, cert.ca()])
        .arg(https(&s, ""))
        .output()
        .expect("run python");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "HTTP/2 200 21");
    assert_eq!(lines[1], format!("HTTP/2 200 {}", big.len()));
    assert!(lines[2].starts_with("HTTP/2 200 "), "{text}");
}

#[test]
fn python_h2_opens_many_streams_on_one_tls_connection() {
    let py = python_with("h2").expect("python3-h2 (scripts/test installs it)");
    let cert = Cert::new();
    let (dir, _) = www();
    let s = cert.start(dir.path(), &["serve", "."]);
    // The h2 library's own state machine over ssl with ALPN h2: 20 streams at once.
    let program = r#"
import socket, ssl, sys
import h2.connection, h2.events
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.set_alpn_protocols(["h2"])
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2]))), server_hostname="localhost")
assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
conn = h2.connection.H2Connection()
conn.initiate_connection()
for i in range(20):
    conn.send_headers(2 * i + 1, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/index.html")], end_stream=True)
sock.sendall(conn.data_to_send())
done, statuses, bodies = 0, [], {}
while done < 20:
    data = sock.recv(65536)
    if not data:
        break
    for e in conn.receive_data(data):
        if isinstance(e, h2.events.ResponseReceived):
            statuses.append(dict(e.headers)[b":status"].decode())
        elif isinstance(e, h2.events.DataReceived):
            bodies[e.stream_id] = bodies.get(e.stream_id, b"") + e.data
            conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded):
            done += 1
    sock.sendall(conn.data_to_send())
print(done, set(statuses), set(bodies.values()))
"#;
    let out = Command::new(py)
        .args(["-c", program, cert.ca(), &s.addr.port().to_string()])
        .output()
        .expect("run python");
    let text = harness::stdout(&out);
    assert!(out.status.success(), "{text}{}", harness::stderr(&out));
    assert_eq!(text.trim(), "20 {'200'} {b'<h1>h2 over TLS</h1>\\n'}");
}

#[test]
fn chromium_loads_the_demo_page_and_its_picture_over_h2() {
    use crate::site::browser::start_driver_with;
    let cert = Cert::new();
    let db = cert.dir.path().join("guestbook.db");
    let s = cert.start(cert.dir.path(), &["--db", db.to_str().expect("utf-8")]);
    let spki = tls::spki_sha256_base64(&cert.der).expect("spki");
    let driver = start_driver_with(&[format!("--ignore-certificate-errors-spki-list={spki}")]);
    driver.go(&https(&s, "/"));
    assert_eq!(driver.script("return document.title"), "WOW");
    driver.wait_for("the picture to decode", |d| {
        d.script("const i = document.querySelector('img'); return i.complete && i.naturalWidth")
            .as_u64()
            .is_some_and(|w| w > 0)
    });
    let protocols = driver.script(
        "return performance.getEntries().filter(e => e.nextHopProtocol !== undefined).map(e => [e.name, e.nextHopProtocol])",
    );
    let entries = protocols.as_array().expect("entries");
    assert!(entries.len() >= 2, "the page and its picture: {protocols}");
    for entry in entries {
        assert_eq!(entry[1], "h2", "{protocols}");
    }
}

/// What the h2 crate writes waits in an outbox sent when the connection's task is idle, and
/// over TLS the session may keep records the full socket did not take. A reader slower than
/// the server keeps the socket full: every byte must still arrive, in order, and in time.
#[test]
fn a_slow_reader_gets_a_large_response_whole_over_h2_and_tls() {
    let cert = Cert::new();
    let dir = tempfile::tempdir().expect("tempdir");
    // More than the loopback socket buffers hold, so the socket fills and drains over and over.
    let big: Vec<u8> = (0..24 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), &big).expect("write");
    let s = cert.start(dir.path(), &["serve", "."]);
    let (status, _, body) = curl(
        cert.ca(),
        &["--limit-rate", "8M", "--max-time", "20"],
        &https(&s, "/big.bin"),
    );
    assert_eq!(status, "2 200");
    assert!(body == big, "{} bytes of {}", body.len(), big.len());
}
