//! A configuration's sites and routes as one [`Service`]: the site by `Host`, the route by
//! path (exact, then the longest prefix), the route's rules, then its handler.
//!
//! Choosing a site (two hash lookups however many sites) and a route compares slices: no
//! allocation. The steps before and after the handler are plain functions over a lent
//! request, inside one future with the handler's; a route's `headers` and `cache` values are
//! static bytes, copied per answer without touching a shared count, and a files route hands
//! its `headers` to the files service, which renders them once with a cached file's own
//! fields (no field list per answer, and `set` replaces the file's field); the metrics tag is
//! cloned only when metrics are counted. A route mounted under a prefix (`/static/` serving a
//! directory) gets the request with the prefix taken off, which builds a new target (one
//! allocation, on mounted routes only); absolute `Location`s it answers are given the prefix
//! back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use server::{Request, Response, ResponseBody, Service};

use crate::cmd::config_rules::{self, Cors, RateLimiter};

/// What a configuration runs: built from a [`config::Config`] by [`build`], swapped whole on
/// reload.
pub struct Sites {
    hosts: config::table::Hosts,
    sites: Vec<SiteRt>,
    unknown_host: StatusCode,
    /// The databases of the `demo` routes, for readiness.
    stores: Vec<app::guestbook::store::Store>,
}

struct SiteRt {
    routes: config::table::Routes,
    handlers: Vec<RouteRt>,
    /// The metrics' site and route labels of each handler: the site's first host name
    /// (`default` for a catch-all) and the route's path as written.
    tags: Vec<server::metrics::Tag>,
    /// Error pages by status, read once.
    errors: HashMap<u16, Bytes>,
}

struct RouteRt {
    /// The prefix as written ends with `/`: its bare form (`/app`) is redirected to it.
    slash: bool,
    /// An exact route (`=/path`): a redirect's `{rest}` is empty.
    exact: bool,
    handler: HandlerRt,
    rules: RulesRt,
    /// A `demo` route's database, for readiness.
    store: Option<app::guestbook::store::Store>,
}

struct RulesRt {
    /// Basic authentication, checked after CORS preflights (which carry no credentials).
    auth: Option<Arc<auth::Auth>>,
    /// `headers`, unless the handler applies them itself ([`headers_in_files`]).
    headers: files::config::FieldRules,
    rules: config::Rules,
    cors: Option<Cors>,
    rate: Option<RateLimiter>,
}

enum HandlerRt {
    Files {
        files: Arc<files::Files>,
        cgi: Option<cgi::Cgi>,
    },
    Cgi(cgi::Cgi),
    Demo(app::Layered),
    Redirect(config::Redirect),
    Respond {
        status: StatusCode,
        body: Bytes,
        content_type: HeaderValue,
    },
}

/// Builds the running form of `config`: opens the demo databases, reads the error pages,
/// finds the CGI interpreters. Nothing is bound; a reload calls it and swaps the result in.
pub fn build(config: &config::Config) -> Result<Sites, String> {
    let mut sites = Vec::new();
    for site in &config.sites {
        let mut errors = HashMap::new();
        for (status, path) in &site.errors {
            let page =
                std::fs::read(path).map_err(|e| format!("error page {}: {e}", path.display()))?;
            errors.insert(*status, Bytes::from(page));
        }
        let handlers = site
            .routes
            .iter()
            .map(route)
            .collect::<Result<Vec<_>, String>>()?;
        let name = site
            .hosts
            .first()
            .map_or_else(|| "default".to_string(), ToString::to_string);
        let tags = site
            .routes
            .iter()
            .map(|r| match &r.path {
                config::RoutePath::Prefix(p) => server::metrics::Tag::new(&name, p),
                config::RoutePath::Exact(p) => server::metrics::Tag::new(&name, &format!("={p}")),
            })
            .collect();
        sites.push(SiteRt {
            routes: config::table::Routes::new(site),
            handlers,
            tags,
            errors,
        });
    }
    let stores = sites
        .iter()
        .flat_map(|s| &s.handlers)
        .filter_map(|h| h.store.clone())
        .collect();
    Ok(Sites {
        hosts: config::table::Hosts::new(&config.sites),
        sites,
        unknown_host: config.server.unknown_host,
        stores,
    })
}

fn route(r: &config::Route) -> Result<RouteRt, String> {
    let (slash, mount) = match &r.path {
        config::RoutePath::Prefix(p) => (p.len() > 1 && p.ends_with('/'), p.trim_end_matches('/')),
        config::RoutePath::Exact(_) => (false, ""),
    };
    let mut rules = r.rules.clone();
    config_rules::static_fields(&mut rules);
    let mut headers = config_rules::field_rules(&rules.headers);
    let mut store = None;
    let handler = match &r.handler {
        config::Handler::Files(f) => {
            let own = headers_in_files(f, &rules, mount).then(|| std::mem::take(&mut headers));
            files_handler(f, &rules, mount, own.unwrap_or_default())?
        }
        config::Handler::Cgi(c) => {
            let mut cfg = cgi_config(c, c.root.clone())?;
            cfg.script_dirs.clear();
            let url = if mount.is_empty() { "/" } else { mount };
            cfg.aliases.push((url.to_string(), c.root.clone()));
            HandlerRt::Cgi(cgi::Cgi::new(cfg))
        }
        config::Handler::Demo(d) => {
            // A file, or a server by URL, as `--db` tells them apart; shown without a password.
            let target = app::guestbook::store::DbTarget::parse(&d.db);
            let opened = app::guestbook::store::Store::open(target.clone())
                .map_err(|e| format!("demo database {target}: {e}"))?;
            // Sessions in the demo's database, as the flags' site keeps them: several
            // instances on one database share them (and their key) behind a load balancer.
            let sessions = app::Sessions::in_database(&opened, None)
                .map_err(|e| format!("demo sessions in {target}: {e}"))?;
            store = Some(opened.clone());
            let site = app::Site { store: opened };
            HandlerRt::Demo(app::layered(app::router_with(site, sessions)))
        }
        config::Handler::Redirect(r) => HandlerRt::Redirect(r.clone()),
        config::Handler::Respond(r) => HandlerRt::Respond {
            status: r.status,
            body: Bytes::from(r.body.clone()),
            content_type: r.content_type.clone(),
        },
    };
    if matches!(handler, HandlerRt::Files { .. }) {
        // The file service writes Cache-Control itself (on 304s too).
        rules.cache = None;
    }
    let auth = rules.auth.as_ref().map(auth_for).transpose()?;
    Ok(RouteRt {
        slash,
        exact: matches!(r.path, config::RoutePath::Exact(_)),
        handler,
        store,
        rules: RulesRt {
            auth,
            headers,
            cors: rules.cors.as_ref().map(Cors::new),
            rate: rules.rate.map(RateLimiter::new),
            rules,
        },
    })
}

/// `auth = { realm, htpasswd, users }` as the checker of the auth crate.
fn auth_for(a: &config::Auth) -> Result<Arc<auth::Auth>, String> {
    let mut users = auth::Htpasswd::new();
    for (user, password) in &a.users {
        users
            .add_password(user, password)
            .map_err(|_| format!("auth user {user:?}: not a user name"))?;
    }
    if let Some(path) = &a.htpasswd {
        let file = auth::Htpasswd::load(path).map_err(|e| match &e {
            auth::LoadError::Io { source, .. } => format!("{e}: {source}"),
            auth::LoadError::Line { .. } => e.to_string(),
        })?;
        if file.is_empty() {
            return Err(format!("htpasswd file {}: no users in it", path.display()));
        }
        users.merge(file);
    }
    auth::Auth::new(Some(&a.realm), users)
        .map(Arc::new)
        .map_err(|e| format!("auth realm: {e}"))
}

/// Whether a files route's `headers` can be the files service's own last step, so that a
/// cached file's fields are rendered with them once instead of changed on every answer. The
/// same fields result when nothing between the service and the rules touches them: no
/// script answers the route, no `timeout` answers 504 in its place, no `cors` adds fields
/// first, and a mounted route's `Location` (given its prefix on the way out) is left alone.
fn headers_in_files(f: &config::Files, rules: &config::Rules, mount: &str) -> bool {
    let h = &rules.headers;
    let mut names = h
        .remove
        .iter()
        .chain(h.set.iter().chain(&h.add).map(|(n, _)| n));
    let location = names.any(|n| n == header::LOCATION);
    f.cgi.is_none()
        && rules.limits.timeout.is_none()
        && rules.cors.is_none()
        && (mount.is_empty() || !location)
}

fn files_handler(
    f: &config::Files,
    rules: &config::Rules,
    mount: &str,
    headers: files::config::FieldRules,
) -> Result<HandlerRt, String> {
    let mut cfg = files::Config::new(&f.root)
        .map_err(|e| format!("cannot serve {}: {e}", f.root.display()))?;
    if let Some(index) = &f.index {
        cfg.index = index.clone();
    }
    cfg.listing = f.listing;
    cfg.hidden = f.hidden;
    cfg.follow_symlinks = f.follow_symlinks;
    cfg.compress = f.compress;
    cfg.spa = f.spa.clone();
    cfg.mount = mount.to_string();
    cfg.archives = f.archives;
    cfg.rules = headers;
    cfg.upload = f.upload.map(|u| files::upload::Upload {
        max_file_size: u
            .max_file_size
            .unwrap_or(files::upload::DEFAULT_MAX_FILE_SIZE),
        quota: u.quota,
    });
    if let Some(cc) = &rules.cache {
        cfg.cache_control = cc.clone();
    }
    let cgi = match &f.cgi {
        Some(c) => {
            let mut cc = cgi_config(c, cfg.root.clone())?;
            for d in &c.dirs {
                cc.script_dirs.push(d.clone());
            }
            if !mount.is_empty() {
                // Scripts of a mounted route are named by the whole URL path, prefix included
                // (their SCRIPT_NAME), as Apache's ScriptAlias and nginx with fcgiwrap name
                // them: `/app/cgi-bin/env.sh` is `ROOT/cgi-bin/env.sh`.
                for d in std::mem::take(&mut cc.script_dirs) {
                    let d = d.trim_matches('/');
                    cc.aliases.push((format!("{mount}/{d}"), cc.root.join(d)));
                }
            }
            Some(cgi::Cgi::new(cc))
        }
        None => None,
    };
    Ok(HandlerRt::Files {
        files: Arc::new(files::Files::new(cfg)),
        cgi,
    })
}

fn cgi_config(c: &config::Cgi, root: std::path::PathBuf) -> Result<cgi::CgiConfig, String> {
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let mut cfg = cgi::CgiConfig::new(root);
    cfg.timeout = c.timeout;
    cfg.max_scripts = c.max;
    cfg.env = c.env.clone();
    for (ext, program) in &c.ext {
        let found = crate::cmd::serve_cgi::resolve_program(program, cfg.script_path())
            .ok_or_else(|| format!("cgi ext {ext}: program {program:?} not found"))?;
        cfg.interpreters.push((ext.clone(), found));
    }
    Ok(cfg)
}

/// One listener's service: the shared, swappable sites, and the listener's own `HSTS`.
pub struct ConfigService {
    pub sites: Arc<ArcSwap<Sites>>,
    pub hsts: Option<HeaderValue>,
    /// Whether responses carry their route's metrics tag (only counted with `--admin`).
    pub metrics: bool,
}

impl Service for ConfigService {
    fn call(&self, mut req: Request) -> impl Future<Output = Response> + Send {
        // A request in flight keeps the sites it started with, whatever a reload swaps in.
        let sites = self.sites.load_full();
        // The listener's settings are read through `self` in the future rather than copied
        // into it.
        let tls = req.conn.is_tls();
        // One future around the handler's: the site, the route and the rules before and after
        // the handler are plain functions, so the request and the handler's state are not
        // moved through a future per step (each a copy of the handler's whole state). The
        // request is the block's own as it was captured: rebinding it inside would keep a
        // second copy in the future.
        async move {
            let mut r = 'answer: {
                let (site, index, route, prefix_len) = match sites.route(&mut req) {
                    Ok(routed) => routed,
                    Err(r) => break 'answer r,
                };
                let r = 'route: {
                    let origin = match route.before(&req) {
                        Ok(origin) => origin,
                        Err(r) => break 'route r,
                    };
                    let user = match &route.rules.auth {
                        Some(auth) => match auth.check(&req).await {
                            Ok(user) => {
                                req.extensions.insert(user.clone());
                                Some(user)
                            }
                            Err(refused) => break 'route refused,
                        },
                        None => None,
                    };
                    if let Err(r) = route.prepare(&mut req, prefix_len) {
                        break 'route r;
                    }
                    let rest_at = if route.exact { usize::MAX } else { prefix_len };
                    let timeout = route.rules.rules.limits.timeout;
                    let r = match (timeout, &route.handler) {
                        // The common case: files at the site's root, nothing to put back.
                        (None, HandlerRt::Files { files, cgi: None }) if prefix_len == 0 => {
                            files.call(req).await
                        }
                        (None, handler) => match handler.at_once(&req, rest_at) {
                            Some(r) => r,
                            // Boxed, so that this future stays the size of the common case's.
                            None => Box::pin(handler.call(req, rest_at)).await,
                        },
                        (Some(t), handler) => {
                            Box::pin(tokio::time::timeout(t, handler.call(req, rest_at)))
                                .await
                                .unwrap_or_else(|_| Response::error(StatusCode::GATEWAY_TIMEOUT))
                        }
                    };
                    route.after(r, user, origin.as_ref())
                };
                let mut r = r;
                if self.metrics {
                    r.tag = site.tags.get(index).cloned();
                }
                site.page(r)
            };
            if tls && let Some(v) = &self.hsts {
                r.headers
                    .insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
            }
            r
        }
    }
}

/// What [`Sites::route`] chose: the site, the route's index and itself, and how much of the
/// path the route's prefix covers.
type Routed<'a> = (&'a SiteRt, usize, &'a RouteRt, usize);

impl Sites {
    /// The site by `Host` and the route by path (the request's path made canonical), or the
    /// answer when there is none. The request is lent, not moved, here and in the steps
    /// below: it is large, and each move is a copy.
    fn route(&self, req: &mut Request) -> Result<Routed<'_>, Response> {
        let Some(site) = self
            .hosts
            .find(req.head.host())
            .and_then(|i| self.sites.get(i))
        else {
            return Err(Response::error(self.unknown_host));
        };
        // Routes see one spelling of a path (no allocation for the usual one).
        match config::table::canonical_path(req.path()) {
            Ok(std::borrow::Cow::Borrowed(_)) => {}
            Ok(std::borrow::Cow::Owned(path)) => set_path(req, &path)?,
            Err(config::table::BadPath) => return Err(Response::error(StatusCode::BAD_REQUEST)),
        }
        let Some(found) = site.routes.find(req.path()) else {
            return Err(site.page(Response::error(StatusCode::NOT_FOUND)));
        };
        let Some(route) = site.handlers.get(found.route) else {
            return Err(Response::error(StatusCode::NOT_FOUND));
        };
        Ok((site, found.route, route, found.prefix_len))
    }

    /// The databases of its `demo` routes, for the admin listener's `/readyz`.
    pub fn stores(&self) -> &[app::guestbook::store::Store] {
        &self.stores
    }
}

impl SiteRt {
    /// The site's page for an error status, in place of the plain body.
    fn page(&self, mut r: Response) -> Response {
        if !(r.status.is_client_error() || r.status.is_server_error()) {
            return r;
        }
        if let Some(page) = self.errors.get(&r.status.as_u16()) {
            r.headers.remove("content-type");
            r.headers.remove("content-encoding");
            r.headers.append(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r.body = ResponseBody::Full(page.clone());
        }
        r
    }
}

impl RouteRt {
    /// `allow`/`deny` (403), `rate` (429) and a CORS preflight (answered here); the request
    /// and its `Origin` when it goes on.
    fn before(&self, req: &Request) -> Result<Option<HeaderValue>, Response> {
        let rules = &self.rules;
        let peer = req.conn.peer.ip();
        if !config_rules::permitted(&rules.rules.allow, &rules.rules.deny, peer) {
            return Err(Response::error(StatusCode::FORBIDDEN));
        }
        if let Some(rate) = &rules.rate
            && let Err(wait) = rate.take(peer, Instant::now())
        {
            return Err(config_rules::too_many(wait));
        }
        let origin = match &rules.cors {
            Some(cors) if Cors::is_preflight(req) => return Err(cors.preflight(req)),
            Some(_) => req.headers().get("origin").cloned(),
            None => None,
        };
        Ok(origin)
    }

    /// After `auth`: `limits.body` (413), and the request as the handler sees it.
    fn prepare(&self, req: &mut Request, prefix_len: usize) -> Result<(), Response> {
        if let Some(max) = self.rules.rules.limits.body {
            match req.body.len() {
                Some(n) if n > max => return Err(Response::error(StatusCode::PAYLOAD_TOO_LARGE)),
                Some(_) => {}
                None => limit_body(req, max),
            }
        }
        // Files and the demo site answer as if at `/`; CGI keeps the whole path (its
        // SCRIPT_NAME), a script of a files route too; redirects and fixed answers read it as
        // it is.
        let mounted =
            prefix_len > 0 && matches!(self.handler, HandlerRt::Files { .. } | HandlerRt::Demo(_));
        if mounted && self.slash && req.path().len() == prefix_len {
            return Err(slash_redirect(req));
        }
        if mounted && !self.handler.runs_script(req.path()) {
            strip(req, prefix_len)?;
        }
        Ok(())
    }

    /// The rules on the answer: the verified user, CORS, `cache`, `headers`.
    fn after(
        &self,
        mut r: Response,
        user: Option<server::RemoteUser>,
        origin: Option<&HeaderValue>,
    ) -> Response {
        let rules = &self.rules;
        if user.is_some() {
            r.user = user;
        }
        if let Some(cors) = &rules.cors {
            cors.apply(origin, &mut r);
        }
        if let Some(cc) = &rules.rules.cache {
            r.headers.insert(header::CACHE_CONTROL, cc.clone());
        }
        if !rules.headers.is_empty() {
            config_rules::apply_headers(&rules.headers, &mut r);
        }
        r
    }
}

/// A body of unknown length (chunked) that ends in [`server::BodyError::TooLarge`] once it
/// passes `max` bytes, so the handler answers `413` as it would for the server's own limit.
fn limit_body(req: &mut Request, max: u64) {
    use futures_util::StreamExt;
    let body = std::mem::replace(&mut req.body, server::Body::empty());
    let mut seen = 0u64;
    let limited = body.into_stream().map(move |piece| {
        let piece = piece?;
        seen += piece.len() as u64;
        if seen > max {
            return Err(server::BodyError::TooLarge);
        }
        Ok(piece)
    });
    req.body = server::Body::from_stream(limited, None);
}

/// `301` from `/app` to `/app/` (query kept), as nginx answers a location with a slash.
fn slash_redirect(req: &Request) -> Response {
    let mut to = String::with_capacity(req.path().len() + 1);
    to.push_str(req.path());
    to.push('/');
    if let Some(q) = req.query() {
        to.push('?');
        to.push_str(q);
    }
    let mut r = Response::new(StatusCode::MOVED_PERMANENTLY);
    match HeaderValue::from_str(&to) {
        Ok(v) => r.headers.insert(header::LOCATION, v),
        Err(_) => return Response::error(StatusCode::BAD_REQUEST),
    }
    r
}

/// Takes the first `prefix_len` bytes (the mount) off the request's path.
fn strip(req: &mut Request, prefix_len: usize) -> Result<(), Response> {
    let path = req.path();
    let rest = match &path[prefix_len..] {
        "" => "/".to_string(),
        rest => rest.to_string(),
    };
    let mount = path[..prefix_len].to_string();
    set_path(req, &rest)?;
    req.extensions.insert(Mount(mount));
    Ok(())
}

/// Replaces the request's path, keeping its query.
fn set_path(req: &mut Request, path: &str) -> Result<(), Response> {
    let mut target = String::with_capacity(path.len() + req.query().map_or(0, |q| q.len() + 1));
    target.push_str(path);
    if let Some(q) = req.query() {
        target.push('?');
        target.push_str(q);
    }
    req.head.target = http1::Target::parse(target.as_bytes(), req.method())
        .map_err(|_| Response::error(StatusCode::BAD_REQUEST))?;
    Ok(())
}

/// The prefix a request was mounted under, for handlers that write links.
#[derive(Debug, Clone)]
pub struct Mount(pub String);

impl HandlerRt {
    /// Whether a files route runs `path` (whole, not stripped of its mount) as a script.
    fn runs_script(&self, path: &str) -> bool {
        matches!(self, HandlerRt::Files { cgi: Some(cgi), .. } if cgi.matches(path))
    }

    /// The answer of a handler that needs no waiting (`redirect`, `respond`).
    fn at_once(&self, req: &Request, rest_at: usize) -> Option<Response> {
        match self {
            HandlerRt::Redirect(to) => Some(redirect(to, req, rest_at)),
            HandlerRt::Respond {
                status,
                body,
                content_type,
            } => {
                let mut r = Response::new(*status);
                r.headers.append(header::CONTENT_TYPE, content_type.clone());
                r.body = ResponseBody::Full(body.clone());
                Some(r)
            }
            _ => None,
        }
    }

    /// Answers `req`; a redirect's `{rest}` is the path from byte `rest_at` on.
    async fn call(&self, req: Request, rest_at: usize) -> Response {
        let mount = req.extensions.get::<Mount>().map(|m| m.0.clone());
        let mut r = match self {
            // A request stripped of its mount is never a script's (see `runs_script`).
            HandlerRt::Files { files, cgi } => match cgi {
                Some(cgi) if mount.is_none() && cgi.matches(req.path()) => {
                    let local = Unmounted {
                        files: files.clone(),
                        mount: files.config().mount.as_str().into(),
                    };
                    Box::pin(cgi.handle(req, &local)).await
                }
                _ => files.call(req).await,
            },
            HandlerRt::Cgi(cgi) => Box::pin(cgi.handle(req, &NotFound)).await,
            HandlerRt::Demo(site) => {
                if mount.is_some() {
                    let mut req = req;
                    // The pages are rewritten below, so they must come uncompressed.
                    req.head.headers.remove("accept-encoding");
                    Box::pin(site.call(req)).await
                } else {
                    return Box::pin(site.call(req)).await;
                }
            }
            HandlerRt::Redirect(_) | HandlerRt::Respond { .. } => match self.at_once(&req, rest_at)
            {
                Some(r) => r,
                None => Response::error(StatusCode::INTERNAL_SERVER_ERROR),
            },
        };
        if let Some(mount) = mount {
            crate::cmd::config_mount::relocate(&mut r, &mount);
            if matches!(self, HandlerRt::Demo(_)) {
                crate::cmd::config_mount::rewrite_html(&mut r, &mount);
            }
        }
        r
    }
}

/// The files of a route, for a script's local redirect (RFC 3875 6.2.2) that leads outside
/// the script directories: the path is whole, so a mounted route's prefix comes off first.
struct Unmounted {
    files: Arc<files::Files>,
    mount: Arc<str>,
}

impl Service for Unmounted {
    async fn call(&self, mut req: Request) -> Response {
        let len = self.mount.len();
        if len == 0 {
            return self.files.call(req).await;
        }
        let path = req.path();
        let under =
            path.starts_with(&*self.mount) && matches!(path.as_bytes().get(len), None | Some(b'/'));
        if !under {
            return Response::error(StatusCode::NOT_FOUND);
        }
        if let Err(r) = strip(&mut req, len) {
            return r;
        }
        let mut r = self.files.call(req).await;
        crate::cmd::config_mount::relocate(&mut r, &self.mount);
        r
    }
}

/// Local redirects of a CGI route's scripts that lead outside it.
struct NotFound;

impl Service for NotFound {
    async fn call(&self, _: Request) -> Response {
        Response::error(StatusCode::NOT_FOUND)
    }
}

/// `redirect = { to, status }`, with `{rest}` (the path after the route's prefix) and
/// `{query}` (the query string without `?`) filled in.
fn redirect(to: &config::Redirect, req: &Request, rest_at: usize) -> Response {
    let path = req.path();
    let rest = path.get(rest_at..).unwrap_or("");
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let query = req.query().unwrap_or("");
    let target = to.to.replace("{rest}", rest).replace("{query}", query);
    let mut r = Response::new(to.status);
    match HeaderValue::from_str(&target) {
        Ok(v) => r.headers.insert(header::LOCATION, v),
        Err(_) => return Response::error(StatusCode::BAD_REQUEST),
    }
    r
}
