//! The TLS transport in-process: a rustls client over a std socket against `Server::https`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use http1::StatusCode;
use server::rustls;
use server::{HttpConfig, Request, Response, ResponseBody, RuntimeConfig, Server, ShutdownHandle};

struct Running {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    cert_der: Vec<u8>,
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
    let made = tls::self_signed().unwrap();
    let mut server = Server::new(RuntimeConfig {
        threads: 2,
        grace: Duration::from_secs(5),
        ..RuntimeConfig::default()
    });
    let addr = server
        .https(
            "127.0.0.1:0".parse().unwrap(),
            service,
            HttpConfig::default(),
            Arc::new(made.config),
        )
        .unwrap();
    let handle = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());
    Running {
        addr,
        handle,
        thread: Some(thread),
        cert_der: made.cert_der,
    }
}

/// A TLS client trusting only `cert_der`, offering ALPN http/1.1, sending SNI `localhost`.
fn connect(running: &Running) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    connect_trusting(running.addr, &running.cert_der)
}

fn connect_trusting(
    addr: SocketAddr,
    cert_der: &[u8],
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert(cert_der)).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = "localhost".try_into().unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rustls::StreamOwned::new(conn, sock)
}

fn cert(der: &[u8]) -> rustls::pki_types::CertificateDer<'static> {
    rustls::pki_types::CertificateDer::from(der.to_vec())
}

/// Reads to the end of the stream, taking a close without close_notify as the end too.
fn read_all(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

async fn describe(mut req: Request) -> Response {
    let body = std::mem::take(&mut req.body)
        .collect(1 << 22)
        .await
        .unwrap();
    let tls = req.conn.tls.clone().unwrap();
    Response::text(
        StatusCode::OK,
        format!(
            "{} {} {} {:?} {:?} {}",
            req.conn.scheme(),
            tls.version,
            tls.cipher,
            tls.alpn,
            tls.sni,
            body.len()
        ),
    )
}

#[test]
fn requests_over_tls_reach_the_service_with_the_session_parameters() {
    let running = start(describe);
    let mut s = connect(&running);
    let body = vec![b'x'; 200_000];
    let head = format!(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = String::from_utf8(read_all(&mut s)).unwrap();
    assert!(
        out.contains(
            "https TLSv1.3 TLS_AES_256_GCM_SHA384 Some(\"http/1.1\") Some(\"localhost\") 200000"
        ) || out.contains(
            "https TLSv1.3 TLS_AES_128_GCM_SHA256 Some(\"http/1.1\") Some(\"localhost\") 200000"
        ),
        "{out}"
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
}

#[test]
fn large_file_over_tls_arrives_whole_without_sendfile() {
    const LEN: usize = 5 * 1024 * 1024 + 17;
    let mut file = tempfile::tempfile().unwrap();
    let content: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    file.write_all(&content).unwrap();
    let file = Arc::new(file);
    let running = start(move |_req: Request| {
        let file = file.try_clone().unwrap();
        async move {
            let mut r = Response::new(StatusCode::OK);
            r.body = ResponseBody::File(server::FileRegion {
                file,
                offset: 0,
                len: LEN as u64,
            });
            r
        }
    });
    let mut s = connect(&running);
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    let out = read_all(&mut s);
    let at = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(out.len() - at, LEN);
    assert!(out[at..] == content[..]);
}

#[test]
fn a_client_that_distrusts_the_certificate_does_not_disturb_the_next() {
    let running = start(describe);
    let other = tls::self_signed().unwrap();
    let mut s = connect_trusting(running.addr, &other.cert_der);
    let refused = s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").is_err();
    assert!(refused || read_all(&mut s).is_empty());
    let mut s = connect(&running);
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(
        String::from_utf8(read_all(&mut s))
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
}
