//! `--acme DOMAIN`: certificates from an ACME CA (RFC 8555), obtained and renewed while the
//! server runs and put in the SNI resolver as they are issued, as Caddy does.
//!
//! One [`acme::Manager`] per domain (Caddy's one certificate per name: a name that fails its
//! validation holds up no other), all answering through one [`acme::Challenges`]: HTTP-01 on the
//! plain port ([`Http01`], in front of the service) and TLS-ALPN-01 in the handshake on the HTTPS
//! port (the resolver's challenge answer). Until a domain's first certificate is issued, its
//! handshakes fail (see [`tls::Resolver`]); a stored certificate still valid is served at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use http::StatusCode;
use server::{Request, Response, Server, Service, Shutdown};

use crate::cli::{AcmeChallenge, TlsArgs};
use crate::cmd::CliError;

/// The validated `--acme*` flags and a manager per domain, each holding the certificate it
/// found stored, if any.
pub struct AcmeSetup {
    managers: Vec<acme::Manager>,
    challenge: acme::Challenge,
    challenges: acme::Challenges,
    domains: Vec<String>,
    directory: String,
}

/// The `--acme*` flags into managers; `None` without `--acme`. `plain_port`: plain HTTP is
/// served beside HTTPS (`--https-port`), so HTTP-01 can be answered.
pub fn from_args(args: &TlsArgs, plain_port: bool) -> Result<Option<AcmeSetup>, CliError> {
    let usage = |m: String| Err(CliError::Usage(m));
    if args.acme.is_empty() {
        let stray = [
            ("--acme-directory", args.acme_directory.is_some()),
            ("--acme-email", args.acme_email.is_some()),
            ("--acme-ca", args.acme_ca.is_some()),
            ("--acme-state", args.acme_state.is_some()),
            ("--acme-challenge", args.acme_challenge.is_some()),
            ("--acme-retry", args.acme_retry.is_some()),
        ];
        return match stray.iter().find(|(_, given)| *given) {
            Some((flag, _)) => usage(format!("{flag} needs --acme DOMAIN")),
            None => Ok(None),
        };
    }
    let challenge = match (args.acme_challenge, plain_port) {
        (Some(AcmeChallenge::Http01), false) => {
            return usage(
                "--acme-challenge http-01 needs a plain HTTP port: give --https-port (plain HTTP stays on -p)"
                    .into(),
            );
        }
        (Some(AcmeChallenge::Http01), true) | (None, true) => acme::Challenge::Http01,
        (Some(AcmeChallenge::TlsAlpn01), _) | (None, false) => acme::Challenge::TlsAlpn01,
    };
    let state = match &args.acme_state {
        Some(dir) => dir.clone(),
        None => default_state_dir().ok_or_else(|| {
            CliError::Usage(
                "--acme needs a state directory: give --acme-state DIR (neither XDG_DATA_HOME nor HOME is set)"
                    .into(),
            )
        })?,
    };
    let retry = match args.acme_retry {
        None => acme::RETRY_FIRST_DELAY,
        Some(secs) => Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--acme-retry must be a positive number of seconds, not {secs}"
                ))
            })?,
    };
    let directory = args
        .acme_directory
        .clone()
        .unwrap_or_else(|| acme::LETS_ENCRYPT_PRODUCTION.to_owned());
    let challenges = acme::Challenges::new();
    let mut managers = Vec::with_capacity(args.acme.len());
    let mut domains = Vec::with_capacity(args.acme.len());
    for domain in &args.acme {
        let mut config = acme::Config::new(vec![domain.clone()], &state);
        config.directory_url = directory.clone();
        config.contact_email = args.acme_email.clone();
        config.extra_ca_pem = args.acme_ca.clone();
        config.challenge = challenge;
        config.retry_first_delay = retry;
        config.retry_max_delay = acme::RETRY_MAX_DELAY.max(retry);
        let manager =
            acme::Manager::with_challenges(config, challenges.clone()).map_err(|e| match e {
                acme::Error::Config(why) => CliError::Usage(format!("--acme {domain}: {why}")),
                e => CliError::Runtime(format!("--acme {domain}: {}", e.report())),
            })?;
        let lower = domain.to_ascii_lowercase();
        if domains.contains(&lower) {
            return usage(format!("--acme {domain} is given twice"));
        }
        domains.push(lower);
        managers.push(manager);
    }
    Ok(Some(AcmeSetup {
        managers,
        challenge,
        challenges,
        domains,
        directory,
    }))
}

/// `$XDG_DATA_HOME/sockserve/acme`, or `~/.local/share/sockserve/acme` (the XDG base directory
/// specification's default), where Caddy keeps its certificates too (under `caddy/`).
fn default_state_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let data = std::env::var_os("XDG_DATA_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|home| home.join(".local/share"))
        })?;
    Some(data.join("sockserve").join("acme"))
}

impl AcmeSetup {
    /// The resolver over `resolver`'s files, with a managed certificate per domain and the
    /// TLS-ALPN-01 answers; the certificates found stored are served from the first handshake.
    pub fn resolver(&self, resolver: tls::Resolver) -> tls::Resolver {
        let names = self.domains.iter().map(|d| vec![d.clone()]).collect();
        let challenges = self.challenges.clone();
        let answer: tls::ChallengeAnswer = Arc::new(move |name| challenges.tls_alpn01(name));
        let resolver = resolver.with_managed(names, answer);
        for (i, manager) in self.managers.iter().enumerate() {
            if let Some(current) = manager.current() {
                resolver.install(i, current.key.clone());
            }
        }
        resolver
    }

    /// Whether the CA validates by TLS-ALPN-01, in a handshake on the HTTPS port.
    pub fn validates_in_handshake(&self) -> bool {
        self.challenge == acme::Challenge::TlsAlpn01
    }

    /// The answers the plain port gives to HTTP-01.
    pub fn challenges(&self) -> acme::Challenges {
        self.challenges.clone()
    }

    /// The line printed under the URL.
    pub fn banner(&self) -> String {
        format!(
            "Certificates for {} from {} (stored in the state directory; handshakes for a name fail until its certificate is issued)",
            self.domains.join(", "),
            self.directory
        )
    }

    /// Runs every manager on the server's first worker until shutdown: each orders when it has
    /// no certificate, renews at two thirds of the lifetime, backs off on failure, and every
    /// certificate it publishes goes into `resolver` for the next handshakes.
    pub fn spawn(self, server: &mut Server, resolver: Arc<tls::Resolver>) {
        for (index, manager) in self.managers.into_iter().enumerate() {
            let resolver = resolver.clone();
            server.spawn(move |shutdown: Shutdown| async move {
                let mut certs = manager.certificates();
                tokio::spawn(async move {
                    // Ends when the manager stops and drops its sender.
                    while certs.changed().await.is_ok() {
                        let issued = certs.borrow_and_update().clone();
                        if let Some(key) = issued {
                            resolver.install(index, key);
                        }
                    }
                });
                let mut shutdown = shutdown;
                manager.run(async move { shutdown.wait().await }).await;
            });
        }
    }
}

/// Answers HTTP-01 (RFC 8555 section 8.3) in front of a plain-HTTP service: `GET
/// /.well-known/acme-challenge/TOKEN` of a pending challenge gets its key authorization as
/// `text/plain`, before any redirect to HTTPS. Any other request, an unknown token included,
/// goes to the service, so files a site keeps under that path are still served (as Caddy does).
pub struct Http01<S> {
    pub inner: S,
    pub answers: Option<acme::Challenges>,
}

/// The answer is chosen before any future is made, and otherwise the service's own future is
/// returned as it is: a future of this layer's would hold the request a second time, and
/// copy it once more into the service's.
impl<S: Service> Service for Http01<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        if let Some(answers) = &self.answers
            && matches!(req.method().as_str(), "GET" | "HEAD")
            && let Some(token) = req.path().strip_prefix(acme::HTTP01_PATH_PREFIX)
            && let Some(key_authorization) = answers.http01(token)
        {
            let r = Response::with_body(StatusCode::OK, "text/plain", key_authorization);
            return Either::Left(std::future::ready(r));
        }
        Either::Right(self.inner.call(req))
    }

    fn options_asterisk(&self) -> Response {
        self.inner.options_asterisk()
    }
}
