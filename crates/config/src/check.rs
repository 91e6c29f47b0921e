//! Judging the values of a route: its handler and its rules.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode};
use toml::Spanned;

use crate::ip::Cidr;
use crate::model::{
    Auth, CGI_MAX, CGI_TIMEOUT, Cgi, Cors, Demo, Files, Handler, HeaderRules, Limits, Rate,
    Redirect, Respond, Rules,
};
use crate::raw::{
    AuthRaw, CacheRaw, CgiRaw, CorsRaw, FilesRaw, HeadersRaw, RateRaw, RouteRaw, RulesRaw,
};
use crate::validate::Ctx;

/// Header fields that frame the message or the connection, which only the server may write:
/// setting one would corrupt the response (RFC 9112 6, RFC 9110 7.6.1). `headers` refuses
/// them, as nginx's `add_header` cannot set them either.
pub const FRAMING: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "date",
];

/// The keys that name a route's handler.
const HANDLERS: [&str; 5] = ["files", "cgi", "demo", "redirect", "respond"];

/// A positive, finite number of seconds.
pub(crate) fn seconds(v: &Spanned<f64>, name: &str, ctx: &mut Ctx<'_>) -> Option<Duration> {
    match Duration::try_from_secs_f64(*v.get_ref()) {
        Ok(d) if !d.is_zero() => Some(d),
        _ => {
            ctx.err(
                v.span(),
                format!("`{name}` must be a positive number of seconds"),
            );
            None
        }
    }
}

/// A file that exists and can be opened for reading, as an absolute path.
pub(crate) fn readable(v: &Spanned<String>, what: &str, ctx: &mut Ctx<'_>) -> Option<PathBuf> {
    let path = ctx.path(v.get_ref());
    match std::fs::File::open(&path).and_then(|f| f.metadata()) {
        Ok(m) if m.is_file() => Some(path),
        Ok(_) => {
            ctx.err(v.span(), format!("{what} {}: not a file", path.display()));
            None
        }
        Err(e) => {
            ctx.err(v.span(), format!("{what} {}: {e}", path.display()));
            None
        }
    }
}

/// A directory that exists, as an absolute path.
fn directory(v: &Spanned<String>, what: &str, ctx: &mut Ctx<'_>) -> Option<PathBuf> {
    let path = ctx.path(v.get_ref());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Some(path),
        Ok(_) => {
            ctx.err(
                v.span(),
                format!("{what} {}: not a directory", path.display()),
            );
            None
        }
        Err(e) => {
            ctx.err(v.span(), format!("{what} {}: {e}", path.display()));
            None
        }
    }
}

/// The one handler of a route; none or two are mistakes.
pub(crate) fn handler(
    raw: &mut RouteRaw,
    path_span: Range<usize>,
    removed: &[String],
    authenticated: bool,
    ctx: &mut Ctx<'_>,
) -> Option<Handler> {
    let mut named: Vec<(&'static str, Range<usize>)> = Vec::new();
    let spans = [
        ("files", raw.files.as_ref().map(|v| v.span())),
        ("cgi", raw.cgi.as_ref().map(|v| v.span())),
        ("demo", raw.demo.as_ref().map(|v| v.span())),
        ("redirect", raw.redirect.as_ref().map(|v| v.span())),
        ("respond", raw.respond.as_ref().map(|v| v.span())),
    ];
    for (name, span) in spans {
        if let Some(span) = span {
            named.push((name, span));
        }
    }
    match named.as_slice() {
        [] if HANDLERS.iter().any(|h| removed.iter().any(|r| r == h)) => return None,
        [] => {
            ctx.err(
                path_span,
                "this route has no handler: give it one of files, cgi, demo, redirect, respond",
            );
            return None;
        }
        [_] => {}
        [(first, _), (second, span), ..] => {
            ctx.err(
                span.clone(),
                format!("a route has one handler, and this one has `{first}` and `{second}`"),
            );
            return None;
        }
    }
    if let Some(f) = raw.files.take() {
        return files(f.into_inner(), authenticated, ctx).map(Handler::Files);
    }
    if let Some(c) = raw.cgi.take() {
        let span = c.span();
        return cgi(c.into_inner(), span, None, ctx).map(Handler::Cgi);
    }
    if let Some(d) = raw.demo.take() {
        let db = d.into_inner().db;
        // A database server's URL (`postgres://…`) is an address, not a path: kept as written.
        if let Some(url) = db.as_ref().filter(|db| db.get_ref().contains("://")) {
            return Some(Handler::Demo(Demo {
                db: PathBuf::from(url.get_ref()),
            }));
        }
        let path = match &db {
            Some(db) => ctx.path(db.get_ref()),
            None => ctx.path("sockserve.db"),
        };
        let parent_ok = path
            .parent()
            .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
        if !parent_ok {
            let span = db.as_ref().map_or(path_span, |d| d.span());
            ctx.err(
                span,
                format!(
                    "demo database {}: its directory does not exist",
                    path.display()
                ),
            );
            return None;
        }
        return Some(Handler::Demo(Demo { db: path }));
    }
    if let Some(r) = raw.redirect.take() {
        let r = r.into_inner();
        return redirect(r.to, r.status, ctx).map(Handler::Redirect);
    }
    if let Some(r) = raw.respond.take() {
        let r = r.into_inner();
        let status = match &r.status {
            None => Some(StatusCode::OK),
            Some(s) => status(s, 200..=599, ctx),
        };
        let content_type = match &r.content_type {
            None => Some(HeaderValue::from_static("text/plain; charset=utf-8")),
            Some(ct) => HeaderValue::from_str(ct.get_ref())
                .map_err(|_| ctx.err(ct.span(), "`content-type` is not a valid header value"))
                .ok(),
        };
        return Some(Handler::Respond(Respond {
            status: status?,
            body: r.body.unwrap_or_default(),
            content_type: content_type?,
        }));
    }
    None
}

fn status(
    s: &Spanned<u16>,
    range: std::ops::RangeInclusive<u16>,
    ctx: &mut Ctx<'_>,
) -> Option<StatusCode> {
    let code = *s.get_ref();
    match StatusCode::from_u16(code) {
        Ok(c) if range.contains(&code) => Some(c),
        _ => {
            ctx.err(
                s.span(),
                format!(
                    "{code} is not a status this handler can send ({}-{})",
                    range.start(),
                    range.end()
                ),
            );
            None
        }
    }
}

fn files(raw: FilesRaw, authenticated: bool, ctx: &mut Ctx<'_>) -> Option<Files> {
    let root = directory(&raw.root, "files root", ctx);
    let mut index = None;
    if let Some(names) = &raw.index {
        let mut ok = Vec::new();
        for n in names {
            let name = n.get_ref();
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                ctx.err(
                    n.span(),
                    format!("index {name:?}: expected a file name such as index.html"),
                );
            } else {
                ok.push(name.clone());
            }
        }
        index = Some(ok);
    }
    let spa = match (&raw.spa, &root) {
        (Some(spa), Some(root)) => {
            let full = root.join(spa.get_ref());
            let inside = std::fs::canonicalize(&full)
                .ok()
                .filter(|p| p.is_file())
                .zip(std::fs::canonicalize(root).ok())
                .is_some_and(|(p, r)| p.starts_with(r));
            if !inside {
                ctx.err(
                    spa.span(),
                    format!("spa {:?}: no such file inside the root", spa.get_ref()),
                );
            }
            Some(PathBuf::from(spa.get_ref()))
        }
        _ => None,
    };
    let cgi = match (raw.cgi, &root) {
        (Some(c), Some(root)) => {
            let span = c.span();
            let c = c.into_inner();
            if c.root.is_some() {
                ctx.err(
                    span.clone(),
                    "`files.cgi` runs scripts under the files' root: leave out `root`",
                );
                None
            } else {
                cgi(c, span, Some(root.clone()), ctx)
            }
        }
        _ => None,
    };
    let upload = raw.upload.and_then(|u| {
        let span = u.span();
        let u = u.into_inner();
        if !authenticated && !u.public {
            ctx.err(
                span,
                "uploads need `auth` on the route (or `public = true` to let anyone change files)",
            );
            return None;
        }
        let positive = |v: &Option<Spanned<u64>>, name: &str, ctx: &mut Ctx<'_>| match v {
            Some(n) if *n.get_ref() == 0 => {
                ctx.err(n.span(), format!("`{name}` must be at least 1 byte"));
                None
            }
            other => Some(other.as_ref().map(|n| *n.get_ref())),
        };
        Some(crate::model::Upload {
            max_file_size: positive(&u.max_file_size, "max-file-size", ctx)?,
            quota: positive(&u.quota, "quota", ctx)?,
        })
    });
    Some(Files {
        upload,
        archives: raw.archives.unwrap_or(true),
        root: root?,
        index,
        listing: raw.listing.unwrap_or(true),
        hidden: raw.hidden.unwrap_or(false),
        follow_symlinks: raw.follow_symlinks.unwrap_or(false),
        compress: raw.compress.unwrap_or(true),
        spa,
        cgi,
    })
}

fn cgi(raw: CgiRaw, span: Range<usize>, root: Option<PathBuf>, ctx: &mut Ctx<'_>) -> Option<Cgi> {
    let root = match (root, &raw.root) {
        (Some(r), _) => Some(r),
        (None, Some(r)) => directory(r, "cgi root", ctx),
        (None, None) => {
            ctx.err(span, "`cgi` needs `root`, the directory of scripts");
            None
        }
    };
    let mut dirs = Vec::new();
    for d in raw.dirs.iter().flatten() {
        let segments: Vec<&str> = d.get_ref().split('/').filter(|s| !s.is_empty()).collect();
        if segments.is_empty()
            || segments
                .iter()
                .any(|s| *s == "." || *s == ".." || s.contains(['%', '\\']))
        {
            ctx.err(
                d.span(),
                format!(
                    "{:?}: expected a URL directory such as /scripts",
                    d.get_ref()
                ),
            );
        } else {
            dirs.push(format!("/{}", segments.join("/")));
        }
    }
    let timeout = match &raw.timeout {
        Some(t) => seconds(t, "timeout", ctx),
        None => Some(CGI_TIMEOUT),
    };
    let max = match &raw.max {
        Some(m) if *m.get_ref() == 0 => {
            ctx.err(m.span(), "`max` must be at least 1");
            None
        }
        Some(m) => Some(usize::try_from(*m.get_ref()).unwrap_or(usize::MAX)),
        None => Some(CGI_MAX),
    };
    let mut ext = Vec::new();
    for (e, program) in &raw.ext {
        let ok = e.len() > 1 && e.starts_with('.') && !e[1..].contains(['.', '/']);
        if !ok || program.get_ref().trim().is_empty() {
            ctx.err(
                program.span(),
                format!("ext {e:?}: expected \".ext\" = \"program\", e.g. \".py\" = \"python3\""),
            );
        } else {
            ext.push((e.clone(), program.get_ref().clone()));
        }
    }
    let mut env = Vec::new();
    for (k, v) in &raw.env {
        let valid = k
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if k.is_empty() || !valid {
            ctx.err(
                v.span(),
                format!("env {k:?}: a name of letters, digits and _"),
            );
        } else {
            env.push((k.clone(), v.get_ref().clone()));
        }
    }
    Some(Cgi {
        root: root?,
        dirs,
        timeout: timeout?,
        max: max?,
        ext,
        env,
    })
}

fn redirect(to: Spanned<String>, st: Option<Spanned<u16>>, ctx: &mut Ctx<'_>) -> Option<Redirect> {
    let status = match &st {
        None => Some(StatusCode::FOUND),
        Some(s) if matches!(*s.get_ref(), 301 | 302 | 303 | 307 | 308) => {
            StatusCode::from_u16(*s.get_ref()).ok()
        }
        Some(s) => {
            ctx.err(
                s.span(),
                format!(
                    "{} is not a redirect status (301, 302, 303, 307 or 308)",
                    s.get_ref()
                ),
            );
            None
        }
    };
    let text = to.get_ref();
    let mut rest = text.as_str();
    let mut bad = text.is_empty() || text.bytes().any(|b| b < b' ' || b == 0x7f);
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if matches!(&after[..close], "rest" | "query") => {
                rest = &after[close + 1..]
            }
            _ => {
                bad = true;
                break;
            }
        }
    }
    if bad {
        ctx.err(
            to.span(),
            format!("{text:?}: a redirect target (placeholders: {{rest}}, {{query}})"),
        );
        return None;
    }
    Some(Redirect {
        to: text.clone(),
        status: status?,
    })
}

/// The site's rules (`parent`) with the route's keys replacing them one by one.
pub(crate) fn rules(raw: RulesRaw, parent: Option<&Rules>, ctx: &mut Ctx<'_>) -> Rules {
    let mut r = parent.cloned().unwrap_or_default();
    if let Some(h) = raw.headers {
        r.headers = headers(h, ctx);
    }
    if let Some(c) = raw.cors {
        r.cors = cors(c, ctx);
    }
    if let Some(c) = raw.cache {
        r.cache = cache(c, ctx);
    }
    if let Some(l) = raw.limits {
        r.limits = Limits {
            body: l.body.map(|b| b.into_inner()),
            timeout: l.timeout.as_ref().and_then(|t| seconds(t, "timeout", ctx)),
        };
    }
    if let Some(a) = raw.allow {
        r.allow = cidrs(&a, ctx);
    }
    if let Some(d) = raw.deny {
        r.deny = cidrs(&d, ctx);
    }
    if let Some(rate) = raw.rate {
        r.rate = rate_limit(rate, ctx);
    }
    if let Some(a) = raw.auth {
        r.auth = auth(a, ctx);
    }
    r
}

fn header_name(n: &Spanned<String>, ctx: &mut Ctx<'_>) -> Option<HeaderName> {
    match HeaderName::from_bytes(n.get_ref().as_bytes()) {
        Ok(name) if FRAMING.contains(&name.as_str()) => {
            ctx.err(
                n.span(),
                format!("{}: the server writes this header itself", n.get_ref()),
            );
            None
        }
        Ok(name) => Some(name),
        Err(_) => {
            ctx.err(n.span(), format!("{:?} is not a header name", n.get_ref()));
            None
        }
    }
}

fn headers(raw: HeadersRaw, ctx: &mut Ctx<'_>) -> HeaderRules {
    let pairs = |list: &[(Spanned<String>, Spanned<String>)], ctx: &mut Ctx<'_>| {
        let mut out = Vec::new();
        for (n, v) in list {
            let name = header_name(n, ctx);
            let value = HeaderValue::from_str(v.get_ref())
                .map_err(|_| ctx.err(v.span(), "not a valid header value (control characters?)"))
                .ok();
            if let (Some(n), Some(v)) = (name, value) {
                out.push((n, v));
            }
        }
        out
    };
    HeaderRules {
        set: pairs(&raw.set, ctx),
        add: pairs(&raw.add, ctx),
        remove: raw
            .remove
            .iter()
            .filter_map(|n| header_name(n, ctx))
            .collect(),
    }
}

fn cors(raw: Spanned<CorsRaw>, ctx: &mut Ctx<'_>) -> Option<Cors> {
    let span = raw.span();
    let raw = raw.into_inner();
    let any = raw.origins.iter().any(|o| o.get_ref() == "*");
    let mut origins = Vec::new();
    for o in &raw.origins {
        let text = o.get_ref();
        if text == "*" {
            continue;
        }
        let valid = (text.starts_with("http://") || text.starts_with("https://"))
            && !text.ends_with('/')
            && text
                .split_once("://")
                .is_some_and(|(_, h)| !h.is_empty() && !h.contains(['/', '?', '#', ' ']));
        if valid {
            origins.push(text.to_ascii_lowercase());
        } else {
            ctx.err(
                o.span(),
                format!("{text:?} is not an origin such as \"https://example.test\" (or \"*\")"),
            );
        }
    }
    if raw.origins.is_empty() {
        ctx.err(
            span.clone(),
            "`cors` needs `origins`: a list of origins, or [\"*\"]",
        );
    }
    if any && raw.credentials {
        ctx.err(span, "`credentials = true` cannot go with the origin \"*\" (the Fetch standard refuses it); list the origins");
    }
    let methods = raw
        .methods
        .iter()
        .filter_map(|m| {
            Method::from_bytes(m.get_ref().as_bytes())
                .map_err(|_| ctx.err(m.span(), format!("{:?} is not a method", m.get_ref())))
                .ok()
        })
        .collect::<Vec<_>>();
    let names = |list: &[Spanned<String>], ctx: &mut Ctx<'_>| -> Vec<HeaderName> {
        list.iter()
            .filter_map(|h| {
                HeaderName::from_bytes(h.get_ref().as_bytes())
                    .map_err(|_| {
                        ctx.err(h.span(), format!("{:?} is not a header name", h.get_ref()))
                    })
                    .ok()
            })
            .collect()
    };
    let headers = (!raw.headers.is_empty()).then(|| names(&raw.headers, ctx));
    let expose = names(&raw.expose, ctx);
    Some(Cors {
        origins: (!any).then_some(origins),
        methods: if methods.is_empty() {
            vec![Method::GET, Method::HEAD, Method::POST]
        } else {
            methods
        },
        headers,
        expose,
        credentials: raw.credentials,
        max_age: raw.max_age,
    })
}

fn cache(raw: Spanned<CacheRaw>, ctx: &mut Ctx<'_>) -> Option<HeaderValue> {
    let span = raw.span();
    let c = raw.into_inner();
    if c.no_store && (c.max_age.is_some() || c.immutable) {
        ctx.err(span, "`no-store` cannot go with `max-age` or `immutable`");
        return None;
    }
    if c.immutable && c.max_age.is_none() {
        ctx.err(
            span,
            "`immutable` needs `max-age` (how long the response stays fresh)",
        );
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    if c.private {
        parts.push("private".into());
    }
    if c.no_store {
        parts.push("no-store".into());
    }
    if c.no_cache {
        parts.push("no-cache".into());
    }
    if let Some(age) = c.max_age {
        parts.push(format!("max-age={age}"));
    }
    if c.immutable {
        parts.push("immutable".into());
    }
    if parts.is_empty() {
        ctx.err(
            span,
            "`cache` says nothing: give `max-age`, `no-store` or `no-cache`",
        );
        return None;
    }
    HeaderValue::from_str(&parts.join(", ")).ok()
}

fn cidrs(list: &[Spanned<String>], ctx: &mut Ctx<'_>) -> Vec<Cidr> {
    list.iter()
        .filter_map(|c| {
            Cidr::parse(c.get_ref())
                .map_err(|why| ctx.err(c.span(), format!("{:?}: {why}", c.get_ref())))
                .ok()
        })
        .collect()
}

fn rate_limit(raw: Spanned<RateRaw>, ctx: &mut Ctx<'_>) -> Option<Rate> {
    let r = raw.into_inner();
    let per_second = *r.per_second.get_ref();
    if !(per_second.is_finite() && per_second > 0.0) {
        ctx.err(
            r.per_second.span(),
            "`per-second` must be a positive number of requests",
        );
        return None;
    }
    let burst = match &r.burst {
        // As many as one second allows, at least one.
        None => per_second.ceil().max(1.0) as u32,
        Some(b) => match u32::try_from(*b.get_ref()) {
            Ok(n) if n > 0 => n,
            _ => {
                ctx.err(b.span(), "`burst` must be at least 1");
                return None;
            }
        },
    };
    Some(Rate { per_second, burst })
}

fn auth(raw: Spanned<AuthRaw>, ctx: &mut Ctx<'_>) -> Option<Auth> {
    let span = raw.span();
    let a = raw.into_inner();
    let realm = match &a.realm {
        Some(r) if r.get_ref().contains(['"', '\\']) || r.get_ref().bytes().any(|b| b < b' ') => {
            ctx.err(
                r.span(),
                "a realm has no quote, backslash or control character",
            );
            return None;
        }
        Some(r) => r.get_ref().clone(),
        None => "Restricted".to_string(),
    };
    let htpasswd = match &a.htpasswd {
        Some(h) => Some(readable(h, "htpasswd file", ctx)?),
        None => None,
    };
    let mut users = Vec::new();
    for u in &a.users {
        match u.get_ref().split_once(':') {
            Some((name, pass)) if !name.is_empty() && !pass.is_empty() => {
                users.push((name.to_string(), pass.to_string()));
            }
            _ => ctx.err(u.span(), "expected \"user:password\""),
        }
    }
    if htpasswd.is_none() && users.is_empty() {
        ctx.err(span, "`auth` needs `htpasswd` (a file) or `users`");
        return None;
    }
    Some(Auth {
        realm,
        htpasswd,
        users,
    })
}
