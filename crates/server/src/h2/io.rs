//! A transport's halves as the one `AsyncRead + AsyncWrite` byte stream the h2 crate drives,
//! with the bytes the HTTP/1.1 reader had already taken off the socket read again first. Plain
//! TCP goes through tokio's halves; TLS through the session's poll-based side (`crate::tls`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::flood::FloodMeter;
use crate::transport::{ReadIo, WriteIo};

/// A transport's halves and the bytes read before the hand-over.
pub(crate) struct H2Io {
    rd: ReadIo,
    wr: WriteIo,
    /// Read already, not yet seen by the h2 crate: the connection preface that HTTP/1.1's
    /// request-line parser recognised, and whatever arrived with it.
    read_ahead: Bytes,
    /// What the client sends, counted for floods.
    flood: FloodMeter,
}

impl H2Io {
    pub(crate) fn new(rd: ReadIo, wr: WriteIo, read_ahead: Bytes) -> H2Io {
        H2Io {
            rd,
            wr,
            read_ahead,
            flood: FloodMeter::new(),
        }
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

impl AsyncWrite for H2Io {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_write(cx, data),
            WriteIo::Tls(tls) => tls.poll_write_vectored(cx, &[io::IoSlice::new(data)]),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_write_vectored(cx, bufs),
            WriteIo::Tls(tls) => tls.poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.wr {
            WriteIo::Tcp(wr) => wr.is_write_vectored(),
            // The slices go into one record: a DATA frame's head does not get a record of its own.
            WriteIo::Tls(_) => true,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_flush(cx),
            WriteIo::Tls(tls) => tls.poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_shutdown(cx),
            WriteIo::Tls(tls) => tls.poll_shutdown(cx),
        }
    }
}
