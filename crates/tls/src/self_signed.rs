//! A certificate made at start-up for the local machine.

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::{Error, Pair};

/// The names a self-signed certificate is for: what a browser or curl on this machine uses.
pub const LOCAL_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A fresh self-signed certificate and the config serving it.
#[derive(Debug)]
pub struct SelfSigned {
    /// The config, as [`crate::server_config`] makes it.
    pub config: ServerConfig,
    /// SHA-256 fingerprint of the certificate, `AB:CD:...`, to print so a user can check it.
    pub fingerprint: String,
    /// The certificate in PEM, for a client to trust.
    pub cert_pem: String,
    /// The certificate in DER.
    pub cert_der: Vec<u8>,
}

/// A new ECDSA P-256 certificate for [`LOCAL_NAMES`], and a config serving it.
pub fn self_signed() -> Result<SelfSigned, Error> {
    let names: Vec<String> = LOCAL_NAMES.iter().map(|n| n.to_string()).collect();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::Rustls(rustls::Error::General(e.to_string())))?;
    let der = made.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let signing = crate::provider()
        .key_provider
        .load_private_key(key)
        .map_err(Error::Rustls)?;
    let chain = vec![CertificateDer::from(der.clone())];
    let pair = Pair {
        key: std::sync::Arc::new(rustls::sign::CertifiedKey::new(chain, signing)),
        names: LOCAL_NAMES.iter().map(|n| n.to_string()).collect(),
    };
    Ok(SelfSigned {
        config: crate::server_config(vec![pair])?,
        fingerprint: crate::fingerprint(&der),
        cert_pem: made.cert.pem(),
        cert_der: der,
    })
}
