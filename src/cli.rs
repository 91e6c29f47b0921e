//! The command line, as clap parses it. Validation into typed configs happens in `cmd/*`.
//!
//! The server flags (`-b`, `-p` and the HTTP tuning) are global: they may come before the command
//! (`sockserve -q serve`) or after it. [`parse`] refuses them, and the demo site's own flags, on
//! commands they do not apply to, rather than ignoring them.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The port of the HTTP server commands and `tcp listen` when `-p` is not given.
pub const DEFAULT_PORT: u16 = 8000;

/// The guestbook's database file when `--db` is not given.
pub const DEFAULT_DB: &str = "sockserve.db";

/// Where the server flags are listed in `--help`.
const SERVER_HEADING: &str = "Server options";

/// A web server built from the TCP socket up.
#[derive(Debug, Parser)]
#[command(
    name = "sockserve",
    version,
    // `-h` prints `about`, `--help` prints `long_about`: both say what no command does.
    about = "A web server built from the TCP socket up. With no command, runs the demo site.",
    long_about = "A web server built from the TCP socket up.\n\n\
                  With no command, runs the demo site (the tutorial's page and image, /time, a \
                  SQLite guestbook, /echo) on http://127.0.0.1:8000/."
)]
pub struct Cli {
    #[command(flatten)]
    pub listen: ListenArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub tls: TlsArgs,

    /// The guestbook's database: a SQLite file (created with its schema on first start) or a
    /// postgres:// URL shared by several instances [default: sockserve.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,

    /// Also run the RFC 867 daytime service (TCP) on this port.
    #[arg(long, value_name = "PORT")]
    pub daytime: Option<u16>,

    /// A file holding the session cookies' secret, base64 or hex of at least 64 random bytes
    /// (`openssl rand -base64 64`); SOCKSERVE_SESSION_KEY may hold the secret itself. Without
    /// either, the site keeps one in its database, shared by every instance on it.
    #[arg(long, value_name = "FILE")]
    pub session_key_file: Option<PathBuf>,

    /// Run the sites, routes and listeners of this configuration file (see docs/config.md);
    /// SIGHUP reads it again.
    #[arg(
        short = 'c',
        long = "config",
        value_name = "FILE",
        env = "SOCKSERVE_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Print the configuration file this command line amounts to, and exit.
    #[arg(long, global = true)]
    pub print_config: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Parses the command line, exiting as clap does (code 2) on a usage error, including a flag given
/// to a command it does not apply to.
pub fn parse() -> Cli {
    let mut command = Cli::command();
    let matches = command.get_matches_mut();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit());
    if let Some(message) = misplaced_flag(&matches) {
        command.error(ErrorKind::ArgumentConflict, message).exit();
    }
    cli
}

/// A flag given where it has no effect: `--db`/`--daytime`/`--session-key-file` with a command, a server flag with a
/// client command (`get`, `tcp send`), an HTTP tuning flag with a plain TCP/UDP service.
fn misplaced_flag(matches: &ArgMatches) -> Option<String> {
    if given(matches, "config") {
        return config_conflict(matches);
    }
    let (name, sub) = matches.subcommand()?;
    for id in ["db", "daytime", "session_key_file"] {
        // `sockserve --db URL migrate` names the database to migrate.
        if given(matches, id) && !(id == "db" && name == "migrate") {
            return Some(format!(
                "--{} belongs to the demo site (no command), not to `{name}`",
                id.replace('_', "-")
            ));
        }
    }
    let (leaf, leaf_matches) = match sub.subcommand() {
        Some((inner, m)) => (format!("{name} {inner}"), m),
        None => (name.to_string(), sub),
    };
    let takes: &[&str] = match leaf.as_str() {
        "get" | "tcp send" | "migrate" => &[],
        "reload" | "upgrade" => &["pid_file"],
        "tcp listen" => &[
            "bind",
            "port",
            "threads",
            "max_connections",
            "quiet",
            "log_level",
            "log_json",
            "pid_file",
        ],
        "daytime" => &["bind", "port", "quiet"],
        _ => return None,
    };
    let server = TlsArgs::augment_args(HttpArgs::augment_args(ListenArgs::augment_args(
        clap::Command::new("server"),
    )));
    server
        .get_arguments()
        .map(|arg| arg.get_id().as_str())
        .find(|id| !takes.contains(id) && given(leaf_matches, id))
        .map(|id| format!("--{} does not apply to `{leaf}`", id.replace('_', "-")))
}

/// The flags about running the process rather than what it serves: they go with `--config`
/// (as `nginx -c FILE` takes `-g 'pid ...'`), the file does not say them.
const OPS_FLAGS: [&str; 5] = ["admin", "pid_file", "log_level", "log_json", "overload"];

/// With `--config`, the file says everything it serves: a command or a server flag beside it
/// would be ignored, so it is refused; [`OPS_FLAGS`] are taken.
fn config_conflict(matches: &ArgMatches) -> Option<String> {
    if let Some((name, _)) = matches.subcommand() {
        return Some(format!(
            "--config runs the file: give no command (`{name}`) with it"
        ));
    }
    let server = TlsArgs::augment_args(HttpArgs::augment_args(ListenArgs::augment_args(
        clap::Command::new("server"),
    )));
    let ids = server
        .get_arguments()
        .map(|arg| arg.get_id().as_str().to_string())
        .chain([
            "db".to_string(),
            "daytime".to_string(),
            "session_key_file".to_string(),
            "print_config".to_string(),
        ]);
    for id in ids.filter(|id| !OPS_FLAGS.contains(&id.as_str())) {
        if given(matches, &id) {
            return Some(format!(
                "--{} does not go with --config: the file says it (see docs/config.md)",
                id.replace('_', "-")
            ));
        }
    }
    None
}

/// Whether `id` was given on the command line (not filled in from its default).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches
            .try_get_raw(id)
            .ok()
            .flatten()
            .map(|_| matches.value_source(id)),
        Some(Some(ValueSource::CommandLine))
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over HTTP (like `python -m http.server`, with ranges, ETags,
    /// compression, listings and CGI).
    Serve(Box<ServeArgs>),
    /// The tutorial's raw TCP server and client.
    #[command(subcommand)]
    Tcp(TcpCommand),
    /// The RFC 867 daytime service over TCP or UDP.
    Daytime(DaytimeArgs),
    /// An HTTP/1.1 client: fetch an http:// or https:// URL and print the body.
    Get(GetArgs),
    /// Tell the server whose pid is in --pid-file to reload its configuration and certificates
    /// (SIGHUP).
    Reload,
    /// Tell the server whose pid is in --pid-file to hand its sockets to a new process of its
    /// (replaced) binary and drain (SIGUSR2).
    Upgrade,
    /// Check a configuration file: exit 0, or print every mistake with its line and column
    /// and exit 1 (like `nginx -t`).
    Check(CheckArgs),
    /// Print the configuration file a command line amounts to, e.g.
    /// `sockserve config-from-flags serve www --cgi -p 9000`.
    ConfigFromFlags(ConfigFromFlagsArgs),
    /// Bring the guestbook database's schema to this version's (the site also does it at start).
    Migrate(MigrateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The configuration file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigFromFlagsArgs {
    /// A sockserve command line without the program's name: `serve DIR --cgi -p 9000`, or
    /// flags alone for the demo site.
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The database: a SQLite file or a postgres:// URL [default: sockserve.db].
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
}

/// Where to listen: global, so every server command takes it before or after its name.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = SERVER_HEADING)]
pub struct ListenArgs {
    /// Address to bind (IPv4 or IPv6; `::` takes IPv4 clients too).
    #[arg(
        short = 'b',
        long = "bind",
        value_name = "ADDR",
        default_value = "127.0.0.1",
        global = true,
        env = "SOCKSERVE_BIND"
    )]
    pub bind: IpAddr,

    /// Port to listen on; 0 picks a free one [default: 8000; daytime: 13].
    #[arg(
        short = 'p',
        long = "port",
        value_name = "PORT",
        global = true,
        env = "SOCKSERVE_PORT"
    )]
    pub port: Option<u16>,
}

impl ListenArgs {
    /// The port asked for, or the command's `default`.
    pub fn port_or(&self, default: u16) -> u16 {
        self.port.unwrap_or(default)
    }
}

/// Tuning shared by every HTTP server command; global like [`ListenArgs`].
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = SERVER_HEADING)]
pub struct HttpArgs {
    /// Worker threads, each with its own event loop [default: number of cores].
    #[arg(long, value_name = "N", global = true, env = "SOCKSERVE_THREADS")]
    pub threads: Option<usize>,

    /// Most connections open at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = server::config::MAX_CONNECTIONS, global = true)]
    pub max_connections: usize,

    /// Seconds a client may take to send a request head.
    #[arg(long, value_name = "SECS", default_value_t = server::config::HEAD_TIMEOUT.as_secs_f64(), global = true)]
    pub head_timeout: f64,

    /// Seconds a client may stay silent while sending a body.
    #[arg(long, value_name = "SECS", default_value_t = server::config::BODY_TIMEOUT.as_secs_f64(), global = true)]
    pub body_timeout: f64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, value_name = "SECS", default_value_t = server::config::IDLE_TIMEOUT.as_secs_f64(), global = true)]
    pub idle_timeout: f64,

    /// Seconds one write to a client may block.
    #[arg(long, value_name = "SECS", default_value_t = server::config::WRITE_TIMEOUT.as_secs_f64(), global = true)]
    pub write_timeout: f64,

    /// Seconds in-flight responses get to finish after SIGINT/SIGTERM.
    #[arg(long, value_name = "SECS", default_value_t = server::config::GRACE_PERIOD.as_secs_f64(), global = true)]
    pub grace: f64,

    /// Largest request body in bytes (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = http1::limits::MAX_BODY_SIZE, global = true)]
    pub max_body_size: u64,

    /// Largest request head in bytes (431 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = http1::limits::MAX_HEAD_SIZE, global = true)]
    pub max_header_size: usize,

    /// Most header fields in a request (431 beyond).
    #[arg(long, value_name = "N", default_value_t = http1::limits::MAX_HEADERS, global = true)]
    pub max_headers: usize,

    /// Longest request line in bytes (414 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = http1::limits::MAX_REQUEST_LINE, global = true)]
    pub max_request_line: usize,

    /// Speak HTTP/1.1 only: a client that opens with the HTTP/2 preface (h2c with prior
    /// knowledge) is answered 505.
    #[arg(long, global = true)]
    pub no_http2: bool,

    /// Append the access log to FILE instead of standard error.
    #[arg(long, value_name = "FILE", global = true, env = "SOCKSERVE_ACCESS_LOG")]
    pub access_log: Option<PathBuf>,

    /// Access-log lines: common (CLF), combined (adds referer and user agent) or json.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Common, global = true, env = "SOCKSERVE_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// No access log, warnings and errors only.
    #[arg(short = 'q', long, global = true, env = "SOCKSERVE_QUIET")]
    pub quiet: bool,

    /// The error log's level: error, warn, info, debug or trace [default: info, warn with -q];
    /// RUST_LOG overrides it.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<LogLevel>,

    /// Write the error log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,

    /// Serve /metrics (Prometheus), /healthz and /readyz on this address, e.g. 127.0.0.1:9100
    /// (off by default; keep it off public addresses).
    #[arg(long, value_name = "ADDR:PORT", global = true)]
    pub admin: Option<std::net::SocketAddr>,

    /// At --max-connections, new connections wait in the backlog (wait) or are closed at once
    /// (refuse).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = OverloadMode::Wait, global = true)]
    pub overload: OverloadMode,

    /// Write the server's pid to FILE (for `sockserve reload`, `upgrade` and init systems).
    #[arg(long, value_name = "FILE", global = true)]
    pub pid_file: Option<PathBuf>,
}

/// `--log-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// `--overload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OverloadMode {
    Wait,
    Refuse,
}

/// Where the TLS flags are listed in `--help`.
const TLS_HEADING: &str = "TLS options";

/// HTTPS for every HTTP server command; global like [`ListenArgs`].
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = TLS_HEADING)]
pub struct TlsArgs {
    /// Serve HTTPS with this PEM certificate chain, leaf first (repeatable with --tls-key, one
    /// pair per certificate; each is chosen by the names in it, the first by default).
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        env = "SOCKSERVE_TLS_CERT",
        value_delimiter = ','
    )]
    pub tls_cert: Vec<PathBuf>,

    /// The PEM private key of the --tls-cert at the same position (RSA, ECDSA or Ed25519;
    /// PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        value_name = "FILE",
        global = true,
        env = "SOCKSERVE_TLS_KEY",
        value_delimiter = ','
    )]
    pub tls_key: Vec<PathBuf>,

    /// Serve HTTPS with a certificate for localhost made at start-up; prints its fingerprint.
    #[arg(long, global = true)]
    pub tls_self_signed: bool,

    /// Serve HTTPS on this port and plain HTTP on -p.
    #[arg(long, value_name = "PORT", global = true)]
    pub https_port: Option<u16>,

    /// Answer plain HTTP requests with 308 to the same URL on HTTPS (needs --https-port).
    #[arg(long, global = true)]
    pub redirect_https: bool,

    /// Require client certificates issued by a CA in this PEM file; the verified subject
    /// reaches CGI scripts as SSL_CLIENT_S_DN.
    #[arg(long, value_name = "FILE", global = true)]
    pub tls_client_ca: Option<PathBuf>,

    /// Send Strict-Transport-Security with this max-age on HTTPS responses.
    #[arg(long, value_name = "SECS", global = true)]
    pub hsts: Option<u64>,

    /// Get and renew a certificate for DOMAIN from an ACME CA (Let's Encrypt by default),
    /// one certificate per domain (repeatable). Handshakes for DOMAIN fail until it is issued.
    #[arg(long = "acme", value_name = "DOMAIN", global = true)]
    pub acme: Vec<String>,

    /// The ACME directory URL [default: Let's Encrypt production].
    #[arg(long, value_name = "URL", global = true)]
    pub acme_directory: Option<String>,

    /// Contact address given to the CA for expiry notices.
    #[arg(long, value_name = "ADDR", global = true)]
    pub acme_email: Option<String>,

    /// Also trust the CA certificates in FILE (PEM) for the ACME server (a test CA such as pebble).
    #[arg(long, value_name = "FILE", global = true)]
    pub acme_ca: Option<PathBuf>,

    /// Where the ACME account and certificates are kept
    /// [default: $XDG_DATA_HOME/sockserve/acme, or ~/.local/share/sockserve/acme].
    #[arg(long, value_name = "DIR", global = true)]
    pub acme_state: Option<PathBuf>,

    /// The challenge to ask for [default: http-01 on the plain port with --https-port,
    /// tls-alpn-01 on the HTTPS port otherwise].
    #[arg(long, value_enum, value_name = "TYPE", global = true)]
    pub acme_challenge: Option<AcmeChallenge>,

    /// Seconds to wait after a failed order before the next; doubled after each failure, up to
    /// six hours [default: 60].
    #[arg(long, value_name = "SECS", global = true)]
    pub acme_retry: Option<f64>,
}

/// `--acme-challenge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AcmeChallenge {
    /// RFC 8555 8.3: the CA fetches a token over plain HTTP (port 80 in production).
    #[value(name = "http-01")]
    Http01,
    /// RFC 8737: the CA makes a TLS handshake with ALPN acme-tls/1 (port 443 in production).
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Common,
    Combined,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory to serve, or a bare port number as in `python -m http.server 9000`
    /// [default: the current directory].
    #[arg(value_name = "DIR|PORT")]
    pub target: Option<String>,

    /// Directory to serve (same as the positional DIR).
    #[arg(
        short = 'd',
        long = "directory",
        value_name = "DIR",
        env = "SOCKSERVE_ROOT"
    )]
    pub directory: Option<PathBuf>,

    /// Extra response header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Allow cross-origin requests (Access-Control-Allow-Origin: *).
    #[arg(long, env = "SOCKSERVE_CORS")]
    pub cors: bool,

    /// Answer 404 instead of listing directories without an index.
    #[arg(long, env = "SOCKSERVE_NO_LISTING")]
    pub no_listing: bool,

    /// Index file names tried for a directory, in order (repeatable) [default: index.html, index.htm].
    #[arg(long = "index", value_name = "NAME")]
    pub index: Vec<String>,

    /// Serve FILE (relative to DIR) for paths that match nothing, for single-page apps.
    #[arg(long, value_name = "FILE")]
    pub spa: Option<PathBuf>,

    /// Cache-Control max-age in seconds.
    #[arg(long, value_name = "SECS", env = "SOCKSERVE_MAX_AGE")]
    pub max_age: Option<u64>,

    /// Follow symlinks that point outside DIR.
    #[arg(long)]
    pub follow_symlinks: bool,

    /// Serve dotfiles (hidden by default).
    #[arg(long, env = "SOCKSERVE_HIDDEN")]
    pub hidden: bool,

    /// Never compress on the fly (precompressed .br/.gz/.zst files are still used).
    #[arg(long, env = "SOCKSERVE_NO_COMPRESS")]
    pub no_compress: bool,

    /// Run files under /cgi-bin/ and /htbin/ (and --cgi-dir) as CGI scripts.
    #[arg(long)]
    pub cgi: bool,

    /// Another URL directory whose files are CGI scripts, e.g. /scripts (repeatable; implies --cgi).
    #[arg(long = "cgi-dir", value_name = "PATH")]
    pub cgi_dirs: Vec<String>,

    /// Run files with this extension through an interpreter, e.g. `.py=python3` (repeatable).
    #[arg(long = "cgi-ext", value_name = ".EXT=PROGRAM")]
    pub cgi_ext: Vec<String>,

    /// Extra environment variable for scripts, `K=V` (repeatable).
    #[arg(long = "cgi-env", value_name = "K=V")]
    pub cgi_env: Vec<String>,

    /// Seconds a script may run before it is killed and the client gets 504.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub cgi_timeout: f64,

    /// Most scripts running at once; more wait briefly, then get 503.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub cgi_max: usize,

    #[command(flatten)]
    pub access: AccessArgs,
}

#[derive(Debug, Subcommand)]
pub enum TcpCommand {
    /// Accept connections, print each message a client sends and answer it at once (a message
    /// is what one read returns, as in the tutorial's server).
    Listen(TcpListenArgs),
    /// Connect, send MESSAGE, half-close, and print the reply.
    Send(TcpSendArgs),
}

#[derive(Debug, Clone, Args)]
pub struct TcpListenArgs {
    /// Answer every message with TEXT.
    #[arg(
        long,
        value_name = "TEXT",
        default_value = "Yes",
        conflicts_with = "echo"
    )]
    pub reply: String,

    /// Send back what the client sent instead of a fixed reply.
    #[arg(long)]
    pub echo: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TcpSendArgs {
    /// Server to connect to.
    #[arg(value_name = "HOST:PORT")]
    pub addr: String,

    /// What to send.
    #[arg(value_name = "MESSAGE")]
    pub message: String,

    /// Seconds to wait for connecting and for the reply.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
}

#[derive(Debug, Clone, Args)]
pub struct DaytimeArgs {
    /// Serve over UDP (one datagram in reply to any datagram) instead of TCP.
    #[arg(long)]
    pub udp: bool,
}

#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// The URL to fetch (http:// or https://).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Request method [default: GET, or POST with -d/--data-file].
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// Request body.
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_file"
    )]
    pub data: Option<String>,

    /// Request body from a file.
    #[arg(long = "data-file", value_name = "FILE")]
    pub data_file: Option<PathBuf>,

    /// Print the response head before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Write the body to FILE (with a progress bar on a terminal); `-` is standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Follow redirects (at most 10), reusing the connection when the server allows.
    #[arg(short = 'L', long = "location")]
    pub follow: bool,

    /// Print both heads as sent and received, on standard error.
    #[arg(long)]
    pub trace: bool,

    /// Trust the CA certificates in FILE (PEM) instead of the system's for https://.
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub cacert: Option<PathBuf>,

    /// Accept any server certificate for https:// (the handshake is still checked); says so.
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Exit with code 22 on a 4xx/5xx status (as curl does).
    #[arg(short = 'f', long)]
    pub fail: bool,

    /// Speak HTTP/2 from the first byte (h2c), without asking the server first; redirects are
    /// not followed.
    #[arg(long, conflicts_with = "follow")]
    pub http2_prior_knowledge: bool,

    /// Offer HTTP/2 by ALPN on https:// URLs and speak it if the server agrees (HTTP/1.1
    /// otherwise, and on http://); redirects are not followed over HTTP/2.
    #[arg(long, conflicts_with = "http2_prior_knowledge")]
    pub http2: bool,

    /// Seconds to wait for connecting and for each read.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
}

/// Who may use `serve`, and what they may change.
#[derive(Debug, Clone, Default, Args)]
pub struct AccessArgs {
    /// Require this user and password (HTTP Basic) for every request (repeatable).
    #[arg(long = "auth", value_name = "USER:PASSWORD")]
    pub auth: Vec<String>,

    /// Require a user of this password file, as Apache's htpasswd writes it (-B, -m, -s), or
    /// with argon2 hashes (repeatable).
    #[arg(long = "auth-file", value_name = "FILE")]
    pub auth_file: Vec<PathBuf>,

    /// The realm the browser's password prompt shows.
    #[arg(long = "auth-realm", value_name = "TEXT")]
    pub auth_realm: Option<String>,

    /// Accept uploads and changes: PUT, DELETE, MKCOL and the listing's upload form (needs
    /// --auth or --auth-file, or --upload-public).
    #[arg(long)]
    pub upload: bool,

    /// Let anyone upload and change files, without a password.
    #[arg(long)]
    pub upload_public: bool,

    /// Largest file accepted, in bytes or with K, M or G [default: 1G].
    #[arg(long, value_name = "SIZE")]
    pub upload_max: Option<String>,

    /// Most bytes all files under DIR may hold together; uploads past it get 507.
    #[arg(long, value_name = "SIZE")]
    pub upload_quota: Option<String>,
}
