//! The validated configuration: what the server runs. Every value here has been checked, every
//! path is absolute, and nothing refers back to the file's text.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::host::HostPattern;
use crate::ip::Cidr;

/// A whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any (for messages and reloads).
    pub file: Option<PathBuf>,
    /// Process-wide settings.
    pub server: Server,
    /// How the `acme` names of the listeners get their certificates; set when any listener
    /// has `acme`.
    pub acme: Option<Acme>,
    /// Where to listen; at least one.
    pub listen: Vec<Listen>,
    /// The sites, in file order; at least one.
    pub sites: Vec<Site>,
}

/// `[server]`: the global flags' settings. `None` keeps the server's own default.
#[derive(Debug, Clone)]
pub struct Server {
    pub threads: Option<usize>,
    pub max_connections: Option<usize>,
    pub head_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub write_timeout: Option<Duration>,
    pub grace: Option<Duration>,
    pub max_body_size: Option<u64>,
    pub max_header_size: Option<usize>,
    pub max_headers: Option<usize>,
    pub max_request_line: Option<usize>,
    /// `false` turns HTTP/2 off (`--no-http2`).
    pub http2: bool,
    /// The access log's file; `None` is standard error.
    pub access_log: Option<PathBuf>,
    /// `common`, `combined` or `json`.
    pub log_format: LogFormat,
    /// No access log, warnings and errors only.
    pub quiet: bool,
    /// The status for a host no site claims when no site is the default: 421 (the default:
    /// RFC 9110 15.5.20, the request reached a server that does not answer for that name) or
    /// 404.
    pub unknown_host: StatusCode,
}

impl Default for Server {
    /// What a file without `[server]` gets: the flags' defaults.
    fn default() -> Self {
        Server {
            threads: None,
            max_connections: None,
            head_timeout: None,
            body_timeout: None,
            idle_timeout: None,
            write_timeout: None,
            grace: None,
            max_body_size: None,
            max_header_size: None,
            max_headers: None,
            max_request_line: None,
            http2: true,
            access_log: None,
            log_format: LogFormat::Common,
            quiet: false,
            unknown_host: StatusCode::MISDIRECTED_REQUEST,
        }
    }
}

/// The access log's line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Common Log Format.
    #[default]
    Common,
    /// CLF with referer and user agent.
    Combined,
    /// One JSON object per line.
    Json,
}

/// One `[[listen]]`.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The address and port.
    pub addr: SocketAddr,
    /// HTTPS on this address, or plain HTTP.
    pub tls: Option<Tls>,
}

/// How a listener gets its certificates.
#[derive(Debug, Clone)]
pub enum Tls {
    /// PEM files; SNI picks among the certificates of every TLS listener by the names in them.
    Files {
        cert: PathBuf,
        key: PathBuf,
        client_ca: Option<PathBuf>,
        hsts: Option<u64>,
    },
    /// A certificate for localhost made at start-up.
    SelfSigned { hsts: Option<u64> },
    /// Certificates for these names from an ACME CA.
    Acme { domains: Vec<String> },
}

/// `[acme]`: the CA and account for every `acme` name; `None` keeps the `--acme-*` flags'
/// default (Let's Encrypt, no contact, the XDG state directory, the challenge chosen by
/// whether a plain listener exists, 60 s before the first retry).
#[derive(Debug, Clone, Default)]
pub struct Acme {
    /// The ACME directory URL.
    pub directory: Option<String>,
    /// The contact address given to the CA.
    pub email: Option<String>,
    /// Extra CA certificates (PEM) to trust for the ACME server.
    pub ca: Option<PathBuf>,
    /// Where the account and certificates are kept.
    pub state: Option<PathBuf>,
    /// The challenge to ask for.
    pub challenge: Option<AcmeChallenge>,
    /// Seconds after a failed order before the next.
    pub retry: Option<f64>,
}

/// An ACME challenge type (RFC 8555 section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeChallenge {
    /// HTTP-01, answered on the plain listeners.
    Http01,
    /// TLS-ALPN-01 (RFC 8737), answered in the handshake on the HTTPS listeners.
    TlsAlpn01,
}

/// One `[[site]]`.
#[derive(Debug, Clone)]
pub struct Site {
    /// The names it answers; empty means any name (a catch-all).
    pub hosts: Vec<HostPattern>,
    /// Whether it answers hosts no site claims.
    pub default: bool,
    /// Pages sent instead of the plain error bodies, by status (absolute paths).
    pub errors: BTreeMap<u16, PathBuf>,
    /// The file its requests are logged to instead of the server's access log, and in what
    /// format; `None` logs them with everyone else's.
    pub access_log: Option<(PathBuf, LogFormat)>,
    /// The routes, in file order.
    pub routes: Vec<Route>,
}

/// How a route's path matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutePath {
    /// `path = "/a/"`: this path and everything under it, by whole segments; the longest
    /// prefix wins.
    Prefix(String),
    /// `path = "=/a"`: this path only; beats every prefix.
    Exact(String),
}

impl RoutePath {
    /// The path as written without `=`.
    pub fn as_str(&self) -> &str {
        match self {
            RoutePath::Prefix(p) | RoutePath::Exact(p) => p,
        }
    }
}

/// One `[[site.route]]`, with the site's rules merged in.
#[derive(Debug, Clone)]
pub struct Route {
    /// What it matches.
    pub path: RoutePath,
    /// What answers.
    pub handler: Handler,
    /// The rules around it.
    pub rules: Rules,
}

/// What answers a route's requests.
#[derive(Debug, Clone)]
pub enum Handler {
    Files(Files),
    Cgi(Cgi),
    Demo(Demo),
    Redirect(Redirect),
    Respond(Respond),
}

impl Handler {
    /// The key that names it in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Handler::Files(_) => "files",
            Handler::Cgi(_) => "cgi",
            Handler::Demo(_) => "demo",
            Handler::Redirect(_) => "redirect",
            Handler::Respond(_) => "respond",
        }
    }
}

/// `files = { .. }`: `sockserve serve`'s options.
#[derive(Debug, Clone)]
pub struct Files {
    /// The directory served, absolute.
    pub root: PathBuf,
    /// `None` keeps the default (index.html, index.htm).
    pub index: Option<Vec<String>>,
    pub listing: bool,
    pub hidden: bool,
    pub follow_symlinks: bool,
    pub compress: bool,
    /// Relative to the root.
    pub spa: Option<PathBuf>,
    /// Scripts under URL directories of the root, as `serve --cgi` runs them.
    pub cgi: Option<Cgi>,
    /// Uploads and changes; `None`: read-only.
    pub upload: Option<Upload>,
    /// Whether listings offer `.tar.gz` and `.zip` downloads.
    pub archives: bool,
}

/// `upload = { .. }`.
#[derive(Debug, Clone, Copy)]
pub struct Upload {
    /// Largest file in bytes (413 beyond); `None`: the server's body limit.
    pub max_file_size: Option<u64>,
    /// Most bytes under the root together (507 beyond).
    pub quota: Option<u64>,
}

/// `cgi = { .. }`.
#[derive(Debug, Clone)]
pub struct Cgi {
    /// The directory of scripts (or, inside `files`, the files' root), absolute.
    pub root: PathBuf,
    /// Inside `files`: URL directories of scripts under the root; empty means the defaults.
    pub dirs: Vec<String>,
    pub timeout: Duration,
    pub max: usize,
    /// Extension (with its dot) to interpreter program, as written.
    pub ext: Vec<(String, String)>,
    pub env: Vec<(String, String)>,
}

/// The timeout of a CGI script when none is given (as `--cgi-timeout`).
pub const CGI_TIMEOUT: Duration = Duration::from_secs(30);
/// Scripts running at once when no `max` is given (as `--cgi-max`).
pub const CGI_MAX: usize = 64;

/// `demo = { db }`.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The guestbook's SQLite file, absolute, or its PostgreSQL server's URL as written
    /// (`postgres://…`).
    pub db: PathBuf,
}

/// `redirect = { to, status }`.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The target, with `{rest}` (the path after the route's prefix) and `{query}` (the query
    /// string without `?`) still in it.
    pub to: String,
    /// 301, 302, 303, 307 or 308.
    pub status: StatusCode,
}

/// `respond = { status, body, content-type }`.
#[derive(Debug, Clone)]
pub struct Respond {
    pub status: StatusCode,
    pub body: String,
    pub content_type: HeaderValue,
}

/// The rules around a route, the site's unless the route says otherwise.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub headers: HeaderRules,
    pub cors: Option<Cors>,
    /// The `Cache-Control` value the route's responses carry.
    pub cache: Option<HeaderValue>,
    pub limits: Limits,
    /// When not empty, only these clients are served (403 for the others).
    pub allow: Vec<Cidr>,
    /// These clients get 403 (checked after `allow`).
    pub deny: Vec<Cidr>,
    pub rate: Option<Rate>,
    pub auth: Option<Auth>,
}

/// `headers = { set, add, remove }`.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    /// Replace any field of the same name.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Append, keeping the handler's.
    pub add: Vec<(HeaderName, HeaderValue)>,
    /// Take out.
    pub remove: Vec<HeaderName>,
}

impl HeaderRules {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// `cors = { .. }`, answered as the Fetch standard's CORS protocol asks.
#[derive(Debug, Clone)]
pub struct Cors {
    /// Allowed origins; `None` is `*` (any).
    pub origins: Option<Vec<String>>,
    /// Methods a preflight may ask for.
    pub methods: Vec<Method>,
    /// Request headers a preflight may ask for; `None` allows whatever it asks.
    pub headers: Option<Vec<HeaderName>>,
    /// Response headers scripts may read.
    pub expose: Vec<HeaderName>,
    /// `Access-Control-Allow-Credentials: true` (never with `*`).
    pub credentials: bool,
    /// How long a preflight may be cached.
    pub max_age: Option<u64>,
}

/// `limits = { body, timeout }`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Largest request body in bytes (413 beyond).
    pub body: Option<u64>,
    /// How long the handler may take (504 beyond).
    pub timeout: Option<Duration>,
}

/// `rate = { per-second, burst }`: a token bucket per client address.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

/// `auth = { realm, htpasswd, users }`: HTTP Basic authentication.
#[derive(Debug, Clone)]
pub struct Auth {
    pub realm: String,
    /// The htpasswd file, absolute.
    pub htpasswd: Option<PathBuf>,
    /// `user:password` pairs written in the file.
    pub users: Vec<(String, String)>,
}
