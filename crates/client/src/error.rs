//! Everything that can go wrong between typing a URL and holding the response.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use http1::ParseError;
use http1::client::ResponseError;

use crate::UrlError;
use crate::tls::CertificateProblem;

/// Where in the exchange the server closed the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Before sending a single byte of a response (on a reused connection this is retried once).
    BeforeResponse,
    /// Part-way through the response head.
    InHead,
    /// Before the body its head announced was complete.
    InBody,
    /// Over TLS without `close_notify`, ending a body that ends at close: it may have been cut
    /// by someone between us and the server (RFC 9112 9.8).
    WithoutCloseNotify,
}

/// Why a fetch or a send failed. Each variant is something the user fixes differently.
#[derive(Debug)]
pub enum Error {
    /// The URL (or `HOST:PORT`) is malformed or uses a scheme we do not speak.
    Url(UrlError),
    /// The host name did not resolve.
    Resolve {
        /// The name looked up.
        host: String,
        /// The resolver's error.
        source: io::Error,
    },
    /// No address of the host accepted a connection.
    Connect {
        /// `host:port` as the user wrote it.
        authority: String,
        /// The error of the last address tried.
        source: io::Error,
    },
    /// The server's certificate is not trusted: unknown issuer, wrong name, expired...
    Untrusted {
        /// `host:port` as the URL names it.
        authority: String,
        /// What is wrong with the certificate.
        source: CertificateProblem,
    },
    /// The TLS handshake failed for another reason: no protocol version or cipher suite in
    /// common, an alert from the server, a server that does not speak TLS.
    Handshake {
        /// `host:port` as the URL names it.
        authority: String,
        /// The TLS library's or the socket's error.
        source: io::Error,
    },
    /// The file of CA certificates to trust cannot be read or holds none.
    CaFile {
        /// The file as given.
        path: PathBuf,
        /// Why it cannot be used.
        source: io::Error,
    },
    /// The system has no root certificates to verify servers with.
    NoSystemRoots(io::Error),
    /// The TLS library refused its own configuration (a build without TLS 1.2 or 1.3).
    TlsSetup(rustls::Error),
    /// The peer was silent for longer than the timeout.
    Timeout {
        /// What we were waiting for, e.g. `connecting` or `the response`.
        waiting_for: &'static str,
        /// The timeout that ran out.
        after: Duration,
    },
    /// Reading from or writing to the connection failed.
    Io(io::Error),
    /// The server closed the connection before the response was complete.
    Closed(Closed),
    /// The response head is not valid HTTP/1.x.
    Response(ResponseError),
    /// The response body is malformed (a bad chunk, say).
    Body(ParseError),
    /// A redirect pointed somewhere we cannot follow.
    BadRedirect {
        /// The `Location` value as sent.
        location: String,
        /// Why it cannot be followed.
        source: UrlError,
    },
    /// More redirects in a row than the limit.
    TooManyRedirects(usize),
    /// The caller's sink (an output file, stdout) refused the body.
    Output(io::Error),
}

impl fmt::Display for Error {
    /// This level only; the cause, if any, is in [`std::error::Error::source`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Url(e) => e.fmt(f),
            Error::Resolve { host, .. } => write!(f, "cannot resolve {host}"),
            Error::Connect { authority, .. } => write!(f, "cannot connect to {authority}"),
            Error::Untrusted { authority, .. } => {
                write!(f, "the certificate of {authority} is not trusted")
            }
            Error::Handshake { authority, .. } => {
                write!(f, "the TLS handshake with {authority} failed")
            }
            Error::CaFile { path, .. } => {
                write!(f, "cannot use {} as CA certificates", path.display())
            }
            Error::NoSystemRoots(_) => {
                f.write_str("no trusted root certificates were found on this system")
            }
            Error::TlsSetup(_) => f.write_str("cannot set up TLS"),
            Error::Timeout { waiting_for, after } => {
                write!(
                    f,
                    "timed out after {}s waiting for {waiting_for}",
                    after.as_secs_f64()
                )
            }
            Error::Io(_) => f.write_str("connection failed"),
            Error::Closed(Closed::BeforeResponse) => {
                f.write_str("the server closed the connection without a response")
            }
            Error::Closed(Closed::InHead) => {
                f.write_str("the server closed the connection in the middle of the response head")
            }
            Error::Closed(Closed::InBody) => {
                f.write_str("the server closed the connection before the body was complete")
            }
            Error::Closed(Closed::WithoutCloseNotify) => f.write_str(
                "the server closed the TLS connection without close_notify, \
                 so the body, which ends at close, may be cut short",
            ),
            Error::Response(e) => e.fmt(f),
            Error::Body(_) => f.write_str("bad response body"),
            Error::BadRedirect { location, .. } => {
                write!(f, "cannot follow the redirect to {location:?}")
            }
            Error::TooManyRedirects(n) => write!(f, "too many redirects (more than {n})"),
            Error::Output(_) => f.write_str("cannot write the body"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::BadRedirect { source, .. } => Some(source),
            Error::Resolve { source, .. }
            | Error::Connect { source, .. }
            | Error::Handshake { source, .. }
            | Error::CaFile { source, .. } => Some(source),
            Error::NoSystemRoots(e) => Some(e),
            Error::Untrusted { source, .. } => Some(source),
            Error::TlsSetup(e) => Some(e),
            Error::Io(e) | Error::Output(e) => Some(e),
            Error::Body(e) => Some(e),
            // Url and Response display their own message; they have no deeper cause.
            Error::Url(_)
            | Error::Response(_)
            | Error::Timeout { .. }
            | Error::Closed(_)
            | Error::TooManyRedirects(_) => None,
        }
    }
}

/// `error: cause: its cause`, on one line, for a command-line message.
pub fn report(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        line.push_str(": ");
        line.push_str(&c.to_string());
        cause = c.source();
    }
    line
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Error::Url(e)
    }
}
