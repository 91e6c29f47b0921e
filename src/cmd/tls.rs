//! What every HTTP server command shares for TLS: the `--tls-*` flags validated into a rustls
//! config, and binding plain HTTP, HTTPS or both (with the redirect and HSTS) for a service.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::{HeaderValue, StatusCode, header};
use server::{HttpConfig, Request, Response, Server, Service};

use crate::cli::TlsArgs;
use crate::cmd::acme::{AcmeSetup, Http01};
use crate::cmd::{CliError, announce, bind_error};

/// The validated TLS flags.
pub struct TlsSetup {
    config: Arc<server::rustls::ServerConfig>,
    https_port: Option<u16>,
    redirect: bool,
    hsts: Option<HeaderValue>,
    /// Set for `--tls-self-signed`: printed after the URL.
    fingerprint: Option<String>,
    /// `--acme`: the managers to run, and the resolver their certificates go into.
    acme: Option<(AcmeSetup, Arc<tls::Resolver>)>,
}

/// The TLS flags into a config, reading and checking every certificate and key now, so a bad
/// file is one line naming it before any socket opens. `None`: plain HTTP only.
pub fn tls_from_args(args: &TlsArgs) -> Result<Option<TlsSetup>, CliError> {
    let usage = |m: &str| Err(CliError::Usage(m.to_string()));
    if args.tls_cert.len() != args.tls_key.len() {
        return usage("give --tls-cert and --tls-key in pairs, one key for each certificate");
    }
    let files = !args.tls_cert.is_empty();
    let acme = crate::cmd::acme::from_args(args, args.https_port.is_some())?;
    if (files || acme.is_some()) && args.tls_self_signed {
        return usage("--tls-self-signed excludes --tls-cert and --acme; give one");
    }
    if !files && !args.tls_self_signed && acme.is_none() {
        return match (
            args.https_port,
            args.redirect_https,
            args.hsts,
            &args.tls_client_ca,
        ) {
            (None, false, None, None) => Ok(None),
            _ => usage(
                "--https-port, --redirect-https, --hsts and --tls-client-ca need --tls-cert/--tls-key, --acme or --tls-self-signed",
            ),
        };
    }
    if args.tls_client_ca.is_some() && args.tls_self_signed {
        return usage("--tls-client-ca needs --tls-cert/--tls-key or --acme");
    }
    if args.tls_client_ca.is_some() && acme.as_ref().is_some_and(|a| a.validates_in_handshake()) {
        // The CA's validation handshake carries no client certificate.
        return usage(
            "--tls-client-ca refuses the CA's TLS-ALPN-01 handshake: give --https-port so it validates over HTTP-01",
        );
    }
    if args.redirect_https && args.https_port.is_none() {
        return usage("--redirect-https needs --https-port (plain HTTP stays on -p)");
    }
    let (config, fingerprint, acme) = if files || acme.is_some() {
        let pairs: Vec<(_, _)> = args
            .tls_cert
            .iter()
            .cloned()
            .zip(args.tls_key.iter().cloned())
            .collect();
        let loaded = tls::load_pairs(&pairs).map_err(|e| CliError::Runtime(e.to_string()))?;
        let resolver = tls::Resolver::new(loaded);
        let resolver = Arc::new(match &acme {
            Some(acme) => acme.resolver(resolver),
            None => resolver,
        });
        let config = tls::server_config_with(resolver.clone(), args.tls_client_ca.as_deref())
            .map_err(|e| CliError::Runtime(e.to_string()))?;
        if files {
            reload_on_sighup(resolver.clone(), pairs)
                .map_err(|e| CliError::Runtime(format!("cannot watch for SIGHUP: {e}")))?;
        }
        (config, None, acme.map(|a| (a, resolver)))
    } else {
        let made = tls::self_signed().map_err(|e| CliError::Runtime(e.to_string()))?;
        (made.config, Some(made.fingerprint), None)
    };
    let hsts = args.hsts.map(|secs| {
        HeaderValue::from_str(&format!("max-age={secs}"))
            .unwrap_or(HeaderValue::from_static("max-age=0"))
    });
    Ok(Some(TlsSetup {
        config: Arc::new(config),
        https_port: args.https_port,
        redirect: args.redirect_https,
        hsts,
        fingerprint,
        acme,
    }))
}

/// How often the certificate and key files are checked for a change (their modification
/// times), so a renewed certificate is served without a signal; SIGHUP reloads at once.
const CERT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Re-reads the certificate and key files on every reload (SIGHUP, with the rest of the
/// configuration: a file that does not load fails the whole reload), and when their
/// modification times change, on a thread of its own. New handshakes get the new certificates;
/// open connections keep theirs. A file that no longer loads keeps the certificates in use and
/// logs why, as nginx keeps its old configuration when a reload fails.
fn reload_on_sighup(
    resolver: Arc<tls::Resolver>,
    files: Vec<(PathBuf, PathBuf)>,
) -> std::io::Result<()> {
    let (on_hup, hook_files) = (resolver.clone(), files.clone());
    crate::lifecycle::on_reload(
        "certificates",
        Box::new(move || {
            let pairs = tls::load_pairs(&hook_files).map_err(|e| e.to_string())?;
            let resolver = on_hup.clone();
            Ok(Box::new(move || resolver.replace(pairs)))
        }),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("sockserve-tls-reload".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut seen = modified(&files);
                let mut poll = tokio::time::interval(CERT_POLL);
                loop {
                    poll.tick().await;
                    let now = modified(&files);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    let why = "the files changed";
                    match tls::load_pairs(&files) {
                        Ok(pairs) => {
                            resolver.replace(pairs);
                            tracing::info!("{why}: certificates reloaded");
                        }
                        Err(e) => {
                            tracing::warn!("{why}: keeping the certificates in use: {e}");
                        }
                    }
                }
            })
        })?;
    Ok(())
}

/// The modification times of every certificate and key file (`None` for one unreadable now).
fn modified(files: &[(PathBuf, PathBuf)]) -> Vec<Option<std::time::SystemTime>> {
    files
        .iter()
        .flat_map(|(c, k)| [c, k])
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// What a server command prints once everything is bound: its URLs, HTTPS first so that the
/// first line names it, and a self-signed certificate's fingerprint.
#[must_use = "the banner is printed once every service is bound"]
pub struct Banner {
    urls: Vec<(&'static str, SocketAddr, Option<PathBuf>)>,
    fingerprint: Option<String>,
    /// What `--acme` does, under the first URL.
    acme: Option<String>,
}

impl Banner {
    /// Prints it: scripts read the first line, so only once everything listens.
    pub fn print(self) {
        for (i, (scheme, addr, served)) in self.urls.iter().enumerate() {
            announce(scheme, *addr, served.as_deref());
            if i == 0
                && let Some(fingerprint) = &self.fingerprint
            {
                println!(
                    "Self-signed certificate for localhost, 127.0.0.1 and ::1, SHA-256 fingerprint {fingerprint}"
                );
            }
            if i == 0
                && let Some(acme) = &self.acme
            {
                println!("{acme}");
            }
        }
    }
}

/// Binds `service` on `addr`: plain HTTP without TLS; HTTPS with it; with `--https-port`,
/// HTTPS there and plain HTTP (or the redirect to HTTPS) on `addr`.
pub fn bind<S: Service>(
    server: &mut Server,
    addr: SocketAddr,
    tls: Option<TlsSetup>,
    service: S,
    http: HttpConfig,
    served: Option<&Path>,
) -> Result<Banner, CliError> {
    let Some(tls) = tls else {
        let bound = server
            .http(addr, service, http)
            .map_err(|e| bind_error(addr, e))?;
        return Ok(Banner {
            urls: vec![("http", bound, served.map(Path::to_path_buf))],
            fingerprint: None,
            acme: None,
        });
    };
    match tls.hsts.clone() {
        Some(value) => bind_tls(
            server,
            addr,
            tls,
            Hsts {
                inner: service,
                value,
            },
            http,
            served,
        ),
        None => bind_tls(server, addr, tls, service, http, served),
    }
}

fn bind_tls<S: Service>(
    server: &mut Server,
    addr: SocketAddr,
    tls: TlsSetup,
    service: S,
    http: HttpConfig,
    served: Option<&Path>,
) -> Result<Banner, CliError> {
    let https_addr = tls
        .https_port
        .map_or(addr, |p| SocketAddr::new(addr.ip(), p));
    let service = Arc::new(service);
    let bound = server
        .https(
            https_addr,
            Shared(service.clone()),
            http.clone(),
            tls.config,
        )
        .map_err(|e| bind_error(https_addr, e))?;
    let mut banner = Banner {
        urls: vec![("https", bound, served.map(Path::to_path_buf))],
        fingerprint: tls.fingerprint,
        acme: tls.acme.as_ref().map(|(acme, _)| acme.banner()),
    };
    let http01 = tls.acme.as_ref().map(|(acme, _)| acme.challenges());
    if let Some((acme, resolver)) = tls.acme {
        acme.spawn(server, resolver);
    }
    if tls.https_port.is_some() {
        let plain = if tls.redirect {
            let inner = ToHttps { port: bound.port() };
            server.http(
                addr,
                Http01 {
                    inner,
                    answers: http01,
                },
                http,
            )
        } else {
            let inner = Shared(service);
            server.http(
                addr,
                Http01 {
                    inner,
                    answers: http01,
                },
                http,
            )
        };
        banner
            .urls
            .push(("http", plain.map_err(|e| bind_error(addr, e))?, None));
    }
    Ok(banner)
}

/// One service behind two listeners.
struct Shared<S>(Arc<S>);

impl<S: Service> Service for Shared<S> {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        self.0.call(req)
    }

    fn options_asterisk(&self) -> Response {
        self.0.options_asterisk()
    }
}

/// Adds `Strict-Transport-Security` to responses sent over TLS (RFC 6797 7.2: a server must
/// not send it over plain HTTP, where it would be ignored anyway).
struct Hsts<S> {
    inner: S,
    value: HeaderValue,
}

impl<S: Service> Service for Hsts<S> {
    async fn call(&self, req: Request) -> Response {
        let tls = req.conn.is_tls();
        let mut response = self.inner.call(req).await;
        if tls {
            response
                .headers
                .insert(header::STRICT_TRANSPORT_SECURITY, self.value.clone());
        }
        response
    }

    fn options_asterisk(&self) -> Response {
        self.inner.options_asterisk()
    }
}

/// `--redirect-https`: every plain request gets `308 Permanent Redirect` to the same target on
/// the HTTPS port (308 rather than 301 keeps the method and body, RFC 9110 15.4.9).
struct ToHttps {
    port: u16,
}

impl Service for ToHttps {
    async fn call(&self, req: Request) -> Response {
        let host = req
            .headers()
            .get("host")
            .and_then(|h| h.to_str().ok())
            .map(host_without_port)
            .map_or_else(|| authority(req.conn.local), str::to_string);
        let port = if self.port == 443 {
            String::new()
        } else {
            format!(":{}", self.port)
        };
        let target = req.head.target.path_and_query();
        let location = format!("https://{host}{port}{target}");
        let mut response = Response::new(StatusCode::PERMANENT_REDIRECT);
        match HeaderValue::from_str(&location) {
            Ok(v) => response.headers.insert(header::LOCATION, v),
            Err(_) => return Response::error(StatusCode::BAD_REQUEST),
        }
        response
    }
}

/// `example.com` of `example.com:80`, `[::1]` of `[::1]:80`.
fn host_without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if !host[i..].contains(']') => &host[..i],
        _ => host,
    }
}

fn authority(addr: SocketAddr) -> String {
    match addr.ip().to_canonical() {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_host_keeps_ipv6_brackets() {
        assert_eq!(host_without_port("a.test:8080"), "a.test");
        assert_eq!(host_without_port("a.test"), "a.test");
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
    }
}
