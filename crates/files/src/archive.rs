//! A directory as a `.tar.gz` or `.zip`, streamed: the listing links `?download=tar.gz` and
//! `?download=zip`.
//!
//! The archive is written on a blocking thread into a bounded channel that the response body
//! reads, so neither the whole archive nor any whole file is ever in memory or on disk, and a
//! client that stops reading stops the writer (the channel fills) or ends it (the channel
//! closes). Both writers are synchronous (`tar` over flate2's gzip encoder; `zip`'s writer for
//! streams that cannot seek, which puts sizes in data descriptors), so one thread model
//! serves both.
//!
//! What goes in is what the listing shows: dotfiles only when shown, never a temporary upload,
//! symlinks only when they lead to a file inside the root (their target's content goes in,
//! under the link's name), never one leading outside (even with `--follow-symlinks`: an
//! archive is a copy of the served tree, not of what it points at), never a symlink to a
//! directory (loops), and nothing but regular files and directories.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use server::{Response, ResponseBody};
use tokio::sync::mpsc;

use crate::resolve::RelPath;
use crate::write::PART_PREFIX;
use crate::{Config, Error};

/// Bytes gathered before they are sent as one piece of the body.
const PIECE: usize = 64 * 1024;

/// Pieces waiting in the channel: with [`PIECE`], at most this many times 64 KiB in memory
/// per download, however large the directory.
const QUEUE: usize = 4;

/// Archives being written at once, each on a thread of the blocking pool; past it a request
/// gets `503` with `Retry-After`, so downloads cannot take every blocking thread from the
/// lookups of ordinary requests.
pub const MAX_ARCHIVES: usize = 16;

/// Archives being written now.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// One of the [`MAX_ARCHIVES`] places, given back when the writer ends.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        RUNNING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_ARCHIVES).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The kind of archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// gzip-compressed tar.
    TarGz,
    /// zip with deflate.
    Zip,
}

impl Kind {
    fn extension(self) -> &'static str {
        match self {
            Kind::TarGz => "tar.gz",
            Kind::Zip => "zip",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Kind::TarGz => "application/gzip",
            Kind::Zip => "application/zip",
        }
    }
}

/// The archive a query asks for (`download=tar.gz` or `download=zip`), if any.
pub fn requested(query: Option<&str>) -> Option<Kind> {
    query?
        .split('&')
        .find_map(|pair| match pair.strip_prefix("download=")? {
            "tar.gz" | "tgz" => Some(Kind::TarGz),
            "zip" => Some(Kind::Zip),
            _ => None,
        })
}

/// The response streaming the directory `rel` as `kind`; `head_only` sends the head alone.
pub fn response(cfg: &Config, rel: &RelPath, kind: Kind, head_only: bool) -> Response {
    let dir = match crate::beneath::open(&policy(cfg), &rel.path) {
        Ok(opened) if opened.file.metadata().is_ok_and(|m| m.is_dir()) => opened.path,
        Ok(_) => return crate::handler::error(Error::NotFound),
        Err(e) => return crate::handler::error(e),
    };
    let name = top_name(rel);
    let mut r = Response::new(StatusCode::OK).header(header::CACHE_CONTROL, "no-store");
    r.headers.append(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    let disposition = format!("attachment; filename=\"{name}.{}\"", kind.extension());
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers.append(header::CONTENT_DISPOSITION, v);
    }
    if head_only {
        r.body = ResponseBody::Stream {
            stream: Box::pin(futures_util::stream::empty()),
            len: None,
        };
        return r;
    }
    let Some(slot) = Slot::take() else {
        let mut busy = Response::error(StatusCode::SERVICE_UNAVAILABLE);
        busy.headers
            .append(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return busy;
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let cfg = policy(cfg);
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let out = Channel {
            tx: tx.clone(),
            buf: Vec::with_capacity(PIECE),
        };
        let written = match kind {
            Kind::TarGz => tar_gz(&cfg, &dir, &name, out),
            Kind::Zip => zip(&cfg, &dir, &name, out),
        };
        if let Err(e) = written {
            // The body ends with an error: the client sees a cut transfer, not a short archive.
            tracing::debug!(error = %e, "archive stopped");
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    });
    r.body = ResponseBody::Stream {
        stream: Box::pin(stream),
        len: None,
    };
    r
}

/// The policy files are taken under: the served one, but symlinks never leave the root.
fn policy(cfg: &Config) -> Config {
    let mut c = cfg.clone();
    c.follow_symlinks = false;
    c
}

/// The name of the archive's top directory: the directory's own, or `root` for the root; only
/// characters safe in a file name and a quoted header parameter.
fn top_name(rel: &RelPath) -> String {
    let last = rel
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".to_owned());
    let clean: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.+ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim_matches('.').is_empty() {
        "root".to_owned()
    } else {
        clean
    }
}

/// A writer into the body's channel, in pieces of [`PIECE`] bytes.
struct Channel {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for Channel {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Channel {
    /// Sends what is gathered, waiting while the channel is full; fails once the client is
    /// gone (the receiver dropped), which ends the archive.
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE)));
        self.tx
            .blocking_send(Ok(piece))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))
    }

    /// Sends the rest at the end.
    fn finish(mut self) -> io::Result<()> {
        self.send()
    }
}

/// One thing that goes in the archive.
enum Item {
    Dir(String),
    File(String, File),
}

/// Walks `dir` depth-first in name order, calling `add` for each item that goes in, named
/// `top/...`.
fn walk(
    cfg: &Config,
    dir: &Path,
    top: &str,
    add: &mut dyn FnMut(Item) -> io::Result<()>,
) -> io::Result<()> {
    add(Item::Dir(format!("{top}/")))?;
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), format!("{top}/"))];
    while let Some((path, prefix)) = stack.pop() {
        let mut entries: Vec<_> = match std::fs::read_dir(&path) {
            Ok(rd) => rd.flatten().collect(),
            Err(_) => continue,
        };
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        for e in entries {
            let name = e.file_name();
            let Some(name) = name.to_str() else {
                continue; // not UTF-8: zip and most tar readers would mangle it
            };
            if name.starts_with(PART_PREFIX) || (name.starts_with('.') && !cfg.hidden) {
                continue;
            }
            let Ok(kind) = e.file_type() else { continue };
            let full = e.path();
            let inside = format!("{prefix}{name}");
            if kind.is_dir() {
                subdirs.push((full, format!("{inside}/")));
            } else if (kind.is_file() || kind.is_symlink())
                && let Some(file) = open_file(cfg, &full)
            {
                add(Item::File(inside, file))?;
            }
        }
        for (full, inside) in subdirs.into_iter().rev() {
            add(Item::Dir(inside.clone()))?;
            stack.push((full, inside));
        }
    }
    Ok(())
}

/// Opens a regular file (or a symlink to one) as the served tree's policy allows.
fn open_file(cfg: &Config, full: &Path) -> Option<File> {
    let rel = full.strip_prefix(&cfg.root).ok()?;
    let opened = crate::beneath::open(cfg, rel).ok()?;
    let meta = opened.file.metadata().ok()?;
    meta.is_file().then_some(opened.file)
}

/// The tree as gzip-compressed tar.
fn tar_gz(cfg: &Config, dir: &Path, top: &str, out: Channel) -> io::Result<()> {
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    walk(cfg, dir, top, &mut |item| match item {
        Item::Dir(name) => {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            h.set_mtime(now());
            tar.append_data(&mut h, &name, io::empty())
        }
        Item::File(name, mut file) => tar.append_file(&name, &mut file),
    })?;
    tar.into_inner()?.finish()?.finish()
}

/// The tree as zip, deflated.
fn zip(cfg: &Config, dir: &Path, top: &str, out: Channel) -> io::Result<()> {
    use zip::write::SimpleFileOptions;
    let mut z = zip::ZipWriter::new_stream(out);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let err = |e: zip::result::ZipError| io::Error::other(e);
    walk(cfg, dir, top, &mut |item| match item {
        Item::Dir(name) => z.add_directory(&name, options).map_err(err),
        Item::File(name, mut file) => {
            let len = file.metadata()?.len();
            let opts = options.large_file(len >= u64::from(u32::MAX));
            z.start_file(&name, opts).map_err(err)?;
            copy(&mut file, &mut z)
        }
    })?;
    z.finish().map_err(err)?.into_inner().finish()
}

/// Copies a file in pieces (never whole in memory).
fn copy(from: &mut File, to: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0; PIECE];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
    }
}

/// Seconds since the epoch, for directory entries.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_queries() {
        assert_eq!(requested(Some("download=zip")), Some(Kind::Zip));
        assert_eq!(
            requested(Some("sort=name&download=tar.gz")),
            Some(Kind::TarGz)
        );
        assert_eq!(requested(Some("download=rar")), None);
        assert_eq!(requested(None), None);
        assert_eq!(top_name(&RelPath::from_bytes(b"a/\"x\"", true)), "_x_");
        assert_eq!(top_name(&RelPath::from_bytes(b"", true)), "root");
    }
}
