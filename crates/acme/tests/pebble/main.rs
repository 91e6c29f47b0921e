//! End to end against pebble, the ACME test CA (Debian package `pebble`), which each test starts
//! on loopback with its own configuration and ports. Pebble's validation authority connects to
//! the responders these tests run, which answer from `acme::Challenges` as the server will.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
mod responders;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use acme::{Challenge, Challenges, Config, Manager, Status};
use harness::{DOMAIN, Options, Pebble, WWW_DOMAIN, binaries};
use responders::{serve_http01, serve_tls_alpn01};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// The longest a test waits for pebble to issue (or for the manager to react).
const WAIT: Duration = Duration::from_secs(60);

/// Pebble, its responders and a state directory.
struct Setup {
    pebble: Pebble,
    state: tempfile::TempDir,
    _pebble_dir: tempfile::TempDir,
    challenges: Challenges,
    /// HTTP-01 requests answered with a key authorization.
    http01_answered: Arc<AtomicUsize>,
    /// TLS-ALPN-01 handshakes answered with an acmeIdentifier certificate.
    tls_alpn01_answered: Arc<AtomicUsize>,
}

impl Setup {
    /// Starts pebble and both responders, answering from one `Challenges` shared by every
    /// manager of the test (the server keeps one for its lifetime too).
    async fn start(validity: Option<Duration>) -> Option<Setup> {
        let binaries = binaries()?;
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let options = Options {
            http_port: http.local_addr().unwrap().port(),
            tls_port: tls.local_addr().unwrap().port(),
            validity,
        };
        let challenges = Challenges::new();
        let http01_answered = Arc::new(AtomicUsize::new(0));
        let tls_alpn01_answered = Arc::new(AtomicUsize::new(0));
        tokio::spawn(serve_http01(
            http,
            challenges.clone(),
            http01_answered.clone(),
        ));
        tokio::spawn(serve_tls_alpn01(
            tls,
            challenges.clone(),
            tls_alpn01_answered.clone(),
        ));
        let pebble_dir = tempfile::tempdir().unwrap();
        let pebble = Pebble::start(&binaries, pebble_dir.path(), &options);
        Some(Setup {
            pebble,
            state: tempfile::tempdir().unwrap(),
            _pebble_dir: pebble_dir,
            challenges,
            http01_answered,
            tls_alpn01_answered,
        })
    }

    /// A manager answering through the responders' handle, as the server's would.
    fn manager(&self, config: Config) -> Manager {
        Manager::with_challenges(config, self.challenges.clone()).unwrap()
    }

    fn config(&self) -> Config {
        let mut config = Config::new(vec![DOMAIN.to_owned()], self.state.path());
        config.directory_url = self.pebble.directory_url.clone();
        config.extra_ca_pem = Some(self.pebble.ca_pem.clone());
        config.contact_email = Some("admin@example.com".to_owned());
        config
    }
}

/// A manager running on its own task, its challenges served by the test's responders.
struct Running {
    certs: watch::Receiver<Option<Arc<CertifiedKey>>>,
    status: watch::Receiver<Status>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(manager: Manager) -> Running {
        let certs = manager.certificates();
        let status = manager.status();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            manager
                .run(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Running {
            certs,
            status,
            stop: Some(stop),
            task,
        }
    }

    /// The next published certificate that differs from `previous`.
    async fn next_certificate(&mut self, previous: Option<&[u8]>) -> Arc<CertifiedKey> {
        let changed = self.certs.wait_for(|c| {
            c.as_ref()
                .is_some_and(|c| Some(c.cert[0].as_ref()) != previous)
        });
        let got = tokio::time::timeout(WAIT, changed).await;
        let got =
            got.unwrap_or_else(|_| panic!("no new certificate; status {:?}", self.status.borrow()));
        got.unwrap().clone().unwrap()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// The leaf's DNS names.
fn leaf_names(cert: &CertifiedKey) -> Vec<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert.cert[0]).unwrap();
    let san = parsed.subject_alternative_name().unwrap().unwrap();
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_string()),
            _ => None,
        })
        .collect()
}

/// Where the state directory keeps the account at `setup`'s CA.
fn account_file(setup: &Setup) -> std::path::PathBuf {
    stored(setup, "cert.pem")
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("account.json")
}

/// Where the state directory keeps the certificate of `setup`'s CA.
fn stored(setup: &Setup, file: &str) -> std::path::PathBuf {
    let ca = setup
        .pebble
        .directory_url
        .trim_start_matches("https://")
        .replace([':', '/'], "-");
    setup.state.path().join(ca).join(DOMAIN).join(file)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_issuance_publishes_and_stores_the_certificate() {
    let Some(setup) = Setup::start(None).await else {
        return;
    };
    let manager = setup.manager(setup.config());
    assert!(manager.current().is_none());
    assert!(manager.certificates().borrow().is_none());
    let mut running = Running::start(manager);

    let cert = running.next_certificate(None).await;
    assert_eq!(leaf_names(&cert), [DOMAIN]);
    assert!(
        cert.cert.len() >= 2,
        "the chain holds pebble's intermediate"
    );
    assert!(
        setup.http01_answered.load(Ordering::SeqCst) >= 1,
        "validated over HTTP-01"
    );
    let status = running.status.borrow().clone();
    assert_eq!((status.issued, status.failures), (1, 0), "{status:?}");
    let year = Duration::from_secs(365 * 86_400);
    assert!(
        status.next_attempt.unwrap() > SystemTime::now() + year,
        "pebble's 5-year certificate renews years later"
    );

    let cert_pem = std::fs::read(stored(&setup, "cert.pem")).unwrap();
    let stored_leaf = rustls_pki_types::pem::PemObject::pem_slice_iter(&cert_pem)
        .next()
        .map(|c: Result<rustls_pki_types::CertificateDer<'static>, _>| c.unwrap())
        .unwrap();
    assert_eq!(stored_leaf.as_ref(), cert.cert[0].as_ref());
    assert_eq!(mode(&stored(&setup, "key.pem")), 0o600);
    assert_eq!(mode(&account_file(&setup)), 0o600);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_issuance_answers_through_the_handshake() {
    let Some(setup) = Setup::start(None).await else {
        return;
    };
    let mut config = setup.config();
    config.challenge = Challenge::TlsAlpn01;
    let mut running = Running::start(setup.manager(config));
    let cert = running.next_certificate(None).await;
    assert_eq!(leaf_names(&cert), [DOMAIN]);
    assert!(
        setup.tls_alpn01_answered.load(Ordering::SeqCst) >= 1,
        "validated over TLS-ALPN-01"
    );
    assert_eq!(setup.http01_answered.load(Ordering::SeqCst), 0);
    assert!(
        setup.challenges.tls_alpn01(DOMAIN).is_none(),
        "answers are withdrawn after the order"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reuses_the_stored_certificate_without_the_ca() {
    let Some(mut setup) = Setup::start(None).await else {
        return;
    };
    let mut running = Running::start(setup.manager(setup.config()));
    let first = running.next_certificate(None).await;
    running.stop().await;

    // The CA is gone: a restart must serve the stored certificate and order nothing.
    setup.pebble.stop();
    let manager = setup.manager(setup.config());
    let loaded = manager
        .certificates()
        .borrow()
        .clone()
        .expect("published at start");
    assert_eq!(loaded.cert[0].as_ref(), first.cert[0].as_ref());
    assert_eq!(manager.current().unwrap().names, [DOMAIN]);
    let running = Running::start(manager);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = running.status.borrow().clone();
    assert_eq!((status.issued, status.failures), (0, 0), "{status:?}");
    assert!(status.last_error.is_none());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_at_two_thirds_publishes_a_new_certificate() {
    // Pebble issues 9-second certificates: renewal is due 6 seconds after notBefore.
    let Some(setup) = Setup::start(Some(Duration::from_secs(9))).await else {
        return;
    };
    let mut config = setup.config();
    config.retry_first_delay = Duration::from_millis(200);
    let mut running = Running::start(setup.manager(config));
    let first = running.next_certificate(None).await;
    let issued_at = SystemTime::now();
    let account = std::fs::read(account_file(&setup)).unwrap();
    let second = running.next_certificate(Some(first.cert[0].as_ref())).await;
    let reused = std::fs::read(account_file(&setup)).unwrap();
    assert_eq!(account, reused, "the renewal reuses the stored account");
    let waited = issued_at.elapsed().unwrap();
    assert!(
        waited >= Duration::from_secs(3),
        "renewed too early: after {waited:?}"
    );
    assert_eq!(leaf_names(&second), [DOMAIN]);
    assert_ne!(first.cert[0].as_ref(), second.cert[0].as_ref());
    let status = running.status.borrow().clone();
    assert!(status.issued >= 2, "{status:?}");
    assert_eq!(status.failures, 0);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_outage_keeps_the_old_certificate_and_backs_off() {
    // 6-second certificates: the renewal is due 4 seconds after issuance, with the CA down.
    let Some(mut setup) = Setup::start(Some(Duration::from_secs(6))).await else {
        return;
    };
    let mut config = setup.config();
    config.retry_first_delay = Duration::from_millis(300);
    config.retry_max_delay = Duration::from_millis(1200);
    let mut running = Running::start(setup.manager(config));
    let first = running.next_certificate(None).await;
    setup.pebble.stop();

    // Each failure in a row doubles the pause, up to the cap. The watch may fold two updates
    // into one, so check each failure count seen rather than expect to see every one.
    let ms = Duration::from_millis;
    let expected = |failures: u32| ms(300 * 2u64.pow(failures.min(3) - 1)).min(ms(1200));
    let mut seen = Vec::new();
    let watching = async {
        loop {
            running.status.changed().await.unwrap();
            let status = running.status.borrow_and_update().clone();
            if status.failures == 0 || seen.last() == Some(&status.failures) {
                continue;
            }
            assert_eq!(
                status.retry_delay,
                Some(expected(status.failures)),
                "{status:?}"
            );
            let error = status.last_error.expect("the failure is reported");
            assert!(matches!(*error, acme::Error::Acme { .. }), "{error}");
            seen.push(status.failures);
            if status.failures >= 4 {
                break;
            }
        }
    };
    tokio::time::timeout(WAIT, watching)
        .await
        .expect("four failed renewals");
    assert_eq!(expected(2), ms(600));
    assert_eq!(expected(4), ms(1200));
    let kept = running.certs.borrow().clone().unwrap();
    assert_eq!(
        kept.cert[0].as_ref(),
        first.cert[0].as_ref(),
        "the old certificate stays published"
    );

    // The CA comes back without its state (a new account is needed): the next retry succeeds.
    let forgotten = std::fs::read(account_file(&setup)).unwrap();
    setup.pebble.restart();
    let renewed = running.next_certificate(Some(first.cert[0].as_ref())).await;
    let created = std::fs::read(account_file(&setup)).unwrap();
    assert_ne!(
        forgotten, created,
        "a new account replaces the one the CA forgot"
    );
    assert_eq!(leaf_names(&renewed), [DOMAIN]);
    let status = running.status.borrow().clone();
    assert_eq!(
        (status.failures, status.retry_delay),
        (0, None),
        "{status:?}"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_certificate_names_every_domain() {
    let Some(setup) = Setup::start(None).await else {
        return;
    };
    let mut config = setup.config();
    config.domains = vec![DOMAIN.to_owned(), WWW_DOMAIN.to_uppercase()];
    let mut running = Running::start(setup.manager(config));
    let cert = running.next_certificate(None).await;
    let mut names = leaf_names(&cert);
    names.sort();
    assert_eq!(names, [DOMAIN, WWW_DOMAIN]);
    assert!(
        setup.http01_answered.load(Ordering::SeqCst) >= 2,
        "one validation per domain"
    );
    let left = format!("{:?}", setup.challenges);
    assert!(
        left.contains("http01: 0") && left.contains("tls_alpn01: 0"),
        "answers withdrawn: {left}"
    );
    running.stop().await;
}
