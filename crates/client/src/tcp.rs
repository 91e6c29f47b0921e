//! The tutorial's raw TCP client: connect, send a message, half-close, read the reply.
//!
//! Half-closing (`shutdown(Write)`) tells the server nothing more is coming; `tcp listen` answers
//! each message as it arrives and closes its side after the end of stream, so reading to the end
//! collects every answer.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::Error;
use crate::net::timed_out;
use crate::url::parse_host_port;

/// Largest reply kept; a server that sends more is cut off there (the reply is for a human).
pub const MAX_REPLY: u64 = 16 * 1024 * 1024;

/// Sends `message` to `addr` (`HOST:PORT`) and returns the reply, all within `timeout`.
pub async fn send(addr: &str, message: &[u8], timeout: Duration) -> Result<Vec<u8>, Error> {
    let (host, port) = parse_host_port(addr)?;
    let mut stream = crate::net::connect(&host, port, timeout).await?;
    let deadline = Instant::now() + timeout;
    timeout_at(deadline, async {
        stream.write_all(message).await?;
        stream.shutdown().await
    })
    .await
    .map_err(|_| timed_out("the server to take the message", timeout))?
    .map_err(Error::Io)?;
    let mut reply = Vec::new();
    timeout_at(
        deadline,
        (&mut stream).take(MAX_REPLY).read_to_end(&mut reply),
    )
    .await
    .map_err(|_| timed_out("the reply", timeout))?
    .map_err(Error::Io)?;
    Ok(reply)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn round_trip_and_silence() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                s.read_to_end(&mut got).await.unwrap();
                s.write_all(&[b"got ".as_slice(), &got].concat())
                    .await
                    .unwrap();
                drop(s);
                // A second client that is never answered.
                let (_silent, _) = listener.accept().await.unwrap();
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
            let reply = send(&addr, b"hi", Duration::from_secs(10)).await.unwrap();
            assert_eq!(reply, b"got hi");
            let err = send(&addr, b"hi", Duration::from_millis(300))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Timeout {
                        waiting_for: "the reply",
                        ..
                    }
                ),
                "{err:?}"
            );
            server.abort();
        });
    }
}
