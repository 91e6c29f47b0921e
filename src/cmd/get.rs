//! `sockserve get URL`: the HTTP client, on the same protocol crate as the server, over TCP or
//! TLS.
//!
//! Exit codes: 0 when a response arrived, whatever its status; 22 with `--fail` when the final
//! status is 4xx or 5xx; 60 when the server's certificate is not trusted; 35 when a TLS
//! handshake fails otherwise (curl's codes, so scripts can treat both alike); 1 when no usable
//! response arrived (refused, unknown host, timeout, malformed, cut short); 2 for a bad command
//! line or URL.

mod progress;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use client::{Client, Events, HeadRole, Request, TlsInfo, Trust, Url};
use http::{HeaderName, HeaderValue, Method};
use http1::client::ResponseHead;

use self::progress::Progress;
use crate::cli::GetArgs;
use crate::cmd::tcp::{client_error, client_runtime, timeout_arg};
use crate::cmd::{CliError, CmdResult};

/// Exit code of `--fail` on a 4xx/5xx response, as curl's.
const FAIL_EXIT: u8 = 22;

/// Exit code when the server's certificate is not trusted, as curl's (`CURLE_PEER_FAILED_VERIFICATION`).
const UNTRUSTED_EXIT: u8 = 60;

/// Exit code when a TLS handshake fails for another reason, as curl's (`CURLE_SSL_CONNECT_ERROR`).
const HANDSHAKE_EXIT: u8 = 35;

/// The `-o` name that means standard output.
const STDOUT_PATH: &str = "-";

/// Content type of a `-d` body unless `-H` names one (curl's default, what HTML forms send).
const FORM_TYPE: &str = "application/x-www-form-urlencoded";

pub fn run(args: GetArgs) -> CmdResult {
    let options = Options::from_args(args)?;
    let runtime = client_runtime()?;
    let mut printer = Printer::new(&options);
    let fetched = if options.http2_prior_knowledge {
        runtime.block_on(client::h2c::fetch(
            &options.request,
            options.timeout,
            &mut printer,
        ))
    } else {
        let mut client = Client::new(options.timeout)
            .follow_redirects(options.follow)
            .http2(options.http2)
            .trust(options.trust);
        runtime.block_on(client.fetch(options.request, &mut printer))
    };
    let finished = printer.finish();
    let outcome = match fetched {
        // The reader went away (`| head`): like other filters, stop quietly.
        Err(client::Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS);
        }
        Err(e @ client::Error::Untrusted { .. }) => {
            eprintln!(
                "sockserve: {}; --cacert FILE trusts another CA, -k skips the check",
                client::error::report(&e)
            );
            return Ok(ExitCode::from(UNTRUSTED_EXIT));
        }
        Err(e @ client::Error::NoSystemRoots(_)) => {
            return Err(CliError::Runtime(format!(
                "{}; install ca-certificates, or name a CA with --cacert FILE",
                client::error::report(&e)
            )));
        }
        Err(e @ client::Error::Handshake { .. }) => {
            eprintln!("sockserve: {}", client::error::report(&e));
            return Ok(ExitCode::from(HANDSHAKE_EXIT));
        }
        other => other.map_err(client_error)?,
    };
    finished.map_err(|e| CliError::Runtime(format!("cannot write the body: {e}")))?;
    if options.fail && is_error(outcome.status) {
        eprintln!("sockserve: the server answered {}", outcome.status);
        return Ok(ExitCode::from(FAIL_EXIT));
    }
    Ok(ExitCode::SUCCESS)
}

/// The validated command line.
struct Options {
    request: Request,
    include: bool,
    trace: bool,
    fail: bool,
    follow: bool,
    http2_prior_knowledge: bool,
    http2: bool,
    output: Option<PathBuf>,
    timeout: Duration,
    trust: Trust,
}

impl Options {
    fn from_args(args: GetArgs) -> Result<Options, CliError> {
        let url = Url::parse(&args.url)
            .map_err(|e| CliError::Usage(format!("bad URL {:?}: {e}", args.url)))?;
        let asked = args
            .method
            .as_deref()
            .map(|m| {
                Method::from_bytes(m.as_bytes())
                    .map_err(|_| CliError::Usage(format!("-X {m:?} is not a valid method")))
            })
            .transpose()?;
        let mut request = Request::new(Method::GET, url);
        for field in &args.headers {
            let (name, value) = parse_header(field)?;
            request.headers.append(name, value);
        }
        let body =
            match (args.data, &args.data_file) {
                (Some(data), _) => Some(data.into_bytes()),
                (None, Some(path)) => Some(std::fs::read(path).map_err(|e| {
                    CliError::Runtime(format!("cannot read {}: {e}", path.display()))
                })?),
                (None, None) => None,
            };
        if let Some(body) = body {
            if !request.headers.contains("content-type") {
                request.headers.append(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static(FORM_TYPE),
                );
            }
            request.body = body.into();
        }
        // As curl: sending data means POST unless a method was asked for.
        request.method = asked.unwrap_or(if request.body.is_empty() {
            Method::GET
        } else {
            Method::POST
        });
        let trust = match (&args.cacert, args.insecure) {
            (_, true) => Trust::Insecure,
            (Some(path), false) => Trust::from_pem_file(path).map_err(client_error)?,
            (None, false) => Trust::System,
        };
        Ok(Options {
            trust,
            request,
            include: args.include,
            trace: args.trace,
            fail: args.fail,
            follow: args.follow,
            http2_prior_knowledge: args.http2_prior_knowledge,
            http2: args.http2,
            output: args.output,
            timeout: timeout_arg(args.timeout)?,
        })
    }
}

/// `-H 'Name: value'`; the framing fields are refused, since the body decides them.
fn parse_header(field: &str) -> Result<(HeaderName, HeaderValue), CliError> {
    let bad = || CliError::Usage(format!("-H {field:?}: expected 'Name: value'"));
    let (name, value) = field.split_once(':').ok_or_else(bad)?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| bad())?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| bad())?;
    if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
        return Err(CliError::Usage(format!(
            "-H {name}: the body framing is set from -d/--data-file, not by hand"
        )));
    }
    Ok((name, value))
}

fn is_error(status: http::StatusCode) -> bool {
    status.is_client_error() || status.is_server_error()
}

/// Where the response goes: stdout, or a file created once the final response arrives (so a
/// failed fetch leaves no empty file behind).
enum Output {
    Stdout(io::Stdout),
    File {
        path: PathBuf,
        file: Option<BufWriter<File>>,
    },
}

impl Output {
    fn open(&mut self) -> io::Result<()> {
        if let Output::File {
            path,
            file: file @ None,
        } = self
        {
            let created = File::create(&*path).map_err(|e| with_path(path, e))?;
            *file = Some(BufWriter::new(created));
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.open()?;
        match self {
            Output::Stdout(out) => out.write_all(data),
            Output::File { path, file } => match file {
                Some(f) => f.write_all(data).map_err(|e| with_path(path, e)),
                None => Ok(()),
            },
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File {
                path,
                file: Some(f),
            } => f.flush().map_err(|e| with_path(path, e)),
            Output::File { file: None, .. } => Ok(()),
        }
    }
}

fn with_path(path: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Shows the exchange as the flags ask: heads with `-i` / `--trace`, the body, the progress bar.
struct Printer {
    include: bool,
    trace: bool,
    fail: bool,
    output: Output,
    progress: Option<Progress>,
    /// `--fail` on an error status: nothing of the response is written.
    suppress: bool,
    /// The `--insecure` warning went out already.
    warned: bool,
}

impl Printer {
    fn new(options: &Options) -> Printer {
        let output = match &options.output {
            // `-o -` is standard output, as curl and wget read it.
            Some(path) if path.as_os_str() == STDOUT_PATH => Output::Stdout(io::stdout()),
            Some(path) => Output::File {
                path: path.clone(),
                file: None,
            },
            None => Output::Stdout(io::stdout()),
        };
        Printer {
            include: options.include,
            trace: options.trace,
            fail: options.fail,
            output,
            progress: None,
            suppress: false,
            warned: false,
        }
    }

    fn finish(mut self) -> io::Result<()> {
        if let Some(p) = &mut self.progress {
            p.finish();
        }
        self.output.flush()
    }

    /// Starts the output of the final response: the file, and the bar when a human watches.
    fn start_final(&mut self, head: &ResponseHead) -> io::Result<()> {
        self.suppress = self.fail && is_error(head.status);
        if self.suppress {
            return Ok(());
        }
        self.output.open()?;
        if matches!(self.output, Output::File { .. }) && io::stderr().is_terminal() {
            let total = head
                .headers
                .get_str("content-length")
                .and_then(|v| v.parse().ok());
            self.progress = Some(Progress::new(total));
        }
        Ok(())
    }
}

impl Events for Printer {
    fn connection(&mut self, peer: Option<SocketAddr>, reused: bool) {
        if self.trace {
            let what = if reused {
                "reusing the connection to"
            } else {
                "connected to"
            };
            match peer {
                Some(peer) => eprintln!("* {what} {peer}"),
                None => eprintln!("* {what} the server"),
            }
        }
    }

    fn tls(&mut self, info: &TlsInfo) {
        if !info.verified && !self.warned {
            self.warned = true;
            eprintln!(
                "sockserve: warning: --insecure: the certificate of {} is not verified",
                info.authority
            );
        }
        if self.trace {
            trace_tls(info);
        }
    }

    fn request_head(&mut self, raw: &[u8]) {
        if self.trace {
            trace_head("> ", raw);
        }
    }

    fn response_head(&mut self, raw: &[u8], head: &ResponseHead, role: HeadRole) -> io::Result<()> {
        if self.trace {
            trace_head("< ", raw);
        }
        if role == HeadRole::Final {
            self.start_final(head)?;
        }
        if self.include && role != HeadRole::Interim && !self.suppress {
            self.output.write(raw)?;
        }
        Ok(())
    }

    fn frame(&mut self, head: &client::frames::FrameHead) {
        if self.trace {
            let arrow = if head.sent { ">" } else { "<" };
            eprintln!("{arrow} [{head}]");
        }
    }

    fn body(&mut self, data: &[u8]) -> io::Result<()> {
        if self.suppress {
            return Ok(());
        }
        self.output.write(data)?;
        if let Some(p) = &mut self.progress {
            p.advance(data.len());
        }
        Ok(())
    }
}

/// What the handshake settled, on stderr, before the heads (`--trace`).
fn trace_tls(info: &TlsInfo) {
    let mut err = io::stderr().lock();
    let alpn = info
        .alpn
        .as_deref()
        .unwrap_or("none (the server chose no protocol)");
    let _ = writeln!(err, "* {}, cipher {}", info.version, info.cipher);
    let _ = writeln!(err, "* ALPN {alpn}");
    match &info.certificate {
        Some(cert) => {
            let _ = writeln!(err, "* certificate subject: {}", cert.subject);
            let _ = writeln!(err, "* certificate issuer: {}", cert.issuer);
            let _ = writeln!(
                err,
                "* certificate valid: {} to {}",
                cert.not_before, cert.not_after
            );
        }
        None => {
            let _ = writeln!(err, "* certificate: not readable");
        }
    }
    let verdict = if info.verified {
        "verified"
    } else {
        "NOT verified (--insecure)"
    };
    let _ = writeln!(err, "* certificate {verdict}");
}

/// Each line of a head on stderr behind `prefix`, the empty line that ends it included.
fn trace_head(prefix: &str, raw: &[u8]) {
    let text = String::from_utf8_lossy(raw);
    let mut err = io::stderr().lock();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            let _ = writeln!(err, "{}", prefix.trim_end());
        } else {
            let _ = writeln!(err, "{prefix}{line}");
        }
    }
}
