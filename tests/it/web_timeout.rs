//! The framework's `timeout` layer on the real server: a handler past its limit is answered
//! `503` with `Retry-After`, over HTTP/1.1 (on a connection that stays usable) and HTTP/2, and
//! the worker goes on serving. Its deadline is the framework's own timer, which needs no tokio
//! timer in the runtime that polls it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use web::Router;
use web::middleware::ServiceExt;
use web::routing::get;

use crate::web_keepalive::serve;

/// The limit of the test's routes.
const LIMIT: Duration = Duration::from_millis(200);

fn app() -> impl server::Service {
    Router::new()
        .route("/now", get(|| async { "now" }))
        .route(
            "/quick",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                "quick"
            }),
        )
        .route(
            "/stuck",
            get(|| async {
                // Waits on something no timer ends.
                std::future::pending::<()>().await;
                "never"
            }),
        )
        .timeout(LIMIT)
}

/// Reads one response with a `Content-Length` body: its head and body.
fn response(s: &mut TcpStream) -> (String, String) {
    let mut raw = Vec::new();
    let mut byte = [0u8];
    while !raw.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("head");
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    let mut body = vec![0; len];
    s.read_exact(&mut body).expect("body");
    (head, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn a_stuck_handler_gets_503_on_the_servers_runtime_and_the_connection_goes_on() {
    let server = serve(app());
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let get = |s: &mut TcpStream, path: &str| {
        write!(s, "GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").expect("send");
        response(s)
    };
    assert_eq!(get(&mut s, "/now").1, "now");
    assert_eq!(get(&mut s, "/quick").1, "quick");
    let start = Instant::now();
    let (head, _) = get(&mut s, "/stuck");
    let took = start.elapsed();
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    assert!(took >= LIMIT && took < Duration::from_secs(5), "{took:?}");
    // The same connection, and the same worker, answer the next request.
    assert_eq!(get(&mut s, "/quick").1, "quick");
}

#[test]
fn a_stuck_handler_gets_503_over_http2_too() {
    let server = serve(app());
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl not found; skipping");
        return;
    }
    // One curl per request: curl 7.88 does not send a second URL over a prior-knowledge
    // connection it reuses.
    let h2 = |path: &str| {
        let out = std::process::Command::new("curl")
            .args(["-s", "--http2-prior-knowledge", "-o", "/dev/null"])
            .args(["-w", "%{http_version} %{http_code}"])
            .arg(format!("http://{}{path}", server.addr))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(h2("/stuck"), "2 503");
    assert_eq!(h2("/quick"), "2 200");
}
