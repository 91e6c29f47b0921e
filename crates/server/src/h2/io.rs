//! The connection's two ends of the socket: reads through a per-thread scratch buffer straight
//! into the sans-IO connection (so a connection holds no read buffer), and an [`Outbox`] for
//! what it writes, sent once per pass of the task: the responses a pass finishes leave in one
//! write (over TLS one record), as nginx's do at the end of an event loop pass. The outbox's
//! buffer is given back whenever the socket has taken all of it, so an idle connection holds
//! none.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::AsyncWrite;

use crate::transport::{ReadIo, WriteIo};

/// Size of the per-thread buffer reads go through: one full frame and its head.
const SCRATCH_SIZE: usize = 16 * 1024 + 9;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH_SIZE]);
}

/// What one read gave.
pub(super) enum Read {
    /// Bytes (handed to `take`).
    Some,
    /// Nothing now; the caller registers for readiness.
    WouldBlock,
    /// The client closed its side.
    Eof,
}

/// Reads what the socket has now without waiting and hands it to `take`.
pub(super) fn read(rd: &ReadIo, take: impl FnOnce(&[u8])) -> io::Result<Read> {
    use std::io::ErrorKind::WouldBlock;
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let mut got = 0;
        let result = rd.try_read(&mut scratch[..], &mut got);
        if got > 0 {
            crate::metrics::bytes_in(got);
            take(&scratch[..got]);
        }
        match result {
            Ok(0) => Ok(Read::Eof),
            Ok(_) => Ok(Read::Some),
            Err(e) if e.kind() == WouldBlock && got > 0 => Ok(Read::Some),
            Err(e) if e.kind() == WouldBlock => Ok(Read::WouldBlock),
            Err(e) => Err(e),
        }
    })
}

/// Bytes taken from the connection and not yet by the socket.
pub(super) struct Outbox {
    pub(super) wr: WriteIo,
    buf: Vec<u8>,
    /// How much of `buf` the transport took already.
    sent: usize,
}

impl Outbox {
    pub(super) fn new(wr: WriteIo) -> Outbox {
        Outbox {
            wr,
            buf: Vec::new(),
            sent: 0,
        }
    }

    /// Bytes held.
    pub(super) fn len(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Adds the connection's output.
    pub(super) fn push(&mut self, more: Vec<u8>) {
        if self.buf.is_empty() {
            self.buf = more;
            self.sent = 0;
        } else {
            self.buf.extend_from_slice(&more);
        }
    }

    /// Hands everything held to the transport (and, for TLS, the records to the socket);
    /// `Pending` registers for the socket's writability. Once all is sent the buffer goes.
    pub(super) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.buf.len() {
            let rest = &self.buf[self.sent..];
            let n = match &mut self.wr {
                WriteIo::Tcp(wr) => ready!(Pin::new(wr).poll_write(cx, rest))?,
                WriteIo::Tls(tls) => {
                    ready!(tls.poll_write_vectored(cx, &[io::IoSlice::new(rest)]))?
                }
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            crate::metrics::bytes_out(n);
            self.sent += n;
        }
        self.sent = 0;
        self.buf = Vec::new();
        match &mut self.wr {
            WriteIo::Tcp(_) => Poll::Ready(Ok(())),
            WriteIo::Tls(tls) => tls.poll_flush(cx),
        }
    }

    /// Ends the stream: FIN (a TLS session's close_notify first), once everything went.
    pub(super) fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_shutdown(cx),
            WriteIo::Tls(tls) => tls.poll_shutdown(cx),
        }
    }
}
