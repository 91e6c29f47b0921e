//! The byte streams a connection runs over, behind one seam.
//!
//! A transport is anything that implements [`Transport`]: the accept loop hands one to the
//! connection driver, which splits it. The connection driver ([`crate::conn`]), the request body ([`crate::body`]) and the writer
//! ([`crate::write`]) see a transport only through [`ReadIo`] and [`WriteIo`]: readiness, a read
//! that does not wait, a read that does, a send with or without "more follows", `sendfile`
//! where the transport has it, and the end of the stream.
//!
//! Each transport is one variant of the two enums. The plain TCP variant makes the system calls
//! itself (`recv`/`send` through rustix, `MSG_MORE`, `sendfile`), exactly as before there was a
//! seam: a `match` over one variant costs nothing. A TLS transport (rustls) adds a variant that
//! keeps its session beside the socket, reads and decrypts in `try_read`/`read_buf`, encrypts
//! in `send`, and answers `false` to [`WriteIo::can_sendfile`], so files go through the
//! writer's read-and-write fallback. HTTP/2 is a protocol, not a transport: its driver (over
//! the sans-IO `http2` crate) takes a transport's halves and calls the same [`crate::Service`].

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use rustix::net::{RecvFlags, SendFlags};
use tokio::io::{AsyncReadExt, Interest};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub(crate) use crate::tls::Tls;

/// A connection's byte stream as the accept loop hands it over (after a TLS handshake, for
/// TLS): the driver takes it apart into the halves it reads and writes through.
pub(crate) trait Transport: Send + 'static {
    /// The read and write halves; each can move to a task of its own (the read half goes to
    /// a request body that a service hands to a task).
    fn split(self) -> (ReadIo, WriteIo);

    /// What the TLS handshake settled, for [`crate::ConnInfo`]; `None` for plain TCP.
    fn tls_info(&self) -> Option<Arc<crate::TlsInfo>> {
        None
    }
}

impl Transport for TcpStream {
    fn split(self) -> (ReadIo, WriteIo) {
        let (rd, wr) = self.into_split();
        (ReadIo::Tcp(rd), WriteIo::Tcp(wr))
    }
}

impl Transport for Tls {
    fn split(self) -> (ReadIo, WriteIo) {
        let tls = Arc::new(self);
        (ReadIo::Tls(tls.clone()), WriteIo::Tls(tls))
    }

    fn tls_info(&self) -> Option<Arc<crate::TlsInfo>> {
        Some(Arc::new(self.info()))
    }
}

/// The read half of a transport.
pub(crate) enum ReadIo {
    /// Plain TCP.
    Tcp(OwnedReadHalf),
    /// TLS over TCP, the session shared with the write half.
    Tls(Arc<Tls>),
}

impl ReadIo {
    /// Ready once a read may make progress (data, or the end of the stream). A poll rather
    /// than a future, so a waiter keeps no state for it: the socket holds the one reader's waker.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            ReadIo::Tcp(rd) => {
                let stream: &TcpStream = rd.as_ref();
                stream.poll_read_ready(cx)
            }
            ReadIo::Tls(tls) => tls.poll_readable(cx),
        }
    }

    /// One read into `scratch` without waiting: `Ok(n)` bytes (0 at the end of the stream),
    /// `WouldBlock` when there is nothing. A read that does not fill `scratch` drained the
    /// socket, so its readiness is cleared at once (as nginx does) instead of learning it from
    /// one more `recv` that fails with `EAGAIN`: one system call less per request. `got` holds
    /// what was read even then.
    pub(crate) fn try_read(&self, scratch: &mut [u8], got: &mut usize) -> io::Result<usize> {
        match self {
            ReadIo::Tcp(rd) => {
                let stream: &TcpStream = rd.as_ref();
                stream.try_io(Interest::READABLE, || {
                    // Directly, not through libc's wrapper (see `WriteIo::try_send`).
                    *got = rustix::net::recv(stream, &mut *scratch, RecvFlags::empty())?.0;
                    if *got > 0 && *got < scratch.len() {
                        Err(io::ErrorKind::WouldBlock.into())
                    } else {
                        Ok(*got)
                    }
                })
            }
            ReadIo::Tls(tls) => tls.try_read(scratch, got),
        }
    }

    /// Reads at least one byte into `buf`, waiting for it; 0 at the end of the stream.
    pub(crate) async fn read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let n = match self {
            ReadIo::Tcp(rd) => rd.read_buf(buf).await,
            ReadIo::Tls(tls) => tls.read_buf(buf).await,
        }?;
        crate::metrics::bytes_in(n);
        Ok(n)
    }
}

/// The write half of a transport.
pub(crate) enum WriteIo {
    /// Plain TCP.
    Tcp(OwnedWriteHalf),
    /// TLS over TCP, the session shared with the read half.
    Tls(Arc<Tls>),
}

impl WriteIo {
    /// One send if the transport can take bytes now; `WouldBlock` otherwise. The system call
    /// is made directly (through rustix) rather than through libc's wrapper, which brackets
    /// every call with thread cancellation bookkeeping: about 3% of the CPU of a small
    /// keep-alive request.
    pub(crate) fn try_send(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            WriteIo::Tcp(wr) => {
                let stream: &TcpStream = wr.as_ref();
                stream
                    .try_io(Interest::WRITABLE, || {
                        rustix::net::send(stream, data, SendFlags::NOSIGNAL)
                            .map_err(io::Error::from)
                    })
                    .inspect(|&n| crate::metrics::bytes_out(n))
            }
            // What TLS takes is encrypted, and it must all reach the socket before a send
            // returns (nothing would flush it later): that waits, so it goes through `send`.
            WriteIo::Tls(_) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Sends some of `data`, waiting until the transport takes at least one byte. `more`: more
    /// bytes follow at once (`MSG_MORE`), so the kernel holds a small head back to send it in
    /// one segment with the file after it, as nginx's `tcp_nopush` does.
    pub(crate) async fn send(&self, data: &[u8], more: bool) -> io::Result<usize> {
        let flags = if more {
            SendFlags::MORE | SendFlags::NOSIGNAL
        } else {
            SendFlags::NOSIGNAL
        };
        let sent = match self {
            WriteIo::Tcp(wr) => {
                let stream: &TcpStream = wr.as_ref();
                stream
                    .async_io(Interest::WRITABLE, || {
                        rustix::net::send(stream, data, flags).map_err(io::Error::from)
                    })
                    .await
            }
            WriteIo::Tls(tls) => tls.send(data).await,
        };
        sent.inspect(|&n| crate::metrics::bytes_out(n))
    }

    /// Whether [`WriteIo::send_file`] works: the kernel copies file pages straight to a plain
    /// socket; a transport that transforms bytes (TLS) has to see them.
    pub(crate) fn can_sendfile(&self) -> bool {
        match self {
            WriteIo::Tcp(_) => true,
            WriteIo::Tls(_) => false,
        }
    }

    /// `sendfile(2)` of up to `count` bytes of `file` from `offset`, waiting until the socket
    /// takes some; returns how many it took (0: the file ended early).
    pub(crate) async fn send_file(
        &self,
        file: &std::fs::File,
        offset: u64,
        count: usize,
    ) -> io::Result<usize> {
        match self {
            WriteIo::Tcp(wr) => {
                let stream: &TcpStream = wr.as_ref();
                stream
                    .async_io(Interest::WRITABLE, || {
                        let mut off = offset;
                        rustix::fs::sendfile(stream, file, Some(&mut off), count)
                            .map_err(io::Error::from)
                    })
                    .await
                    .inspect(|&n| crate::metrics::bytes_out(n))
            }
            WriteIo::Tls(_) => Err(io::Error::other("sendfile over TLS")),
        }
    }

    /// Ends the stream (FIN; a TLS transport sends its close_notify first).
    pub(crate) async fn shutdown(&mut self) {
        match self {
            // A FIN needs no waiting: one system call, not a future in every connection.
            WriteIo::Tcp(wr) => {
                let stream: &TcpStream = wr.as_ref();
                let _ = rustix::net::shutdown(stream, rustix::net::Shutdown::Write);
            }
            // Boxed: the close_notify may have to wait for the socket, a rare path whose
            // future would otherwise enlarge every connection's.
            WriteIo::Tls(tls) => Box::pin(tls.shutdown()).await,
        }
    }

    /// Lets go without ending the stream: the socket closes when its read half is dropped too.
    pub(crate) fn forget(self) {
        match self {
            WriteIo::Tcp(wr) => wr.forget(),
            WriteIo::Tls(tls) => tls.close_notify(),
        }
    }
}
