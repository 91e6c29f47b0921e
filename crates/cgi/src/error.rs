//! Everything that can end a CGI request early, and the one place each becomes a status.

use std::fmt;
use std::io;
use std::process::ExitStatus;

use http1::StatusCode;
use server::{BodyError, Response};

use crate::input::InputError;
use crate::locate::LocateError;
use crate::output::{MalformedHead, OutputError};

/// Why a script produced no usable response.
#[derive(Debug)]
pub enum CgiError {
    /// No script at that path, or a path that tries to escape: `404`.
    NotFound,
    /// The file may not be run: `403`.
    Forbidden,
    /// The request body could not be read, or broke off while the script was reading it (the
    /// script is then killed): its own status (`413`, `408`, `400`).
    Body(BodyError),
    /// Every script slot stayed busy for the whole queue wait: `503`.
    Busy,
    /// The script's response could not start within the timeout (no header block yet, or its
    /// request body still arriving): `504`.
    TimedOut,
    /// The script's header block is malformed: `500`.
    Output(MalformedHead),
    /// The script's output ended before the end of its header block (the bad line, or
    /// [`OutputError::Incomplete`]); it exited with this status: `500`.
    Unfinished(MalformedHead, Option<ExitStatus>),
    /// The script wrote nothing at all; it exited with this status: `500`.
    NoHeaders(Option<ExitStatus>),
    /// The body after the header block is broken, found before anything was sent: `500`.
    OutputBody(OutputBodyError),
    /// Local redirects led to more local redirects too many times: `500`.
    RedirectLoop,
    /// Spawning, spooling the body or reading output failed: `500`.
    Io(io::Error),
}

impl CgiError {
    /// The status the client gets.
    pub fn status(&self) -> StatusCode {
        match self {
            CgiError::NotFound => StatusCode::NOT_FOUND,
            CgiError::Forbidden => StatusCode::FORBIDDEN,
            CgiError::Body(e) => e.status(),
            CgiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            CgiError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            CgiError::Output(_)
            | CgiError::Unfinished(..)
            | CgiError::NoHeaders(_)
            | CgiError::OutputBody(_)
            | CgiError::RedirectLoop
            | CgiError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response, after logging what the operator should know. Client mistakes (404, 403,
    /// bad bodies) are not server faults and are left to the access log; details never reach
    /// the client.
    pub fn into_response(self, script: &str) -> Response {
        match &self {
            CgiError::NotFound | CgiError::Forbidden | CgiError::Body(_) => {
                tracing::debug!(script, "{self}")
            }
            _ => tracing::warn!(script, "{self}"),
        }
        Response::error(self.status())
    }
}

impl fmt::Display for CgiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgiError::NotFound => f.write_str("no such script"),
            CgiError::Forbidden => f.write_str("script is not executable"),
            CgiError::Body(e) => write!(f, "request body: {e}"),
            CgiError::Busy => f.write_str("too many scripts running"),
            CgiError::TimedOut => {
                f.write_str("script timed out before its response could start; killed")
            }
            CgiError::Output(e) => write!(f, "{e}"),
            CgiError::Unfinished(e, Some(status)) => write!(f, "{e}; then {status}"),
            CgiError::Unfinished(e, None) => write!(f, "{e}"),
            CgiError::NoHeaders(Some(status)) => {
                write!(f, "script sent no output and {status}")
            }
            CgiError::NoHeaders(None) => f.write_str("script sent no output"),
            CgiError::OutputBody(e) => write!(f, "{e}"),
            CgiError::RedirectLoop => f.write_str("too many local redirects"),
            CgiError::Io(e) => write!(f, "script I/O failed: {e}"),
        }
    }
}

impl std::error::Error for CgiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CgiError::Body(e) => Some(e),
            CgiError::Output(e) | CgiError::Unfinished(e, _) => Some(e),
            CgiError::OutputBody(e) => Some(e),
            CgiError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LocateError> for CgiError {
    fn from(e: LocateError) -> Self {
        match e {
            LocateError::NotFound => CgiError::NotFound,
            LocateError::Forbidden => CgiError::Forbidden,
            LocateError::Io(e) => CgiError::Io(e),
        }
    }
}

impl From<InputError> for CgiError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Body(e) => CgiError::Body(e),
            InputError::Spool(e) => CgiError::Io(e),
        }
    }
}

impl From<OutputError> for CgiError {
    fn from(e: OutputError) -> Self {
        CgiError::Output(e.into())
    }
}

impl From<MalformedHead> for CgiError {
    fn from(e: MalformedHead) -> Self {
        CgiError::Output(e)
    }
}

/// What is wrong with the body a script sent after its header block. Found before the response
/// head went out it is `500`; after, the response is cut short.
#[derive(Debug)]
pub enum OutputBodyError {
    /// The script said `Transfer-Encoding: chunked` and sent something else.
    Chunked(http1::ParseError),
    /// The output ended before the end its `Content-Length` or last chunk promised.
    Short,
}

impl fmt::Display for OutputBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputBodyError::Chunked(e) => write!(f, "script sent a malformed chunked body: {e}"),
            OutputBodyError::Short => f.write_str(
                "script output ended before the end of the body its Content-Length or chunked framing announced",
            ),
        }
    }
}

impl std::error::Error for OutputBodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputBodyError::Chunked(e) => Some(e),
            OutputBodyError::Short => None,
        }
    }
}

/// A spawn failure: permission problems are `403`, anything else (a missing interpreter, a
/// file that is not a program) is `500`.
pub(crate) fn spawn_error(e: io::Error) -> CgiError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => CgiError::Forbidden,
        _ => CgiError::Io(e),
    }
}
