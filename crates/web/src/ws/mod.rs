//! WebSocket (RFC 6455) for handlers: the [`WebSocketUpgrade`] extractor answers the opening
//! handshake and hands the connection, once switched, to an async function of the handler's
//! that talks [`Message`]s over a [`WebSocket`].
//!
//! ```
//! use web::{Router, routing::get, ws::{Message, WebSocketUpgrade}};
//!
//! async fn echo(ws: WebSocketUpgrade) -> web::Response {
//!     ws.on_upgrade(|mut socket| async move {
//!         while let Some(Ok(msg)) = socket.recv().await {
//!             if matches!(msg, Message::Text(_) | Message::Binary(_)) && socket.send(msg).await.is_err() {
//!                 break;
//!             }
//!         }
//!     })
//! }
//! let app: Router = Router::new().route("/ws", get(echo));
//! # let _ = app;
//! ```
//!
//! The framing is this crate's own rather than tungstenite's: tungstenite (0.30) has no
//! permessage-deflate, and it drives a blocking `Read + Write`, where the server's upgraded
//! connection has its own read and write halves. Everything a client sends is checked as
//! RFC 6455 requires, and a violation closes the connection with its code: an unmasked frame,
//! a reserved bit or opcode, a fragmented or long control frame, a continuation out of place,
//! a bad close code (1002); text that is not UTF-8 (1007); a frame or message past its limit
//! (1009). Pings are answered with pongs, and a close is answered with a close.
//!
//! A connection that has been silent for [`PING_INTERVAL`] gets a ping, and one that then
//! sends nothing for [`PONG_TIMEOUT`] is closed with 1011 ("keepalive ping timeout", as
//! Python's `websockets` does): proxies keep a quiet connection open, and a client that
//! vanished without a close (a laptop lid, a dropped network) does not hold its handler
//! forever. Both are set on the [`WebSocketUpgrade`] (`ping_interval`, `pong_timeout`,
//! `without_pings`). The pings go out, and their answers are seen, while the handler waits in
//! [`WebSocket::recv`] (or [`WsReceiver::recv`]), which is where the client's frames are read.
//!
//! # Layout
//! - `upgrade`: [`WebSocketUpgrade`]: the handshake's checks and the `101` response;
//!   subprotocols; permessage-deflate's agreement; the limits.
//! - `socket`: [`WebSocket`], its halves [`WsSender`] and [`WsReceiver`], messages out of frames.
//! - `frame`: the frame parser and encoder, pure functions over buffers.
//! - `message`: frames to messages (fragments, inflation, UTF-8, close frames), pure too.
//! - `deflate`: permessage-deflate (RFC 7692).

mod deflate;
mod frame;
mod message;
mod socket;
mod upgrade;

use bytes::Bytes;

pub use socket::{WebSocket, WsError, WsReceiver, WsSender};

/// The parsers of what a client sends, for the fuzz targets (`fuzz/`); not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::deflate::{Agreed, negotiate};
    pub use super::frame::{Frame, FrameError, OpCode, encode, parse};
    pub use super::message::{Assembler, Event};
    pub use super::upgrade::{accept_key, check as check_handshake};

    /// The assembler of a connection that agreed `deflate` (or nothing), with these limits.
    pub fn assembler(deflate: Option<&Agreed>, max_message: usize, max_frame: usize) -> Assembler {
        let inflater = deflate.map(super::deflate::Inflater::new);
        Assembler::new(inflater, max_message, max_frame)
    }
}
pub use upgrade::{WebSocketUpgrade, WsRejection};

/// Largest message a client may send, by default, after reassembly and inflation: axum's
/// and tungstenite's 64 MiB. Past it the connection is closed with 1009.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// Largest frame payload a client may send, by default (16 MiB, as axum and tungstenite).
/// A larger frame is refused from its header, before its payload is buffered, with 1009.
pub const MAX_FRAME_SIZE: usize = 16 << 20;

/// How long a connection may be silent before the server pings it, by default: 20 s, as
/// Python's `websockets`, well under the 60 s after which nginx (`proxy_read_timeout`) and most
/// load balancers drop an idle upstream connection, so a quiet WebSocket behind them stays open.
pub const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(20);

/// How long the client has to show it is there (a pong, or any frame) after a ping, by default
/// (20 s, as Python's `websockets`); then the connection is closed with 1011 and
/// [`WebSocket::recv`] returns [`WsError::TimedOut`].
pub const PONG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// When to ping a quiet connection and how long to wait for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keepalive {
    pub(crate) interval: std::time::Duration,
    pub(crate) timeout: std::time::Duration,
}

/// A WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8, checked on receipt).
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the socket has already answered it with a pong.
    Ping(Bytes),
    /// A pong (an answer to a ping, or a heartbeat).
    Pong(Bytes),
    /// A close; `None` when it carried no code.
    Close(Option<CloseFrame>),
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::Text(s)
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.to_owned())
    }
}

/// The code and reason of a close frame (RFC 6455 5.5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Why the connection closes.
    pub code: CloseCode,
    /// A reason for people, at most 123 bytes of UTF-8.
    pub reason: String,
}

/// A close status code (RFC 6455 7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going down, or the page is left.
    pub const AWAY: CloseCode = CloseCode(1001);
    /// 1002: a protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: a message of a type the endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1007: a message's data is not consistent with its type (text that is not UTF-8).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a message violates the endpoint's policy.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server met an unexpected condition.
    pub const ERROR: CloseCode = CloseCode(1011);

    /// Whether an endpoint may send this code in a close frame (RFC 6455 7.4.1, 7.4.2; the
    /// IANA registry adds 1012 to 1014): 1004 to 1006 and 1015 are reserved for reporting,
    /// 1016 to 2999 are unassigned, 3000 to 4999 belong to libraries and applications.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}
