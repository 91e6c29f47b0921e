//! From the file's text to a [`Config`]: the tree is read piece by piece ([`crate::unit`]),
//! then every value is judged, and all mistakes are collected before anything is returned.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::StatusCode;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{Collector, Diagnostics};
use crate::host::HostPattern;
use crate::model::{Config, LogFormat, Route, RoutePath, Server, Site, Tls};
use crate::raw::{ListenRaw, RouteRaw, ServerRaw, SiteRaw, TlsRaw, Top};
use crate::{check, unit};

/// What validation needs besides the text: where relative paths start, what to call the file.
pub(crate) struct Ctx<'a> {
    pub(crate) c: Collector<'a>,
    /// Relative paths in the file are relative to this directory (the file's own).
    pub(crate) base: PathBuf,
}

impl Ctx<'_> {
    /// `path` made absolute against the file's directory.
    pub(crate) fn path(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    pub(crate) fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.c.at(span, message);
    }
}

/// Parses and validates `src`; `file` names it in messages, `base` anchors relative paths.
pub(crate) fn config(src: &str, file: &str, base: &Path) -> Result<Config, Diagnostics> {
    let mut ctx = Ctx {
        c: Collector::new(src),
        base: base.to_path_buf(),
    };
    let (tree, syntax) = DeTable::parse_recoverable(src);
    if !syntax.is_empty() {
        // What follows a syntax error is a guess of the parser's; judging it would mostly
        // report the same mistake again in other words.
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            ctx.err(span, e.message().lines().next().unwrap_or("").to_string());
        }
        return Err(ctx.c.finish(file));
    }
    let whole = tree.span();
    let mut top = tree.into_inner();
    let listen = take_array(&mut top, "listen", &mut ctx);
    let sites = take_array(&mut top, "site", &mut ctx);
    let top: Option<(Top, _)> =
        unit::read(Spanned::new(whole.clone(), DeValue::Table(top)), &mut ctx.c);
    let (server_raw, acme_raw) = top.map_or((None, None), |(t, _)| (t.server, t.acme));
    let server = server_raw.map(|s| server(s, &mut ctx)).unwrap_or_default();
    let listen = listeners(listen, &whole, &mut ctx);
    let acme = acme_section(acme_raw, &listen, &mut ctx);
    let sites = all_sites(sites, &whole, server.log_format, &mut ctx);
    if !ctx.c.is_empty() {
        return Err(ctx.c.finish(file));
    }
    Ok(Config {
        file: None,
        server,
        acme,
        listen,
        sites,
    })
}

/// Takes an array of tables (`[[name]]`) out of `table`; anything else under that name is a
/// mistake.
fn take_array<'i>(
    table: &mut DeTable<'i>,
    name: &str,
    ctx: &mut Ctx<'_>,
) -> Vec<Spanned<DeValue<'i>>> {
    let Some((key, value)) = table.remove_entry(name) else {
        return Vec::new();
    };
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => items
            .into_iter()
            .filter(|v| {
                let table = matches!(v.get_ref(), DeValue::Table(_));
                if !table {
                    ctx.err(
                        v.span(),
                        format!("each `{name}` must be a table ([[{name}]])"),
                    );
                }
                table
            })
            .collect(),
        _ => {
            ctx.err(
                key.span().start..span.end,
                format!("`{name}` must be an array of tables: write [[{name}]]"),
            );
            Vec::new()
        }
    }
}

fn server(raw: ServerRaw, ctx: &mut Ctx<'_>) -> Server {
    let count = |v: &Option<Spanned<u64>>, name: &str, ctx: &mut Ctx<'_>| -> Option<usize> {
        let v = v.as_ref()?;
        match usize::try_from(*v.get_ref()) {
            Ok(n) if n > 0 => Some(n),
            _ => {
                ctx.err(v.span(), format!("`{name}` must be at least 1"));
                None
            }
        }
    };
    let secs = |v: &Option<Spanned<f64>>, name: &str, ctx: &mut Ctx<'_>| {
        v.as_ref().and_then(|v| check::seconds(v, name, ctx))
    };
    let mut s = Server {
        threads: count(&raw.threads, "threads", ctx),
        max_connections: count(&raw.max_connections, "max-connections", ctx),
        head_timeout: secs(&raw.head_timeout, "head-timeout", ctx),
        body_timeout: secs(&raw.body_timeout, "body-timeout", ctx),
        idle_timeout: secs(&raw.idle_timeout, "idle-timeout", ctx),
        write_timeout: secs(&raw.write_timeout, "write-timeout", ctx),
        grace: raw.grace.as_ref().and_then(|g| {
            Duration::try_from_secs_f64(*g.get_ref())
                .map_err(|_| ctx.err(g.span(), "`grace` must be a number of seconds"))
                .ok()
        }),
        max_body_size: raw.max_body_size.map(|v| v.into_inner()),
        max_header_size: count(&raw.max_header_size, "max-header-size", ctx),
        max_headers: count(&raw.max_headers, "max-headers", ctx),
        max_request_line: None,
        http2: raw.http2.unwrap_or(true),
        access_log: raw.access_log.map(|p| ctx.path(p.get_ref())),
        log_format: LogFormat::Common,
        quiet: raw.quiet.unwrap_or(false),
        unknown_host: StatusCode::MISDIRECTED_REQUEST,
    };
    if let Some(line) = &raw.max_request_line {
        let head = s.max_header_size.unwrap_or(usize::MAX);
        match usize::try_from(*line.get_ref()) {
            Ok(n) if n >= 16 && n <= head => s.max_request_line = Some(n),
            _ => ctx.err(
                line.span(),
                "`max-request-line` must be at least 16 and at most `max-header-size`",
            ),
        }
    }
    if let Some(f) = log_format(raw.log_format.as_ref(), ctx) {
        s.log_format = f;
    }
    if let Some(u) = &raw.unknown_host {
        match *u.get_ref() {
            404 => s.unknown_host = StatusCode::NOT_FOUND,
            421 => s.unknown_host = StatusCode::MISDIRECTED_REQUEST,
            _ => ctx.err(u.span(), "`unknown-host` must be 421 or 404"),
        }
    }
    s
}

/// `log-format = "common" | "combined" | "json"`, or `None` when absent or wrong.
fn log_format(raw: Option<&Spanned<String>>, ctx: &mut Ctx<'_>) -> Option<LogFormat> {
    let f = raw?;
    match f.get_ref().as_str() {
        "common" => Some(LogFormat::Common),
        "combined" => Some(LogFormat::Combined),
        "json" => Some(LogFormat::Json),
        _ => {
            ctx.err(
                f.span(),
                "`log-format` must be \"common\", \"combined\" or \"json\"",
            );
            None
        }
    }
}

fn listeners(
    items: Vec<Spanned<DeValue<'_>>>,
    whole: &Range<usize>,
    ctx: &mut Ctx<'_>,
) -> Vec<crate::model::Listen> {
    if items.is_empty() {
        ctx.err(
            whole.start..whole.start,
            "no [[listen]]: add one, e.g. [[listen]] addr = \"127.0.0.1:8080\"",
        );
    }
    let mut out: Vec<(crate::model::Listen, Range<usize>)> = Vec::new();
    for item in items {
        let Some((raw, _)) = unit::read::<ListenRaw>(item, &mut ctx.c) else {
            continue;
        };
        let Some(addr) = socket_addr(&raw.addr, ctx) else {
            continue;
        };
        if let Some((_, first)) = out.iter().find(|(l, _)| l.addr == addr && addr.port() != 0) {
            let (line, col) = crate::diag::position(ctx.c_src(), first.start);
            ctx.err(
                raw.addr.span(),
                format!("{addr} is already a listener (line {line}:{col})"),
            );
            continue;
        }
        let tls = match (raw.tls, raw.acme) {
            (Some(t), Some(a)) => {
                ctx.err(a.span(), "a listener takes `tls` or `acme`, not both");
                let _ = t;
                continue;
            }
            (Some(t), None) => tls(t, ctx),
            (None, Some(a)) => acme(a, ctx),
            (None, None) => None,
        };
        out.push((crate::model::Listen { addr, tls }, raw.addr.span()));
    }
    out.into_iter().map(|(l, _)| l).collect()
}

/// `127.0.0.1:8080`, `[::]:443`; a port alone is refused as ambiguous.
fn socket_addr(raw: &Spanned<String>, ctx: &mut Ctx<'_>) -> Option<SocketAddr> {
    match raw.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.err(
                raw.span(),
                format!(
                    "{:?} is not an address with a port, such as \"127.0.0.1:8080\" or \"[::]:443\"",
                    raw.get_ref()
                ),
            );
            None
        }
    }
}

fn tls(raw: Spanned<TlsRaw>, ctx: &mut Ctx<'_>) -> Option<Tls> {
    let span = raw.span();
    let raw = raw.into_inner();
    if raw.self_signed {
        if raw.cert.is_some() || raw.key.is_some() {
            ctx.err(
                span,
                "`tls` takes `cert` and `key`, or `self-signed = true`, not both",
            );
            return None;
        }
        return Some(Tls::SelfSigned { hsts: raw.hsts });
    }
    let (Some(cert), Some(key)) = (raw.cert, raw.key) else {
        ctx.err(
            span,
            "`tls` needs both `cert` and `key` (PEM files), or `self-signed = true`",
        );
        return None;
    };
    let cert_path = check::readable(&cert, "certificate", ctx);
    let key_path = check::readable(&key, "key", ctx);
    let client_ca = raw
        .client_ca
        .as_ref()
        .and_then(|ca| check::readable(ca, "CA certificate", ctx));
    Some(Tls::Files {
        cert: cert_path?,
        key: key_path?,
        client_ca,
        hsts: raw.hsts,
    })
}

fn acme(raw: Spanned<Vec<Spanned<String>>>, ctx: &mut Ctx<'_>) -> Option<Tls> {
    let mut domains = Vec::new();
    for d in raw.get_ref() {
        match HostPattern::parse(d.get_ref()) {
            Ok(HostPattern::Exact(name)) => domains.push(name),
            _ => ctx.err(
                d.span(),
                format!(
                    "{:?} is not a domain name to get a certificate for",
                    d.get_ref()
                ),
            ),
        }
    }
    if domains.is_empty() {
        ctx.err(raw.span(), "`acme` needs at least one domain name");
        return None;
    }
    Some(Tls::Acme { domains })
}

/// `[acme]`, judged against the listeners: it needs a listener with `acme`, and HTTP-01 needs
/// a plain one to be answered on. Without `[acme]`, a listener with `acme` gets the defaults.
fn acme_section(
    raw: Option<Spanned<crate::raw::AcmeRaw>>,
    listen: &[crate::model::Listen],
    ctx: &mut Ctx<'_>,
) -> Option<crate::model::Acme> {
    let any = listen
        .iter()
        .any(|l| matches!(l.tls, Some(Tls::Acme { .. })));
    let Some(raw) = raw else {
        return any.then(crate::model::Acme::default);
    };
    let span = raw.span();
    let raw = raw.into_inner();
    if !any {
        ctx.err(
            span.start..span.start,
            "[acme] without a listener that has `acme = [\"name\", ..]`",
        );
    }
    let challenge = raw
        .challenge
        .as_ref()
        .and_then(|c| match c.get_ref().as_str() {
            "http-01" => Some(crate::model::AcmeChallenge::Http01),
            "tls-alpn-01" => Some(crate::model::AcmeChallenge::TlsAlpn01),
            other => {
                ctx.err(
                    c.span(),
                    format!("{other:?} is not a challenge: \"http-01\" or \"tls-alpn-01\""),
                );
                None
            }
        });
    if let (Some(crate::model::AcmeChallenge::Http01), Some(c)) = (challenge, &raw.challenge)
        && !listen.iter().any(|l| l.tls.is_none())
    {
        ctx.err(
            c.span(),
            "challenge \"http-01\" is answered on a plain listener: add a [[listen]] without tls",
        );
    }
    let retry = raw.retry.as_ref().and_then(|r| {
        let secs = *r.get_ref();
        if secs.is_finite() && secs > 0.0 {
            Some(secs)
        } else {
            ctx.err(r.span(), "`retry` must be a positive number of seconds");
            None
        }
    });
    if let Some(d) = &raw.directory
        && !(d.get_ref().starts_with("https://") || d.get_ref().starts_with("http://"))
    {
        ctx.err(
            d.span(),
            format!(
                "{:?} is not an ACME directory URL (https://...)",
                d.get_ref()
            ),
        );
    }
    let ca = raw
        .ca
        .as_ref()
        .and_then(|ca| check::readable(ca, "CA certificate", ctx));
    Some(crate::model::Acme {
        directory: raw.directory.map(Spanned::into_inner),
        email: raw.email.map(Spanned::into_inner),
        ca,
        state: raw.state.map(|s| ctx.path(s.get_ref())),
        challenge,
        retry,
    })
}

fn all_sites(
    items: Vec<Spanned<DeValue<'_>>>,
    whole: &Range<usize>,
    log_default: LogFormat,
    ctx: &mut Ctx<'_>,
) -> Vec<Site> {
    if items.is_empty() {
        ctx.err(
            whole.start..whole.start,
            "no [[site]]: add one with at least one [[site.route]]",
        );
    }
    let mut sites = Vec::new();
    let mut hosts_seen: Vec<(HostPattern, Range<usize>)> = Vec::new();
    let mut default_at: Option<Range<usize>> = None;
    for item in items {
        let span = item.span();
        let DeValue::Table(mut table) = item.into_inner() else {
            continue;
        };
        let routes = take_array(&mut table, "route", ctx);
        let raw = unit::read::<SiteRaw>(
            Spanned::new(span.clone(), DeValue::Table(table)),
            &mut ctx.c,
        );
        let site = raw.map(|(raw, _)| {
            site(
                raw,
                span.clone(),
                &mut hosts_seen,
                &mut default_at,
                routes,
                log_default,
                ctx,
            )
        });
        if let Some(Some(site)) = site {
            sites.push(site);
        }
    }
    sites
}

fn site(
    mut raw: SiteRaw,
    span: Range<usize>,
    hosts_seen: &mut Vec<(HostPattern, Range<usize>)>,
    default_at: &mut Option<Range<usize>>,
    routes: Vec<Spanned<DeValue<'_>>>,
    log_default: LogFormat,
    ctx: &mut Ctx<'_>,
) -> Option<Site> {
    let mut hosts = Vec::new();
    for h in raw.hosts.iter().flatten() {
        match HostPattern::parse(h.get_ref()) {
            Err(e) => ctx.err(h.span(), format!("{:?}: {e}", h.get_ref())),
            Ok(p) => {
                if let Some((_, first)) = hosts_seen.iter().find(|(q, _)| *q == p) {
                    let (line, col) = crate::diag::position(ctx.c_src(), first.start);
                    ctx.err(
                        h.span(),
                        format!("{p} is already claimed (line {line}:{col})"),
                    );
                } else {
                    hosts_seen.push((p.clone(), h.span()));
                    hosts.push(p);
                }
            }
        }
    }
    if raw.hosts.as_ref().is_some_and(Vec::is_empty) {
        ctx.err(
            span.clone(),
            "`hosts` is empty: leave it out to answer any host",
        );
    }
    if raw.default {
        if let Some(first) = default_at {
            let (line, col) = crate::diag::position(ctx.c_src(), first.start);
            ctx.err(
                span.clone(),
                format!("a second default site (the first is at line {line}:{col})"),
            );
        } else {
            *default_at = Some(span.clone());
        }
    }
    let mut errors = BTreeMap::new();
    for (status, page) in raw.errors.iter().flatten() {
        let code = status
            .get_ref()
            .parse::<u16>()
            .ok()
            .filter(|c| (400..=599).contains(c));
        let Some(code) = code else {
            ctx.err(
                status.span(),
                format!("{:?} is not an error status (400 to 599)", status.get_ref()),
            );
            continue;
        };
        if let Some(path) = check::readable(page, "error page", ctx) {
            errors.insert(code, path);
        }
    }
    let access_log = site_log(&raw, log_default, ctx);
    let site_rules = raw.take_rules();
    let rules = check::rules(site_rules, None, ctx);
    if routes.is_empty() {
        ctx.err(
            span.start..span.start,
            "a site needs at least one [[site.route]]",
        );
    }
    let mut out: Vec<(Route, Range<usize>)> = Vec::new();
    for item in routes {
        let Some((mut raw, removed)) = unit::read::<RouteRaw>(item, &mut ctx.c) else {
            continue;
        };
        let path_span = raw.path.span();
        let Some(path) = route_path(&raw.path, ctx) else {
            continue;
        };
        if let Some((_, first)) = out.iter().find(|(r, _)| r.path == path) {
            let (line, col) = crate::diag::position(ctx.c_src(), first.start);
            ctx.err(
                path_span.clone(),
                format!("this path already has a route (line {line}:{col})"),
            );
            continue;
        }
        let route_rules = raw.take_rules();
        let rules = check::rules(route_rules, Some(&rules), ctx);
        if let Some(handler) = check::handler(
            &mut raw,
            path_span.clone(),
            &removed,
            rules.auth.is_some(),
            ctx,
        ) {
            out.push((
                Route {
                    path,
                    handler,
                    rules,
                },
                path_span,
            ));
        }
    }
    Some(Site {
        hosts,
        default: raw.default,
        errors,
        access_log,
        routes: out.into_iter().map(|(r, _)| r).collect(),
    })
}

/// A site's `access-log` and `log-format`: the file must be one the server can append to
/// (its directory exists), as nginx checks its `access_log` paths before it starts.
fn site_log(
    raw: &SiteRaw,
    log_default: LogFormat,
    ctx: &mut Ctx<'_>,
) -> Option<(PathBuf, LogFormat)> {
    let format = log_format(raw.log_format.as_ref(), ctx);
    let Some(path) = &raw.access_log else {
        if let Some(f) = &raw.log_format {
            ctx.err(
                f.span(),
                "`log-format` without `access-log`: a site's format applies to its own log",
            );
        }
        return None;
    };
    let file = ctx.path(path.get_ref());
    let dir_ok = file.parent().is_some_and(Path::is_dir);
    if path.get_ref().is_empty() || file.is_dir() || !dir_ok {
        ctx.err(
            path.span(),
            format!(
                "access log {:?}: not a file in an existing directory",
                path.get_ref()
            ),
        );
        return None;
    }
    Some((file, format.unwrap_or(log_default)))
}

/// `/a/`, `/a` or `=/a/b`: absolute, no `..`, query or fragment.
fn route_path(raw: &Spanned<String>, ctx: &mut Ctx<'_>) -> Option<RoutePath> {
    let text = raw.get_ref();
    let (exact, path) = match text.strip_prefix('=') {
        Some(p) => (true, p),
        None => (false, text.as_str()),
    };
    let bad = if !path.starts_with('/') {
        Some("a route's path starts with `/` (or `=/` for an exact match)")
    } else if path.contains(['?', '#', '"', '<', '>', '\\'])
        || path.bytes().any(|b| b <= b' ' || b == 0x7f)
    {
        Some(
            "a route's path has no query, fragment, quote, angle bracket, backslash, space or control character",
        )
    } else if path.split('/').any(|s| s == "." || s == "..") {
        Some("a route's path has no `.` or `..` segment")
    } else if path.contains("//") {
        Some("a route's path has no empty segment (`//`)")
    } else {
        None
    };
    if let Some(why) = bad {
        ctx.err(raw.span(), format!("{text:?}: {why}"));
        return None;
    }
    Some(if exact {
        RoutePath::Exact(path.to_string())
    } else {
        RoutePath::Prefix(path.to_string())
    })
}

impl Ctx<'_> {
    /// The text being judged, for positions named inside messages.
    pub(crate) fn c_src(&self) -> &str {
        self.c.src()
    }
}
