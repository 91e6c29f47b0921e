//! Resolving a host and connecting to it within a timeout, for both clients.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use crate::Error;

/// Resolves `host` and connects to its addresses in turn until one accepts, all within
/// `timeout`. The error names the host as the user wrote it and the last address's failure.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + timeout;
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<SocketAddr> = timeout_at(deadline, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| timed_out("the host name to resolve", timeout))?
        .map_err(|source| Error::Resolve {
            host: host.to_string(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no addresses");
    for addr in addrs {
        match timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => return Err(timed_out("the connection", timeout)),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => {
                tracing::debug!(%addr, error = %e, "connect failed");
                last = e;
            }
        }
    }
    Err(Error::Connect {
        authority,
        source: last,
    })
}

/// [`Error::Timeout`] for `waiting_for`.
pub fn timed_out(waiting_for: &'static str, after: Duration) -> Error {
    Error::Timeout { waiting_for, after }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn refused_names_the_authority() {
        let rt = runtime();
        // Bind and drop to find a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = rt
            .block_on(connect("127.0.0.1", port, Duration::from_secs(5)))
            .unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("cannot connect to 127.0.0.1:{port}")
        );
    }

    #[test]
    fn unknown_names_do_not_resolve() {
        let rt = runtime();
        // `.invalid` is reserved (RFC 2606) and never resolves.
        let err = rt
            .block_on(connect("no-such-host.invalid", 80, Duration::from_secs(20)))
            .unwrap_err();
        assert!(
            matches!(err, Error::Resolve { .. } | Error::Timeout { .. }),
            "{err:?}"
        );
    }
}
