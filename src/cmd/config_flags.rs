//! `sockserve config-from-flags ARGS` and `--print-config`: the configuration file a command
//! line amounts to. `serve DIR --cgi -p 9000` is one listener, one site, one `files` route;
//! running the printed file with `--config` serves the same. Paths are written absolute, so
//! the file means the same wherever it is saved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use config::raw::{
    AcmeRaw, AuthRaw, CacheRaw, CgiRaw, CorsRaw, DemoRaw, FilesRaw, HeadersRaw, ListenRaw,
    RouteRaw, RulesRaw, ServerRaw, SiteRaw, TlsRaw, UploadRaw,
};
use serde::Serialize;
use toml::Spanned;

use crate::cli::{Cli, Command, DEFAULT_DB, DEFAULT_PORT, HttpArgs, LogFormat, ServeArgs, TlsArgs};
use crate::cmd::{CliError, CmdResult};

/// The printed document: `[server]`, then `[[listen]]`, then `[[site]]` with its routes.
#[derive(Serialize)]
struct Doc {
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<ServerRaw>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acme: Option<Spanned<AcmeRaw>>,
    listen: Vec<ListenRaw>,
    site: Vec<SiteOut>,
}

#[derive(Serialize)]
struct SiteOut {
    #[serde(flatten)]
    site: SiteRaw,
    route: Vec<RouteRaw>,
}

/// `config-from-flags ARGS`: parses ARGS as a sockserve command line and prints its file.
pub fn from_args(args: &[String]) -> CmdResult {
    let argv = std::iter::once("sockserve".to_string()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(argv).map_err(|e| {
        let text = e.render().to_string();
        CliError::Usage(
            text.lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string(),
        )
    })?;
    print(cli)
}

/// Prints the file `cli` amounts to.
pub fn print(cli: Cli) -> CmdResult {
    print!("{}", to_toml(cli)?);
    Ok(ExitCode::SUCCESS)
}

fn span<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

fn abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The file for a parsed command line.
pub fn to_toml(cli: Cli) -> Result<String, CliError> {
    let none = |what: &str| {
        CliError::Usage(format!(
            "{what} has no configuration-file form; only `serve` and the demo site do"
        ))
    };
    let (port, route) = match cli.command {
        None => {
            if cli.daytime.is_some() {
                return Err(none("--daytime"));
            }
            let db = cli.db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
            let route = RouteRaw {
                demo: Some(span(DemoRaw {
                    db: Some(span(abs(&db))),
                })),
                ..route("/")
            };
            (
                cli.listen.port_or(DEFAULT_PORT),
                (route, RulesRaw::default()),
            )
        }
        Some(Command::Serve(args)) => {
            let (dir, port) = crate::cmd::serve::target(&args, cli.listen.port)?;
            (port, serve_route(&args, &dir)?)
        }
        Some(Command::Tcp(_)) => return Err(none("`tcp`")),
        Some(Command::Daytime(_)) => return Err(none("`daytime`")),
        Some(Command::Get(_)) => return Err(none("`get`")),
        Some(Command::Reload) => return Err(none("`reload`")),
        Some(Command::Migrate(_)) => return Err(none("`migrate`")),
        Some(Command::Upgrade) => return Err(none("`upgrade`")),
        Some(Command::Check(_) | Command::ConfigFromFlags(_)) => {
            return Err(none("this command"));
        }
    };
    let (mut route, rules) = route;
    route.put_rules(rules);
    let listen = listeners(&cli.tls, cli.listen.bind, port)?;
    let doc = Doc {
        server: server(&cli.http),
        acme: acme(&cli.tls)?,
        listen,
        site: vec![SiteOut {
            site: SiteRaw::default(),
            route: vec![route],
        }],
    };
    toml::to_string(&doc).map_err(|e| CliError::Runtime(format!("cannot print the file: {e}")))
}

fn route(path: &str) -> RouteRaw {
    RouteRaw {
        path: span(path.to_string()),
        files: None,
        cgi: None,
        demo: None,
        redirect: None,
        respond: None,
        headers: None,
        cors: None,
        cache: None,
        limits: None,
        allow: None,
        deny: None,
        rate: None,
        auth: None,
    }
}

/// `[server]` with only what differs from the defaults; `None` when nothing does.
fn server(h: &HttpArgs) -> Option<ServerRaw> {
    let secs = |v: f64, default: std::time::Duration| (v != default.as_secs_f64()).then(|| span(v));
    let differs = |v: usize, default: usize| (v != default).then(|| span(v as u64));
    let s = ServerRaw {
        threads: h.threads.map(|t| span(t as u64)),
        max_connections: differs(h.max_connections, server::config::MAX_CONNECTIONS),
        head_timeout: secs(h.head_timeout, server::config::HEAD_TIMEOUT),
        body_timeout: secs(h.body_timeout, server::config::BODY_TIMEOUT),
        idle_timeout: secs(h.idle_timeout, server::config::IDLE_TIMEOUT),
        write_timeout: secs(h.write_timeout, server::config::WRITE_TIMEOUT),
        grace: secs(h.grace, server::config::GRACE_PERIOD),
        max_body_size: (h.max_body_size != http1::limits::MAX_BODY_SIZE)
            .then(|| span(h.max_body_size)),
        max_header_size: differs(h.max_header_size, http1::limits::MAX_HEAD_SIZE),
        max_headers: differs(h.max_headers, http1::limits::MAX_HEADERS),
        max_request_line: differs(h.max_request_line, http1::limits::MAX_REQUEST_LINE),
        http2: h.no_http2.then_some(false),
        access_log: h.access_log.as_deref().map(|p| span(abs(p))),
        log_format: match h.log_format {
            LogFormat::Common => None,
            LogFormat::Combined => Some(span("combined".to_string())),
            LogFormat::Json => Some(span("json".to_string())),
        },
        quiet: h.quiet.then_some(true),
        unknown_host: None,
    };
    let empty = toml::to_string(&s)
        .map(|t| t.trim().is_empty())
        .unwrap_or(false);
    (!empty).then_some(s)
}

/// The listeners: plain HTTP on `-p`; with TLS, HTTPS there, or on `--https-port` beside it.
fn listeners(t: &TlsArgs, bind: std::net::IpAddr, port: u16) -> Result<Vec<ListenRaw>, CliError> {
    let addr = |port: u16| span(std::net::SocketAddr::new(bind, port).to_string());
    if t.redirect_https {
        return Err(CliError::Usage(
            "--redirect-https has no configuration-file form yet; use a redirect route".into(),
        ));
    }
    if t.tls_cert.len() > 1 {
        return Err(CliError::Usage(
            "several --tls-cert pairs have no configuration-file form yet: one per listener".into(),
        ));
    }
    if !t.acme.is_empty() {
        return acme_listeners(t, &addr, port);
    }
    let tls = if let (Some(cert), Some(key)) = (t.tls_cert.first(), t.tls_key.first()) {
        Some(TlsRaw {
            cert: Some(span(abs(cert))),
            key: Some(span(abs(key))),
            client_ca: t.tls_client_ca.as_deref().map(|p| span(abs(p))),
            hsts: t.hsts,
            self_signed: false,
        })
    } else if t.tls_self_signed {
        Some(TlsRaw {
            self_signed: true,
            hsts: t.hsts,
            ..TlsRaw::default()
        })
    } else {
        None
    };
    let Some(tls) = tls else {
        return Ok(vec![ListenRaw {
            addr: addr(port),
            tls: None,
            acme: None,
        }]);
    };
    let mut out = Vec::new();
    if let Some(https) = t.https_port {
        out.push(ListenRaw {
            addr: addr(port),
            tls: None,
            acme: None,
        });
        out.push(ListenRaw {
            addr: addr(https),
            tls: Some(span(tls)),
            acme: None,
        });
    } else {
        out.push(ListenRaw {
            addr: addr(port),
            tls: Some(span(tls)),
            acme: None,
        });
    }
    Ok(out)
}

/// `--acme-*` as `[acme]`; `None` without `--acme` (and a usage error for an `--acme-*`
/// flag without it, as the flags' own path gives).
fn acme(t: &TlsArgs) -> Result<Option<Spanned<AcmeRaw>>, CliError> {
    if t.acme.is_empty() {
        let stray = [
            ("--acme-directory", t.acme_directory.is_some()),
            ("--acme-email", t.acme_email.is_some()),
            ("--acme-ca", t.acme_ca.is_some()),
            ("--acme-state", t.acme_state.is_some()),
            ("--acme-challenge", t.acme_challenge.is_some()),
            ("--acme-retry", t.acme_retry.is_some()),
        ];
        return match stray.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(CliError::Usage(format!("{flag} needs --acme DOMAIN"))),
            None => Ok(None),
        };
    }
    Ok(Some(span(AcmeRaw {
        directory: t.acme_directory.clone().map(span),
        email: t.acme_email.clone().map(span),
        ca: t.acme_ca.as_deref().map(|p| span(abs(p))),
        // Without it both forms use the same default ($XDG_DATA_HOME/sockserve/acme).
        state: t.acme_state.as_deref().map(|p| span(abs(p))),
        challenge: t.acme_challenge.map(|c| {
            span(
                match c {
                    crate::cli::AcmeChallenge::Http01 => "http-01",
                    crate::cli::AcmeChallenge::TlsAlpn01 => "tls-alpn-01",
                }
                .to_string(),
            )
        }),
        retry: t.acme_retry.map(span),
    })))
}

/// `--acme NAME...`: HTTPS with the managed names on `-p`, or on `--https-port` with plain
/// HTTP staying on `-p` (where HTTP-01 is answered), as the flags do.
fn acme_listeners(
    t: &TlsArgs,
    addr: &dyn Fn(u16) -> Spanned<String>,
    port: u16,
) -> Result<Vec<ListenRaw>, CliError> {
    let no_form = |what: &str| {
        Err(CliError::Usage(format!(
            "--acme with {what} has no configuration-file form yet: a listener takes `acme` or `tls`"
        )))
    };
    if !t.tls_cert.is_empty() {
        return no_form("--tls-cert");
    }
    if t.tls_client_ca.is_some() {
        return no_form("--tls-client-ca");
    }
    if t.hsts.is_some() {
        return no_form("--hsts");
    }
    if t.tls_self_signed {
        return Err(CliError::Usage(
            "--tls-self-signed excludes --tls-cert and --acme; give one".into(),
        ));
    }
    let names = Some(span(t.acme.iter().map(|d| span(d.clone())).collect()));
    let plain = ListenRaw {
        addr: addr(port),
        tls: None,
        acme: None,
    };
    Ok(match t.https_port {
        Some(https) => vec![
            plain,
            ListenRaw {
                addr: addr(https),
                tls: None,
                acme: names,
            },
        ],
        None => vec![ListenRaw {
            acme: names,
            ..plain
        }],
    })
}

/// `serve`'s one route: `files` at `/`, with `-H`, `--cors` and `--max-age` as its rules.
fn serve_route(args: &ServeArgs, dir: &Path) -> Result<(RouteRaw, RulesRaw), CliError> {
    let cgi = (args.cgi || !args.cgi_dirs.is_empty()).then(|| {
        let ext: BTreeMap<String, Spanned<String>> = args
            .cgi_ext
            .iter()
            .filter_map(|m| m.split_once('='))
            .map(|(e, p)| (e.to_string(), span(p.to_string())))
            .collect();
        let env: BTreeMap<String, Spanned<String>> = args
            .cgi_env
            .iter()
            .filter_map(|m| m.split_once('='))
            .map(|(k, v)| (k.to_string(), span(v.to_string())))
            .collect();
        span(CgiRaw {
            root: None,
            dirs: (!args.cgi_dirs.is_empty())
                .then(|| args.cgi_dirs.iter().map(|d| span(d.clone())).collect()),
            timeout: (args.cgi_timeout != config::CGI_TIMEOUT.as_secs_f64())
                .then(|| span(args.cgi_timeout)),
            max: (args.cgi_max != config::CGI_MAX).then(|| span(args.cgi_max as u64)),
            ext,
            env,
        })
    });
    let files = FilesRaw {
        root: span(abs(dir)),
        listing: args.no_listing.then_some(false),
        index: (!args.index.is_empty())
            .then(|| args.index.iter().map(|i| span(i.clone())).collect()),
        hidden: args.hidden.then_some(true),
        follow_symlinks: args.follow_symlinks.then_some(true),
        compress: args.no_compress.then_some(false),
        spa: args.spa.as_deref().map(|p| span(p.display().to_string())),
        cgi,
        upload: upload(args)?,
        archives: None,
    };
    let mut set = Vec::new();
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| CliError::Usage(format!("--header {h:?}: expected \"Name: value\"")))?;
        set.push((
            span(name.trim().to_string()),
            span(value.trim().to_string()),
        ));
    }
    let rules = RulesRaw {
        headers: (!set.is_empty()).then(|| HeadersRaw {
            set,
            ..HeadersRaw::default()
        }),
        cors: args.cors.then(|| {
            span(CorsRaw {
                origins: vec![span("*".to_string())],
                ..CorsRaw::default()
            })
        }),
        cache: args.max_age.map(|age| {
            span(CacheRaw {
                max_age: Some(age),
                ..CacheRaw::default()
            })
        }),
        auth: auth(args)?,
        ..RulesRaw::default()
    };
    let route = RouteRaw {
        files: Some(span(files)),
        ..route("/")
    };
    Ok((route, rules))
}

/// `--auth`, `--auth-file`, `--auth-realm` as the route's `auth`.
fn auth(args: &ServeArgs) -> Result<Option<Spanned<AuthRaw>>, CliError> {
    let a = &args.access;
    if a.auth.is_empty() && a.auth_file.is_empty() {
        return Ok(None);
    }
    if a.auth_file.len() > 1 {
        return Err(CliError::Usage(
            "several --auth-file have no configuration-file form: merge them into one".into(),
        ));
    }
    Ok(Some(span(AuthRaw {
        realm: a.auth_realm.clone().map(span),
        htpasswd: a.auth_file.first().map(|p| span(abs(p))),
        users: a.auth.iter().map(|u| span(u.clone())).collect(),
    })))
}

/// `--upload*` as the files' `upload`.
fn upload(args: &ServeArgs) -> Result<Option<Spanned<UploadRaw>>, CliError> {
    let a = &args.access;
    if !a.upload {
        return Ok(None);
    }
    let size = |flag: &str, v: &Option<String>| -> Result<Option<Spanned<u64>>, CliError> {
        v.as_deref()
            .map(|t| crate::cmd::serve_access::size(flag, t).map(span))
            .transpose()
    };
    Ok(Some(span(UploadRaw {
        public: a.upload_public,
        max_file_size: size("--upload-max", &a.upload_max)?,
        quota: size("--upload-quota", &a.upload_quota)?,
    })))
}
