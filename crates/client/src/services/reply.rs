//! The tutorial's TCP server: read a client's message, report it, answer, close.
//!
//! There is no framing: the message ends when the client half-closes (as `sockserve tcp send`
//! does), when it reaches [`MAX_MESSAGE`], or when the client has been silent for
//! [`READ_TIMEOUT`], so `nc` without `-N` still gets its answer eventually.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use server::TcpService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Most bytes read as one message; the rest of a longer one is never read.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// How long a client may stay silent before what it sent so far counts as its message.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the reply may take to write before the client is given up on.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a message shown in the log; longer ones end with `...`.
pub const SHOWN_CHARS: usize = 200;

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// The same text to everyone (the tutorial's `Yes`).
    Text(Bytes),
    /// The message itself.
    Echo,
}

/// Called with each client's address and message, to show it to whoever runs the server.
pub type OnMessage = Arc<dyn Fn(SocketAddr, &[u8]) + Send + Sync>;

/// The reply service; register it with [`server::Server::tcp`].
pub struct ReplyService {
    reply: Reply,
    on_message: OnMessage,
}

impl ReplyService {
    /// Answers with `reply`, reporting each message to `on_message` as well as to the log.
    pub fn new(reply: Reply, on_message: OnMessage) -> ReplyService {
        ReplyService { reply, on_message }
    }
}

impl TcpService for ReplyService {
    async fn serve(&self, mut stream: TcpStream, peer: SocketAddr) {
        let message = match read_message(&mut stream).await {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(%peer, error = %e, "connection failed before a message");
                return;
            }
        };
        tracing::info!(%peer, bytes = message.len(), text = %escape(&message, SHOWN_CHARS), "message received");
        (self.on_message)(peer, &message);
        let reply: &[u8] = match &self.reply {
            Reply::Text(text) => text,
            Reply::Echo => &message,
        };
        let written = timeout(WRITE_TIMEOUT, async {
            stream.write_all(reply).await?;
            stream.shutdown().await
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!(%peer, error = %e, "reply not delivered"),
            Err(_) => tracing::info!(%peer, "reply not delivered: client stopped reading"),
        }
    }
}

/// Reads until end of stream, [`MAX_MESSAGE`] bytes, or [`READ_TIMEOUT`] of silence.
///
/// Reads straight into the message, which grows only as bytes arrive: a client that connects and
/// says nothing costs its task and no buffer, so thousands can wait at once.
async fn read_message(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    while message.len() < MAX_MESSAGE {
        match timeout(READ_TIMEOUT, stream.readable()).await {
            Err(_) => break,
            Ok(ready) => ready?,
        }
        message.reserve(READ_STEP.min(MAX_MESSAGE - message.len()));
        let room = (MAX_MESSAGE - message.len()) as u64;
        match timeout(
            READ_TIMEOUT,
            (&mut *stream).take(room).read_buf(&mut message),
        )
        .await
        {
            Err(_) | Ok(Ok(0)) => break,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
    Ok(message)
}

/// How much room each read makes in the message.
const READ_STEP: usize = 4096;

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
