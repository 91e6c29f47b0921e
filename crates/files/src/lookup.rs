//! The blocking part of a request: find what a path names on disk and load it.
//!
//! Everything here may wait on the disk, so [`crate::Files`] runs it on tokio's blocking pool,
//! never on a worker's event loop.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;

use crate::cache::{self, Cache, Cached, MAX_ENTRY, Page};
use crate::compress::{self, Encoding};
use crate::listing::{self, Sort};
use crate::meta::{FileId, http_date};
use crate::resolve::{RelPath, is_inside};
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
pub fn find(cfg: &Config, cache: &Cache, want: &Want) -> Result<Found, Error> {
    let path = cfg.root.join(&want.rel.path);
    let meta = std::fs::metadata(&path)?;
    if !cfg.follow_symlinks && !is_inside(&cfg.root, &path)? {
        return Err(Error::Forbidden);
    }
    if meta.is_dir() {
        return directory(cfg, cache, want, &path, FileId::of(&meta));
    }
    if !meta.is_file() {
        // A FIFO would block the reader forever; devices and sockets are not content.
        return Err(Error::Forbidden);
    }
    if want.rel.slash {
        return Err(Error::NotFound);
    }
    load(cfg, cache, want, &path).map(Found::File)
}

/// A directory: redirect, index file, listing, or nothing. `id` is the directory's identity
/// taken before it is read, so a change while it is read invalidates the cached page.
fn directory(
    cfg: &Config,
    cache: &Cache,
    want: &Want,
    path: &Path,
    id: FileId,
) -> Result<Found, Error> {
    if !want.rel.slash {
        return Ok(Found::Redirect);
    }
    for name in &cfg.index {
        let index = path.join(name);
        if stat_inside(cfg, &index).is_some_and(|m| m.is_file()) {
            return load(cfg, cache, want, &index).map(Found::File);
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
        listing::html(&want.rel, &entries, want.sort)
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

/// `stat` of `path` if it exists and, unless symlinks may be followed anywhere, resolves to
/// somewhere under the root.
fn stat_inside(cfg: &Config, path: &Path) -> Option<Metadata> {
    let link = std::fs::symlink_metadata(path).ok()?;
    if !link.file_type().is_symlink() {
        return Some(link);
    }
    let meta = std::fs::metadata(path).ok()?;
    (cfg.follow_symlinks || is_inside(&cfg.root, path).unwrap_or(false)).then_some(meta)
}

/// `path` with `ext` appended to its file name: `a.js` -> `a.js.br`.
fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(ext);
    PathBuf::from(s)
}

/// Chooses and loads the representation of the file at `path`: a precompressed sidecar the
/// client accepts, else an on-the-fly compressed form, else the file itself.
///
/// A sidecar is trusted to hold its original's content, as nginx's `gzip_static` trusts it:
/// its own identity revalidates it, and rebuilding a stale one is the deployer's job.
fn load(cfg: &Config, cache: &Cache, want: &Want, path: &Path) -> Result<Rep, Error> {
    let content_type = mime::content_type(path);
    let sidecars: Vec<(Encoding, PathBuf)> = Encoding::ALL
        .iter()
        .map(|&e| (e, with_extension(path, e.extension())))
        .filter(|(_, p)| stat_inside(cfg, p).is_some_and(|m| m.is_file()))
        .collect();
    let (file, id) = open(path)?;
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
        if let Some((_, sidecar)) = sidecars.iter().find(|(e, _)| *e == enc) {
            let (file, sid) = open(sidecar)?;
            let meta = RepMeta {
                len: sid.len(),
                etag: sid.etag(&format!("-{}", enc.token())),
                last_modified: http_date(sid.modified()),
                modified: sid.modified(),
                encoding: Some(enc),
                alternatives: false,
                ..base.clone()
            };
            return read_or_send(cache, cache::key(&key, Some(enc)), sidecar, file, sid, meta);
        }
    }
    if let (true, Some(&enc)) = (compressible, want.encodings.first()) {
        return compressed(cache, &key, path, file, id, enc, base);
    }
    read_or_send(cache, cache::key(&key, None), path, file, id, base)
}

/// Opens `path` for reading and takes its identity from the open file, so the identity and
/// the bytes describe the same file even if the path is replaced meanwhile.
fn open(path: &Path) -> Result<(File, FileId), Error> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::Forbidden);
    }
    Ok((file, FileId::of(&meta)))
}

/// A small file is read into memory (and cached once settled); a large one is sent from the
/// open file with `sendfile`.
fn read_or_send(
    cache: &Cache,
    key: Vec<u8>,
    path: &Path,
    file: File,
    id: FileId,
    meta: RepMeta,
) -> Result<Rep, Error> {
    if id.len() > MAX_ENTRY {
        if id.is_settled(SystemTime::now()) {
            let entry = Cached::new(path.to_path_buf(), id, meta.clone(), None);
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
            Cached::new(path.to_path_buf(), id, meta.clone(), Some(bytes.clone())),
        );
    }
    Ok(Rep {
        meta,
        content: Content::Memory(bytes),
    })
}

/// Compresses the file with `enc`, caching the result once the file has settled.
fn compressed(
    cache: &Cache,
    key: &[u8],
    path: &Path,
    file: File,
    id: FileId,
    enc: Encoding,
    base: RepMeta,
) -> Result<Rep, Error> {
    let data = read_all(file, id.len())?;
    let out = Bytes::from(enc.compress(&data).map_err(Error::Io)?);
    let meta = RepMeta {
        len: out.len() as u64,
        etag: id.etag(&format!("-{}", enc.token())),
        encoding: Some(enc),
        alternatives: false,
        ..base
    };
    if data.len() as u64 == id.len() && id.is_settled(SystemTime::now()) {
        cache.insert(
            cache::key(key, Some(enc)),
            Cached::new(path.to_path_buf(), id, meta.clone(), Some(out.clone())),
        );
    }
    Ok(Rep {
        meta,
        content: Content::Memory(out),
    })
}

/// Reads up to `expected` bytes of an open file (fewer if it shrank meanwhile).
fn read_all(file: File, expected: u64) -> Result<Bytes, Error> {
    let mut buf = Vec::with_capacity(expected as usize);
    file.take(expected).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}
