//! The write side of a connection: a reusable output buffer, write timeouts, `sendfile` (or
//! reading and writing where the transport cannot), and a count of the bytes actually sent.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use crate::response::BoxStream;
use crate::transport::WriteIo;

/// Response bytes buffered past this size are written out before more are added, and bodies
/// this large are written from their own buffer instead of being copied.
pub(crate) const FLUSH_THRESHOLD: usize = 64 * 1024;
/// Largest single `sendfile` call; keeps one huge file from monopolising a worker.
const SENDFILE_CHUNK: usize = 1024 * 1024;

/// Size of the buffer a file is read through where the transport has no `sendfile`.
pub(crate) const FILE_READ_CHUNK: usize = 64 * 1024;

/// A connection's write half with its output buffer.
pub(crate) struct Writer {
    io: WriteIo,
    pub(crate) buf: Vec<u8>,
    timeout: Duration,
    /// Bytes the transport took so far, over the connection's life.
    sent: u64,
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "client stopped reading")
}

fn shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while being sent")
}

/// Sends all of `data`, each wait for the transport under `timeout`, counting into `sent` what
/// the transport took (so a response cut short is counted as far as it went).
async fn send_all(
    io: &WriteIo,
    data: &[u8],
    more: bool,
    timeout: Duration,
    sent: &mut u64,
) -> io::Result<()> {
    let mut done = 0;
    while done < data.len() {
        let n = tokio::time::timeout(timeout, io.send(&data[done..], more))
            .await
            .map_err(|_| timed_out())??;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        done += n;
        *sent += n as u64;
    }
    Ok(())
}

impl Writer {
    pub(crate) fn new(io: WriteIo, timeout: Duration) -> Writer {
        Writer {
            io,
            buf: Vec::new(),
            timeout,
            sent: 0,
        }
    }

    /// Bytes sent or buffered to be sent: the difference between two readings is what a
    /// response put on the wire, also when it was cut short (a buffer that fails to go out
    /// is dropped, so its bytes leave the count).
    pub(crate) fn position(&self) -> u64 {
        self.sent + self.buf.len() as u64
    }

    /// The transport's write half, for a driver that takes the connection over (HTTP/2).
    pub(crate) fn into_io(self) -> WriteIo {
        self.io
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
    /// without waiting; only what the transport does not take at once waits, under the timeout.
    async fn write_buffered(&mut self) -> io::Result<()> {
        let mut done = 0;
        while done < self.buf.len() {
            match self.io.try_send(&self.buf[done..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    done += n;
                    self.sent += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let rest = &self.buf[done..];
                    // Boxed: the wait and its timer are rare, and inline they would enlarge
                    // every connection's state, which awaits a flush between requests.
                    let wait = Box::pin(send_all(
                        &self.io,
                        rest,
                        false,
                        self.timeout,
                        &mut self.sent,
                    ));
                    return wait.await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
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
        send_all(&self.io, data, false, self.timeout, &mut self.sent).await
    }

    /// Writes out what is buffered (a response head) with `MSG_MORE`, so the kernel holds it
    /// back and sends it in one segment with the first bytes of the file that follows, as
    /// nginx's `tcp_nopush` does, instead of a small segment of its own.
    async fn flush_corked(&mut self) -> io::Result<()> {
        let result = send_all(&self.io, &self.buf, true, self.timeout, &mut self.sent).await;
        self.buf.clear();
        result
    }

    /// Sends `len` bytes of `file` from `offset` with `sendfile(2)`, after what is buffered.
    pub(crate) async fn send_file(
        &mut self,
        file: &std::fs::File,
        mut offset: u64,
        mut len: u64,
    ) -> io::Result<()> {
        self.flush_corked().await?;
        if !self.io.can_sendfile() {
            return self.read_and_send(file, offset, len).await;
        }
        while len > 0 {
            let count = len.min(SENDFILE_CHUNK as u64) as usize;
            let sent = tokio::time::timeout(self.timeout, self.io.send_file(file, offset, count))
                .await
                .map_err(|_| timed_out())??;
            if sent == 0 {
                return Err(shrank());
            }
            self.sent += sent as u64;
            offset += sent as u64;
            len -= sent as u64;
        }
        Ok(())
    }

    /// [`Writer::send_file`] for a transport without `sendfile`: the file is read into a
    /// buffer and written through the transport.
    async fn read_and_send(
        &mut self,
        file: &std::fs::File,
        offset: u64,
        len: u64,
    ) -> io::Result<()> {
        use std::os::unix::fs::FileExt as _;
        let mut chunk = vec![0; FILE_READ_CHUNK.min(usize::try_from(len).unwrap_or(usize::MAX))];
        let mut done = 0;
        while done < len {
            let want = chunk
                .len()
                .min(usize::try_from(len - done).unwrap_or(usize::MAX));
            let n = file.read_at(&mut chunk[..want], offset + done)?;
            if n == 0 {
                return Err(shrank());
            }
            send_all(&self.io, &chunk[..n], false, self.timeout, &mut self.sent).await?;
            done += n as u64;
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
        self.io.shutdown().await;
    }

    /// Lets go of the socket without a `shutdown`: the FIN goes out when the read side is
    /// dropped too and the socket closes. For a connection that ends cleanly with nothing left
    /// to read, that is the same FIN, one system call cheaper.
    pub(crate) fn forget(self) {
        self.io.forget();
    }
}
