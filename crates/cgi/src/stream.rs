//! The script's stdout after its header block, as the response body stream.
//!
//! The stream owns the running script: if the client goes away the server drops the stream,
//! which kills the script's process group. Pieces are passed on as the script writes them, so a
//! long-running script shows progress. The body is taken apart by its own framing
//! (`Content-Length`, `Transfer-Encoding: chunked`, or the end of output) with http1's decoder,
//! so the server can frame it again.

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http1::{BodyKind, Decoded, Decoder};
use server::{BodyError, BoxStream};
use tokio::io::AsyncReadExt;
use tokio::process::ChildStdout;
use tokio::time::Instant;

use crate::error::{CgiError, OutputBodyError};
use crate::input::{BodyWatch, Cut};
use crate::spawn::Running;

/// How much room each read from the script gets.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Stdout of a running script.
pub(crate) struct ScriptOutput {
    pub(crate) stdout: ChildStdout,
    pub(crate) running: Option<Running>,
    pub(crate) deadline: Instant,
    /// Bytes read from stdout and not yet handed on.
    pub(crate) buf: BytesMut,
    /// The framing of the body after the header block; until the block is parsed (and for
    /// `nph-` scripts), everything until the end of output.
    pub(crate) body: Decoder,
    /// Whether the request body broke off while being fed to the script.
    pub(crate) input: BodyWatch,
    pub(crate) name: Arc<str>,
}

impl ScriptOutput {
    pub(crate) fn new(
        stdout: ChildStdout,
        running: Running,
        deadline: Instant,
        input: BodyWatch,
        name: Arc<str>,
    ) -> ScriptOutput {
        ScriptOutput {
            stdout,
            running: Some(running),
            deadline,
            buf: BytesMut::with_capacity(READ_SIZE),
            body: until_end(),
            input,
            name,
        }
    }

    /// Sets the body's framing from the script's header fields.
    pub(crate) fn frame(&mut self, chunked: bool, content_length: Option<u64>) {
        let kind = match (chunked, content_length) {
            (true, _) => BodyKind::Chunked,
            (false, Some(n)) => BodyKind::Length(n),
            (false, None) => BodyKind::UntilClose,
        };
        self.body = Decoder::new(kind, u64::MAX);
    }

    /// Reads some more output, waiting until the deadline. `Err` when the request body broke
    /// off meanwhile: the script has then been killed.
    pub(crate) async fn read_more(&mut self) -> Result<Option<io::Result<usize>>, BodyError> {
        self.buf.reserve(READ_SIZE);
        tokio::select! {
            read = tokio::time::timeout_at(self.deadline, self.stdout.read_buf(&mut self.buf)) => {
                Ok(read.ok())
            }
            cut = self.input.cut() => Err(self.abandon(cut)),
        }
    }

    /// Waits, before the response head goes out, until the request body has been fed to the
    /// script whole, reading the script's output meanwhile: a body that breaks off then ends
    /// the request with the body's error, not with a status the script chose before it had
    /// its input (nginx reaches the same end by reading the whole body before it starts a
    /// FastCGI request). Bounded: once [`READ_SIZE`] bytes of output wait, the script is
    /// answering as it reads (an echo), and holding more could deadlock it; output that ends
    /// stops the wait too.
    pub(crate) async fn hold_for_input(&mut self) -> Result<(), CgiError> {
        while !self.input.settled() && self.buf.len() < READ_SIZE {
            self.buf.reserve(READ_SIZE);
            tokio::select! {
                fed = self.input.fed() => {
                    return fed.map_err(|cut| CgiError::Body(self.abandon(cut)));
                }
                read = tokio::time::timeout_at(self.deadline, self.stdout.read_buf(&mut self.buf)) => {
                    match read {
                        Err(_) => {
                            server::metrics::event(server::metrics::Event::CgiTimedOut);
                            return Err(CgiError::TimedOut);
                        }
                        Ok(Err(e)) => return Err(CgiError::Io(e)),
                        Ok(Ok(0)) => return Ok(()),
                        Ok(Ok(_)) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// The request body broke off: kills the script's group (before its stdin closes, so it
    /// never mistakes the short body for a whole one) and says why.
    pub(crate) fn abandon(&mut self, cut: Cut) -> BodyError {
        tracing::debug!(script = %self.name, "request body ended early ({}); script killed", cut.error);
        self.running = None;
        cut.error
    }

    /// Reads whatever is already there without waiting. `Ok(Some(body))` when the script's
    /// output is complete (it fits in memory, so it can be sent with a length); `Ok(None)` when
    /// the rest has to be streamed; `Err` when the output is complete but its body is broken,
    /// or the request body broke off.
    pub(crate) fn try_complete(&mut self) -> Result<Option<Bytes>, CgiError> {
        if let Some(cut) = self.input.try_cut() {
            return Err(CgiError::Body(self.abandon(cut)));
        }
        loop {
            if self.buf.len() >= READ_SIZE {
                return Ok(None);
            }
            self.buf.reserve(READ_SIZE);
            match self.stdout.read_buf(&mut self.buf).now_or_never() {
                Some(Ok(0)) => break,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(None),
            }
        }
        let body = self.decode_all().map_err(CgiError::OutputBody)?;
        self.finish();
        Ok(Some(body))
    }

    /// Decodes the whole body from `buf`, which holds all the output there will be.
    fn decode_all(&mut self) -> Result<Bytes, OutputBodyError> {
        let mut first: Option<Bytes> = None;
        let mut more = BytesMut::new();
        loop {
            match self.body.decode(&mut self.buf) {
                Ok(Decoded::Data(piece)) if first.is_none() => first = Some(piece),
                Ok(Decoded::Data(piece)) => more.extend_from_slice(&piece),
                Ok(Decoded::Done) => break,
                Ok(Decoded::NeedMore) => {
                    self.body.eof().map_err(|_| OutputBodyError::Short)?;
                    break;
                }
                Err(e) => return Err(OutputBodyError::Chunked(e)),
            }
        }
        let first = first.unwrap_or_default();
        if more.is_empty() {
            return Ok(first);
        }
        let mut all = BytesMut::with_capacity(first.len() + more.len());
        all.extend_from_slice(&first);
        all.extend_from_slice(&more);
        Ok(all.freeze())
    }

    /// The body as a stream for [`server::ResponseBody`].
    pub(crate) fn into_stream(self) -> BoxStream {
        Box::pin(futures_util::stream::unfold(self, |mut out| async move {
            out.next().await.map(|item| (item, out))
        }))
    }

    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        self.running.as_ref()?;
        loop {
            match self.body.decode(&mut self.buf) {
                Ok(Decoded::Data(piece)) if piece.is_empty() => {}
                Ok(Decoded::Data(piece)) => return Some(Ok(piece)),
                Ok(Decoded::Done) => {
                    self.finish();
                    return None;
                }
                Ok(Decoded::NeedMore) => {}
                Err(e) => {
                    let e = OutputBodyError::Chunked(e);
                    tracing::warn!(script = %self.name, "{e}; killed");
                    self.running = None;
                    return Some(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
                }
            }
            match self.read_more().await {
                Err(e) => return Some(Err(io::Error::new(io::ErrorKind::ConnectionAborted, e))),
                Ok(None) => {
                    tracing::warn!(script = %self.name, "script timed out while sending its body; killed");
                    server::metrics::event(server::metrics::Event::CgiTimedOut);
                    self.running = None;
                    return Some(Err(io::ErrorKind::TimedOut.into()));
                }
                Ok(Some(Err(e))) => {
                    self.running = None;
                    return Some(Err(e));
                }
                Ok(Some(Ok(0))) => return self.end(),
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Output ended: fine unless the body's own framing said there was more to come.
    fn end(&mut self) -> Option<io::Result<Bytes>> {
        self.finish();
        match self.body.eof() {
            Ok(()) => None,
            Err(_) => {
                let e = OutputBodyError::Short;
                tracing::warn!(script = %self.name, "{e}");
                Some(Err(io::Error::new(io::ErrorKind::UnexpectedEof, e)))
            }
        }
    }

    fn finish(&mut self) {
        if let Some(r) = self.running.take() {
            r.finish();
        }
    }

    /// Lets the script write the rest of its output into the void (a `HEAD` request, a local
    /// redirect): it is not cut off mid-work, but still killed at the deadline, or when the
    /// request body breaks off.
    pub(crate) fn drain(mut self) {
        tokio::spawn(async move {
            self.body = until_end();
            while let Some(Ok(_)) = self.next().await {}
        });
    }
}

/// Everything until the end of output.
fn until_end() -> Decoder {
    Decoder::new(BodyKind::UntilClose, u64::MAX)
}
