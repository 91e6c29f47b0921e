//! TLS for `https://`: which certificates are trusted, the rustls configuration built from
//! that, the handshake, and what a handshake tells a user (for `--trace`).
//!
//! rustls with its default crypto provider, aws-lc-rs: it is the provider rustls itself
//! recommends and maintains first, and the server side uses the same one, so both ends of the
//! project share one crypto library. TLS 1.2 and 1.3 only, rustls's safe default cipher suites,
//! ALPN `http/1.1`.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, ProtocolVersion, RootCertStore,
    SignatureScheme,
};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::Error;
use crate::net::timed_out;

/// The one application protocol offered (RFC 7301); `h2` joins it when the client speaks it.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// The ALPN name of HTTP/2 over TLS (RFC 9113 3.2).
pub const ALPN_H2: &[u8] = b"h2";

/// Which server certificates a client accepts.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// Those that chain to the system's roots: Debian's `/etc/ssl/certs`, or what
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` name, as OpenSSL reads them. Loaded on first use.
    #[default]
    System,
    /// Those that chain to these CAs only (`--cacert`), in place of the system's.
    Roots(Arc<CaCerts>),
    /// Any certificate at all (`--insecure`). The handshake's signatures are still checked, so
    /// the peer holds the key of the certificate it shows; who that peer is, nobody vouches.
    Insecure,
}

impl Trust {
    /// The CAs in a PEM file (one or more `CERTIFICATE` sections), in place of the system's.
    pub fn from_pem_file(path: &Path) -> Result<Trust, Error> {
        let bad = |source: io::Error| Error::CaFile {
            path: path.to_path_buf(),
            source,
        };
        let sections = CertificateDer::pem_file_iter(path).map_err(|e| bad(pem_to_io(e)))?;
        let mut roots = RootCertStore::empty();
        let mut certs = Vec::new();
        for cert in sections {
            let cert = cert.map_err(|e| bad(pem_to_io(e)))?;
            roots
                .add(cert.clone())
                .map_err(|e| bad(invalid(e.to_string())))?;
            certs.push(cert);
        }
        if roots.is_empty() {
            return Err(bad(invalid("it holds no PEM certificate".to_string())));
        }
        Ok(Trust::Roots(Arc::new(CaCerts { roots, certs })))
    }

    /// Whether certificates are checked at all.
    pub fn verifies(&self) -> bool {
        !matches!(self, Trust::Insecure)
    }
}

/// The certificates of a `--cacert` file: as trust anchors, and as they were written.
#[derive(Debug)]
pub struct CaCerts {
    roots: RootCertStore,
    certs: Vec<CertificateDer<'static>>,
}

fn pem_to_io(e: rustls::pki_types::pem::Error) -> io::Error {
    match e {
        rustls::pki_types::pem::Error::Io(e) => e,
        other => invalid(other.to_string()),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// The TLS side of a client: its [`Trust`], and the configuration made from it the first time
/// an `https://` URL needs it (so a plain `http://` fetch never reads the system's roots).
#[derive(Debug, Default)]
pub struct Tls {
    trust: Trust,
    /// Offer `h2` before `http/1.1`.
    h2: bool,
    config: OnceLock<Arc<ClientConfig>>,
}

impl Tls {
    /// TLS that accepts what `trust` says.
    pub fn new(trust: Trust) -> Tls {
        Tls {
            trust,
            h2: false,
            config: OnceLock::new(),
        }
    }

    /// The same, offering `h2` first by ALPN, as curl's `--http2` does.
    pub fn offering_h2(trust: Trust) -> Tls {
        Tls {
            h2: true,
            ..Tls::new(trust)
        }
    }

    /// Runs the handshake over `tcp` for `host` (sent as SNI unless it is an IP address).
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        host: &str,
        authority: &str,
        limit: Duration,
    ) -> Result<(TlsStream<TcpStream>, TlsInfo), Error> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| Error::Handshake {
            authority: authority.to_string(),
            source: invalid(format!("{host:?} is not a name a certificate can hold")),
        })?;
        let connector = TlsConnector::from(self.config()?);
        let stream = timeout(limit, connector.connect(name, tcp))
            .await
            .map_err(|_| timed_out("the TLS handshake", limit))?
            .map_err(|e| handshake_error(authority, e))?;
        let info = TlsInfo::of(&stream, authority, self.trust.verifies());
        Ok((stream, info))
    }

    /// The rustls configuration, built once.
    fn config(&self) -> Result<Arc<ClientConfig>, Error> {
        if let Some(config) = self.config.get() {
            return Ok(config.clone());
        }
        let mut config = client_config(&self.trust)?;
        if self.h2 {
            config.alpn_protocols.insert(0, ALPN_H2.to_vec());
        }
        let config = Arc::new(config);
        Ok(self.config.get_or_init(|| config).clone())
    }
}

/// The rustls configuration for `trust`: TLS 1.2 and 1.3, ALPN `http/1.1`.
pub fn client_config(trust: &Trust) -> Result<ClientConfig, Error> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(Error::TlsSetup)?;
    let mut config = match trust {
        Trust::System => builder
            .with_root_certificates(system_roots()?)
            .with_no_client_auth(),
        Trust::Roots(ca) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedOrChained::new(ca, provider)?))
            .with_no_client_auth(),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth(),
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// The system's roots; none at all is an error, since nothing could then be verified.
fn system_roots() -> Result<RootCertStore, Error> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!(error = %e, "a system root could not be loaded");
    }
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none found".to_string(), ToString::to_string);
        return Err(Error::NoSystemRoots(invalid(why)));
    }
    Ok(roots)
}

/// A failed handshake: an untrusted certificate apart from every other failure.
fn handshake_error(authority: &str, e: io::Error) -> Error {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(c)) => Error::Untrusted {
            authority: authority.to_string(),
            source: CertificateProblem(c.clone()),
        },
        // The first bytes back were not a TLS record: most often an HTTP answer.
        Some(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)) => {
            Error::Handshake {
                authority: authority.to_string(),
                source: invalid(
                    "the server did not answer in TLS (is it an http:// server?)".to_string(),
                ),
            }
        }
        _ => Error::Handshake {
            authority: authority.to_string(),
            source: e,
        },
    }
}

/// Why a certificate was refused, said for a person rather than as rustls's variant name.
#[derive(Debug, Clone)]
pub struct CertificateProblem(pub CertificateError);

impl fmt::Display for CertificateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            CertificateError::UnknownIssuer => {
                f.write_str("it is not signed by a trusted certificate authority")
            }
            CertificateError::BadSignature => f.write_str("its signature is not valid"),
            CertificateError::Expired => f.write_str("it has expired"),
            CertificateError::ExpiredContext { not_after, .. } => {
                write!(f, "it expired on {}", utc(unix(not_after)))
            }
            CertificateError::NotValidYet => f.write_str("it is not valid yet"),
            CertificateError::NotValidYetContext { not_before, .. } => {
                write!(f, "it is not valid before {}", utc(unix(not_before)))
            }
            CertificateError::Revoked => f.write_str("it has been revoked"),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                f.write_str("it is not meant for a server")
            }
            // rustls says these well: the name asked for and the names the certificate holds.
            other => other.fmt(f),
        }
    }
}

impl std::error::Error for CertificateProblem {}

fn unix(t: &UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// What a handshake settled, for a user to see.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    /// The server as the URL names it, `host:port`.
    pub authority: String,
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The cipher suite's IANA-style name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The protocol the server chose by ALPN, if it chose one.
    pub alpn: Option<String>,
    /// The server's own certificate, as far as it could be read.
    pub certificate: Option<CertificateSummary>,
    /// Whether the certificate was verified (false under [`Trust::Insecure`]).
    pub verified: bool,
}

/// The parts of a certificate a person checks.
#[derive(Debug, Clone)]
pub struct CertificateSummary {
    /// The subject's distinguished name, e.g. `CN=localhost`.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// Start of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_before: String,
    /// End of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_after: String,
}

impl TlsInfo {
    fn of(stream: &TlsStream<TcpStream>, authority: &str, verified: bool) -> TlsInfo {
        let (_, conn) = stream.get_ref();
        let version = match conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher = conn.negotiated_cipher_suite().map_or_else(
            || "unknown".to_string(),
            |s| {
                let suite = s.suite();
                suite
                    .as_str()
                    .map_or_else(|| format!("{suite:?}"), str::to_string)
            },
        );
        TlsInfo {
            authority: authority.to_string(),
            version,
            cipher,
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            certificate: conn
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|leaf| CertificateSummary::parse(leaf)),
            verified,
        }
    }
}

impl CertificateSummary {
    /// Reads a DER certificate; `None` if it is not one x509-parser understands.
    pub fn parse(der: &[u8]) -> Option<CertificateSummary> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let validity = cert.validity();
        Some(CertificateSummary {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: utc(validity.not_before.timestamp()),
            not_after: utc(validity.not_after.timestamp()),
        })
    }
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
pub fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to year, month, day.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `--cacert`: a certificate that chains to the file's CAs passes, as everywhere; so does the
/// server's own certificate when the file holds exactly it, valid now and for the name, even if
/// it is marked as a CA. That is how OpenSSL and curl treat a certificate listed as trusted, and
/// `openssl req -x509` marks every quick self-signed certificate so; webpki alone refuses it
/// (`CaUsedAsEndEntity`). The handshake signature is checked against it either way.
#[derive(Debug)]
struct PinnedOrChained {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl PinnedOrChained {
    fn new(ca: &CaCerts, provider: Arc<CryptoProvider>) -> Result<PinnedOrChained, Error> {
        let webpki =
            WebPkiServerVerifier::builder_with_provider(Arc::new(ca.roots.clone()), provider)
                .build()
                .map_err(|e| Error::TlsSetup(rustls::Error::General(e.to_string())))?;
        Ok(PinnedOrChained {
            pinned: ca.certs.clone(),
            webpki,
        })
    }
}

impl ServerCertVerifier for PinnedOrChained {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            return self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
        }
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        valid_at(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether `now` is within the certificate's validity, as webpki would say it.
fn valid_at(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let validity = cert.validity();
    let at =
        |secs: i64| UnixTime::since_unix_epoch(Duration::from_secs(secs.max(0).unsigned_abs()));
    let time = unix(&now);
    let problem = if time < validity.not_before.timestamp() {
        CertificateError::NotValidYetContext {
            time: now,
            not_before: at(validity.not_before.timestamp()),
        }
    } else if time > validity.not_after.timestamp() {
        CertificateError::ExpiredContext {
            time: now,
            not_after: at(validity.not_after.timestamp()),
        }
    } else {
        return Ok(());
    };
    Err(rustls::Error::InvalidCertificate(problem))
}

/// `--insecure`: any certificate passes, but the handshake signatures are verified with the
/// provider's algorithms, so the session is still keyed to the certificate the server showed.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59:59 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_its_name() {
        let dir = std::env::temp_dir().join(format!("ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Trust::from_pem_file(&empty).unwrap_err();
        assert!(matches!(err, Error::CaFile { .. }), "{err:?}");
        assert!(
            crate::error::report(&err).contains("empty.pem"),
            "{}",
            crate::error::report(&err)
        );
        let missing = Trust::from_pem_file(&dir.join("missing.pem")).unwrap_err();
        assert!(matches!(missing, Error::CaFile { .. }), "{missing:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
