//! SNI: which certificate a handshake gets, by the name the client asked for.
//!
//! Two sources feed it: certificate files ([`Resolver::replace`] on reload) and certificates
//! managed by ACME ([`Resolver::with_managed`], then [`Resolver::install`] each time one is
//! issued). A handshake offering the ALPN protocol `acme-tls/1` is a CA validating a name by
//! TLS-ALPN-01 (RFC 8737) and gets the challenge certificate instead.
//!
//! `choose` runs once per full handshake: it compares names without lower-casing copies or
//! formatting wildcards, so the only work is a read lock and an `Arc` clone.

use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::Pair;

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737 section 6.2).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// The TLS-ALPN-01 answer for a server name: the self-signed certificate carrying the
/// acmeIdentifier extension, or `None` when no validation of that name is pending.
pub type ChallengeAnswer = Arc<dyn Fn(&str) -> Option<Arc<CertifiedKey>> + Send + Sync>;

/// A certificate kept by ACME: the names it is ordered for, and the certificate once there is one.
#[derive(Debug, Clone)]
struct Managed {
    names: Vec<String>,
    key: Option<Arc<CertifiedKey>>,
}

/// Chooses among several certificates by the SNI name: a certificate file naming it exactly
/// wins, then an ACME certificate for it, then a file with a wildcard for its parent
/// (`*.example.com` covers `a.example.com`, not `a.b.example.com`, RFC 6125 6.4.3); any other
/// name, or none, gets the first file, as nginx's default server does (or the first issued ACME
/// certificate when there are no files). A name managed by ACME whose certificate is not issued
/// yet is refused (the handshake fails with an alert) rather than given a certificate that does
/// not name it: Caddy does the same, and a browser would refuse that certificate anyway.
pub struct Resolver {
    pairs: RwLock<Arc<Vec<Pair>>>,
    managed: RwLock<Arc<Vec<Managed>>>,
    challenge: Option<ChallengeAnswer>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("pairs", &self.pairs)
            .field("managed", &self.managed)
            .field("challenge", &self.challenge.is_some())
            .finish()
    }
}

impl Resolver {
    /// A resolver over `pairs`, the first being the default.
    pub fn new(pairs: Vec<Pair>) -> Resolver {
        Resolver {
            pairs: RwLock::new(Arc::new(pairs)),
            managed: RwLock::new(Arc::new(Vec::new())),
            challenge: None,
        }
    }

    /// Adds ACME-managed certificates, one per entry of `names` (each the names of one
    /// certificate, lower case), with none issued yet; [`Resolver::install`] fills them in by
    /// their index here. `answer` gives the TLS-ALPN-01 certificates.
    pub fn with_managed(mut self, names: Vec<Vec<String>>, answer: ChallengeAnswer) -> Resolver {
        let managed = names
            .into_iter()
            .map(|names| Managed { names, key: None })
            .collect();
        self.managed = RwLock::new(Arc::new(managed));
        self.challenge = Some(answer);
        self
    }

    /// Whether it answers TLS-ALPN-01 handshakes, so the config must offer `acme-tls/1`.
    pub fn answers_tls_alpn01(&self) -> bool {
        self.challenge.is_some()
    }

    /// Puts `pairs` in place for the handshakes that start from now on.
    pub fn replace(&self, pairs: Vec<Pair>) {
        let mut slot = self.pairs.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(pairs);
    }

    /// Serves `key` for the managed certificate at `index` from the next handshake on (a first
    /// issuance or a renewal); open connections keep the one they have.
    pub fn install(&self, index: usize, key: Arc<CertifiedKey>) {
        let mut slot = self.managed.write().unwrap_or_else(|e| e.into_inner());
        let mut managed = Vec::clone(&slot);
        if let Some(entry) = managed.get_mut(index) {
            entry.key = Some(key);
            *slot = Arc::new(managed);
        }
    }

    /// The certificate for `name` (`None`: no SNI).
    pub fn choose(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let pairs = self.pairs.read().unwrap_or_else(|e| e.into_inner()).clone();
        let managed = self
            .managed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let default = || {
            pairs
                .first()
                .map(|p| p.key.clone())
                .or_else(|| managed.iter().find_map(|m| m.key.clone()))
        };
        let Some(name) = name else {
            return default();
        };
        if let Some(pair) = pairs.iter().find(|p| names(&p.names, name)) {
            return Some(pair.key.clone());
        }
        if let Some(entry) = managed.iter().find(|m| names(&m.names, name)) {
            return entry.key.clone();
        }
        let parent = name.split_once('.').map(|(_, parent)| parent);
        let wildcard = parent.and_then(|parent| {
            pairs.iter().find(|p| {
                p.names.iter().any(|n| {
                    n.strip_prefix("*.")
                        .is_some_and(|n| n.eq_ignore_ascii_case(parent))
                })
            })
        });
        match wildcard {
            Some(pair) => Some(pair.key.clone()),
            None => default(),
        }
    }
}

/// Whether `list` holds `name`, ignoring ASCII case (DNS names are case-insensitive).
fn names(list: &[String], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(answer) = &self.challenge {
            // RFC 8737 section 3: the CA offers `acme-tls/1` alone, with the name in SNI.
            let validating = hello
                .alpn()
                .is_some_and(|mut offered| offered.any(|p| p == ACME_TLS_ALPN));
            if validating {
                return answer(hello.server_name()?);
            }
        }
        self.choose(hello.server_name())
    }
}
