//! The TLS side of the harness: a rustls client for checking TLS targets and holding idle TLS
//! connections, and the handshake load, which wrk cannot give: wrk keeps its OpenSSL session
//! across reconnections (`SSL_clear` keeps it), so its `Connection: close` runs resume some
//! sessions and not others. Here each connection is a full handshake, or a resumed one, by
//! choice, and the resumed runs count how many really resumed.
//!
//! The client checks the handshake's signature as any client does but not the certificate's
//! chain (the bench makes its own certificate each run), as wrk does with `SSL_VERIFY_NONE`.

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, StreamOwned};

use crate::error::{BenchError, Result};
use crate::httpc::{self, Conn, Reply};
use crate::wrk::{SocketErrors, WrkReport};

/// The name the client asks for (SNI); the bench certificate holds it and 127.0.0.1.
const SERVER_NAME: &str = "localhost";
/// How long one handshake-and-request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Share of the connections of a resumed run that must have resumed for the run to count.
const MIN_RESUMED: f64 = 0.9;

/// A TLS connection as the harness reads and writes it.
pub type TlsConn = Conn<StreamOwned<ClientConnection, TcpStream>>;

/// Accepts any certificate, checks the handshake's signatures.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client config: TLS 1.2 and 1.3, ALPN `http/1.1`; sessions remembered and offered again
/// when `resume`, never otherwise.
pub fn config(resume: bool) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| BenchError::new(format!("TLS client: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resume {
        config.resumption = Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// A TLS connection to `port` on the loopback, its handshake done.
pub fn open(port: u16, config: &Arc<ClientConfig>) -> Result<TlsConn> {
    let tcp = httpc::connect(port, TIMEOUT)?;
    let name = ServerName::try_from(SERVER_NAME)
        .map_err(|e| BenchError::new(format!("server name: {e}")))?;
    let session = ClientConnection::new(config.clone(), name)
        .map_err(|e| BenchError::new(format!("TLS client: {e}")))?;
    let mut stream = StreamOwned::new(session, tcp);
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| BenchError::new(format!("TLS handshake: {e}")))?;
    }
    Ok(Conn::over(stream))
}

/// `GET path` over TLS on a fresh connection.
pub fn get(port: u16, path: &str) -> Result<Reply> {
    open(port, &config(false)?)?.request("GET", path, &[("Connection", "close")], b"")
}

/// What the handshake clients counted together.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    resumed: AtomicU64,
    bytes: AtomicU64,
    non_2xx: AtomicU64,
    connect_errors: AtomicU64,
    read_errors: AtomicU64,
}

/// `clients` threads each making a new TLS connection per request (`GET path` with
/// `Connection: close`) for `duration`: full handshakes, or resumed ones when `resume`. The
/// report reads as wrk's: requests (handshakes) per second and the latency of each.
pub fn handshakes(
    port: u16,
    path: &str,
    resume: bool,
    clients: usize,
    duration: Duration,
) -> Result<WrkReport> {
    let config = config(resume)?;
    if resume {
        // A first full handshake, so that every connection of the run can offer a session.
        get_with(port, path, &config)?;
    }
    let counts = Counts::default();
    let start = Instant::now();
    let deadline = start + duration;
    let mut latencies: Vec<Duration> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients.max(1))
            .map(|_| scope.spawn(|| client(port, path, &config, deadline, &counts)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let ok = counts.ok.load(Ordering::Relaxed);
    let resumed = counts.resumed.load(Ordering::Relaxed);
    if resume && ok > 0 && (resumed as f64) < MIN_RESUMED * ok as f64 {
        return Err(BenchError::new(format!(
            "only {resumed} of {ok} connections resumed their session"
        )));
    }
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
    };
    Ok(WrkReport {
        requests_per_sec: ok as f64 / elapsed,
        bytes_per_sec: counts.bytes.load(Ordering::Relaxed) as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
        non_2xx: counts.non_2xx.load(Ordering::Relaxed),
        socket_errors: SocketErrors {
            connect: counts.connect_errors.load(Ordering::Relaxed),
            read: counts.read_errors.load(Ordering::Relaxed),
            write: 0,
            timeout: 0,
        },
        requests: ok,
    })
}

fn get_with(port: u16, path: &str, config: &Arc<ClientConfig>) -> Result<Reply> {
    open(port, config)?.request("GET", path, &[("Connection", "close")], b"")
}

/// One client's loop; the latency of each of its requests.
fn client(
    port: u16,
    path: &str,
    config: &Arc<ClientConfig>,
    deadline: Instant,
    counts: &Counts,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let began = Instant::now();
        let mut conn = match open(port, config) {
            Ok(conn) => conn,
            Err(_) => {
                counts.connect_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        if conn.stream().conn.handshake_kind() == Some(HandshakeKind::Resumed) {
            counts.resumed.fetch_add(1, Ordering::Relaxed);
        }
        match conn.request("GET", path, &[("Connection", "close")], b"") {
            Ok(reply) if reply.status == 200 => {
                latencies.push(began.elapsed());
                counts.ok.fetch_add(1, Ordering::Relaxed);
                counts
                    .bytes
                    .fetch_add(reply.body.len() as u64, Ordering::Relaxed);
                // The server's close_notify, so the session's tickets are all read.
                let mut rest = Vec::new();
                let _ = conn.stream_mut().read_to_end(&mut rest);
            }
            Ok(_) => {
                counts.non_2xx.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                counts.read_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies
}
