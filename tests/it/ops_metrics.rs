//! The admin listener: `/metrics` read by Prometheus's own parser (Python's prometheus_client)
//! agrees with what a client sent; `/healthz`; `/readyz` turns 503 while the server drains;
//! `--overload refuse` closes what is over `--max-connections` and counts it.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{Running, eventually, free_port};
use crate::ops_load::fetch;

/// Counts samples with a real OpenMetrics parser; prints `name{labels} value` per sample.
const PARSE: &str = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;

fn parsed_metrics(admin: SocketAddr) -> String {
    let (status, body) = fetch(admin, "/metrics").expect("/metrics");
    assert_eq!(status, 200);
    let mut py = Command::new("python3")
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    py.stdin
        .take()
        .expect("stdin")
        .write_all(&body)
        .expect("write");
    let out = py.wait_with_output().expect("python3");
    assert!(
        out.status.success(),
        "the parser refused /metrics: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&body)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sample(parsed: &str, key: &str) -> f64 {
    parsed
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn admin_server(dir: &std::path::Path, extra: &[&str]) -> (Running, SocketAddr) {
    fs::write(dir.join("a.txt"), "hello\n").expect("write");
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let admin_s = admin.to_string();
    let mut args = vec!["serve", ".", "-p", "0", "-q", "--admin", &admin_s];
    args.extend_from_slice(extra);
    let s = Running::start_in(Some(dir), &args);
    (s, admin)
}

#[test]
fn metrics_parse_and_count_what_was_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, admin) = admin_server(dir.path(), &[]);
    for _ in 0..7 {
        assert_eq!(fetch(s.addr, "/a.txt").map(|r| r.0), Some(200));
    }
    for _ in 0..3 {
        assert_eq!(fetch(s.addr, "/missing").map(|r| r.0), Some(404));
    }
    let head = s.exchange(b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert!(head.starts_with(b"HTTP/1.1 200"));
    let parsed = parsed_metrics(admin);
    let key = |m: &str, c: &str| {
        format!("sockserve_http_requests_total{{code={c},method={m},route=,site=default}}")
    };
    assert_eq!(sample(&parsed, &key("GET", "2xx")), 7.0, "{parsed}");
    assert_eq!(sample(&parsed, &key("GET", "4xx")), 3.0, "{parsed}");
    assert_eq!(sample(&parsed, &key("HEAD", "2xx")), 1.0, "{parsed}");
    assert_eq!(
        sample(&parsed, "sockserve_http_request_duration_seconds_count{}"),
        11.0,
        "{parsed}"
    );
    assert!(
        sample(&parsed, "sockserve_sent_bytes_total{}") > 0.0,
        "{parsed}"
    );
    assert!(parsed.contains("sockserve_build_info{version="), "{parsed}");
    assert_eq!(fetch(admin, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(fetch(admin, "/readyz").map(|r| r.0), Some(200));
    // The public listener does not serve the admin paths.
    assert_eq!(fetch(s.addr, "/metrics").map(|r| r.0), Some(404));
}

#[test]
fn readyz_is_503_while_draining() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Sparse, and larger than any socket buffer: the response cannot finish unread.
    fs::File::create(dir.path().join("big.bin"))
        .and_then(|f| f.set_len(256 << 20))
        .expect("big");
    let (mut s, admin) = admin_server(dir.path(), &["--grace", "10"]);
    // A download the client does not read holds the drain open.
    let mut held = TcpStream::connect(s.addr).expect("connect");
    held.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 1];
    held.read_exact(&mut first).expect("the response starts");
    s.terminate();
    eventually("readyz 503", || {
        fetch(admin, "/readyz").is_some_and(|r| r.0 == 503)
    });
    assert_eq!(fetch(admin, "/healthz").map(|r| r.0), Some(200));
    drop(held);
    assert_eq!(s.wait_exit(Duration::from_secs(15)), Some(0));
}

#[test]
fn overload_refuse_closes_connections_over_the_limit_and_counts_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, admin) = admin_server(
        dir.path(),
        &[
            "--max-connections",
            "1",
            "--overload",
            "refuse",
            "--threads",
            "1",
        ],
    );
    let mut holder = s.connect();
    holder
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("request");
    let mut buf = [0u8; 256];
    assert!(holder.read(&mut buf).expect("answer") > 0);
    // The one slot is taken by the kept-alive connection: the next is closed unanswered.
    let mut refused = s.connect();
    let _ = refused.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut got = Vec::new();
    let _ = refused.read_to_end(&mut got);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    let parsed = parsed_metrics(admin);
    assert!(
        sample(&parsed, "sockserve_overload_refused_total{}") >= 1.0,
        "{parsed}"
    );
}

#[test]
fn requests_are_counted_under_the_configured_site_and_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("site.toml");
    fs::write(
        &file,
        "[[listen]]\naddr = \"127.0.0.1:0\"\n[[site]]\nhosts = [\"shop.test\"]\n\
         [[site.route]]\npath = \"/cart/\"\nrespond = { body = \"cart\" }\n",
    )
    .expect("write");
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let admin_s = admin.to_string();
    let s = Running::start_in(
        Some(dir.path()),
        &[
            "--config",
            file.to_str().expect("utf-8"),
            "--admin",
            &admin_s,
        ],
    );
    for _ in 0..4 {
        let r = s.exchange(b"GET /cart/x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n");
        assert!(
            r.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&r)
        );
    }
    let parsed = parsed_metrics(admin);
    let key = "sockserve_http_requests_total{code=2xx,method=GET,route=/cart/,site=shop.test}";
    assert_eq!(sample(&parsed, key), 4.0, "{parsed}");
}
