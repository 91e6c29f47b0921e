//! The renewal loop: keep a valid certificate published, renew it at two thirds of its
//! lifetime, keep the old one and back off when the CA fails.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use crate::issue::{HttpClient, Issuer, http_client};
use crate::store::{Issued, Paths, load_certificate, store_certificate};
use crate::{Challenges, Config, Error};

/// The pause after the first failed attempt; each further failure doubles it up to
/// [`RETRY_MAX_DELAY`]. A minute, as Caddy's first retry: long enough not to hammer a CA that is
/// down, short enough that a brief outage costs little.
pub const RETRY_FIRST_DELAY: Duration = Duration::from_secs(60);

/// The longest pause between two attempts. Six hours: a 90-day certificate renewed at two thirds
/// of its lifetime leaves 30 days, so even at this pace there are over a hundred more tries.
pub const RETRY_MAX_DELAY: Duration = Duration::from_secs(6 * 3600);

/// The longest one issuance (account, order, validation, download) may take before it counts as
/// a failure and is retried with back-off.
pub const ISSUE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The longest single sleep: the loop wakes at least this often to re-read the wall clock, so a
/// suspended machine or a clock step cannot push a renewal past its time.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// What the manager is doing, for logs, metrics and tests.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// The published certificate's notAfter, if one is published.
    pub not_after: Option<SystemTime>,
    /// When the next order is due.
    pub next_attempt: Option<SystemTime>,
    /// Failed attempts since the last success; 0 after a success.
    pub failures: u32,
    /// The last failure, kept after a later success so it can still be read.
    pub last_error: Option<Arc<Error>>,
    /// The pause before the retry after the last failure; `None` after a success.
    pub retry_delay: Option<Duration>,
    /// Certificates issued since this manager started.
    pub issued: u64,
}

/// Keeps a certificate for [`Config::domains`] valid and published.
pub struct Manager {
    config: Config,
    paths: Paths,
    http: HttpClient,
    challenges: Challenges,
    current: Option<Issued>,
    certs: watch::Sender<Option<Arc<CertifiedKey>>>,
    status: watch::Sender<Status>,
}

impl Manager {
    /// Validates the configuration and loads the stored certificate when it still covers the
    /// domains and has not expired, so a restart serves at once and orders nothing. A stored file
    /// that cannot be parsed is logged and replaced by a new order; a state directory that
    /// cannot be read is an error.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_challenges(config, Challenges::new())
    }

    /// As [`Manager::new`], answering through `challenges`, so that several managers (one per
    /// certificate) can share the one handle the HTTP and TLS servers consult.
    pub fn with_challenges(config: Config, challenges: Challenges) -> Result<Self, Error> {
        let config = config.validate()?;
        let paths = Paths::new(&config.state_dir, &config.directory_url, &config.domains[0]);
        let http = http_client(config.extra_ca_pem.as_deref())?;
        let current = match load_certificate(&paths) {
            Ok(Some(issued)) if usable(&issued, &config.domains) => Some(issued),
            Ok(Some(_)) => {
                tracing::info!(path = %paths.cert.display(), "the stored certificate has expired or misses a domain; ordering a new one");
                None
            }
            Ok(None) => None,
            Err(e @ Error::Corrupt { .. }) => {
                tracing::warn!(error = %e.report(), "ignoring the stored certificate");
                None
            }
            Err(e) => return Err(e),
        };
        let status = Status {
            not_after: current.as_ref().map(|c| c.not_after),
            ..Status::default()
        };
        Ok(Manager {
            certs: watch::Sender::new(current.as_ref().map(|c| c.key.clone())),
            status: watch::Sender::new(status),
            config,
            paths,
            http,
            challenges,
            current,
        })
    }

    /// The answers to the CA's challenges, for the HTTP server (HTTP-01) and the TLS server
    /// (TLS-ALPN-01).
    pub fn challenges(&self) -> Challenges {
        self.challenges.clone()
    }

    /// The certificate to serve: `None` until the first one is loaded or issued, then each new
    /// one as it is issued. A failed renewal publishes nothing, so the old one stays.
    pub fn certificates(&self) -> watch::Receiver<Option<Arc<CertifiedKey>>> {
        self.certs.subscribe()
    }

    /// The manager's progress and its last error.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// The certificate loaded at start, if any.
    pub fn current(&self) -> Option<&Issued> {
        self.current.as_ref()
    }

    /// Orders a certificate when none is held, renews it at two thirds of its lifetime, and
    /// retries failures with exponential back-off, until `shutdown` completes. Errors are
    /// logged and published in [`Status`]; they never end the loop.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut next = self
            .current
            .as_ref()
            .map_or_else(SystemTime::now, Issued::renew_at);
        let mut failures = 0u32;
        self.status.send_modify(|s| s.next_attempt = Some(next));
        loop {
            if let Ok(wait) = next.duration_since(SystemTime::now())
                && !wait.is_zero()
            {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(wait.min(MAX_SLEEP)) => continue,
                }
            }
            let attempt = tokio::select! {
                () = &mut shutdown => return,
                r = tokio::time::timeout(ISSUE_TIMEOUT, self.obtain()) => r.unwrap_or(Err(Error::Timeout)),
            };
            next = match attempt {
                Ok(issued) => {
                    failures = 0;
                    // A certificate already past its renewal time (a clock off, a CA issuing very
                    // short lives) must not turn the loop into a burst of orders.
                    let floor = SystemTime::now() + self.config.retry_first_delay;
                    let next = issued.renew_at().max(floor);
                    self.install(issued, next);
                    next
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let delay = retry_delay(
                        failures,
                        self.config.retry_first_delay,
                        self.config.retry_max_delay,
                    );
                    tracing::error!(
                        domains = ?self.config.domains,
                        error = %e.report(),
                        failures,
                        retry_in = ?delay,
                        "certificate order failed; keeping the current certificate"
                    );
                    let next = SystemTime::now() + delay;
                    self.status.send_modify(|s| {
                        s.failures = failures;
                        s.last_error = Some(Arc::new(e));
                        s.retry_delay = Some(delay);
                        s.next_attempt = Some(next);
                    });
                    next
                }
            };
        }
    }

    /// One issuance, stored and parsed. A certificate that cannot be stored is still served:
    /// throwing it away would only mean ordering again (and meeting the CA's rate limits).
    async fn obtain(&self) -> Result<Issued, Error> {
        let issuer = Issuer {
            config: &self.config,
            http: &self.http,
            paths: &self.paths,
            challenges: &self.challenges,
        };
        let fresh = issuer.issue().await?;
        let issued = Issued::from_pem(
            fresh.chain_pem.as_bytes(),
            fresh.key_pem.as_bytes(),
            &self.paths.cert,
        )
        .map_err(|e| match e {
            Error::Corrupt { reason, .. } => Error::Certificate(format!("the CA sent {reason}")),
            e => e,
        })?;
        if !issued.covers(&self.config.domains) {
            return Err(Error::Certificate(format!(
                "the CA's certificate names {:?}, not every one of {:?}",
                issued.names, self.config.domains
            )));
        }
        if let Err(e) = store_certificate(&self.paths, &fresh.chain_pem, &fresh.key_pem) {
            tracing::error!(error = %e.report(), "cannot store the new certificate; serving it anyway");
        }
        Ok(issued)
    }

    fn install(&mut self, issued: Issued, next: SystemTime) {
        tracing::info!(
            domains = ?self.config.domains,
            not_after = ?issued.not_after,
            "installed a new certificate"
        );
        self.status.send_modify(|s| {
            s.not_after = Some(issued.not_after);
            s.failures = 0;
            s.retry_delay = None;
            s.next_attempt = Some(next);
            s.issued += 1;
        });
        // After the status, so whoever sees the new certificate sees its status too.
        self.certs.send_replace(Some(issued.key.clone()));
        self.current = Some(issued);
    }
}

/// A stored certificate worth serving: it names every domain and has not expired. One past its
/// renewal time is still served while the loop renews it at once.
fn usable(issued: &Issued, domains: &[String]) -> bool {
    issued.covers(domains) && issued.not_after > SystemTime::now()
}

/// The pause after the `failures`-th failure in a row: `first`, doubled per failure, at most `max`.
fn retry_delay(failures: u32, first: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    first.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIRECTORY: &str = "https://ca.test/dir";

    /// A state directory holding a self-signed certificate for `names`, valid for `days`
    /// from `start_days` ago.
    fn stored(names: &[&str], start_days: i64, days: i64) -> tempfile::TempDir {
        let state = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let now = time_now();
        params.not_before = now - rcgen_days(start_days);
        params.not_after = now - rcgen_days(start_days) + rcgen_days(days);
        let cert = params.self_signed(&key).unwrap();
        let paths = Paths::new(state.path(), DIRECTORY, names[0]);
        store_certificate(&paths, &cert.pem(), &key.serialize_pem()).unwrap();
        state
    }

    fn time_now() -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }

    fn rcgen_days(days: i64) -> time::Duration {
        time::Duration::days(days)
    }

    fn manager(state: &std::path::Path, domains: &[&str]) -> Manager {
        let mut config = Config::new(domains.iter().map(|d| d.to_string()).collect(), state);
        config.directory_url = DIRECTORY.to_owned();
        Manager::new(config).unwrap()
    }

    #[test]
    fn valid_stored_certificate_is_published_at_start() {
        let state = stored(&["a.test"], 1, 90);
        let m = manager(state.path(), &["A.test"]);
        assert!(m.certificates().borrow().is_some());
        assert!(m.current().unwrap().renew_at() > SystemTime::now());
        assert!(m.status().borrow().not_after.is_some());
    }

    #[test]
    fn expired_stored_certificate_is_not_served() {
        let state = stored(&["a.test"], 100, 90);
        assert!(
            manager(state.path(), &["a.test"])
                .certificates()
                .borrow()
                .is_none()
        );
    }

    #[test]
    fn stored_certificate_missing_a_domain_is_not_served() {
        let state = stored(&["a.test"], 1, 90);
        let m = manager(state.path(), &["a.test", "b.test"]);
        assert!(m.current().is_none());
    }

    #[test]
    fn corrupt_stored_certificate_is_replaced_not_fatal() {
        let state = tempfile::tempdir().unwrap();
        let paths = Paths::new(state.path(), DIRECTORY, "a.test");
        store_certificate(&paths, "garbage", "garbage").unwrap();
        assert!(manager(state.path(), &["a.test"]).current().is_none());
    }

    #[test]
    fn retry_delay_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let delays: Vec<_> = (1..=6).map(|n| retry_delay(n, s(60), s(600))).collect();
        assert_eq!(delays, [s(60), s(120), s(240), s(480), s(600), s(600)]);
        assert_eq!(retry_delay(1000, s(60), s(600)), s(600));
    }
}
