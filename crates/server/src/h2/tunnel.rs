//! An HTTP/2 stream opened by an extended CONNECT (RFC 8441) as the two halves of an
//! [`crate::Upgraded`] connection: what the client sends arrives as DATA frames, window given
//! back as it is read; what the service writes goes out as DATA frames within the client's
//! window. `shutdown` ends the stream with `END_STREAM` (RFC 8441 4: the orderly close, TCP's
//! FIN); halves dropped without it reset the stream (`CANCEL`, TCP's RST), which the h2 crate
//! does once no handle to the stream is left.
//!
//! The stream's task ([`Tunnel::closed`]) waits until both halves are dropped, so that the
//! connection counts the tunnel as a stream in flight (no idle GOAWAY under it), then, if the
//! service ended its side, lingers for the client's `END_STREAM` as a TCP server lingers for
//! the client's FIN, rather than resetting a stream that is closing in order.

use std::io;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use tokio::sync::mpsc;

/// How long a tunnel whose service ended its side waits for the client to end its own, its
/// DATA read and discarded, before the stream is reset: nginx's `lingering_timeout` (5 s).
pub const TUNNEL_LINGER: Duration = Duration::from_secs(5);

/// What a half leaves behind when it is dropped.
enum Left {
    /// The read half's stream, for the linger.
    Recv(RecvStream),
    /// The write half ended the stream (`shutdown`).
    Ended,
}

/// The read half: the stream's DATA frames.
pub(crate) struct TunnelRead {
    /// `None` only once dropped.
    recv: Option<RecvStream>,
    left: mpsc::Sender<Left>,
}

/// The write half: DATA frames on the stream.
pub(crate) struct TunnelWrite {
    send: SendStream<Bytes>,
    ended: bool,
    left: mpsc::Sender<Left>,
}

/// The stream's side of a tunnel: what the halves leave.
pub(super) struct Tunnel {
    left: mpsc::Receiver<Left>,
}

/// The halves of a stream whose `2xx` has gone out, and the stream task's side.
pub(super) fn halves(
    recv: RecvStream,
    send: SendStream<Bytes>,
) -> (TunnelRead, TunnelWrite, Tunnel) {
    // One message from each half at most: the sends in `drop` never wait.
    let (tx, left) = mpsc::channel(2);
    let rd = TunnelRead {
        recv: Some(recv),
        left: tx.clone(),
    };
    let wr = TunnelWrite {
        send,
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
        let Some(mut recv) = recv.filter(|_| ended) else {
            return;
        };
        let drain = async {
            while let Some(Ok(data)) = recv.data().await {
                let _ = recv.flow_control().release_capacity(data.len());
            }
        };
        let _ = tokio::time::timeout(TUNNEL_LINGER, drain).await;
    }
}

impl Drop for TunnelRead {
    fn drop(&mut self) {
        if let Some(recv) = self.recv.take() {
            let _ = self.left.try_send(Left::Recv(recv));
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

/// An h2 stream error as the `io::Error` a socket would have given.
fn to_io(e: h2::Error) -> io::Error {
    if e.is_reset() || e.is_go_away() {
        io::Error::new(io::ErrorKind::ConnectionReset, e)
    } else {
        io::Error::other(e)
    }
}

impl TunnelRead {
    /// Appends at least one byte to `buf`, waiting for it; `Ok(0)` once the client ended the
    /// stream. Window is released as the bytes are taken, so a service that stops reading
    /// holds the client at the stream window. Cancel-safe: the h2 crate keeps a frame until
    /// it is taken.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let Some(recv) = self.recv.as_mut() else {
            return Ok(0);
        };
        loop {
            match recv.data().await {
                None => return Ok(0),
                Some(Err(e)) => return Err(to_io(e)),
                Some(Ok(data)) => {
                    let n = data.len();
                    let _ = recv.flow_control().release_capacity(n);
                    if n > 0 {
                        buf.extend_from_slice(&data);
                        return Ok(n);
                    }
                }
            }
        }
    }
}

impl TunnelWrite {
    /// Sends as much of `data` as the client's window (and the connection's send buffer,
    /// [`super::SEND_BUFFER`]) allows now, waiting for at least one byte of it; returns how
    /// many went. Cancelled while waiting, it has sent nothing.
    pub(crate) async fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.send.reserve_capacity(data.len());
        loop {
            let capacity = self.send.capacity();
            if capacity > 0 {
                let n = capacity.min(data.len());
                self.send
                    .send_data(Bytes::copy_from_slice(&data[..n]), false)
                    .map_err(to_io)?;
                return Ok(n);
            }
            match std::future::poll_fn(|cx| self.send.poll_capacity(cx)).await {
                None => return Err(io::ErrorKind::BrokenPipe.into()),
                Some(Err(e)) => return Err(to_io(e)),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Ends the stream: `END_STREAM` on an empty DATA frame.
    pub(crate) fn shutdown(&mut self) {
        if self.ended {
            return;
        }
        self.send.reserve_capacity(0);
        self.ended = self.send.send_data(Bytes::new(), true).is_ok();
    }
}
