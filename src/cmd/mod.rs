//! One module per command, plus what every server command shares: validating the common flags,
//! binding, printing the URL, and running until shutdown.

pub mod acme;
pub mod admin;
mod announce;
pub mod config_flags;
pub mod config_logs;
mod config_mount;
mod config_rules;
pub mod config_run;
pub mod config_service;
pub mod daytime;
pub mod get;
pub mod migrate;
pub mod serve;
pub mod serve_access;
pub mod serve_cgi;
pub mod signal;
pub mod site;
pub mod tcp;
pub mod tls;

use std::fmt;
use std::io::{self, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use server::{AccessLog, HttpConfig, RuntimeConfig};

pub use self::announce::announce;
use crate::cli::{HttpArgs, ListenArgs, LogFormat, LogLevel, OverloadMode};

/// Why a command failed; each variant has its exit code.
#[derive(Debug)]
pub enum CliError {
    /// The command line is wrong (exit 2, like clap's own usage errors).
    Usage(String),
    /// Something at run time failed: a port in use, an unreadable directory (exit 1).
    Runtime(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::Runtime(m) => f.write_str(m),
        }
    }
}

/// The result of a command: the exit code to leave with.
pub type CmdResult = Result<ExitCode, CliError>;

/// Starts the logger: `info` and up on stderr, `warn` and up with `--quiet`; `RUST_LOG` overrides.
pub fn init_logging(quiet: bool) {
    init_logger(None, quiet, false);
}

/// Starts the logger as the server flags say: `--log-level` (else `info`, `warn` with
/// `--quiet`), JSON lines with `--log-json`; `RUST_LOG` overrides the level.
pub fn init_logs(http: &HttpArgs) {
    init_logger(http.log_level, http.quiet, http.log_json);
}

fn init_logger(level: Option<LogLevel>, quiet: bool, json: bool) {
    let default = match (level, quiet) {
        (Some(LogLevel::Error), _) => "error",
        (Some(LogLevel::Warn), _) | (None, true) => "warn",
        (Some(LogLevel::Info), _) | (None, false) => "info",
        (Some(LogLevel::Debug), _) => "debug",
        (Some(LogLevel::Trace), _) => "trace",
    };
    // rustls warns about each client's mistake it forgives (an IP address sent as the SNI
    // name, as wrk and many scripts do): one line per handshake, so only its errors are shown.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default},rustls=error")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = if json {
        // One object per line: timestamp, level, fields (message and the structured ones).
        builder.json().with_current_span(false).try_init()
    } else {
        builder.with_ansi(stderr_color()).try_init()
    };
}

/// Whether what goes to stderr may be coloured: only on a terminal, and not when `NO_COLOR` is
/// set to anything but the empty string (<https://no-color.org>).
fn stderr_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

fn seconds(name: &str, secs: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--{name} must be a positive number of seconds, not {secs}"
            ))
        })
}

/// Validates the shared HTTP flags into the runtime and listener configs.
pub fn http_config(args: &HttpArgs) -> Result<(RuntimeConfig, HttpConfig), CliError> {
    let mut runtime = RuntimeConfig::default();
    if let Some(n) = args.threads {
        if n == 0 {
            return Err(CliError::Usage("--threads must be at least 1".into()));
        }
        runtime.threads = n;
    }
    if args.max_connections == 0 {
        return Err(CliError::Usage(
            "--max-connections must be at least 1".into(),
        ));
    }
    runtime.max_connections = args.max_connections;
    runtime.overload = match args.overload {
        OverloadMode::Wait => server::Overload::Wait,
        OverloadMode::Refuse => server::Overload::Refuse,
    };
    runtime.grace = Duration::try_from_secs_f64(args.grace).map_err(|_| {
        CliError::Usage(format!(
            "--grace must be a number of seconds, not {}",
            args.grace
        ))
    })?;
    let access_log = match (&args.access_log, args.quiet) {
        (_, true) => None,
        (Some(path), false) => Some(AccessLog::file(path).map_err(|e| {
            CliError::Runtime(format!("cannot open access log {}: {e}", path.display()))
        })?),
        (None, false) => Some(
            AccessLog::stderr()
                .with_color(stderr_color())
                .unbuffered(std::io::stderr().is_terminal()),
        ),
    };
    let access_log = access_log.map(|log| log.with_format(log_format(args.log_format)));
    if let Some(log) = &access_log {
        crate::lifecycle::flush_at_exit(log.clone());
    }
    if args.max_request_line < 16 || args.max_header_size < args.max_request_line {
        return Err(CliError::Usage(
            "--max-request-line must be at least 16 and at most --max-header-size".into(),
        ));
    }
    let http = HttpConfig {
        limits: http1::Limits {
            max_request_line: args.max_request_line,
            max_head_size: args.max_header_size,
            max_headers: args.max_headers,
            max_body_size: args.max_body_size,
        },
        head_timeout: seconds("head-timeout", args.head_timeout)?,
        body_timeout: seconds("body-timeout", args.body_timeout)?,
        idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
        write_timeout: seconds("write-timeout", args.write_timeout)?,
        access_log,
        http2: !args.no_http2,
        metrics: args.admin.is_some(),
    };
    Ok((runtime, http))
}

fn log_format(format: LogFormat) -> server::access_log::Format {
    match format {
        LogFormat::Common => server::access_log::Format::Common,
        LogFormat::Combined => server::access_log::Format::Combined,
        LogFormat::Json => server::access_log::Format::Json,
    }
}

/// The socket address to bind from `-b` and `-p`, with the command's own default port.
pub fn listen_addr(args: &ListenArgs, default_port: u16) -> SocketAddr {
    SocketAddr::new(args.bind, args.port_or(default_port))
}

/// Ports below this need privilege to bind on Linux unless `net.ipv4.ip_unprivileged_port_start`
/// is lowered.
const FIRST_UNPRIVILEGED_PORT: u16 = 1024;

/// `cannot listen on ADDR: reason`, for every command; a port refused for want of privilege says
/// how to get it or avoid it.
pub fn bind_error(addr: SocketAddr, e: io::Error) -> CliError {
    // Binding is the only reliable test of the privilege (root, CAP_NET_BIND_SERVICE or a
    // lowered net.ipv4.ip_unprivileged_port_start all grant it), so try, then explain.
    if e.kind() == io::ErrorKind::PermissionDenied && addr.port() < FIRST_UNPRIVILEGED_PORT {
        return CliError::Runtime(format!(
            "cannot listen on {addr}: port {} needs root (or CAP_NET_BIND_SERVICE); choose another with -p PORT",
            addr.port()
        ));
    }
    CliError::Runtime(format!("cannot listen on {addr}: {e}"))
}

/// What the process does beside serving: the admin listener and the pid file.
#[derive(Debug, Default, Clone)]
pub struct Ops {
    pub admin: Option<SocketAddr>,
    pub pid_file: Option<std::path::PathBuf>,
}

impl Ops {
    pub fn from_args(http: &HttpArgs) -> Ops {
        Ops {
            admin: http.admin,
            pid_file: http.pid_file.clone(),
        }
    }
}

/// A server with the listening sockets this process was handed (systemd's socket activation,
/// or the process it replaces), so binding takes them instead of opening new ones.
pub fn new_server(runtime: RuntimeConfig) -> Result<server::Server, CliError> {
    let mut server = server::Server::new(runtime);
    let inherited = crate::handover::inherited_sockets()
        .map_err(|e| CliError::Runtime(format!("cannot take over the listening sockets: {e}")))?;
    server.inherit(inherited);
    Ok(server)
}

/// Runs a bound server until SIGINT/SIGTERM and the grace period after it, and maps failure to
/// an exit code. Once it listens, the pid file is written and a process being replaced is told
/// it may drain.
pub fn run_server(mut server: server::Server, ops: Ops) -> CmdResult {
    if let Some(addr) = ops.admin {
        let admin = admin::Admin::new(server.health());
        server.admin(addr, admin).map_err(|e| bind_error(addr, e))?;
    }
    crate::lifecycle::raise_fd_limit();
    crate::lifecycle::watch_signals(server.shutdown_handle(), server.listeners())
        .map_err(|e| CliError::Runtime(format!("cannot watch for signals: {e}")))?;
    crate::lifecycle::when_listening(server.health(), ops.pid_file.clone());
    let result = server
        .run()
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| CliError::Runtime(format!("server failed: {e}")));
    if let Some(path) = &ops.pid_file {
        crate::lifecycle::remove_pid_file(path);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privileged_port_refused_says_how_to_get_it() {
        let refused = || io::Error::from(io::ErrorKind::PermissionDenied);
        let low = bind_error(SocketAddr::from(([127, 0, 0, 1], 80)), refused()).to_string();
        assert!(
            low.contains("port 80 needs root (or CAP_NET_BIND_SERVICE)"),
            "{low}"
        );
        let high = bind_error(SocketAddr::from(([127, 0, 0, 1], 8080)), refused()).to_string();
        assert!(!high.contains("needs root"), "{high}");
    }
}
