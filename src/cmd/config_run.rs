//! `sockserve check FILE` and `sockserve --config FILE`: validate a configuration file, and
//! run it, reading it again on SIGHUP.
//!
//! A reload validates the whole file and builds every site before anything changes; then the
//! new sites are swapped in at once. Requests in flight finish on the sites they started with.
//! A file with mistakes logs every one and keeps the sites in use, as nginx keeps its old
//! configuration. Listeners that stay are never rebound; a plain `[[listen]]` added is bound
//! (before anything switches) and started, one removed stops accepting and drains; a TLS one
//! added is reported and needs a restart (or the handover of `sockserve reload`/upgrade).
//! The `acme` names are read at start-up: a reload keeps the certificates being managed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use arc_swap::ArcSwap;
use http::HeaderValue;

use crate::cli::{HttpArgs, LogFormat};
use crate::cmd::acme::{AcmeSetup, Http01};
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
    /// Each `[[listen]]` as written and as bound, as the last reload left them.
    listen: Arc<std::sync::Mutex<Vec<(SocketAddr, SocketAddr)>>>,
    certificates: Vec<Certificates>,
    control: server::Control,
    http: server::HttpConfig,
    /// The HTTP-01 answers a plain listener gives, with `acme`.
    http01: Option<acme::Challenges>,
}

/// A TLS listener's certificate resolver and the files it was loaded from.
type Certificates = (Arc<tls::Resolver>, Vec<(PathBuf, PathBuf)>);

impl Reloader {
    /// Reads the file and every certificate again and returns the switch to them; on any
    /// mistake, nothing changes and every mistake is returned.
    pub fn prepare(&self) -> Result<crate::lifecycle::Commit, Vec<String>> {
        let (config, sites) = load(&self.file)?;
        let old = self
            .listen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let removed: Vec<(SocketAddr, SocketAddr)> = old
            .iter()
            .filter(|(written, _)| !config.listen.iter().any(|l| l.addr == *written))
            .copied()
            .collect();
        let mut added = Vec::new();
        for l in config
            .listen
            .iter()
            .filter(|l| !old.iter().any(|(w, _)| *w == l.addr))
        {
            if l.tls.is_some() {
                tracing::warn!(addr = %l.addr, "a TLS listener added by a reload needs a restart or upgrade");
                continue;
            }
            let pending = self
                .control
                .bind(l.addr)
                .map_err(|e| vec![format!("cannot listen on {}: {e}", l.addr)])?;
            added.push((l.addr, pending));
        }
        let mut certificates = Vec::new();
        for (resolver, pairs) in &self.certificates {
            let loaded = tls::load_pairs(pairs).map_err(|e| vec![e.to_string()])?;
            certificates.push((resolver.clone(), loaded));
        }
        let slot = self.sites.clone();
        let (control, http, listen, http01) = (
            self.control.clone(),
            self.http.clone(),
            self.listen.clone(),
            self.http01.clone(),
        );
        Ok(Box::new(move || {
            slot.store(Arc::new(sites));
            for (resolver, loaded) in certificates {
                resolver.replace(loaded);
            }
            let mut listen = listen.lock().unwrap_or_else(|e| e.into_inner());
            for (written, bound) in removed {
                control.close(bound);
                listen.retain(|(w, _)| *w != written);
                tracing::info!(addr = %bound, "listener removed; draining its connections");
            }
            for (written, pending) in added {
                let bound = pending.addr();
                let service = Http01 {
                    inner: ConfigService {
                        sites: slot.clone(),
                        hsts: None,
                    },
                    answers: http01.clone(),
                };
                control.start_http(pending, service, http.clone());
                listen.push((written, bound));
                tracing::info!(addr = %bound, "listener added");
            }
        }))
    }
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
    let (runtime, http) = http_config(&args)?;
    let sites = Arc::new(ArcSwap::from_pointee(sites));
    let mut server = crate::cmd::new_server(runtime)?;
    let mut urls = Vec::new();
    let mut listen_bound = Vec::new();
    let mut certificates = Vec::new();
    let all_pairs: Vec<(PathBuf, PathBuf)> = config
        .listen
        .iter()
        .filter_map(|l| match &l.tls {
            Some(config::Tls::Files { cert, key, .. }) => Some((cert.clone(), key.clone())),
            _ => None,
        })
        .collect();
    let acme = acme_for(&config, &all_pairs)?;
    let http01 = acme.as_ref().map(|a| a.setup.challenges());
    for listen in &config.listen {
        let (tls, hsts, fingerprint) =
            tls_for(listen, &all_pairs, &mut certificates, acme.as_ref())?;
        let service = ConfigService {
            sites: sites.clone(),
            hsts,
        };
        let bound = match tls {
            None => {
                let service = Http01 {
                    inner: service,
                    answers: http01.clone(),
                };
                server.http(listen.addr, service, http.clone())
            }
            Some(tls) => server.https(listen.addr, service, http.clone(), tls),
        }
        .map_err(|e| bind_error(listen.addr, e))?;
        listen_bound.push((listen.addr, bound));
        let scheme = if listen.tls.is_some() {
            "https"
        } else {
            "http"
        };
        urls.push((scheme, bound, fingerprint));
    }
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
        certificates,
        control: server.control(),
        http: http.clone(),
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

type TlsParts = (
    Option<Arc<server::rustls::ServerConfig>>,
    Option<HeaderValue>,
    Option<String>,
);

/// A listener's rustls config: its own certificate by default, and SNI choosing among the
/// certificates of every TLS listener by the names in them.
fn tls_for(
    listen: &config::Listen,
    all: &[(PathBuf, PathBuf)],
    certificates: &mut Vec<Certificates>,
    acme: Option<&ConfigAcme>,
) -> Result<TlsParts, CliError> {
    let hsts_value =
        |secs: &Option<u64>| secs.and_then(|s| HeaderValue::from_str(&format!("max-age={s}")).ok());
    match &listen.tls {
        None => Ok((None, None, None)),
        Some(config::Tls::Files {
            cert,
            key,
            client_ca,
            hsts,
        }) => {
            let own = (cert.clone(), key.clone());
            let mut pairs = vec![own.clone()];
            pairs.extend(all.iter().filter(|p| **p != own).cloned());
            let loaded = tls::load_pairs(&pairs).map_err(|e| CliError::Runtime(e.to_string()))?;
            let resolver = Arc::new(tls::Resolver::new(loaded));
            let config = tls::server_config_with(resolver.clone(), client_ca.as_deref())
                .map_err(|e| CliError::Runtime(e.to_string()))?;
            certificates.push((resolver, pairs));
            Ok((Some(Arc::new(config)), hsts_value(hsts), None))
        }
        Some(config::Tls::SelfSigned { hsts }) => {
            let made = tls::self_signed().map_err(|e| CliError::Runtime(e.to_string()))?;
            Ok((
                Some(Arc::new(made.config)),
                hsts_value(hsts),
                Some(made.fingerprint),
            ))
        }
        Some(config::Tls::Acme { .. }) => match acme {
            Some(a) => Ok((Some(a.config.clone()), None, None)),
            None => Err(CliError::Runtime(
                "a listener with `acme` and no [acme] settings".into(),
            )),
        },
    }
}

/// The certificates of every listener's `acme` names, managed as `--acme` manages them: one
/// resolver and one rustls config shared by the listeners with `acme` (SNI picks among the
/// managed names and the files of the other TLS listeners).
struct ConfigAcme {
    setup: AcmeSetup,
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
        acme: domains,
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
