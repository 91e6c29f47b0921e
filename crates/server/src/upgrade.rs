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
//! This is hyper's `upgrade::on` seam, over this server's transports.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

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

/// The read half of an [`Upgraded`] connection.
pub struct UpgradedRead {
    io: ReadIo,
    /// Bytes the client sent after the request head, read with it; they come first.
    read_ahead: BytesMut,
}

impl std::fmt::Debug for UpgradedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpgradedRead")
            .field("read_ahead", &self.read_ahead.len())
            .finish()
    }
}

impl UpgradedRead {
    /// Appends at least one byte to `buf`, waiting for it; `Ok(0)` at the end of the stream.
    /// Cancel-safe: dropped before it returns, it has read nothing.
    pub async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        if !self.read_ahead.is_empty() {
            let n = self.read_ahead.len();
            buf.extend_from_slice(&self.read_ahead);
            self.read_ahead.advance(n);
            return Ok(n);
        }
        self.io.read_buf(buf).await
    }
}

/// The write half of an [`Upgraded`] connection.
pub struct UpgradedWrite {
    io: WriteIo,
}

impl std::fmt::Debug for UpgradedWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpgradedWrite")
    }
}

impl UpgradedWrite {
    /// Sends some of `data`, waiting until the transport takes at least one byte; returns how
    /// many it took.
    pub async fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.io.try_send(data) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.io.send(data, false).await,
            other => other,
        }
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

    /// Ends the stream: FIN (a TLS transport sends its close_notify first).
    pub async fn shutdown(&mut self) {
        self.io.shutdown().await;
    }
}

/// Resolves with the [`Upgraded`] connection once the `101` response has been written; fails
/// when the service answered otherwise or the connection broke first. Taken from the request's
/// extensions (`req.extensions.remove::<OnUpgrade>()`); only requests that asked to switch
/// over HTTP/1.1 have one. Extensions must be `Clone`: clones share the one connection, and
/// the first to be awaited gets it.
#[derive(Debug, Clone)]
pub struct OnUpgrade {
    rx: Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>,
}

/// The connection was not handed over: the response was not `101`, or writing it failed.
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
    /// closes as the halves are dropped.
    pub(crate) fn complete(self, rd: ReadIo, read_ahead: BytesMut, wr: WriteIo, info: ConnInfo) {
        let upgraded = Upgraded {
            read: UpgradedRead { io: rd, read_ahead },
            write: UpgradedWrite { io: wr },
            info,
        };
        let _ = self.tx.send(upgraded);
    }
}
