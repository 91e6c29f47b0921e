//! The heads of the HTTP/2 frames that cross a connection, for `--trace`: a byte stream that
//! reads the frame boundaries off what passes through it, in both directions, and reports each
//! frame's type, flags, stream and length in the order they crossed.
//!
//! The h2 crate keeps its frames to itself; the wire does not. Only the 9-byte heads are looked
//! at (RFC 9113 4.1); payloads are skipped by their length.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client connection preface (RFC 9113 3.4), which precedes the client's first frame.
const PREFACE_LEN: usize = 24;

/// Length of a frame head.
const HEAD_LEN: usize = 9;

/// One frame head as it crossed the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// Sent by the client (`true`) or received.
    pub sent: bool,
    /// The frame type (RFC 9113 6).
    pub kind: u8,
    /// The flags octet.
    pub flags: u8,
    /// The stream identifier (0: the connection).
    pub stream: u32,
    /// The payload length.
    pub len: u32,
}

impl FrameHead {
    /// The type's name, or its number for a type this side does not know.
    pub fn kind_name(&self) -> String {
        let name = match self.kind {
            0x0 => "DATA",
            0x1 => "HEADERS",
            0x2 => "PRIORITY",
            0x3 => "RST_STREAM",
            0x4 => "SETTINGS",
            0x5 => "PUSH_PROMISE",
            0x6 => "PING",
            0x7 => "GOAWAY",
            0x8 => "WINDOW_UPDATE",
            0x9 => "CONTINUATION",
            other => return format!("type {other:#x}"),
        };
        name.to_string()
    }

    /// The flags this type defines, by name (`END_STREAM|END_HEADERS`).
    fn flag_names(&self) -> String {
        let known: &[(u8, &str)] = match self.kind {
            0x0 => &[(0x1, "END_STREAM"), (0x8, "PADDED")],
            0x1 => &[
                (0x1, "END_STREAM"),
                (0x4, "END_HEADERS"),
                (0x8, "PADDED"),
                (0x20, "PRIORITY"),
            ],
            0x4 | 0x6 => &[(0x1, "ACK")],
            0x5 | 0x9 => &[(0x4, "END_HEADERS")],
            _ => &[],
        };
        let names: Vec<&str> = known
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect();
        names.join("|")
    }
}

impl fmt::Display for FrameHead {
    /// `HEADERS stream=1 length=30 flags=0x05 (END_STREAM|END_HEADERS)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} stream={} length={} flags={:#04x}",
            self.kind_name(),
            self.stream,
            self.len,
            self.flags
        )?;
        let names = self.flag_names();
        if !names.is_empty() {
            write!(f, " ({names})")?;
        }
        Ok(())
    }
}

/// Finds frame boundaries in one direction's bytes.
#[derive(Debug)]
struct Scanner {
    sent: bool,
    /// Bytes still to skip: the preface, or the rest of a payload.
    skip: usize,
    head: [u8; HEAD_LEN],
    have: usize,
}

impl Scanner {
    fn new(sent: bool) -> Scanner {
        Scanner {
            sent,
            skip: if sent { PREFACE_LEN } else { 0 },
            head: [0; HEAD_LEN],
            have: 0,
        }
    }

    /// Takes the next bytes of the stream, reporting each head completed.
    fn feed(&mut self, mut data: &[u8], out: &mpsc::Sender<FrameHead>) {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let n = (HEAD_LEN - self.have).min(data.len());
            self.head[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == HEAD_LEN {
                self.have = 0;
                let h = &self.head;
                let len = u32::from_be_bytes([0, h[0], h[1], h[2]]);
                let frame = FrameHead {
                    sent: self.sent,
                    kind: h[3],
                    flags: h[4],
                    stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
                    len,
                };
                self.skip = len as usize;
                let _ = out.send(frame);
            }
        }
    }
}

/// A byte stream that reports the frame heads crossing it to a channel.
#[derive(Debug)]
pub struct Tap<T> {
    inner: T,
    read: Scanner,
    written: Scanner,
    out: mpsc::Sender<FrameHead>,
}

impl<T> Tap<T> {
    /// Taps `inner`; the heads go to the receiver returned with it, in the order they crossed.
    pub fn new(inner: T) -> (Tap<T>, mpsc::Receiver<FrameHead>) {
        let (out, rx) = mpsc::channel();
        let tap = Tap {
            inner,
            read: Scanner::new(false),
            written: Scanner::new(true),
            out,
        };
        (tap, rx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let this = &mut *self;
            this.read.feed(&buf.filled()[before..], &this.out);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled {
            let this = &mut *self;
            this.written.feed(&data[..n], &this.out);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_found_across_any_split_after_the_preface() {
        let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // SETTINGS
        wire.extend_from_slice(&[0, 0, 2, 1, 5, 0, 0, 0, 1, 0x82, 0x84]); // HEADERS
        for split in 0..wire.len() {
            let (tx, rx) = mpsc::channel();
            let mut s = Scanner::new(true);
            s.feed(&wire[..split], &tx);
            s.feed(&wire[split..], &tx);
            let got: Vec<FrameHead> = rx.try_iter().collect();
            assert_eq!(got.len(), 2, "split at {split}");
            assert_eq!(got[0].kind_name(), "SETTINGS");
            assert_eq!(
                got[1].to_string(),
                "HEADERS stream=1 length=2 flags=0x05 (END_STREAM|END_HEADERS)"
            );
        }
    }
}
