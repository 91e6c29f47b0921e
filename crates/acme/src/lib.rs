//! Automatic certificates (ACME, RFC 8555), as Caddy does them: give it the domains, and it
//! keeps a valid certificate for them published to the TLS server.
//!
//! ```text
//! let manager = Manager::new(config)?;          // loads a stored certificate, if still valid
//! let challenges = manager.challenges();        // to the HTTP server (HTTP-01) and the TLS server (TLS-ALPN-01)
//! let mut certs = manager.certificates();       // watch::Receiver<Option<Arc<CertifiedKey>>>
//! tokio::spawn(manager.run(shutdown));          // orders, renews at 2/3 of the lifetime, retries
//! ```
//!
//! The client is instant-acme; keys and certificates are made with rcgen and served as rustls
//! `CertifiedKey`s, all on the aws-lc-rs crypto provider.
//!
//! # Layout
//! - `lib.rs`: [`Config`] and its validation.
//! - `manager.rs`: [`Manager`], the renewal loop, its back-off and [`Status`].
//! - `issue.rs`: one issuance: account, order, challenges, CSR, chain; the HTTPS client.
//! - `challenges.rs`: [`Challenges`], the answers the servers give to the CA.
//! - `store.rs`: the state directory (account, certificate, key) and [`Issued`].
//! - `error.rs`: [`Error`].

#![forbid(unsafe_code)]

mod challenges;
mod error;
mod issue;
mod manager;
mod store;

use std::path::PathBuf;
use std::time::Duration;

pub use challenges::{ACME_TLS_ALPN_PROTOCOL, Challenges, HTTP01_PATH_PREFIX};
pub use error::Error;
pub use manager::{ISSUE_TIMEOUT, Manager, RETRY_FIRST_DELAY, RETRY_MAX_DELAY, Status};
pub use store::Issued;

/// Let's Encrypt's production directory, the default CA.
pub const LETS_ENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The most domains one certificate may name: Let's Encrypt's limit of names per certificate.
pub const MAX_DOMAINS: usize = 100;

/// Which challenge to ask the CA to validate when it offers both. Both answers are published
/// either way, so the servers need not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Challenge {
    /// HTTP-01 (RFC 8555 section 8.3): needs the plain HTTP server on port 80.
    #[default]
    Http01,
    /// TLS-ALPN-01 (RFC 8737): needs the TLS server on port 443.
    TlsAlpn01,
}

/// What to get a certificate for, from whom, and where to keep it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The DNS names of the certificate; the first one names its directory in the state dir.
    pub domains: Vec<String>,
    /// The ACME directory URL; [`LETS_ENCRYPT_PRODUCTION`] by default.
    pub directory_url: String,
    /// The contact address given to the CA for expiry notices, if any.
    pub contact_email: Option<String>,
    /// A PEM file of CA certificates to trust for the ACME server beside the system's roots
    /// (pebble's, or a private CA's).
    pub extra_ca_pem: Option<PathBuf>,
    /// Where the account, the certificate and its key are kept between runs.
    pub state_dir: PathBuf,
    /// The challenge to prefer.
    pub challenge: Challenge,
    /// The pause after the first failed attempt; it doubles with each failure.
    pub retry_first_delay: Duration,
    /// The longest pause between two attempts.
    pub retry_max_delay: Duration,
}

impl Config {
    /// A configuration for `domains` with the defaults: Let's Encrypt production, no contact,
    /// the system's roots, HTTP-01, [`RETRY_FIRST_DELAY`] and [`RETRY_MAX_DELAY`].
    pub fn new(domains: Vec<String>, state_dir: impl Into<PathBuf>) -> Self {
        Config {
            domains,
            directory_url: LETS_ENCRYPT_PRODUCTION.to_owned(),
            contact_email: None,
            extra_ca_pem: None,
            state_dir: state_dir.into(),
            challenge: Challenge::default(),
            retry_first_delay: RETRY_FIRST_DELAY,
            retry_max_delay: RETRY_MAX_DELAY,
        }
    }

    /// Checks the configuration and lower-cases the domains (DNS names are case-insensitive,
    /// RFC 4343, and CAs issue them in lower case).
    pub fn validate(mut self) -> Result<Self, Error> {
        if self.domains.is_empty() {
            return Err(Error::Config("no domain given".into()));
        }
        if self.domains.len() > MAX_DOMAINS {
            return Err(Error::Config(format!("more than {MAX_DOMAINS} domains")));
        }
        for domain in &mut self.domains {
            domain.make_ascii_lowercase();
            validate_domain(domain)?;
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = self.domains.iter().find(|d| !seen.insert(d.as_str())) {
            return Err(Error::Config(format!("{dup} is given twice")));
        }
        if !self.directory_url.starts_with("https://") {
            return Err(Error::Config(format!(
                "the directory URL {} is not https (RFC 8555 section 6.1)",
                self.directory_url
            )));
        }
        if self.retry_first_delay.is_zero() || self.retry_max_delay < self.retry_first_delay {
            return Err(Error::Config(
                "the retry delays must be positive and ordered".into(),
            ));
        }
        Ok(self)
    }
}

/// A name the CA can validate by HTTP-01 or TLS-ALPN-01: a DNS name, not an IP address, and no
/// wildcard (RFC 8555 section 8.3 and RFC 8737 section 3 forbid wildcards for both).
fn validate_domain(domain: &str) -> Result<(), Error> {
    if domain.starts_with("*.") {
        return Err(Error::Config(format!(
            "{domain}: wildcard names need the DNS-01 challenge, which is not supported"
        )));
    }
    if domain.parse::<std::net::IpAddr>().is_ok() {
        return Err(Error::Config(format!(
            "{domain} is an IP address, not a domain"
        )));
    }
    rustls_pki_types::DnsName::try_from(domain)
        .map(|_| ())
        .map_err(|_| Error::Config(format!("{domain:?} is not a DNS name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(domains: &[&str]) -> Config {
        Config::new(
            domains.iter().map(|d| d.to_string()).collect(),
            "/tmp/state",
        )
    }

    #[test]
    fn domains_are_lowercased_and_checked() {
        let ok = config(&["Example.COM", "www.example.com"])
            .validate()
            .unwrap();
        assert_eq!(ok.domains, ["example.com", "www.example.com"]);
        for bad in [
            &[][..],
            &["*.example.com"],
            &["127.0.0.1"],
            &["bad name"],
            &["a.b", "A.b"],
        ] {
            let err = config(bad).validate().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad:?}: {err}");
        }
    }

    #[test]
    fn plain_http_directory_is_refused() {
        let mut c = config(&["example.com"]);
        c.directory_url = "http://ca.test/dir".into();
        assert!(c.validate().is_err());
        assert_eq!(config(&["a.test"]).directory_url, LETS_ENCRYPT_PRODUCTION);
    }
}
