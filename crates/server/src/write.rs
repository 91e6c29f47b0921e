//! The write side of a connection: a reusable output buffer, write timeouts, and `sendfile`.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use rustix::net::SendFlags;
use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::tcp::OwnedWriteHalf;

use crate::response::BoxStream;

/// Response bytes buffered past this size are written out before more are added, and bodies
/// this large are written from their own buffer instead of being copied.
pub(crate) const FLUSH_THRESHOLD: usize = 64 * 1024;
/// Largest single `sendfile` call; keeps one huge file from monopolising a worker.
const SENDFILE_CHUNK: usize = 1024 * 1024;

/// A connection's write half with its output buffer.
pub(crate) struct Writer {
    io: OwnedWriteHalf,
    pub(crate) buf: Vec<u8>,
    timeout: Duration,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")
}

impl Writer {
    pub(crate) fn new(io: OwnedWriteHalf, timeout: Duration) -> Writer {
        Writer {
            io,
            buf: Vec::new(),
            timeout,
        }
    }

    /// Frees the output buffer (an idle connection's); the next response allocates a new one.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// Writes out everything buffered.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.write_buffered().await;
        self.buf.clear();
        result
    }

    /// A response almost always fits in the socket's send buffer, so it is first written
    /// without waiting; only what the kernel does not take at once waits, under the timeout.
    async fn write_buffered(&mut self) -> io::Result<()> {
        let mut done = 0;
        while done < self.buf.len() {
            match self.try_send(&self.buf[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let rest = &self.buf[done..];
                    return tokio::time::timeout(self.timeout, self.io.write_all(rest))
                        .await
                        .map_err(|_| timed_out())?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// One `send` if the socket is writable. The system call is made directly (through
    /// rustix) rather than through libc's wrapper, which brackets every call with thread
    /// cancellation bookkeeping: about 3% of the CPU of a small keep-alive request.
    fn try_send(&self, data: &[u8]) -> io::Result<usize> {
        let stream = self.io.as_ref();
        stream.try_io(Interest::WRITABLE, || {
            rustix::net::send(stream, data, SendFlags::NOSIGNAL).map_err(io::Error::from)
        })
    }

    /// Flushes when the buffer has grown past [`FLUSH_THRESHOLD`].
    pub(crate) async fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_THRESHOLD {
            self.flush().await?;
        }
        Ok(())
    }

    /// Adds `data` after what is buffered: copied when small, written directly when large.
    pub(crate) async fn write_bytes(&mut self, data: &[u8]) -> io::Result<()> {
        if data.len() < FLUSH_THRESHOLD {
            self.buf.extend_from_slice(data);
            return self.flush_if_full().await;
        }
        self.flush_corked().await?;
        tokio::time::timeout(self.timeout, self.io.write_all(data))
            .await
            .map_err(|_| timed_out())?
    }

    /// Writes out what is buffered (a response head) with `MSG_MORE`, so the kernel holds it
    /// back and sends it in one segment with the first bytes of the file that follows, as
    /// nginx's `tcp_nopush` does, instead of a small segment of its own.
    async fn flush_corked(&mut self) -> io::Result<()> {
        let stream = self.io.as_ref();
        let mut done = 0;
        while done < self.buf.len() {
            let pending = &self.buf[done..];
            done += tokio::time::timeout(
                self.timeout,
                stream.async_io(Interest::WRITABLE, || {
                    rustix::net::send(stream, pending, SendFlags::MORE | SendFlags::NOSIGNAL)
                        .map_err(io::Error::from)
                }),
            )
            .await
            .map_err(|_| timed_out())??;
        }
        self.buf.clear();
        Ok(())
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile(2)`, after what is buffered.
    pub(crate) async fn send_file(
        &mut self,
        file: &std::fs::File,
        mut offset: u64,
        mut len: u64,
    ) -> io::Result<()> {
        self.flush_corked().await?;
        let stream = self.io.as_ref();
        while len > 0 {
            let count = len.min(SENDFILE_CHUNK as u64) as usize;
            let sent = tokio::time::timeout(
                self.timeout,
                stream.async_io(Interest::WRITABLE, || {
                    let mut off = offset;
                    rustix::fs::sendfile(stream, file, Some(&mut off), count)
                        .map_err(io::Error::from)
                }),
            )
            .await
            .map_err(|_| timed_out())??;
            if sent == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being sent",
                ));
            }
            offset += sent as u64;
            len -= sent as u64;
        }
        Ok(())
    }

    /// Writes every piece of `stream` as it comes, each framed by `frame` (chunked or not), and
    /// flushes after each so a slow producer's output reaches the client as it is made.
    /// Returns the body bytes written.
    pub(crate) async fn write_stream(
        &mut self,
        mut stream: BoxStream,
        chunked: bool,
        limit: Option<u64>,
    ) -> io::Result<u64> {
        let mut sent = 0u64;
        while let Some(piece) = stream.next().await {
            let piece: Bytes = piece?;
            if piece.is_empty() {
                continue;
            }
            sent += piece.len() as u64;
            if limit.is_some_and(|max| sent > max) {
                return Err(io::Error::other("body longer than its Content-Length"));
            }
            if chunked {
                http1::response::encode_chunk_head(&mut self.buf, piece.len());
            }
            self.write_bytes(&piece).await?;
            if chunked {
                self.buf.extend_from_slice(b"\r\n");
            }
            self.flush().await?;
        }
        if limit.is_some_and(|max| sent != max) {
            return Err(io::Error::other("body shorter than its Content-Length"));
        }
        if chunked {
            self.buf.extend_from_slice(http1::response::LAST_CHUNK);
        }
        Ok(sent)
    }

    /// Sends FIN after flushing: the client sees the end of the last response.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
    }

    /// Lets go of the socket without a `shutdown`: the FIN goes out when the read side is
    /// dropped too and the socket closes. For a connection that ends cleanly with nothing left
    /// to read, that is the same FIN, one system call cheaper.
    pub(crate) fn forget(self) {
        self.io.forget();
    }
}
