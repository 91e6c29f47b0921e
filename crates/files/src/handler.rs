//! [`Files`]: the service that answers requests from a directory.

use std::sync::Arc;

use futures_util::future::Either;
use http::{HeaderValue, Method, StatusCode, header};
use http1::RequestHead;
use http1::response::RenderedFields;
use semantics::negotiate;
use server::{Request, Response, Service};

use crate::cache::{self, Cache, Cached};
use crate::compress::{self, Encoding};
use crate::listing::Sort;
use crate::lookup::{self, Found, Want};
use crate::resolve::{self, RelPath};
use crate::respond::{self, Content, Rep, RepMeta};
use crate::{Config, Error};

/// The methods a file accepts, for `Allow`.
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// The methods accepted when uploads are on.
const ALLOW_CHANGES: &str = "GET, HEAD, OPTIONS, PUT, DELETE, MKCOL, POST";

thread_local! {
    /// The cache key of the request being answered, built in place: a buffer per thread rather
    /// than an allocation per request.
    static KEY: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Serves files from [`Config::root`]. Cheap to clone; clones share the cache.
#[derive(Debug, Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: Config,
    cache: Arc<Cache>,
    spa: Option<RelPath>,
}

impl Files {
    /// A service for `cfg`.
    pub fn new(cfg: Config) -> Files {
        let spa = cfg.spa.as_ref().map(|p| RelPath {
            path: p.clone(),
            slash: false,
        });
        Files {
            inner: Arc::new(Inner {
                cfg,
                cache: Arc::new(Cache::new()),
                spa,
            }),
        }
    }

    /// The configuration it serves.
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// The response to a request with head `req` (a file server never reads a body), with the
    /// configured extra headers.
    pub async fn serve(&self, req: &RequestHead) -> Response {
        let plan = self.plan(req);
        self.complete(req, plan).await
    }

    /// What can be answered without waiting: errors, `OPTIONS`, and cache hits (one look at
    /// the change queue, or one `stat`), which is most requests; the rest is left to
    /// [`Files::complete`].
    fn plan(&self, req: &RequestHead) -> Plan {
        let method = &req.method;
        if method == Method::OPTIONS {
            return Plan::Ready(self.options(req));
        }
        if method != Method::GET && method != Method::HEAD {
            return Plan::Ready(error(if semantics::method::is_standard(method) {
                Error::MethodNotAllowed
            } else {
                Error::NotImplemented
            }));
        }
        let ranged = method == Method::GET && req.headers.contains("range");
        let encodings = if ranged {
            Vec::new()
        } else {
            compress::accepted(&req.headers)
        };
        // The path is decoded into the key buffer, and a path object made only on a miss.
        let looked = KEY.with_borrow_mut(|key| {
            let slash = resolve::resolve_into(req.target.path(), self.inner.cfg.hidden, key)?;
            let path_len = key.len();
            if slash {
                key.push(b'/');
            }
            Ok(match self.cached(key, &encodings) {
                Some(hit) => Looked::Hit(hit),
                None => Looked::Miss(RelPath::from_bytes(&key[..path_len], slash)),
            })
        });
        let rel = match looked {
            Ok(Looked::Miss(rel)) => rel,
            Ok(Looked::Hit(hit)) => return self.hit(req, hit),
            Err(Error::NotFound) => return Plan::Fallback(Error::NotFound),
            Err(e) => return Plan::Ready(error(e)),
        };
        if rel.slash
            && self.inner.cfg.listing
            && self.inner.cfg.archives
            && let Some(kind) = crate::archive::requested(req.target.query())
        {
            let head = req.method == Method::HEAD;
            return Plan::Ready(crate::archive::response(&self.inner.cfg, &rel, kind, head));
        }
        let sort = Sort::from_query(req.target.query());
        let json = negotiate::wants_json(req.target.query(), req.headers.get_all("accept"));
        if rel.slash && self.inner.cfg.listing {
            let key = cache::page_key(&rel.key(), sort, json);
            if let Some(page) = self.inner.cache.page(&key) {
                return Plan::Ready(listing_response(page.body.clone(), page.json));
            }
        }
        Plan::Find(Want {
            rel,
            encodings,
            sort,
            json,
        })
    }

    /// The response `plan` leads to, with the configured extra headers: what is left of a
    /// request that touches the disk runs on the blocking pool.
    async fn complete(&self, req: &RequestHead, plan: Plan) -> Response {
        let mut r = match plan {
            Plan::Finished(r) => return r,
            Plan::Ready(r) => r,
            Plan::Fallback(e) => self.fallback(req, e).await,
            Plan::Find(want) => match self.find(want).await {
                Ok(found) => self.found(req, found),
                Err(e @ Error::NotFound) => self.fallback(req, e).await,
                Err(e) => error(e),
            },
        };
        self.finish(&mut r);
        r
    }

    /// The cached representation for a client accepting `encodings`, if one is current;
    /// `key` holds the decoded path (and a `/` for a directory), and the tags are added to it.
    ///
    /// Costs one look at the change queue for a watched file (one `stat` as well while the
    /// cache's writer is busy with changes to apply), else one `stat` (or `open` +
    /// `fstat` for a large file), done right here on the event loop: cheaper than waking a
    /// blocking thread, and the whole cost of a hit.
    fn cached(&self, key: &mut Vec<u8>, encodings: &[Encoding]) -> Option<Hit> {
        let cache = &self.inner.cache;
        let synced = cache.sync();
        let base = key.len();
        for enc in encodings.iter().copied().map(Some).chain([None]) {
            key.truncate(base);
            cache::push_tag(key, enc);
            let Some(entry) = cache.get(key) else {
                continue;
            };
            if enc.is_none() && entry.meta.alternatives && !encodings.is_empty() {
                return None; // an encoded form may exist but is not cached yet
            }
            let Some(content) = entry.content(synced) else {
                cache.remove(key);
                return None;
            };
            return Some(Hit { entry, content });
        }
        None
    }

    /// The answer from a current cache entry. The usual request, without preconditions or
    /// ranges, gets the whole `200` with header fields rendered once per entry, so it costs
    /// neither a field list nor a copy of each value.
    fn hit(&self, req: &RequestHead, hit: Hit) -> Plan {
        let Hit { entry, content } = hit;
        if !respond::is_whole(&req.method, &req.headers) {
            let rep = Rep {
                meta: entry.meta.clone(),
                content,
            };
            return Plan::Ready(self.file(req, rep));
        }
        let fields = entry.whole.get_or_init(|| self.whole_fields(&entry.meta));
        let mut r = Response::new(StatusCode::OK);
        r.rendered = Some(fields.clone());
        r.body = respond::whole_body(content, entry.meta.len);
        Plan::Finished(r)
    }

    /// The header fields of a whole `200` for `meta`, as the general path builds them,
    /// [`Files::finish`] included.
    fn whole_fields(&self, meta: &RepMeta) -> RenderedFields {
        let mut r = Response::new(StatusCode::OK);
        respond::entity_headers(&mut r.headers, meta.clone(), &self.inner.cfg.cache_control);
        self.finish(&mut r);
        RenderedFields::render(&r.headers)
    }

    /// Runs the filesystem part on the blocking pool.
    async fn find(&self, want: Want) -> Result<Found, Error> {
        let inner = self.inner.clone();
        let task =
            tokio::task::spawn_blocking(move || lookup::find(&inner.cfg, &inner.cache, &want));
        task.await
            .unwrap_or_else(|e| Err(Error::Io(std::io::Error::other(e))))
    }

    /// `--spa`: the app's page instead of a 404.
    async fn fallback(&self, req: &RequestHead, err: Error) -> Response {
        let Some(spa) = self.inner.spa.clone() else {
            return error(err);
        };
        let want = Want {
            rel: spa,
            encodings: compress::accepted(&req.headers),
            sort: Sort::from_query(None),
            json: false,
        };
        match self.find(want).await {
            Ok(Found::File(rep)) => self.file(req, rep),
            Ok(_) => error(Error::NotFound),
            Err(e) => error(e),
        }
    }

    fn found(&self, req: &RequestHead, found: Found) -> Response {
        match found {
            Found::File(rep) => self.file(req, rep),
            Found::Redirect => redirect(req),
            Found::Listing(page, json) => listing_response(page, json),
        }
    }

    fn file(&self, req: &RequestHead, rep: Rep) -> Response {
        respond::file_response(
            &req.method,
            &req.headers,
            rep,
            &self.inner.cfg.cache_control,
        )
    }

    /// `OPTIONS`: what a file allows, and the answer to a CORS preflight when enabled.
    fn options(&self, req: &RequestHead) -> Response {
        let allow = if self.inner.cfg.upload.is_some() {
            ALLOW_CHANGES
        } else {
            ALLOW
        };
        let mut r = Response::new(StatusCode::NO_CONTENT).header(header::ALLOW, allow);
        let preflight =
            req.headers.contains("origin") && req.headers.contains("access-control-request-method");
        if self.inner.cfg.cors && preflight {
            r = r
                .header(header::ACCESS_CONTROL_ALLOW_METHODS, allow)
                .header(header::ACCESS_CONTROL_MAX_AGE, "86400");
            let asked = req.headers.get("access-control-request-headers").cloned();
            r.headers.append(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                asked.unwrap_or(HeaderValue::from_static("*")),
            );
        }
        r
    }

    /// Headers every response carries: `nosniff`, CORS, and the operator's own.
    fn finish(&self, r: &mut Response) {
        let cfg = &self.inner.cfg;
        r.headers.append(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if cfg.cors {
            r.headers.append(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            r.headers.append(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("ETag, Content-Range, Content-Encoding, Accept-Ranges"),
            );
        }
        // The operator's fields. nginx's `add_header` appends a second field beside the
        // server's; here a field replaces the server's under the same name (so `-H
        // 'Cache-Control: ...'` overrides `no-cache` rather than contradicting it), except
        // `Vary`, whose members each tell caches something true: the operator's are merged
        // into the server's `Accept-Encoding`/`Accept`. Fields the server computes (framing,
        // coding, validators, `Date`) are refused at startup ([`crate::config::is_computed`]).
        for (name, _) in &cfg.headers {
            if name != header::VARY {
                r.headers.remove(name.as_str());
            }
        }
        for (name, value) in &cfg.headers {
            if name == header::VARY {
                merge_vary(&mut r.headers, value);
            } else {
                r.headers.append(name.clone(), value.clone());
            }
        }
        cfg.rules.apply(&mut r.headers);
    }
}

/// What the cache had for a request's path.
enum Looked {
    Hit(Hit),
    /// Nothing current: the path, to look it up on disk.
    Miss(RelPath),
}

/// A current cache entry and its content.
struct Hit {
    entry: Arc<Cached>,
    content: Content,
}

/// How far [`Files::plan`] got.
enum Plan {
    /// The response, [`Files::finish`] already applied.
    Finished(Response),
    /// The response, but for the fields every response carries.
    Ready(Response),
    /// The path must be looked up on disk.
    Find(Want),
    /// Nothing is there: the `--spa` page, or this error.
    Fallback(Error),
}

/// A cache hit is answered before the future is even polled, and the future of the slow path
/// is boxed: the server keeps the future of every request in flight, and most are hits.
impl Service for Files {
    fn call(&self, req: Request) -> impl Future<Output = Response> + Send {
        if let Some(up) = &self.inner.cfg.upload
            && crate::upload::is_change(req.method())
        {
            return Either::Right(Box::pin(async move {
                let mut r = crate::upload::handle(&self.inner.cfg, up, req).await;
                self.finish(&mut r);
                r
            })
                as std::pin::Pin<Box<dyn Future<Output = Response> + Send + '_>>);
        }
        let head = req.head;
        match self.plan(&head) {
            Plan::Finished(r) => Either::Left(std::future::ready(r)),
            Plan::Ready(mut r) => {
                self.finish(&mut r);
                Either::Left(std::future::ready(r))
            }
            pending => Either::Right(Box::pin(async move { self.complete(&head, pending).await })
                as std::pin::Pin<Box<dyn Future<Output = Response> + Send + '_>>),
        }
    }
}

/// Adds the members of `extra` to the response's `Vary` (RFC 9110 12.5.5: a list), leaving out
/// those already named.
fn merge_vary(h: &mut http1::Headers, extra: &HeaderValue) {
    let Some(old) = h.get_str("vary") else {
        h.append(header::VARY, extra.clone());
        return;
    };
    let mut merged = old.to_string();
    for member in extra.to_str().unwrap_or("").split(',').map(str::trim) {
        let known = merged
            .split(',')
            .any(|m| m.trim().eq_ignore_ascii_case(member));
        if !member.is_empty() && !known {
            merged.push_str(", ");
            merged.push_str(member);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&merged) {
        h.insert(header::VARY, v);
    }
}

/// A rendered listing. Listings change whenever the directory does, so clients revalidate.
fn listing_response(page: bytes::Bytes, json: bool) -> Response {
    let r = if json {
        Response::with_body(StatusCode::OK, "application/json", page)
    } else {
        Response::html(StatusCode::OK, page)
    };
    r.header(header::CACHE_CONTROL, "no-cache")
        .header(header::VARY, "Accept")
}

/// The one place an [`Error`] becomes a response. Bodies are the bare status text: nothing
/// about the server's files or paths.
pub(crate) fn error(e: Error) -> Response {
    if let Error::Io(io) = &e {
        tracing::warn!(error = %io, "file system error");
    }
    let mut r = Response::error(e.status());
    if matches!(e, Error::MethodNotAllowed) {
        r.headers
            .append(header::ALLOW, HeaderValue::from_static(ALLOW));
    }
    r
}

/// `301` to the directory's URL with its slash, query kept. A path starting with several
/// slashes is collapsed to one, or `//evil.example/` would read as another host.
fn redirect(req: &RequestHead) -> Response {
    let path = req.target.path().trim_start_matches('/');
    let mut location =
        String::with_capacity(path.len() + 2 + req.target.query().map_or(0, |q| q.len() + 1));
    location.push('/');
    location.push_str(path);
    location.push('/');
    if let Some(q) = req.target.query() {
        location.push('?');
        location.push_str(q);
    }
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            let mut r = Response::new(StatusCode::MOVED_PERMANENTLY);
            r.headers.append(header::LOCATION, v);
            r
        }
        Err(_) => error(Error::BadPath("unencodable location")),
    }
}
