//! A transport's halves as the one `AsyncRead + AsyncWrite` byte stream the h2 crate drives,
//! with the bytes the HTTP/1.1 reader had already taken off the socket read again first. Plain
//! TCP goes through tokio's halves; TLS through the session's poll-based side (`crate::tls`).
//!
//! What the h2 crate writes is held in an [`Outbox`] and sent when the connection's task has
//! nothing more to do ([`Flushing`]), not at each of the crate's flushes: it flushes before
//! every DATA frame larger than 256 bytes (it hands the payload over as a slice of its own),
//! which made one `writev` (and over TLS one record) per response; held back, the responses a
//! task finishes together leave in one write, as nginx's do at the end of an event loop pass.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use std::task::ready;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::flood::FloodMeter;
use crate::transport::{ReadIo, WriteIo};

/// A transport's halves and the bytes read before the hand-over.
pub(crate) struct H2Io {
    rd: ReadIo,
    out: Arc<Mutex<Outbox>>,
    /// Read already, not yet seen by the h2 crate: the connection preface that HTTP/1.1's
    /// request-line parser recognised, and whatever arrived with it.
    read_ahead: Bytes,
    /// What the client sends, counted for floods.
    flood: FloodMeter,
}

impl H2Io {
    /// The byte stream, and the outbox its writes wait in for [`Flushing`] to send.
    pub(crate) fn new(rd: ReadIo, wr: WriteIo, read_ahead: Bytes) -> (H2Io, Arc<Mutex<Outbox>>) {
        let out = Arc::new(Mutex::new(Outbox {
            wr,
            buf: Vec::new(),
            sent: 0,
        }));
        let io = H2Io {
            rd,
            out: out.clone(),
            read_ahead,
            flood: FloodMeter::new(),
        };
        (io, out)
    }

    fn out(&self) -> MutexGuard<'_, Outbox> {
        lock(&self.out)
    }
}

impl AsyncRead for H2Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        if !this.read_ahead.is_empty() {
            let n = this.read_ahead.len().min(buf.remaining());
            buf.put_slice(&this.read_ahead[..n]);
            this.read_ahead.advance(n);
        } else {
            let polled = match &mut this.rd {
                ReadIo::Tcp(rd) => Pin::new(rd).poll_read(cx, buf),
                ReadIo::Tls(tls) => tls.poll_read(cx, buf),
            };
            if let Poll::Ready(Err(_)) | Poll::Pending = polled {
                return polled;
            }
        }
        this.flood.feed(&buf.filled()[before..])?;
        Poll::Ready(Ok(()))
    }
}

/// Most bytes the outbox holds before a write waits for the socket to take them: what one
/// task pass of a busy connection produces (a hundred 1 KiB responses), so the write that
/// ends the pass is one system call, and a bound on what a connection can make the server hold
/// for a client that does not read.
const OUTBOX_LIMIT: usize = 128 * 1024;

/// Room the outbox keeps between passes; more, grown by a burst, is given back once sent, so
/// an idle connection does not hold a busy moment's buffer.
const OUTBOX_KEEP: usize = 4 * 1024;

/// Bytes written by the h2 crate and not yet handed to the transport.
pub(crate) struct Outbox {
    wr: WriteIo,
    buf: Vec<u8>,
    /// How much of `buf` the transport took already.
    sent: usize,
}

impl Outbox {
    /// Hands everything held to the transport (and, for TLS, the records to the socket);
    /// `Pending` registers for the socket's writability.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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
            self.sent += n;
        }
        self.sent = 0;
        if self.buf.capacity() > OUTBOX_KEEP {
            // A burst's room goes back to the allocator; a quiet connection keeps a little.
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
        match &mut self.wr {
            WriteIo::Tcp(_) => Poll::Ready(Ok(())),
            WriteIo::Tls(tls) => tls.poll_flush(cx),
        }
    }
}

fn lock(out: &Mutex<Outbox>) -> MutexGuard<'_, Outbox> {
    out.lock().unwrap_or_else(|e| e.into_inner())
}

impl AsyncWrite for H2Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[io::IoSlice::new(data)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut out = self.out();
        if out.buf.len() >= OUTBOX_LIMIT {
            ready!(out.poll_send(cx))?;
        }
        let mut n = 0;
        for b in bufs {
            out.buf.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    /// Nothing here: [`Flushing`] sends what is held once the task has nothing more to do.
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.out();
        ready!(out.poll_send(cx))?;
        match &mut out.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_shutdown(cx),
            WriteIo::Tls(tls) => tls.poll_shutdown(cx),
        }
    }
}

/// Runs a connection's future and, each time it has nothing more to do, sends what its writes
/// left in the [`Outbox`]. When the socket does not take it all, the task is woken once it
/// can; a socket that fails ends the connection.
pub(crate) struct Flushing<F> {
    inner: Pin<Box<F>>,
    out: Arc<Mutex<Outbox>>,
}

impl<F: Future<Output = ()>> Flushing<F> {
    pub(crate) fn new(inner: F, out: Arc<Mutex<Outbox>>) -> Flushing<F> {
        Flushing {
            inner: Box::pin(inner),
            out,
        }
    }
}

impl<F: Future<Output = ()>> Future for Flushing<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let done = self.inner.as_mut().poll(cx);
        // Every time, even with nothing held: over TLS, records the socket did not take last
        // time are still in the session, and this wake-up may be the socket's writability.
        match lock(&self.out).poll_send(cx) {
            // Failed: nothing more can reach the client.
            Poll::Ready(Err(_)) => Poll::Ready(()),
            // At the end, what is left goes out as far as the socket takes it at once.
            _ => done,
        }
    }
}
