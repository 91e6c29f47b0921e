//! The request body as a stream the handler pulls from the connection.
//!
//! A body is never read before the handler asks for it, and never held whole unless the handler
//! collects it (with a limit). While a handler owns the body it owns the connection's read side;
//! when the body is dropped the read side goes back to the connection, which drains what the
//! handler left unread or closes.

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http1::{Decoded, Decoder, ParseError};
use tokio::sync::oneshot;

use crate::transport::ReadIo;

/// Why a body could not be read to its end.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the limit the reader set (or the server's body limit): `413`.
    TooLarge,
    /// The client sent nothing for longer than the body timeout: `408`.
    TimedOut,
    /// The framing is broken (bad chunk size...): `400`.
    Malformed(ParseError),
    /// The client closed or reset the connection before the end of the body.
    Disconnected,
}

impl BodyError {
    /// The status a handler answers with when it cannot read the body.
    pub fn status(&self) -> http1::StatusCode {
        match self {
            BodyError::TooLarge => http1::StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut => http1::StatusCode::REQUEST_TIMEOUT,
            BodyError::Malformed(e) => e.status(),
            BodyError::Disconnected => http1::StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge => f.write_str("request body too large"),
            BodyError::TimedOut => f.write_str("timed out reading the request body"),
            BodyError::Malformed(e) => write!(f, "{e}"),
            BodyError::Disconnected => f.write_str("client closed the connection mid-body"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// A boxed stream of body pieces, for bodies that do not come from a connection.
pub type BoxBodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// A request body.
pub struct Body {
    inner: Inner,
}

enum Inner {
    Empty,
    Full(Option<Bytes>),
    Boxed(BoxBodyStream, Option<u64>),
    Wire(Box<Wire>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Empty => "empty",
            Inner::Full(_) => "full",
            Inner::Boxed(..) => "stream",
            Inner::Wire(_) => "wire",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::full(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::full(Bytes::from(b))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl Body {
    /// No body.
    pub fn empty() -> Body {
        Body {
            inner: Inner::Empty,
        }
    }

    /// A body already in memory.
    pub fn full(bytes: Bytes) -> Body {
        Body {
            inner: Inner::Full(Some(bytes)),
        }
    }

    /// A body from any stream, with its length if known.
    pub fn from_stream(
        stream: impl Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
        len: Option<u64>,
    ) -> Body {
        Body {
            inner: Inner::Boxed(Box::pin(stream), len),
        }
    }

    pub(crate) fn wire(wire: Wire) -> Body {
        Body {
            inner: Inner::Wire(Box::new(wire)),
        }
    }

    /// The length when known in advance (`Content-Length`); `None` for chunked bodies.
    pub fn len(&self) -> Option<u64> {
        match &self.inner {
            Inner::Empty => Some(0),
            Inner::Full(b) => Some(b.as_ref().map_or(0, |b| b.len() as u64)),
            Inner::Boxed(_, len) => *len,
            Inner::Wire(w) => w.len,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The next piece of the body, or `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        match &mut self.inner {
            Inner::Empty => Ok(None),
            Inner::Full(b) => Ok(b.take()),
            Inner::Boxed(s, _) => futures_util::StreamExt::next(s).await.transpose(),
            Inner::Wire(w) => w.chunk().await,
        }
    }

    /// Reads the whole body into memory, failing with [`BodyError::TooLarge`] past `limit` bytes
    /// (checked against `Content-Length` before reading anything).
    pub async fn collect(mut self, limit: usize) -> Result<Bytes, BodyError> {
        if self.len().is_some_and(|n| n > limit as u64) {
            return Err(BodyError::TooLarge);
        }
        let mut out = BytesMut::new();
        while let Some(piece) = self.chunk().await? {
            if out.len() + piece.len() > limit {
                return Err(BodyError::TooLarge);
            }
            if out.is_empty() && self.len() == Some(piece.len() as u64) {
                return Ok(piece);
            }
            out.extend_from_slice(&piece);
        }
        Ok(out.freeze())
    }

    /// The body as a `Stream`, for APIs that want one.
    pub fn into_stream(self) -> impl Stream<Item = Result<Bytes, BodyError>> + Send {
        futures_util::stream::unfold(self, |mut body| async move {
            match body.chunk().await {
                Ok(Some(b)) => Some((Ok(b), body)),
                Ok(None) => None,
                Err(e) => Some((Err(e), body)),
            }
        })
    }
}

/// The connection's read half and buffer, lent to a body for the length of a request.
pub(crate) struct ReadSide {
    pub(crate) io: ReadIo,
    pub(crate) buf: BytesMut,
}

/// Size of the per-thread buffer that request heads are first read into.
const SCRATCH_SIZE: usize = 16 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH_SIZE]);
}

impl ReadSide {
    /// Reads what the socket has now into the buffer without waiting: `Some(n)` bytes
    /// (`Some(0)` at EOF), or `None` when the readiness was stale. Reads go through a per-thread
    /// scratch buffer so the connection's own buffer grows only by what actually arrived: a
    /// kept-alive connection holds a few hundred bytes, not a fixed 8 KiB, however many there are.
    ///
    /// See [`ReadIo::try_read`] for why a short read needs no second `recv`.
    pub(crate) fn try_read_some(&mut self) -> std::io::Result<Option<usize>> {
        use std::io::ErrorKind::WouldBlock;
        let mut got = 0;
        let result = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let result = self.io.try_read(&mut scratch[..], &mut got);
            self.buf.extend_from_slice(&scratch[..got]);
            crate::metrics::bytes_in(got);
            result
        });
        match result {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == WouldBlock && got == 0 => Ok(None),
            Err(e) if e.kind() == WouldBlock => Ok(Some(got)),
            Err(e) => Err(e),
        }
    }
}

/// What a body hands back to the connection when it is dropped.
pub(crate) struct Returned {
    pub(crate) side: ReadSide,
    pub(crate) decoder: Decoder,
    /// Reading the body failed (timed out, client gone): it is not read again.
    pub(crate) broken: bool,
}

/// A body read from the connection through a [`Decoder`].
pub(crate) struct Wire {
    side: Option<ReadSide>,
    decoder: Decoder,
    len: Option<u64>,
    timeout: Duration,
    home: Option<oneshot::Sender<Returned>>,
    /// A read failed; see [`Returned::broken`].
    broken: bool,
}

/// How much room to make in the read buffer for each body read.
const BODY_READ_SIZE: usize = 64 * 1024;

impl Wire {
    pub(crate) fn new(
        side: ReadSide,
        decoder: Decoder,
        len: Option<u64>,
        timeout: Duration,
        home: oneshot::Sender<Returned>,
    ) -> Wire {
        Wire {
            side: Some(side),
            decoder,
            len,
            timeout,
            home: Some(home),
            broken: false,
        }
    }

    async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        let Some(side) = self.side.as_mut() else {
            return Ok(None);
        };
        let result = read_chunk(side, &mut self.decoder, self.timeout).await;
        if matches!(result, Err(BodyError::TimedOut | BodyError::Disconnected)) {
            self.broken = true;
        }
        result
    }
}

/// Decodes the next piece of body, reading from the socket as needed.
pub(crate) async fn read_chunk(
    side: &mut ReadSide,
    decoder: &mut Decoder,
    timeout: Duration,
) -> Result<Option<Bytes>, BodyError> {
    loop {
        match decoder.decode(&mut side.buf) {
            Ok(Decoded::Data(b)) => return Ok(Some(b)),
            Ok(Decoded::Done) => return Ok(None),
            Ok(Decoded::NeedMore) => {}
            Err(ParseError::BodyTooLarge) => return Err(BodyError::TooLarge),
            Err(e) => return Err(BodyError::Malformed(e)),
        }
        side.buf.reserve(BODY_READ_SIZE);
        match tokio::time::timeout(timeout, side.io.read_buf(&mut side.buf)).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(Err(_)) | Ok(Ok(0)) => return Err(BodyError::Disconnected),
            Ok(Ok(_)) => {}
        }
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        if let (Some(side), Some(home)) = (self.side.take(), self.home.take()) {
            let decoder =
                std::mem::replace(&mut self.decoder, Decoder::new(http1::BodyKind::Empty, 0));
            let _ = home.send(Returned {
                side,
                decoder,
                broken: self.broken,
            });
        }
    }
}
