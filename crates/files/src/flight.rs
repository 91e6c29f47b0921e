//! On-the-fly compression done once per representation: concurrent requests for the same file
//! in the same coding share one compression (a single flight) and each streams its output as
//! it comes, from the first chunk.
//!
//! A compression reads the file a piece at a time through the encoder, so neither the whole
//! file nor a copy per request is ever held: a flight holds one encoder's state and the output
//! so far, and at most [`MAX_FLIGHTS`] fly at once. When one ends, its output is cached (if the
//! file has settled and it is small enough, see [`crate::cache`]) before the flight is
//! forgotten, so a later request finds either the flight or the cached form.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use server::ResponseBody;

use crate::cache::{Cache, Cached, MAX_ENTRY};
use crate::compress::Encoding;
use crate::meta::FileId;
use crate::respond::RepMeta;

/// Most compressions under way at once, across every file and coding. Each holds one encoder
/// (brotli at the on-the-fly settings is the largest: its 4 MiB window and its tables) and its
/// output so far (no more than about [`crate::compress::MAX_SIZE`]), so what on-the-fly
/// compression holds is bounded by this many of those, however many requests arrive (40
/// requests at once for a 7.5 MiB text file peak at about 60 MiB resident for the whole
/// server). A request that would start one more gets the file as it is.
pub const MAX_FLIGHTS: usize = 4;

/// Size of the pieces a compression hands to the requests streaming it.
const CHUNK: usize = 64 * 1024;

/// What one compression needs: the open file and what to call the result.
pub struct Job<'a> {
    /// The file, open (it is duplicated, not reopened).
    pub file: &'a File,
    /// Its path, for the cache entry.
    pub path: &'a Path,
    /// Its identity when opened; the result is cached only if it still holds at the end.
    pub id: FileId,
    /// The coding.
    pub enc: Encoding,
    /// The cache key of the result.
    pub key: Vec<u8>,
    /// The result's header fields and validators (its length is filled in at the end).
    pub meta: RepMeta,
    /// The cache to keep the result in, when the file has settled.
    pub cache: Option<Arc<Cache>>,
}

/// Which compression a flight is: one file's content, as identified, in one coding.
type FlightKey = (PathBuf, FileId, Encoding);

/// The compressions under way.
#[derive(Debug, Default)]
pub struct Flights {
    map: Mutex<HashMap<FlightKey, Arc<Flight>>>,
}

impl Flights {
    /// A reader of the compression `job` describes: the one under way, or a new one. `None`
    /// when [`MAX_FLIGHTS`] are under way already (or the file cannot be duplicated).
    ///
    /// `flights` is the registry itself, shared, since the compression outlives this call.
    pub fn join(flights: &Arc<Flights>, job: Job<'_>) -> Option<Reader> {
        let key: FlightKey = (job.path.to_path_buf(), job.id, job.enc);
        let mut map = flights.lock();
        if let Some(f) = map.get(&key) {
            return Some(Reader::new(f.clone()));
        }
        if map.len() >= MAX_FLIGHTS {
            return None;
        }
        let file = job.file.try_clone().ok()?;
        let flight = Arc::new(Flight::default());
        map.insert(key.clone(), flight.clone());
        drop(map);
        let reader = Reader::new(flight.clone());
        let run = {
            let flights = flights.clone();
            let (path, id, enc) = (job.path.to_path_buf(), job.id, job.enc);
            let (cache_key, meta, cache) = (job.key, job.meta, job.cache);
            move || {
                let done = compress(&flight, file, id, enc);
                if let (Some(out), Some(cache)) = (done, cache) {
                    let meta = RepMeta {
                        len: out.len() as u64,
                        ..meta
                    };
                    cache.insert(cache_key, Cached::new(path, id, meta, Some(out)));
                }
                flights.lock().remove(&key);
            }
        };
        // A small file is compressed right here (this is a blocking thread), so its answer
        // has a length; a large one on a thread of its own while the answers stream it.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if job.id.len() > MAX_ENTRY => drop(rt.spawn_blocking(run)),
            _ => run(),
        }
        Some(reader)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<FlightKey, Arc<Flight>>> {
        // Every update is one insert or remove: a panic elsewhere leaves the map usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Compresses `file` into `flight`; the whole output when the file was unchanged throughout
/// (so it may be cached), else `None`.
fn compress(flight: &Flight, file: File, id: FileId, enc: Encoding) -> Option<Bytes> {
    let mut sink = Sink {
        flight,
        buf: Vec::with_capacity(CHUNK),
    };
    let result = enc
        .encode(&mut (&file).take(id.len()), &mut sink)
        .map(|()| sink.publish());
    let unchanged = file.metadata().is_ok_and(|m| FileId::of(&m) == id);
    let mut state = flight.lock();
    state.done = Some(result.as_ref().map(|_| ()).map_err(io::Error::kind));
    if let Err(e) = result {
        tracing::warn!(error = %e, "compression failed");
    }
    let wakers = std::mem::take(&mut state.wakers);
    let out = (unchanged && state.done == Some(Ok(()))).then(|| concat(&state.chunks));
    drop(state);
    wakers.into_iter().for_each(Waker::wake);
    out
}

/// The chunks as one buffer (without a copy when there is one chunk).
fn concat(chunks: &[Bytes]) -> Bytes {
    match chunks {
        [one] => one.clone(),
        _ => {
            let mut all = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            chunks.iter().for_each(|c| all.extend_from_slice(c));
            all.freeze()
        }
    }
}

/// One compression's output so far and who waits for more.
#[derive(Debug, Default)]
pub struct Flight {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    chunks: Vec<Bytes>,
    /// Set when the compression ended: how.
    done: Option<Result<(), io::ErrorKind>>,
    wakers: Vec<Waker>,
}

impl Flight {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Where the encoder writes: pieces of [`CHUNK`] bytes go to the flight's readers.
struct Sink<'a> {
    flight: &'a Flight,
    buf: Vec<u8>,
}

impl Sink<'_> {
    /// Hands what is buffered to the readers.
    fn publish(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        let mut state = self.flight.lock();
        state.chunks.push(chunk);
        let wakers = std::mem::take(&mut state.wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.publish();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One request's view of a flight: its output from the start, as a stream.
#[derive(Debug)]
pub struct Reader {
    flight: Arc<Flight>,
    next: usize,
    failed: bool,
}

impl Reader {
    fn new(flight: Arc<Flight>) -> Reader {
        Reader {
            flight,
            next: 0,
            failed: false,
        }
    }

    /// The body of a response: the whole output, with its length, when the compression has
    /// ended well; otherwise a stream of it (sent chunked).
    pub fn into_body(self) -> ResponseBody {
        let state = self.flight.lock();
        if state.done == Some(Ok(())) {
            return match concat(&state.chunks) {
                b if b.is_empty() => ResponseBody::Empty,
                b => ResponseBody::Full(b),
            };
        }
        drop(state);
        ResponseBody::Stream {
            stream: Box::pin(self),
            len: None,
        }
    }
}

impl futures_core::Stream for Reader {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let mut state = this.flight.lock();
        if let Some(chunk) = state.chunks.get(this.next) {
            this.next += 1;
            return Poll::Ready(Some(Ok(chunk.clone())));
        }
        match state.done {
            Some(Ok(())) => Poll::Ready(None),
            Some(Err(kind)) => {
                // The response ends short of a last chunk, so the client sees it failed.
                this.failed = true;
                Poll::Ready(Some(Err(io::Error::new(kind, "compression failed"))))
            }
            None => {
                if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    state.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use http::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn meta() -> RepMeta {
        RepMeta {
            len: 0,
            etag: HeaderValue::from_static("\"x-br\""),
            last_modified: HeaderValue::from_static("x"),
            modified: UNIX_EPOCH,
            content_type: HeaderValue::from_static("text/plain"),
            encoding: Some(Encoding::Brotli),
            vary: true,
            alternatives: false,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_one_compression() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.txt");
        let data: Vec<u8> = (0..80_000u32)
            .flat_map(|i| format!("{i} ").into_bytes())
            .collect();
        std::fs::write(&p, &data).unwrap();
        let file = File::open(&p).unwrap();
        let id = FileId::of(&file.metadata().unwrap());
        let flights = Arc::new(Flights::default());
        let job = || Job {
            file: &file,
            path: &p,
            id,
            enc: Encoding::Brotli,
            key: b"k".to_vec(),
            meta: meta(),
            cache: None,
        };
        let readers: Vec<Reader> = (0..8)
            .map(|_| Flights::join(&flights, job()).unwrap())
            .collect();
        assert!(
            flights.lock().len() <= 1,
            "one flight for one representation"
        );
        for r in readers {
            let mut out = Vec::new();
            let mut s = Box::pin(r);
            while let Some(c) = s.next().await {
                out.extend_from_slice(&c.unwrap());
            }
            let mut back = Vec::new();
            brotli::BrotliDecompress(&mut &out[..], &mut back).unwrap();
            assert!(back == data);
        }
    }

    #[test]
    fn no_more_than_the_limit_fly_at_once() {
        let flights = Arc::new(Flights::default());
        for i in 0..MAX_FLIGHTS {
            let key = (
                PathBuf::from(format!("f{i}")),
                FileId::default(),
                Encoding::Gzip,
            );
            flights.lock().insert(key, Arc::default());
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let file = File::open(&p).unwrap();
        let job = Job {
            file: &file,
            path: &p,
            id: FileId::of(&file.metadata().unwrap()),
            enc: Encoding::Gzip,
            key: b"k".to_vec(),
            meta: meta(),
            cache: None,
        };
        assert!(Flights::join(&flights, job).is_none());
    }
}
