//! Every reason a request for a file fails, and the one place that maps it to a status.

use std::fmt;
use std::io;

use http::StatusCode;

/// A symlink cycle, which the client cannot tell from a missing file.
const ELOOP: i32 = rustix::io::Errno::LOOP.raw_os_error();
/// A name longer than the filesystem allows: nothing can be there.
const ENAMETOOLONG: i32 = rustix::io::Errno::NAMETOOLONG.raw_os_error();

/// Why a file request failed. Each variant is a different answer; none carries a filesystem
/// path, so nothing about the server's layout can reach a response.
#[derive(Debug)]
pub enum Error {
    /// The path is malformed or tries to escape the root: `..`, an encoded `/`, a backslash, a
    /// NUL byte (`400`).
    BadPath(&'static str),
    /// Nothing is there, or it is hidden (dotfiles without `--hidden`) (`404`).
    NotFound,
    /// Something is there but may not be served: a file the server cannot read, a device or
    /// FIFO (`403`). A symlink the policy refuses is [`Error::NotFound`]: it does not tell that
    /// something is there.
    Forbidden,
    /// A method other than GET/HEAD/OPTIONS that the file server knows but does not allow (`405`).
    MethodNotAllowed,
    /// A method this server does not know at all (`501`).
    NotImplemented,
    /// The filesystem failed in a way the client did not cause (`500`, logged).
    Io(io::Error),
}

impl Error {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadPath(_) => StatusCode::BAD_REQUEST,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Error::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<io::Error> for Error {
    /// Sorts an I/O error into what the client did (asked for something absent or forbidden)
    /// and what the server suffered.
    fn from(e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Error::NotFound,
            io::ErrorKind::PermissionDenied => Error::Forbidden,
            _ if matches!(e.raw_os_error(), Some(ELOOP | ENAMETOOLONG)) => Error::NotFound,
            _ => Error::Io(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadPath(why) => write!(f, "bad path: {why}"),
            Error::NotFound => f.write_str("not found"),
            Error::Forbidden => f.write_str("forbidden"),
            Error::MethodNotAllowed => f.write_str("method not allowed"),
            Error::NotImplemented => f.write_str("method not implemented"),
            Error::Io(_) => f.write_str("filesystem error"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_sort_into_client_and_server_faults() {
        let status = |e: io::Error| Error::from(e).status();
        assert_eq!(
            status(io::ErrorKind::NotFound.into()),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(io::ErrorKind::NotADirectory.into()),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(io::ErrorKind::PermissionDenied.into()),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(io::Error::from_raw_os_error(ELOOP)),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(io::Error::from_raw_os_error(ENAMETOOLONG)),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(io::Error::other("disk on fire")),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            Error::Io(io::Error::other("/secret/path")).to_string(),
            "filesystem error"
        );
    }
}
