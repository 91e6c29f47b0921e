//! Connections handed over after `101 Switching Protocols` (RFC 9110 7.8): WebSocket, or any
//! protocol a service agrees to switch to.
//!
//! When an HTTP/1.1 request asks to switch (`Upgrade` and `Connection: upgrade`, no body), the
//! connection driver puts an [`OnUpgrade`] in the request's extensions. A service that agrees
//! answers `101` and awaits the `OnUpgrade` (in a task of its own, since the response must go
//! out first): once the head is written the driver resolves it with the [`Upgraded`]
//! connection, the transport (plain TCP or TLS) and the bytes the client sent after its request
//! head, and leaves the connection alone. A service that answers anything else lets the
//! `OnUpgrade` go; the connection then goes on as HTTP, and awaiting it fails.
//!
//! An HTTP/2 extended CONNECT (RFC 8441) asks the same over one stream: the HTTP/2 driver
//! puts an [`OnUpgrade`] and the [`ConnectProtocol`] asked for in the request's extensions, a
//! service that agrees answers `2xx` (`101` is sent as `200`: HTTP/2 has no `101`), and the
//! [`Upgraded`] halves are then the stream's DATA frames (`crate::h2::tunnel`).
//!
//! This is hyper's `upgrade::on` seam, over this server's transports.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::sync::oneshot;

use crate::ConnInfo;
use crate::transport::{ReadIo, WriteIo};

/// A connection after `101 Switching Protocols`: it speaks the new protocol both ways.
pub struct Upgraded {
    /// The read half.
    pub read: UpgradedRead,
    /// The write half.
    pub write: UpgradedWrite,
    /// Where the connection comes from, and whether over TLS.
    pub info: ConnInfo,
}

impl std::fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upgraded")
            .field("info", &self.info)
            .finish()
    }
}

/// The protocol an HTTP/2 extended CONNECT asks for (its `:protocol`, RFC 8441 4), in the
/// extensions of such a request beside its [`OnUpgrade`]: what `Upgrade` says over HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectProtocol(pub String);

/// The read half of an [`Upgraded`] connection.
pub struct UpgradedRead {
    side: ReadSide,
}

/// Where an [`UpgradedRead`] reads from.
enum ReadSide {
    /// The connection itself (HTTP/1.1), and the bytes the client sent after the request
    /// head, read with it: they come first.
    Io { io: ReadIo, read_ahead: BytesMut },
    /// An HTTP/2 stream's DATA frames.
    H2(crate::h2::tunnel::TunnelRead),
}

impl std::fmt::Debug for UpgradedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.side {
            ReadSide::Io { read_ahead, .. } => f
                .debug_struct("UpgradedRead")
                .field("read_ahead", &read_ahead.len())
                .finish(),
            ReadSide::H2(_) => f.write_str("UpgradedRead(h2)"),
        }
    }
}

impl UpgradedRead {
    /// Appends at least one byte to `buf`, waiting for it; `Ok(0)` at the end of the stream.
    /// Cancel-safe: dropped before it returns, it has read nothing.
    pub async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let (io, read_ahead) = match &mut self.side {
            ReadSide::Io { io, read_ahead } => (io, read_ahead),
            ReadSide::H2(tunnel) => return tunnel.read_buf(buf).await,
        };
        if !read_ahead.is_empty() {
            let n = read_ahead.len();
            buf.extend_from_slice(read_ahead);
            read_ahead.advance(n);
            return Ok(n);
        }
        io.read_buf(buf).await
    }
}

/// The write half of an [`Upgraded`] connection.
pub struct UpgradedWrite {
    side: WriteSide,
    /// How long one write may wait for the client to take a byte: the connection's write
    /// timeout (`--write-timeout`), as for an HTTP response. A client that stops reading
    /// would otherwise hold the connection, and what the service has queued for it, forever
    /// (nginx bounds the same wait by `send_timeout`, and `proxy_send_timeout` when it relays
    /// a WebSocket).
    timeout: Duration,
}

/// Where an [`UpgradedWrite`] writes to.
enum WriteSide {
    /// The connection itself (HTTP/1.1).
    Io(WriteIo),
    /// An HTTP/2 stream, as DATA frames.
    H2(crate::h2::tunnel::TunnelWrite),
}

impl std::fmt::Debug for UpgradedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpgradedWrite")
    }
}

impl UpgradedWrite {
    /// Sends some of `data`, waiting until the transport takes at least one byte; returns how
    /// many it took. Fails with `TimedOut` when the client takes nothing for the connection's
    /// write timeout.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let waited = match &mut self.side {
            WriteSide::Io(io) => match io.try_send(data) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    tokio::time::timeout(self.timeout, io.send(data, false)).await
                }
                other => return other,
            },
            WriteSide::H2(tunnel) => tokio::time::timeout(self.timeout, tunnel.write(data)).await,
        };
        waited.unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing for the write timeout",
            ))
        })
    }

    /// Sends all of `data`.
    pub async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = self.write(data).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// Ends the stream: FIN (a TLS transport sends its close_notify first); over HTTP/2,
    /// `END_STREAM` (RFC 8441 4).
    pub async fn shutdown(&mut self) {
        match &mut self.side {
            WriteSide::Io(io) => io.shutdown().await,
            WriteSide::H2(tunnel) => tunnel.shutdown(),
        }
    }
}

/// Resolves with the [`Upgraded`] connection once the `101` response has been written; fails
/// when the service answered otherwise or the connection broke first. Taken from the request's
/// extensions (`req.extensions.remove::<OnUpgrade>()`); only requests that asked to switch
/// (over HTTP/1.1, or by an HTTP/2 extended CONNECT) have one. Extensions must be `Clone`: clones share the one connection, and
/// the first to be awaited gets it.
#[derive(Debug, Clone)]
pub struct OnUpgrade {
    rx: Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>,
}

/// The connection was not handed over: the response was not `101` (`2xx` over HTTP/2), or
/// writing it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeFailed;

impl std::fmt::Display for UpgradeFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection was not switched to the new protocol")
    }
}

impl std::error::Error for UpgradeFailed {}

impl Future for OnUpgrade {
    type Output = Result<Upgraded, UpgradeFailed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        let Some(rx) = slot.as_mut() else {
            return Poll::Ready(Err(UpgradeFailed));
        };
        let polled = Pin::new(rx).poll(cx).map_err(|_| UpgradeFailed);
        if polled.is_ready() {
            *slot = None;
        }
        polled
    }
}

/// The driver's end of an [`OnUpgrade`].
pub(crate) struct Pending {
    tx: oneshot::Sender<Upgraded>,
}

/// A pair for one request that asked to switch.
pub(crate) fn pending() -> (Pending, OnUpgrade) {
    let (tx, rx) = oneshot::channel();
    let rx = Arc::new(Mutex::new(Some(rx)));
    (Pending { tx }, OnUpgrade { rx })
}

impl Pending {
    /// Hands the connection over; if the service dropped its [`OnUpgrade`] the connection
    /// closes as the halves are dropped. Each write may wait `write_timeout` for the client.
    pub(crate) fn complete(
        self,
        rd: ReadIo,
        read_ahead: BytesMut,
        wr: WriteIo,
        info: ConnInfo,
        write_timeout: Duration,
    ) {
        let upgraded = Upgraded {
            read: UpgradedRead {
                side: ReadSide::Io { io: rd, read_ahead },
            },
            write: UpgradedWrite {
                side: WriteSide::Io(wr),
                timeout: write_timeout,
            },
            info,
        };
        let _ = self.tx.send(upgraded);
    }

    /// Whether the service let every clone of its [`OnUpgrade`] go: nothing would speak the
    /// new protocol.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.tx.is_closed()
    }

    /// Hands an HTTP/2 stream over, after its `2xx` went out. Each write may wait
    /// `write_timeout` for the client's window.
    pub(crate) fn complete_h2(
        self,
        rd: crate::h2::tunnel::TunnelRead,
        wr: crate::h2::tunnel::TunnelWrite,
        info: ConnInfo,
        write_timeout: Duration,
    ) {
        let upgraded = Upgraded {
            read: UpgradedRead {
                side: ReadSide::H2(rd),
            },
            write: UpgradedWrite {
                side: WriteSide::H2(wr),
                timeout: write_timeout,
            },
            info,
        };
        let _ = self.tx.send(upgraded);
    }
}
