//! The answers to the CA's challenges, shared with the servers that give them.
//!
//! HTTP-01 (RFC 8555 section 8.3): the plain HTTP server answers
//! `GET /.well-known/acme-challenge/TOKEN` with the key authorization.
//! TLS-ALPN-01 (RFC 8737): the TLS server answers a handshake that offers only the ALPN protocol
//! `acme-tls/1` with a self-signed certificate for the name, carrying the SHA-256 digest of the
//! key authorization in the critical `acmeIdentifier` extension.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Error;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737 section 6.2). A handshake offering it must be
/// answered with [`Challenges::tls_alpn01`]'s certificate and then closed: no application data.
pub const ACME_TLS_ALPN_PROTOCOL: &[u8] = b"acme-tls/1";

/// The path prefix of HTTP-01 requests (RFC 8555 section 8.3); the token follows it.
pub const HTTP01_PATH_PREFIX: &str = "/.well-known/acme-challenge/";

/// The pending challenges' answers. Cheap to clone; every clone sees the same answers. The ACME
/// manager adds an answer before it tells the CA to validate, and removes it when the
/// authorization is settled.
#[derive(Clone, Default)]
pub struct Challenges {
    inner: Arc<RwLock<Answers>>,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let answers = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Challenges")
            .field("http01", &answers.http01.len())
            .field("tls_alpn01", &answers.tls_alpn01.len())
            .finish()
    }
}

#[derive(Default)]
struct Answers {
    /// token -> key authorization
    http01: HashMap<String, String>,
    /// lower-case domain -> acmeIdentifier certificate
    tls_alpn01: HashMap<String, Arc<CertifiedKey>>,
}

impl Challenges {
    /// An empty set of answers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The body to send for `GET /.well-known/acme-challenge/{token}` (as `text/plain`,
    /// status 200), or `None` for an unknown token (answer 404).
    pub fn http01(&self, token: &str) -> Option<String> {
        let answers = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        answers.http01.get(token).cloned()
    }

    /// The certificate to present in a handshake whose ALPN offer is [`ACME_TLS_ALPN_PROTOCOL`]
    /// for the SNI `server_name`, or `None` when no validation of that name is pending.
    pub fn tls_alpn01(&self, server_name: &str) -> Option<Arc<CertifiedKey>> {
        let answers = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        answers
            .tls_alpn01
            .get(&server_name.to_ascii_lowercase())
            .cloned()
    }

    /// Publishes both answers for one challenge pair of `domain` until the guard is dropped.
    pub(crate) fn publish(
        &self,
        domain: &str,
        http01: Option<(String, String)>,
        tls_alpn01: Option<Arc<CertifiedKey>>,
    ) -> Published {
        let mut answers = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let token = http01.map(|(token, key_authorization)| {
            answers.http01.insert(token.clone(), key_authorization);
            token
        });
        let domain = tls_alpn01.map(|cert| {
            let domain = domain.to_ascii_lowercase();
            answers.tls_alpn01.insert(domain.clone(), cert);
            domain
        });
        Published {
            challenges: self.clone(),
            token,
            domain,
        }
    }
}

/// Removes a domain's answers when the order no longer needs them.
pub(crate) struct Published {
    challenges: Challenges,
    token: Option<String>,
    domain: Option<String>,
}

impl Drop for Published {
    fn drop(&mut self) {
        let mut answers = self
            .challenges
            .inner
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(token) = &self.token {
            answers.http01.remove(token);
        }
        if let Some(domain) = &self.domain {
            answers.tls_alpn01.remove(domain);
        }
    }
}

/// The self-signed TLS-ALPN-01 certificate for `domain` (RFC 8737 section 3): the name as its
/// only subjectAltName, and the critical acmeIdentifier extension holding the SHA-256 digest of
/// the key authorization.
pub(crate) fn tls_alpn01_certificate(
    domain: &str,
    key_authorization: &str,
) -> Result<Arc<CertifiedKey>, Error> {
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    let mut params = CertificateParams::new(vec![domain.to_owned()])
        .map_err(|e| Error::Certificate(format!("TLS-ALPN-01 certificate for {domain}: {e}")))?;
    params
        .custom_extensions
        .push(CustomExtension::new_acme_identifier(digest.as_ref()));
    let key =
        KeyPair::generate().map_err(|e| Error::Certificate(format!("TLS-ALPN-01 key: {e}")))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::Certificate(format!("TLS-ALPN-01 certificate for {domain}: {e}")))?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `certified_key`: its key check parses the certificate with webpki, which refuses the
    // critical acmeIdentifier extension it does not know. The key was made for this certificate.
    let signer = rustls::crypto::aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(|e| Error::Certificate(format!("TLS-ALPN-01 key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    )))
}

/// A rustls certificate with its signing key, through the crypto provider this crate builds on.
pub(crate) fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, Error> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(chain, key, &provider)
        .map(Arc::new)
        .map_err(|e| Error::Certificate(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http01_answer_lives_as_long_as_its_guard() {
        let challenges = Challenges::new();
        let guard = challenges.publish("a.example", Some(("tok".into(), "tok.thumb".into())), None);
        assert_eq!(
            challenges.clone().http01("tok").as_deref(),
            Some("tok.thumb")
        );
        assert_eq!(challenges.http01("other"), None);
        drop(guard);
        assert_eq!(challenges.http01("tok"), None);
    }

    #[test]
    fn tls_alpn01_certificate_carries_the_critical_acme_identifier() {
        let cert = tls_alpn01_certificate("a.example", "tok.thumb").unwrap();
        let challenges = Challenges::new();
        let _guard = challenges.publish("A.Example", None, Some(cert));
        let found = challenges.tls_alpn01("a.EXAMPLE").expect("published");
        assert!(challenges.tls_alpn01("b.example").is_none());

        let (_, parsed) = x509_parser::parse_x509_certificate(&found.cert[0]).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"tok.thumb");
        // An OCTET STRING of 32 bytes: tag 0x04, length 0x20, the digest.
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], digest.as_ref());
        let names = parsed.subject_alternative_name().unwrap().unwrap();
        assert_eq!(names.value.general_names.len(), 1);
    }
}
