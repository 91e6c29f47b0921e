//! A transport's halves as the one `AsyncRead + AsyncWrite` byte stream the h2 crate drives,
//! with the bytes the HTTP/1.1 reader had already taken off the socket read again first.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::transport::{ReadIo, WriteIo};

/// A transport's halves and the bytes read before the hand-over.
pub(crate) struct H2Io {
    rd: ReadIo,
    wr: WriteIo,
    /// Read already, not yet seen by the h2 crate: the connection preface that HTTP/1.1's
    /// request-line parser recognised, and whatever arrived with it.
    read_ahead: Bytes,
}

impl H2Io {
    pub(crate) fn new(rd: ReadIo, wr: WriteIo, read_ahead: Bytes) -> H2Io {
        H2Io { rd, wr, read_ahead }
    }
}

impl AsyncRead for H2Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.read_ahead.is_empty() {
            let n = self.read_ahead.len().min(buf.remaining());
            buf.put_slice(&self.read_ahead[..n]);
            self.read_ahead.advance(n);
            return Poll::Ready(Ok(()));
        }
        match &mut self.rd {
            ReadIo::Tcp(rd) => Pin::new(rd).poll_read(cx, buf),
            ReadIo::Tls(_) => Poll::Ready(Err(over_tls())),
        }
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
            WriteIo::Tls(_) => Poll::Ready(Err(over_tls())),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_write_vectored(cx, bufs),
            WriteIo::Tls(_) => Poll::Ready(Err(over_tls())),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.wr {
            WriteIo::Tcp(wr) => wr.is_write_vectored(),
            WriteIo::Tls(_) => false,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_flush(cx),
            WriteIo::Tls(_) => Poll::Ready(Err(over_tls())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.wr {
            WriteIo::Tcp(wr) => Pin::new(wr).poll_shutdown(cx),
            WriteIo::Tls(_) => Poll::Ready(Err(over_tls())),
        }
    }
}

/// HTTP/2 over TLS is chosen by ALPN `h2`, which is not offered yet; a client that sends the
/// preface inside a TLS session negotiated for `http/1.1` gets its connection closed.
fn over_tls() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "HTTP/2 inside a TLS session negotiated for http/1.1",
    )
}
