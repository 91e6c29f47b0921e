//! The tutorial's TCP server: read what a client sends, report it, answer it.
//!
//! # Framing
//! A message is what one read returns, as in the tutorial's server (`data = conn.recv(1024)`,
//! then `conn.sendall(b"Yes")`): each is reported once and answered at once, so a client that
//! sends a line and waits for the reply without closing its side gets it (the tutorial's Python
//! client, `nc` typing line by line), and a client that half-closes after sending (`sockserve tcp
//! send`) gets it before the end of stream. TCP is a byte stream, so a message larger than one
//! read ([`MAX_MESSAGE`], or whatever the kernel had buffered) arrives, and is answered, in
//! pieces. The connection closes when the client closes its side or stays silent for
//! [`IDLE_TIMEOUT`].

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use server::{Shutdown, TcpService};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Most bytes one read takes, so the most one message holds; more waits for the next read.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// How long a client may stay silent between messages before its connection is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a reply may take to write before the client is given up on.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a message shown; longer ones end with `...`.
pub const SHOWN_CHARS: usize = 200;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The same text to every message (the tutorial's `Yes`).
    Text(Bytes),
    /// The message itself.
    Echo,
}

/// Called with the client's address and each message, to show it to whoever runs the server.
pub type OnMessage = Arc<dyn Fn(SocketAddr, &[u8]) + Send + Sync>;

/// The reply service; register it with [`server::Server::tcp`].
pub struct ReplyService {
    reply: Reply,
    on_message: OnMessage,
}

impl ReplyService {
    /// Answers each message with `reply`, reporting it to `on_message` (once: the log gets only
    /// its size, so a terminal showing both does not show the text twice).
    pub fn new(reply: Reply, on_message: OnMessage) -> ReplyService {
        ReplyService { reply, on_message }
    }
}

impl TcpService for ReplyService {
    async fn serve(&self, mut stream: TcpStream, peer: SocketAddr, mut shutdown: Shutdown) {
        match self.converse(&mut stream, peer, &mut shutdown).await {
            Ok(End::Shutdown) => {
                let _ = timeout(WRITE_TIMEOUT, stream.shutdown()).await;
            }
            Ok(End::Closed) => {
                // The client closed its side: close ours, so it reads the end of the replies.
                let _ = timeout(WRITE_TIMEOUT, stream.shutdown()).await;
            }
            Ok(End::Idle) => tracing::info!(%peer, "client silent too long, closed"),
            Err(e) => tracing::info!(%peer, error = %e, "connection failed"),
        }
    }
}

/// How a conversation ended without error.
enum End {
    /// The client closed its side.
    Closed,
    /// The client stayed silent for [`IDLE_TIMEOUT`].
    Idle,
    /// The server is shutting down.
    Shutdown,
}

impl ReplyService {
    /// Reads messages and answers each until the client closes or falls silent.
    /// Shutdown ends it only between messages: a message being answered is answered first.
    async fn converse(
        &self,
        stream: &mut TcpStream,
        peer: SocketAddr,
        shutdown: &mut Shutdown,
    ) -> io::Result<End> {
        loop {
            let message = match read_message(stream, shutdown).await? {
                Heard::Message(m) => m,
                Heard::Silence => return Ok(End::Idle),
                Heard::Shutdown => return Ok(End::Shutdown),
            };
            if message.is_empty() {
                return Ok(End::Closed);
            }
            tracing::debug!(%peer, bytes = message.len(), "message received");
            (self.on_message)(peer, &message);
            let reply: &[u8] = match &self.reply {
                Reply::Text(text) => text,
                Reply::Echo => &message,
            };
            timeout(WRITE_TIMEOUT, stream.write_all(reply))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))??;
        }
    }
}

/// What waiting for the next message ended with.
enum Heard {
    /// One read's worth; empty at the end of the stream.
    Message(Vec<u8>),
    /// [`IDLE_TIMEOUT`] passed without a byte.
    Silence,
    /// The server began shutting down while the client was silent.
    Shutdown,
}

/// One read, or silence, or shutdown while waiting.
///
/// Waits for readiness before allocating, so a client that connects and says nothing costs its
/// task and no buffer, and thousands can wait at once.
async fn read_message(stream: &mut TcpStream, shutdown: &mut Shutdown) -> io::Result<Heard> {
    loop {
        tokio::select! {
            ready = timeout(IDLE_TIMEOUT, stream.readable()) => match ready {
                Err(_) => return Ok(Heard::Silence),
                Ok(ready) => ready?,
            },
            () = shutdown.wait() => return Ok(Heard::Shutdown),
        }
        let mut message = Vec::with_capacity(MAX_MESSAGE);
        match stream.try_read_buf(&mut message) {
            Ok(_) => return Ok(Heard::Message(message)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `bytes` made safe for one log or terminal line: valid UTF-8 is kept, control characters and
/// backslashes are escaped (`\n`, `\u{1b}`, `\\`), invalid bytes become `\xNN`, and the result is
/// cut after `max_chars` characters with `...` so one client cannot flood the log.
pub fn escape(bytes: &[u8], max_chars: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for chunk in bytes.utf8_chunks() {
        let invalid = chunk.invalid().iter().map(|b| format!("\\x{b:02x}"));
        let valid = chunk.valid().chars().map(|c| match c {
            '\\' => "\\\\".to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        });
        for piece in valid.chain(invalid) {
            if shown == max_chars {
                out.push_str("...");
                return out;
            }
            let _ = write!(out, "{piece}");
            shown += 1;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_invalid_bytes_but_keeps_text() {
        assert_eq!(escape(b"can you hear me?", 200), "can you hear me?");
        assert_eq!(
            escape("h\u{e9} \"q\"\n\t\x1b".as_bytes(), 200),
            "h\u{e9} \"q\"\\n\\t\\u{1b}"
        );
        assert_eq!(escape(b"a\xffb\\", 200), "a\\xffb\\\\");
        assert_eq!(escape(b"abcdef", 3), "abc...");
        assert_eq!(escape(b"abc", 3), "abc");
    }
}
