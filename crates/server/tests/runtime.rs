//! The runtime in-process: a closure as the service, std sockets as the client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use http1::StatusCode;
use server::{
    Body, HttpConfig, Request, Response, ResponseBody, RuntimeConfig, Server, ShutdownHandle,
};

struct Running {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start<S: server::Service>(service: S) -> Running {
    let mut server = Server::new(RuntimeConfig {
        threads: 2,
        grace: Duration::from_secs(5),
        ..RuntimeConfig::default()
    });
    let addr = server
        .http(
            "127.0.0.1:0".parse().unwrap(),
            service,
            HttpConfig::default(),
        )
        .unwrap();
    let handle = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}

fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

async fn echo_body(mut req: Request) -> Response {
    let body = std::mem::take(&mut req.body);
    match body.collect(1 << 20).await {
        Ok(bytes) => Response::text(StatusCode::OK, bytes),
        Err(e) => Response::error(e.status()),
    }
}

#[test]
fn content_length_and_chunked_bodies_reach_the_handler() {
    let server = start(echo_body);
    let out = exchange(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
          POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n",
    );
    assert!(out.contains("Content-Length: 5\r\n\r\nhello"), "{out}");
    assert!(
        out.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\nabcde"),
        "{out}"
    );
}

#[test]
fn a_body_too_large_for_the_handler_is_413_and_closes() {
    let server = start(|req: Request| async move {
        match req.body.collect(4).await {
            Ok(_) => Response::new(StatusCode::OK),
            Err(e) => Response::error(e.status()),
        }
    });
    let big = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 600000\r\n\r\n{}GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "x".repeat(600_000)
    );
    let out = exchange(server.addr, big.as_bytes());
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert_eq!(out.matches("HTTP/1.1").count(), 1, "{out}");
}

#[test]
fn streams_are_chunked_for_11_and_close_delimited_for_10() {
    let server = start(|_req: Request| async move {
        let pieces = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"one,")),
            Ok(Bytes::from_static(b"two")),
        ]);
        let mut r = Response::new(StatusCode::OK);
        r.body = ResponseBody::Stream {
            stream: Box::pin(pieces),
            len: None,
        };
        r
    });
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("Transfer-Encoding: chunked\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n"),
        "{out}"
    );
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert!(out.contains("Connection: close\r\n"), "{out}");
    assert!(!out.contains("chunked"), "{out}");
    assert!(out.ends_with("\r\n\r\none,two"), "{out}");
}

#[test]
fn a_panicking_handler_gets_a_500_and_the_server_lives_on() {
    let server = start(|req: Request| async move {
        if req.path() == "/boom" {
            panic!("handler bug");
        }
        Response::text(StatusCode::OK, "fine")
    });
    let out = exchange(server.addr, b"GET /boom HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 500"), "{out}");
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.ends_with("fine"), "{out}");
}

#[test]
fn no_body_for_204_and_304_and_no_length_either() {
    let server = start(|req: Request| async move {
        let status = if req.path() == "/204" {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_MODIFIED
        };
        Response::text(status, "should not be sent")
    });
    for path in ["/204", "/304"] {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        let out = exchange(server.addr, raw.as_bytes());
        assert!(!out.contains("Content-Length"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "{out}");
    }
}

#[test]
fn raw_responses_are_written_as_they_are_then_closed() {
    let server = start(|_req: Request| async move {
        let mut r = Response::new(StatusCode::OK);
        r.body = ResponseBody::Raw(Box::pin(futures_util::stream::iter(vec![Ok(
            Bytes::from_static(b"HTTP/1.1 299 Custom\r\nX: y\r\n\r\nraw body"),
        )])));
        r
    });
    let out = exchange(
        server.addr,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(out, "HTTP/1.1 299 Custom\r\nX: y\r\n\r\nraw body");
}

#[test]
fn bodies_can_outlive_the_handler() {
    // The handler hands the body to a task and answers at once; the connection waits for the
    // body to come back before reading the next request.
    let server = start(|mut req: Request| async move {
        let mut body = std::mem::take(&mut req.body);
        tokio::spawn(async move { while let Ok(Some(_)) = body.chunk().await {} });
        Response::text(StatusCode::ACCEPTED, "later")
    });
    let out = exchange(
        server.addr,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(out.matches("HTTP/1.1 202").count(), 2, "{out}");
}

#[allow(dead_code)]
fn assert_body_is_send(b: Body) -> impl Send {
    b
}
