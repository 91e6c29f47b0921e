//! The tiny challenge responders pebble's validation authority connects to, answering from
//! `acme::Challenges` as the server does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use acme::{ACME_TLS_ALPN_PROTOCOL, Challenges, HTTP01_PATH_PREFIX};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers pebble's HTTP-01 requests from `challenges`, as the server's plain port will:
/// `GET /.well-known/acme-challenge/TOKEN` -> 200 with the key authorization, else 404.
/// `answered` counts the requests answered with a key authorization.
pub async fn serve_http01(
    listener: TcpListener,
    challenges: Challenges,
    answered: Arc<AtomicUsize>,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let challenges = challenges.clone();
        let answered = answered.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let answer = path
                .strip_prefix(HTTP01_PATH_PREFIX)
                .and_then(|token| challenges.http01(token));
            let response = match answer {
                Some(body) => {
                    answered.fetch_add(1, Ordering::SeqCst);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                }
                None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned(),
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Picks the TLS-ALPN-01 certificate when the client offers `acme-tls/1`, as the TLS server will.
#[derive(Debug)]
struct AlpnResolver(Challenges, Arc<AtomicUsize>);

impl ResolvesServerCert for AlpnResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN_PROTOCOL));
        if !acme {
            return None;
        }
        let cert = self.0.tls_alpn01(hello.server_name()?)?;
        self.1.fetch_add(1, Ordering::SeqCst);
        Some(cert)
    }
}

/// Answers pebble's TLS-ALPN-01 handshakes from `challenges` (RFC 8737 section 3: the handshake
/// completes with the acmeIdentifier certificate, then the connection closes). `answered` counts
/// the handshakes given that certificate.
pub async fn serve_tls_alpn01(
    listener: TcpListener,
    challenges: Challenges,
    answered: Arc<AtomicUsize>,
) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(AlpnResolver(challenges, answered)));
    config.alpn_protocols = vec![ACME_TLS_ALPN_PROTOCOL.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let _ = tls.shutdown().await;
            }
        });
    }
}
