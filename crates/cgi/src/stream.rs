//! The script's stdout after its header block, as the response body stream.
//!
//! The stream owns the running script: if the client goes away the server drops the stream,
//! which kills the script's process group. Pieces are passed on as the script writes them, so a
//! long-running script shows progress.

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use server::BoxStream;
use tokio::io::AsyncReadExt;
use tokio::process::ChildStdout;
use tokio::time::Instant;

use crate::spawn::Running;

/// How much room each read from the script gets.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Stdout of a script whose header block has been read.
pub(crate) struct ScriptOutput {
    pub(crate) stdout: ChildStdout,
    pub(crate) running: Option<Running>,
    pub(crate) deadline: Instant,
    pub(crate) buf: BytesMut,
    /// Bytes still allowed by the script's `Content-Length`, if it sent one.
    pub(crate) remaining: Option<u64>,
    pub(crate) name: Arc<str>,
}

impl ScriptOutput {
    /// Reads whatever is already there without waiting. `Some(body)` when the script's output
    /// is complete (it fits in memory, so it can be sent with a length); `None` when the rest
    /// has to be streamed.
    pub(crate) fn try_complete(&mut self) -> Option<Bytes> {
        while self.buf.len() < READ_SIZE {
            self.buf.reserve(READ_SIZE);
            match self.stdout.read_buf(&mut self.buf).now_or_never() {
                Some(Ok(0)) => {
                    let body = self.take(self.buf.len());
                    self.finish();
                    return Some(body);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
        None
    }

    /// The body as a stream for [`server::ResponseBody`].
    pub(crate) fn into_stream(self) -> BoxStream {
        Box::pin(futures_util::stream::unfold(self, |mut out| async move {
            out.next().await.map(|item| (item, out))
        }))
    }

    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        self.running.as_ref()?;
        if self.remaining == Some(0) {
            self.finish();
            return None;
        }
        if self.buf.is_empty() {
            self.buf.reserve(READ_SIZE);
            match tokio::time::timeout_at(self.deadline, self.stdout.read_buf(&mut self.buf)).await
            {
                Err(_) => {
                    tracing::warn!(script = %self.name, "script timed out while sending its body; killed");
                    self.running = None;
                    return Some(Err(io::ErrorKind::TimedOut.into()));
                }
                Ok(Err(e)) => {
                    self.running = None;
                    return Some(Err(e));
                }
                Ok(Ok(0)) => return self.end(),
                Ok(Ok(_)) => {}
            }
        }
        Some(Ok(self.take(self.buf.len())))
    }

    /// Output ended: fine unless it is shorter than the script's own `Content-Length`.
    fn end(&mut self) -> Option<io::Result<Bytes>> {
        self.finish();
        match self.remaining {
            Some(n) if n > 0 => {
                tracing::warn!(script = %self.name, "script output ended {n} bytes short of its Content-Length");
                Some(Err(io::ErrorKind::UnexpectedEof.into()))
            }
            _ => None,
        }
    }

    /// Up to `n` buffered bytes, cut to what `Content-Length` still allows.
    fn take(&mut self, n: usize) -> Bytes {
        let n = match self.remaining {
            Some(left) => n.min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => n,
        };
        if let Some(left) = self.remaining.as_mut() {
            *left -= n as u64;
        }
        let piece = self.buf.split_to(n).freeze();
        if self.remaining == Some(0) {
            self.buf.clear();
        }
        piece
    }

    fn finish(&mut self) {
        if let Some(r) = self.running.take() {
            r.finish();
        }
    }
}

impl ScriptOutput {
    /// Lets the script write the rest of its output into the void (a `HEAD` request, a local
    /// redirect): it is not cut off mid-work, but still killed at the deadline.
    pub(crate) fn drain(mut self) {
        tokio::spawn(async move {
            self.remaining = None;
            while let Some(Ok(_)) = self.next().await {
                self.buf.clear();
            }
        });
    }
}
