//! The blocking part of a request: find what a path names on disk and load it.
//!
//! Everything here may wait on the disk, so [`crate::Files`] runs it on tokio's blocking pool,
//! never on a worker's event loop.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::beneath::{self, Opened};
use crate::cache::{self, Cache, Cached, MAX_ENTRY, Page};
use crate::compress::{self, Encoding};
use crate::flight;
use crate::listing::{self, Sort};
use crate::meta::{FileId, http_date};
use crate::resolve::RelPath;
use crate::respond::{Content, Rep, RepMeta};
use crate::{Config, Error, mime};

/// What a request asks of a path.
#[derive(Debug, Clone)]
pub struct Want {
    /// The decoded path.
    pub rel: RelPath,
    /// Codings the client accepts, best first; empty when a range was asked for (ranges are
    /// always of the unencoded content).
    pub encodings: Vec<Encoding>,
    /// Listing order, should the path be a directory without an index.
    pub sort: Sort,
    /// Whether a listing should be JSON.
    pub json: bool,
}

/// What a path turned out to name.
#[derive(Debug)]
pub enum Found {
    /// A file (perhaps a directory's index, perhaps an encoded form).
    File(Rep),
    /// A directory named without its trailing slash: redirect so relative links work.
    Redirect,
    /// A directory without an index, listed: the page and whether it is JSON.
    Listing(Bytes, bool),
}

/// Finds what `want` names under the root and loads it, caching small files.
pub fn find(cfg: &Config, cache: &Arc<Cache>, want: &Want) -> Result<Found, Error> {
    let opened = beneath::open(cfg, &want.rel.path)?;
    let meta = opened.file.metadata()?;
    if meta.is_dir() {
        return directory(cfg, cache, want, &opened.path, FileId::of(&meta));
    }
    if !meta.is_file() {
        // A FIFO would block the reader forever; devices and sockets are not content.
        return Err(Error::Forbidden);
    }
    if want.rel.slash {
        return Err(Error::NotFound);
    }
    load(cfg, cache, want, opened, FileId::of(&meta)).map(Found::File)
}

/// A directory: redirect, index file, listing, or nothing. `id` is the directory's identity
/// taken before it is read, so a change while it is read invalidates the cached page.
fn directory(
    cfg: &Config,
    cache: &Arc<Cache>,
    want: &Want,
    path: &Path,
    id: FileId,
) -> Result<Found, Error> {
    if !want.rel.slash {
        return Ok(Found::Redirect);
    }
    for name in &cfg.index {
        if let Some((index, id)) = open_file(cfg, &want.rel.path.join(name)) {
            return load(cfg, cache, want, index, id).map(Found::File);
        }
    }
    if !cfg.listing {
        return Err(Error::NotFound);
    }
    let mut entries = listing::read(path, &cfg.root, cfg.hidden, cfg.follow_symlinks)?;
    want.sort.apply(&mut entries);
    let body = Bytes::from(if want.json {
        listing::json(&want.rel, &entries)
    } else {
        listing::html(&want.rel, &entries, want.sort, &cfg.mount)
    });
    if id.is_settled(SystemTime::now()) {
        let key = cache::page_key(&want.rel.key(), want.sort, want.json);
        cache.insert_page(
            key,
            Page::new(path.to_path_buf(), id, body.clone(), want.json),
        );
    }
    Ok(Found::Listing(body, want.json))
}

/// The regular file at `rel` beneath the root, opened as the policy allows, and its identity
/// taken from the open file (so identity and bytes describe the same file even if the path is
/// replaced meanwhile); `None` when there is none.
fn open_file(cfg: &Config, rel: &Path) -> Option<(Opened, FileId)> {
    let opened = beneath::open(cfg, rel).ok()?;
    let meta = opened.file.metadata().ok()?;
    meta.is_file().then(|| (opened, FileId::of(&meta)))
}

/// `path` with `ext` appended to its file name: `a.js` -> `a.js.br`.
fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(ext);
    PathBuf::from(s)
}

/// Chooses and loads the representation of the opened file `file` (identity `id`): a
/// precompressed sidecar the client accepts, else an on-the-fly compressed form, else the
/// file itself.
///
/// A sidecar is trusted to hold its original's content, as nginx's `gzip_static` trusts it:
/// its own identity revalidates it, and rebuilding a stale one is the deployer's job.
fn load(
    cfg: &Config,
    cache: &Arc<Cache>,
    want: &Want,
    file: Opened,
    id: FileId,
) -> Result<Rep, Error> {
    let path = &file.path;
    let rel = path.strip_prefix(&cfg.root).unwrap_or(path);
    let content_type = mime::content_type(path);
    let mut sidecars: Vec<(Encoding, Opened, FileId)> = Encoding::ALL
        .into_iter()
        .filter_map(|e| {
            let (side, sid) = open_file(cfg, &with_extension(rel, e.extension()))?;
            Some((e, side, sid))
        })
        .collect();
    let compressible = cfg.compress
        && semantics::compressible::is_compressible(content_type.to_str().unwrap_or(""))
        && (compress::MIN_SIZE..=compress::MAX_SIZE).contains(&id.len());
    let alternatives = compressible || !sidecars.is_empty();
    let base = RepMeta {
        len: id.len(),
        etag: id.etag(""),
        last_modified: http_date(id.modified()),
        modified: id.modified(),
        content_type,
        encoding: None,
        vary: alternatives,
        alternatives,
    };
    let key = want.rel.key();
    for &enc in &want.encodings {
        let Some(i) = sidecars.iter().position(|(e, ..)| *e == enc) else {
            continue;
        };
        let (_, side, sid) = sidecars.swap_remove(i);
        let meta = RepMeta {
            len: sid.len(),
            etag: sid.etag(&format!("-{}", enc.token())),
            last_modified: http_date(sid.modified()),
            modified: sid.modified(),
            encoding: Some(enc),
            alternatives: false,
            ..base.clone()
        };
        return read_or_send(cache, cache::key(&key, Some(enc)), side, sid, meta);
    }
    if let (true, Some(&enc)) = (compressible, want.encodings.first())
        && let Some(rep) = compressed(cache, &key, &file, id, enc, &base)
    {
        return Ok(rep);
    }
    read_or_send(cache, cache::key(&key, None), file, id, base)
}

/// A small file is read into memory (and cached once settled); a large one is sent from the
/// open file with `sendfile`.
fn read_or_send(
    cache: &Cache,
    key: Vec<u8>,
    opened: Opened,
    id: FileId,
    meta: RepMeta,
) -> Result<Rep, Error> {
    let Opened { file, path } = opened;
    if id.len() > MAX_ENTRY {
        if id.is_settled(SystemTime::now()) {
            let entry = Cached::new(path, id, meta.clone(), None);
            cache.insert(key, entry);
        }
        return Ok(Rep {
            meta,
            content: Content::Disk(file),
        });
    }
    let bytes = read_all(file, id.len())?;
    if bytes.len() as u64 != id.len() {
        // The file changed while we read it: serve what we read, with its true length, but
        // do not cache it.
        let meta = RepMeta {
            len: bytes.len() as u64,
            ..meta
        };
        return Ok(Rep {
            meta,
            content: Content::Memory(bytes),
        });
    }
    if id.is_settled(SystemTime::now()) {
        cache.insert(
            key,
            Cached::new(path, id, meta.clone(), Some(bytes.clone())),
        );
    }
    Ok(Rep {
        meta,
        content: Content::Memory(bytes),
    })
}

/// The file compressed with `enc` on the fly, streamed from the one compression of it in
/// flight ([`crate::flight`]), which caches the result once the file has settled. `None` when
/// it is better sent as it is: a large file still changing (it would be compressed anew for
/// each request until it settles), or too many compressions already under way.
fn compressed(
    cache: &Arc<Cache>,
    key: &[u8],
    opened: &Opened,
    id: FileId,
    enc: Encoding,
    base: &RepMeta,
) -> Option<Rep> {
    let settled = id.is_settled(SystemTime::now());
    if !settled && id.len() > MAX_ENTRY {
        return None;
    }
    let meta = RepMeta {
        // Not known until the compression ends; the body is streamed.
        len: 0,
        etag: id.etag(&format!("-{}", enc.token())),
        encoding: Some(enc),
        alternatives: false,
        ..base.clone()
    };
    let job = flight::Job {
        file: &opened.file,
        path: &opened.path,
        id,
        enc,
        key: cache::key(key, Some(enc)),
        meta: meta.clone(),
        cache: settled.then(|| cache.clone()),
    };
    let reader = flight::Flights::join(cache.flights(), job)?;
    Some(Rep {
        meta,
        content: Content::Stream(reader),
    })
}

/// Reads up to `expected` bytes of an open file (fewer if it shrank meanwhile).
fn read_all(file: File, expected: u64) -> Result<Bytes, Error> {
    let mut buf = Vec::with_capacity(expected as usize);
    file.take(expected).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}
