//! The per-route rules of a configuration at run time: who may ask (allow/deny), how often
//! (a token bucket per client address), CORS, and the header fields added to the answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use config::ip::Cidr;
use http::{HeaderValue, Method, header};
use server::{Request, Response};

/// Whether `ip` may use a route: inside `allow` when it is not empty, and inside no `deny`
/// network (nginx's `allow`/`deny` with the list order simplified to "allow, then deny").
pub fn permitted(allow: &[Cidr], deny: &[Cidr], ip: IpAddr) -> bool {
    (allow.is_empty() || allow.iter().any(|c| c.contains(ip)))
        && !deny.iter().any(|c| c.contains(ip))
}

/// Clients whose buckets are remembered at once; past it, buckets that have refilled (which
/// say nothing a new bucket would not) are forgotten, and if none have, the oldest half.
const MAX_CLIENTS: usize = 65_536;

/// `rate = { per-second, burst }`: a token bucket per client address. A client may send
/// `burst` requests at once, then `per-second` a second; past that it gets `429` with
/// `Retry-After` saying when the next one would be accepted.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(rate: config::Rate) -> RateLimiter {
        RateLimiter {
            per_second: rate.per_second,
            burst: f64::from(rate.burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `ip`, or says in how many whole seconds one will be there.
    pub fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let ip = ip.to_canonical();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&ip) {
            self.forget(&mut buckets, now);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        Err(wait.ceil().max(1.0) as u64)
    }

    fn forget(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let full = |b: &Bucket| {
            b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_second
                >= self.burst
        };
        buckets.retain(|_, b| !full(b));
        if buckets.len() >= MAX_CLIENTS {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cut);
        }
    }
}

/// `429 Too Many Requests` with `Retry-After` (RFC 6585 4).
pub fn too_many(retry_after: u64) -> Response {
    let mut r = Response::error(http::StatusCode::TOO_MANY_REQUESTS);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers.insert(header::RETRY_AFTER, v);
    }
    r
}

/// CORS as the Fetch standard defines it: preflights answered here, and the actual
/// responses given `Access-Control-Allow-Origin` and the rest.
#[derive(Debug)]
pub struct Cors {
    /// `None` is any origin.
    origins: Option<Vec<String>>,
    methods: Vec<Method>,
    allow_methods: HeaderValue,
    allow_headers: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    credentials: bool,
    max_age: Option<HeaderValue>,
}

fn joined<T: AsRef<str>>(items: &[T]) -> Option<HeaderValue> {
    let text = items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    (!text.is_empty())
        .then(|| HeaderValue::from_str(&text).ok())
        .flatten()
}

impl Cors {
    pub fn new(c: &config::Cors) -> Cors {
        let methods: Vec<&str> = c.methods.iter().map(Method::as_str).collect();
        let headers: Option<Vec<&str>> = c
            .headers
            .as_ref()
            .map(|h| h.iter().map(|n| n.as_str()).collect());
        let expose: Vec<&str> = c.expose.iter().map(|n| n.as_str()).collect();
        Cors {
            origins: c.origins.clone(),
            methods: c.methods.clone(),
            allow_methods: joined(&methods).unwrap_or(HeaderValue::from_static("GET, HEAD, POST")),
            allow_headers: headers.as_deref().and_then(joined),
            expose: joined(&expose),
            credentials: c.credentials,
            max_age: c
                .max_age
                .and_then(|s| HeaderValue::from_str(&s.to_string()).ok()),
        }
    }

    /// Whether `req` is a preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn is_preflight(req: &Request) -> bool {
        req.method() == Method::OPTIONS
            && req.headers().contains("origin")
            && req.headers().contains("access-control-request-method")
    }

    fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            None => true,
            Some(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin`, if it is allowed: `*` for any
    /// origin without credentials, else the origin itself (and the answer varies by it).
    fn allow_origin(&self, origin: &HeaderValue) -> Option<(HeaderValue, bool)> {
        let text = origin.to_str().ok()?;
        if !self.allows(text) {
            return None;
        }
        if self.origins.is_none() && !self.credentials {
            return Some((HeaderValue::from_static("*"), false));
        }
        Some((origin.clone(), true))
    }

    /// The answer to a preflight: `204`, with the permissions when the origin and the method
    /// are allowed, without them otherwise (the browser then refuses the request).
    pub fn preflight(&self, req: &Request) -> Response {
        let mut r = Response::new(http::StatusCode::NO_CONTENT);
        r.headers
            .append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = req.headers().get("origin") else {
            return r;
        };
        let method_ok = req
            .headers()
            .get_str("access-control-request-method")
            .is_some_and(|m| {
                let simple = matches!(m, "GET" | "HEAD" | "POST");
                simple || self.methods.iter().any(|x| x.as_str() == m)
            });
        let Some((allow, _)) = self.allow_origin(origin).filter(|_| method_ok) else {
            return r;
        };
        let h = &mut r.headers;
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            self.allow_methods.clone(),
        );
        // Without a list, whatever the preflight asks for is allowed (as Caddy's and most
        // frameworks' CORS do), echoed because `*` is not a wildcard with credentials.
        let asked = req.headers().get("access-control-request-headers").cloned();
        if let Some(v) = self.allow_headers.clone().or(asked) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if self.credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(age) = &self.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, age.clone());
        }
        r
    }

    /// Adds the CORS fields to an actual response for a request from `origin`.
    pub fn apply(&self, origin: Option<&HeaderValue>, r: &mut Response) {
        if self.origins.is_some() || self.credentials {
            append_vary(r, "Origin");
        }
        let Some((allow, _)) = origin.and_then(|o| self.allow_origin(o)) else {
            return;
        };
        r.headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        if self.credentials {
            r.headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(e) = &self.expose {
            r.headers
                .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, e.clone());
        }
    }
}

/// Adds `name` to the response's `Vary` unless it is there.
fn append_vary(r: &mut Response, name: &str) {
    let has = r
        .headers
        .get_all("vary")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.trim().eq_ignore_ascii_case(name) || m.trim() == "*");
    if !has && let Ok(v) = HeaderValue::from_str(name) {
        r.headers.append(header::VARY, v);
    }
}

/// The header fields a route adds to every answer, made cheap to copy per response: each
/// name and value is kept once for the life of the process, so a response's copy is a pointer
/// to static bytes. Made from the file's text they would be reference-counted, and the worker
/// threads copying them for every answer would pass the count's cache line between cores.
/// The set is bounded by the distinct fields of the files loaded (a reload of the same file
/// adds nothing).
pub fn static_fields(rules: &mut config::Rules) {
    for (name, value) in rules.headers.set.iter_mut().chain(&mut rules.headers.add) {
        *name = static_name(name);
        *value = static_value(value);
    }
    if let Some(cc) = &mut rules.cache {
        *cc = static_value(cc);
    }
}

/// Every name and value [`static_fields`] kept.
static KEPT: Mutex<Vec<&'static [u8]>> = Mutex::new(Vec::new());

/// `bytes` as a slice that lives as long as the process, shared with an equal one kept before.
fn kept(bytes: &[u8]) -> &'static [u8] {
    let mut all = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = all.iter().find(|b| **b == bytes) {
        return b;
    }
    let b: &'static [u8] = Box::leak(bytes.into());
    all.push(b);
    b
}

fn static_value(v: &HeaderValue) -> HeaderValue {
    let bytes = bytes::Bytes::from_static(kept(v.as_bytes()));
    match HeaderValue::from_maybe_shared(bytes) {
        Ok(mut out) => {
            out.set_sensitive(v.is_sensitive());
            out
        }
        Err(_) => v.clone(),
    }
}

fn static_name(n: &http::HeaderName) -> http::HeaderName {
    // A standard name is a constant already; a custom one is valid and lowercase, as
    // `from_static` requires.
    match std::str::from_utf8(kept(n.as_str().as_bytes())) {
        Ok(s) if http::HeaderName::from_bytes(s.as_bytes()).is_ok() => {
            http::HeaderName::from_static(s)
        }
        _ => n.clone(),
    }
}

/// A route's `headers` as the rules a response's fields go through.
///
/// `Server` is one the encoders add to every response that has none, so removing it is
/// setting it to [`http1::response::NO_SERVER`], which they leave out.
pub fn field_rules(h: &config::HeaderRules) -> files::config::FieldRules {
    let (server, remove): (Vec<_>, Vec<_>) =
        (h.remove.iter().cloned()).partition(|name| name == http::header::SERVER);
    let mut set = h.set.clone();
    // Removed first, as the rules go: a `set` of it still wins.
    if !server.is_empty() && !set.iter().any(|(name, _)| name == http::header::SERVER) {
        set.push((http::header::SERVER, http1::response::NO_SERVER));
    }
    files::config::FieldRules {
        remove,
        set,
        add: h.add.clone(),
    }
}

/// `headers = { set, add, remove }` applied to a response. Fields rendered once for many
/// responses (a cached file's) are the response's too: when the rules change or remove one
/// of them, this response takes a list of its own.
pub fn apply_headers(rules: &files::config::FieldRules, r: &mut Response) {
    if let Some(rendered) = r.rendered.take_if(|f| rules.touches(f.fields())) {
        // After the response's own fields, as they are sent.
        for (name, value) in rendered.fields() {
            r.headers.append(name.clone(), value.clone());
        }
    }
    rules.apply(&mut r.headers);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let rl = RateLimiter::new(config::Rate {
            per_second: 2.0,
            burst: 3,
        });
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.take(ip, t0).is_ok());
        }
        assert_eq!(rl.take(ip, t0), Err(1));
        assert!(rl.take("10.0.0.2".parse().unwrap(), t0).is_ok());
        assert!(rl.take(ip, t0 + Duration::from_millis(600)).is_ok());
        assert!(rl.take(ip, t0 + Duration::from_millis(600)).is_err());
    }

    #[test]
    fn allow_then_deny() {
        let net = |s: &str| Cidr::parse(s).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(permitted(&[], &[], ip("1.2.3.4")));
        assert!(!permitted(&[net("10.0.0.0/8")], &[], ip("1.2.3.4")));
        assert!(permitted(&[net("10.0.0.0/8")], &[], ip("10.1.2.3")));
        assert!(!permitted(
            &[net("10.0.0.0/8")],
            &[net("10.1.0.0/16")],
            ip("10.1.2.3")
        ));
    }
}
