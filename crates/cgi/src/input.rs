//! The request body on its way to the script's stdin.
//!
//! A body with a `Content-Length` streams straight into the pipe while the script runs. A
//! chunked body has no length to put in `CONTENT_LENGTH`, so it is read first: into memory
//! while small, into an anonymous temporary file past [`SPOOL_IN_MEMORY`], which then becomes
//! the script's stdin as it is. Either way a large body never sits whole in memory.

use std::io::{self, Seek, Write};
use std::process::Stdio;

use bytes::{Bytes, BytesMut};
use server::{Body, BodyError};
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

/// Chunked bodies up to this size are held in memory; larger ones go to a temporary file.
pub const SPOOL_IN_MEMORY: usize = 256 * 1024;

/// Why the body could not be made ready for the script.
#[derive(Debug)]
pub(crate) enum InputError {
    /// Reading it from the client failed.
    Body(BodyError),
    /// Writing the temporary file failed.
    Spool(io::Error),
}

/// The script's input.
pub(crate) enum Input {
    /// No body: stdin is `/dev/null`.
    None,
    /// A body of known length, copied into a pipe as it arrives.
    Stream(Body),
    /// A de-chunked body that fitted in memory.
    Memory(Bytes),
    /// A de-chunked body spooled to a temporary file, rewound.
    File(std::fs::File),
}

impl Input {
    /// Readies `body` and returns it with the length the script will read.
    pub(crate) async fn prepare(mut body: Body) -> Result<(Input, u64), InputError> {
        match body.len() {
            Some(0) => Ok((Input::None, 0)),
            Some(n) => Ok((Input::Stream(body), n)),
            None => {
                let mut mem = BytesMut::new();
                while let Some(piece) = body.chunk().await.map_err(InputError::Body)? {
                    if mem.len() + piece.len() > SPOOL_IN_MEMORY {
                        return spool(mem, piece, body).await;
                    }
                    mem.extend_from_slice(&piece);
                }
                let len = mem.len() as u64;
                Ok((
                    if len == 0 {
                        Input::None
                    } else {
                        Input::Memory(mem.freeze())
                    },
                    len,
                ))
            }
        }
    }

    /// What the script's stdin is connected to.
    pub(crate) fn stdio(&mut self) -> io::Result<Stdio> {
        Ok(match self {
            Input::None => Stdio::null(),
            Input::Stream(_) | Input::Memory(_) => Stdio::piped(),
            Input::File(f) => Stdio::from(f.try_clone()?),
        })
    }

    /// Starts copying into `stdin` in its own task, so a script that writes before it has read
    /// all its input cannot deadlock against us. Closes stdin at the end of the body; a body
    /// that fails before its end (timeout, client gone) is reported through the [`BodyWatch`]
    /// instead, with stdin still open.
    pub(crate) fn feed(self, stdin: Option<ChildStdin>) -> Option<(AbortHandle, BodyWatch)> {
        let mut stdin = stdin?;
        let (tx, rx) = oneshot::channel();
        let task = match self {
            Input::Stream(mut body) => tokio::spawn(async move {
                loop {
                    match body.chunk().await {
                        Ok(Some(piece)) => {
                            if stdin.write_all(&piece).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => return,
                        Err(error) => {
                            let _ = tx.send(Cut {
                                error,
                                _stdin: stdin,
                            });
                            return;
                        }
                    }
                }
            }),
            Input::Memory(bytes) => tokio::spawn(async move {
                let _ = stdin.write_all(&bytes).await;
            }),
            Input::None | Input::File(_) => return None,
        };
        Some((task.abort_handle(), BodyWatch(Some(rx))))
    }
}

/// The request body broke off before its end while it was being fed to the script.
pub(crate) struct Cut {
    /// Why (body timeout, client gone, bad framing).
    pub(crate) error: BodyError,
    /// The script's stdin, held open until the script is killed: closed, it would tell the
    /// script that the short body was the whole of it, and the script could act on it.
    _stdin: ChildStdin,
}

/// Tells the reader of a script's output how feeding its request body ends: whole, or broken
/// off (RFC 3875 4.2: the script is owed exactly `CONTENT_LENGTH` bytes, so a short body is no
/// request at all).
#[derive(Default)]
pub(crate) struct BodyWatch(Option<oneshot::Receiver<Cut>>);

impl BodyWatch {
    /// Whether feeding has ended (or there was nothing to feed) and no break is waiting to be
    /// taken.
    pub(crate) fn settled(&self) -> bool {
        self.0.is_none()
    }

    /// Resolves once feeding has ended: `Ok` when the body went in whole (or the script stopped
    /// reading it), `Err` with the break when it broke off.
    pub(crate) async fn fed(&mut self) -> Result<(), Cut> {
        let Some(rx) = self.0.as_mut() else {
            return Ok(());
        };
        // The sender is dropped without a word when feeding ends well. A finished receiver
        // must not be polled again.
        let result = rx.await;
        self.0 = None;
        match result {
            Ok(cut) => Err(cut),
            Err(_) => Ok(()),
        }
    }

    /// Resolves when the body breaks off; never, if it goes in whole.
    pub(crate) async fn cut(&mut self) -> Cut {
        match self.fed().await {
            Err(cut) => cut,
            Ok(()) => std::future::pending().await,
        }
    }

    /// The break, if it has already happened.
    pub(crate) fn try_cut(&mut self) -> Option<Cut> {
        match self.0.as_mut()?.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => None,
            Ok(cut) => {
                self.0 = None;
                Some(cut)
            }
            Err(oneshot::error::TryRecvError::Closed) => {
                self.0 = None;
                None
            }
        }
    }
}

/// Moves a body that outgrew memory into a temporary file.
async fn spool(mem: BytesMut, first: Bytes, mut body: Body) -> Result<(Input, u64), InputError> {
    let file = tempfile::tempfile().map_err(InputError::Spool)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut len = 0u64;
    for piece in [mem.freeze(), first] {
        file.write_all(&piece).await.map_err(InputError::Spool)?;
        len += piece.len() as u64;
    }
    while let Some(piece) = body.chunk().await.map_err(InputError::Body)? {
        file.write_all(&piece).await.map_err(InputError::Spool)?;
        len += piece.len() as u64;
    }
    file.flush().await.map_err(InputError::Spool)?;
    let mut file = file.into_std().await;
    file.flush().map_err(InputError::Spool)?;
    file.rewind().map_err(InputError::Spool)?;
    Ok((Input::File(file), len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    fn chunked(pieces: Vec<&'static [u8]>) -> Body {
        let stream =
            futures_util::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from_static(p))));
        Body::from_stream(stream, None)
    }

    #[tokio::test]
    async fn small_chunked_body_is_held_in_memory() {
        let (input, len) = Input::prepare(chunked(vec![b"ab", b"cd"])).await.unwrap();
        assert_eq!(len, 4);
        assert!(matches!(input, Input::Memory(ref b) if b == "abcd"));
    }

    #[tokio::test]
    async fn large_chunked_body_goes_to_a_file() {
        static PIECE: [u8; 100_000] = [7; 100_000];
        let pieces = vec![&PIECE[..]; 5];
        let (input, len) = Input::prepare(chunked(pieces)).await.unwrap();
        assert_eq!(len, 500_000);
        let Input::File(mut f) = input else {
            panic!("not spooled")
        };
        let mut all = Vec::new();
        f.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 500_000);
        assert!(all.iter().all(|&b| b == 7));
    }

    #[tokio::test]
    async fn empty_bodies_need_no_pipe() {
        let (input, len) = Input::prepare(Body::empty()).await.unwrap();
        assert!(matches!(input, Input::None) && len == 0);
        let (input, len) = Input::prepare(chunked(vec![])).await.unwrap();
        assert!(matches!(input, Input::None) && len == 0);
    }
}
