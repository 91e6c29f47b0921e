//! SNI: which certificate a handshake gets, by the name the client asked for.

use std::sync::{Arc, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::Pair;

/// Chooses among several certificates by the SNI name: a certificate naming it exactly wins,
/// then one with a wildcard for its parent (`*.example.com` covers `a.example.com`, not
/// `a.b.example.com`, RFC 6125 6.4.3); any other name, or none, gets the first, as nginx's
/// default server does. The set can be replaced while serving ([`Resolver::replace`]).
#[derive(Debug)]
pub struct Resolver {
    pairs: RwLock<Arc<Vec<Pair>>>,
}

impl Resolver {
    /// A resolver over `pairs`, the first being the default.
    pub fn new(pairs: Vec<Pair>) -> Resolver {
        Resolver {
            pairs: RwLock::new(Arc::new(pairs)),
        }
    }

    /// Puts `pairs` in place for the handshakes that start from now on.
    pub fn replace(&self, pairs: Vec<Pair>) {
        let mut slot = self.pairs.write().unwrap_or_else(|e| e.into_inner());
        *slot = Arc::new(pairs);
    }

    /// The certificate for `name` (`None`: no SNI).
    pub fn choose(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let pairs = self.pairs.read().unwrap_or_else(|e| e.into_inner()).clone();
        let first = pairs.first()?;
        let Some(name) = name.map(str::to_ascii_lowercase) else {
            return Some(first.key.clone());
        };
        let exact = pairs.iter().find(|p| p.names.contains(&name));
        let wildcard = || {
            let (_, parent) = name.split_once('.')?;
            let want = format!("*.{parent}");
            pairs.iter().find(|p| p.names.contains(&want))
        };
        Some(exact.or_else(wildcard).unwrap_or(first).key.clone())
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(hello.server_name())
    }
}
