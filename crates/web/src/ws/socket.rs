//! An open WebSocket: messages out of frames and back, the close handshake, and the two
//! halves a handler can use from two tasks at once (one receiving, one sending).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use server::upgrade::{UpgradedRead, UpgradedWrite};
use tokio::sync::Mutex;

use super::deflate::{self, Agreed, Deflater, Inflater};
use super::frame::{self, FrameError, MAX_CONTROL_PAYLOAD, OpCode};
use super::message::{Assembler, Event};
use super::{CloseCode, CloseFrame, Keepalive, Message};
use crate::timer::Sleep;

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
    /// The client sent nothing, not even a pong, within the pong timeout after a ping; the
    /// connection was closed with 1011.
    TimedOut,
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
            WsError::TimedOut => f.write_str("the WebSocket client did not answer a ping"),
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

/// The receiving half of a [`WebSocket`].
pub struct WsReceiver {
    io: UpgradedRead,
    buf: BytesMut,
    out: Arc<Mutex<Out>>,
    assembler: Assembler,
    done: bool,
    keepalive: Option<Keepalive>,
    /// When the client last sent anything.
    last_seen: Instant,
    /// When the ping now waiting for an answer went out.
    ping_sent: Option<Instant>,
    /// The next keep-alive decision: moved only when it fires, so a busy connection does
    /// not touch the timer on every read.
    timer: Sleep,
}

/// Why [`WsReceiver::read_more`] brought nothing.
enum ReadEnd {
    /// The client closed the TCP connection.
    Eof,
    /// A read failed.
    Io(io::Error),
    /// No answer to a ping in time.
    TimedOut,
}

/// How long a connection that timed out gets to take its close frame.
const TIMED_OUT_CLOSE_WAIT: Duration = Duration::from_secs(1);

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
            let event = match self.assembler.next(&mut self.buf) {
                Ok(Some(event)) => event,
                Ok(None) => match self.read_more().await {
                    Ok(()) => continue,
                    Err(end) => {
                        self.done = true;
                        return match end {
                            ReadEnd::Eof => None,
                            ReadEnd::Io(e) => Some(Err(WsError::Io(e))),
                            ReadEnd::TimedOut => Some(Err(self.timed_out().await)),
                        };
                    }
                },
                Err(e) => return Some(Err(self.fail(e).await)),
            };
            match event {
                Event::Message(m) => return Some(Ok(m)),
                Event::Ping(p) => {
                    let pong = self.out.lock().await.send(Message::Pong(p.clone())).await;
                    return Some(match pong {
                        Ok(()) | Err(WsError::Closed) => Ok(Message::Ping(p)),
                        Err(e) => Err(e),
                    });
                }
                Event::Close(close) => {
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
            }
        }
    }

    /// Reads more bytes, pinging the client when it has been quiet for the interval:
    /// `Eof` at the end of the stream (the client went without a close: no message, as other
    /// frameworks report it), `TimedOut` when a ping went unanswered.
    async fn read_more(&mut self) -> Result<(), ReadEnd> {
        self.buf.reserve(READ_SIZE);
        let Some(keepalive) = self.keepalive else {
            return read_end(self.io.read_buf(&mut self.buf).await);
        };
        loop {
            if self.timer.deadline().is_none() {
                self.timer.reset(self.next_deadline(keepalive));
            }
            // Biased: the read first, and no random number per read to pick an order.
            tokio::select! {
                biased;
                read = self.io.read_buf(&mut self.buf) => {
                    if read.as_ref().is_ok_and(|n| *n > 0) {
                        self.last_seen = Instant::now();
                        self.ping_sent = None;
                    }
                    return read_end(read);
                }
                () = &mut self.timer => self.on_deadline(keepalive).await?,
            }
        }
    }

    /// When the keep-alive next has something to decide: the ping's answer is due, or the
    /// silence will have lasted the interval.
    fn next_deadline(&self, k: Keepalive) -> Option<Instant> {
        match self.ping_sent {
            Some(sent) => sent.checked_add(k.timeout),
            None => self.last_seen.checked_add(k.interval),
        }
    }

    /// The keep-alive's deadline came: the client is late with its answer, or has been quiet
    /// for the interval and gets a ping (the client showed life since: nothing to do yet).
    async fn on_deadline(&mut self, k: Keepalive) -> Result<(), ReadEnd> {
        let now = Instant::now();
        let due = self.next_deadline(k);
        if self.ping_sent.is_some() && due.is_some_and(|d| now >= d) {
            return Err(ReadEnd::TimedOut);
        }
        if self.ping_sent.is_none() && due.is_some_and(|d| now >= d) {
            self.ping_sent = Some(now);
            self.timer.reset(now.checked_add(k.timeout));
            // The ping waits for the write side (a message being sent) no longer than the
            // client has to answer it: a connection stuck that long is as good as gone.
            let out = &self.out;
            tokio::select! {
                biased;
                sent = async { out.lock().await.send(Message::Ping(Bytes::new())).await } => {
                    if let Err(e) = sent {
                        tracing::debug!(error = %e, "cannot send a keep-alive ping");
                    }
                }
                () = &mut self.timer => return Err(ReadEnd::TimedOut),
            }
        }
        self.timer.reset(self.next_deadline(k));
        Ok(())
    }

    /// Closes a connection whose client did not answer a ping: 1011, as Python's `websockets`
    /// does, written if the write side is free, then the connection ends.
    async fn timed_out(&mut self) -> WsError {
        tracing::debug!("WebSocket client did not answer a ping; closing");
        if let Ok(mut out) = self.out.try_lock() {
            if !out.close_sent {
                let _ = out.close_frame(Some(&CloseFrame {
                    code: CloseCode::ERROR,
                    reason: "keepalive ping timeout".to_owned(),
                }));
            }
            let mut wait = Sleep::after(TIMED_OUT_CLOSE_WAIT);
            tokio::select! {
                biased;
                () = out.shutdown() => {}
                () = &mut wait => {}
            }
        }
        WsError::TimedOut
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
}

/// A read's outcome as [`WsReceiver::read_more`] reports it.
fn read_end(read: io::Result<usize>) -> Result<(), ReadEnd> {
    match read {
        Ok(0) => Err(ReadEnd::Eof),
        Ok(_) => Ok(()),
        Err(e) => Err(ReadEnd::Io(e)),
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
    pub(super) keepalive: Option<Keepalive>,
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
                assembler: Assembler::new(
                    settled.deflate.as_ref().map(Inflater::new),
                    settled.max_message,
                    settled.max_frame,
                ),
                done: false,
                keepalive: settled.keepalive,
                last_seen: Instant::now(),
                ping_sent: None,
                timer: Sleep::default(),
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
