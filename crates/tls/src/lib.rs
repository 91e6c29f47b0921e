//! Certificate and key files into a rustls [`ServerConfig`], and nothing else.
//!
//! TLS 1.2 and 1.3 only, with rustls's default cipher suites (AEAD with forward secrecy only).
//! The crypto provider is aws-lc-rs, rustls's default: one provider for the server, the client
//! and ACME, with assembly for the AES-GCM, ChaCha20 and ECDSA work a web server does (it builds
//! here with a C compiler alone).
//!
//! # What a handshake costs
//! - The crypto: aws-lc-rs has assembly for X25519, P-256 and AES-GCM. The certificates made
//!   here (self-signed) and by ACME are ECDSA P-256, whose signature, the server's one expensive
//!   step in a full handshake, costs a fraction of an RSA-2048 one.
//! - Resumption skips the signature and the certificate: one config (so one ticketer, keys
//!   rotated every 6 hours, and one session cache) serves every worker thread, so a session
//!   begun on one worker resumes on any other; tickets are stateless: nothing is stored for them.
//! - The SNI choice is a read lock and an `Arc` clone, comparing names without copying them;
//!   the transport sends each flight of records in one `sendmsg` (crates/server/src/tls.rs).
//!
//! # Layout
//! - this file: [`Error`], [`load_pair`], [`server_config`]: PEM files in, a config out.
//! - `resolve`: the SNI choice between several certificates, by the names each one holds, and
//!   the ACME-managed ones with their TLS-ALPN-01 answers.
//! - `self_signed`: [`self_signed`], a fresh certificate for the local machine.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerSessionMemoryCache;
use rustls::sign::CertifiedKey;
use rustls::{ServerConfig, version};

mod resolve;
mod self_signed;

pub use resolve::{ACME_TLS_ALPN, ChallengeAnswer, Resolver};
pub use rustls;
pub use self_signed::{SelfSigned, self_signed};

/// Sessions the stateful resumption cache remembers (TLS 1.2 session IDs and TLS 1.3 tickets
/// that are not stateless); the oldest is forgotten when it is full. About 100 bytes each.
pub const SESSION_CACHE_SIZE: usize = 16 * 1024;

/// The ALPN protocols offered, most preferred first: HTTP/2, then HTTP/1.1, as nginx and Caddy
/// offer them. A server that turns HTTP/2 off removes `h2` from its copy of the config.
pub const ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

/// Why certificate or key files cannot be used. Each variant is one thing to fix; `Display`
/// is one line naming the file.
#[derive(Debug)]
pub enum Error {
    /// A file cannot be read.
    Unreadable(PathBuf, std::io::Error),
    /// The certificate file holds no PEM certificate.
    NoCertificate(PathBuf),
    /// The key file holds no PEM private key of a supported kind.
    NoKey(PathBuf),
    /// The key is of a type or curve rustls cannot sign with.
    UnsupportedKey(PathBuf, String),
    /// The certificate cannot be parsed as X.509.
    BadCertificate(PathBuf, String),
    /// The key belongs to another certificate.
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The certificate's validity period has ended.
    Expired(PathBuf, String),
    /// The certificate's validity period has not begun.
    NotYetValid(PathBuf, String),
    /// The client CA file holds certificates rustls cannot verify clients against.
    BadClientCa(PathBuf, String),
    /// rustls refused the configuration or the resumption setup.
    Rustls(rustls::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unreadable(p, e) => write!(f, "{}: cannot read: {e}", p.display()),
            Error::NoCertificate(p) => write!(f, "{}: no PEM certificate in it", p.display()),
            Error::NoKey(p) => write!(
                f,
                "{}: no PEM private key in it (PKCS#8, PKCS#1 or SEC1)",
                p.display()
            ),
            Error::UnsupportedKey(p, why) => {
                write!(f, "{}: unsupported private key: {why}", p.display())
            }
            Error::BadCertificate(p, why) => {
                write!(f, "{}: not a valid X.509 certificate: {why}", p.display())
            }
            Error::KeyMismatch { key, cert } => write!(
                f,
                "{}: the key does not match the certificate in {}",
                key.display(),
                cert.display()
            ),
            Error::Expired(p, when) => {
                write!(f, "{}: the certificate expired on {when}", p.display())
            }
            Error::NotYetValid(p, when) => {
                write!(
                    f,
                    "{}: the certificate is not valid before {when}",
                    p.display()
                )
            }
            Error::BadClientCa(p, why) => {
                write!(
                    f,
                    "{}: cannot verify client certificates with it: {why}",
                    p.display()
                )
            }
            Error::Rustls(e) => write!(f, "TLS configuration refused: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Unreadable(_, e) => Some(e),
            Error::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

/// One certificate chain with its key, as loaded from files, and the names it serves.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The chain and signing key rustls serves.
    pub key: Arc<CertifiedKey>,
    /// DNS names and IP addresses from the leaf (its SANs, or its CN when it has none),
    /// lower-case; wildcards as `*.example.com`.
    pub names: Vec<String>,
}

/// The provider every config here uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Loads the chain in `cert` (leaf first, PEM) and the key in `key` (PEM; RSA, ECDSA or
/// Ed25519; PKCS#8, PKCS#1 or SEC1), and checks that they match and that the leaf is valid now.
pub fn load_pair(cert: &Path, key: &Path) -> Result<Pair, Error> {
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    pair_from_pem(&cert_pem, cert, &key_pem, key)
}

/// [`load_pair`] over bytes already read; the paths name them in errors.
pub fn pair_from_pem(
    cert_pem: &[u8],
    cert: &Path,
    key_pem: &[u8],
    key: &Path,
) -> Result<Pair, Error> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    let Some(leaf) = chain.first() else {
        return Err(Error::NoCertificate(cert.to_owned()));
    };
    let names = check_leaf(leaf, cert)?;
    let der = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| Error::NoKey(key.to_owned()))?;
    let signing = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| Error::UnsupportedKey(key.to_owned(), e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => {}
        // A key whose public half rustls cannot compute is let through: the handshake fails
        // for it rather than the start-up.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(_) => {
            return Err(Error::KeyMismatch {
                key: key.to_owned(),
                cert: cert.to_owned(),
            });
        }
    }
    Ok(Pair {
        key: Arc::new(certified),
        names,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Unreadable(path.to_owned(), e))
}

/// Checks the leaf's validity period against the clock and returns the names it is for.
fn check_leaf(leaf: &CertificateDer<'_>, path: &Path) -> Result<Vec<String>, Error> {
    use x509_parser::prelude::*;
    let (_, x509) = X509Certificate::from_der(leaf)
        .map_err(|e| Error::BadCertificate(path.to_owned(), e.to_string()))?;
    let validity = x509.validity();
    let now = ASN1Time::now();
    if now > validity.not_after {
        return Err(Error::Expired(
            path.to_owned(),
            validity.not_after.to_string(),
        ));
    }
    if now < validity.not_before {
        return Err(Error::NotYetValid(
            path.to_owned(),
            validity.not_before.to_string(),
        ));
    }
    let mut names = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push(dns.to_ascii_lowercase()),
                GeneralName::IPAddress(ip) => {
                    if let Some(ip) = ip_from_bytes(ip) {
                        names.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    // RFC 6125 6.4.4: the CN is looked at only when there is no DNS name in the SANs.
    if names.is_empty() {
        for cn in x509.subject().iter_common_name() {
            if let Ok(cn) = cn.as_str() {
                names.push(cn.to_ascii_lowercase());
            }
        }
    }
    Ok(names)
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(std::net::IpAddr::from),
        16 => <[u8; 16]>::try_from(b).ok().map(std::net::IpAddr::from),
        _ => None,
    }
}

/// Loads each `(certificate, key)` pair; the first is served to clients whose SNI names none.
pub fn load_pairs(files: &[(PathBuf, PathBuf)]) -> Result<Vec<Pair>, Error> {
    files.iter().map(|(c, k)| load_pair(c, k)).collect()
}

/// A server config over `pairs` (at least one): TLS 1.2 and 1.3, SNI by the names in each
/// certificate, ALPN [`ALPN`], resumption by stateless tickets and by a session cache.
pub fn server_config(pairs: Vec<Pair>) -> Result<ServerConfig, Error> {
    server_config_with(Arc::new(Resolver::new(pairs)), None)
}

/// [`server_config`] over a resolver the caller keeps (to swap its certificates on reload),
/// requiring client certificates issued by a CA in the PEM file `client_ca` when given.
pub fn server_config_with(
    resolver: Arc<Resolver>,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, Error> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .map_err(Error::Rustls)?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => builder.with_client_cert_verifier(client_verifier(path)?),
    };
    let acme = resolver.answers_tls_alpn01();
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    if acme {
        // Last: rustls picks the first of its own list that the client offers, and only a CA
        // validating TLS-ALPN-01 offers this one (alone).
        config.alpn_protocols.push(ACME_TLS_ALPN.to_vec());
    }
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_SIZE);
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().map_err(Error::Rustls)?;
    Ok(config)
}

/// A verifier that accepts only clients whose certificate chains to a CA in `path` (PEM).
fn client_verifier(
    path: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, Error> {
    let pem = read(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok) {
        roots
            .add(cert)
            .map_err(|e| Error::BadClientCa(path.to_owned(), e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(Error::NoCertificate(path.to_owned()));
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| Error::BadClientCa(path.to_owned(), e.to_string()))
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:...` (the form browsers show).
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(der);
    let hex: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

/// The base64 SHA-256 of a DER certificate's SubjectPublicKeyInfo, as Chromium's
/// `--ignore-certificate-errors-spki-list` and HPKP take it.
pub fn spki_sha256_base64(der: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    use x509_parser::prelude::*;
    let (_, x509) = X509Certificate::from_der(der).ok()?;
    let digest = sha2::Sha256::digest(x509.public_key().raw);
    Some(base64(&digest))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
