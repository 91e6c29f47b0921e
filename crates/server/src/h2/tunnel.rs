//! An HTTP/2 stream opened by an extended CONNECT (RFC 8441) as the two halves of an
//! [`crate::Upgraded`] connection: what the client sends arrives as DATA frames, window given
//! back as it is read; what the service writes goes out as DATA frames within the client's
//! window. `shutdown` ends the stream with `END_STREAM` (RFC 8441 4: the orderly close, TCP's
//! FIN); halves dropped without it reset the stream (`CANCEL`, TCP's RST), which the
//! connection does when the stream's task ends with the stream still open.
//!
//! The stream's task ([`Tunnel::closed`]) waits until both halves are dropped, so that the
//! connection counts the tunnel as a stream in flight (no idle GOAWAY under it), then, if the
//! service ended its side, lingers for the client's `END_STREAM` as a TCP server lingers for
//! the client's FIN, rather than resetting a stream that is closing in order.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::shared::{Gone, StreamRef};

/// How long a tunnel whose service ended its side waits for the client to end its own, its
/// DATA read and discarded, before the stream is reset: nginx's `lingering_timeout` (5 s).
pub const TUNNEL_LINGER: Duration = Duration::from_secs(5);

/// What a half leaves behind when it is dropped.
enum Left {
    /// The read half's stream, for the linger.
    Recv(StreamRef),
    /// The write half ended the stream (`shutdown`).
    Ended,
}

/// The read half: the stream's DATA frames.
pub(crate) struct TunnelRead {
    /// `None` only once dropped.
    stream: Option<StreamRef>,
    left: mpsc::Sender<Left>,
}

/// The write half: DATA frames on the stream.
pub(crate) struct TunnelWrite {
    stream: StreamRef,
    ended: bool,
    left: mpsc::Sender<Left>,
}

/// The stream's side of a tunnel: what the halves leave.
pub(super) struct Tunnel {
    left: mpsc::Receiver<Left>,
}

/// The halves of a stream whose `2xx` has gone out, and the stream task's side.
pub(super) fn halves(stream: StreamRef) -> (TunnelRead, TunnelWrite, Tunnel) {
    // One message from each half at most: the sends in `drop` never wait.
    let (tx, left) = mpsc::channel(2);
    let rd = TunnelRead {
        stream: Some(stream.clone()),
        left: tx.clone(),
    };
    let wr = TunnelWrite {
        stream,
        ended: false,
        left: tx,
    };
    (rd, wr, Tunnel { left })
}

impl Tunnel {
    /// Resolves once the service has dropped both halves (at once if it never took them), and
    /// the client has ended its side or [`TUNNEL_LINGER`] has passed.
    pub(super) async fn closed(mut self) {
        let mut recv = None;
        let mut ended = false;
        while let Some(left) = self.left.recv().await {
            match left {
                Left::Recv(r) => recv = Some(r),
                Left::Ended => ended = true,
            }
        }
        let Some(stream) = recv.filter(|_| ended) else {
            return;
        };
        let drain = async {
            while let Ok(Some(data)) = std::future::poll_fn(|cx| stream.poll_data(cx)).await {
                stream.release(data.len());
            }
        };
        let _ = tokio::time::timeout(TUNNEL_LINGER, drain).await;
    }
}

impl Drop for TunnelRead {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = self.left.try_send(Left::Recv(stream));
        }
    }
}

impl Drop for TunnelWrite {
    fn drop(&mut self) {
        if self.ended {
            let _ = self.left.try_send(Left::Ended);
        }
    }
}

/// A stream that is gone as the `io::Error` a socket would have given.
fn to_io(_: Gone) -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "HTTP/2 stream reset")
}

impl TunnelRead {
    /// Appends at least one byte to `buf`, waiting for it; `Ok(0)` once the client ended the
    /// stream. Window is released as the bytes are taken, so a service that stops reading
    /// holds the client at the stream window. Cancel-safe: the connection keeps a frame until
    /// it is taken.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let Some(stream) = self.stream.as_ref() else {
            return Ok(0);
        };
        match std::future::poll_fn(|cx| stream.poll_data(cx)).await {
            Ok(None) => Ok(0),
            Err(e) => Err(to_io(e)),
            Ok(Some(data)) => {
                stream.release(data.len());
                buf.extend_from_slice(&data);
                Ok(data.len())
            }
        }
    }
}

impl TunnelWrite {
    /// Sends as much of `data` as the client's window allows now, waiting for at least one
    /// byte of it; returns how many went. Cancelled while waiting, it has sent nothing.
    pub(crate) async fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        std::future::poll_fn(|cx| self.stream.poll_write(cx, data))
            .await
            .map_err(to_io)
    }

    /// Ends the stream: `END_STREAM` on an empty DATA frame.
    pub(crate) fn shutdown(&mut self) {
        if self.ended {
            return;
        }
        let mut empty = Bytes::new();
        let waker = futures_util::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        self.ended = matches!(
            self.stream.poll_send(&mut cx, &mut empty, true),
            std::task::Poll::Ready(Ok(()))
        );
    }
}
