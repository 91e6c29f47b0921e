//! An open WebSocket: messages out of frames and back, the close handshake, and the two
//! halves a handler can use from two tasks at once (one receiving, one sending).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use server::upgrade::{UpgradedRead, UpgradedWrite};
use tokio::sync::Mutex;

use super::deflate::{self, Agreed, Deflater, InflateError, Inflater};
use super::frame::{self, Frame, FrameError, MAX_CONTROL_PAYLOAD, OpCode};
use super::{CloseCode, CloseFrame, Message};

/// How long [`WebSocket::close`] waits for the client's close after sending its own; then the
/// connection is closed anyway (RFC 6455 7.1.1 lets the server close the TCP connection).
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Room made in the read buffer for each read.
const READ_SIZE: usize = 16 * 1024;

/// Longest close reason: a control frame's 125 bytes less the two of the code.
const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// Why a WebSocket operation failed.
#[derive(Debug)]
pub enum WsError {
    /// The client broke the protocol; the connection was closed with `code`.
    Protocol {
        /// The close code sent.
        code: CloseCode,
        /// What was wrong.
        reason: &'static str,
    },
    /// A close has been sent already: nothing more can be.
    Closed,
    /// A ping or pong longer than 125 bytes, or a close reason with a code that may not be
    /// sent: the message was not sent.
    InvalidMessage(&'static str),
    /// The connection failed.
    Io(io::Error),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Protocol { code, reason } => {
                write!(f, "WebSocket closed with {}: {reason}", code.0)
            }
            WsError::Closed => f.write_str("the WebSocket is closed"),
            WsError::InvalidMessage(why) => write!(f, "cannot send this message: {why}"),
            WsError::Io(_) => f.write_str("the WebSocket connection failed"),
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WsError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WsError {
    fn from(e: io::Error) -> WsError {
        WsError::Io(e)
    }
}

/// The write side, shared by both halves: the receiver answers pings and closes through it.
struct Out {
    io: UpgradedWrite,
    buf: Vec<u8>,
    deflater: Option<Deflater>,
    close_sent: bool,
    shut: bool,
}

impl Out {
    /// Writes out what is buffered. Cancel-safe: what has not gone stays buffered.
    async fn flush(&mut self) -> io::Result<()> {
        while !self.buf.is_empty() {
            let n = self.io.write(&self.buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            self.buf.drain(..n);
        }
        Ok(())
    }

    async fn send(&mut self, msg: Message) -> Result<(), WsError> {
        if self.close_sent {
            return Err(WsError::Closed);
        }
        match msg {
            Message::Text(text) => self.data(OpCode::Text, text.as_bytes())?,
            Message::Binary(bytes) => self.data(OpCode::Binary, &bytes)?,
            Message::Ping(p) => self.control(OpCode::Ping, &p)?,
            Message::Pong(p) => self.control(OpCode::Pong, &p)?,
            Message::Close(close) => self.close_frame(close.as_ref())?,
        }
        Ok(self.flush().await?)
    }

    /// A data message in one frame, compressed when that was agreed and it is worth it.
    fn data(&mut self, op: OpCode, payload: &[u8]) -> Result<(), WsError> {
        match &mut self.deflater {
            Some(d) if payload.len() >= deflate::COMPRESS_MIN => {
                let packed = d.compress(payload)?;
                frame::encode(&mut self.buf, true, true, op, &packed);
            }
            _ => frame::encode(&mut self.buf, true, false, op, payload),
        }
        Ok(())
    }

    fn control(&mut self, op: OpCode, payload: &[u8]) -> Result<(), WsError> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(WsError::InvalidMessage("control frame over 125 bytes"));
        }
        frame::encode(&mut self.buf, true, false, op, payload);
        Ok(())
    }

    fn close_frame(&mut self, close: Option<&CloseFrame>) -> Result<(), WsError> {
        let mut payload = Vec::new();
        if let Some(c) = close {
            if !c.code.is_sendable() {
                return Err(WsError::InvalidMessage("a close code that may not be sent"));
            }
            payload.extend_from_slice(&c.code.0.to_be_bytes());
            let mut end = c.reason.len().min(MAX_CLOSE_REASON);
            while !c.reason.is_char_boundary(end) {
                end -= 1;
            }
            payload.extend_from_slice(&c.reason.as_bytes()[..end]);
        }
        frame::encode(&mut self.buf, true, false, OpCode::Close, &payload);
        self.close_sent = true;
        Ok(())
    }

    /// Ends the TCP connection (the server closes first, RFC 6455 7.1.1).
    async fn shutdown(&mut self) {
        if !self.shut {
            self.shut = true;
            let _ = self.flush().await;
            self.io.shutdown().await;
        }
    }
}

/// The sending half of a [`WebSocket`].
#[derive(Clone)]
pub struct WsSender {
    out: Arc<Mutex<Out>>,
}

impl fmt::Debug for WsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WsSender")
    }
}

impl WsSender {
    /// Sends one message; after a close (sent or answered) it fails with [`WsError::Closed`].
    pub async fn send(&self, msg: impl Into<Message>) -> Result<(), WsError> {
        self.out.lock().await.send(msg.into()).await
    }
}

/// A message being reassembled from its frames.
struct Partial {
    text: bool,
    compressed: bool,
    data: BytesMut,
}

/// What one frame amounts to.
enum Event {
    Message(Message),
    Ping(Bytes),
    Close(Option<CloseFrame>),
}

/// The receiving half of a [`WebSocket`].
pub struct WsReceiver {
    io: UpgradedRead,
    buf: BytesMut,
    out: Arc<Mutex<Out>>,
    partial: Option<Partial>,
    inflater: Option<Inflater>,
    max_message: usize,
    max_frame: usize,
    done: bool,
}

impl fmt::Debug for WsReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WsReceiver")
    }
}

impl WsReceiver {
    /// The next message; `None` once the connection has closed. A ping is answered before it
    /// is returned; a close is answered (with the client's code) and returned, and `None`
    /// follows it. A protocol error closes the connection with its code and is returned.
    /// Cancel-safe: a message half read stays buffered for the next call.
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        loop {
            if self.done {
                return None;
            }
            let max = self.max_frame.min(self.max_message);
            let parsed = frame::parse(&mut self.buf, self.inflater.is_some(), max);
            let frame = match parsed {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    if let Err(e) = self.read_more().await {
                        self.done = true;
                        return e.map(|e| Err(WsError::Io(e)));
                    }
                    continue;
                }
                Err(e) => return Some(Err(self.fail(e).await)),
            };
            match self.on_frame(frame) {
                Ok(None) => {}
                Ok(Some(Event::Message(m))) => return Some(Ok(m)),
                Ok(Some(Event::Ping(p))) => {
                    let pong = self.out.lock().await.send(Message::Pong(p.clone())).await;
                    return Some(match pong {
                        Ok(()) | Err(WsError::Closed) => Ok(Message::Ping(p)),
                        Err(e) => Err(e),
                    });
                }
                Ok(Some(Event::Close(close))) => {
                    self.done = true;
                    let mut out = self.out.lock().await;
                    if !out.close_sent {
                        // RFC 6455 5.5.1: the answer typically echoes the status code.
                        let echo = close.as_ref().map(|c| CloseFrame {
                            code: c.code,
                            reason: String::new(),
                        });
                        let _ = out.send(Message::Close(echo)).await;
                    }
                    out.shutdown().await;
                    return Some(Ok(Message::Close(close)));
                }
                Err(e) => return Some(Err(self.fail(e).await)),
            }
        }
    }

    /// Reads more bytes: `Err(None)` at the end of the stream (the client went without a
    /// close: no message, as other frameworks report it), `Err(Some)` on a failed read.
    async fn read_more(&mut self) -> Result<(), Option<io::Error>> {
        self.buf.reserve(READ_SIZE);
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) => Err(None),
            Ok(_) => Ok(()),
            Err(e) => Err(Some(e)),
        }
    }

    /// Closes with the error's code and ends the connection.
    async fn fail(&mut self, e: FrameError) -> WsError {
        self.done = true;
        tracing::debug!(
            code = e.code.0,
            reason = e.reason,
            "WebSocket protocol error"
        );
        let mut out = self.out.lock().await;
        if !out.close_sent {
            let close = CloseFrame {
                code: e.code,
                reason: e.reason.to_owned(),
            };
            let _ = out.send(Message::Close(Some(close))).await;
        }
        out.shutdown().await;
        WsError::Protocol {
            code: e.code,
            reason: e.reason,
        }
    }

    fn on_frame(&mut self, f: Frame) -> Result<Option<Event>, FrameError> {
        match f.opcode {
            OpCode::Ping => Ok(Some(Event::Ping(f.payload.freeze()))),
            OpCode::Pong => Ok(Some(Event::Message(Message::Pong(f.payload.freeze())))),
            OpCode::Close => parse_close(&f.payload).map(|c| Some(Event::Close(c))),
            OpCode::Text | OpCode::Binary => {
                if self.partial.is_some() {
                    return Err(protocol("a new message before the last one ended"));
                }
                let partial = Partial {
                    text: f.opcode == OpCode::Text,
                    compressed: f.rsv1,
                    data: f.payload,
                };
                if f.fin {
                    return self.finish(partial).map(Some);
                }
                self.partial = Some(partial);
                Ok(None)
            }
            OpCode::Continuation => {
                let Some(mut partial) = self.partial.take() else {
                    return Err(protocol("a continuation with no message to continue"));
                };
                if f.rsv1 {
                    return Err(protocol("RSV1 on a continuation frame"));
                }
                if partial.data.len() + f.payload.len() > self.max_message {
                    return Err(too_big());
                }
                partial.data.extend_from_slice(&f.payload);
                if f.fin {
                    return self.finish(partial).map(Some);
                }
                self.partial = Some(partial);
                Ok(None)
            }
        }
    }

    /// A whole message: inflated if compressed, checked as UTF-8 if text.
    fn finish(&mut self, partial: Partial) -> Result<Event, FrameError> {
        let data = match (&mut self.inflater, partial.compressed) {
            (Some(inflater), true) => {
                Bytes::from(inflater.inflate(&partial.data, self.max_message).map_err(
                    |e| match e {
                        InflateError::TooBig => too_big(),
                        InflateError::Corrupt => FrameError {
                            code: CloseCode::INVALID_DATA,
                            reason: "compressed data that does not inflate",
                        },
                    },
                )?)
            }
            _ => partial.data.freeze(),
        };
        if !partial.text {
            return Ok(Event::Message(Message::Binary(data)));
        }
        match String::from_utf8(data.into()) {
            Ok(text) => Ok(Event::Message(Message::Text(text))),
            Err(_) => Err(invalid_utf8()),
        }
    }
}

fn protocol(reason: &'static str) -> FrameError {
    FrameError {
        code: CloseCode::PROTOCOL,
        reason,
    }
}

fn too_big() -> FrameError {
    FrameError {
        code: CloseCode::TOO_BIG,
        reason: "message too large",
    }
}

fn invalid_utf8() -> FrameError {
    FrameError {
        code: CloseCode::INVALID_DATA,
        reason: "text that is not UTF-8",
    }
}

/// A close frame's body (RFC 6455 5.5.1): nothing, or a code and a UTF-8 reason.
fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(protocol("a close frame with a one-byte body")),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_sendable() {
                return Err(protocol("a close code that may not be sent"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| invalid_utf8())?;
            Ok(Some(CloseFrame {
                code,
                reason: reason.to_owned(),
            }))
        }
    }
}

/// An open WebSocket connection, as a handler's `on_upgrade` function receives it.
pub struct WebSocket {
    tx: WsSender,
    rx: WsReceiver,
    protocol: Option<String>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("protocol", &self.protocol)
            .finish()
    }
}

/// What the handshake settled for a new [`WebSocket`].
pub(super) struct Settled {
    pub(super) deflate: Option<Agreed>,
    pub(super) protocol: Option<String>,
    pub(super) max_message: usize,
    pub(super) max_frame: usize,
}

impl WebSocket {
    /// A WebSocket over the connection `upgraded`.
    pub(super) fn new(upgraded: server::Upgraded, settled: Settled) -> WebSocket {
        let out = Out {
            io: upgraded.write,
            buf: Vec::new(),
            deflater: settled.deflate.as_ref().map(Deflater::new),
            close_sent: false,
            shut: false,
        };
        let out = Arc::new(Mutex::new(out));
        WebSocket {
            tx: WsSender { out: out.clone() },
            rx: WsReceiver {
                io: upgraded.read,
                buf: BytesMut::new(),
                out,
                partial: None,
                inflater: settled.deflate.as_ref().map(Inflater::new),
                max_message: settled.max_message,
                max_frame: settled.max_frame,
                done: false,
            },
            protocol: settled.protocol,
        }
    }

    /// The next message; see [`WsReceiver::recv`].
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        self.rx.recv().await
    }

    /// Sends one message; see [`WsSender::send`].
    pub async fn send(&mut self, msg: impl Into<Message>) -> Result<(), WsError> {
        self.tx.send(msg).await
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The two halves, to receive in one task and send from another (or from several: the
    /// sender is `Clone`).
    pub fn split(self) -> (WsSender, WsReceiver) {
        (self.tx, self.rx)
    }

    /// Closes with `code` and `reason`: sends the close, waits up to [`CLOSE_TIMEOUT`] for
    /// the client's (discarding messages still in flight), then ends the connection.
    pub async fn close(mut self, code: CloseCode, reason: &str) -> Result<(), WsError> {
        let close = CloseFrame {
            code,
            reason: reason.to_owned(),
        };
        self.tx.send(Message::Close(Some(close))).await?;
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(msg)) = self.rx.recv().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
        self.tx.out.lock().await.shutdown().await;
        Ok(())
    }
}
