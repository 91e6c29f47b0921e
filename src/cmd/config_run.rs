//! `sockserve check FILE` and `sockserve --config FILE`: validate a configuration file, and
//! run it, reading it again on SIGHUP.
//!
//! A reload validates the whole file and builds every site before anything changes; then the
//! new sites are swapped in at once. Requests in flight finish on the sites they started with.
//! A file with mistakes logs every one and keeps the sites in use, as nginx keeps its old
//! configuration. Listeners that stay are never rebound; a `[[listen]]` added is bound, its
//! certificates loaded (before anything switches), then started; one removed stops accepting
//! and drains. The `acme` names are read at start-up: a reload keeps the certificates being
//! managed, and a listener it adds may serve those names but not new ones (that takes a
//! restart, and the reload is refused saying so). What a listener was started as (plain or
//! TLS, where its certificates come from, its client CA and HSTS) is fixed while it listens:
//! a reload that changes it at the same address is refused, naming the address; the
//! certificate files of a listener that keeps them are read again.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::HeaderValue;

use crate::cli::{HttpArgs, LogFormat};
use crate::cmd::acme::{AcmeSetup, Http01};
use crate::cmd::config_logs::{Opened, SiteLogs};
use crate::cmd::config_service::{ConfigService, Sites, build};
use crate::cmd::{CliError, CmdResult, announce, bind_error, http_config, run_server};

/// `sockserve check FILE`: exit 0 and say so, or print every mistake and exit 1.
pub fn check(file: &Path) -> CmdResult {
    match load(file) {
        Ok((config, _)) => {
            let routes: usize = config.sites.iter().map(|s| s.routes.len()).sum();
            println!(
                "{}: ok ({} listener{}, {} site{}, {routes} route{})",
                file.display(),
                config.listen.len(),
                plural(config.listen.len()),
                config.sites.len(),
                plural(config.sites.len()),
                plural(routes),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(messages) => {
            for m in messages {
                eprintln!("{m}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Reads, validates and builds `file`: the configuration and its running sites, or every
/// mistake as a `FILE:LINE:COL: message` line. What a reload calls.
pub fn load(file: &Path) -> Result<(config::Config, Sites), Vec<String>> {
    let config = config::Config::load(file).map_err(|d| {
        d.to_string()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    })?;
    let sites = build(&config).map_err(|e| vec![format!("{}: {e}", file.display())])?;
    Ok((config, sites))
}

/// The running sites of a configuration file and how to read it again.
#[derive(Clone)]
pub struct Reloader {
    file: PathBuf,
    /// What every listener's service reads per request.
    pub sites: Arc<ArcSwap<Sites>>,
    /// Each `[[listen]]` as written, as bound, and what it was started as, as the last reload
    /// left them.
    listen: Arc<std::sync::Mutex<Vec<(SocketAddr, SocketAddr, Started)>>>,
    /// The certificate resolver of each TLS listener with files, by its address as written.
    certificates: Arc<std::sync::Mutex<Vec<Certificates>>>,
    /// The names managed by ACME since start-up, and the rustls config that serves them.
    acme: Option<(Vec<String>, Arc<server::rustls::ServerConfig>)>,
    control: server::Control,
    http: server::HttpConfig,
    /// The HTTP-01 answers a plain listener gives, with `acme`.
    http01: Option<acme::Challenges>,
    /// The sites' own access logs.
    site_logs: Arc<SiteLogs>,
}

/// A TLS listener's address as written, and the resolver its certificate files go into.
type Certificates = (SocketAddr, Arc<tls::Resolver>);

/// What a listener is started as, which it keeps while it listens: its TLS settings are in
/// the handshake configuration and its service from the start. Only the certificate files'
/// contents (and paths) can change under it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Started {
    Plain,
    Files {
        client_ca: Option<PathBuf>,
        hsts: Option<u64>,
    },
    SelfSigned {
        hsts: Option<u64>,
    },
    /// Its names may change among those managed since start-up ([`Reloader::managed`]).
    Acme,
}

impl Started {
    fn of(listen: &config::Listen) -> Started {
        match &listen.tls {
            None => Started::Plain,
            Some(config::Tls::Files {
                client_ca, hsts, ..
            }) => Started::Files {
                client_ca: client_ca.clone(),
                hsts: *hsts,
            },
            Some(config::Tls::SelfSigned { hsts }) => Started::SelfSigned { hsts: *hsts },
            Some(config::Tls::Acme { .. }) => Started::Acme,
        }
    }

    /// How the reload's message names it.
    fn describe(&self) -> String {
        let hsts = |h: &Option<u64>| h.map_or(String::new(), |s| format!(", hsts {s}"));
        match self {
            Started::Plain => "plain HTTP".to_string(),
            Started::Files { client_ca, hsts: h } => format!(
                "TLS from files{}{}",
                client_ca
                    .as_ref()
                    .map_or(String::new(), |ca| format!(", client CA {}", ca.display())),
                hsts(h)
            ),
            Started::SelfSigned { hsts: h } => format!("TLS self-signed{}", hsts(h)),
            Started::Acme => "TLS by ACME".to_string(),
        }
    }
}

/// The listeners `config` keeps at their address but would start as something else: one
/// message each, as a reload refuses them.
fn changed_in_place(
    old: &[(SocketAddr, SocketAddr, Started)],
    config: &config::Config,
) -> Vec<String> {
    config
        .listen
        .iter()
        .filter_map(|l| {
            let (_, _, was) = old.iter().find(|(w, _, _)| *w == l.addr)?;
            let now = Started::of(l);
            (*was != now).then(|| {
                format!(
                    "{}: this listener was started as {} and is now {}: that takes a restart \
                     (`sockserve upgrade` keeps the connections), or a listener at another address",
                    l.addr,
                    was.describe(),
                    now.describe()
                )
            })
        })
        .collect()
}

impl Reloader {
    /// Reads the file and every certificate again and returns the switch to them; on any
    /// mistake, nothing changes and every mistake is returned.
    pub fn prepare(&self) -> Result<crate::lifecycle::Commit, Vec<String>> {
        let (config, sites) = load(&self.file)?;
        let logs = Opened::open(&config, Some(&self.site_logs.current())).map_err(|e| vec![e])?;
        let old = self
            .listen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let changed = changed_in_place(&old, &config);
        if !changed.is_empty() {
            return Err(changed);
        }
        let removed: Vec<(SocketAddr, SocketAddr)> = old
            .iter()
            .filter(|(written, _, _)| !config.listen.iter().any(|l| l.addr == *written))
            .map(|(written, bound, _)| (*written, *bound))
            .collect();
        let all = file_pairs(&config);
        let mut added = Vec::new();
        for l in &config.listen {
            if let Some(config::Tls::Acme { domains }) = &l.tls {
                self.managed(l.addr, domains)?;
            }
        }
        for l in config
            .listen
            .iter()
            .filter(|l| !old.iter().any(|(w, _, _)| *w == l.addr))
        {
            let acme = self.acme.as_ref().map(|(_, c)| c);
            let tls = tls_for(l, &all, acme).map_err(|e| vec![format!("{}: {e}", l.addr)])?;
            let pending = self
                .control
                .bind(l.addr)
                .map_err(|e| vec![format!("cannot listen on {}: {e}", l.addr)])?;
            added.push((l.addr, pending, tls, Started::of(l)));
        }
        // The listeners that stay read their files again, with every TLS listener's for SNI.
        let mut certificates = Vec::new();
        for (written, resolver) in lock(&self.certificates).iter() {
            let own = config.listen.iter().find(|l| l.addr == *written);
            let Some(config::Tls::Files { cert, key, .. }) = own.and_then(|l| l.tls.as_ref())
            else {
                continue;
            };
            let pairs = pairs_for((cert.clone(), key.clone()), &all);
            let loaded = tls::load_pairs(&pairs).map_err(|e| vec![e.to_string()])?;
            certificates.push((resolver.clone(), loaded));
        }
        let slot = self.sites.clone();
        let site_logs = self.site_logs.clone();
        let (control, http, listen, http01, resolvers) = (
            self.control.clone(),
            self.http.clone(),
            self.listen.clone(),
            self.http01.clone(),
            self.certificates.clone(),
        );
        Ok(Box::new(move || {
            slot.store(Arc::new(sites));
            site_logs.replace(logs);
            for (resolver, loaded) in certificates {
                resolver.replace(loaded);
            }
            let mut listen = listen.lock().unwrap_or_else(|e| e.into_inner());
            for (written, bound) in removed {
                control.close(bound);
                listen.retain(|(w, _, _)| *w != written);
                lock(&resolvers).retain(|(w, _)| *w != written);
                tracing::info!(addr = %bound, "listener removed; draining its connections");
            }
            for (written, pending, tls, started) in added {
                let bound = pending.addr();
                let sites = slot.clone();
                let scheme = match tls {
                    None => {
                        let inner = ConfigService {
                            sites,
                            hsts: None,
                            metrics: http.metrics,
                        };
                        let answers = http01.clone();
                        control.start_http(pending, Http01 { inner, answers }, http.clone());
                        "http"
                    }
                    Some(tls) => {
                        let service = ConfigService {
                            sites,
                            hsts: tls.hsts,
                            metrics: http.metrics,
                        };
                        control.start_https(pending, service, http.clone(), tls.config);
                        if let Some(resolver) = tls.resolver {
                            lock(&resolvers).push((written, resolver));
                        }
                        "https"
                    }
                };
                listen.push((written, bound, started));
                tracing::info!(addr = %bound, scheme, "listener added");
            }
        }))
    }

    /// Refuses an `acme` listener (added by a reload, or given other names) unless its names
    /// are managed already.
    fn managed(&self, addr: SocketAddr, domains: &[String]) -> Result<(), Vec<String>> {
        let known = self.acme.as_ref().map_or(&[][..], |(names, _)| &names[..]);
        let new: Vec<&str> = domains
            .iter()
            .filter(|d| !known.iter().any(|k| k.eq_ignore_ascii_case(d)))
            .map(String::as_str)
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        Err(vec![format!(
            "{addr}: `acme` names not managed since start-up ({}) take a restart: certificates \
             are ordered for the names read when the server starts",
            new.join(", ")
        )])
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The certificate files of every TLS listener, in file order.
fn file_pairs(config: &config::Config) -> Vec<(PathBuf, PathBuf)> {
    config
        .listen
        .iter()
        .filter_map(|l| match &l.tls {
            Some(config::Tls::Files { cert, key, .. }) => Some((cert.clone(), key.clone())),
            _ => None,
        })
        .collect()
}

/// A listener's own pair first (its default certificate), then every other listener's.
fn pairs_for(own: (PathBuf, PathBuf), all: &[(PathBuf, PathBuf)]) -> Vec<(PathBuf, PathBuf)> {
    let mut pairs = vec![own.clone()];
    pairs.extend(all.iter().filter(|p| **p != own).cloned());
    pairs
}

/// `sockserve --config FILE`.
pub fn run(file: &Path, ops: &HttpArgs) -> CmdResult {
    let (config, sites) = load(file).map_err(|m| CliError::Runtime(m.join("\n")))?;
    // The operations flags (admin, pid file, logs, overload) come from the command line.
    let args = HttpArgs {
        admin: ops.admin,
        pid_file: ops.pid_file.clone(),
        log_level: ops.log_level,
        log_json: ops.log_json,
        overload: ops.overload,
        ..http_args(&config.server)
    };
    crate::cmd::init_logs(&args);
    let (runtime, mut http) = http_config(&args)?;
    let site_logs = Arc::new(SiteLogs::new(
        Opened::open(&config, None).map_err(CliError::Runtime)?,
    ));
    http.access_log = site_logs.attach(http.access_log.take());
    if http.access_log.is_some() {
        // Reopened on USR1 and flushed on a second signal with the server's own log.
        crate::lifecycle::flush_at_exit(server::AccessLog::off().with_sites(site_logs.clone()));
    }
    let sites = Arc::new(ArcSwap::from_pointee(sites));
    let mut server = crate::cmd::new_server(runtime)?;
    crate::cmd::admin::check_config_databases(&server, sites.clone());
    let mut urls = Vec::new();
    let mut listen_bound = Vec::new();
    let mut certificates = Vec::new();
    let all_pairs = file_pairs(&config);
    let acme = acme_for(&config, &all_pairs)?;
    let http01 = acme.as_ref().map(|a| a.setup.challenges());
    for listen in &config.listen {
        let tls = tls_for(listen, &all_pairs, acme.as_ref().map(|a| &a.config))
            .map_err(CliError::Runtime)?;
        let service = |hsts| ConfigService {
            sites: sites.clone(),
            hsts,
            metrics: http.metrics,
        };
        let mut fingerprint = None;
        let bound = match tls {
            None => {
                let service = Http01 {
                    inner: service(None),
                    answers: http01.clone(),
                };
                server.http(listen.addr, service, http.clone())
            }
            Some(tls) => {
                fingerprint = tls.fingerprint;
                if let Some(resolver) = tls.resolver {
                    certificates.push((listen.addr, resolver));
                }
                server.https(listen.addr, service(tls.hsts), http.clone(), tls.config)
            }
        }
        .map_err(|e| bind_error(listen.addr, e))?;
        listen_bound.push((listen.addr, bound, Started::of(listen)));
        let scheme = if listen.tls.is_some() {
            "https"
        } else {
            "http"
        };
        urls.push((scheme, bound, fingerprint));
    }
    let managed = acme.as_ref().map(|a| (a.domains.clone(), a.config.clone()));
    let banner = acme.map(|a| {
        let banner = a.setup.banner();
        a.setup.spawn(&mut server, a.resolver);
        banner
    });
    let reloader = Reloader {
        http01,
        file: file.to_path_buf(),
        sites,
        listen: Arc::new(std::sync::Mutex::new(listen_bound)),
        certificates: Arc::new(std::sync::Mutex::new(certificates)),
        acme: managed,
        control: server.control(),
        http: http.clone(),
        site_logs,
    };
    crate::lifecycle::on_reload(
        "configuration",
        Box::new(move || reloader.prepare().map_err(|m| m.join("\n"))),
    );
    for (i, (scheme, bound, fingerprint)) in urls.into_iter().enumerate() {
        announce(scheme, bound, None);
        if i == 0
            && let Some(b) = &banner
        {
            println!("{b}");
        }
        if let Some(f) = fingerprint {
            println!(
                "Self-signed certificate for localhost, 127.0.0.1 and ::1, SHA-256 fingerprint {f}"
            );
        }
    }
    run_server(server, crate::cmd::Ops::from_args(&args))
}

/// What a TLS listener serves with.
struct ListenerTls {
    config: Arc<server::rustls::ServerConfig>,
    /// `Strict-Transport-Security` on its answers.
    hsts: Option<HeaderValue>,
    /// The SHA-256 of a certificate made at start-up, to print.
    fingerprint: Option<String>,
    /// A listener with certificate files: its resolver, given the files again on reload.
    resolver: Option<Arc<tls::Resolver>>,
}

/// A listener's rustls config (`None` for plain HTTP): its own certificate by default, and
/// SNI choosing among the certificates of every TLS listener by the names in them; `acme` is
/// the config serving the managed names.
fn tls_for(
    listen: &config::Listen,
    all: &[(PathBuf, PathBuf)],
    acme: Option<&Arc<server::rustls::ServerConfig>>,
) -> Result<Option<ListenerTls>, String> {
    let hsts_value =
        |secs: &Option<u64>| secs.and_then(|s| HeaderValue::from_str(&format!("max-age={s}")).ok());
    let tls = match &listen.tls {
        None => return Ok(None),
        Some(config::Tls::Files {
            cert,
            key,
            client_ca,
            hsts,
        }) => {
            let pairs = pairs_for((cert.clone(), key.clone()), all);
            let loaded = tls::load_pairs(&pairs).map_err(|e| e.to_string())?;
            let resolver = Arc::new(tls::Resolver::new(loaded));
            let config = tls::server_config_with(resolver.clone(), client_ca.as_deref())
                .map_err(|e| e.to_string())?;
            ListenerTls {
                config: Arc::new(config),
                hsts: hsts_value(hsts),
                fingerprint: None,
                resolver: Some(resolver),
            }
        }
        Some(config::Tls::SelfSigned { hsts }) => {
            let made = tls::self_signed().map_err(|e| e.to_string())?;
            ListenerTls {
                config: Arc::new(made.config),
                hsts: hsts_value(hsts),
                fingerprint: Some(made.fingerprint),
                resolver: None,
            }
        }
        Some(config::Tls::Acme { .. }) => match acme {
            Some(config) => ListenerTls {
                config: config.clone(),
                hsts: None,
                fingerprint: None,
                resolver: None,
            },
            None => return Err("a listener with `acme` and no [acme] settings".into()),
        },
    };
    Ok(Some(tls))
}

/// The certificates of every listener's `acme` names, managed as `--acme` manages them: one
/// resolver and one rustls config shared by the listeners with `acme` (SNI picks among the
/// managed names and the files of the other TLS listeners).
struct ConfigAcme {
    setup: AcmeSetup,
    /// The names managed.
    domains: Vec<String>,
    resolver: Arc<tls::Resolver>,
    config: Arc<server::rustls::ServerConfig>,
}

/// `[acme]` and the listeners' `acme` names said as the `--acme*` flags, so both take the
/// same path (crate::cmd::acme); `None` when no listener has `acme`.
fn acme_for(
    config: &config::Config,
    files: &[(PathBuf, PathBuf)],
) -> Result<Option<ConfigAcme>, CliError> {
    let Some(settings) = &config.acme else {
        return Ok(None);
    };
    let mut domains: Vec<String> = Vec::new();
    for l in &config.listen {
        if let Some(config::Tls::Acme { domains: names }) = &l.tls {
            for d in names {
                // The same name on two listeners ([::]:443 and 0.0.0.0:443) is one certificate.
                if !domains.iter().any(|x| x.eq_ignore_ascii_case(d)) {
                    domains.push(d.clone());
                }
            }
        }
    }
    let plain = config.listen.iter().any(|l| l.tls.is_none());
    let args = crate::cli::TlsArgs {
        tls_cert: Vec::new(),
        tls_key: Vec::new(),
        tls_self_signed: false,
        https_port: None,
        redirect_https: false,
        tls_client_ca: None,
        hsts: None,
        acme: domains.clone(),
        acme_directory: settings.directory.clone(),
        acme_email: settings.email.clone(),
        acme_ca: settings.ca.clone(),
        acme_state: settings.state.clone(),
        acme_challenge: settings.challenge.map(|c| match c {
            config::AcmeChallenge::Http01 => crate::cli::AcmeChallenge::Http01,
            config::AcmeChallenge::TlsAlpn01 => crate::cli::AcmeChallenge::TlsAlpn01,
        }),
        acme_retry: settings.retry,
    };
    let Some(setup) = crate::cmd::acme::from_args(&args, plain)? else {
        return Ok(None);
    };
    let loaded = tls::load_pairs(files).map_err(|e| CliError::Runtime(e.to_string()))?;
    let resolver = Arc::new(setup.resolver(tls::Resolver::new(loaded)));
    let tls_config = tls::server_config_with(resolver.clone(), None)
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    Ok(Some(ConfigAcme {
        setup,
        domains,
        resolver,
        config: Arc::new(tls_config),
    }))
}

/// `[server]` as the global flags would have said it, so both paths validate alike.
fn http_args(s: &config::Server) -> HttpArgs {
    let secs = |d: Option<std::time::Duration>, default: std::time::Duration| {
        d.unwrap_or(default).as_secs_f64()
    };
    HttpArgs {
        threads: s.threads,
        max_connections: s.max_connections.unwrap_or(server::config::MAX_CONNECTIONS),
        head_timeout: secs(s.head_timeout, server::config::HEAD_TIMEOUT),
        body_timeout: secs(s.body_timeout, server::config::BODY_TIMEOUT),
        idle_timeout: secs(s.idle_timeout, server::config::IDLE_TIMEOUT),
        write_timeout: secs(s.write_timeout, server::config::WRITE_TIMEOUT),
        grace: secs(s.grace, server::config::GRACE_PERIOD),
        max_body_size: s.max_body_size.unwrap_or(http1::limits::MAX_BODY_SIZE),
        max_header_size: s.max_header_size.unwrap_or(http1::limits::MAX_HEAD_SIZE),
        max_headers: s.max_headers.unwrap_or(http1::limits::MAX_HEADERS),
        max_request_line: s
            .max_request_line
            .unwrap_or(http1::limits::MAX_REQUEST_LINE),
        no_http2: !s.http2,
        access_log: s.access_log.clone(),
        log_format: match s.log_format {
            config::LogFormat::Common => LogFormat::Common,
            config::LogFormat::Combined => LogFormat::Combined,
            config::LogFormat::Json => LogFormat::Json,
        },
        quiet: s.quiet,
        log_level: None,
        log_json: false,
        admin: None,
        overload: crate::cli::OverloadMode::Wait,
        pid_file: None,
    }
}
