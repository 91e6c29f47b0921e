//! RFC 867, the Daytime Protocol: the current date and time as one line of ASCII.
//!
//! The RFC leaves the format open ("there is no specific syntax for the daytime"); this service
//! sends the IMF-fixdate of HTTP's `Date` header, `Wed, 25 Nov 2026 18:30:00 GMT`, which is
//! readable, unambiguous (always UTC) and parsed by every HTTP and mail library.
//!
//! Over TCP the line is sent as soon as a client connects, then the connection is closed; over
//! UDP any datagram is answered with one datagram holding the line.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use server::{Shutdown, TcpService};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// The well-known port (needs privilege to bind on most systems).
pub const PORT: u16 = 13;
/// How long a TCP client may take to accept the line.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest datagram read; its content is ignored anyway (RFC 867: "the data is thrown away").
const MAX_DATAGRAM: usize = 2048;

/// The line sent for the time `now`, CRLF included.
pub fn daytime_line(now: SystemTime) -> String {
    format!("{}\r\n", httpdate::fmt_http_date(now))
}

/// Reads a line sent by [`daytime_line`] back into a time, for a client (or a test).
pub fn parse_daytime_line(line: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(line.trim_end_matches(['\r', '\n'])).ok()
}

/// The TCP daytime service; register it with [`server::Server::tcp`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DaytimeTcp;

impl TcpService for DaytimeTcp {
    async fn serve(&self, mut stream: TcpStream, peer: SocketAddr, _shutdown: Shutdown) {
        // One line and done: nothing to wait for, so nothing to cut short at shutdown.
        let line = daytime_line(SystemTime::now());
        let sent = timeout(WRITE_TIMEOUT, async {
            stream.write_all(line.as_bytes()).await?;
            stream.shutdown().await
        })
        .await;
        match sent {
            Ok(Ok(())) => tracing::info!(%peer, "daytime sent over tcp"),
            Ok(Err(e)) => tracing::info!(%peer, error = %e, "daytime not delivered"),
            Err(_) => tracing::info!(%peer, "daytime not delivered: client stopped reading"),
        }
    }
}

/// Answers every datagram on `socket` with the daytime line until shutdown begins.
///
/// Takes a std socket already bound, so a port in use is reported before the server starts;
/// it is registered with the runtime here, on the thread that runs this task.
pub async fn serve_udp(socket: std::net::UdpSocket, mut shutdown: Shutdown) {
    let socket = match socket
        .set_nonblocking(true)
        .and_then(|()| UdpSocket::from_std(socket))
    {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the UDP daytime service");
            return;
        }
    };
    let mut buf = [0u8; MAX_DATAGRAM];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = shutdown.wait() => return,
        };
        match received {
            Ok((_, peer)) => {
                let line = daytime_line(SystemTime::now());
                match socket.send_to(line.as_bytes(), peer).await {
                    Ok(_) => tracing::info!(%peer, "daytime sent over udp"),
                    Err(e) => tracing::info!(%peer, error = %e, "daytime not delivered"),
                }
            }
            // ICMP errors from earlier replies surface here (ECONNREFUSED); the socket is fine.
            Err(e) => tracing::debug!(error = %e, "udp receive failed"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn line_round_trips() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_631_400);
        let line = daytime_line(t);
        assert_eq!(line, "Wed, 25 Nov 2026 18:30:00 GMT\r\n");
        assert_eq!(parse_daytime_line(&line), Some(t));
        assert_eq!(parse_daytime_line("yesterday"), None);
    }
}
